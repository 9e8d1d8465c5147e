"""Random-gallery validation: the protocol of the original training code.

Each trial draws one probe and one gallery image per identity and ranks every probe against
the small gallery by cosine distance; the training loop reports the mean rank-1 over trials.
Ties keep gallery order (stable sort), as in `ranking.retrieval`.
"""

from __future__ import annotations

import numpy as np

from core.errors import DatasetError
from ranking.distances import as_feature_matrix, cosine_distance


def random_gallery_indices(
    identities: np.ndarray, cameras: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """One probe and one gallery image index per identity, for a random-gallery CMC trial.

    Where an identity was seen by more than one camera, two different cameras are drawn and one
    image of each is taken (the first is the probe); otherwise two different images of its only
    camera are taken. Identities with a single image, and junk images (negative labels), are
    skipped; label 0 is an ordinary identity here, as training labels may start at 0. Pairs
    come in increasing identity order; the result depends only on the inputs and the state of
    `rng`.
    """
    identities = np.asarray(identities)
    cameras = np.asarray(cameras)
    if identities.ndim != 1 or cameras.shape != identities.shape:
        raise DatasetError(
            f"identities {identities.shape} and cameras {cameras.shape} must be 1-D arrays "
            "of the same length.",
            "Pass one identity and one camera label per image.",
        )
    image_index = np.flatnonzero(identities >= 0)
    by_identity = image_index[np.argsort(identities[image_index], kind="stable")]
    labels, starts = np.unique(identities[by_identity], return_index=True)
    groups = np.split(by_identity, starts[1:]) if len(labels) else []

    probes, gallery = [], []
    for members in groups:
        if len(members) < 2:
            continue
        member_cams = cameras[members]
        unique_cams = np.unique(member_cams)
        if len(unique_cams) > 1:
            cam_a, cam_b = rng.choice(unique_cams, size=2, replace=False)
            probes.append(rng.choice(members[member_cams == cam_a]))
            gallery.append(rng.choice(members[member_cams == cam_b]))
        else:
            first, second = rng.choice(members, size=2, replace=False)
            probes.append(first)
            gallery.append(second)
    return np.asarray(probes, dtype=np.int64), np.asarray(gallery, dtype=np.int64)


def _first_match_ranks(dist: np.ndarray) -> np.ndarray:
    """1-based rank of the diagonal entry in each row, with the stable-sort tie rule.

    Row i's correct match is column i; its rank is one plus the number of columns that are
    strictly closer, or equally close and earlier in gallery order.
    """
    diag = np.diagonal(dist)[:, None]
    cols = np.arange(dist.shape[1])
    earlier = cols[None, :] < np.arange(dist.shape[0])[:, None]
    ahead = (dist < diag) | ((dist == diag) & earlier)
    return ahead.sum(axis=1) + 1


def random_gallery_cmc(
    features: np.ndarray,
    identities: np.ndarray,
    cameras: np.ndarray,
    rng: np.random.Generator,
    num_trials: int = 5,
    max_rank: int = 20,
) -> np.ndarray:
    """Mean CMC (shape (max_rank,)) over `num_trials` random galleries, by cosine distance.

    Each trial draws pairs with `random_gallery_indices` and ranks every probe against the
    gallery images of all identities; the gallery holds exactly one correct match per probe.
    `cmc[0]` is the validation rank-1 the training loop reports. Ranks beyond the gallery size
    have CMC 1.
    """
    features = as_feature_matrix(features, "features")
    if len(features) != len(np.asarray(identities)):
        raise DatasetError(
            f"{len(features)} feature rows but {len(np.asarray(identities))} identity labels.",
            "Pass one identity and camera label per feature row.",
        )
    if num_trials < 1 or max_rank < 1:
        raise ValueError("num_trials and max_rank must be at least 1")
    total = np.zeros(max_rank, dtype=np.float64)
    for _ in range(num_trials):
        probes, gallery = random_gallery_indices(identities, cameras, rng)
        if len(probes) == 0:
            raise DatasetError(
                "No identity in the validation split has two images, so no probe/gallery "
                "pair can be formed.",
                "Use a validation split with at least two images per identity.",
            )
        ranks = _first_match_ranks(cosine_distance(features[probes], features[gallery]))
        hist = np.bincount(np.minimum(ranks, max_rank + 1) - 1, minlength=max_rank + 1)
        total += np.cumsum(hist[:max_rank]) / len(probes)
    return total / num_trials
