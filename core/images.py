"""Resizing an image to the network's patch, the same way everywhere."""

from __future__ import annotations

import cv2
import numpy as np

from core.contract import PATCH_SHAPE


def resize_to_patch(image: np.ndarray, patch_shape: tuple[int, int] = PATCH_SHAPE) -> np.ndarray:
    """Bilinear resize of a whole image to (height, width) = `patch_shape`; as is when it fits."""
    if image.shape[:2] == tuple(patch_shape):
        return image
    return cv2.resize(image, (patch_shape[1], patch_shape[0]), interpolation=cv2.INTER_LINEAR)
