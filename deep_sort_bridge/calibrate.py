"""`reid calibrate`: fit the tracker's `max_cosine_distance` to a model on sequences with gt.

The model encodes every scored ground-truth box (pedestrians with the consider flag, visible
enough) of every sequence, cut from its frame as generate-detections cuts detections; the
distances of each box to the nearest feature of its own and of every other identity seen in
the `max_age` frames before it (`ranking.gates`) are the same- and different-identity
distributions; the recommended gate comes from them. The result goes to calibration.json and
calibration.png, and into the model card, where `reid track` and the drop-in encoders find it.
"""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from core.atomic import write_bytes_atomic, write_json_atomic
from core.errors import DatasetError, ReidError
from deep_sort_bridge import mot_io
from deep_sort_bridge.frames import prefetch, read_frame
from deep_sort_bridge.metrics import scored_groundtruth
from ranking.gates import (
    GATE_METHODS,
    candidate_gates,
    nearest_track_distances,
    pass_rate,
    recommend_gate,
)

DEEP_SORT_GATE = 0.2
METHODS = ("tracking", *GATE_METHODS)
HISTOGRAM_BINS = 50


def groundtruth_features(sequence_dir: Path, encode_boxes, min_visibility: float, progress: bool):
    """(frames, identities, features) of the scored, visible gt boxes of one sequence."""
    gt_path = sequence_dir / "gt" / "gt.txt"
    if not gt_path.is_file():
        return None
    gt = scored_groundtruth(mot_io.read_groundtruth(gt_path))
    gt = gt[(gt[:, 8] >= min_visibility) & (gt[:, 4] > 1) & (gt[:, 5] > 1)]
    files = mot_io.frame_files(mot_io.read_seqinfo(sequence_dir).image_dir)
    gt = gt[np.isin(gt[:, 0].astype(int), list(files))]
    frames = np.unique(gt[:, 0].astype(int)).tolist()
    chunks, rows = [], []
    bar = tqdm(total=len(frames), desc=f"calibrate {sequence_dir.name}", disable=not progress)
    try:
        for frame, image in prefetch(frames, lambda f: read_frame(files[f])):
            bar.update(1)
            if image is None:
                continue
            mine = np.flatnonzero(gt[:, 0] == frame)
            chunks.append(encode_boxes(image, gt[mine, 2:6]))
            rows.append(mine)
    finally:
        bar.close()
    if not chunks:
        return None
    index = np.concatenate(rows)
    features = np.concatenate(chunks)
    return gt[index, 0].astype(np.int64), gt[index, 1].astype(np.int64), features


def groundtruth_separation(
    mot_dir: Path, encode_boxes, window: int = 30, min_visibility: float = 0.25
) -> dict:
    """Separation AUC (`ranking.separation`) of gt boxes up to `window` frames apart.

    mot_dir: MOTChallenge folder with gt; encode_boxes(frame, boxes_tlwh) -> unit features;
    window: frames apart a tracker must still match (deep_sort's max_age is 30);
    min_visibility: gt boxes less visible than this are left out.
    Returns the AUC and how many same- and different-identity pairs it was measured on.
    """
    from ranking import cosine_distance
    from ranking.separation import separation_auc, window_pairs

    same, different = [], []
    for sequence in mot_io.list_sequences(mot_dir):
        found = groundtruth_features(sequence, encode_boxes, min_visibility, progress=False)
        if found is None:
            continue
        frames, identities, features = found
        distance = cosine_distance(features, features)
        s, d = window_pairs(frames, identities, window)
        same.append(distance[s[:, 0], s[:, 1]])
        different.append(distance[d[:, 0], d[:, 1]])
    if not same:
        raise DatasetError(
            f"No sequence under {mot_dir} has ground truth with frames to score.",
            "Pass a MOTChallenge folder whose sequences have gt/gt.txt and img1/ frames.",
        )
    same, different = np.concatenate(same), np.concatenate(different)
    return {
        "auc": round(separation_auc(same, different), 4),
        "same_pairs": len(same),
        "different_pairs": len(different),
    }


def histograms(same: np.ndarray, different: np.ndarray) -> dict:
    """Both distributions on shared bins, and the pass rates along the bin edges."""
    top = float(max(np.max(same), np.max(different)))
    edges = np.linspace(0.0, max(top, 1e-6) * 1.02, HISTOGRAM_BINS + 1)
    return {
        "bin_edges": np.round(edges, 5).tolist(),
        "same_counts": np.histogram(same, edges)[0].tolist(),
        "different_counts": np.histogram(different, edges)[0].tolist(),
        "same_pass_rate": np.round(pass_rate(same, edges), 5).tolist(),
        "different_pass_rate": np.round(pass_rate(different, edges), 5).tolist(),
    }


def histogram_png(curves: dict, gate: float, title: str) -> bytes:
    """Same- and different-identity histograms in one PNG, with the recommended gate marked."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ReidError(
            f"matplotlib cannot be loaded ({error}).",
            "Install the tracking extra: pip install -c constraints.txt -e '.[track]'.",
        ) from None
    edges = np.asarray(curves["bin_edges"])
    figure = Figure(figsize=(7, 4), dpi=110)
    axes = figure.add_subplot()
    for key, label, colour in (
        ("same_counts", "same identity", "tab:green"),
        ("different_counts", "different identities", "tab:red"),
    ):
        counts = np.asarray(curves[key], float)
        share = counts / max(counts.sum(), 1)
        axes.stairs(share, edges, fill=True, alpha=0.45, color=colour, label=label)
    axes.axvline(gate, color="black", label=f"recommended {gate:.3f}")
    axes.axvline(DEEP_SORT_GATE, color="grey", linestyle="--", label="deep_sort's 0.2")
    axes.set_xlabel("cosine distance to the nearest feature of a track (max_age window)")
    axes.set_ylabel("share of pairs")
    axes.set_title(title, fontsize=9)
    axes.legend(fontsize=8)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def calibrate(
    model: str | Path,
    mot_dir: str | Path,
    output_dir: str | Path,
    max_age: int = 30,
    method: str = "tracking",
    max_false_pass: float = 0.05,
    min_visibility: float = 0.25,
    write_card: bool = True,
    batch_size: int = 64,
    progress: bool = True,
) -> dict:
    """Measure the distributions on MOT_DIR's sequences with gt and recommend a gate.

    model: .onnx, .pb or SavedModel; max_age: the tracker's matching window in frames;
    method: "tracking" tracks the sequences' own det/det.txt with each of
    `ranking.gates.candidate_gates` and keeps the gate of the best HOTA (IDF1 breaks ties);
    "youden" and "false-pass" (with max_false_pass) choose from the distributions alone
    (`ranking.gates.recommend_gate`), as "tracking" does when no sequence has detections;
    min_visibility: gt boxes less visible than this are left out; write_card: also store the
    result in the model card. Writes OUTPUT/calibration.json and OUTPUT/calibration.png.
    """
    from encoder import Encoder
    from encoder.model_card import update_model_card

    if max_age < 1:
        raise ReidError("--max_age must be at least 1.", "Use deep_sort's 30 or your tracker's.")
    started = time.perf_counter()
    encoder = Encoder(model, batch_size=batch_size)
    same, different, used = [], [], []
    for sequence_dir in mot_io.list_sequences(mot_dir):
        found = groundtruth_features(sequence_dir, encoder.encode_boxes, min_visibility, progress)
        if found is None:
            continue
        s, d = nearest_track_distances(*found, max_age=max_age)
        same.append(s)
        different.append(d)
        used.append({"sequence": sequence_dir.name, "boxes": len(found[0]), "same": len(s),
                     "different": len(d)})  # fmt: skip
    same = np.concatenate(same) if same else np.zeros(0)
    different = np.concatenate(different) if different else np.zeros(0)
    if not len(same) or not len(different):
        raise DatasetError(
            f"No same- and different-identity pairs in {mot_dir}: calibration needs sequences "
            "with gt/gt.txt, their frames, and several people seen within max_age frames.",
            "Pass MOTChallenge training sequences (e.g. MOT17/train) or `reid synth mot` ones.",
        )
    output_dir = Path(output_dir).expanduser()
    trials = None
    if method == "tracking":
        trials = _tracking_trials(encoder, mot_dir, output_dir, same, different, max_age)
    if trials:
        # Scores equal to 1e-6 are ties (sequences too short to tell the gates apart): then
        # the gate nearest Youden's, the distributions' own choice, wins.
        youden = recommend_gate(same, different, "youden")
        gate = max(
            trials,
            key=lambda t: (round(t["hota"], 6), round(t["idf1"], 6),
                           -abs(t["max_cosine_distance"] - youden)),
        )["max_cosine_distance"]  # fmt: skip
    else:
        method = "youden" if method == "tracking" else method
        gate = round(recommend_gate(same, different, method, max_false_pass), 5)
    curves = histograms(same, different)
    at = {
        name: {
            "max_cosine_distance": value,
            "same_pass_rate": float(pass_rate(same, value)),
            "different_pass_rate": float(pass_rate(different, value)),
        }
        for name, value in (("recommended", gate), ("deep_sort_default", DEEP_SORT_GATE))
    }
    calibration = {
        "max_cosine_distance": gate,
        "method": method,
        **({"max_false_pass": max_false_pass} if method == "false-pass" else {}),
        "max_age": max_age,
        "min_visibility": min_visibility,
        "mot_dir": str(mot_dir),
        "sequences": used,
        "pairs": {"same": int(len(same)), "different": int(len(different))},
        "median": {"same": float(np.median(same)), "different": float(np.median(different))},
        "at": at,
        **({"trials": trials} if trials else {}),
        "curves": curves,
    }
    title = (
        f"{Path(model).name} on {Path(mot_dir).name}: {len(same)} same, {len(different)} different"
    )
    write_bytes_atomic(output_dir / "calibration.png", histogram_png(curves, gate, title))
    record = {
        "model": str(model),
        **calibration,
        "seconds": round(time.perf_counter() - started, 2),
    }
    write_json_atomic(output_dir / "calibration.json", record)
    if write_card:
        update_model_card(model, calibration=calibration)
    return record


def _tracking_trials(encoder, mot_dir, output_dir: Path, same, different, max_age: int) -> list:
    """HOTA and IDF1 of tracking the sequences' detections with each candidate gate.

    The detections' features are written to OUTPUT/detections (kept, so a rerun reuses them).
    An empty list when no sequence with gt has det/det.txt.
    """
    from deep_sort_bridge.generate import generate_detections
    from deep_sort_bridge.tracking import TrackerConfig
    from deep_sort_bridge.tune import load_sequences, score_setting

    with_detections = [
        s for s in mot_io.list_sequences(mot_dir)
        if (s / "det" / "det.txt").is_file() and (s / "gt" / "gt.txt").is_file()
    ]  # fmt: skip
    if not with_detections:
        return []
    detections = output_dir / "detections"
    generate_detections(encoder.encode, mot_dir, detections, progress=False)
    sequences = load_sequences(mot_dir, detections)
    trials = []
    for gate in candidate_gates(same, different):
        config = TrackerConfig(max_cosine_distance=gate, max_age=max_age)
        scores = score_setting(sequences, config)
        trials.append({"max_cosine_distance": gate, **scores,
                       "same_pass_rate": float(pass_rate(same, gate)),
                       "different_pass_rate": float(pass_rate(different, gate))})  # fmt: skip
    return trials
