"""Distributed training: mirrored over logical CPUs and multi-worker on 127.0.0.1.

Both train, checkpoint and resume, and their first losses match single-device training on the
same seed and global batch within 2% (dropout masks differ between replicas, so not exactly).
"""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("tensorflow")

from core.errors import ReidError  # noqa: E402
from training import distribute  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
LOSS_TOLERANCE = 0.02
# The reference's recipe: its cosine-softmax loss averages over replicas exactly, and with its
# learned scale (about 0.7 at the start) the first losses hardly depend on the dropout masks,
# which differ between replicas by design. (The default loss's triplet term is batch-hard within
# each replica's share of the batch, so its value is not the single-device one.)
REFERENCE_RECIPE = ("--loss", "cosine-softmax", "--fixed-kappa", "0", "--label-smoothing", "0",
                    "--augment", "flip", "--weight-init", "reference", "--lr", "1e-3",
                    "--mixstyle", "0")  # fmt: skip


def _train_command(data_dir, output_dir, steps, *extra):
    return [
        sys.executable, "-m", "reid", "train", "--dataset", "market1501",
        "--data-dir", str(data_dir), "--output-dir", str(output_dir), "--steps", str(steps),
        "--batch-size", "16", "--device", "cpu", "--validate-every", "0",
        "--checkpoint-every", "2", "--log-every", "1", "--validation-fraction", "0.25",
        "--bn-momentum", "0.9", "--seed", "1", *REFERENCE_RECIPE, *extra,
    ]  # fmt: skip


def _run(command, env=None):
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=600, env={**os.environ, **(env or {})}
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def _losses(run_dir):
    lines = (Path(run_dir) / "metrics.jsonl").read_text().splitlines()
    return {record["step"]: record["loss"] for record in map(json.loads, lines)}


@pytest.fixture(scope="module")
def single_device_losses(small_market, tmp_path_factory):
    run = tmp_path_factory.mktemp("single") / "run"
    _run(_train_command(small_market, run, 2, "--strategy", "none"))
    return _losses(run)


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.mark.slow
def test_mirrored_on_two_logical_cpus_trains_checkpoints_and_resumes(
    small_market, tmp_path, single_device_losses
):
    run = tmp_path / "run"
    first = _run(_train_command(small_market, run, 2, "--cpu-replicas", "2"))
    assert "2 replica(s) [mirrored]" in first.stdout
    losses = _losses(run)
    for step, loss in single_device_losses.items():
        assert losses[step] == pytest.approx(loss, rel=LOSS_TOLERANCE)
    resumed = _run(_train_command(small_market, run, 3, "--cpu-replicas", "2"))
    assert "Resuming" in resumed.stdout and "step 2." in resumed.stdout
    summary = json.loads((run / "summary.json").read_text())
    assert summary["steps"] == 3 and summary["replicas"] == 2
    assert (run / "checkpoints" / "ckpt-3.index").exists()


@pytest.mark.slow
def test_mirrored_training_mixes_styles_within_each_replica(small_market, tmp_path):
    run = tmp_path / "run"
    # Argparse keeps the last value: MixStyle on, with every image mixed.
    result = _run(_train_command(small_market, run, 2, "--cpu-replicas", "2", "--mixstyle", "1"))
    assert "2 replica(s) [mirrored]" in result.stdout
    losses = _losses(run)
    assert sorted(losses) == [1, 2] and all(loss == loss for loss in losses.values())
    assert json.loads((run / "config.json").read_text())["config"]["mixstyle"] == 1.0


@pytest.mark.slow
def test_two_workers_on_loopback_train_checkpoint_and_resume(
    small_market, tmp_path, single_device_losses
):
    run = tmp_path / "run"
    ports = _free_ports(2)

    def launch(steps):
        hosts = [f"127.0.0.1:{port}" for port in ports]
        processes = []
        for index in (1, 0):
            tf_config = {"cluster": {"worker": hosts}, "task": {"type": "worker", "index": index}}
            processes.append(
                subprocess.Popen(
                    _train_command(small_market, run, steps, "--strategy", "multiworker"),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                    env={**os.environ, "TF_CONFIG": json.dumps(tf_config)},
                )  # fmt: skip
            )
        outputs = [p.communicate(timeout=600)[0] for p in processes]
        assert [p.returncode for p in processes] == [0, 0], "\n".join(outputs)
        return outputs[1]  # the chief's

    chief_output = launch(2)
    assert "2 replica(s) [multiworker]" in chief_output
    losses = _losses(run)
    for step, loss in single_device_losses.items():
        assert losses[step] == pytest.approx(loss, rel=LOSS_TOLERANCE)
    assert not list(run.glob(".worker-*")), "only the chief keeps checkpoints"
    resumed_output = launch(3)
    assert "Resuming" in resumed_output
    assert json.loads((run / "summary.json").read_text())["steps"] == 3


def test_cluster_workers_reads_tf_config(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert distribute.cluster_workers() == (0, 1)
    config = {"cluster": {"worker": ["a:1", "b:2", "c:3"]}, "task": {"type": "worker", "index": 2}}
    monkeypatch.setenv("TF_CONFIG", json.dumps(config))
    assert distribute.cluster_workers() == (2, 3)
    monkeypatch.setenv("TF_CONFIG", "{not json")
    with pytest.raises(ReidError, match="TF_CONFIG"):
        distribute.cluster_workers()


def test_multiworker_without_tf_config_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ReidError, match="TF_CONFIG"):
        distribute.create_topology("multiworker", "cpu")


def test_batch_must_split_into_identity_groups_per_replica():
    topology = distribute.Topology(distribute.tf.distribute.get_strategy(), "npu", npu_ranks=3)
    with pytest.raises(ReidError, match="multiple of 12"):
        distribute.check_batch(32, 4, topology)


def test_npu_multi_card_calls_the_adapter(monkeypatch):
    calls = []

    class Distribute:
        def broadcast(self, values, root_rank):
            calls.append(("broadcast", len(values), root_rank))

        def all_reduce(self, values, reduction):
            calls.append(("all_reduce", reduction))
            return values

    stand_in = type("npu_device", (), {"distribute": Distribute()})()
    monkeypatch.setenv("RANK_SIZE", "4")
    monkeypatch.setenv("RANK_ID", "2")
    topology = distribute.create_topology("auto", "npu")
    assert (topology.name, topology.replicas, topology.shard_index) == ("npu", 4, 2)
    distribute.npu_broadcast_variables([1, 2], npu_module=stand_in)
    assert distribute.npu_all_reduce_gradients([3], npu_module=stand_in) == [3]
    assert calls == [("broadcast", 2, 0), ("all_reduce", "mean")]


def test_train_multiworker_script_explains_bad_arguments():
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "train_multiworker.sh"), "--bogus"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 2 and "unknown argument" in result.stderr
