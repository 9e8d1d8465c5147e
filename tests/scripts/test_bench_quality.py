"""bench_quality's table: rows grouped by budget (the untrained baseline first), best first, and
a resumed row's minutes marked."""

import argparse
import dataclasses
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _row(name, rank1, seconds, start_step=None):
    """A measured row whose recorded configuration is today's defaults (dropout 0.1 when
    `start_step`)."""
    from training.train import TrainConfig

    config = {**dataclasses.asdict(TrainConfig()), "steps": 1500, "batch_size": 128}
    row = {
        "name": name,
        "changes": {"dropout": 0.1} if start_step else {},
        "cuhk03_rank1": rank1,
        "cuhk03_rank5": 0.7,
        "cuhk03_mAP": 0.5,
        "train_seconds": seconds,
        "images_per_second": 60.0,
        "config": {**config, "data_dir": "CUHK03-detected"},
    }
    if start_step:
        row["config"]["dropout"] = 0.1
    if start_step is not None:
        row["train_start_step"] = start_step
    return row


def _bench_quality(*arguments: str) -> str:
    """The script's standard output; it must succeed."""
    script = ROOT / "scripts" / "bench_quality.py"
    result = subprocess.run(
        [sys.executable, str(script), *arguments], capture_output=True, text=True, timeout=300,
        cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_table_orders_rows_and_marks_resumed_minutes(tmp_path):
    pytest.importorskip("tensorflow")
    rows = [_row("default", 0.541, 3180.0, 0), _row("default-dropout0.1", 0.545, 2421.0, 425)]
    rows[0]["cuhk03_rank1_interval"] = [0.4512, 0.6301]  # scored with its bootstrap interval
    baseline = {"name": "colour-histogram", "changes": {"features": "HSV"}, "cuhk03_rank1": 0.169}
    second_seed = _row("default", 0.52, 3000.0, 0)
    second_seed["config"]["seed"] = 1
    (tmp_path / "default-1500x128-seed1.json").write_text(json.dumps(second_seed))
    for row in [*rows, baseline]:
        (tmp_path / f"{row['name']}.json").write_text(json.dumps(row))
    lines = _bench_quality("--table", "--results", str(tmp_path)).splitlines()[2:]
    names = [line.split(" | ")[0] for line in lines]
    assert names == [
        "| colour-histogram",
        "| default-dropout0.1",
        "| default",
        "| default (seed 1)",
    ]
    assert lines[0].startswith("| colour-histogram | none | 16.9 | ")
    assert lines[0].endswith("|  |  | features=HSV |")
    assert "| 40.4 (from step 425) | 60 | dropout=0.1 |" in lines[1]
    assert "| 53.0 | 60 | (defaults) |" in lines[2]
    assert lines[2].startswith("| default | 1500 x 128 | 54.1 [45, 63] | ")


def test_changes_are_read_from_the_recorded_configuration():
    """A row measured under earlier defaults says what it ran, not what it was asked to change."""
    pytest.importorskip("tensorflow")
    sys.path.insert(0, str(ROOT / "scripts"))
    import quality_table

    from training.train import TrainConfig

    defaults = TrainConfig()
    row = _row("default", 0.5, 60.0)
    row["config"].update(lr=defaults.lr * 2, validation="auto")  # "auto" was the test split
    changes = quality_table.changes_from_defaults(row)
    assert changes == {"lr": defaults.lr * 2, "validation": "test-split"}
    del row["config"]["mixstyle"]  # measured before MixStyle existed: it ran without
    assert quality_table.changes_from_defaults(row)["mixstyle"] == 0.0
    from reid.demo import main_job_training

    main_job = dataclasses.asdict(main_job_training("", ""))
    from reid.demo import main_job_datasets

    main_job_people = dataclasses.asdict(main_job_datasets())
    synthetic = {"name": "synthetic-only-x", "changes": {}, "config": main_job}
    synthetic["synthetic"] = {**main_job_people, "train_identities": 400, "seed": 3}
    assert quality_table.changes_from_defaults(synthetic) == {"people": 400}
    # Rows from before datasets were recorded ran the generator's defaults and their changes.
    del synthetic["synthetic"]
    synthetic["changes"] = {"people": 400, "camera_strength": main_job_people["camera_strength"]}
    assert quality_table.changes_from_defaults(synthetic) == {"people": 400}
    synthetic["changes"] = {"loss": "triplet"}  # the generator's full-strength cameras
    synthetic["config"] = {**main_job, "loss": "triplet"}
    assert quality_table.changes_from_defaults(synthetic) == {
        "camera_strength": 1.0,
        "loss": "triplet",
    }


@pytest.mark.skipif(not os.environ.get("REID_REALDATA_DIR"), reason="REID_REALDATA_DIR not set")
def test_colour_histogram_baseline_on_real_people(tmp_path):
    """The untrained baseline scores real CUHK03 people far above chance (1 in 100 people)."""
    pytest.importorskip("tensorflow")
    _bench_quality("--baseline", "--results", str(tmp_path))
    row = json.loads((tmp_path / "colour-histogram.json").read_text())
    assert row["cuhk03_num_valid_queries"] == 451
    assert row["cuhk03_rank1"] > 0.1
    low, high = row["cuhk03_rank1_interval"]  # 100 people: a wide interval around the figure
    assert low < row["cuhk03_rank1"] < high and high - low > 0.05
    queries = json.loads((tmp_path / "queries" / "colour-histogram.json").read_text())
    per_query = queries["cuhk03_per_query"]  # what --compare pairs between rows
    assert len(per_query["identity"]) == len(per_query["rank1"]) == len(per_query["ap"]) == 451
    assert np.mean(per_query["rank1"]) == pytest.approx(row["cuhk03_rank1"])
    assert 0.005 < row["unseen_pairs_rank1"] < row["cuhk03_rank1"]


def test_rows_of_another_seed_get_their_own_files():
    pytest.importorskip("tensorflow")
    sys.path.insert(0, str(ROOT / "scripts"))
    import bench_quality

    def args(seed, extra=False):
        return argparse.Namespace(seed=seed, extra=extra, steps=1500, batch_size=128)

    assert bench_quality.row_id("default", args(0)) == "default-1500x128"
    assert bench_quality.row_id("default", args(1, extra=True)) == "default+extra-1500x128-seed1"
    assert bench_quality.row_id("synthetic-only", args(0)) == "synthetic-only-main-job"
    assert bench_quality.row_id("synthetic-only-he-init", args(2)) == "synthetic-only-he-init-seed2"


def test_the_defaults_run_under_the_row_that_spells_them_out():
    """Run with no --ablation, the defaults pool with their named row's other seeds."""
    pytest.importorskip("tensorflow")
    from training.train import TrainConfig

    sys.path.insert(0, str(ROOT / "scripts"))
    from quality_ablations import ABLATIONS, DEFAULTS_ROW

    changes = ABLATIONS[DEFAULTS_ROW]
    assert changes, "the row spells the recipe out, so it keeps its meaning"
    assert {field: getattr(TrainConfig(), field) for field in changes} == changes


def test_rank1_on_identity_subsets_scores_galleries_of_that_many_people():
    pytest.importorskip("tensorflow")
    sys.path.insert(0, str(ROOT / "scripts"))
    import bench_quality

    people = np.arange(1, 7)
    query = SimpleNamespace(identities=people, cameras=np.full(6, 3))
    gallery = SimpleNamespace(identities=people, cameras=np.full(6, 4))
    perfect = 1.0 - np.eye(6)
    assert bench_quality.rank1_on_identity_subsets(perfect, query, gallery, identities=3) == 1.0
    # Person 1's query lies nearest person 2's gallery image: wrong exactly when both are drawn.
    confused = perfect.copy()
    confused[0, 1] = 0.5
    confused[0, 0] = 0.9
    trials = 400
    got = bench_quality.rank1_on_identity_subsets(confused, query, gallery, 3, trials)
    # P(1 and 2 both among 3 of 6) = 1/5: then one query of three is wrong.
    assert got == pytest.approx(1 - (1 / 5) / 3, abs=0.02)


def _scored_row(name, hits, identities):
    row = _row(name, float(np.mean(hits)), 60.0)
    row["cuhk03_per_query"] = {"identity": identities, "rank1": hits, "ap": hits}
    return row


def test_compare_pairs_two_rows_on_the_same_queries(tmp_path):
    pytest.importorskip("tensorflow")
    sys.path.insert(0, str(ROOT / "scripts"))
    import quality_table

    identities = [person for person in range(1, 51) for _ in range(4)]
    base = [1, 0] * 100
    better = [1, 1] + base[2:]  # one more hit of 200
    for name, hits in (("better-1500x128", better), ("default-1500x128", base)):
        row = _scored_row(name, hits, identities)
        quality_table.write_row(tmp_path / f"{name}.json", row)
        assert "cuhk03_per_query" not in json.loads((tmp_path / f"{name}.json").read_text())
        assert quality_table.read_row(tmp_path, f"{name}") == row
    assert len(_bench_quality("--table", "--results", str(tmp_path)).splitlines()) == 4
    out = _bench_quality(
        "--compare", "better-1500x128", "default-1500x128", "--results", str(tmp_path)
    )
    assert out.splitlines()[0].startswith("better-1500x128 against default-1500x128")
    assert "  CUHK03 test rank-1: +0.5 points [+0.0, +1.5]" in out
    assert "unseen" not in out  # neither row scored it


def test_compare_pools_the_seeds_both_rows_were_measured_with(tmp_path):
    pytest.importorskip("tensorflow")
    sys.path.insert(0, str(ROOT / "scripts"))
    import quality_table

    identities = [person for person in range(1, 51) for _ in range(4)]
    base = [1, 0] * 100
    rows = {
        "better-1500x128": [1, 1] * 10 + base[20:],  # seed 0: 10 more hits of 200
        "better-1500x128-seed1": [0, 0] * 10 + base[20:],  # seed 1: 10 fewer
        "better-1500x128-seed2": base,  # no seed 2 of the base: not pooled
        "default-1500x128": base,
        "default-1500x128-seed1": base,
        "default-3000x128-seed1": base,  # another budget
    }
    for name, hits in rows.items():
        quality_table.write_row(tmp_path / f"{name}.json", _scored_row(name, hits, identities))
    assert quality_table.seed_rows(tmp_path, "better-1500x128-seed1") == {
        0: "better-1500x128", 1: "better-1500x128-seed1", 2: "better-1500x128-seed2"
    }  # fmt: skip
    out = _bench_quality(
        "--compare", "better-1500x128-seed1", "default-1500x128", "--results", str(tmp_path)
    )
    assert "  CUHK03 test rank-1: -5.0 points" in out  # the rows named: seed 1 against seed 0
    assert "Over seeds 0, 1 of both" in out
    pooled = re.search(r"  CUHK03 test rank-1: \+0\.0 points \[(\S+), (\S+)\]; per seed (.*)", out)
    assert pooled[3] == "+5.0, -5.0"
    assert float(pooled[1]) <= -5.0 and float(pooled[2]) >= 5.0  # both seeds' gains inside
    lone = _bench_quality(
        "--compare", "better-1500x128", "default-3000x128-seed1", "--results", str(tmp_path)
    )
    assert "Over seeds" not in lone  # no seed in common


def test_compare_names_the_rescore_a_row_needs(tmp_path):
    pytest.importorskip("tensorflow")
    (tmp_path / "old-300x128.json").write_text(json.dumps(_row("old", 0.5, 60.0)))
    (tmp_path / "new.json").write_text(json.dumps(_scored_row("new", [1, 0], [1, 2])))
    script = ROOT / "scripts" / "bench_quality.py"
    arguments = ["--compare", "old-300x128", "new", "--results", str(tmp_path)]
    result = subprocess.run(
        [sys.executable, str(script), *arguments], capture_output=True, text=True, timeout=300,
        cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "rescore it from its run (--force --ablation old --steps 1500)" in result.stderr


def test_synthetic_people_join_cuhk03_as_a_second_dataset(tmp_path, monkeypatch):
    """A row with "synthetic_people" trains on CUHK03 and the main job's synthetic set of that
    many people, written once under --runs in a folder named by how it differs."""
    pytest.importorskip("tensorflow")
    sys.path.insert(0, str(ROOT / "scripts"))
    import bench_quality

    import reid.demo
    from synthetic.market1501 import SynthConfig

    small = SynthConfig(train_identities=3, test_identities=2, cameras=2, distractors=1, junk=1)
    asked = []

    def main_job_datasets(people):
        asked.append(people)
        return dataclasses.replace(small, camera_strength=0.25)

    monkeypatch.setattr(reid.demo, "main_job_datasets", main_job_datasets)
    args = argparse.Namespace(
        data_dir=str(tmp_path / "real"), extra=False, runs=str(tmp_path / "runs"), steps=30,
        batch_size=8, seed=0,
    )  # fmt: skip
    config = bench_quality.row_config("mixstyle+synthetic200", args, tmp_path / "run")
    differs = "camera_strength0.25-cameras2-distractors1-junk1-test_identities2"
    synthetic = tmp_path / "runs" / f"market1501-synth-3-{differs}"
    assert asked == [200]
    assert config.sources() == [
        ("market1501", str(tmp_path / "real" / "CUHK03-detected")),
        ("market1501", str(synthetic)),
    ]
    assert len(list((synthetic / "bounding_box_train").glob("*.jpg"))) == 3 * 2 * 4
    assert (config.mixstyle, config.lr, config.steps) == (0.5, 3e-3, 30)


def test_table_names_the_datasets_a_row_added():
    """+extra marks CUHK03-extra's people; any other added folder is a change of the row."""
    pytest.importorskip("tensorflow")
    sys.path.insert(0, str(ROOT / "scripts"))
    import quality_table

    row = _row("mixed", 0.5, 60.0)
    row["config"]["data_dir"] = ["/data/CUHK03-detected", "runs/quality/market1501-synth-200"]
    assert quality_table.changes_from_defaults(row) == {"added_data": "market1501-synth-200"}
    assert quality_table.rescore_options(row) == "--force --ablation mixed --steps 1500"
    row["config"]["data_dir"] = ["/data/CUHK03-detected", "/data/CUHK03-extra"]
    assert quality_table.changes_from_defaults(row) == {}
    assert quality_table.rescore_options(row).endswith("--steps 1500 --extra")


def test_a_row_that_starts_from_the_main_job_needs_its_run(tmp_path):
    """A row whose "init_from" is "main-job" starts from the main job's run of its seed under
    --runs; until `--synthetic-only` has trained that run, the row is refused with the command."""
    pytest.importorskip("tensorflow")
    sys.path.insert(0, str(ROOT / "scripts"))
    import bench_quality

    args = argparse.Namespace(
        data_dir=str(tmp_path / "real"), extra=False, runs=str(tmp_path / "runs"), steps=30,
        batch_size=8, seed=2,
    )  # fmt: skip
    with pytest.raises(SystemExit, match="--synthetic-only --seed 2"):
        bench_quality.row_config("mixstyle-from-main-job", args, tmp_path / "run")
    main_job = tmp_path / "runs" / "synthetic-only-main-job-seed2"
    main_job.mkdir(parents=True)
    (main_job / "summary.json").write_text("{}")
    config = bench_quality.row_config("mixstyle-from-main-job", args, tmp_path / "run")
    assert (config.init_from, config.mixstyle, config.seed) == (str(main_job), 0.5, 2)
