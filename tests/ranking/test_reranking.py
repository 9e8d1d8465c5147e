"""k-reciprocal re-ranking against a plain per-item implementation, and its effect on mAP."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import DatasetError
from ranking import cosine_distance, evaluate_ranking
from ranking.reranking import rerank


def plain_rerank(query, gallery, k1, k2, lam, metric="cosine"):
    """The paper's algorithm on the full pooled distance matrix, one item at a time."""
    items = np.concatenate([query, gallery]).astype(np.float64)
    if metric == "cosine":
        items /= np.linalg.norm(items, axis=1, keepdims=True)
        dist = 1.0 - items @ items.T
    else:
        dist = ((items[:, None, :] - items[None, :, :]) ** 2).sum(axis=2)
    dist = dist / dist.max(axis=1, keepdims=True)
    n, nq = len(items), len(query)
    rank = np.argsort(dist, axis=1, kind="stable")

    def reciprocal(p, k):
        return [x for x in rank[p, : k + 1] if p in rank[x, : k + 1]]

    half = int(np.around(k1 / 2.0))
    vectors = np.zeros((n, n))
    for p in range(n):
        base = reciprocal(p, k1)
        expanded = set(base)
        for c in base:
            candidate = reciprocal(c, half)
            if len(set(candidate) & set(base)) > 2.0 / 3.0 * len(candidate):
                expanded.update(candidate)
        members = sorted(expanded)
        weights = np.exp(-dist[p, members])
        vectors[p, members] = weights / weights.sum()
    if k2 > 1:
        vectors = np.array([vectors[rank[p, :k2]].mean(axis=0) for p in range(n)])
    final = np.zeros((nq, n - nq))
    for q in range(nq):
        for g in range(nq, n):
            shared = np.minimum(vectors[q], vectors[g]).sum()
            union = np.maximum(vectors[q], vectors[g]).sum()
            final[q, g - nq] = (1 - lam) * (1 - shared / union) + lam * dist[q, g]
    return final


@pytest.mark.parametrize(
    ("k1", "k2", "lam", "metric"),
    [
        (5, 3, 0.3, "cosine"),
        (20, 6, 0.3, "cosine"),
        (4, 1, 0.5, "euclidean"),
        (7, 2, 0.0, "cosine"),
    ],
)
def test_matches_plain_implementation(k1, k2, lam, metric):
    rng = np.random.default_rng(k1)
    centres = rng.normal(size=(6, 8))
    labels = rng.integers(0, 6, 50)
    features = centres[labels] + 0.7 * rng.normal(size=(50, 8))
    query, gallery = features[:12], features[12:]
    got = rerank(query, gallery, metric=metric, k1=k1, k2=k2, lambda_value=lam)
    want = plain_rerank(query, gallery, k1, k2, lam, metric)
    assert got.shape == (12, 38) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, atol=2e-5)


def test_more_neighbours_than_items_uses_everything():
    rng = np.random.default_rng(1)
    query, gallery = rng.normal(size=(3, 4)), rng.normal(size=(5, 4))
    got = rerank(query, gallery, k1=20, k2=6)
    np.testing.assert_allclose(got, plain_rerank(query, gallery, 20, 6, 0.3), atol=2e-5)


def test_improves_map_when_identities_form_chains():
    """Each identity is an elongated cluster: its far members are found through neighbours."""
    rng = np.random.default_rng(0)
    num_ids, per_id, dim = 30, 10, 32
    directions = rng.normal(size=(num_ids, dim))
    centres = rng.normal(size=(num_ids, dim)) * 1.2
    steps = np.linspace(-1.5, 1.5, per_id)
    features = (
        centres[:, None, :]
        + steps[None, :, None] * directions[:, None, :]
        + 0.25 * rng.normal(size=(num_ids, per_id, dim))
    ).reshape(-1, dim)
    ids = np.repeat(np.arange(1, num_ids + 1), per_id)
    cams = np.tile(np.arange(per_id), num_ids)  # every image its own camera
    is_query = np.tile(np.arange(per_id) == 0, num_ids)
    query, gallery = features[is_query], features[~is_query]
    args = (ids[is_query], ids[~is_query], cams[is_query], cams[~is_query])
    plain = evaluate_ranking(cosine_distance(query, gallery), *args)
    small = evaluate_ranking(rerank(query, gallery, k1=6, k2=3), *args)
    default = evaluate_ranking(rerank(query, gallery), *args)  # k1=20, k2=6, lambda=0.3
    assert plain["mAP"] < 0.7
    assert small["mAP"] > plain["mAP"] + 0.1
    assert default["mAP"] > plain["mAP"] + 0.2


def test_rejects_bad_input():
    with pytest.raises(DatasetError):
        rerank(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError):
        rerank(np.ones((2, 3)), np.ones((2, 3)), metric="manhattan")
    with pytest.raises(ValueError):
        rerank(np.ones((2, 3)), np.ones((2, 3)), k1=0)
