"""The inference `Encoder`: crops to 128-d unit features with OpenVINO, ONNX Runtime or TensorFlow.

`.onnx` files run on OpenVINO when it is installed (the fastest engine on x86 CPUs), else on
ONNX Runtime, and need nothing else: TensorFlow is imported only for `.pb` frozen graphs and
SavedModel folders, so a service or tracker host can do without it. With precision "auto" an
`.onnx` model runs the fastest form its model card vouches for: its int8 twin
(`model.int8.onnx`, written and checked by `reid export`) when the card records that the twin's
features stayed within cosine 0.999 of fp32 on real crops on this engine, else bf16 where the
CPU has bfloat16 instructions and the card vouches for it, else fp32.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from core.contract import FEATURE_DIM, IMAGE_SHAPE, INPUT_NAME, OUTPUT_NAME, PATCH_SHAPE
from core.errors import ModelError
from encoder.crops import InputError, crop_boxes
from encoder.model_card import read_model_card, sha256_of

BACKENDS = ("auto", "openvino", "onnxruntime", "tensorflow")
PRECISIONS = ("auto", "fp32", "bf16", "int8")
PRECISION_HELP = (
    "auto: the fastest form the model card's fidelity check vouches for (the .int8.onnx twin, "
    "else bf16 on OpenVINO where the CPU has it), else fp32; int8 runs the twin; bf16 also "
    "runs a frozen .pb in bfloat16 (cosine ~0.995)"
)
FIDELITY_BAR = 0.999  # min cosine to fp32 features that a faster precision must keep
_ENGINES = {"onnx": ("openvino", "onnxruntime"), "frozen": ("tensorflow",),
            "savedmodel": ("tensorflow",)}  # fmt: skip
_FIX = (
    "Pass a .onnx file, a .pb frozen graph or a SavedModel folder "
    "(written by `reid export` or `reid freeze`)."
)


def _brief(error: Exception) -> str:
    """A runtime's error message on one line, cut to a readable length."""
    return " ".join(str(error).split())[:300]


def model_format_of(path: Path) -> str:
    """'onnx', 'frozen' or 'savedmodel', judged by the file name or folder content."""
    if path.is_dir():
        if (path / "saved_model.pb").is_file():
            return "savedmodel"
        raise ModelError(f"The folder {path} is not a SavedModel (no saved_model.pb).", _FIX)
    if not path.is_file():
        raise ModelError(f"No model at {path}.", _FIX)
    if path.suffix.lower() == ".onnx":
        return "onnx"
    if path.suffix.lower() == ".pb":
        return "frozen"
    raise ModelError(f"Cannot tell the kind of model of {path} from its name.", _FIX)


class _OnnxRuntimeBackend:
    name = "onnxruntime"

    def __init__(self, path: Path, threads: int | None):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.inter_op_num_threads = 1
        # Sleeping instead of spinning between parallel sections: on a host shared with a
        # detector, a tracker or other processes, spinning threads fight for the cores
        # (int8 model, 2 threads on 2 busy cores: 175 crops/s without spinning, 133 with).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if threads:
            options.intra_op_num_threads = int(threads)
        try:
            self.session = ort.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as error:  # ONNX Runtime raises its own exception types
            raise ModelError(f"ONNX Runtime cannot load {path}: {_brief(error)}", _FIX) from None
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        if len(inputs) != 1 or inputs[0].type != "tensor(uint8)" or len(outputs) < 1:
            raise ModelError(
                f"{path} is not an appearance model: it should take one uint8 input "
                f"`images` (N, 128, 64, 3), not {[(i.name, i.type, i.shape) for i in inputs]}.",
                "Export the model with `reid export --format onnx`.",
            )
        self.input_name = inputs[0].name
        names = [o.name for o in outputs]
        self.output_name = OUTPUT_NAME if OUTPUT_NAME in names else names[0]
        self.input_shape = tuple(inputs[0].shape)
        self.output_shape = tuple(next(o.shape for o in outputs if o.name == self.output_name))

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run([self.output_name], {self.input_name: batch})[0]


def _import_tensorflow(path: Path):
    try:
        import tensorflow as tf
    except ImportError:
        raise ModelError(
            f"{path} needs TensorFlow, which is not installed here.",
            "Install TensorFlow (pip install 'reid-deepsort[train]'), or export the model "
            "with `reid export --format onnx` and load the .onnx file.",
        ) from None
    return tf


def _set_tensorflow_threads(tf, threads: int | None) -> None:
    if not threads:
        return
    try:
        tf.config.threading.set_intra_op_parallelism_threads(int(threads))
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        pass  # TensorFlow is already running: its thread pools are fixed for this process


def _read_graph_def(tf, path: Path):
    graph_def = tf.compat.v1.GraphDef()
    try:
        graph_def.ParseFromString(path.read_bytes())
    except Exception:  # protobuf's DecodeError
        raise ModelError(f"{path} is not a TensorFlow GraphDef.", _FIX) from None
    names = {node.name for node in graph_def.node}
    if not {INPUT_NAME, OUTPUT_NAME} <= names:
        raise ModelError(
            f"The graph {path} has no `images` input and `features` output.",
            "Freeze the model with `reid freeze`.",
        )
    return graph_def


class _FrozenGraphBackend:
    """A frozen GraphDef called as a pruned tf.function (no Session, no feed dictionary)."""

    name = "tensorflow"

    def __init__(self, path: Path, threads: int | None):
        tf = _import_tensorflow(path)
        _set_tensorflow_threads(tf, threads)
        graph_def = _read_graph_def(tf, path)

        def import_graph():
            tf.compat.v1.import_graph_def(graph_def, name="")

        wrapped = tf.compat.v1.wrap_function(import_graph, [])
        graph = wrapped.graph
        images, features = (
            graph.get_tensor_by_name("images:0"),
            graph.get_tensor_by_name("features:0"),
        )
        self.function = wrapped.prune(images, features)
        self.input_shape = tuple(images.shape.as_list())
        self.output_shape = tuple(features.shape.as_list())
        self._tf = tf

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return self.function(self._tf.constant(batch)).numpy()


class _FrozenGraphBfloat16Backend:
    """A frozen graph in a Session whose graph rewrite runs convolutions in bfloat16 (oneDNN).

    About twice the float32 speed on CPUs with AVX512-BF16 or AMX; features differ from float32
    by a cosine similarity of about 0.996 (measured by scripts/bench_encoder.py --bf16).
    """

    name = "tensorflow"

    def __init__(self, path: Path, threads: int | None):
        tf = _import_tensorflow(path)
        from tensorflow.core.protobuf import rewriter_config_pb2

        graph_def = _read_graph_def(tf, path)
        graph = tf.Graph()
        with graph.as_default():
            tf.compat.v1.import_graph_def(graph_def, name="")
        config = tf.compat.v1.ConfigProto()
        if threads:
            config.intra_op_parallelism_threads = int(threads)
            config.inter_op_parallelism_threads = 1
        rewrites = config.graph_options.rewrite_options
        rewrites.auto_mixed_precision_onednn_bfloat16 = rewriter_config_pb2.RewriterConfig.ON
        self.session = tf.compat.v1.Session(graph=graph, config=config)
        self.images = graph.get_tensor_by_name("images:0")
        self.features = graph.get_tensor_by_name("features:0")
        self.input_shape = tuple(self.images.shape.as_list())
        self.output_shape = tuple(self.features.shape.as_list())

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run(self.features, {self.images: batch})


class _SavedModelBackend:
    name = "tensorflow"

    def __init__(self, path: Path, threads: int | None):
        tf = _import_tensorflow(path)
        _set_tensorflow_threads(tf, threads)
        try:
            self.loaded = tf.saved_model.load(str(path))
            self.function = self.loaded.signatures["serving_default"]
        except Exception as error:  # TensorFlow raises several types for bad folders
            raise ModelError(
                f"TensorFlow cannot load the SavedModel {path}: {_brief(error)}",
                _FIX,
            ) from None
        inputs = self.function.structured_input_signature[1]
        if INPUT_NAME not in inputs or OUTPUT_NAME not in self.function.structured_outputs:
            raise ModelError(
                f"The SavedModel {path} has no signature images -> features.",
                "Export the model with `reid export --format savedmodel`.",
            )
        self.input_shape = tuple(inputs[INPUT_NAME].shape.as_list())
        self.output_shape = tuple(self.function.structured_outputs[OUTPUT_NAME].shape.as_list())
        self._tf = tf

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return self.function(**{INPUT_NAME: self._tf.constant(batch)})[OUTPUT_NAME].numpy()


_BACKENDS = {
    "onnx": _OnnxRuntimeBackend,
    "frozen": _FrozenGraphBackend,
    "savedmodel": _SavedModelBackend,
}


class Encoder:
    """Turns 128 x 64 BGR uint8 crops into unit 128-d features.

    `path`: a .onnx file (OpenVINO or ONNX Runtime), a .pb frozen graph or a SavedModel folder
    (TensorFlow). `backend`: "auto" picks the fastest installed engine for the file (OpenVINO,
    else ONNX Runtime, for .onnx); "openvino", "onnxruntime" or "tensorflow" insist.
    `batch_size`: crops per model call. `threads`: intra-op threads (None: the runtime's default).
    `precision`: "auto" (the int8 twin, else bf16 on OpenVINO, whichever the model card
    vouches for; else fp32), "fp32", "bf16" (OpenVINO; or, for a frozen graph, TensorFlow's
    oneDNN rewrite, cosine to fp32 about 0.996) or "int8" (the `.int8.onnx` twin that `reid
    export` writes beside the model, or the file itself if it is one; OpenVINO runs its float
    layers in bf16 where the CPU has it). `engine_file` is the file that runs.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        backend: str = "auto",
        batch_size: int = 32,
        threads: int | None = None,
        precision: str = "auto",
    ):
        if backend not in BACKENDS:
            raise ModelError(f"Unknown backend '{backend}'.", f"Use one of {', '.join(BACKENDS)}.")
        if int(batch_size) < 1:
            raise InputError(f"batch_size must be at least 1 (got {batch_size}).")
        if precision not in PRECISIONS:
            raise InputError(
                f"Unknown precision '{precision}'.", f"Use one of {', '.join(PRECISIONS)}."
            )
        self.path = Path(path)
        self.model_format = model_format_of(self.path)
        self.model_card = read_model_card(self.path)
        engine = self._engine(backend)
        precision = self._precision(engine, precision)
        self.engine_file = self._int8_file(required=True) if precision == "int8" else self.path
        if engine == "openvino":
            from encoder.openvino_engine import OpenVinoBackend, float_precision

            hint = float_precision() if precision == "int8" else precision
            self._run = OpenVinoBackend(self.engine_file, threads, hint)
        elif precision == "bf16":
            self._run = _FrozenGraphBfloat16Backend(self.path, threads)
        else:
            self._run = _BACKENDS[self.model_format](self.engine_file, threads)
        self.precision = precision
        self.backend = self._run.name
        self.batch_size = int(batch_size)
        self.threads = threads
        self.dim = FEATURE_DIM
        self.image_shape = IMAGE_SHAPE
        self._check_contract()
        self.sha256 = sha256_of(self.path)
        if self.model_card is not None:
            self.model_card["sha256_matches"] = self.model_card.get("sha256") == self.sha256

    def _engine(self, backend: str) -> str:
        from encoder.openvino_engine import available

        engines = _ENGINES[self.model_format]
        if backend == "auto":
            return "openvino" if "openvino" in engines and available() else engines[-1]
        if backend not in engines:
            raise ModelError(
                f"{self.path} is a {self.model_format} model, which runs on "
                f"{' or '.join(engines)}, not {backend}.",
                f"Use backend='auto' or one of {', '.join(engines)}, or export the model for "
                f"{backend}.",
            )
        return backend

    def _int8_file(self, required: bool) -> Path | None:
        """The int8 form of this model: the file itself if its card says it is one, else the
        `.int8.onnx` twin beside it whose checksum the card recorded."""
        card = self.model_card or {}
        if card.get("format") == "onnx-int8":
            return self.path
        twin = self.path.with_name(self.path.stem + ".int8.onnx")
        recorded = ((card.get("fidelity") or {}).get("int8") or {}).get("sha256")
        if twin.is_file() and (required or recorded == sha256_of(twin)):
            return twin
        if required:
            raise ModelError(
                f"{self.path} has no int8 twin ({twin.name}).",
                "Export it with `reid export --format onnx` (which writes and checks the twin "
                "when it has crops: --check-data), or use precision auto, fp32 or bf16.",
            )
        return None

    def _precision(self, engine: str, precision: str) -> str:
        if precision == "auto":
            if int8_vouched(self.model_card, engine) and self._int8_file(required=False):
                return "int8"
            return "bf16" if engine == "openvino" and bf16_vouched(self.model_card) else "fp32"
        if precision == "int8" and self.model_format != "onnx":
            raise ModelError(
                f"int8 runs .onnx models, not a {self.model_format} model.",
                "Load the .onnx export, or use precision auto, fp32 or bf16.",
            )
        if precision == "bf16" and engine == "onnxruntime":
            raise ModelError(
                "ONNX Runtime runs .onnx models in fp32 (or int8 when quantised), not bf16.",
                "Use backend='openvino' (pip install openvino==2026.4.1) for bf16, or "
                "precision='fp32'.",
            )
        if precision == "bf16" and self.model_format == "savedmodel":
            raise ModelError(
                "bf16 runs .onnx models (OpenVINO) and frozen graphs, not SavedModels.",
                "Load the .onnx or .pb export, or use precision='fp32'.",
            )
        return precision

    def _check_contract(self) -> None:
        shape_in, shape_out = self._run.input_shape, self._run.output_shape
        if tuple(shape_in[1:]) != IMAGE_SHAPE or shape_out[-1] != FEATURE_DIM:
            raise ModelError(
                f"{self.path} takes {shape_in} and gives {shape_out}; an appearance model takes "
                f"(N, 128, 64, 3) and gives (N, 128).",
                _FIX,
            )

    def __repr__(self) -> str:
        return f"Encoder({str(self.path)!r}, backend={self.backend!r}, dim={self.dim})"

    def encode(self, crops) -> np.ndarray:
        """(N, 128, 64, 3) uint8 BGR crops -> (N, 128) float32 unit rows."""
        crops = np.asarray(crops)
        if crops.ndim != 4 or crops.shape[1:] != IMAGE_SHAPE or crops.dtype != np.uint8:
            if crops.size == 0 and crops.ndim in (1, 4):
                return np.zeros((0, FEATURE_DIM), np.float32)
            raise InputError(
                f"Crops must be an N x 128 x 64 x 3 uint8 BGR array; got shape {crops.shape} "
                f"and dtype {crops.dtype}.",
                "Resize each crop to 64 wide x 128 high (encoder.crops.crop_boxes does it), "
                "stack them on a first axis (a single crop: crop[None]) and keep uint8 pixels.",
            )
        if len(crops) == 0:
            return np.zeros((0, FEATURE_DIM), np.float32)
        out = np.empty((len(crops), FEATURE_DIM), np.float32)
        for start in range(0, len(crops), self.batch_size):
            batch = np.ascontiguousarray(crops[start : start + self.batch_size])
            out[start : start + len(batch)] = self._run(batch)
        return out

    def encode_boxes(self, frame, boxes_tlwh) -> np.ndarray:
        """Features of boxes (x, y, w, h) in a BGR frame, cropped as deep_sort crops them.

        A box that gives no crop (empty after clipping) is encoded from an all-zero patch, so
        every box gets a row; `encoder.crops.crop_boxes` tells which boxes those are.
        """
        crops, _ = crop_boxes(frame, boxes_tlwh, PATCH_SHAPE)
        return self.encode(crops)


def int8_vouched(card: dict | None, engine: str) -> bool:
    """True when the card records an int8 twin that stayed within FIDELITY_BAR of fp32 when
    measured on `engine` (the export measures it on the engine `Encoder` picks)."""
    check = ((card or {}).get("fidelity") or {}).get("int8") or {}
    measured_on = str(check.get("measured_on", ""))
    passes = float(check.get("min_cosine", 0.0)) >= FIDELITY_BAR and bool(check.get("passes"))
    return passes and measured_on.split(" ")[0] == engine


def bf16_vouched(card: dict | None) -> bool:
    """True when the card's fidelity check kept bf16 features within FIDELITY_BAR of fp32 and
    this CPU has bfloat16 instructions for OpenVINO."""
    from encoder.openvino_engine import cpu_capabilities

    check = ((card or {}).get("fidelity") or {}).get("openvino-bf16") or {}
    vouched = float(check.get("min_cosine", 0.0)) >= FIDELITY_BAR
    return vouched and "BF16" in cpu_capabilities()
