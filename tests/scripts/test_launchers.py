"""The shell launchers translate their reference-style flags into the right `reid` command."""

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run_train_npu(tmp_path, *arguments, ascend_home=None):
    recorder = tmp_path / "reid"
    recorder.write_text('#!/usr/bin/env bash\nprintf "%s\\n" "$@" > "$RECORD"\n')
    recorder.chmod(0o755)
    env = {
        **os.environ,
        "REID": str(recorder),
        "RECORD": str(tmp_path / "args.txt"),
        "ASCEND_HOME": str(ascend_home or tmp_path / "no-ascend"),
    }
    return subprocess.run(
        ["bash", str(ROOT / "scripts" / "train_npu.sh"), *arguments],
        capture_output=True, text=True, env=env, timeout=30,
    )  # fmt: skip


def test_train_npu_passes_the_reference_interface_to_reid_train(tmp_path):
    result = _run_train_npu(
        tmp_path, "--data_path=/data/market", "--batch_size=64", "--steps=10",
        "--output_dir=runs/x", "--precision_mode=allow_mix_precision",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    arguments = (tmp_path / "args.txt").read_text().split()
    assert arguments[:5] == ["train", "--device", "npu", "--precision", "mixed"]
    pairs = dict(zip(arguments[5::2], arguments[6::2], strict=True))
    assert pairs == {
        "--dataset": "market1501",
        "--data-dir": "/data/market",
        "--batch-size": "64",
        "--steps": "10",
        "--output-dir": "runs/x",
    }


def test_train_npu_defaults_match_the_reference(tmp_path):
    assert _run_train_npu(tmp_path, "--data_path=/d").returncode == 0
    arguments = (tmp_path / "args.txt").read_text().split()
    assert "128" in arguments and "100000" in arguments


def test_train_npu_sources_the_ascend_environment_when_present(tmp_path):
    toolkit = tmp_path / "ascend" / "ascend-toolkit"
    toolkit.mkdir(parents=True)
    (toolkit / "set_env.sh").write_text("export REID_TEST_SOURCED=1\n")
    result = _run_train_npu(tmp_path, "--data_path=/d", ascend_home=tmp_path / "ascend")
    assert result.returncode == 0 and "Sourced" in result.stdout


def test_train_npu_explains_missing_or_bad_arguments(tmp_path):
    missing = _run_train_npu(tmp_path)
    assert missing.returncode == 2 and "--data_path" in missing.stderr
    bad = _run_train_npu(tmp_path, "--data_path=/d", "--precision_mode=fast")
    assert bad.returncode == 2 and "precision_mode" in bad.stderr
