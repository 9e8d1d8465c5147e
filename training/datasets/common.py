"""What every dataset reader returns: image files with identity and camera labels."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

JUNK_IDENTITY = -1
DISTRACTOR_IDENTITY = 0


@dataclass(frozen=True)
class ImageSet:
    """One split of a dataset: parallel arrays, one entry per image file.

    `tracklets` groups the images of one video tracklet (MARS); it is None for image datasets.
    `skipped` lists files that were found but could not be used (corrupt, unreadable).
    """

    paths: np.ndarray  # str, shape (N,)
    identities: np.ndarray  # int64, shape (N,)
    cameras: np.ndarray  # int64, shape (N,)
    tracklets: np.ndarray | None = None  # int64, shape (N,)
    skipped: tuple[str, ...] = field(default=())

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def num_identities(self) -> int:
        return len(np.unique(self.identities))


@dataclass(frozen=True)
class Dataset:
    """A dataset's splits; `query` and `gallery` are None where the layout has no test split."""

    name: str
    train: ImageSet
    query: ImageSet | None = None
    gallery: ImageSet | None = None
    # MARS only: tracklet index arrays for the video protocol.
    extra: dict = field(default_factory=dict)
