"""Hold out a fraction of the training identities for validation.

The split is by identity (no person is in both parts), as the reference does, so validation
measures re-identification of unseen people. ``round(fraction * identities)`` identities are
held out, at least 1 when ``fraction > 0`` and never so many that fewer than 2 remain for
training. Only real identities (> 0) are held out; junk and distractor images stay in the
training part, where the sampler ignores them. The choice depends only on ``seed`` and the set
of identities, so it is the same on every run and every worker. Files skipped as corrupt stay
listed on the training part (they were found while reading the training folder).
"""

from __future__ import annotations

import numpy as np

from core.errors import DatasetError
from training.datasets.common import ImageSet

MIN_TRAIN_IDENTITIES = 2


def subset(images: ImageSet, mask: np.ndarray, keep_skipped: bool) -> ImageSet:
    """The images where `mask` is True, tracklets included."""
    return ImageSet(
        paths=images.paths[mask],
        identities=images.identities[mask],
        cameras=images.cameras[mask],
        tracklets=None if images.tracklets is None else images.tracklets[mask],
        skipped=images.skipped if keep_skipped else (),
    )


def validation_count(num_identities: int, fraction: float) -> int:
    """How many identities to hold out (see the module docstring for the bounds)."""
    if fraction == 0:
        return 0
    if num_identities < MIN_TRAIN_IDENTITIES + 1:
        raise DatasetError(
            f"Cannot hold out validation identities: the training set has only "
            f"{num_identities} identities and needs {MIN_TRAIN_IDENTITIES} left for training.",
            "Set the validation fraction to 0, or add identities.",
        )
    wanted = max(1, round(fraction * num_identities))
    return min(wanted, num_identities - MIN_TRAIN_IDENTITIES)


def split_validation(
    train: ImageSet, fraction: float = 0.1, seed: int = 1234
) -> tuple[ImageSet, ImageSet]:
    """(training part, validation part) of `train` with disjoint identities."""
    if not 0 <= fraction < 1:
        raise DatasetError(
            f"Validation fraction {fraction} is outside [0, 1).",
            "Use e.g. 0.1 to hold out 10% of the training identities, or 0 for none.",
        )
    candidates = np.unique(train.identities[train.identities > 0])
    count = validation_count(len(candidates), fraction)
    rng = np.random.default_rng(seed)
    held_out = np.sort(rng.permutation(candidates)[:count])
    in_validation = np.isin(train.identities, held_out)
    return subset(train, ~in_validation, True), subset(train, in_validation, False)
