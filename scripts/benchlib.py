"""What every benchmark script shares: the machine's description and its fp32 matmul peak.

Scripts run as `python scripts/NAME.py`, which puts this folder on sys.path: `import benchlib`.
"""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

import numpy as np

SIMD_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16")


def _cpuinfo_field(name: str) -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(name):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def describe_machine(**versions: str) -> dict:
    """CPU model, cores, SIMD extensions, platform, load average, and any versions given."""
    flags = (_cpuinfo_field("flags") or "").split()
    return {
        "cpu": _cpuinfo_field("model name") or platform.processor() or platform.machine(),
        "logical_cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "simd": [flag for flag in SIMD_FLAGS if flag in flags],
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "load_average": os.getloadavg(),
        **versions,
    }


def matmul_peak_gflops(
    size: int = 2048, repeats: int = 10, with_tensorflow: bool = False, tf_dtype: str = "float32"
) -> dict:
    """Best GFLOP/s of a size x size matrix product: float32 numpy, and TensorFlow if asked.

    `peak` is the best of those; the physical limit the benchmarks compare against.
    `tf_dtype` is TensorFlow's operand type ("bfloat16": the limit of bf16 training).
    """
    a = np.random.default_rng(0).standard_normal((size, size), dtype=np.float32)
    b = a.T.copy()
    products = {"numpy": lambda: a @ b}
    if with_tensorflow:
        import tensorflow as tf

        ta, tb = tf.cast(a, tf_dtype), tf.cast(b, tf_dtype)
        products["tensorflow"] = lambda: tf.matmul(ta, tb).numpy()
    result = {}
    for name, product in products.items():
        product()
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            product()
            best = min(best, time.perf_counter() - start)
        result[name] = 2 * size**3 / best / 1e9
    result["peak"] = max(result.values())
    return result


DEEP_SORT_BATCH = 32


def deep_sort_image_encoder(frozen_path: Path, batch_size: int = DEEP_SORT_BATCH):
    """deep_sort's ImageEncoder, as its generate_detections runs it: the baseline to beat.

    A default Session, the graph imported with name="net", `images:0` and `features:0`
    looked up, and Session.run over fixed-size batches with a feed dict.
    """
    import tensorflow as tf

    session = tf.compat.v1.Session()
    graph_def = tf.compat.v1.GraphDef()
    graph_def.ParseFromString(Path(frozen_path).read_bytes())
    tf.import_graph_def(graph_def, name="net")
    graph = tf.compat.v1.get_default_graph()
    input_var = graph.get_tensor_by_name("images:0")
    output_var = graph.get_tensor_by_name("features:0")

    def encode(data: np.ndarray) -> np.ndarray:
        out = np.zeros((len(data), output_var.shape[-1]), np.float32)
        for start in range(0, len(data), batch_size):
            chunk = data[start : start + batch_size]
            out[start : start + len(chunk)] = session.run(output_var, {input_var: chunk})
        return out

    return encode
