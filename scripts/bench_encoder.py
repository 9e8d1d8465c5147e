"""Benchmark the encoder backends: crops/s at batch 1, 8, 32 and 128 on this CPU.

Measured in one run, on the same crops and the same exported model:

- each backend through `encoder.Encoder`: ONNX Runtime (.onnx), TensorFlow frozen graph
  (called as a pruned tf.function), TensorFlow SavedModel;
- the baseline, deep_sort's own way: `tf.import_graph_def(graph_def, name="net")` into the
  default graph, then `Session.run` on `features:0` feeding `images:0` in batches of 32 with a
  preallocated output array, as deep_sort's `ImageEncoder` does (reproduced here, not imported);
- the physical limit: the measured float32 matrix-multiply peak of this CPU (numpy, 2048 x 2048,
  best of several) divided by the network's 0.59 GFLOP per crop;
- optionally (`--int8`) ONNX Runtime with static int8 quantisation (QDQ, per-channel weights)
  calibrated on crops, with its cosine similarity to the fp32 features on other crops.

Crops are cut from the real MOT17 frames when REID_REALDATA_DIR (or --realdata) points at the
shared data folder, else synthetic. The weights are a checkpoint given with --checkpoint, else a
randomised network (speed does not depend on the weights; int8 fidelity does).
Each figure is the best of `--repeats` timing windows of at least `--seconds` seconds, so other
processes on a shared machine disturb it less; the load average is recorded.

Usage:
    .venv/bin/python scripts/bench_encoder.py [--int8] [--output bench_encoder.json]
"""

from __future__ import annotations

import argparse
import configparser
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchlib import (  # noqa: E402
    DEEP_SORT_BATCH,
    deep_sort_image_encoder,
    describe_machine,
    matmul_peak_gflops,
)

from core.atomic import write_json_atomic  # noqa: E402

GFLOP_PER_CROP = 0.59
BATCH_SIZES = (1, 8, 32, 128)


def real_crops(root: Path, limit: int) -> np.ndarray | None:
    """Ground-truth person crops cut from the MOT17 frames, deep_sort's way."""
    import cv2

    from encoder.crops import crop_boxes

    crops = []
    for sequence in sorted((root / "MOT17-mini" / "train").glob("*")):
        gt = sequence / "gt" / "gt.txt"
        if not gt.is_file():
            continue
        info = configparser.ConfigParser()
        info.read(sequence / "seqinfo.ini")
        rows = np.loadtxt(gt, delimiter=",", ndmin=2)
        rows = rows[(rows[:, 6] == 1) & (rows[:, 7] == 1)]  # people to consider
        for image in sorted((sequence / "img1").glob("*.jpg")):
            frame = cv2.imread(str(image), cv2.IMREAD_COLOR)
            boxes = rows[rows[:, 0] == int(image.stem), 2:6]
            patches, valid = crop_boxes(frame, boxes)
            crops.append(patches[valid])
    if not crops:
        return None
    crops = np.concatenate(crops)
    return np.random.default_rng(0).permutation(crops)[:limit]


def synthetic_crops(count: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rows = np.linspace(0, 1, 128)[None, :, None, None]
    cols = np.linspace(0, 1, 64)[None, None, :, None]
    base = rng.uniform(0, 255, (count, 1, 1, 3)) * (0.5 + 0.5 * rows) * (0.7 + 0.3 * cols)
    base[:, 40:90] = rng.uniform(0, 255, (count, 1, 1, 3))
    return np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)


def timed_window(run_batch, batch: np.ndarray, seconds: float) -> float:
    """crops/s over one window of at least `seconds` and two calls."""
    calls, start = 0, time.perf_counter()
    while calls < 2 or time.perf_counter() - start < seconds:
        run_batch(batch)
        calls += 1
    return calls * len(batch) / (time.perf_counter() - start)


def best_rates(measurements: dict, seconds: float, repeats: int, on_round=None) -> dict:
    """Best crops/s of each (run_batch, batch) over `repeats` rounds of one window each.

    Rounds visit every measurement in turn, so a burst of load from other processes lowers
    one window of each rather than every window of one backend.
    """
    for run_batch, batch in measurements.values():
        run_batch(batch)  # warm up: first calls build kernels and caches
    best = dict.fromkeys(measurements, 0.0)
    for round_index in range(repeats):
        if on_round is not None:
            on_round()
        for key, (run_batch, batch) in measurements.items():
            best[key] = max(best[key], timed_window(run_batch, batch, seconds))
        print(f"round {round_index + 1}/{repeats} done", flush=True)
    return best


def print_table(result: dict) -> None:
    sizes = result["batch_sizes"]
    machine = result["machine"]
    print(f"\n{machine['cpu']}, {machine['logical_cpus']} logical CPUs, SIMD {machine['simd']}")
    print(f"load average {machine['load_average']} -> {machine['load_average_at_end']}")
    print(f"{'crops/s':44s}" + "".join(f"{f'batch {b}':>10s}" for b in sizes) + f"{'min cos':>9s}")
    for name, figures in result["backends"].items():
        cells = "".join(
            f"{figures[str(b)]:10.1f}" if str(b) in figures else f"{'':10s}" for b in sizes
        )
        print(f"{name:44s}{cells}{result['cosine_to_deep_sort_way'][name]['min']:9.4f}")
    base = result["baseline"]
    peaks = ", ".join(f"{k} {v:.1f}" for k, v in base["matmul_peak_gflops"].items())
    print(f"{'deep_sort way (Session.run, batch 32)':44s}{base['deep_sort_crops_per_s']:>30.1f}")
    print(
        f"{'physical limit':44s}{base['limit_crops_per_s']:>30.1f}"
        f"  (matmul peak GFLOP/s: {peaks}; {GFLOP_PER_CROP} GFLOP per crop)"
    )
    for key, value in result["ratios"].items():
        print(f"  {key}: {value:.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=None, help="run or checkpoint (default: random)")
    parser.add_argument("--realdata", default=os.environ.get("REID_REALDATA_DIR"))
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=list(BATCH_SIZES))
    parser.add_argument("--threads", type=int, default=None, help="intra-op threads (default all)")
    parser.add_argument("--seconds", type=float, default=1.5, help="length of a timing window")
    parser.add_argument("--repeats", type=int, default=3, help="timing windows per figure")
    parser.add_argument("--int8", action="store_true", help="also quantise to int8 and measure")
    parser.add_argument("--bf16", action="store_true", help="also measure bf16 (oneDNN)")
    parser.add_argument("--output", default="bench_encoder.json")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

    import onnxruntime
    import openvino
    import tensorflow as tf

    from encoder import Encoder
    from encoder.export import export
    from encoder.openvino_engine import cpu_capabilities

    machine = describe_machine()
    crops = real_crops(Path(args.realdata), 400) if args.realdata else None
    crop_source = "MOT17 ground-truth boxes" if crops is not None else "synthetic"
    if crops is None or len(crops) < 2 * max(args.batch_sizes):
        crops = synthetic_crops(2 * max(args.batch_sizes) + 64, seed=0)
        crop_source = "synthetic"
    print(f"{len(crops)} crops ({crop_source}); {machine['cpu']}", flush=True)

    workdir = Path(tempfile.mkdtemp(prefix="bench_encoder_"))
    checkpoint = args.checkpoint
    if checkpoint is None:
        from training.random_run import write_random_run

        write_random_run(workdir)
        checkpoint = str(workdir)
    paths = {
        "onnx": workdir / "model.onnx",
        "frozen": workdir / "model.pb",
        "savedmodel": workdir / "saved_model",
    }
    # The card of the .onnx gets the fidelity check `reid export` makes, on these crops' source.
    check_data = None
    if crop_source != "synthetic":
        check_data = str(Path(args.realdata) / "MOT17-mini" / "train")
    for model_format, path in paths.items():
        export(checkpoint, str(path), model_format, check_data=check_data)

    baseline_encode = deep_sort_image_encoder(paths["frozen"])
    reference_features = baseline_encode(crops)

    threads_label = f"{args.threads or 'default'} threads"
    default_encoder = Encoder(paths["onnx"], threads=args.threads)
    default_name = f"Encoder defaults: {default_encoder.backend} {default_encoder.precision}"
    variants = {
        default_name: (paths["onnx"], {}),
        f"onnxruntime fp32 ({threads_label})": (paths["onnx"], {"backend": "onnxruntime"}),
        f"openvino fp32 ({threads_label})": (paths["onnx"], {"backend": "openvino"}),
        "tensorflow fp32 frozen graph (tf.function)": (paths["frozen"], {}),
        "tensorflow fp32 SavedModel": (paths["savedmodel"], {}),
    }
    if "BF16" in cpu_capabilities():
        variants[f"openvino bf16 ({threads_label})"] = (
            paths["onnx"], {"backend": "openvino", "precision": "bf16"},
        )  # fmt: skip
    extra = {"onnxruntime fp32 (1 thread)": (paths["onnx"], {"threads": 1,
                                                            "backend": "onnxruntime"})}  # fmt: skip
    reduced = {}
    if args.bf16:
        variants["tensorflow bf16 frozen graph (Session)"] = (
            paths["frozen"],
            {"precision": "bf16"},
        )
        reduced["bf16"] = {
            "method": "oneDNN auto mixed precision (bfloat16 convolutions and matmuls) "
            "enabled in the Session's graph rewrite"
        }
    if args.int8:
        from encoder.quantize import quantise_int8

        # Its own copy, calibrated on these crops (export's twin, model.int8.onnx, is left as
        # the card vouches for it).
        calibration = crops[len(crops) // 2 :][:128]
        int8_path = quantise_int8(paths["onnx"], calibration, workdir / "bench.int8.onnx")
        variants[f"onnxruntime int8 ({threads_label})"] = (int8_path, {"backend": "onnxruntime"})
        variants[f"openvino int8 ({threads_label})"] = (int8_path, {"backend": "openvino"})
        extra["onnxruntime int8 (1 thread)"] = (int8_path, {"threads": 1,
                                                            "backend": "onnxruntime"})  # fmt: skip
        reduced["int8"] = {
            "method": "ONNX Runtime static quantisation of the convolutions, QDQ, per-channel "
            "int8 weights, uint8 activations, MinMax calibration",
            "calibration_crops": len(calibration),
            "size_mb": int8_path.stat().st_size / 1e6,
        }

    measurements = {("deep_sort way", DEEP_SORT_BATCH): (baseline_encode, crops[:128])}
    fidelity: dict[str, dict] = {}
    held_out = crops[: len(crops) // 2]
    for name, (path, options) in {**variants, **extra}.items():
        sizes = args.batch_sizes if name in variants else [DEEP_SORT_BATCH]
        threads = options.get("threads", args.threads)
        settings = {k: v for k, v in options.items() if k in ("backend", "precision")}
        if path != paths["onnx"] or "backend" in settings:
            settings.setdefault("precision", "fp32")
        for batch_size in sizes:
            encoder = Encoder(path, batch_size=batch_size, threads=threads, **settings)
            measurements[(name, batch_size)] = (encoder.encode, crops[:batch_size])
        cosine = np.sum(encoder.encode(held_out) * reference_features[: len(held_out)], axis=1)
        fidelity[name] = {
            "min": float(cosine.min()),
            "mean": float(cosine.mean()),
            "crops": len(held_out),
        }

    peaks = {"numpy": 0.0, "tensorflow": 0.0}

    def measure_peak():
        measured = matmul_peak_gflops(with_tensorflow=True)
        for name in peaks:
            peaks[name] = max(peaks[name], measured[name])

    rates = best_rates(measurements, args.seconds, args.repeats, on_round=measure_peak)
    peak = max(peaks.values())
    limit = peak / GFLOP_PER_CROP
    deep_sort_rate = rates.pop(("deep_sort way", DEEP_SORT_BATCH))

    figures: dict[str, dict[str, float]] = {}
    for (name, batch_size), value in rates.items():
        figures.setdefault(name, {})[str(batch_size)] = value
    at_32 = str(DEEP_SORT_BATCH)

    def best_of(names):
        return max(names, key=lambda n: figures[n].get(at_32, 0.0))

    best_fp32 = best_of([n for n in figures if " fp32 " in n])
    best_any = best_of(list(figures))
    ratios = {
        "Encoder defaults at batch 32 / deep_sort way": figures[default_name][at_32]
        / deep_sort_rate,
        "best fp32 at batch 32 / deep_sort way": figures[best_fp32][at_32] / deep_sort_rate,
        "best fp32 at batch 32 / physical limit": figures[best_fp32][at_32] / limit,
        "best of all at batch 32 / deep_sort way": figures[best_any][at_32] / deep_sort_rate,
        "best of all at batch 32 / physical limit": figures[best_any][at_32] / limit,
    }
    machine["load_average_at_end"] = os.getloadavg()
    result = {
        "machine": machine,
        "versions": {
            "onnxruntime": onnxruntime.__version__,
            "openvino": openvino.__version__,
            "tensorflow": tf.__version__,
            "numpy": np.__version__,
        },
        "crops": {"count": len(crops), "source": crop_source},
        "checkpoint": args.checkpoint or "randomised network",
        "timing": {"seconds_per_window": args.seconds, "windows": args.repeats, "figure": "best"},
        "threads": args.threads,
        "batch_sizes": args.batch_sizes,
        "backends": figures,
        "best_fp32": best_fp32,
        "best_of_all": best_any,
        "cosine_to_deep_sort_way": fidelity,
        "reduced_precision": reduced,
        "baseline": {
            "deep_sort_crops_per_s": deep_sort_rate,
            "deep_sort_batch": DEEP_SORT_BATCH,
            "matmul_peak_gflops": peaks,
            "gflop_per_crop": GFLOP_PER_CROP,
            "limit_crops_per_s": limit,
            "limit_crops_per_s_bf16": 2 * limit,
            "limit_crops_per_s_int8": 4 * limit,
        },
        "encoder_defaults": {
            "name": default_name,
            "card_fidelity": (default_encoder.model_card or {}).get("fidelity"),
        },
        "ratios": ratios,
    }
    write_json_atomic(args.output, result)
    print_table(result)
    print(f"\nWrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
