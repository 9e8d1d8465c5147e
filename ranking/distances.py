"""Distances between feature rows: cosine and Euclidean (numpy only).

Inputs are (N, D) float matrices; both sides must have the same D. The evaluation commands,
training's validation and the benchmarks share these, and none of them needs TensorFlow.
"""

from __future__ import annotations

import numpy as np

from core.errors import DatasetError

_EPS = 1e-12


def as_feature_matrix(x, name: str) -> np.ndarray:
    """Return `x` as a 2-D float array, or raise a DatasetError naming `name`."""
    x = np.asarray(x)
    if x.ndim != 2:
        raise DatasetError(
            f"{name} must be a 2-D array of feature rows, got shape {x.shape}.",
            "Pass one feature vector per row (N x D).",
        )
    return x


def _check_same_dim(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape[1] != b.shape[1]:
        raise DatasetError(
            f"Query features have dimension {a.shape[1]} but gallery features {b.shape[1]}.",
            "Compute both with the same model.",
        )


def _l2_normalise(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length; an all-zero row stays zero instead of becoming NaN."""
    x = x.astype(np.float32, copy=False)
    norms = np.sqrt(np.einsum("ij,ij->i", x, x, dtype=np.float64))
    return (x / np.maximum(norms, _EPS)[:, None]).astype(np.float32, copy=False)


def cosine_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine distance `1 - <a_i, b_j>` of every row pair, as float32 of shape (len(a), len(b)).

    Rows are L2-normalised first, so features that are only nearly unit length (or not at all)
    are still compared by angle. Values lie in [0, 2]; an all-zero row is at distance 1 from
    everything.
    """
    a = as_feature_matrix(a, "a")
    b = as_feature_matrix(b, "b")
    _check_same_dim(a, b)
    a_n, b_n = _l2_normalise(a), _l2_normalise(b)
    out = a_n @ b_n.T
    np.subtract(np.float32(1.0), out, out=out)
    return out


def euclidean_distance(a: np.ndarray, b: np.ndarray, *, chunk_size: int = 1024) -> np.ndarray:
    """Plain (not squared) Euclidean distance of every row pair, float32 (len(a), len(b)).

    Uses |a|^2 + |b|^2 - 2 a.b in float64, one chunk of rows of `a` at a time, so the result
    is accurate near zero while the float64 scratch stays at `chunk_size x len(b)`.
    """
    a = as_feature_matrix(a, "a").astype(np.float64, copy=False)
    b = as_feature_matrix(b, "b").astype(np.float64, copy=False)
    _check_same_dim(a, b)
    out = np.empty((len(a), len(b)), dtype=np.float32)
    sq_b = np.einsum("ij,ij->i", b, b)
    for start in range(0, len(a), chunk_size):
        rows = a[start : start + chunk_size]
        sq = np.einsum("ij,ij->i", rows, rows)[:, None] + sq_b[None, :] - 2.0 * (rows @ b.T)
        out[start : start + chunk_size] = np.sqrt(np.maximum(sq, 0.0))
    return out
