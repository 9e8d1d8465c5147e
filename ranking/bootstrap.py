"""How far a re-id score could move with another draw of test people (an identity bootstrap).

CUHK03's test holds 100 people; another 100 from the same cameras would score differently.
Drawing the test's people again with replacement (each person with all their queries, the
gallery held fixed) and recomputing the score gives a percentile interval of that spread. Two
rows whose intervals overlap widely are not told apart by the test. The interval says nothing
of the spread between training seeds, which comes on top.
"""

from __future__ import annotations

import numpy as np

BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_LEVEL = 0.95


def resampled_means(values, identities, draws) -> np.ndarray:
    """Mean of `values` (one per query) in each resample, where `draws[r, p]` is how many times
    resample r drew person p (people in the order of `np.unique(identities)`)."""
    people, person = np.unique(np.asarray(identities), return_inverse=True)
    sums = np.bincount(person, weights=np.asarray(values, dtype=np.float64), minlength=len(people))
    counts = np.bincount(person, minlength=len(people)).astype(np.float64)
    draws = np.asarray(draws, dtype=np.float64)
    return (draws @ sums) / (draws @ counts)


def identity_bootstrap(
    values,
    identities,
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    level: float = BOOTSTRAP_LEVEL,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile interval of the mean of `values` over queries when the people are drawn again.

    `values`: one number per query (1.0 for a rank-1 hit, or the query's average precision).
    `identities`: the person of each query. `resamples`: how many redraws. `level`: the share of
    redraws the interval holds. `seed`: the redraws' random seed, so a row's interval repeats.
    """
    values = np.asarray(values, dtype=np.float64)
    identities = np.asarray(identities)
    if values.ndim != 1 or values.shape != identities.shape or not len(values):
        raise ValueError(
            f"need one identity per value, got {values.shape} values and {identities.shape}"
        )
    if not 0 < level < 1 or resamples < 1:
        raise ValueError(f"level must lie in (0, 1) and resamples be positive, got {level}")
    people = len(np.unique(identities))
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(people, np.full(people, 1.0 / people), size=resamples)
    return _percentile_interval(resampled_means(values, identities, draws), level)


def _percentile_interval(means: np.ndarray, level: float) -> tuple[float, float]:
    """The central `level` share of the resampled `means`."""
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return float(low), float(high)


def paired_difference(values_a, values_b, identities, **options) -> dict:
    """Mean of `values_a` minus mean of `values_b` over the same queries (two models on one
    test), with its identity-bootstrap interval. Both models meet the same people in every
    redraw, so the interval is far narrower than either model's own: it is the one that tells
    whether one model is ahead. `options` go to `identity_bootstrap`."""
    difference = np.asarray(values_a, dtype=np.float64) - np.asarray(values_b, dtype=np.float64)
    low, high = identity_bootstrap(difference, identities, **options)
    return {"difference": float(difference.mean()), "interval": (low, high)}


def seeded_resampled_means(values, identities, people_draws, seed_draws) -> np.ndarray:
    """Mean over drawn training seeds of each seed's `resampled_means`: `values[s, q]` is seed
    s's value of query q, `people_draws[r]` as in `resampled_means` (the same people for every
    seed of resample r), `seed_draws[r, s]` how many times resample r drew seed s."""
    values = np.asarray(values, dtype=np.float64)
    per_seed = np.stack(
        [resampled_means(seed_values, identities, people_draws) for seed_values in values], axis=1
    )
    seed_draws = np.asarray(seed_draws, dtype=np.float64)
    return (per_seed * seed_draws).sum(axis=1) / seed_draws.sum(axis=1)


def seeded_paired_difference(
    values_a,
    values_b,
    identities,
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    level: float = BOOTSTRAP_LEVEL,
    seed: int = 0,
) -> dict:
    """How far recipe a is ahead of recipe b over several training seeds, on the same queries.

    `values_a`, `values_b`: (seeds, queries); row s holds training seed s's value of each query
    (a rank-1 hit or an average precision), seed s of a paired with seed s of b. `identities`:
    the person of each query. The interval redraws the seeds with replacement as well as the
    people, so it holds the spread between training seeds that `paired_difference` leaves out
    (with few seeds it still understates it). Returns the mean difference, its interval and
    each seed's own difference ("per_seed"). `resamples`, `level`, `seed`: as
    `identity_bootstrap`, whose people it draws first: identical seeds give its interval.
    """
    difference = np.asarray(values_a, dtype=np.float64) - np.asarray(values_b, dtype=np.float64)
    identities = np.asarray(identities)
    if difference.ndim != 2 or difference.shape[1] != len(identities) or not difference.size:
        raise ValueError(
            f"need (seeds, queries) values with one identity per query, got {difference.shape} "
            f"values and {identities.shape} identities"
        )
    if not 0 < level < 1 or resamples < 1:
        raise ValueError(f"level must lie in (0, 1) and resamples be positive, got {level}")
    people, seeds = len(np.unique(identities)), len(difference)
    rng = np.random.default_rng(seed)
    people_draws = rng.multinomial(people, np.full(people, 1.0 / people), size=resamples)
    seed_draws = rng.multinomial(seeds, np.full(seeds, 1.0 / seeds), size=resamples)
    means = seeded_resampled_means(difference, identities, people_draws, seed_draws)
    per_seed = difference.mean(axis=1)
    return {
        "difference": float(per_seed.mean()),
        "interval": _percentile_interval(means, level),
        "per_seed": per_seed.tolist(),
    }


def ranking_intervals(result: dict, query_ids, **options) -> dict:
    """Intervals of rank-1 and mAP from `evaluate_ranking(..., per_query=True)`'s `result`;
    `options` go to `identity_bootstrap`."""
    valid = result["query_valid"]
    people = np.asarray(query_ids)[valid]
    return {
        "rank1_interval": identity_bootstrap(
            result["query_first_rank"][valid] == 1, people, **options
        ),
        "mAP_interval": identity_bootstrap(result["query_ap"][valid], people, **options),
    }


def per_query_results(result: dict, query_ids, query_names=None) -> dict:
    """Each valid query's person, rank-1 hit (0/1) and average precision, as plain lists: what
    two models' results are paired on (`paired_comparison`). `query_names`, if given, name the
    queries so that a pairing can check it meets the same ones."""
    valid = result["query_valid"]
    results = {
        "identity": np.asarray(query_ids)[valid].tolist(),
        "rank1": (result["query_first_rank"][valid] == 1).astype(int).tolist(),
        "ap": np.round(result["query_ap"][valid], 5).tolist(),
    }
    if query_names is not None:
        results["query"] = [str(name) for name in np.asarray(query_names)[valid]]
    return results


def paired_comparison(results_a: dict, results_b: dict, **options) -> dict:
    """How far model a is ahead of model b on the same queries: `paired_difference` of rank-1
    hits ("rank1") and of average precision ("ap"), from two `per_query_results`.

    Raises ValueError when the two were scored on different queries. `options` go to
    `identity_bootstrap`.
    """
    same = results_a["identity"] == results_b["identity"]
    if "query" in results_a and "query" in results_b:
        same = same and results_a["query"] == results_b["query"]
    if not same:
        raise ValueError("the two results were scored on different queries")
    return {
        key: paired_difference(results_a[key], results_b[key], results_a["identity"], **options)
        for key in ("rank1", "ap")
    }
