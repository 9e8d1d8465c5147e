"""Encoder: crop preprocessing, freezing/export and the inference `Encoder`.

Importing this package does not import TensorFlow; only `training.checkpoints` and
`encoder.export` (freezing and export) do.
"""

from encoder.crops import InputError, crop_boxes, patch_boxes
from encoder.runtime import Encoder

__all__ = ["Encoder", "InputError", "crop_boxes", "patch_boxes"]
