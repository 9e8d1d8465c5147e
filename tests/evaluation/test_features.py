"""Feature models: a checkpoint and its export give the same features for deep_sort's patches."""

from __future__ import annotations

import cv2
import numpy as np

from evaluation.features import open_feature_model


def test_checkpoint_and_export_encode_bgr_patches_alike(
    random_checkpoint, onnx_model, synthetic_crops, tmp_path
):
    checkpoint = open_feature_model(str(random_checkpoint))
    exported = open_feature_model(str(onnx_model))
    from_checkpoint = checkpoint.encode_crops(synthetic_crops)
    assert from_checkpoint.shape == (len(synthetic_crops), 128)
    np.testing.assert_allclose(np.linalg.norm(from_checkpoint, axis=1), 1.0, atol=1e-5)
    cosines = np.sum(from_checkpoint * exported.encode_crops(synthetic_crops), axis=1)
    assert cosines.min() > 0.9999
    # The same patches as files (lossless) give the same features: BGR is read as BGR.
    paths = []
    for i, crop in enumerate(synthetic_crops):
        paths.append(str(tmp_path / f"{i}.png"))
        cv2.imwrite(paths[-1], crop)
    np.testing.assert_allclose(checkpoint.extract(np.array(paths), progress=False),
                               from_checkpoint, atol=1e-5)  # fmt: skip
    mirrored = checkpoint.encode_crops(synthetic_crops[..., ::-1])
    assert np.sum(mirrored * from_checkpoint, axis=1).min() < 0.9999  # channel order matters
