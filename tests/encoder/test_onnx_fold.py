"""Folding the ONNX graph's layout work into its weights keeps the function and drops the nodes."""

import numpy as np
import pytest

pytest.importorskip("tensorflow")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from core.contract import INPUT_NAME  # noqa: E402
from encoder.onnx_fold import fold_layout  # noqa: E402


def _features(proto, crops):
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {INPUT_NAME: crops})[0]


@pytest.fixture(scope="module")
def literal_graph(random_checkpoint):
    from encoder.export import frozen_graph_def, onnx_model_proto
    from training.checkpoints import load_network, resolve_checkpoint

    graph_def = frozen_graph_def(load_network(resolve_checkpoint(str(random_checkpoint))))
    return onnx_model_proto(graph_def, fold=False)


def test_folded_graph_computes_the_literal_one(literal_graph, synthetic_crops):
    folded = onnx.ModelProto()
    folded.CopyFrom(literal_graph)
    assert len(fold_layout(folded)) == 2
    onnx.checker.check_model(folded)
    ops = [node.op_type for node in folded.graph.node]
    assert "ReverseSequence" not in ops and ops.count("Transpose") == 1
    assert len(ops) < len(literal_graph.graph.node) - 10
    expected = _features(literal_graph, synthetic_crops)
    np.testing.assert_allclose(_features(folded, synthetic_crops), expected, atol=1e-5)
    # The reversal really moved into the weights: mirrored channels give other features.
    swapped = np.ascontiguousarray(synthetic_crops[..., ::-1])
    assert np.abs(_features(folded, swapped) - expected).max() > 1e-3


def test_export_writes_the_folded_graph(onnx_model):
    ops = [node.op_type for node in onnx.load(str(onnx_model)).graph.node]
    assert "ReverseSequence" not in ops and ops.count("Transpose") == 1


def test_a_graph_of_another_shape_is_left_unchanged():
    from onnx import TensorProto, helper, numpy_helper

    weights = numpy_helper.from_array(np.ones((4, 3, 1, 1), np.float32), "w")
    graph = helper.make_graph(
        [
            helper.make_node("Cast", [INPUT_NAME], ["x"], to=TensorProto.FLOAT),
            helper.make_node("Transpose", ["x"], ["nchw"], perm=[0, 3, 1, 2]),
            helper.make_node("Conv", ["nchw", "w"], ["features"]),
        ],
        "plain",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.UINT8, [None, 8, 8, 3])],
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, None)],
        [weights],
    )
    model = helper.make_model(graph)
    before = model.SerializeToString()
    assert fold_layout(model) == []
    assert model.SerializeToString() == before
