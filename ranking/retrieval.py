"""CMC, mAP and mINP under the Market-1501 protocol for a query x gallery distance matrix.

Per query, gallery images of the same identity taken by the same camera and junk images
(identity -1) are ignored; distractors (identity 0) stay in the ranking as negatives and never
count as a correct match. Queries left without any correct match are excluded from every
average and counted separately.

Tie rule: gallery entries are ranked by a stable sort of the distances, so entries at exactly
the same distance keep their gallery order; the one with the lower gallery index ranks first,
whether or not it is a correct match.

The work is vectorised over chunks of queries, so memory stays proportional to
`chunk_size x gallery size` however many queries there are.
"""

from __future__ import annotations

import numpy as np

from core.errors import DatasetError, ReidError

# Reserved labels of the Market-1501 layout (the same values as the dataset readers use).
JUNK_IDENTITY = -1
DISTRACTOR_IDENTITY = 0

_DEFAULT_CHUNK = 256

# Ranking
#
# Both paths below compute, per query, the 1-based positions of the correct matches in the
# filtered ranking (ignored entries removed) and reduce them with `_reduce_positions`.
# --------------------------------------------------------------------------------------------


def _monotone_keys(dist: np.ndarray) -> np.ndarray:
    """uint32 keys that order exactly like the float32 distances (-0.0 and +0.0 equal)."""
    bits = (dist + np.float32(0.0)).view(np.uint32)  # + 0.0 turns -0.0 into +0.0
    flip = (bits.view(np.int32) >> 31).view(np.uint32) | np.uint32(0x80000000)
    return bits ^ flip


def _stable_order(dist: np.ndarray) -> np.ndarray:
    """Per row, the gallery indices sorted by distance, ties kept in gallery order.

    For float32 distances each value becomes a 64-bit key (monotone value bits, then the
    column index), which makes every key unique so numpy's fast sort gives exactly
    `np.argsort(dist, axis=1, kind="stable")`, about twice as fast. Other dtypes use the
    stable argsort directly.
    """
    num_cols = dist.shape[1]
    if dist.dtype != np.float32 or num_cols >= 2**32:
        return np.argsort(dist, axis=1, kind="stable")
    keys = _monotone_keys(dist).astype(np.uint64)
    keys <<= np.uint64(32)
    keys |= np.arange(num_cols, dtype=np.uint64)[None, :]
    keys.sort(axis=1)
    keys &= np.uint64(0xFFFFFFFF)
    return keys.astype(np.intp)


def _reduce_positions(rows: np.ndarray, positions: np.ndarray, num_rows: int):
    """Per-row statistics from the match positions, grouped by row and ascending in each row.

    Returns (number of matches, first position, average precision, inverse negative penalty);
    the last three are 0 for rows without a match.
    """
    num_matches = np.bincount(rows, minlength=num_rows)
    starts = np.cumsum(num_matches) - num_matches
    nth_match = np.arange(len(rows)) - starts[rows] + 1  # 1 for a row's first match, ...
    ap_sum = np.bincount(rows, weights=nth_match / positions, minlength=num_rows)
    has_match = num_matches > 0
    first = np.zeros(num_rows, dtype=np.int64)
    last = np.ones(num_rows, dtype=np.int64)
    first[has_match] = positions[starts[has_match]]
    last[has_match] = positions[starts[has_match] + num_matches[has_match] - 1]
    average_precision = ap_sum / np.maximum(num_matches, 1)
    inverse_negative_penalty = num_matches / last
    return num_matches, first, average_precision, inverse_negative_penalty


def _positions_by_sorting(dist, correct, kept):
    """Match positions from a full stable sort of each row: exact for any input, slower."""
    order = _stable_order(dist)
    kept = np.take_along_axis(kept, order, axis=1)
    correct = np.take_along_axis(correct, order, axis=1)
    del order
    position = np.cumsum(kept, axis=1, dtype=np.int32)
    rows, cols = np.nonzero(correct)
    return rows, position[rows, cols].astype(np.int64)


_PUSHED_BACK = np.uint32(0xFFFFFFFF)  # above the key of every distance, +inf included


def _positions_by_counting(keys, correct, ignored):
    """Match positions by counting, per match, the kept entries with a smaller distance.

    Ignored entries get the largest key, so after sorting each row's 32-bit keys a binary
    search for a match's key gives the number of kept entries closer than it. Sorting 32-bit
    keys is about twice as fast as a full stable argsort. The count is exact only where no
    other kept entry has the same distance as a correct match; such rows are flagged in `tied`
    for the sorting path. `keys` is modified in place.
    """
    keys[ignored] = _PUSHED_BACK
    ranked = np.sort(keys, axis=1)
    rows, cols = np.nonzero(correct)
    match_keys = keys[rows, cols]
    bounds = np.searchsorted(rows, np.arange(keys.shape[0] + 1))
    closer = np.zeros(len(rows), dtype=np.int64)
    tied = np.zeros(keys.shape[0], dtype=bool)
    for row in np.flatnonzero(np.diff(bounds)):
        lo, hi = bounds[row], bounds[row + 1]
        left = np.searchsorted(ranked[row], match_keys[lo:hi], side="left")
        right = np.searchsorted(ranked[row], match_keys[lo:hi], side="right")
        closer[lo:hi] = left
        tied[row] = bool(np.any(right - left > 1))
    positions = closer + 1
    # np.nonzero groups the matches by row; order them by position within each row.
    within_rows = np.lexsort((positions, rows))
    return rows[within_rows], positions[within_rows], tied


def _chunk_statistics(dist, query_ids, query_cams, gallery_ids, gallery_cams):
    """Per-query (matches, first match position, AP, INP) for one chunk of distance rows."""
    num_rows = dist.shape[0]
    same_id = gallery_ids[None, :] == query_ids[:, None]
    same_cam = gallery_cams[None, :] == query_cams[:, None]
    junk = gallery_ids == JUNK_IDENTITY
    real_identity = ~junk & (gallery_ids != DISTRACTOR_IDENTITY)
    correct = same_id & ~same_cam & real_identity[None, :]
    ignored = same_id & same_cam
    ignored |= junk[None, :]
    del same_id, same_cam

    if dist.dtype == np.float16:
        dist = dist.astype(np.float32)
    if dist.dtype != np.float32:
        rows, positions = _positions_by_sorting(dist, correct, ~ignored)
        return _reduce_positions(rows, positions, num_rows)

    rows, positions, tied = _positions_by_counting(_monotone_keys(dist), correct, ignored)
    stats = _reduce_positions(rows, positions, num_rows)
    if tied.any():
        rows, positions = _positions_by_sorting(dist[tied], correct[tied], ~ignored[tied])
        exact = _reduce_positions(rows, positions, int(tied.sum()))
        for values, replacement in zip(stats, exact, strict=True):
            values[tied] = replacement
    return stats


def _as_label_vector(x, name: str, length: int, what: str) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 1 or len(x) != length:
        raise DatasetError(
            f"{name} has shape {x.shape} but the distance matrix has {length} {what}.",
            f"Pass one label per {'query' if what == 'rows' else 'gallery'} image, "
            "in the order of the distance matrix.",
        )
    if not np.issubdtype(x.dtype, np.integer):
        raise DatasetError(
            f"{name} must hold integer labels, got dtype {x.dtype}.",
            "Parse identities and cameras as integers.",
        )
    return x.astype(np.int64, copy=False)


def evaluate_ranking(
    distmat: np.ndarray,
    query_ids: np.ndarray,
    gallery_ids: np.ndarray,
    query_cams: np.ndarray,
    gallery_cams: np.ndarray,
    max_rank: int = 50,
    *,
    chunk_size: int = _DEFAULT_CHUNK,
    per_query: bool = False,
) -> dict:
    """CMC, mAP and mINP under the Market-1501 protocol for a (queries x gallery) distance matrix.

    Per query, same-identity same-camera gallery images and junk images (identity -1) are
    removed; distractors (identity 0) remain as negatives and never count as a match. A query
    with no correct match left is excluded from all averages and counted in
    `num_queries_without_match`. Ties are broken by gallery order (stable sort).

    * `cmc[k - 1]`: fraction of valid queries whose first correct match is at rank <= k.
    * `mAP`: mean over valid queries of the mean precision at each correct match.
    * `mINP`: mean over valid queries of (number of correct matches) / (rank of the last one),
      Ye et al., "Deep Learning for Person Re-identification: A Survey and Outlook", 2021.
    * with `per_query`, also each query's `query_valid` (has a correct match), `query_first_rank`
      (0 where not valid) and `query_ap` (NaN where not valid), for statistics over queries
      such as `ranking.bootstrap`.

    Labels 0 and -1 are reserved as in Market-1501 (distractor, junk); relabelled datasets
    whose identities start at 0 must shift them first.

    Queries are processed `chunk_size` at a time: extra memory is about 14 bytes per (query in
    the chunk, gallery entry), up to 24 where many distances tie, so about 70 MB for 256 x
    19,732 (Market-1501). Runtime is dominated by one sort of 32-bit keys per query row.
    """
    distmat = np.asarray(distmat)
    if distmat.ndim != 2:
        raise DatasetError(
            f"The distance matrix must be 2-D (queries x gallery), got shape {distmat.shape}.",
            "Compute it with cosine_distance(query_features, gallery_features).",
        )
    num_q, num_g = distmat.shape
    query_ids = _as_label_vector(query_ids, "query_ids", num_q, "rows")
    query_cams = _as_label_vector(query_cams, "query_cams", num_q, "rows")
    gallery_ids = _as_label_vector(gallery_ids, "gallery_ids", num_g, "columns")
    gallery_cams = _as_label_vector(gallery_cams, "gallery_cams", num_g, "columns")
    if max_rank < 1:
        raise ValueError(f"max_rank must be at least 1, got {max_rank}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
    if not np.issubdtype(distmat.dtype, np.number) or np.iscomplexobj(distmat):
        raise DatasetError(
            f"The distance matrix must be real numbers, got dtype {distmat.dtype}.",
            "Compute it with cosine_distance or euclidean_distance.",
        )

    first_hist = np.zeros(max_rank + 1, dtype=np.int64)  # last bin: first match beyond max_rank
    ap_total = 0.0
    inp_total = 0.0
    num_valid = 0
    query_first_rank = np.zeros(num_q, dtype=np.int64)
    query_ap = np.full(num_q, np.nan)
    for start in range(0, num_q, chunk_size):
        stop = min(start + chunk_size, num_q)
        dist = distmat[start:stop]
        if np.issubdtype(dist.dtype, np.floating) and np.isnan(dist).any():
            raise ReidError(
                f"The distance matrix contains NaN (query rows {start}-{stop - 1}).",
                "The features hold NaN: check the model checkpoint and the input images.",
            )
        num_matches, first_rank, ap, inp = _chunk_statistics(
            dist, query_ids[start:stop], query_cams[start:stop], gallery_ids, gallery_cams
        )
        valid = num_matches > 0
        query_first_rank[start:stop][valid] = first_rank[valid]
        query_ap[start:stop][valid] = ap[valid]
        num_valid += int(valid.sum())
        first_hist += np.bincount(
            np.minimum(first_rank[valid], max_rank + 1) - 1, minlength=max_rank + 1
        )
        ap_total += float(ap[valid].sum())
        inp_total += float(inp[valid].sum())

    if num_valid == 0:
        raise DatasetError(
            f"None of the {num_q} queries has a correct match in the gallery of {num_g} images "
            "(after removing same-camera images of the same identity and junk).",
            "Check that query and gallery come from the same dataset and that identity and "
            "camera labels were parsed correctly.",
        )
    cmc = np.cumsum(first_hist[:max_rank]) / num_valid
    result = {
        "cmc": cmc.astype(np.float64),
        "mAP": ap_total / num_valid,
        "mINP": inp_total / num_valid,
        "num_valid_queries": num_valid,
        "num_queries_without_match": num_q - num_valid,
    }
    if per_query:
        result["query_valid"] = query_first_rank > 0
        result["query_first_rank"] = query_first_rank
        result["query_ap"] = query_ap
    return result
