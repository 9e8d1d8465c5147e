"""Benchmark `reid generate-detections` against deep_sort's own generate_detections algorithm.

Measured in one run, on the same frames and detections and the same weights:

- the baseline, deep_sort's `tools/generate_detections.py` algorithm reproduced here (not
  imported): sequences from `os.listdir`, `np.loadtxt` of det.txt, a loop over every frame
  number between the first and last detection, `cv2.imread` per frame, `extract_image_patch`
  per box (random noise for an empty one), then `Session.run` of the frozen graph in batches
  of 32 (`import_graph_def(name="net")`, feed dict, preallocated output), `np.r_` per row;
- ours, `deep_sort_bridge.generate.generate_detections` on the ONNX export with the Encoder's
  defaults (OpenVINO, bf16 where the export's fidelity check allows it) and on ONNX Runtime:
  frames decoded and cropped ahead in background threads, crops of consecutive frames batched
  together, vectorised crop geometry;
- whole commands, start-up included: `reid generate-detections` with its defaults on the .onnx,
  against a process that runs deep_sort's algorithm above from a cold start (imports,
  graph loading) on the .pb, each timed from launch to exit;
- ours on the frozen graph (TensorFlow backend), to show how much of the gain is the pipeline
  and how much the runtime;
- with --int8, ours on an int8 copy of the ONNX model (`encoder.quantize`, calibrated on crops
  of the sequences' first frames), with its features' agreement with deep_sort's fp32 ones.

Frames: the real MOT17 frames when REID_REALDATA_DIR (or --mot-dir) is given, else a synthetic
sequence written to a temporary folder. Weights: --checkpoint, else a randomised network (speed
does not depend on the weights). Each method runs `--repeats` times, interleaved, and its best
time counts, so other processes on a shared machine disturb it less; load averages are recorded.
The outputs are compared too (same rows, features' cosine similarity).

Usage:
    .venv/bin/python scripts/bench_generate_detections.py [--output bench_generate_detections.json]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from benchlib import deep_sort_image_encoder, describe_machine  # noqa: E402

from core.atomic import write_json_atomic  # noqa: E402

# ---------------------------------------------------------------------------------------------
# deep_sort's algorithm, step by step as its generate_detections.py runs it


def deep_sort_patch(image: np.ndarray, box: np.ndarray, patch_shape=(128, 64)):
    """extract_image_patch: widen to the patch aspect, to corners, int, clip, crop, resize."""
    import cv2

    box = np.array(box)
    new_width = float(patch_shape[1]) / patch_shape[0] * box[3]
    box[0] -= (new_width - box[2]) / 2
    box[2] = new_width
    box[2:] += box[:2]
    box = box.astype(np.int64)
    box[:2] = np.maximum(0, box[:2])
    box[2:] = np.minimum(np.asarray(image.shape[:2][::-1]) - 1, box[2:])
    if np.any(box[:2] >= box[2:]):
        return None
    x1, y1, x2, y2 = box
    return cv2.resize(image[y1:y2, x1:x2], tuple(patch_shape[::-1]))


def deep_sort_box_encoder(frozen_path: Path):
    """create_box_encoder: deep_sort's ImageEncoder and its per-box patch loop."""
    run_in_batches = deep_sort_image_encoder(frozen_path)
    rng = np.random.default_rng(0)

    def encoder(image, boxes):
        patches = []
        for box in boxes:
            patch = deep_sort_patch(image, box)
            if patch is None:
                patch = rng.uniform(0.0, 255.0, (128, 64, 3)).astype(np.uint8)
            patches.append(patch)
        return run_in_batches(np.asarray(patches))

    return encoder


def deep_sort_generate(encoder, mot_dir: Path, output_dir: Path) -> None:
    """generate_detections: per sequence, per frame number, imread, encode, collect rows."""
    import cv2

    output_dir.mkdir(parents=True, exist_ok=True)
    for sequence in os.listdir(mot_dir):
        sequence_dir = mot_dir / sequence
        if not sequence_dir.is_dir():  # deep_sort would stop on a stray file such as synth_mot.json
            continue
        image_dir = sequence_dir / "img1"
        image_filenames = {int(Path(f).stem): image_dir / f for f in os.listdir(image_dir)}
        detections_in = np.loadtxt(sequence_dir / "det" / "det.txt", delimiter=",")
        detections_out = []
        frame_indices = detections_in[:, 0].astype(np.int64)
        for frame_idx in range(frame_indices.min(), frame_indices.max() + 1):
            rows = detections_in[frame_indices == frame_idx]
            if frame_idx not in image_filenames:
                continue
            bgr_image = cv2.imread(str(image_filenames[frame_idx]), cv2.IMREAD_COLOR)
            features = encoder(bgr_image, rows[:, 2:6].copy())
            detections_out += [np.r_[(row, f)] for row, f in zip(rows, features, strict=True)]
        np.save(output_dir / f"{sequence}.npy", np.asarray(detections_out), allow_pickle=False)


# ---------------------------------------------------------------------------------------------


def frames_and_detections(mot_dir: Path) -> dict:
    from deep_sort_bridge import mot_io

    frames = detections = 0
    for sequence in mot_io.list_sequences(mot_dir):
        shipped = mot_io.frame_files(sequence / "img1")
        det = mot_io.read_detections(sequence / "det" / "det.txt")
        on_shipped = np.isin(det[:, 0].astype(np.int64), list(shipped))
        frames += len(np.unique(det[on_shipped, 0]))
        detections += int(on_shipped.sum())
    return {"frames_with_detections": frames, "detections_on_shipped_frames": detections}


def compare_outputs(ours: Path, baseline: Path) -> dict:
    """Rows of both tools' outputs and, where they list the same boxes, feature agreement."""
    rows = {"baseline": 0, "ours": 0}
    worst, same, widths = 1.0, True, set()
    for path in sorted(baseline.glob("*.npy")):
        theirs, mine = np.load(path), np.load(ours / path.name)
        rows["baseline"] += len(theirs)
        rows["ours"] += len(mine)
        if not len(theirs):
            continue
        theirs = theirs[np.argsort(theirs[:, 0], kind="stable")]
        columns = theirs.shape[1] - 128  # deep_sort keeps 7-column rows at 7 (N x 135)
        widths.add(theirs.shape[1])
        if len(theirs) != len(mine) or not np.array_equal(theirs[:, :columns], mine[:, :columns]):
            same = False
            continue
        worst = min(worst, float((theirs[:, columns:] * mine[:, 10:]).sum(axis=1).min()))
    return {
        "rows": rows,
        "same_boxes_in_same_order": same,
        "min_feature_cosine": worst,
        "baseline_columns": sorted(widths),
    }


def calibration_crops(mot_dir: Path, count: int) -> np.ndarray:
    """Detection crops from the sequences' first frames, for int8 calibration."""
    import cv2

    from deep_sort_bridge import mot_io
    from encoder.crops import crop_boxes

    crops = []
    for sequence in mot_io.list_sequences(mot_dir):
        det = mot_io.read_detections(sequence / "det" / "det.txt")
        for frame, path in list(mot_io.frame_files(sequence / "img1").items())[:2]:
            patches, valid = crop_boxes(cv2.imread(str(path)), det[det[:, 0] == frame, 2:6])
            crops.extend(patches[valid])
    return np.asarray(crops[:count])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=None, help="run or checkpoint (default: random)")
    parser.add_argument(
        "--mot-dir",
        default=None,
        help="MOT folder (default: REID_REALDATA_DIR/MOT17-mini/train, else synthetic)",
    )
    parser.add_argument("--batch-size", type=int, default=128, help="our encoder batch size")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per method")
    parser.add_argument(
        "--int8", action="store_true", help="also ours on an int8 copy (encoder.quantize)"
    )
    parser.add_argument(
        "--bf16", action="store_true", help="also ours on the frozen graph in bfloat16"
    )
    parser.add_argument("--output", default="bench_generate_detections.json")
    parser.add_argument(
        "--deep-sort-process", nargs=3, metavar=("PB", "MOT", "OUT"), help=argparse.SUPPRESS
    )  # the baseline's own process, for whole commands
    args = parser.parse_args()
    if args.deep_sort_process:
        frozen, mot, out = (Path(p) for p in args.deep_sort_process)
        deep_sort_generate(deep_sort_box_encoder(frozen), mot, out)
        return 0
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

    import onnxruntime
    import tensorflow as tf

    from deep_sort_bridge.generate import generate_detections
    from encoder import Encoder
    from encoder.export import export

    machine = describe_machine(onnxruntime=onnxruntime.__version__, tensorflow=tf.__version__)
    workdir = Path(tempfile.mkdtemp(prefix="bench_generate_detections_"))
    mot_dir = Path(args.mot_dir) if args.mot_dir else None
    realdata = os.environ.get("REID_REALDATA_DIR")
    if mot_dir is None and realdata and (Path(realdata) / "MOT17-mini" / "train").is_dir():
        mot_dir = Path(realdata) / "MOT17-mini" / "train"
    if mot_dir is None:
        from synthetic.mot import SynthMotConfig, write_synthetic_mot

        mot_dir = workdir / "synthetic_mot"
        write_synthetic_mot(mot_dir, SynthMotConfig(frames=100), progress=False)
    workload = frames_and_detections(mot_dir)
    print(f"{mot_dir}: {workload}; {machine['cpu']}", flush=True)

    checkpoint = args.checkpoint
    if checkpoint is None:
        from training.random_run import write_random_run

        write_random_run(workdir)
        checkpoint = str(workdir)
    onnx_path, frozen_path = workdir / "model.onnx", workdir / "model.pb"
    export(checkpoint, str(onnx_path), "onnx", check_data=str(mot_dir))
    export(checkpoint, str(frozen_path), "frozen")

    defaults = Encoder(onnx_path, batch_size=args.batch_size)
    encoders = {
        f"ours_defaults_{defaults.backend}_{defaults.precision}": defaults,
        "ours_onnxruntime": Encoder(onnx_path, batch_size=args.batch_size, backend="onnxruntime"),
        "ours_tensorflow_frozen_graph": Encoder(frozen_path, batch_size=args.batch_size),
    }
    if args.bf16:
        encoders["ours_tensorflow_frozen_graph_bf16"] = Encoder(
            frozen_path, batch_size=args.batch_size, precision="bf16"
        )
    if args.int8:
        from encoder.quantize import quantise_int8

        int8_path = quantise_int8(onnx_path, calibration_crops(mot_dir, 128), workdir / "i8.onnx")
        encoders["ours_onnxruntime_int8"] = Encoder(int8_path, batch_size=args.batch_size)
    baseline_encoder = deep_sort_box_encoder(frozen_path)
    baseline_encoder(np.zeros((256, 256, 3), np.uint8), np.array([[0, 0, 64, 128]] * 32, float))
    for encoder in encoders.values():
        encoder.encode(np.zeros((args.batch_size, 128, 64, 3), np.uint8))

    def ours(encoder):
        return lambda out: generate_detections(
            encoder.encode, mot_dir, out, overwrite=True, batch_size=args.batch_size,
            progress=False, summary_path=workdir / "summary.json", log=lambda message: None,
        )  # fmt: skip

    baseline_name = "deep_sort_algorithm_tensorflow_session"
    methods = {baseline_name: lambda out: deep_sort_generate(baseline_encoder, mot_dir, out)}
    methods.update({name: ours(encoder) for name, encoder in encoders.items()})
    times: dict[str, list[float]] = {name: [] for name in methods}
    for repeat in range(args.repeats):
        for name, method in methods.items():
            start = time.perf_counter()
            method(workdir / name)
            times[name].append(time.perf_counter() - start)
            print(f"run {repeat + 1}: {name} {times[name][-1]:.2f} s", flush=True)

    commands = {
        "whole_command_deep_sort_algorithm_pb": [
            sys.executable, __file__, "--deep-sort-process", str(frozen_path), str(mot_dir),
            str(workdir / "cmd_deep_sort"),
        ],
        "whole_command_reid_generate_detections_onnx": [
            sys.executable, "-m", "reid", "generate-detections", "--model", str(onnx_path),
            "--mot_dir", str(mot_dir), "--output_dir", str(workdir / "cmd_reid"), "--overwrite",
            "--no-progress",
        ],
    }  # fmt: skip
    command_times: dict[str, list[float]] = {name: [] for name in commands}
    for repeat in range(args.repeats):
        for name, command in commands.items():
            start = time.perf_counter()
            subprocess.run(command, check=True, cwd=ROOT, capture_output=True)
            command_times[name].append(time.perf_counter() - start)
            print(f"run {repeat + 1}: {name} {command_times[name][-1]:.2f} s", flush=True)
    whole = {name: min(values) for name, values in command_times.items()}

    best = {name: min(values) for name, values in times.items()}
    baseline = best[baseline_name]
    frames = workload["frames_with_detections"]
    result = {
        "machine": {**machine, "load_average_at_end": os.getloadavg()},
        "mot_dir": str(mot_dir),
        "workload": workload,
        "batch_size": args.batch_size,
        "seconds_best": {k: round(v, 3) for k, v in best.items()},
        "seconds_all": {k: [round(v, 3) for v in vs] for k, vs in times.items()},
        "frames_per_second": {k: round(frames / v, 2) for k, v in best.items()},
        "speedup_vs_deep_sort": {k: round(baseline / v, 2) for k, v in best.items()},
        "output_agreement_with_deep_sort": {
            name: compare_outputs(workdir / name, workdir / baseline_name) for name in encoders
        },
        "whole_commands": {
            "seconds_best": {k: round(v, 3) for k, v in whole.items()},
            "seconds_all": {k: [round(v, 3) for v in vs] for k, vs in command_times.items()},
            "reid_over_deep_sort_time": round(
                whole["whole_command_reid_generate_detections_onnx"]
                / whole["whole_command_deep_sort_algorithm_pb"],
                3,
            ),
            "agreement": compare_outputs(workdir / "cmd_reid", workdir / "cmd_deep_sort"),
        },
        "encoder_defaults": {"backend": defaults.backend, "precision": defaults.precision},
    }
    write_json_atomic(args.output, result)
    print(f"\n{machine['cpu']}, {machine['logical_cpus']} logical CPUs; {workload}")
    for name in methods:
        agreement = result["output_agreement_with_deep_sort"].get(name)
        cosine = f"  min cosine {agreement['min_feature_cosine']:.4f}" if agreement else ""
        print(
            f"{name:40s} {best[name]:7.2f} s  {frames / best[name]:6.2f} frames/s  "
            f"x{baseline / best[name]:.2f}{cosine}"
        )
    for name, seconds in whole.items():
        print(f"{name:52s} {seconds:7.2f} s (start-up included)")
    share = result["whole_commands"]["reid_over_deep_sort_time"]
    print(f"reid generate-detections takes {share:.2f} of deep_sort's time")
    print(f"Written {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
