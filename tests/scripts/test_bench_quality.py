"""bench_quality's table: rows grouped by budget, best first, and a resumed row's minutes marked."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _row(name, rank1, seconds, start_step=None):
    row = {
        "name": name,
        "changes": {"dropout": 0.1} if start_step else {},
        "cuhk03_rank1": rank1,
        "cuhk03_rank5": 0.7,
        "cuhk03_mAP": 0.5,
        "train_seconds": seconds,
        "images_per_second": 60.0,
        "config": {"steps": 1500, "batch_size": 128, "data_dir": "CUHK03-detected"},
    }
    if start_step is not None:
        row["train_start_step"] = start_step
    return row


def test_table_orders_rows_and_marks_resumed_minutes(tmp_path):
    pytest.importorskip("tensorflow")
    rows = [_row("default", 0.541, 3180.0, 0), _row("default-dropout0.1", 0.545, 2421.0, 425)]
    for row in rows:
        (tmp_path / f"{row['name']}.json").write_text(json.dumps(row))
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench_quality.py"), "--table",
         "--results", str(tmp_path)],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()[2:]
    assert [line.split(" | ")[0] for line in lines] == ["| default-dropout0.1", "| default"]
    assert "| 40.4 (from step 425) | 60 | dropout=0.1 |" in lines[0]
    assert "| 53.0 | 60 | (defaults) |" in lines[1]
