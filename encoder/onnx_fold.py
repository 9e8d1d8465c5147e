"""Fold the exported ONNX graph's layout work into the weights it feeds.

tf2onnx renders deep_sort's preprocessing and flatten literally: a transpose, a channel
reversal (ReverseSequence, which engines run with slow reference kernels), a scaling by
1/255 and a transpose back before the first convolution, and a transpose to NHWC before the
dense layer. All of it is linear re-indexing, so it moves exactly into the weights:
  * the first convolution reads the uint8 pixels (cast, NHWC -> NCHW) with its input channels
    reversed and multiplied by 1/255 (padding stays zero either way);
  * the dense layer reads the NCHW activations flattened as they are, with its rows permuted
    to the NHWC order the TensorFlow graph flattens in.
The result computes the same function (to float rounding) with fewer, cheaper nodes. A graph
that does not have this shape is returned unchanged.
"""

from __future__ import annotations

import numpy as np

from core.contract import INPUT_NAME


def _consumers(graph, name: str) -> list:
    return [node for node in graph.node if name in node.input]


def _initializer(graph, name: str):
    return next((init for init in graph.initializer if init.name == name), None)


def _single(nodes: list, op_type: str):
    return nodes[0] if len(nodes) == 1 and nodes[0].op_type == op_type else None


def _fold_input(graph) -> bool:
    """Input -> Transpose -> ReverseSequence -> Cast -> Mul(c) -> Transpose -> Conv, folded."""
    from onnx import helper, numpy_helper

    first = next((n for n in _consumers(graph, INPUT_NAME) if n.op_type == "Transpose"), None)
    reverse = first and _single(
        [n for n in _consumers(graph, first.output[0]) if n.op_type != "Shape"],
        "ReverseSequence",
    )
    cast = reverse and _single(_consumers(graph, reverse.output[0]), "Cast")
    scale = cast and _single(_consumers(graph, cast.output[0]), "Mul")
    back = scale and _single(_consumers(graph, scale.output[0]), "Transpose")
    conv = back and _single(_consumers(graph, back.output[0]), "Conv")
    if conv is None:
        return False
    perms = [list(helper.get_attribute_value(a)) for n in (first, back) for a in n.attribute]
    factor = _initializer(graph, scale.input[1])
    weights = _initializer(graph, conv.input[1])
    if perms != [[3, 1, 2, 0], [3, 0, 1, 2]] or factor is None or weights is None:
        return False
    if len(_consumers(graph, weights.name)) != 1:
        return False
    kernel = numpy_helper.to_array(weights)[:, ::-1] * numpy_helper.to_array(factor)
    weights.CopyFrom(numpy_helper.from_array(kernel.astype(np.float32), weights.name))
    cast.input[0] = INPUT_NAME
    back.input[0] = cast.output[0]
    back.ClearField("attribute")
    back.attribute.append(helper.make_attribute("perm", [0, 3, 1, 2]))
    for node in (first, reverse, scale):
        graph.node.remove(node)
    return True


def _fold_flatten(model_proto) -> bool:
    """Transpose(NCHW -> NHWC) -> Reshape(N, -1) -> MatMul, folded into the MatMul's rows."""
    from onnx import helper, numpy_helper

    graph = model_proto.graph
    for transpose in [n for n in graph.node if n.op_type == "Transpose"]:
        perm = [list(helper.get_attribute_value(a)) for a in transpose.attribute]
        reshape = _single(_consumers(graph, transpose.output[0]), "Reshape")
        matmul = reshape and _single(_consumers(graph, reshape.output[0]), "MatMul")
        if perm != [[0, 2, 3, 1]] or matmul is None:
            continue
        weights = _initializer(graph, matmul.input[1])
        shape = _activation_shape(model_proto, transpose.input[0])
        if weights is None or shape is None or len(_consumers(graph, weights.name)) != 1:
            continue
        channels, height, width = shape
        rows = numpy_helper.to_array(weights)
        if rows.shape[0] != channels * height * width:
            continue
        nchw_rows = rows.reshape(height, width, channels, -1).transpose(2, 0, 1, 3)
        weights.CopyFrom(
            numpy_helper.from_array(nchw_rows.reshape(rows.shape).copy(), weights.name)
        )
        target = f"{reshape.name}/flat_shape"
        graph.initializer.append(
            numpy_helper.from_array(np.array([0, rows.shape[0]], np.int64), target)
        )
        reshape.input[:] = [transpose.input[0], target]
        graph.node.remove(transpose)
        return True
    return False


def _activation_shape(model_proto, name: str) -> tuple[int, int, int] | None:
    """(C, H, W) of an NCHW activation, from ONNX shape inference."""
    from onnx import shape_inference

    inferred = shape_inference.infer_shapes(model_proto).graph
    for value in inferred.value_info:
        if value.name == name:
            dims = [d.dim_value for d in value.type.tensor_type.shape.dim]
            return tuple(dims[1:]) if len(dims) == 4 and all(dims[1:]) else None
    return None


def _drop_unused(graph) -> None:
    """Remove nodes and initializers nothing reads any more (the old shape arithmetic)."""
    outputs = {value.name for value in graph.output}
    while True:
        read = {name for node in graph.node for name in node.input} | outputs
        dead = [n for n in graph.node if not any(o in read for o in n.output)]
        if not dead:
            break
        for node in dead:
            graph.node.remove(node)
    read = {name for node in graph.node for name in node.input}
    for init in [i for i in graph.initializer if i.name not in read]:
        graph.initializer.remove(init)


def fold_layout(model_proto) -> list[str]:
    """Fold the input preprocessing and the flatten transpose in place; return what was folded."""
    folded = []
    if _fold_input(model_proto.graph):
        folded.append("input channel reversal and scaling into the first convolution")
    if _fold_flatten(model_proto):
        folded.append("flatten transpose into the dense layer")
    _drop_unused(model_proto.graph)
    return folded
