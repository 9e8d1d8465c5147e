"""Benchmark `ranking.evaluate_ranking` on a synthetic Market-1501-sized problem.

The problem has the size and label mix of the Market-1501 test split: 3,368 queries and a
gallery of 19,732 images (13,120 of 750 identities, 2,793 distractors with identity 0 and
3,819 junk images with identity -1), six cameras, random unit-length 128-d features compared
by cosine distance (float32).

The baseline is a straightforward per-query loop (stable argsort of one row, filter, positions
of the matches), measured in the same run. It is timed on the first `--loop-queries` queries,
best of `--repeats` like the vectorised code, and extrapolated linearly to all queries; its
results on those queries are checked against the vectorised ones.

With `--rerank`, k-reciprocal re-ranking (`ranking.reranking.rerank`, k1=20, k2=6,
lambda=0.3) is timed once on the same problem and reported as a ratio to the plain cosine
distance plus evaluation measured in the same run, with the process's peak memory after it.
(Random features have no identity structure, so its effect on the scores means nothing here.)

Usage:
    .venv/bin/python scripts/bench_evaluation.py [--output bench_evaluation.json] [--rerank]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchlib import describe_machine  # noqa: E402

from core.atomic import write_json_atomic  # noqa: E402
from core.contract import FEATURE_DIM  # noqa: E402
from ranking import cosine_distance, evaluate_ranking  # noqa: E402

NUM_QUERIES = 3368
NUM_IDENTITIES = 750
NUM_GALLERY_IDENTITY_IMAGES = 13120
NUM_DISTRACTORS = 2793
NUM_JUNK = 3819
NUM_CAMERAS = 6


def make_problem(seed: int):
    """Market-sized labels and random unit features; returns (q_feat, g_feat, labels...)."""
    rng = np.random.default_rng(seed)
    ids = np.arange(1, NUM_IDENTITIES + 1)
    gallery_ids = np.concatenate(
        [
            rng.choice(ids, NUM_GALLERY_IDENTITY_IMAGES),
            np.zeros(NUM_DISTRACTORS, dtype=np.int64),
            np.full(NUM_JUNK, -1, dtype=np.int64),
        ]
    )
    perm = rng.permutation(len(gallery_ids))
    gallery_ids = gallery_ids[perm]
    gallery_cams = rng.integers(1, NUM_CAMERAS + 1, len(gallery_ids))
    query_ids = rng.choice(ids, NUM_QUERIES)
    query_cams = rng.integers(1, NUM_CAMERAS + 1, NUM_QUERIES)
    query_feat = rng.standard_normal((NUM_QUERIES, FEATURE_DIM), dtype=np.float32)
    gallery_feat = rng.standard_normal((len(gallery_ids), FEATURE_DIM), dtype=np.float32)
    query_feat /= np.linalg.norm(query_feat, axis=1, keepdims=True)
    gallery_feat /= np.linalg.norm(gallery_feat, axis=1, keepdims=True)
    return query_feat, gallery_feat, query_ids, gallery_ids, query_cams, gallery_cams


def loop_evaluate(distmat, query_ids, gallery_ids, query_cams, gallery_cams, max_rank):
    """The plain per-query implementation used as the baseline (same protocol and tie rule)."""
    cmc_sum = np.zeros(max_rank)
    ap_sum = inp_sum = 0.0
    num_valid = 0
    for q in range(distmat.shape[0]):
        order = np.argsort(distmat[q], kind="stable")
        ids, cams = gallery_ids[order], gallery_cams[order]
        same_id = ids == query_ids[q]
        keep = (ids != -1) & ~(same_id & (cams == query_cams[q]))
        correct = (same_id & (ids != 0))[keep]
        if not correct.any():
            continue
        num_valid += 1
        ranks = np.flatnonzero(correct) + 1
        hit_cmc = np.zeros(max_rank)
        if ranks[0] <= max_rank:
            hit_cmc[ranks[0] - 1 :] = 1.0
        cmc_sum += hit_cmc
        ap_sum += np.mean(np.arange(1, len(ranks) + 1) / ranks)
        inp_sum += len(ranks) / ranks[-1]
    return {
        "cmc": cmc_sum / num_valid,
        "mAP": ap_sum / num_valid,
        "mINP": inp_sum / num_valid,
        "num_valid_queries": num_valid,
    }


def best_of(fn, repeats: int):
    """(best wall time in seconds, last result) over `repeats` calls."""
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=Path("bench_evaluation.json"))
    parser.add_argument("--loop-queries", type=int, default=400, help="queries timed in the loop")
    parser.add_argument("--chunk-size", type=int, default=256)
    parser.add_argument("--max-rank", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3, help="best-of repeats for timings")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rerank", action="store_true", help="also time k-reciprocal re-ranking")
    args = parser.parse_args(argv)

    machine = describe_machine()  # load average before the benchmark's own work
    q_feat, g_feat, q_ids, g_ids, q_cams, g_cams = make_problem(args.seed)
    distance_s, distmat = best_of(lambda: cosine_distance(q_feat, g_feat), args.repeats)

    def vectorised():
        return evaluate_ranking(
            distmat, q_ids, g_ids, q_cams, g_cams, args.max_rank, chunk_size=args.chunk_size
        )

    vector_s, result = best_of(vectorised, args.repeats)

    n_loop = min(args.loop_queries, NUM_QUERIES)
    sub = slice(0, n_loop)
    loop_subset_s, loop_result = best_of(
        lambda: loop_evaluate(distmat[sub], q_ids[sub], g_ids, q_cams[sub], g_cams, args.max_rank),
        args.repeats,
    )
    loop_s = loop_subset_s * NUM_QUERIES / n_loop
    check = evaluate_ranking(
        distmat[sub], q_ids[sub], g_ids, q_cams[sub], g_cams, args.max_rank,
        chunk_size=args.chunk_size,
    )  # fmt: skip
    max_diff = max(
        float(np.max(np.abs(check["cmc"] - loop_result["cmc"]))),
        abs(check["mAP"] - loop_result["mAP"]),
        abs(check["mINP"] - loop_result["mINP"]),
    )
    if max_diff > 1e-9 or check["num_valid_queries"] != loop_result["num_valid_queries"]:
        print(f"error: vectorised and loop results differ by {max_diff}", file=sys.stderr)
        return 1

    # Peak memory allocated during one vectorised evaluation, beyond its inputs.
    tracemalloc.start()
    before, _ = tracemalloc.get_traced_memory()
    vectorised()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    peak_extra_mb = (peak - before) / 2**20
    max_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux

    report = {
        "problem": {
            "queries": NUM_QUERIES,
            "gallery": int(len(g_ids)),
            "identities": NUM_IDENTITIES,
            "distractors": NUM_DISTRACTORS,
            "junk": NUM_JUNK,
            "cameras": NUM_CAMERAS,
            "feature_dim": FEATURE_DIM,
            "distance": "cosine, float32",
            "distmat_mib": distmat.nbytes / 2**20,
            "seed": args.seed,
        },
        "settings": {
            "chunk_size": args.chunk_size,
            "max_rank": args.max_rank,
            "repeats": args.repeats,
            "loop_queries_timed": n_loop,
        },
        "seconds": {
            "cosine_distance": distance_s,
            "evaluate_ranking": vector_s,
            "loop_subset_measured": loop_subset_s,
            "loop_all_queries_extrapolated": loop_s,
        },
        "speedup_vs_loop": loop_s / vector_s,
        "peak_extra_memory_mib": peak_extra_mb,
        "process_max_rss_mib": max_rss_mb,
        "loop_agreement_max_abs_diff": max_diff,
        "result": {
            "rank1": float(result["cmc"][0]),
            "mAP": result["mAP"],
            "mINP": result["mINP"],
            "num_valid_queries": result["num_valid_queries"],
            "num_queries_without_match": result["num_queries_without_match"],
        },
        "machine": machine,
    }
    if args.rerank:
        report["rerank"] = bench_rerank(q_feat, g_feat, q_ids, g_ids, q_cams, g_cams, args)
        report["rerank"]["ratio_to_plain"] = report["rerank"]["seconds"] / (distance_s + vector_s)
    write_json_atomic(args.output, report)

    rows = [
        ("cosine_distance (all queries)", f"{distance_s:8.3f} s"),
        ("evaluate_ranking (vectorised, all queries)", f"{vector_s:8.3f} s"),
        (f"per-query loop ({n_loop} queries, measured)", f"{loop_subset_s:8.3f} s"),
        (f"per-query loop (all {NUM_QUERIES}, extrapolated)", f"{loop_s:8.3f} s"),
        ("speed-up vs loop", f"{loop_s / vector_s:8.2f} x"),
        ("peak extra memory of evaluate_ranking", f"{peak_extra_mb:8.1f} MiB"),
        ("distance matrix itself", f"{distmat.nbytes / 2**20:8.1f} MiB"),
        ("process max RSS", f"{max_rss_mb:8.1f} MiB"),
    ]
    width = max(len(name) for name, _ in rows)
    print(f"Market-sized problem: {NUM_QUERIES} queries x {len(g_ids)} gallery, chunk "
          f"{args.chunk_size}, best of {args.repeats}")  # fmt: skip
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    print(f"  machine: {machine['cpu']}, {machine['logical_cpus']} CPUs, numpy {np.__version__}, "
          f"load average {machine['load_average'][0]:.2f}")  # fmt: skip
    if args.rerank:
        rr = report["rerank"]
        print(
            f"  re-ranking (k1=20, k2=6, lambda=0.3) + evaluation: {rr['seconds']:.2f} s, "
            f"{rr['ratio_to_plain']:.1f} x the plain cosine distance + evaluation; process max "
            f"RSS after it {rr['process_max_rss_mib']:.0f} MiB (a dense pooled distance matrix "
            f"alone would be {rr['dense_pooled_matrix_mib']:.0f} MiB)"
        )
    print(f"  results agree with the loop to {max_diff:.1e}; JSON written to {args.output}")
    return 0


def bench_rerank(q_feat, g_feat, q_ids, g_ids, q_cams, g_cams, args) -> dict:
    """Time re-ranking plus evaluation once (it takes seconds, not milliseconds)."""
    from ranking.reranking import rerank

    start = time.perf_counter()
    distances = rerank(q_feat, g_feat)
    evaluate_ranking(distances, q_ids, g_ids, q_cams, g_cams, args.max_rank)
    seconds = time.perf_counter() - start
    pooled = len(q_feat) + len(g_feat)
    return {
        "seconds": seconds,
        "process_max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "dense_pooled_matrix_mib": pooled * pooled * 4 / 2**20,
    }


if __name__ == "__main__":
    sys.exit(main())
