"""bench_training measures fp32 and bfloat16 training in one run, each against its own peak."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_both_precisions_against_their_peaks(small_market, tmp_path):
    pytest.importorskip("tensorflow")
    output = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench_training.py"), "--data-dir",
         str(small_market), "--batch-size", "16", "--steps", "1", "--pipeline-batches", "1",
         "--output", str(output)],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(output.read_text())
    assert set(report["precisions"]) == {"fp32", "mixed"}
    for figures in report["precisions"].values():
        assert figures["matmul_peak_gflops"] > 0
        assert 0 < figures["training_fraction_of_peak"] < 1
    assert report["mixed_over_fp32"] == pytest.approx(
        report["precisions"]["mixed"]["training_images_per_second"]
        / report["precisions"]["fp32"]["training_images_per_second"]
    )


def test_unknown_precision_is_refused(tmp_path):
    pytest.importorskip("tensorflow")
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench_training.py"), "--data-dir",
         str(tmp_path), "--precisions", "fp64"],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 2
    assert "--precisions takes a list of fp32, mixed" in result.stderr
