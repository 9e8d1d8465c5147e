"""How well distances separate same-identity pairs from different-identity pairs.

The area under the ROC curve of "different" against "same" distances: the probability that a
random different-identity pair is farther apart than a random same-identity pair (ties count
half). 1 separates perfectly, 0.5 is chance. Used to compare a model before and after
adaptation on the pairs a tracker has to tell apart.
"""

from __future__ import annotations

import numpy as np


def separation_auc(same: np.ndarray, different: np.ndarray) -> float:
    """P(different distance > same distance) + P(tie) / 2, by the rank-sum (Mann-Whitney) form."""
    from scipy.stats import rankdata

    same = np.asarray(same, np.float64).ravel()
    different = np.asarray(different, np.float64).ravel()
    if not len(same) or not len(different):
        raise ValueError("both same- and different-identity distances are needed")
    ranks = rankdata(np.concatenate([same, different]))
    rank_sum = ranks[len(same) :].sum()
    n_d = len(different)
    return float((rank_sum - n_d * (n_d + 1) / 2) / (len(same) * n_d))


def window_pairs(frames: np.ndarray, identities: np.ndarray, max_gap: int) -> tuple:
    """Index pairs (i, j), i < j, of boxes 1..max_gap frames apart: (same, different) arrays."""
    frames = np.asarray(frames, np.int64)
    identities = np.asarray(identities, np.int64)
    gap = frames[None, :] - frames[:, None]
    upper = (gap >= 1) & (gap <= max_gap)
    same_identity = identities[:, None] == identities[None, :]
    return np.argwhere(upper & same_identity), np.argwhere(upper & ~same_identity)
