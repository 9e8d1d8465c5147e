"""Evaluation protocols: which features are ranked against which, and with what distance.

* Image protocol (Market-1501, folder datasets with query/ and gallery/): every query image is
  ranked against every gallery image.
* Video protocol (MARS): the features of each tracklet's images are averaged and
  re-normalised, then query tracklets are ranked against gallery tracklets with the same
  rules (same identity and camera ignored, junk ignored, distractors negatives). The MARS
  gallery holds the query tracklets too; each query's own tracklet drops out by those rules.

Features are computed once per distinct image path (MARS query images are gallery images),
then looked up by path. Distances are cosine by default or Euclidean, optionally re-ranked.
This module does not import TensorFlow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from core.errors import DatasetError
from ranking import cosine_distance, euclidean_distance, evaluate_ranking
from ranking.reranking import METRICS, rerank
from training.datasets.common import Dataset, ImageSet

_EPS = 1e-12


@dataclass(frozen=True)
class RankedSide:
    """One side of the ranking (queries or gallery): one row per image or per tracklet."""

    features: np.ndarray  # float32 (n, d)
    identities: np.ndarray  # int64 (n,)
    cameras: np.ndarray  # int64 (n,)
    display_paths: np.ndarray  # str (n,): an image to show for each row
    num_images: int

    def __len__(self) -> int:
        return len(self.identities)


@dataclass(frozen=True)
class Protocol:
    """What `evaluate_ranking` compares: queries against the gallery."""

    name: str  # "image" or "video"
    query: RankedSide
    gallery: RankedSide


def query_gallery_splits(dataset: Dataset) -> tuple[ImageSet, ImageSet]:
    """The dataset's query and gallery images, or a clear error when it has none."""
    query, gallery = dataset.query, dataset.gallery
    if query is not None and gallery is not None and len(query) and len(gallery):
        return query, gallery
    fixes = {
        "market1501": "A Market-1501 folder needs query/ and bounding_box_test/ beside "
        "bounding_box_train/.",
        "mars": "MARS needs bbox_test/ and info/ with test_name.txt, tracks_test_info.mat "
        "and query_IDX.mat.",
        "folder": "A folder dataset needs DIR/train/, DIR/query/ and DIR/gallery/, each with "
        "one sub-folder per identity.",
    }
    notes = " ".join(dataset.extra.get("notes", []))
    raise DatasetError(
        f"The {dataset.name} dataset has no query and gallery images to evaluate on."
        + (f" {notes}" if notes else ""),
        fixes.get(dataset.name, "Add query and gallery splits."),
    )


def evaluation_paths(dataset: Dataset) -> np.ndarray:
    """Every query and gallery image path (with repeats): extract features for these."""
    query, gallery = query_gallery_splits(dataset)
    return np.concatenate([query.paths, gallery.paths]).astype(str)


def _image_side(images: ImageSet, features: np.ndarray) -> RankedSide:
    return RankedSide(
        features=features.astype(np.float32, copy=False),
        identities=images.identities.astype(np.int64),
        cameras=images.cameras.astype(np.int64),
        display_paths=images.paths.astype(str),
        num_images=len(images),
    )


def tracklet_means(
    features: np.ndarray, tracklets: np.ndarray, wanted: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Mean feature of each tracklet in `wanted`, re-normalised to unit length.

    Also returns, per wanted tracklet, the index of its middle image (to show in pictures).
    Every wanted tracklet must have at least one image.
    """
    order = np.argsort(tracklets, kind="stable")
    labels, starts, counts = np.unique(tracklets[order], return_index=True, return_counts=True)
    where = np.searchsorted(labels, wanted)
    if len(wanted) and (
        np.any(where >= len(labels)) or np.any(labels[np.minimum(where, len(labels) - 1)] != wanted)
    ):
        raise DatasetError(
            "Some tracklets of the MARS test split have no images.",
            "Re-download the MARS bbox_test folder and info files.",
        )
    sums = np.add.reduceat(features[order].astype(np.float64), starts, axis=0)[where]
    means = sums / counts[where, None]
    means /= np.maximum(np.linalg.norm(means, axis=1, keepdims=True), _EPS)
    middle = order[starts[where] + counts[where] // 2]
    return means.astype(np.float32), middle


def _video_side(images: ImageSet, features: np.ndarray, table: np.ndarray) -> RankedSide:
    table = np.asarray(table, dtype=np.int64).reshape(-1, 3)
    means, middle = tracklet_means(features, images.tracklets, table[:, 0])
    return RankedSide(
        features=means,
        identities=table[:, 1],
        cameras=table[:, 2],
        display_paths=images.paths[middle].astype(str),
        num_images=int(np.isin(images.tracklets, table[:, 0]).sum()),
    )


def build_protocol(dataset: Dataset, features_of: Callable[[np.ndarray], np.ndarray]) -> Protocol:
    """The dataset's protocol; `features_of(paths)` gives the feature rows of image paths."""
    query, gallery = query_gallery_splits(dataset)
    query_features = features_of(query.paths)
    gallery_features = features_of(gallery.paths)
    if dataset.extra.get("protocol") == "video":
        return Protocol(
            name="video",
            query=_video_side(query, query_features, dataset.extra["query_tracklets"]),
            gallery=_video_side(gallery, gallery_features, dataset.extra["gallery_tracklets"]),
        )
    return Protocol(
        name="image",
        query=_image_side(query, query_features),
        gallery=_image_side(gallery, gallery_features),
    )


@dataclass(frozen=True)
class RankingSettings:
    """How the ranking is computed; `rerank` None means plain distances."""

    metric: str = "cosine"
    rerank: dict | None = None  # {"k1": 20, "k2": 6, "lambda": 0.3}
    max_rank: int = 50


def distance_matrix(protocol: Protocol, settings: RankingSettings) -> np.ndarray:
    """(queries x gallery) float32 distances under `settings`."""
    if settings.metric not in METRICS:
        raise DatasetError(
            f"Unknown metric {settings.metric!r}.", f"Use one of: {', '.join(METRICS)}."
        )
    query, gallery = protocol.query.features, protocol.gallery.features
    if settings.rerank is not None:
        return rerank(
            query,
            gallery,
            metric=settings.metric,
            k1=settings.rerank["k1"],
            k2=settings.rerank["k2"],
            lambda_value=settings.rerank["lambda"],
        )
    if settings.metric == "euclidean":
        return euclidean_distance(query, gallery)
    return cosine_distance(query, gallery)


def evaluate_protocol(protocol: Protocol, settings: RankingSettings) -> tuple[dict, np.ndarray]:
    """`evaluate_ranking`'s result for the protocol (with its per-query values), and the
    distance matrix it ranked."""
    distances = distance_matrix(protocol, settings)
    result = evaluate_ranking(
        distances,
        protocol.query.identities,
        protocol.gallery.identities,
        protocol.query.cameras,
        protocol.gallery.cameras,
        max_rank=settings.max_rank,
        per_query=True,
    )
    return result, distances
