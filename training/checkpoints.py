"""Find a checkpoint and load the feature network's weights from it (TensorFlow).

Used by freeze/export and evaluation to load a trained network, and by `reid train
--init-from` to start a run from another run's (or the reference's) weights.

Accepted: a run directory RUN (its RUN/checkpoints), a checkpoints folder with a `checkpoint`
state file, or a checkpoint prefix (`.../ckpt-N`, `.../model.ckpt-68577`). Two kinds load:
this project's object-based checkpoints (`tf.train.Checkpoint(model=...)`) and the reference
implementation's TF1 name-based checkpoints (slim names such as "conv1_1/weights"; its
optimizer slots, global step and classifier variables such as "ball/mean_vectors" are ignored).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from core.errors import ModelError

_FIX = "Pass a run directory, its checkpoints/ folder or a checkpoint prefix such as ckpt-1000."
_OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"


@dataclass(frozen=True)
class CheckpointSource:
    """Where the weights come from: the prefix, its kind and the run directory if any."""

    prefix: str
    kind: str  # "tf2" (this project's runs) or "tf1-reference"
    run_dir: str | None

    def run_file(self, name: str) -> dict | None:
        """A JSON file of the run directory (config.json, summary.json, ...), if present."""
        if self.run_dir is None:
            return None
        path = Path(self.run_dir) / name
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return None


def _latest_in(folder: Path) -> str | None:
    import tensorflow as tf

    return tf.train.latest_checkpoint(str(folder)) if (folder / "checkpoint").is_file() else None


def _run_dir_of(prefix: Path) -> str | None:
    """RUN for RUN/checkpoints/ckpt-N, when RUN has a config.json."""
    for candidate in (prefix.parent.parent, prefix.parent):
        if (candidate / "config.json").is_file():
            return str(candidate)
    return None


def resolve_checkpoint(path: str) -> CheckpointSource:
    """Turn what the user passed into a checkpoint prefix; a clear error when there is none."""
    import tensorflow as tf

    given = Path(path)
    prefix = None
    if given.is_dir():
        prefix = _latest_in(given / "checkpoints") or _latest_in(given)
        if prefix is None:
            raise ModelError(f"No checkpoint found in the folder {given}.", _FIX)
    elif Path(f"{given}.index").is_file():
        prefix = str(given)
    elif given.suffix in (".index",) or ".data-" in given.name:
        prefix = str(given.with_name(given.name.split(".data-")[0].removesuffix(".index")))
    if prefix is None or not Path(f"{prefix}.index").is_file():
        raise ModelError(f"No checkpoint at {path}.", _FIX)
    try:
        names = {name for name, _ in tf.train.list_variables(prefix)}
    except Exception as error:  # TensorFlow raises several types for damaged files
        raise ModelError(
            f"The checkpoint {prefix} cannot be read ({type(error).__name__}).",
            "Check the file is complete, or pick an earlier checkpoint.",
        ) from None
    kind = "tf2" if _OBJECT_GRAPH_KEY in names else "tf1-reference"
    return CheckpointSource(prefix=prefix, kind=kind, run_dir=_run_dir_of(Path(prefix)))


def load_network(source: CheckpointSource):
    """The Keras feature extractor with the checkpoint's weights (BN/dropout in inference)."""
    from training.network import create_feature_extractor

    model = create_feature_extractor()
    restore_weights(model, source)
    return model


def restore_weights(model, source: CheckpointSource) -> None:
    """Load the feature extractor's weights of `source` into `model` (any classifier is left)."""
    if source.kind == "tf2":
        _restore_object_checkpoint(model, source.prefix)
    else:
        _restore_reference_checkpoint(model, source.prefix)


def _restore_object_checkpoint(model, prefix: str) -> None:
    import tensorflow as tf

    status = tf.train.Checkpoint(model=model).restore(prefix).expect_partial()
    try:
        status.assert_existing_objects_matched()
    except AssertionError as error:
        raise ModelError(
            f"The checkpoint {prefix} does not hold this network's weights "
            f"({str(error).splitlines()[0][:200]}).",
            "Pass a checkpoint written by `reid train` or by the reference implementation.",
        ) from None


def _restore_reference_checkpoint(model, prefix: str) -> None:
    import tensorflow as tf

    from training.network import reference_variable_map

    reader = tf.train.load_checkpoint(prefix)
    shapes = reader.get_variable_to_shape_map()
    mapping = reference_variable_map(model)
    missing = [name for name in mapping if name not in shapes]
    if missing:
        raise ModelError(
            f"The checkpoint {prefix} is neither one of this project's checkpoints nor the "
            f"reference implementation's: it lacks {len(missing)} of the network's variables "
            f"(first: {missing[0]}).",
            "Pass a checkpoint of the deep_sort network (reid train, or cosine_metric_learning).",
        )
    for name, variable in mapping.items():
        if tuple(shapes[name]) != tuple(variable.shape):
            raise ModelError(
                f"The checkpoint variable {name} has shape {tuple(shapes[name])}, the network "
                f"expects {tuple(variable.shape)}.",
                "Pass a checkpoint of the 128-d deep_sort network for 128 x 64 images.",
            )
        variable.assign(reader.get_tensor(name))
