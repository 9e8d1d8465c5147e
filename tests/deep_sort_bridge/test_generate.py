"""generate_detections: output layout, counts, batching across frames, reruns, real models."""

import json

import cv2
import numpy as np
import pytest

from core.errors import DatasetError, ModelError
from deep_sort_bridge import mot_io
from deep_sort_bridge.generate import encode_detections, generate_detections
from encoder.crops import crop_boxes

from .conftest import requires_realdata


class FakeEncoder:
    """A deterministic crop -> unit feature map that records the batch sizes it is given."""

    def __init__(self):
        self.calls = []

    def __call__(self, crops):
        self.calls.append(len(crops))
        small = crops[:, ::16, ::16].reshape(len(crops), -1).astype(np.float64)  # 8 x 4 x 3
        features = np.concatenate([small, np.ones((len(crops), 128 - small.shape[1]))], axis=1)
        return (features / np.linalg.norm(features, axis=1, keepdims=True)).astype(np.float32)


def _frame(seed, size=(240, 320)):
    return np.random.default_rng(seed).integers(0, 255, (*size, 3), dtype=np.uint8)


def _sequence(root, name="SEQ-1", frames=(1, 2, 4, 5), rows=None):
    """A sequence folder whose img1/ lacks frame 3, with a 7-column det.txt (out of order)."""
    folder = root / name
    (folder / "img1").mkdir(parents=True)
    (folder / "det").mkdir()
    for f in frames:
        cv2.imwrite(str(folder / "img1" / f"{f:06d}.png"), _frame(f))
    rows = rows or [
        "2,-1,50,40,30,80,0.9",
        "1,-1,10,20,30,60,0.8",
        "1,-1,100,50,40,100,0.4",
        "3,-1,10,20,30,60,0.8",  # frame 3 has no image
        "3,-1,15,20,30,60,0.8",
        "2,-1,400,400,30,60,0.7",  # outside the 320 x 240 frame
        "5,-1,200,10,50,120,0.95",
        "4,-1,0,0,20,40,0.5",
        "2,-1,60,40,30,80,0.6",
    ]
    (folder / "det" / "det.txt").write_text("\n".join(rows) + "\n")
    return folder


def test_output_rows_counts_and_summary(tmp_path):
    _sequence(tmp_path / "mot")
    fake = FakeEncoder()
    summary = generate_detections(fake, tmp_path / "mot", tmp_path / "out", progress=False)
    matrix = np.load(tmp_path / "out" / "SEQ-1.npy")
    assert matrix.shape == (6, 138) and matrix.dtype == np.float64
    # Frame order, file order within a frame; padded MOT columns; unit features.
    assert matrix[:, 0].tolist() == [1, 1, 2, 2, 4, 5]
    np.testing.assert_array_equal(matrix[2, :10], [2, -1, 50, 40, 30, 80, 0.9, -1, -1, -1])
    np.testing.assert_allclose(np.linalg.norm(matrix[:, 10:], axis=1), 1.0, atol=1e-6)
    assert summary["sequences"] == 1 and summary["frames"] == 4
    assert summary["detections"] == 9 and summary["written"] == 6
    assert summary["missing_frame_detections"] == 2 and summary["boxes_outside_frame"] == 1
    on_disk = json.loads((tmp_path / "out" / "generate_detections.json").read_text())
    assert on_disk["per_sequence"][0]["missing_frames"] == 1
    assert {"seconds", "frames_per_second"} <= on_disk.keys()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "SEQ-1.npy",
        "generate_detections.json",
    ]


def test_batches_span_frames_and_rows_keep_their_own_features(tmp_path):
    folder = _sequence(tmp_path / "mot")
    detections = mot_io.read_detections(folder / "det" / "det.txt")
    frames = mot_io.frame_files(folder / "img1")
    fake = FakeEncoder()
    matrix = encode_detections(fake, detections, frames, batch_size=4)
    assert fake.calls == [4, 2]  # frames 1 and 2 fill a batch; frames 4 and 5 end the sequence
    fake = FakeEncoder()
    again = encode_detections(fake, detections, frames, batch_size=3)
    assert fake.calls == [3, 3]  # whole batches: the fourth crop waits for the next frames
    np.testing.assert_array_equal(again, matrix)
    for row in matrix:
        crop, valid = crop_boxes(cv2.imread(str(frames[int(row[0])])), row[None, 2:6])
        assert valid.all()
        np.testing.assert_allclose(row[10:], FakeEncoder()(crop)[0], atol=1e-6)


def test_existing_outputs_are_kept_unless_overwrite(tmp_path):
    _sequence(tmp_path / "mot")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "SEQ-1.npy").write_bytes(b"keep me")
    summary = generate_detections(FakeEncoder(), tmp_path / "mot", tmp_path / "out", progress=False)
    assert summary["skipped_sequences"] == 1 and summary["sequences"] == 0
    assert (tmp_path / "out" / "SEQ-1.npy").read_bytes() == b"keep me"
    generate_detections(
        FakeEncoder(), tmp_path / "mot", tmp_path / "out", overwrite=True, progress=False
    )
    assert np.load(tmp_path / "out" / "SEQ-1.npy").shape == (6, 138)


def test_empty_detection_file_gives_an_empty_output_and_a_warning(tmp_path, capsys):
    _sequence(tmp_path / "mot", rows=[""])
    summary = generate_detections(FakeEncoder(), tmp_path / "mot", tmp_path / "out", progress=False)
    assert np.load(tmp_path / "out" / "SEQ-1.npy").shape == (0, 138)
    assert summary["written"] == 0
    assert "holds no detections" in capsys.readouterr().err


def test_other_detection_folder_and_its_errors(tmp_path):
    _sequence(tmp_path / "mot")
    other = tmp_path / "mine" / "SEQ-1" / "det"
    other.mkdir(parents=True)
    (other / "det.txt").write_text("1,-1,10,20,30,60,0.8,-1,-1,-1\n")
    summary = generate_detections(
        FakeEncoder(), tmp_path / "mot", tmp_path / "out", tmp_path / "mine", progress=False
    )
    assert summary["written"] == 1
    with pytest.raises(DatasetError, match="Detection folder .* does not exist"):
        generate_detections(FakeEncoder(), tmp_path / "mot", tmp_path / "o2", tmp_path / "nope")
    (other / "det.txt").write_text("1,-1,10,20\n")
    with pytest.raises(DatasetError, match="4 columns"):
        generate_detections(
            FakeEncoder(), tmp_path / "mot", tmp_path / "o3", tmp_path / "mine", progress=False
        )


def test_an_unreadable_frame_is_reported_not_fatal(tmp_path, capsys):
    folder = _sequence(tmp_path / "mot")
    (folder / "img1" / "000002.png").write_bytes(b"broken")
    summary = generate_detections(FakeEncoder(), tmp_path / "mot", tmp_path / "out", progress=False)
    assert summary["unreadable_frames"] == 1 and summary["written"] == 4
    assert "cannot decode" in capsys.readouterr().err


def test_an_encoder_breaking_the_contract_is_a_model_error(tmp_path):
    _sequence(tmp_path / "mot")
    with pytest.raises(ModelError, match="features of shape"):
        generate_detections(
            lambda crops: np.zeros((len(crops) + 1, 128)), tmp_path / "mot", tmp_path / "out"
        )


def test_onnx_model_on_a_synthetic_sequence_matches_per_frame_encoding(synthetic_mot, onnx_model):
    from encoder import Encoder

    sequence = synthetic_mot / "SYNTH-02"
    encoder = Encoder(onnx_model)
    detections = mot_io.read_detections(sequence / "det" / "det.txt")
    detections = detections[detections[:, 0] <= 15]
    frames = mot_io.frame_files(sequence / "img1")
    matrix = encode_detections(encoder.encode, detections, frames, batch_size=32)
    assert matrix.shape == (len(detections), 138)
    for frame in (1, 8, 15):
        rows = matrix[matrix[:, 0] == frame]
        expected = encoder.encode_boxes(cv2.imread(str(frames[frame])), rows[:, 2:6])
        np.testing.assert_allclose(rows[:, 10:], expected, atol=1e-5)


@pytest.mark.realdata
@requires_realdata
def test_real_mot17_frames_count_detections_of_missing_frames(real_mot, tmp_path, onnx_model):
    from encoder import Encoder

    encoder = Encoder(onnx_model)
    summary = generate_detections(encoder.encode, real_mot, tmp_path / "out", progress=False)
    for sequence in ("MOT17-02-FRCNN", "MOT17-05-FRCNN"):
        det = np.loadtxt(real_mot / sequence / "det" / "det.txt", delimiter=",")
        shipped = np.isin(det[:, 0], list(mot_io.frame_files(real_mot / sequence / "img1")))
        matrix = np.load(tmp_path / "out" / f"{sequence}.npy")
        assert matrix.shape == (shipped.sum(), 138)
        assert set(matrix[:, 0].tolist()) <= set(range(1, 9))
        np.testing.assert_allclose(np.linalg.norm(matrix[:, 10:], axis=1), 1.0, atol=1e-4)
        entry = next(e for e in summary["per_sequence"] if e["sequence"] == sequence)
        assert entry["missing_frame_detections"] == (~shipped).sum()
    assert summary["missing_frame_detections"] > 10_000
