"""Re-id ranking maths: distances, CMC / mAP / mINP, random-gallery validation, re-ranking,
bootstrap intervals.

numpy (and scipy.sparse for re-ranking) only, low in the layering so that training's periodic
validation and the evaluation commands share one checked implementation.
"""

from ranking.bootstrap import (
    identity_bootstrap,
    paired_comparison,
    paired_difference,
    per_query_results,
    ranking_intervals,
    seeded_paired_difference,
)
from ranking.distances import cosine_distance, euclidean_distance
from ranking.random_gallery import random_gallery_cmc, random_gallery_indices
from ranking.reranking import rerank
from ranking.retrieval import DISTRACTOR_IDENTITY, JUNK_IDENTITY, evaluate_ranking

__all__ = [
    "DISTRACTOR_IDENTITY",
    "JUNK_IDENTITY",
    "cosine_distance",
    "euclidean_distance",
    "evaluate_ranking",
    "identity_bootstrap",
    "paired_comparison",
    "paired_difference",
    "per_query_results",
    "random_gallery_cmc",
    "random_gallery_indices",
    "ranking_intervals",
    "rerank",
    "seeded_paired_difference",
]
