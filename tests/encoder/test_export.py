"""Frozen graph, SavedModel and ONNX exports: names, contract, deep_sort's loading path, cards."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from core.errors import ModelError  # noqa: E402
from encoder.model_card import card_path, sha256_of  # noqa: E402

# The calls deep_sort's tools/generate_detections.py makes in ImageEncoder, on TF 2 (eager),
# followed by the same graph imported inside a tf.compat.v1 graph, where names get "net/".
DEEP_SORT_PATH = textwrap.dedent(
    """
    import sys
    import numpy as np
    import tensorflow as tf

    path, crops_path = sys.argv[1], sys.argv[2]
    crops = np.load(crops_path)
    session = tf.compat.v1.Session()
    with tf.compat.v1.gfile.GFile(path, "rb") as handle:
        graph_def = tf.compat.v1.GraphDef()
        graph_def.ParseFromString(handle.read())
    tf.import_graph_def(graph_def, name="net")
    input_var = tf.compat.v1.get_default_graph().get_tensor_by_name("images:0")
    output_var = tf.compat.v1.get_default_graph().get_tensor_by_name("features:0")
    assert len(output_var.get_shape()) == 2 and len(input_var.get_shape()) == 4
    assert output_var.get_shape().as_list()[-1] == 128
    assert input_var.get_shape().as_list()[1:] == [128, 64, 3]
    assert input_var.dtype == tf.uint8
    eager = session.run(output_var, feed_dict={input_var: crops})

    with tf.Graph().as_default() as graph:
        tf.import_graph_def(graph_def, name="net")
        images = graph.get_tensor_by_name("net/images:0")
        features = graph.get_tensor_by_name("net/features:0")
        with tf.compat.v1.Session(graph=graph) as graph_session:
            graph_mode = graph_session.run(features, feed_dict={images: crops})
    np.save(sys.argv[3], np.stack([eager, graph_mode]))
    """
)


def _run_python(code: str, *args) -> None:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, env=env
    )
    assert result.returncode == 0, result.stderr[-3000:]


def test_frozen_graph_loads_through_deep_sorts_code_path(
    frozen_graph, saved_model, synthetic_crops, tmp_path
):
    from encoder import Encoder

    np.save(tmp_path / "crops.npy", synthetic_crops)
    _run_python(DEEP_SORT_PATH, frozen_graph, tmp_path / "crops.npy", tmp_path / "out.npy")
    eager, graph_mode = np.load(tmp_path / "out.npy")
    expected = Encoder(saved_model).encode(synthetic_crops)
    np.testing.assert_allclose(eager, expected, atol=1e-5)
    np.testing.assert_allclose(graph_mode, expected, atol=1e-5)


@pytest.mark.skipif(
    not os.environ.get("REID_DEEP_SORT_DIR"),
    reason="set REID_DEEP_SORT_DIR to a deep_sort checkout to run its own generate_detections",
)
def test_deep_sorts_own_box_encoder_runs_the_frozen_graph(frozen_graph, saved_model):
    from encoder import Encoder

    code = textwrap.dedent(
        """
        import sys
        import numpy as np
        sys.path.insert(0, sys.argv[1] + "/tools")
        import generate_detections

        encoder = generate_detections.create_box_encoder(sys.argv[2], batch_size=32)
        frame = np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)
        boxes = np.array([[100.0, 50.0, 60.0, 150.0], [300.5, 200.2, 40.0, 90.0]])
        np.save(sys.argv[3], encoder(frame, boxes))
        """
    )
    out = Path(frozen_graph).with_name("deep_sort_features.npy")
    _run_python(code, os.environ["REID_DEEP_SORT_DIR"], frozen_graph, out)
    frame = np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    boxes = np.array([[100.0, 50.0, 60.0, 150.0], [300.5, 200.2, 40.0, 90.0]])
    expected = Encoder(saved_model).encode_boxes(frame, boxes)
    np.testing.assert_allclose(np.load(out), expected, atol=1e-5)


def test_frozen_graph_nodes_and_constants(frozen_graph):
    import tensorflow as tf

    graph_def = tf.compat.v1.GraphDef()
    graph_def.ParseFromString(Path(frozen_graph).read_bytes())
    nodes = {node.name: node for node in graph_def.node}
    images = nodes["images"]
    assert images.op == "Placeholder"
    assert tf.dtypes.as_dtype(images.attr["dtype"].type) == tf.uint8
    assert [d.size for d in images.attr["shape"].shape.dim] == [-1, 128, 64, 3]
    assert "features" in nodes
    variable_ops = {"VariableV2", "VarHandleOp", "ReadVariableOp", "Variable"}
    assert not [n.name for n in graph_def.node if n.op in variable_ops]


def test_onnx_contract(onnx_model):
    import onnx

    model = onnx.load(str(onnx_model))
    assert max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) >= 13
    (images,) = model.graph.input
    (features,) = model.graph.output
    assert images.name == "images" and features.name == "features"
    assert images.type.tensor_type.elem_type == onnx.TensorProto.UINT8
    assert features.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    dims = images.type.tensor_type.shape.dim
    assert dims[0].dim_param and [d.dim_value for d in dims[1:]] == [128, 64, 3]
    assert features.type.tensor_type.shape.dim[1].dim_value == 128


def test_saved_model_signature(saved_model):
    import tensorflow as tf

    signature = tf.saved_model.load(str(saved_model)).signatures["serving_default"]
    spec = signature.structured_input_signature[1]["images"]
    assert spec.dtype == tf.uint8 and spec.shape.as_list() == [None, 128, 64, 3]
    assert list(signature.structured_outputs) == ["features"]


@pytest.mark.parametrize("fixture", ["frozen_graph", "onnx_model", "saved_model"])
def test_model_card(fixture, request, random_checkpoint):
    path = request.getfixturevalue(fixture)
    card = json.loads(card_path(path).read_text())
    assert card["sha256"] == sha256_of(path)
    assert card["feature_dim"] == 128
    assert card["input"]["name"] == "images" and card["input"]["dtype"] == "uint8"
    assert card["input"]["shape"] == [None, 128, 64, 3]
    assert card["source_checkpoint"].endswith("ckpt-1")
    assert card["checkpoint_kind"] == "tf2"
    assert card["training"]["num_classes"] == 5
    assert card["evaluation"]["training_summary"]["validation_rank1"] == 0.2


def test_checkpoint_forms_resolve_to_the_same_prefix(random_checkpoint):
    from training.checkpoints import resolve_checkpoint

    forms = [
        random_checkpoint,
        random_checkpoint / "checkpoints",
        random_checkpoint / "checkpoints" / "ckpt-1",
        random_checkpoint / "checkpoints" / "ckpt-1.index",
    ]
    sources = [resolve_checkpoint(str(form)) for form in forms]
    assert {s.prefix for s in sources} == {str(random_checkpoint / "checkpoints" / "ckpt-1")}
    assert {s.run_dir for s in sources} == {str(random_checkpoint)}


def test_missing_or_wrong_checkpoints_give_model_errors(tmp_path):
    from encoder.export import export
    from training.checkpoints import resolve_checkpoint

    with pytest.raises(ModelError, match="No checkpoint"):
        resolve_checkpoint(str(tmp_path / "nothing"))
    with pytest.raises(ModelError, match="No checkpoint found in the folder"):
        resolve_checkpoint(str(tmp_path))
    (tmp_path / "bad.index").write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError, match="cannot be read"):
        resolve_checkpoint(str(tmp_path / "bad"))
    with pytest.raises(ModelError, match="Unknown format"):
        export(str(tmp_path), str(tmp_path / "m.x"), "tflite")


def test_checkpoint_of_another_model_is_refused(tmp_path):
    import tensorflow as tf

    from training.checkpoints import load_network, resolve_checkpoint

    tf.train.Checkpoint(model=tf.Module(), step=tf.Variable(3)).write(str(tmp_path / "ckpt-3"))
    with pytest.raises(ModelError, match="does not hold this network"):
        load_network(resolve_checkpoint(str(tmp_path / "ckpt-3")))


def test_rewriting_a_saved_model_replaces_it(random_checkpoint, tmp_path):
    from encoder.export import export

    target = tmp_path / "saved"
    export(str(random_checkpoint), str(target), "savedmodel")
    (target / "stale.txt").write_text("old")
    export(str(random_checkpoint), str(target), "savedmodel")
    assert (target / "saved_model.pb").is_file() and not (target / "stale.txt").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_exported_models_and_cards_are_readable_by_others(random_checkpoint, tmp_path):
    """Under umask 022 every file written is 0644 and every folder 0755, as a plain write."""
    import stat

    from encoder.export import export

    previous = os.umask(0o022)
    try:
        for name, model_format in (("m.onnx", "onnx"), ("m.pb", "frozen"), ("saved", "savedmodel")):
            export(str(random_checkpoint), str(tmp_path / name), model_format)
    finally:
        os.umask(previous)
    modes = {
        path.relative_to(tmp_path).as_posix(): stat.S_IMODE(path.stat().st_mode)
        for path in tmp_path.rglob("*")
    }
    assert {"m.onnx", "m.onnx.json", "m.pb", "m.pb.json", "saved", "saved.json"} <= set(modes)
    wrong = {
        p: oct(m) for p, m in modes.items() if m != (0o755 if (tmp_path / p).is_dir() else 0o644)
    }
    assert not wrong
