"""Several training sets in one run: identities and cameras kept apart, one ImageSet out.

Each source's positive identity labels are shifted past the previous sources' largest label, so
person 1 of one dataset never merges with person 1 of another; camera numbers are shifted the
same way, so "camera 1" of two datasets stays two cameras (the validation split draws probe and
gallery from different cameras). Junk (-1) and distractor (0) labels keep their meaning. The
P x K sampler then draws identities across all sources alike.
"""

from __future__ import annotations

import numpy as np

from training.datasets.common import ImageSet


def label_offsets(max_labels: list[int]) -> list[int]:
    """Offset of each source: the sum of the largest labels of the sources before it."""
    return [int(sum(max_labels[:i])) for i in range(len(max_labels))]


def shift_labels(labels: np.ndarray, offset: int) -> np.ndarray:
    """Positive labels + offset; junk (-1) and distractors (0) unchanged."""
    labels = np.asarray(labels, dtype=np.int64)
    return np.where(labels > 0, labels + offset, labels)


def combine_training_sets(sets: list[ImageSet], names: list[str]) -> tuple[ImageSet, list[dict]]:
    """One ImageSet of all `sets`, and a record per source for config.json.

    sets: each source's training split. names: how each source is called in the record.
    """
    max_ids = [int(max(s.identities.max(initial=0), 0)) for s in sets]
    max_cams = [int(max(s.cameras.max(initial=0), 0)) for s in sets]
    id_offsets, cam_offsets = label_offsets(max_ids), label_offsets(max_cams)
    combined = ImageSet(
        paths=np.concatenate([s.paths for s in sets]),
        identities=np.concatenate(
            [shift_labels(s.identities, o) for s, o in zip(sets, id_offsets, strict=True)]
        ),
        cameras=np.concatenate(
            [shift_labels(s.cameras, o) for s, o in zip(sets, cam_offsets, strict=True)]
        ),
        skipped=tuple(p for s in sets for p in s.skipped),
    )
    record = [
        {
            "source": name,
            "images": len(s),
            "identities": int(len(np.unique(s.identities[s.identities > 0]))),
            "identity_offset": id_offset,
            "camera_offset": cam_offset,
        }
        for name, s, id_offset, cam_offset in zip(names, sets, id_offsets, cam_offsets, strict=True)
    ]
    return combined, record
