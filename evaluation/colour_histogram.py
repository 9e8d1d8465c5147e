"""A hand-crafted re-id baseline with nothing learned: colour histograms of horizontal stripes.

It says how much of a test clothing colour by height alone solves, so a trained model's figure
can be read against it (chance is far lower). Each 128 x 64 crop is cut into `STRIPES`
horizontal stripes; each stripe gets an HSV histogram of `BINS` (hue, saturation, value) bins;
the histograms are square-rooted (Hellinger) and the whole vector scaled to unit length, so the
cosine distance compares them as it compares the network's features.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from core.contract import PATCH_SHAPE
from encoder.crops import read_crop
from training.colour_prior import BINS, STRIPES  # the prior training asks for, the same bins

_RANGES = (180, 256, 256)


def stripe_histograms(crops, stripes: int = STRIPES, bins: tuple[int, int, int] = BINS):
    """(N, stripes * prod(bins)) float32 unit features of (N, H, W, 3) BGR uint8 crops.

    stripes: horizontal bands of (nearly) equal height, top to bottom; at most H.
    bins: (hue, saturation, value) bin counts; each channel's range is split evenly.
    """
    crops = np.asarray(crops, dtype=np.uint8)
    count, height = crops.shape[0], crops.shape[1]
    per_stripe = int(np.prod(bins))
    if count == 0:
        return np.empty((0, stripes * per_stripe), dtype=np.float32)
    hsv = np.stack([cv2.cvtColor(crop, cv2.COLOR_BGR2HSV) for crop in crops])
    quantised = [
        np.minimum(hsv[..., c].astype(np.int64) * bins[c] // _RANGES[c], bins[c] - 1)
        for c in range(3)
    ]
    cell = (quantised[0] * bins[1] + quantised[1]) * bins[2] + quantised[2]  # (N, H, W)
    bounds = [height * s // stripes for s in range(stripes + 1)]
    features = np.empty((count, stripes * per_stripe), dtype=np.float32)
    for s in range(stripes):
        band = cell[:, bounds[s] : bounds[s + 1]].reshape(count, -1)
        offsets = band + per_stripe * np.arange(count)[:, None]
        counts = np.bincount(offsets.ravel(), minlength=count * per_stripe)
        shares = counts.reshape(count, per_stripe) / band.shape[1]
        features[:, s * per_stripe : (s + 1) * per_stripe] = np.sqrt(shares)
    norms = np.linalg.norm(features, axis=1, keepdims=True)
    return features / np.maximum(norms, 1e-12)


class ColourHistogramModel:
    """`stripe_histograms` behind the interface of `evaluation.features.FeatureModel`."""

    description = {"kind": "colour-histogram", "stripes": STRIPES, "bins": list(BINS)}

    def extract(self, paths, progress: bool = False, desc: str = "features") -> np.ndarray:
        """Features of image files (read and resized to 128 x 64 as the encoder reads them)."""
        crops = [read_crop(Path(p)) for p in np.asarray(paths, dtype=str)]
        empty = np.empty((0, *PATCH_SHAPE, 3), np.uint8)
        return stripe_histograms(np.stack(crops) if crops else empty)

    def encode_crops(self, crops) -> np.ndarray:
        """Features of 128 x 64 BGR crops, as cut from frames by `encoder.crops`."""
        return stripe_histograms(crops)
