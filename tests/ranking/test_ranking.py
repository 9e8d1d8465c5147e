"""Re-id metrics: hand-worked cases, a plain per-query reference, random galleries, distances."""

import numpy as np
import pytest

from core.errors import DatasetError, ReidError
from ranking import (
    cosine_distance,
    euclidean_distance,
    evaluate_ranking,
    random_gallery_cmc,
    random_gallery_indices,
)

# --------------------------------------------------------------------------------------------
# Hand-worked cases. Unless a case says otherwise there is one query, identity 1 seen by
# camera 1, and the gallery is listed in ranking order (distances 0.1, 0.2, ...).
# --------------------------------------------------------------------------------------------


def _one_query(gallery_ids, gallery_cams, *, query_id=1, query_cam=1, max_rank=None, dist=None):
    gallery_ids = np.asarray(gallery_ids)
    if dist is None:
        dist = 0.1 * np.arange(1, len(gallery_ids) + 1)
    distmat = np.asarray(dist, dtype=np.float32)[None, :]
    return evaluate_ranking(
        distmat,
        np.array([query_id]),
        gallery_ids,
        np.array([query_cam]),
        np.asarray(gallery_cams),
        max_rank=max_rank or len(gallery_ids),
    )


def test_perfect_ranking():
    # Ranking: 1, 1, 2, 3. Matches at positions 1 and 2.
    # CMC = 1 from rank 1 on; AP = (1/1 + 2/2) / 2 = 1; mINP = 2 matches / last at 2 = 1.
    # max_rank 10 exceeds the gallery: the CMC stays at 1 beyond it.
    r = _one_query([1, 1, 2, 3], [2, 3, 2, 2], max_rank=10)
    np.testing.assert_array_equal(r["cmc"], np.ones(10))
    assert r["cmc"].shape == (10,)
    assert r["mAP"] == pytest.approx(1.0)
    assert r["mINP"] == pytest.approx(1.0)
    assert r["num_valid_queries"] == 1
    assert r["num_queries_without_match"] == 0


def test_correct_match_at_rank_three():
    # Ranking: 2, 3, 1, 4. The only match is at position 3.
    # CMC = [0, 0, 1, 1]; AP = 1/3; mINP = 1/3.
    r = _one_query([2, 3, 1, 4], [2, 2, 2, 2])
    np.testing.assert_array_equal(r["cmc"], [0, 0, 1, 1])
    assert r["mAP"] == pytest.approx(1 / 3)
    assert r["mINP"] == pytest.approx(1 / 3)


def test_junk_in_front_is_ignored():
    # Ranking: junk, junk, 1, 2. Without the junk the match is first.
    # CMC = [1, 1]; AP = 1; mINP = 1. (Counted as negatives it would be at rank 3, AP 1/3.)
    r = _one_query([-1, -1, 1, 2], [1, 2, 2, 2], max_rank=2)
    np.testing.assert_array_equal(r["cmc"], [1, 1])
    assert r["mAP"] == pytest.approx(1.0)
    assert r["mINP"] == pytest.approx(1.0)


def test_same_camera_same_identity_in_front_is_ignored():
    # Ranking: (id 1, cam 1), (id 2, cam 1), (id 1, cam 2), (id 3, cam 3).
    # The first is the query's own camera and identity: removed. The second shares only the
    # camera, so it stays as a negative. Filtered ranking: 2, 1, 3 -> match at position 2.
    # CMC = [0, 1, 1]; AP = 1/2; mINP = 1/2.
    r = _one_query([1, 2, 1, 3], [1, 1, 2, 3], max_rank=3)
    np.testing.assert_array_equal(r["cmc"], [0, 1, 1])
    assert r["mAP"] == pytest.approx(0.5)
    assert r["mINP"] == pytest.approx(0.5)


def test_distractor_in_front_counts_as_negative():
    # Ranking: distractor (id 0, even from the query's camera), 1, 2 -> match at position 2.
    # CMC = [0, 1, 1]; AP = 1/2; mINP = 1/2.
    r = _one_query([0, 1, 2], [1, 2, 2])
    np.testing.assert_array_equal(r["cmc"], [0, 1, 1])
    assert r["mAP"] == pytest.approx(0.5)
    assert r["mINP"] == pytest.approx(0.5)


def test_queries_without_valid_match_are_left_out_and_counted():
    # Gallery: idx0 (id 1, cam 2), idx1 (id 5, cam 1), idx2 (id 2, cam 2), idx3 (id 0, cam 2).
    # q0 (id 1, cam 1): distances rank idx2, idx1, idx0, idx3 -> match at position 3, AP 1/3.
    # q1 (id 5, cam 1): its only gallery image is from its own camera -> no valid match.
    # q2 (id 7, cam 2): identity absent from the gallery -> no valid match.
    # q3 (id 0, cam 2): a distractor query; distractors never count as matches -> none.
    # Only q0 is averaged: CMC = [0, 0, 1, 1], mAP = 1/3 (not 1/12), mINP = 1/3.
    distmat = np.array(
        [
            [0.3, 0.2, 0.1, 0.4],
            [0.9, 0.1, 0.5, 0.6],
            [0.1, 0.2, 0.3, 0.4],
            [0.4, 0.3, 0.2, 0.1],
        ],
        dtype=np.float32,
    )
    r = evaluate_ranking(
        distmat, [1, 5, 7, 0], np.array([1, 5, 2, 0]), [1, 1, 2, 2], np.array([2, 1, 2, 2]), 4
    )
    assert r["num_valid_queries"] == 1
    assert r["num_queries_without_match"] == 3
    np.testing.assert_array_equal(r["cmc"], [0, 0, 1, 1])
    assert r["mAP"] == pytest.approx(1 / 3)
    assert r["mINP"] == pytest.approx(1 / 3)


def test_no_valid_query_raises_dataset_error():
    with pytest.raises(DatasetError, match="None of the 1 queries"):
        _one_query([1, 2], [1, 2])  # the only id-1 image is from the query's camera


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_ties_keep_gallery_order(dtype):
    # Tie rule: equal distances keep gallery order (stable sort), whether or not the earlier
    # entry is a match. float32 and float64 take different code paths; both must agree.
    # Negative first in the gallery: ranking 2, 1, 3 -> match at position 2, AP 1/2.
    r = _one_query([2, 1, 3], [2, 2, 2], dist=np.array([0.5, 0.5, 0.9], dtype=dtype))
    np.testing.assert_array_equal(r["cmc"], [0, 1, 1])
    assert r["mAP"] == pytest.approx(0.5)
    # Match first in the gallery: ranking 1, 2, 3 -> position 1, AP 1.
    r = _one_query([1, 2, 3], [2, 2, 2], dist=np.array([0.5, 0.5, 0.9], dtype=dtype))
    np.testing.assert_array_equal(r["cmc"], [1, 1, 1])
    assert r["mAP"] == pytest.approx(1.0)
    # A tie with an ignored (junk) entry does not matter: it is removed first.
    r = _one_query([-1, 1, 2], [2, 2, 2], dist=np.array([0.5, 0.5, 0.9], dtype=dtype))
    assert r["cmc"][0] == 1.0
    # Two tied matches behind a tied negative: positions 2 and 3, AP = (1/2 + 2/3) / 2.
    r = _one_query([2, 1, 1], [2, 2, 3], dist=np.array([0.5, 0.5, 0.5], dtype=dtype))
    assert r["mAP"] == pytest.approx((1 / 2 + 2 / 3) / 2)
    assert r["mINP"] == pytest.approx(2 / 3)


def test_minp_and_map_over_two_queries():
    # Gallery in ranking order for both queries (all camera 2):
    #   ids 1, 2, 1, 3, 4, 1, 5
    # q0 (id 1): matches at positions 1, 3, 6.
    #   AP = (1/1 + 2/3 + 3/6) / 3 = 13/18; INP = 3 matches / last at 6 = 1/2; first at 1.
    # q1 (id 2): one match at position 2. AP = 1/2; INP = 1/2; first at 2.
    # mAP = (13/18 + 9/18) / 2 = 11/18; mINP = 1/2; CMC = [1/2, 1, 1, ...].
    gallery_ids = np.array([1, 2, 1, 3, 4, 1, 5])
    dist = np.tile(0.1 * np.arange(1, 8, dtype=np.float32), (2, 1))
    r = evaluate_ranking(dist, [1, 2], gallery_ids, [1, 1], np.full(7, 2), max_rank=3)
    np.testing.assert_allclose(r["cmc"], [0.5, 1.0, 1.0])
    assert r["mAP"] == pytest.approx(11 / 18)
    assert r["mINP"] == pytest.approx(0.5)


def test_shape_and_value_errors():
    dist = np.zeros((2, 3), dtype=np.float32)
    ids3, cams3 = np.array([1, 2, 3]), np.array([1, 1, 1])
    with pytest.raises(DatasetError, match="query_ids"):
        evaluate_ranking(dist, ids3, ids3, [1, 1], cams3)
    with pytest.raises(DatasetError, match="gallery_cams"):
        evaluate_ranking(dist, [1, 2], ids3, [1, 1], [1, 1])
    with pytest.raises(DatasetError, match="2-D"):
        evaluate_ranking(np.zeros(3), [1], ids3, [1], cams3)
    with pytest.raises(DatasetError, match="integer"):
        evaluate_ranking(dist, [1.0, 2.0], ids3, [1, 1], cams3)
    nan = dist.copy()
    nan[1, 2] = np.nan
    with pytest.raises(ReidError, match="NaN"):
        evaluate_ranking(nan, [1, 2], ids3, [1, 2], [2, 1, 1])


# --------------------------------------------------------------------------------------------
# Agreement with a plain per-query reference on random data.
# --------------------------------------------------------------------------------------------


def reference_ranking(distmat, query_ids, gallery_ids, query_cams, gallery_cams, max_rank):
    """The protocol written out one query and one gallery entry at a time."""
    cmc_sum = np.zeros(max_rank)
    ap_sum = inp_sum = 0.0
    valid = without = 0
    for q in range(len(query_ids)):
        ranking = []
        for g in np.argsort(distmat[q], kind="stable"):
            if gallery_ids[g] == -1:
                continue
            if gallery_ids[g] == query_ids[q] and gallery_cams[g] == query_cams[q]:
                continue
            ranking.append(g)
        hits = [
            pos
            for pos, g in enumerate(ranking, start=1)
            if gallery_ids[g] == query_ids[q] and gallery_ids[g] != 0
        ]
        if not hits:
            without += 1
            continue
        valid += 1
        for k in range(max_rank):
            if hits[0] <= k + 1:
                cmc_sum[k] += 1
        ap_sum += sum((i + 1) / pos for i, pos in enumerate(hits)) / len(hits)
        inp_sum += len(hits) / hits[-1]
    return cmc_sum / valid, ap_sum / valid, inp_sum / valid, valid, without


def _random_problem(seed, num_q, num_g):
    rng = np.random.default_rng(seed)
    # Identities 1..12 plus distractors (0) and junk (-1); cameras 1..4.
    gallery_ids = rng.choice(np.arange(-1, 13), num_g, p=_label_probabilities())
    query_ids = rng.integers(1, 13, num_q)
    return (
        rng,
        query_ids,
        gallery_ids,
        rng.integers(1, 5, num_q),
        rng.integers(1, 5, num_g),
    )


def _label_probabilities():
    p = np.ones(14)
    p[:2] = 3.0  # junk and distractors are common, as in Market-1501
    return p / p.sum()


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize(
    "kind", ["float32", "float32_ties", "float32_some_ties", "float64", "float64_ties"]
)
def test_agrees_with_reference(seed, kind):
    rng, q_ids, g_ids, q_cams, g_cams = _random_problem(seed, num_q=40, num_g=250)
    dist = rng.random((len(q_ids), len(g_ids)))
    if kind.endswith("some_ties"):
        dist = np.round(dist, 4)  # some rows tie a match with another entry, most do not
    elif kind.endswith("ties"):
        dist = np.round(dist, 1)
    dist = dist.astype(kind.split("_")[0])
    expected = reference_ranking(dist, q_ids, g_ids, q_cams, g_cams, max_rank=30)
    for chunk_size in (1, 7, 256):
        r = evaluate_ranking(dist, q_ids, g_ids, q_cams, g_cams, 30, chunk_size=chunk_size)
        np.testing.assert_allclose(r["cmc"], expected[0], atol=1e-6, rtol=0)
        assert r["mAP"] == pytest.approx(expected[1], abs=1e-6)
        assert r["mINP"] == pytest.approx(expected[2], abs=1e-6)
        assert (r["num_valid_queries"], r["num_queries_without_match"]) == expected[3:]


@pytest.mark.parametrize("seed", range(3))
def test_agrees_with_reference_on_cosine_distances(seed):
    rng, q_ids, g_ids, q_cams, g_cams = _random_problem(seed, num_q=60, num_g=400)
    # Features clustered by identity, so matches rank high but not always first.
    centres = rng.normal(size=(13, 16))
    q_feat = centres[q_ids] + rng.normal(size=(len(q_ids), 16))
    g_feat = centres[np.maximum(g_ids, 0)] + rng.normal(size=(len(g_ids), 16))
    dist = cosine_distance(q_feat, g_feat)
    expected = reference_ranking(dist, q_ids, g_ids, q_cams, g_cams, max_rank=20)
    r = evaluate_ranking(dist, q_ids, g_ids, q_cams, g_cams, 20, chunk_size=16)
    np.testing.assert_allclose(r["cmc"], expected[0], atol=1e-6, rtol=0)
    assert r["mAP"] == pytest.approx(expected[1], abs=1e-6)
    assert r["mINP"] == pytest.approx(expected[2], abs=1e-6)
    assert r["mAP"] > 0.2  # well above chance: the clustering is seen


# --------------------------------------------------------------------------------------------
# Random-gallery validation
# --------------------------------------------------------------------------------------------

# Identity 1: four images over cameras 1, 1, 2, 3. Identity 2: three images, camera 1 only.
# Identity 3: a single image (skipped). Identity 4: two images, cameras 2 and 5. Junk: skipped.
IDENTITIES = np.array([1, 1, 1, 1, 2, 2, 2, 3, 4, 4, -1, -1])
CAMERAS = np.array([1, 1, 2, 3, 1, 1, 1, 4, 2, 5, 1, 2])


def test_random_gallery_one_pair_per_identity():
    pairs = set()
    for seed in range(30):
        probes, gallery = random_gallery_indices(IDENTITIES, CAMERAS, np.random.default_rng(seed))
        np.testing.assert_array_equal(IDENTITIES[probes], [1, 2, 4])
        np.testing.assert_array_equal(IDENTITIES[gallery], [1, 2, 4])
        assert np.all(probes != gallery)
        # Different cameras where the identity has more than one (identities 1 and 4).
        assert CAMERAS[probes[0]] != CAMERAS[gallery[0]]
        assert CAMERAS[probes[2]] != CAMERAS[gallery[2]]
        pairs.add((int(probes[0]), int(gallery[0])))
    assert len(pairs) > 3  # the draw really is random


def test_random_gallery_is_deterministic_by_seed():
    first = random_gallery_indices(IDENTITIES, CAMERAS, np.random.default_rng(7))
    again = random_gallery_indices(IDENTITIES, CAMERAS, np.random.default_rng(7))
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    others = [random_gallery_indices(IDENTITIES, CAMERAS, np.random.default_rng(s)) for s in (1, 2)]
    assert any(
        not np.array_equal(first[0], o[0]) or not np.array_equal(first[1], o[1]) for o in others
    )


def _clustered(num_ids, per_id, dim, noise, seed):
    rng = np.random.default_rng(seed)
    ids = np.repeat(np.arange(num_ids), per_id)
    cams = rng.integers(1, 4, len(ids))
    features = np.eye(dim)[ids] + noise * rng.normal(size=(len(ids), dim))
    return features, ids, cams


def test_random_gallery_cmc_is_one_when_identities_separate():
    features, ids, cams = _clustered(num_ids=30, per_id=4, dim=32, noise=0.01, seed=0)
    cmc = random_gallery_cmc(features, ids, cams, np.random.default_rng(0))
    assert cmc.shape == (20,)
    np.testing.assert_array_equal(cmc, np.ones(20))


def test_random_gallery_cmc_is_chance_on_random_features():
    # 100 identities: the match's rank is uniform over 1..100, so CMC@k is about k / 100.
    rng = np.random.default_rng(1)
    ids = np.repeat(np.arange(100), 4)
    cams = rng.integers(1, 4, len(ids))
    features = rng.normal(size=(len(ids), 32))
    cmc = random_gallery_cmc(features, ids, cams, rng, num_trials=20, max_rank=20)
    assert np.all(np.diff(cmc) >= 0)
    assert cmc[0] < 0.05
    assert cmc[9] == pytest.approx(0.10, abs=0.05)
    assert cmc[19] == pytest.approx(0.20, abs=0.06)


def test_random_gallery_cmc_ties_and_small_gallery():
    # All features equal: every distance ties, so probe i's match (gallery entry i, in
    # identity order) ranks at i + 1. With 5 identities CMC@k = min(k, 5) / 5.
    ids = np.repeat(np.arange(5), 2)
    cams = np.tile([1, 2], 5)
    cmc = random_gallery_cmc(np.ones((10, 8)), ids, cams, np.random.default_rng(0), max_rank=8)
    np.testing.assert_allclose(cmc, [0.2, 0.4, 0.6, 0.8, 1.0, 1.0, 1.0, 1.0])


def test_random_gallery_cmc_without_pairs_raises():
    with pytest.raises(DatasetError, match="two images"):
        random_gallery_cmc(np.ones((3, 4)), [1, 2, 3], [1, 1, 1], np.random.default_rng(0))
    with pytest.raises(DatasetError):
        random_gallery_cmc(np.ones((3, 4)), [1, 1], [1, 2], np.random.default_rng(0))


# --------------------------------------------------------------------------------------------
# Distances
# --------------------------------------------------------------------------------------------


def test_cosine_distance_matches_numpy():
    rng = np.random.default_rng(0)
    a, b = 3.0 * rng.normal(size=(5, 8)), rng.normal(size=(7, 8))
    expected = np.array(
        [[1.0 - x @ y / (np.linalg.norm(x) * np.linalg.norm(y)) for y in b] for x in a]
    )
    d = cosine_distance(a, b)
    assert d.dtype == np.float32 and d.shape == (5, 7)
    np.testing.assert_allclose(d, expected, atol=1e-6)
    # An all-zero row is at distance 1 from everything instead of producing NaN.
    np.testing.assert_allclose(cosine_distance(np.zeros((1, 8)), b), np.ones((1, 7)), atol=1e-6)


def test_euclidean_distance_matches_numpy():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(9, 6)), rng.normal(size=(4, 6))
    expected = np.linalg.norm(a[:, None, :] - b[None, :, :], axis=2)
    d = euclidean_distance(a, b, chunk_size=4)  # plain, not squared
    assert d.dtype == np.float32 and d.shape == (9, 4)
    np.testing.assert_allclose(d, expected, rtol=1e-6, atol=1e-6)
    assert np.abs(np.diag(euclidean_distance(a, a))).max() < 1e-6


def test_distance_dimension_mismatch():
    with pytest.raises(DatasetError, match="dimension"):
        cosine_distance(np.ones((2, 3)), np.ones((2, 4)))
    with pytest.raises(DatasetError, match="2-D"):
        euclidean_distance(np.ones(3), np.ones((2, 3)))


@pytest.mark.parametrize("seed", range(3))
def test_per_query_values_make_up_the_averages(seed):
    rng, q_ids, g_ids, q_cams, g_cams = _random_problem(seed, num_q=40, num_g=250)
    dist = rng.random((len(q_ids), len(g_ids))).astype(np.float32)
    for chunk_size in (1, 7, 256):
        r = evaluate_ranking(
            dist, q_ids, g_ids, q_cams, g_cams, 30, chunk_size=chunk_size, per_query=True
        )
        valid = r["query_valid"]
        assert valid.sum() == r["num_valid_queries"]
        assert np.all(r["query_first_rank"][~valid] == 0) and np.isnan(r["query_ap"][~valid]).all()
        assert np.mean(r["query_first_rank"][valid] == 1) == pytest.approx(r["cmc"][0])
        assert np.mean(r["query_first_rank"][valid] <= 5) == pytest.approx(r["cmc"][4])
        assert np.mean(r["query_ap"][valid]) == pytest.approx(r["mAP"])


def test_per_query_values_are_left_out_unless_asked():
    r = evaluate_ranking(np.zeros((1, 2)), [1], [1, 2], [1], [2, 2])
    assert "query_ap" not in r
