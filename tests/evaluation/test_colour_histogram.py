"""The colour-histogram baseline against a per-pixel count written out plainly."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from evaluation.colour_histogram import ColourHistogramModel, stripe_histograms


def _reference(crop, stripes, bins):
    """One crop's feature: count every pixel into its stripe's (h, s, v) bin, one at a time."""
    hsv = cv2.cvtColor(crop, cv2.COLOR_BGR2HSV)
    height, width = hsv.shape[:2]
    per_stripe = bins[0] * bins[1] * bins[2]
    counts = np.zeros((stripes, per_stripe))
    rows = np.zeros(stripes)
    for y in range(height):
        stripe = next(s for s in range(stripes) if y < height * (s + 1) // stripes)
        rows[stripe] += 1
        for x in range(width):
            h, s, v = (int(c) for c in hsv[y, x])
            cell = ((h * bins[0] // 180) * bins[1] + s * bins[1] // 256) * bins[2]
            counts[stripe, cell + v * bins[2] // 256] += 1
    feature = np.sqrt(counts / (rows[:, None] * width)).ravel()
    return feature / np.linalg.norm(feature)


@pytest.mark.parametrize(
    "shape, stripes, bins", [((128, 64), 6, (8, 4, 4)), ((20, 9), 3, (4, 2, 3))]
)
def test_stripe_histograms_match_a_pixel_count(shape, stripes, bins):
    crops = np.random.default_rng(0).integers(0, 256, (3, *shape, 3), dtype=np.uint8)
    features = stripe_histograms(crops, stripes, bins)
    assert features.shape == (3, stripes * bins[0] * bins[1] * bins[2])
    assert features.dtype == np.float32
    for crop, feature in zip(crops, features, strict=True):
        np.testing.assert_allclose(feature, _reference(crop, stripes, bins), atol=1e-6)


def test_one_colour_fills_one_bin_per_stripe():
    crop = np.zeros((128, 64, 3), np.uint8)
    crop[:] = (200, 30, 30)  # BGR blue
    feature = stripe_histograms(crop[None])[0]
    assert np.count_nonzero(feature) == 6
    np.testing.assert_allclose(feature[feature > 0], 1 / np.sqrt(6), rtol=1e-6)


def test_model_reads_files_as_the_encoder_does(tmp_path):
    crops = np.random.default_rng(1).integers(0, 256, (2, 256, 90, 3), dtype=np.uint8)
    paths = []
    for i, crop in enumerate(crops):
        paths.append(str(tmp_path / f"{i}.png"))
        cv2.imwrite(paths[-1], crop)
    model = ColourHistogramModel()
    resized = np.stack([cv2.resize(c, (64, 128), interpolation=cv2.INTER_LINEAR) for c in crops])
    np.testing.assert_allclose(model.extract(np.array(paths)), model.encode_crops(resized))
    assert model.extract(np.array([], dtype=str)).shape == (0, 768)
