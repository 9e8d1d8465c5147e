"""k-reciprocal re-ranking of a query x gallery ranking (numpy and scipy.sparse).

Zhong, Zheng, Cao and Li, "Re-ranking Person Re-identification with k-reciprocal Encoding",
CVPR 2017. Queries and gallery items are pooled; for every item:

1. its k1-reciprocal neighbours R(p, k1): the items among its k1 + 1 nearest whose own k1 + 1
   nearest include it (the item itself counts, as in the authors' code);
2. the expansion: for each c in R(p, k1), R(c, round(k1 / 2)) is added when more than two
   thirds of it lie in R(p, k1);
3. a sparse vector V_p over all items, Gaussian weights exp(-d(p, x)) on the expansion,
   normalised to sum 1; with k2 > 1, V_p is replaced by the mean of the vectors of its k2
   nearest items (local query expansion);
4. the Jaccard distance 1 - sum_x min(V_p, V_g) / sum_x max(V_p, V_g), and the final distance
   (1 - lambda) * Jaccard + lambda * d.

`d` is the paper's squared distance, divided by its row's maximum over all items as in the
authors' code: for "cosine" it is 1 - cos (half the squared Euclidean distance of unit
vectors), for "euclidean" the squared Euclidean distance.

Memory stays bounded: the full (queries + gallery)^2 distance matrix is never held; it is
computed a block of rows at a time to find each item's nearest neighbours, and V is sparse.
Ties at the k-th neighbour may be broken differently from a full stable sort.
"""

from __future__ import annotations

import numpy as np

from core.errors import DatasetError
from ranking.distances import cosine_distance

K1 = 20
K2 = 6
LAMBDA = 0.3
METRICS = ("cosine", "euclidean")

_EPS = 1e-12
_ROW_BLOCK = 256
_PAIR_BLOCK = 65536
_JACCARD_BLOCK = 4_000_000  # (query, shared item, gallery item) triples per step


def _validate(query_features, gallery_features, metric, k1, k2, lambda_value):
    query = np.asarray(query_features, dtype=np.float32)
    gallery = np.asarray(gallery_features, dtype=np.float32)
    if query.ndim != 2 or gallery.ndim != 2 or query.shape[1] != gallery.shape[1]:
        raise DatasetError(
            f"Re-ranking needs two feature matrices of the same width, got {query.shape} and "
            f"{gallery.shape}.",
            "Pass one feature row per query and per gallery item.",
        )
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    if k1 < 1 or k2 < 1 or not 0.0 <= lambda_value <= 1.0:
        raise ValueError(
            f"need k1 >= 1, k2 >= 1 and 0 <= lambda <= 1 (got {k1}, {k2}, {lambda_value})"
        )
    return query, gallery


class _Distances:
    """The paper's base distance between pooled items, computed on demand."""

    def __init__(self, features: np.ndarray, metric: str):
        self.metric = metric
        if metric == "cosine":
            norms = np.linalg.norm(features.astype(np.float64), axis=1)
            self.features = (features / np.maximum(norms, _EPS)[:, None]).astype(np.float32)
        else:
            self.features = features
            self.squares = np.einsum("ij,ij->i", features, features, dtype=np.float64)

    def rows(self, start: int, stop: int) -> np.ndarray:
        """Distances of items start..stop-1 to every item, float32."""
        block = self.features[start:stop]
        if self.metric == "cosine":
            return cosine_distance(block, self.features)
        product = block.astype(np.float64) @ self.features.T.astype(np.float64)
        squared = self.squares[start:stop, None] + self.squares[None, :] - 2.0 * product
        return np.maximum(squared, 0.0).astype(np.float32)

    def pairs(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Distances of the item pairs (a[i], b[i]), float64, a block of pairs at a time."""
        out = np.empty(len(a), dtype=np.float64)
        for start in range(0, len(a), _PAIR_BLOCK):
            ia, ib = a[start : start + _PAIR_BLOCK], b[start : start + _PAIR_BLOCK]
            fa = self.features[ia].astype(np.float64)
            dot = np.einsum("ij,ij->i", fa, self.features[ib].astype(np.float64))
            if self.metric == "cosine":
                out[start : start + len(ia)] = 1.0 - dot
            else:
                squared = self.squares[ia] + self.squares[ib] - 2.0 * dot
                out[start : start + len(ia)] = np.maximum(squared, 0.0)
        return out


def nearest_neighbours(distances: _Distances, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Each item's `count` nearest items, nearest first (ties by index), and its row maximum."""
    total = len(distances.features)
    neighbours = np.empty((total, count), dtype=np.int64)
    row_max = np.empty(total, dtype=np.float64)
    for start in range(0, total, _ROW_BLOCK):
        block = distances.rows(start, min(start + _ROW_BLOCK, total))
        row_max[start : start + len(block)] = block.max(axis=1)
        if count < total:
            nearest = np.argpartition(block, count - 1, axis=1)[:, :count]
        else:
            nearest = np.broadcast_to(np.arange(total), block.shape)
        values = np.take_along_axis(block, nearest, axis=1)
        order = np.lexsort((nearest, values), axis=1)
        neighbours[start : start + len(block)] = np.take_along_axis(nearest, order, axis=1)
    return neighbours, np.maximum(row_max, _EPS)


def reciprocal_neighbours(neighbours: np.ndarray, k: int) -> np.ndarray:
    """R(p, k) per row: the k + 1 nearest items that have p among their k + 1 nearest; -1 else."""
    forward = neighbours[:, : k + 1]
    out = np.empty_like(forward)
    for start in range(0, len(forward), _ROW_BLOCK):
        rows = forward[start : start + _ROW_BLOCK]
        items = np.arange(start, start + len(rows))[:, None, None]
        reciprocal = (neighbours[rows, : k + 1] == items).any(axis=2)
        out[start : start + len(rows)] = np.where(reciprocal, rows, -1)
    return out


def expansion_pairs(r_full: np.ndarray, r_half: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(item, member) pairs of every item's expanded reciprocal set, without repeats."""
    keys = []
    total = len(r_full)
    for start in range(0, total, _ROW_BLOCK):
        full = r_full[start : start + _ROW_BLOCK]
        valid = full >= 0
        halves = np.where(valid[..., None], r_half[np.maximum(full, 0)], -1)
        present = halves >= 0
        inside = (halves[..., None] == full[:, None, None, :]).any(axis=3) & present
        overlap = inside.sum(axis=2)
        accepted = valid & (3 * overlap > 2 * present.sum(axis=2))
        added = np.where(accepted[..., None], halves, -1).reshape(len(full), -1)
        members = np.concatenate([full, added], axis=1)
        items = np.broadcast_to(np.arange(start, start + len(full))[:, None], members.shape)
        keep = members >= 0
        keys.append(np.unique(items[keep] * total + members[keep]))
    keys = np.concatenate(keys)
    return keys // total, keys % total


def encoding_vectors(distances, neighbours, row_max, k1: int, k2: int):
    """The sparse k-reciprocal feature V (items x items, CSR), with local query expansion."""
    from scipy import sparse

    total = len(neighbours)
    r_full = reciprocal_neighbours(neighbours, k1)
    r_half = reciprocal_neighbours(neighbours, int(np.around(k1 / 2.0)))
    items, members = expansion_pairs(r_full, r_half)
    weights = np.exp(-distances.pairs(items, members) / row_max[items])
    weights /= np.bincount(items, weights=weights, minlength=total)[items]
    vectors = sparse.csr_matrix((weights, (items, members)), shape=(total, total))
    if k2 > 1:
        rows = np.repeat(np.arange(total), k2)
        averaging = sparse.csr_matrix(
            (np.full(total * k2, 1.0 / k2), (rows, neighbours[:, :k2].ravel())),
            shape=(total, total),
        )
        vectors = (averaging @ vectors).tocsr()
    return vectors


def _query_blocks(cost: np.ndarray, budget: int, max_rows: int):
    """Consecutive (start, stop) query ranges: summed cost near `budget`, at most `max_rows`."""
    start, total = 0, 0
    for index, value in enumerate(cost):
        if index > start and (total + value > budget or index - start >= max_rows):
            yield start, index
            start, total = index, 0
        total += value
    if start < len(cost):
        yield start, len(cost)


def jaccard_overlaps(vectors, num_query: int) -> np.ndarray:
    """sum_x min(V_q, V_g) for every query q and gallery item g (queries first in V)."""
    gallery = vectors[num_query:].tocsc()
    num_gallery = gallery.shape[0]
    column_sizes = np.diff(gallery.indptr)
    queries = vectors[:num_query].tocoo()
    order = np.argsort(queries.row, kind="stable")
    q_rows, q_cols, q_vals = queries.row[order], queries.col[order], queries.data[order]
    cost = np.bincount(q_rows, weights=column_sizes[q_cols], minlength=num_query)
    bounds = np.searchsorted(q_rows, np.arange(num_query + 1))
    out = np.empty((num_query, num_gallery), dtype=np.float32)
    max_rows = max(1, _JACCARD_BLOCK // max(num_gallery, 1))
    for start, stop in _query_blocks(cost, _JACCARD_BLOCK, max_rows):
        lo, hi = bounds[start], bounds[stop]
        rows, cols, vals = q_rows[lo:hi] - start, q_cols[lo:hi], q_vals[lo:hi]
        sizes = column_sizes[cols]
        first = np.repeat(gallery.indptr[cols], sizes)
        offsets = np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        entries = first + offsets
        shared = np.minimum(np.repeat(vals, sizes), gallery.data[entries])
        cells = np.repeat(rows, sizes) * num_gallery + gallery.indices[entries]
        block = np.bincount(cells, weights=shared, minlength=(stop - start) * num_gallery)
        out[start:stop] = block.reshape(stop - start, num_gallery)
    return out


def rerank(
    query_features: np.ndarray,
    gallery_features: np.ndarray,
    metric: str = "cosine",
    k1: int = K1,
    k2: int = K2,
    lambda_value: float = LAMBDA,
) -> np.ndarray:
    """Re-ranked (queries x gallery) float32 distances; see the module docstring.

    Defaults are the paper's Market-1501 settings (k1=20, k2=6, lambda=0.3). The result is
    used by `evaluate_ranking` like any distance matrix (smaller is closer).
    """
    query, gallery = _validate(query_features, gallery_features, metric, k1, k2, lambda_value)
    num_query = len(query)
    distances = _Distances(np.concatenate([query, gallery]), metric)
    total = num_query + len(gallery)
    neighbours, row_max = nearest_neighbours(distances, min(total, max(k1 + 1, k2)))
    vectors = encoding_vectors(distances, neighbours, row_max, k1, k2)
    out = jaccard_overlaps(vectors, num_query)
    for start in range(0, num_query, _ROW_BLOCK):
        stop = min(start + _ROW_BLOCK, num_query)
        overlap = out[start:stop].astype(np.float64)
        jaccard = 1.0 - overlap / (2.0 - overlap)
        original = distances.rows(start, stop)[:, num_query:] / row_max[start:stop, None]
        out[start:stop] = (1.0 - lambda_value) * jaccard + lambda_value * original
    return out
