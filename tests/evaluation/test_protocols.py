"""Image and video (MARS) protocols on hand-made datasets and features, without TensorFlow."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import DatasetError
from evaluation.protocols import (
    RankingSettings,
    build_protocol,
    evaluate_protocol,
    evaluation_paths,
    query_gallery_splits,
    tracklet_means,
)
from ranking import evaluate_ranking
from training.datasets.common import Dataset, ImageSet


def image_set(names, identities, cameras, tracklets=None) -> ImageSet:
    return ImageSet(
        paths=np.array(names),
        identities=np.array(identities, dtype=np.int64),
        cameras=np.array(cameras, dtype=np.int64),
        tracklets=None if tracklets is None else np.array(tracklets, dtype=np.int64),
    )


def test_tracklet_means_match_a_loop():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(20, 5)).astype(np.float32)
    tracklets = rng.integers(0, 6, 20)
    tracklets[:6] = np.arange(6)  # every tracklet present
    wanted = np.array([4, 0, 5, 2])
    means, middle = tracklet_means(features, tracklets, wanted)
    for row, t in enumerate(wanted):
        members = np.flatnonzero(tracklets == t)
        mean = features[members].mean(axis=0)
        np.testing.assert_allclose(means[row], mean / np.linalg.norm(mean), rtol=1e-5)
        assert middle[row] in members
    with pytest.raises(DatasetError, match="no images"):
        tracklet_means(features, tracklets, np.array([7]))


def _features_of(table: dict):
    return lambda paths: np.stack([table[p] for p in paths]).astype(np.float32)


def test_image_protocol_ranks_query_images_against_gallery_images():
    query = image_set(["q1", "q2"], [1, 2], [1, 1])
    gallery = image_set(["g1", "g2", "g3", "g4"], [1, 2, 0, -1], [2, 2, 1, 3])
    dataset = Dataset(name="market1501", train=query, query=query, gallery=gallery)
    vectors = {
        "q1": [1, 0],
        "q2": [0, 1],
        "g1": [1, 0.1],  # right for q1
        "g2": [0.2, 1],  # right for q2
        "g3": [1, 0],  # distractor identical to q1: ranks first for q1
        "g4": [0, 1],  # junk: ignored
    }
    assert sorted(evaluation_paths(dataset)) == sorted(vectors)
    protocol = build_protocol(dataset, _features_of(vectors))
    assert protocol.name == "image" and len(protocol.query) == 2 and len(protocol.gallery) == 4
    result, distances = evaluate_protocol(protocol, RankingSettings())
    assert distances.shape == (2, 4)
    np.testing.assert_allclose(result["cmc"][:2], [0.5, 1.0])
    assert result["mAP"] == pytest.approx((0.5 + 1.0) / 2)
    euclidean, _ = evaluate_protocol(protocol, RankingSettings(metric="euclidean"))
    np.testing.assert_allclose(euclidean["cmc"], result["cmc"])


def test_video_protocol_averages_tracklets_and_drops_the_query_own_tracklet():
    # Gallery tracklets: 0 = (id 1, cam 1) the query, 1 = (id 1, cam 1) again, 2 = (id 1,
    # cam 2), 3 = (id 2, cam 2), 4 = junk. Query: tracklet 0.
    names = [f"t{t}_{i}" for t, n in enumerate([2, 1, 2, 2, 1]) for i in range(n)]
    tracklets = [int(n[1]) for n in names]
    ids = [[1, 1, 1, 2, -1][t] for t in tracklets]
    cams = [[1, 1, 2, 2, 3][t] for t in tracklets]
    gallery = image_set(names, ids, cams, tracklets)
    query = image_set(names[:2], ids[:2], cams[:2], tracklets[:2])
    extra = {
        "protocol": "video",
        "query_tracklets": np.array([[0, 1, 1]]),
        "gallery_tracklets": np.array(
            [[t, [1, 1, 1, 2, -1][t], [1, 1, 2, 2, 3][t]] for t in range(5)]
        ),
    }
    dataset = Dataset(name="mars", train=gallery, query=query, gallery=gallery, extra=extra)
    vectors = {
        "t0_0": [1, 0.2],
        "t0_1": [1, -0.2],  # mean (1, 0): the query
        "t1_0": [1, 0],  # same camera: ignored although identical
        "t2_0": [0, 1],
        "t2_1": [1, 0.6],  # mean (0.5, 0.8): the match
        "t3_0": [1, 0.3],
        "t3_1": [1, 0.3],  # a wrong identity closer than the match
        "t4_0": [1, 0],  # junk: ignored
    }
    assert len(np.unique(evaluation_paths(dataset))) == 8
    protocol = build_protocol(dataset, _features_of(vectors))
    assert protocol.name == "video"
    assert len(protocol.query) == 1 and len(protocol.gallery) == 5
    assert protocol.query.num_images == 2 and protocol.gallery.num_images == 8
    np.testing.assert_allclose(protocol.query.features[0], [1, 0], atol=1e-6)
    mean = np.array([0.5, 0.8]) / np.linalg.norm([0.5, 0.8])
    np.testing.assert_allclose(protocol.gallery.features[2], mean, rtol=1e-5)
    assert protocol.gallery.display_paths[2] == "t2_1"
    result, _ = evaluate_protocol(protocol, RankingSettings())
    np.testing.assert_allclose(result["cmc"][:2], [0.0, 1.0])
    assert result["mAP"] == pytest.approx(0.5)


def test_reranked_protocol_is_scored_like_any_distance():
    rng = np.random.default_rng(3)
    names = [f"g{i}" for i in range(30)] + [f"q{i}" for i in range(5)]
    ids = list(rng.integers(1, 6, 30)) + [1, 2, 3, 4, 5]
    cams = list(rng.integers(1, 4, 30)) + [9] * 5
    gallery = image_set(names[:30], ids[:30], cams[:30])
    query = image_set(names[30:], ids[30:], cams[30:])
    dataset = Dataset(name="folder", train=gallery, query=query, gallery=gallery)
    vectors = {n: rng.normal(size=8) for n in names}
    protocol = build_protocol(dataset, _features_of(vectors))
    settings = RankingSettings(rerank={"k1": 5, "k2": 2, "lambda": 0.3})
    result, distances = evaluate_protocol(protocol, settings)
    again = evaluate_ranking(distances, ids[30:], ids[:30], cams[30:], cams[:30])
    assert result["mAP"] == again["mAP"]


def test_dataset_without_query_or_gallery_is_a_clear_error():
    train = image_set(["a"], [1], [1])
    for name, hint in [
        ("market1501", "bounding_box_test"),
        ("folder", "DIR/query"),
        ("mars", "query_IDX"),
    ]:
        dataset = Dataset(name=name, train=train, extra={"notes": ["no info folder."]})
        with pytest.raises(DatasetError, match="no query and gallery") as error:
            query_gallery_splits(dataset)
        assert hint in error.value.fix
    with pytest.raises(DatasetError, match="metric"):
        from evaluation.protocols import distance_matrix

        protocol = build_protocol(
            Dataset(name="folder", train=train, query=train, gallery=train),
            _features_of({"a": [1.0, 0.0]}),
        )
        distance_matrix(protocol, RankingSettings(metric="manhattan"))
