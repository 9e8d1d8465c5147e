"""OpenVINO for `.onnx` models on CPUs: fp32, or bf16 on CPUs with bfloat16 dot products.

No TensorFlow. The model is compiled once per process for the CPU; the compiled blob is cached
(`REID_CACHE_DIR`, default `~/.cache/reid-deepsort/openvino`), so later start-ups skip the
compilation. An int8 (QDQ) `.onnx` from `reid export --int8` runs as int8 whatever the hint.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

from core.contract import OUTPUT_NAME
from core.errors import ModelError

PRECISION_HINTS = {"fp32": "f32", "bf16": "bf16"}


def cache_dir() -> Path | None:
    """Where compiled models are kept between runs; None when that folder cannot be written
    (a read-only home), and then every start-up compiles afresh."""
    root = os.environ.get("REID_CACHE_DIR") or Path.home() / ".cache" / "reid-deepsort"
    folder = Path(root) / "openvino"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return folder if os.access(folder, os.W_OK) else None


@lru_cache(maxsize=1)
def available() -> bool:
    """True when the `openvino` package imports."""
    try:
        import openvino  # noqa: F401
    except ImportError:
        return False
    return True


@lru_cache(maxsize=1)
def cpu_capabilities() -> tuple[str, ...]:
    """OpenVINO's optimisation capabilities of this CPU ("FP32", "BF16", "INT8", ...)."""
    if not available():
        return ()
    import openvino as ov

    return tuple(ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES"))


def float_precision() -> str:
    """The fastest float precision this CPU gives OpenVINO: bf16 where it has it, else fp32
    (what an int8 model's unquantised layers run in)."""
    return "bf16" if "BF16" in cpu_capabilities() else "fp32"


class OpenVinoBackend:
    """An `.onnx` appearance model compiled by OpenVINO for this CPU."""

    name = "openvino"

    def __init__(self, path: Path, threads: int | None, precision: str = "fp32"):
        if not available():
            raise ModelError(
                "The OpenVINO engine is not installed.",
                "pip install openvino==2026.4.1, or pass backend='onnxruntime'.",
            )
        if precision == "bf16" and "BF16" not in cpu_capabilities():
            raise ModelError(
                "This CPU has no bfloat16 instructions for OpenVINO's bf16 precision.",
                "Use precision fp32 (or auto, which picks what the CPU has).",
            )
        import openvino as ov

        core = ov.Core()
        base = {"INFERENCE_PRECISION_HINT": PRECISION_HINTS[precision]}
        cache = cache_dir()
        if cache is not None:
            base["CACHE_DIR"] = str(cache)
        if threads:
            base["INFERENCE_NUM_THREADS"] = int(threads)
        try:
            model = core.read_model(str(path))
            # Small batches run as one request on every core; larger ones are split over the
            # CPU's streams (one per core here), which keeps the cores busier than one request
            # that has to synchronise its threads after every layer.
            self.single = core.compile_model(model, "CPU", {**base, "PERFORMANCE_HINT": "LATENCY"})
            self.streams = core.compile_model(
                model, "CPU", {**base, "PERFORMANCE_HINT": "THROUGHPUT"}
            )
        except Exception as error:  # OpenVINO raises RuntimeError subclasses of its own
            message = " ".join(str(error).split())[:300]
            raise ModelError(
                f"OpenVINO cannot load {path}: {message}", "Re-export with `reid export`."
            ) from None
        names = [o.get_any_name() for o in self.single.outputs]
        output_name = OUTPUT_NAME if OUTPUT_NAME in names else names[0]
        self.output = self.single.output(output_name)
        self.request = self.single.create_infer_request()
        self.parallel = int(self.streams.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
        self.queue = ov.AsyncInferQueue(self.streams, self.parallel)
        self.queue.set_callback(self._collect)
        self._parts: dict[int, np.ndarray] = {}
        self._lock = threading.Lock()  # one batch at a time: requests and parts are shared
        self._stream_output = self.streams.output(output_name)
        shape_in = self.single.inputs[0].get_partial_shape()
        self.input_shape = tuple(d.get_length() if d.is_static else None for d in shape_in)
        shape_out = self.output.get_partial_shape()
        self.output_shape = tuple(d.get_length() if d.is_static else None for d in shape_out)
        self.precision = precision

    def _collect(self, request, index: int) -> None:
        self._parts[index] = np.array(request.get_tensor(self._stream_output).data, copy=True)

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        with self._lock:
            if self.parallel < 2 or len(batch) < 4 * self.parallel:
                return np.array(self.request.infer({0: batch})[self.output], copy=True)
            parts = np.array_split(batch, self.parallel)
            self._parts = {}
            for index, part in enumerate(parts):
                self.queue.start_async({0: np.ascontiguousarray(part)}, index)
            self.queue.wait_all()
            return np.concatenate([self._parts[i] for i in range(len(parts))])
