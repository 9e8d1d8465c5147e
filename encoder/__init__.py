"""Encoder: crop preprocessing, freezing/export and the inference `Encoder`."""
