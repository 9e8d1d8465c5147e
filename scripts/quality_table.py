"""bench_quality's rows on disk and what is read from them: the markdown table (one line per
row, grouped by budget, with what each row's recipe changes from today's defaults as its
recorded configuration says) and the paired comparison of two rows.

A row is RESULTS/<row>.json; its per-query results, long lists that only `--compare` reads,
go compactly to RESULTS/queries/<row>.json.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import re
from pathlib import Path

from core.atomic import write_bytes_atomic, write_json_atomic
from training.resume import BEFORE_FIELD_EXISTED
from training.train import TrainConfig

CUHK03_EXTRA = "CUHK03-extra"  # trained on beside CUHK03-detected: the row is "+extra"
CUHK03_FOLDERS = ("CUHK03-detected", CUHK03_EXTRA)  # what rows train on; others are additions

# TrainConfig fields that are not the recipe: where, how long, how often to log.
NOT_RECIPE = {
    "dataset", "data_dir", "output_dir", "steps", "batch_size", "device", "seed",
    "validate_every", "checkpoint_every", "log_every", "keep_checkpoints", "strategy",
    "cpu_replicas",
}  # fmt: skip
# Values since renamed: validation "auto" used the test split of a dataset that ships one, as
# every dataset here does.
RENAMED_VALUES = {("validation", "auto"): "test-split"}


def changes_from_defaults(row: dict) -> dict:
    """What a measured row's recipe changes from today's defaults (of `reid train`, or of the
    main job for synthetic-only rows), read from its recorded configuration, so rows measured
    under earlier defaults say what they really ran."""
    config = row.get("config")
    if not config:
        return row["changes"]  # nothing trained: the row says what it is
    synthetic = row["name"].startswith("synthetic-only")
    if synthetic:
        from reid.demo import main_job_training

        defaults = dataclasses.asdict(main_job_training("", ""))
        changes = synthetic_changes(row)
    else:
        defaults = dataclasses.asdict(TrainConfig())
        changes = {}
        if added := [f for f in training_folders(config) if f not in CUHK03_FOLDERS]:
            changes["added_data"] = "+".join(added)
    for field, default in defaults.items():
        value = config.get(field, BEFORE_FIELD_EXISTED.get(field, default))
        if isinstance(value, str):
            value = RENAMED_VALUES.get((field, value), value)
        if field not in NOT_RECIPE and value != default:
            changes[field] = value
    return changes


def training_folders(config: dict) -> list[str]:
    """The names of the folders a row trained on (one, or a list when several)."""
    data = config.get("data_dir") or []
    return [Path(folder).name for folder in ([data] if isinstance(data, str) else data)]


def synthetic_changes(row: dict) -> dict:
    """What a synthetic-only row's dataset changes from the main job's ("people": how many
    train), as the row recorded it; rows from before that record ran the generator's defaults
    with the changes they asked for."""
    from reid.demo import main_job_datasets
    from synthetic.market1501 import SynthConfig

    recorded = row.get("synthetic")
    if recorded is None:
        settings = {f.name for f in dataclasses.fields(SynthConfig)}
        asked = {k: v for k, v in row["changes"].items() if k in settings}
        people = row["changes"].get("people", main_job_datasets().train_identities)
        recorded = dataclasses.asdict(SynthConfig(**asked, train_identities=people))
    main_job = dataclasses.asdict(main_job_datasets())
    changes = {
        k: v
        for k, v in recorded.items()
        if k not in ("seed", "train_identities") and v != main_job[k]
    }
    if recorded["train_identities"] != main_job["train_identities"]:
        changes = {"people": recorded["train_identities"], **changes}
    return changes


def ablation_table(results: Path) -> str:
    """A markdown table of every row in `results`, grouped by budget, best CUHK03 rank-1 first;
    a figure scored with its identity-bootstrap interval shows it in brackets."""
    rows = [json.loads(p.read_text()) for p in sorted(results.glob("*.json"))]
    lines = [
        "| row | budget | CUHK03 rank-1 | rank-5 | mAP | unseen pairs rank-1 | mAP | "
        "at 100 people | MOT17 AUC | train min | img/s | changes from the defaults |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]

    def pct(row, key):
        value, interval = row.get(key), row.get(f"{key}_interval")
        if value is None:
            return ""
        if interval is None:
            return f"{100 * value:.1f}"
        return f"{100 * value:.1f} [{100 * interval[0]:.0f}, {100 * interval[1]:.0f}]"

    def auc(row):
        value = row.get("mot17_auc")
        return "" if value is None else f"{value:.4f}"

    def minutes(row):
        if "train_seconds" not in row:
            return ""
        resumed = row.get("train_start_step")
        since = f" (from step {resumed})" if resumed else ""
        return f"{row['train_seconds'] / 60:.1f}{since}"

    def budget(row):
        config = row.get("config") or {"steps": 0, "batch_size": 0}  # a baseline: no training
        return (config["steps"], config["batch_size"])

    def images_per_second(row):
        value = row.get("images_per_second")
        return "" if value is None else f"{value:.0f}"

    for row in sorted(rows, key=lambda r: (budget(r), -(r.get("cuhk03_rank1") or 0))):
        steps, batch = budget(row)
        config = row.get("config") or {}
        seed = config.get("seed")
        extra = " +extra" if CUHK03_EXTRA in training_folders(config) else ""
        changes = ", ".join(f"{k}={v}" for k, v in changes_from_defaults(row).items())
        name = f"{row['name']}{extra}{f' (seed {seed})' if seed else ''}"
        lines.append(
            f"| {name} | {f'{steps} x {batch}' if steps else 'none'} | "
            f"{pct(row, 'cuhk03_rank1')} | "
            f"{pct(row, 'cuhk03_rank5')} | {pct(row, 'cuhk03_mAP')} | "
            f"{pct(row, 'unseen_pairs_rank1')} | {pct(row, 'unseen_pairs_mAP')} | "
            f"{pct(row, 'unseen_pairs_rank1_100ids')} | {auc(row)} | {minutes(row)} | "
            f"{images_per_second(row)} | {changes or '(defaults)'} |"
        )
    return "\n".join(lines) + "\n"


# The tests a row may score, as (JSON key prefix, what the comparison calls it).
TESTS = (("cuhk03", "CUHK03 test"), ("unseen_pairs", "unseen camera pairs"))


def _queries_path(path: Path) -> Path:
    return path.parent / "queries" / path.name


def write_row(path: Path, row: dict) -> None:
    """Write `row` to `path`, its per-query results (keys "<test>_per_query") beside it."""
    queries = {k: v for k, v in row.items() if k.endswith("_per_query")}
    write_json_atomic(path, {k: v for k, v in row.items() if k not in queries})
    if queries:
        _queries_path(path).parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(_queries_path(path), json.dumps(queries, separators=(",", ":")).encode())


def load_row(path: Path) -> dict:
    """The row at `path` with its per-query results, if it has them."""
    row = json.loads(path.read_text())
    if _queries_path(path).is_file():
        row.update(json.loads(_queries_path(path).read_text()))
    return row


def read_row(results: Path, name: str) -> dict:
    """Row `name` of `results` (its file name without .json), or the JSON file `name`."""
    path = Path(name) if name.endswith(".json") else results / f"{name}.json"
    if not path.is_file():
        raise SystemExit(f"error: no row {name} (no {path}); --table lists the rows of {results}")
    return load_row(path)


def rescore_options(row: dict) -> str:
    """The options of bench_quality.py that rescore `row` from its run."""
    config, name = row.get("config") or {}, row["name"]
    seed = f" --seed {config['seed']}" if config.get("seed") else ""
    if name.startswith("synthetic-only"):
        ablation = name.removeprefix("synthetic-only").lstrip("-")
        return f"--force --synthetic-only{f' --ablation {ablation}' if ablation else ''}{seed}"
    if not config:
        return "--baseline"
    extra = " --extra" if CUHK03_EXTRA in training_folders(config) else ""
    return f"--force --ablation {name} --steps {config['steps']}{seed}{extra}"


def _per_query(row: dict, test: str) -> dict:
    """`row`'s per-query results on `test`, or the exit naming how to rescore a row from before
    they were kept."""
    per_query = row.get(f"{test}_per_query")
    if per_query is None:
        raise SystemExit(
            f"error: row {row['name']} was scored before per-query results were kept: "
            f"rescore it from its run ({rescore_options(row)})"
        )
    return per_query


def _scored_tests(*rows: dict) -> list[tuple[str, str]]:
    """The TESTS every one of `rows` scored."""
    return [(test, title) for test, title in TESTS if all(f"{test}_rank1" in r for r in rows)]


def compare_rows(row: dict, base: dict) -> dict:
    """Per test both rows scored: how far `row` is ahead of `base` in rank-1 and mAP over the
    same queries, with paired identity-bootstrap intervals (`ranking.paired_comparison`)."""
    from ranking import paired_comparison

    comparison = {}
    for test, _ in _scored_tests(row, base):
        try:
            comparison[test] = paired_comparison(_per_query(row, test), _per_query(base, test))
        except ValueError:
            raise SystemExit(f"error: the two rows scored different {test} queries") from None
    return comparison


SEED_SUFFIX = re.compile(r"-seed(\d+)$")


def seed_suffix(seed: int) -> str:
    """What ends the name of a row trained with `seed`: nothing for seed 0, else "-seedN"."""
    return f"-seed{seed}" if seed else ""


def seed_rows(results: Path, name: str) -> dict[int, str]:
    """{training seed: row name} of every measured seed of row `name`'s recipe and budget;
    empty for a JSON path."""
    if name.endswith(".json"):
        return {}
    stem = SEED_SUFFIX.sub("", name)
    seeds = {}
    for path in results.glob(f"{glob.escape(stem)}*.json"):
        suffix = path.stem[len(stem) :]
        match = SEED_SUFFIX.fullmatch(suffix)
        if not suffix or (match and seed_suffix(int(match[1])) == suffix):
            seeds[int(match[1]) if match else 0] = path.stem
    return dict(sorted(seeds.items()))


def compare_seeds(results: Path, name: str, base_name: str) -> tuple[list[int], dict] | None:
    """How far row `name`'s recipe is ahead of `base_name`'s over the training seeds both were
    measured with (`ranking.seeded_paired_difference` of rank-1 and mAP per test): (the seeds,
    {test: {"rank1": ..., "ap": ...}}), or None with fewer than two seeds in common."""
    from ranking import seeded_paired_difference

    names, base_names = seed_rows(results, name), seed_rows(results, base_name)
    seeds = [seed for seed in names if seed in base_names]
    if len(seeds) < 2:
        return None
    rows = [load_row(results / f"{names[seed]}.json") for seed in seeds]
    bases = [load_row(results / f"{base_names[seed]}.json") for seed in seeds]
    comparison = {}
    for test, _ in _scored_tests(*rows, *bases):
        row_queries = [_per_query(r, test) for r in rows]
        base_queries = [_per_query(b, test) for b in bases]
        first = row_queries[0]
        if any(
            q["identity"] != first["identity"] or q.get("query") != first.get("query")
            for q in row_queries + base_queries
        ):
            raise SystemExit(f"error: the seeds' rows scored different {test} queries")
        comparison[test] = {
            key: seeded_paired_difference(
                [q[key] for q in row_queries], [q[key] for q in base_queries], first["identity"]
            )
            for key in ("rank1", "ap")
        }
    return seeds, comparison


def format_comparison(name: str, base_name: str, comparison: dict) -> str:
    """Lines such as 'CUHK03 test rank-1: -3.8 points [-7.1, -0.7]' for `compare_rows`."""
    lines = [f"{name} against {base_name} (95% paired bootstrap intervals over the test's people):"]
    for test, title in TESTS:
        for key, figure in (("rank1", "rank-1"), ("ap", "mAP")):
            if test in comparison:
                paired = comparison[test][key]
                low, high = paired["interval"]
                lines.append(
                    f"  {title} {figure}: {100 * paired['difference']:+.1f} points "
                    f"[{100 * low:+.1f}, {100 * high:+.1f}]"
                )
    return "\n".join(lines)


def format_seeded_comparison(seeds: list[int], comparison: dict) -> str:
    """Lines such as 'CUHK03 test rank-1: +0.1 points [-2.9, +3.2]; per seed +0.7, -0.5' for
    `compare_seeds`."""
    lines = [
        f"Over seeds {', '.join(map(str, seeds))} of both (mean of the seeds' differences; "
        "95% intervals that redraw the seeds as well as the people):"
    ]
    for test, title in TESTS:
        for key, figure in (("rank1", "rank-1"), ("ap", "mAP")):
            if test in comparison:
                seeded = comparison[test][key]
                low, high = seeded["interval"]
                per_seed = ", ".join(f"{100 * d:+.1f}" for d in seeded["per_seed"])
                lines.append(
                    f"  {title} {figure}: {100 * seeded['difference']:+.1f} points "
                    f"[{100 * low:+.1f}, {100 * high:+.1f}]; per seed {per_seed}"
                )
    return "\n".join(lines)
