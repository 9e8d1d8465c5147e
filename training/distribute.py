"""Training on several devices or machines: tf.distribute strategies and Ascend multi-card.

Global batch semantics: `--batch-size` is the batch of one optimiser step across all replicas.
Each replica gets `batch_size / replicas` images made of whole identity groups (K images of each
identity), the loss of each replica is divided by the number of replicas and the gradients are
summed, so one step equals one step on a single device with the whole batch.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import tensorflow as tf

from core.errors import ReidError
from training import npu as npu_seam

STRATEGIES = ("auto", "none", "mirrored", "multiworker")


@dataclass(frozen=True)
class Topology:
    """Where this process stands: its worker index and count, and replicas per worker."""

    strategy: tf.distribute.Strategy
    name: str
    worker_index: int = 0
    num_workers: int = 1
    npu_ranks: int = 1  # Ascend multi-card: one process per card, gradients all-reduced by npu

    @property
    def replicas(self) -> int:
        return self.strategy.num_replicas_in_sync * self.npu_ranks

    @property
    def replicas_per_worker(self) -> int:
        return self.strategy.num_replicas_in_sync // self.num_workers

    @property
    def is_chief(self) -> bool:
        return self.worker_index == 0

    @property
    def num_shards(self) -> int:
        """How many processes read disjoint parts of each global batch."""
        return self.num_workers * self.npu_ranks

    @property
    def shard_index(self) -> int:
        return self.worker_index if self.npu_ranks == 1 else npu_rank()


def split_cpu(replicas: int) -> None:
    """Split the CPU into `replicas` logical devices (must run before TensorFlow starts)."""
    if replicas <= 1:
        return
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * replicas
        )
    except RuntimeError as error:
        raise ReidError(
            "--cpu-replicas must be set before TensorFlow has started.", str(error)
        ) from error


def cluster_workers() -> tuple[int, int]:
    """(this worker's index, number of workers) from TF_CONFIG; (0, 1) without it."""
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        return 0, 1
    try:
        config = json.loads(raw)
        cluster = config["cluster"]
        task = config["task"]
    except (ValueError, KeyError, TypeError) as error:
        raise ReidError(
            "TF_CONFIG is not valid JSON with 'cluster' and 'task'.",
            'Set it like {"cluster": {"worker": ["host1:port", "host2:port"]}, '
            '"task": {"type": "worker", "index": 0}}.',
        ) from error
    workers = len(cluster.get("worker", [])) + len(cluster.get("chief", []))
    index = int(task.get("index", 0))
    if task.get("type") == "worker" and "chief" in cluster:
        index += 1
    return index, max(workers, 1)


def npu_rank() -> int:
    return int(os.environ.get("RANK_ID", "0"))


def npu_rank_size() -> int:
    return int(os.environ.get("RANK_SIZE", "1"))


def create_topology(strategy: str, device_kind: str, cpu_replicas: int = 1) -> Topology:
    """Pick the strategy for `--strategy` on this machine and cluster.

    auto: multi-worker when TF_CONFIG names several workers, mirrored when there are several
    local GPUs or `--cpu-replicas` > 1, Ascend multi-card when RANK_SIZE > 1 on NPU, else none.
    """
    if strategy not in STRATEGIES:
        raise ReidError(f"Unknown strategy '{strategy}'.", f"Use one of: {', '.join(STRATEGIES)}.")
    if device_kind == "npu":
        if strategy in ("mirrored", "multiworker"):
            raise ReidError(
                f"--strategy {strategy} does not apply to Ascend NPUs.",
                "Use --strategy auto: one process per card with RANK_ID/RANK_SIZE set, "
                "gradients all-reduced through npu_device.distribute.",
            )
        return Topology(tf.distribute.get_strategy(), "npu", npu_ranks=npu_rank_size())
    worker_index, num_workers = cluster_workers()
    if strategy == "auto":
        if num_workers > 1:
            strategy = "multiworker"
        elif (device_kind == "cpu" and cpu_replicas > 1) or (
            device_kind == "gpu" and len(tf.config.list_logical_devices("GPU")) > 1
        ):
            strategy = "mirrored"
        else:
            strategy = "none"
    if strategy == "none":
        return Topology(tf.distribute.get_strategy(), "none")
    if strategy == "mirrored":
        kind = "GPU" if device_kind == "gpu" else "CPU"
        devices = [d.name for d in tf.config.list_logical_devices(kind)]
        return Topology(tf.distribute.MirroredStrategy(devices), "mirrored")
    if num_workers == 1 and "TF_CONFIG" not in os.environ:
        raise ReidError(
            "--strategy multiworker needs TF_CONFIG describing the cluster.",
            "Launch with scripts/train_multiworker.sh, or set TF_CONFIG on every machine.",
        )
    communication = tf.distribute.experimental.CommunicationOptions(
        implementation=tf.distribute.experimental.CommunicationImplementation.RING
    )
    resolved = tf.distribute.MultiWorkerMirroredStrategy(communication_options=communication)
    return Topology(resolved, "multiworker", worker_index, num_workers)


def check_batch(batch_size: int, images_per_identity: int, topology: Topology) -> None:
    """Each replica must get whole identity groups."""
    unit = images_per_identity * topology.replicas
    if batch_size % unit:
        raise ReidError(
            f"--batch-size {batch_size} does not split into whole identity groups of "
            f"{images_per_identity} over {topology.replicas} replicas.",
            f"Use a multiple of {unit}.",
        )


def npu_broadcast_variables(variables, npu_module=None) -> None:
    """Ascend multi-card: start every card from rank 0's weights."""
    npu_module = npu_module or npu_seam.load_adapter()
    npu_module.distribute.broadcast(variables, root_rank=0)


def npu_all_reduce_gradients(gradients, npu_module=None):
    """Ascend multi-card: average the gradients over the cards."""
    npu_module = npu_module or npu_seam.load_adapter()
    return npu_module.distribute.all_reduce(gradients, "mean")
