import numpy as np
import pytest

from ranking import (
    evaluate_ranking,
    identity_bootstrap,
    paired_comparison,
    paired_difference,
    per_query_results,
    ranking_intervals,
    seeded_paired_difference,
)
from ranking.bootstrap import resampled_means, seeded_resampled_means


def test_resampled_means_match_drawing_the_people_one_by_one():
    rng = np.random.default_rng(0)
    identities = rng.integers(1, 9, 40)
    values = rng.random(40)
    people = np.unique(identities)
    draws = rng.multinomial(len(people), np.full(len(people), 1 / len(people)), size=5)
    expected = []
    for counts in draws:
        drawn = [
            values[identities == person]
            for person, n in zip(people, counts, strict=True)
            for _ in range(n)
        ]
        expected.append(np.concatenate(drawn).mean())
    np.testing.assert_allclose(resampled_means(values, identities, draws), expected)


def test_interval_of_a_fair_coin_over_100_people_is_about_ten_points_wide():
    # One query per person, half of them hits: the binomial interval is 0.5 +- 1.96 * 0.05.
    low, high = identity_bootstrap(np.arange(100) % 2, np.arange(100), resamples=4000)
    assert low == pytest.approx(0.40, abs=0.02) and high == pytest.approx(0.60, abs=0.02)


def test_interval_narrows_with_more_people_and_repeats_with_its_seed():
    rng = np.random.default_rng(1)
    small = identity_bootstrap(rng.random(100) < 0.5, np.arange(100))
    large = identity_bootstrap(rng.random(1000) < 0.5, np.arange(1000))
    assert large[1] - large[0] < 0.5 * (small[1] - small[0])
    values = np.arange(30) % 3 == 0
    assert identity_bootstrap(values, np.arange(30), seed=4) == identity_bootstrap(
        values, np.arange(30), seed=4
    )


def test_a_person_is_drawn_with_all_their_queries():
    # Every person either always hits or always misses: the interval is that of 10 people,
    # wider than if the 100 queries were independent.
    identities = np.repeat(np.arange(10), 10)
    values = identities % 2
    by_person = identity_bootstrap(values, identities)
    by_query = identity_bootstrap(values, np.arange(100))
    assert by_person[1] - by_person[0] > 2 * (by_query[1] - by_query[0])


def test_constant_scores_have_no_spread_and_bad_input_is_refused():
    assert identity_bootstrap(np.ones(20), np.arange(20) % 4) == (1.0, 1.0)
    with pytest.raises(ValueError):
        identity_bootstrap(np.ones(3), np.arange(4))
    with pytest.raises(ValueError):
        identity_bootstrap([], [])
    with pytest.raises(ValueError):
        identity_bootstrap(np.ones(3), np.arange(3), level=1.0)


def test_ranking_intervals_hold_the_scores_and_skip_queries_without_match():
    rng = np.random.default_rng(2)
    query_ids = np.repeat(np.arange(1, 41), 3)
    gallery_ids = np.repeat(np.arange(1, 41), 2)
    query_ids[:3] = 99  # a person with no gallery image: left out
    dist = rng.random((len(query_ids), len(gallery_ids)))
    dist[query_ids[:, None] == gallery_ids[None, :]] -= 0.4
    result = evaluate_ranking(
        dist, query_ids, gallery_ids, np.ones_like(query_ids), np.full_like(gallery_ids, 2),
        per_query=True,
    )  # fmt: skip
    intervals = ranking_intervals(result, query_ids)
    low, high = intervals["rank1_interval"]
    assert low < result["cmc"][0] < high
    low, high = intervals["mAP_interval"]
    assert low < result["mAP"] < high


def test_paired_difference_sees_a_small_gain_that_separate_intervals_hide():
    # Model b misses what a misses, and one query in twenty more.
    rng = np.random.default_rng(3)
    identities = np.repeat(np.arange(100), 4)
    a = (rng.random(400) < 0.5).astype(float)
    b = a * (rng.random(400) >= 0.1)
    paired = paired_difference(a, b, identities)
    assert paired["difference"] == pytest.approx(a.mean() - b.mean())
    low, high = paired["interval"]
    assert 0 < low < paired["difference"] < high
    a_low, a_high = identity_bootstrap(a, identities)
    b_low, b_high = identity_bootstrap(b, identities)
    assert a_low < b_high  # each model's own interval overlaps the other's
    assert paired_difference(a, a, identities) == {"difference": 0.0, "interval": (0.0, 0.0)}


def test_per_query_results_pair_two_models_on_the_same_queries():
    rng = np.random.default_rng(4)
    query_ids = np.repeat(np.arange(1, 31), 2)
    gallery_ids = np.arange(1, 31)
    query_ids[:2] = 99  # no gallery image: not a valid query, left out
    names = np.array([f"q{i}.jpg" for i in range(len(query_ids))])
    results = []
    for shift in (0.5, 0.1):  # a model that separates people well, and one that barely does
        dist = rng.random((len(query_ids), len(gallery_ids)))
        dist[query_ids[:, None] == gallery_ids[None, :]] -= shift
        result = evaluate_ranking(
            dist, query_ids, gallery_ids, np.ones_like(query_ids), np.full_like(gallery_ids, 2),
            per_query=True,
        )  # fmt: skip
        per_query = per_query_results(result, query_ids, names)
        assert per_query["query"] == names[2:].tolist() and per_query["identity"][0] == 2
        assert np.mean(per_query["rank1"]) == pytest.approx(result["cmc"][0])
        assert np.mean(per_query["ap"]) == pytest.approx(result["mAP"], abs=1e-5)
        results.append(per_query)
    paired = paired_comparison(*results)
    expected = paired_difference(results[0]["rank1"], results[1]["rank1"], results[0]["identity"])
    assert paired["rank1"] == expected and paired["ap"]["difference"] > 0
    renamed = {**results[1], "query": [f"other-{n}" for n in results[1]["query"]]}
    with pytest.raises(ValueError, match="different queries"):
        paired_comparison(results[0], renamed)


def test_seeded_resampled_means_match_drawing_seeds_then_people_one_by_one():
    rng = np.random.default_rng(2)
    identities = rng.integers(1, 7, 30)
    values = rng.random((3, 30))
    people = np.unique(identities)
    people_draws = rng.multinomial(len(people), np.full(len(people), 1 / len(people)), size=4)
    seed_draws = rng.multinomial(3, np.full(3, 1 / 3), size=4)
    expected = []
    for people_counts, seed_counts in zip(people_draws, seed_draws, strict=True):
        seed_means = []
        for seed_values, times in zip(values, seed_counts, strict=True):
            drawn = [
                seed_values[identities == person]
                for person, n in zip(people, people_counts, strict=True)
                for _ in range(n)
            ]
            seed_means += [np.concatenate(drawn).mean()] * times
        expected.append(np.mean(seed_means))
    got = seeded_resampled_means(values, identities, people_draws, seed_draws)
    np.testing.assert_allclose(got, expected)


def test_seeded_difference_of_identical_seeds_is_the_paired_difference():
    rng = np.random.default_rng(3)
    identities = np.repeat(np.arange(60), 2)
    a, b = rng.random(120) < 0.6, rng.random(120) < 0.5
    seeded = seeded_paired_difference(np.stack([a, a]), np.stack([b, b]), identities)
    paired = paired_difference(a, b, identities)
    assert seeded["difference"] == pytest.approx(paired["difference"])
    assert seeded["interval"] == pytest.approx(paired["interval"])
    assert seeded["per_seed"] == pytest.approx([paired["difference"]] * 2)


def test_seeds_that_disagree_widen_the_interval():
    # Seed 0 gains 10 points on every person, seed 1 loses 10: level on average, and the
    # interval must hold both seeds' gains, not only the people's spread.
    identities = np.repeat(np.arange(100), 10)
    base = np.tile(np.arange(10) < 5, 100).astype(float)
    gain = np.tile(np.arange(10) < 6, 100).astype(float)
    loss = np.tile(np.arange(10) < 4, 100).astype(float)
    seeded = seeded_paired_difference(np.stack([gain, loss]), np.stack([base, base]), identities)
    assert seeded["difference"] == pytest.approx(0.0)
    assert seeded["per_seed"] == pytest.approx([0.1, -0.1])
    assert seeded["interval"] == pytest.approx((-0.1, 0.1))


def test_seeded_difference_refuses_values_without_seeds_or_identities():
    with pytest.raises(ValueError, match="seeds, queries"):
        seeded_paired_difference(np.ones(4), np.ones(4), np.arange(4))
    with pytest.raises(ValueError, match="seeds, queries"):
        seeded_paired_difference(np.ones((2, 4)), np.ones((2, 4)), np.arange(3))
