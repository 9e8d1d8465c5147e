"""What a run directory records besides checkpoints: config.json and the metrics of each logged
step (metrics.jsonl and TensorBoard summaries)."""

from __future__ import annotations

import json
import platform
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np

from core.atomic import write_json_atomic
from core.io import timestamp
from training.resume import check_resume


def library_versions() -> dict:
    import cv2
    import keras
    import tensorflow as tf

    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "opencv": cv2.__version__,
        "platform": platform.platform(),
    }


def write_record(summary_writer, metrics, record: dict) -> None:
    """One logged step to TensorBoard and to metrics.jsonl."""
    import tensorflow as tf

    with summary_writer.as_default():
        for name, value in record.items():
            if name != "step" and np.isfinite(value):
                tf.summary.scalar(name, value, step=record["step"])
    metrics.write(json.dumps(record) + "\n")
    metrics.flush()


def config_as_json(config) -> dict:
    """A TrainConfig as config.json records it (tuples become lists), so a recorded config and a
    new one compare equal when their settings are."""
    return json.loads(json.dumps(asdict(config)))


def check_continues(output_dir: Path, config) -> None:
    """Refuse a rerun in `output_dir` whose settings (`config` a TrainConfig) are another run's
    than the one recorded there, before any of that run's checkpoints is read."""
    path = output_dir / "config.json"
    if path.exists():
        recorded = json.loads(path.read_text()).get("config", {})
        check_resume(output_dir, recorded, config_as_json(config))


def write_config(
    output_dir: Path, config, plan, num_classes: int, topology, mix, init_source
) -> None:
    """Record the run's configuration (`config` a TrainConfig); a resumed run keeps the first
    record as history."""
    record = {
        "config": config_as_json(config),
        "datasets": mix,
        "bn_momentum": config.resolved_bn_momentum(),
        "num_classes": num_classes,
        "device": asdict(plan),
        "distribution": {
            "strategy": topology.name,
            "replicas": topology.replicas,
            "workers": topology.num_workers,
        },
        "versions": library_versions(),
        "command": sys.argv,
        "started": timestamp(),
    }
    if init_source is not None:
        record["initialised_from"] = {
            "checkpoint": str(Path(init_source.prefix).resolve()),
            "kind": init_source.kind,
        }
    path = output_dir / "config.json"
    if path.exists():
        previous = json.loads(path.read_text())
        record.setdefault("initialised_from", previous.get("initialised_from"))
        record["previous_starts"] = previous.get("previous_starts", []) + [previous.get("started")]
    write_json_atomic(path, record)
