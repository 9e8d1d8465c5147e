"""Our HOTA against TrackEval's own MOTChallenge evaluation of the same files."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
import pytest

from deep_sort_bridge import hota, mot_io
from deep_sort_bridge.hota import HOTA_METRICS
from deep_sort_bridge.sequences import score_sequences, track_sequences
from deep_sort_bridge.tracking import TrackerConfig
from tests.deep_sort_bridge.conftest import requires_realdata


def trackeval_reference(mot_dir: Path, results_dir: Path, work: Path) -> dict:
    """TrackEval's MotChallenge2DBox evaluation of RESULTS/<seq>.txt: {seq: {key: value}}."""
    with contextlib.redirect_stdout(io.StringIO()):
        import trackeval

        sequences = [p.name for p in mot_io.list_sequences(mot_dir)]
        (work / "data").mkdir(parents=True)
        for name in sequences:
            (work / "data" / f"{name}.txt").symlink_to(results_dir / f"{name}.txt")
        seqmap = work / "seqmap.txt"
        seqmap.write_text("name\n" + "\n".join(sequences) + "\n")
        dataset = trackeval.datasets.MotChallenge2DBox(
            {
                "GT_FOLDER": str(mot_dir),
                "TRACKERS_FOLDER": str(work.parent),
                "TRACKERS_TO_EVAL": [work.name],
                "SEQMAP_FILE": str(seqmap),
                "SKIP_SPLIT_FOL": True,
                "BENCHMARK": "MOT17",
                "OUTPUT_FOLDER": str(work / "out"),
                "PRINT_CONFIG": False,
            }
        )
        evaluator = trackeval.Evaluator(
            {
                "USE_PARALLEL": False,
                "PRINT_RESULTS": False,
                "PRINT_CONFIG": False,
                "TIME_PROGRESS": False,
                "OUTPUT_SUMMARY": False,
                "OUTPUT_DETAILED": False,
                "PLOT_CURVES": False,
                "LOG_ON_ERROR": None,
            }
        )
        metric = trackeval.metrics.HOTA({"PRINT_CONFIG": False})
        results, _ = evaluator.evaluate([dataset], [metric])
    per_sequence = results["MotChallenge2DBox"][work.name]
    return {
        ("OVERALL" if name == "COMBINED_SEQ" else name): {
            key: float(np.mean(values["pedestrian"]["HOTA"][field]))
            for field, key, _ in HOTA_METRICS
        }
        for name, values in per_sequence.items()
    }


def assert_matches_reference(mot_dir: Path, results_dir: Path, work: Path) -> dict:
    ours = score_sequences(mot_dir, results_dir, output=work / "ours.json", progress=False)
    reference = trackeval_reference(mot_dir, results_dir, work / "tracker")
    assert set(reference) == set(ours["scores"])
    for name, values in reference.items():
        for key, value in values.items():
            assert ours["scores"][name][key] == pytest.approx(value, abs=1e-6), (name, key)
    return ours["scores"]


def test_hota_equals_trackevals_on_synthetic_sequences(synthetic_mot, tmp_path):
    results = tmp_path / "results"
    track_sequences(
        synthetic_mot, results, TrackerConfig(appearance=False), progress=False, log=lambda m: 0
    )
    scores = assert_matches_reference(synthetic_mot, results, tmp_path)
    overall = scores["OVERALL"]
    assert 0.3 < overall["hota"] < 1.0
    assert overall["hota"] == pytest.approx(np.sqrt(overall["deta"] * overall["assa"]), abs=0.05)


@requires_realdata
def test_hota_equals_trackevals_on_real_mot17_frames(real_mot, tmp_path):
    """Real gt has distractor classes and consider flags 0: the preprocessing must agree too."""
    results = tmp_path / "results"
    track_sequences(
        real_mot, results, TrackerConfig(appearance=False), progress=False, log=lambda m: 0
    )
    gt = mot_io.read_groundtruth(real_mot / "MOT17-02-FRCNN" / "gt" / "gt.txt")
    assert np.isin(gt[:, 7], (2, 7, 8, 12)).any() and (gt[:, 6] == 0).any()
    assert_matches_reference(real_mot, results, tmp_path)


def _sequence(tmp_path: Path, gt_rows: list, result_rows: list, frames: int) -> tuple[Path, Path]:
    mot_dir = tmp_path / "mot"
    sequence = mot_dir / "S-01"
    (sequence / "gt").mkdir(parents=True)
    (sequence / "det").mkdir()
    (sequence / "det" / "det.txt").write_text("")
    (sequence / "seqinfo.ini").write_text(
        f"[Sequence]\nname=S-01\nimDir=img1\nframeRate=30\nseqLength={frames}\n"
        "imWidth=640\nimHeight=480\nimExt=.jpg\n"
    )
    (sequence / "gt" / "gt.txt").write_text(
        "".join(",".join(str(v) for v in row) + "\n" for row in gt_rows)
    )
    results = tmp_path / "results"
    mot_io.write_results(results / "S-01.txt", np.array(result_rows, float).reshape(-1, 6))
    return mot_dir, results


def test_distractors_and_zero_marked_boxes_are_handled_as_trackeval_does(tmp_path):
    gt_rows, result_rows = [], []
    for frame in range(1, 11):
        gt_rows += [
            [frame, 1, 10 + frame, 10, 40, 100, 1, 1, 1.0],  # a pedestrian, tracked
            [frame, 2, 200, 10, 40, 100, 1, 7, 1.0],  # a static person (distractor)
            [frame, 3, 400, 10, 40, 100, 0, 1, 1.0],  # a pedestrian not to consider
        ]
        tracked_as = 5 if frame <= 5 else 6  # an identity switch half way
        result_rows += [
            [frame, tracked_as, 10 + frame, 12, 40, 100],
            [frame, 7, 201, 10, 40, 100],  # on the distractor: removed
            [frame, 8, 400, 10, 40, 100],  # on the ignored pedestrian: a false positive
        ]
    mot_dir, results = _sequence(tmp_path, gt_rows, result_rows, frames=12)
    scores = assert_matches_reference(mot_dir, results, tmp_path)["S-01"]
    assert scores["detpr"] < 1.0 and scores["detre"] > 0.9
    assert scores["assa"] < 0.9


def test_perfect_tracking_scores_hota_one_at_every_threshold():
    gt = np.array([[f, 1, 10, 10, 40, 100, 1, 1, 1.0] for f in range(1, 6)], float)
    results = gt[:, :6].copy()
    results[:, 1] = 9
    scores = hota.score_hota({"s": hota.sequence_data(gt, results, 5)})["s"]
    for key in ("hota", "deta", "assa", "loca"):
        assert scores[key] == pytest.approx(1.0)


def test_an_identity_repeated_in_a_frame_is_refused():
    from core.errors import ReidError

    gt = np.array([[1, 1, 10, 10, 40, 100, 1, 1, 1.0]], float)
    results = np.array([[1, 4, 10, 10, 40, 100], [1, 4, 60, 10, 40, 100]], float)
    with pytest.raises(ReidError, match="repeat an identity"):
        hota.sequence_data(gt, results, 1)
