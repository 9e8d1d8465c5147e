"""Freeze and export a checkpoint: deep_sort's frozen graph, SavedModel and ONNX.

Every format has the model contract (`core.contract`): input `images`, uint8 BGR (None, 128, 64, 3);
output `features`, float32 (None, 128), unit rows; BGR->RGB and /255 happen inside the model,
batch norm and dropout run in inference mode.

The frozen GraphDef loads through deep_sort's `ImageEncoder` unchanged on TensorFlow 2: in eager
mode (TF 2's default) `tf.import_graph_def(graph_def, name="net")` ignores the name scope, so the
tensors are `images:0` and `features:0` as deep_sort looks them up; in a `tf.compat.v1` graph
(eager disabled) they are `net/images:0` and `net/features:0`.

ONNX goes through tf2onnx's `from_graph_def` on the frozen graph (tf2onnx 1.17 on TensorFlow 2.21
works this way), then the tensor names lose tf2onnx's ":0" suffix.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

from core.atomic import normal_mode, write_bytes_atomic
from core.contract import IMAGE_SHAPE, INPUT_NAME, OUTPUT_NAME
from core.errors import ModelError
from core.io import timestamp
from encoder.model_card import write_model_card
from training.checkpoints import CheckpointSource, load_network, resolve_checkpoint

DEFAULT_OPSET = 17
FORMATS = ("frozen", "savedmodel", "onnx")


def inference_function(model):
    """tf.function: uint8 BGR `images` -> {"features": unit float32 rows}, preprocessing inside."""
    import tensorflow as tf

    spec = tf.TensorSpec((None, *IMAGE_SHAPE), tf.uint8, name=INPUT_NAME)

    @tf.function(input_signature=[spec])
    def serve(images):
        rgb = tf.reverse(images, axis=[-1])
        scaled = tf.cast(rgb, tf.float32) * (1.0 / 255.0)
        features = model(scaled, training=False)
        return {OUTPUT_NAME: tf.identity(tf.cast(features, tf.float32), name=OUTPUT_NAME)}

    return serve


def frozen_graph_def(model):
    """GraphDef with the weights folded into constants and nodes `images` and `features`."""
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    concrete = inference_function(model).get_concrete_function()
    graph_def = convert_variables_to_constants_v2(concrete).graph.as_graph_def()
    names = {node.name: node for node in graph_def.node}
    if names.get(INPUT_NAME) is None or names[INPUT_NAME].op != "Placeholder":
        raise RuntimeError("the frozen graph lacks the `images` placeholder")
    if OUTPUT_NAME not in names:
        raise RuntimeError("the frozen graph lacks the `features` node")
    return graph_def


def onnx_model_proto(graph_def, opset: int = DEFAULT_OPSET, fold: bool = True):
    """ONNX model from the frozen graph: input `images` uint8, output `features`, batch dynamic.

    fold: fold the layout work into the weights (`folded_if_equal`); False keeps tf2onnx's
    literal rendering of the frozen graph.
    """
    import tf2onnx

    if opset < 13:
        raise ModelError(f"ONNX opset {opset} is too old.", "Use opset 13 or newer.")
    # tf2onnx calls TensorFlow 1 graph utilities that log deprecation warnings on every export.
    tf_logger = logging.getLogger("tensorflow")
    level = tf_logger.level
    tf_logger.setLevel(logging.ERROR)
    try:
        model_proto, _ = tf2onnx.convert.from_graph_def(
            graph_def,
            input_names=[f"{INPUT_NAME}:0"],
            output_names=[f"{OUTPUT_NAME}:0"],
            opset=opset,
        )
    finally:
        tf_logger.setLevel(level)
    _rename_value(model_proto.graph, f"{INPUT_NAME}:0", INPUT_NAME)
    _rename_value(model_proto.graph, f"{OUTPUT_NAME}:0", OUTPUT_NAME)
    for value in (*model_proto.graph.input, *model_proto.graph.output):
        value.type.tensor_type.shape.dim[0].dim_param = "batch"
    model_proto.producer_name = "reid-deepsort"
    return folded_if_equal(model_proto) if fold else model_proto


def folded_if_equal(model_proto):
    """The graph with its layout work folded into the weights (`encoder.onnx_fold`), kept only
    if it gives the same features as the literal graph on random crops."""
    import numpy as np
    import onnxruntime as ort

    from encoder.onnx_fold import fold_layout

    folded = type(model_proto)()
    folded.CopyFrom(model_proto)
    if not fold_layout(folded):
        return model_proto
    crops = np.random.default_rng(0).integers(0, 256, (8, *IMAGE_SHAPE), dtype=np.uint8)

    def features(proto):
        session = ort.InferenceSession(
            proto.SerializeToString(), providers=["CPUExecutionProvider"]
        )
        return session.run(None, {INPUT_NAME: crops})[0]

    same = np.abs(features(folded) - features(model_proto)).max() < 1e-5
    return folded if same else model_proto


def _rename_value(graph, old: str, new: str) -> None:
    for value in (*graph.input, *graph.output):
        if value.name == old:
            value.name = new
    for node in graph.node:
        node.input[:] = [new if name == old else name for name in node.input]
        node.output[:] = [new if name == old else name for name in node.output]


def save_saved_model(model, output: Path) -> None:
    """SavedModel with signature `serving_default`: images -> {"features"}; replaced atomically."""
    import tensorflow as tf

    module = tf.Module()
    module.model = model
    module.serve = inference_function(model)
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.", dir=output.parent))
    try:
        tf.saved_model.save(module, str(staging), signatures={"serving_default": module.serve})
        _replace_folder(staging, output)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _replace_folder(new: Path, target: Path) -> None:
    """Put `new` at `target`; an old folder there is moved aside first and removed after.

    The staging folder (0700, as `mkdtemp` makes it) gets the mode a plain mkdir would give,
    so a service running as another user can read the SavedModel.
    """
    if target.exists() and not target.is_dir():
        raise ModelError(f"{target} exists and is not a folder.", "Choose another --output.")
    os.chmod(new, normal_mode(target, directory=True))
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
    os.replace(new, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def source_record(source: CheckpointSource) -> dict:
    """What the model card says about where the weights came from."""
    record = {
        "source_checkpoint": os.path.abspath(source.prefix),
        "checkpoint_kind": source.kind,
        "exported": timestamp(),
    }
    config = source.run_file("config.json")
    if config is not None:
        record["training"] = {
            key: config[key] for key in ("config", "bn_momentum", "num_classes") if key in config
        }
    evaluation = {}
    summary = source.run_file("summary.json")
    if summary is not None:
        evaluation["training_summary"] = {
            key: summary[key]
            for key in ("steps", "loss", "validation_rank1", "chance_rank1")
            if key in summary
        }
    if source.run_dir is not None:
        for path in sorted(Path(source.run_dir).glob("evaluation*.json")):
            result = source.run_file(path.name)
            if result is not None:  # the figures, without the long per-query results
                evaluation[path.stem] = {k: v for k, v in result.items() if k != "per_query"}
    if evaluation:
        record["evaluation"] = evaluation
    return record


def export(
    checkpoint: str,
    output: str,
    model_format: str,
    opset: int = DEFAULT_OPSET,
    check_data: str | None = None,
    check_kind: str | None = None,
    int8: bool | None = None,
) -> dict:
    """Write `checkpoint` as `model_format` (frozen, savedmodel, onnx) and its model card.

    For onnx, the card also gets the fidelity of the faster engines to fp32 (`encoder.fidelity`),
    measured on crops of `check_data` (a dataset of `check_kind`, or a MOTChallenge folder) or,
    by default, of the run's own training data. It also writes OUTPUT's `.int8.onnx` twin,
    kept only within the fidelity bar (`int8`: see `record_fidelity`).
    """
    if int8 and model_format != "onnx":
        raise ModelError("--int8 applies to --format onnx.", "Export with --format onnx.")
    if model_format not in FORMATS:
        raise ModelError(f"Unknown format '{model_format}'.", f"Use one of {', '.join(FORMATS)}.")
    source = resolve_checkpoint(checkpoint)
    model = load_network(source)
    target = Path(output)
    if target.is_dir() and model_format != "savedmodel":
        raise ModelError(f"{target} is a folder.", "Give a file name such as model.pb.")
    if model_format == "savedmodel":
        save_saved_model(model, target)
    else:
        graph_def = frozen_graph_def(model)
        if model_format == "frozen":
            data = graph_def.SerializeToString()
        else:
            data = onnx_model_proto(graph_def, opset).SerializeToString()
        write_bytes_atomic(target, data)
    record = source_record(source)
    if model_format == "onnx":
        record["onnx_opset"] = opset
    card = write_model_card(target, model_format, record)
    if model_format == "onnx":
        card = record_fidelity(target, source, check_data, check_kind, int8)
    return card


def record_fidelity(target: Path, source, check_data, check_kind, int8: bool | None) -> dict:
    """Measure the faster engines' (and an int8 twin's) cosine to fp32; store it in the card.

    int8: None writes the twin when there are crops and keeps it only above the bar; True
    insists (no crops, or a twin below the bar, is an error); False writes none.
    """
    from encoder import fidelity
    from encoder.model_card import update_model_card

    if check_data:
        found = fidelity.crops_from(check_data, check_kind), str(check_data)
    else:
        found = fidelity.training_crops(source.run_file("config.json"))
    twin = target.with_name(target.stem + ".int8.onnx")
    twin.unlink(missing_ok=True)  # a twin of an earlier export does not belong to this one
    if found is None:
        note = "no crops to check on: pass --check-data (a dataset or MOT folder)"
        if int8:
            raise ModelError("--int8 needs crops to calibrate and check on.", note.capitalize())
        return update_model_card(target, fidelity={"checked": False, "why": note})
    crops, where = found
    entry = {
        **fidelity.measure(target, crops, fidelity.fast_variants(target)),
        "reference": "onnxruntime fp32",
        "crops_from": where,
        "bar": fidelity.FIDELITY_BAR,
    }
    if int8 is not False:
        try:
            entry["int8"] = fidelity.check_int8(target, crops, twin)
        except ModelError as refusal:
            if int8:
                raise
            entry["int8"] = {"passes": False, "why": refusal.problem}
        else:
            update_model_card(twin, fidelity={"int8": entry["int8"], "crops_from": where})
    return update_model_card(target, fidelity=entry)
