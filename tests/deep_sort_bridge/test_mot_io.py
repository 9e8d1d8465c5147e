"""MOTChallenge files: detections, ground truth, results, seqinfo.ini and sequence folders."""

import numpy as np
import pytest

from core.errors import DatasetError
from deep_sort_bridge import mot_io


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_seven_and_ten_column_detections_read_as_ten(tmp_path):
    seven = _write(tmp_path / "a.txt", "1,-1,10,20,30,60,0.9\n\n2,-1,11.5,21,30,60,0.5\n")
    ten = _write(tmp_path / "b.txt", "1,-1,10,20,30,60,0.9,-1,-1,-1\n")
    a, b = mot_io.read_detections(seven), mot_io.read_detections(ten)
    assert a.shape == (2, 10) and b.shape == (1, 10)
    np.testing.assert_array_equal(a[0], [1, -1, 10, 20, 30, 60, 0.9, -1, -1, -1])
    np.testing.assert_array_equal(a[0], b[0])
    assert a[1, 2] == 11.5


def test_empty_detection_file_is_an_empty_table(tmp_path):
    assert mot_io.read_detections(_write(tmp_path / "det.txt", "\n")).shape == (0, 10)


@pytest.mark.parametrize(
    "text, words",
    [
        ("1,-1,10,20,30,60,0.9\n2,-1,x,20,30,60,0.9\n", ["line 2", "not a number"]),
        ("1,-1,10,20,30,60,0.9\n2,-1,10,20,30,60\n", ["line 2", "6 columns"]),
        ("1 -1 10 20 30 60 0.9\n", ["line 1", "not comma separated"]),
        ("1,-1,10,20,30\n", ["5 columns", "at least 7"]),
        ("0,-1,10,20,30,60,0.9\n", ["frame 0", "1-based"]),
        ("1,-1,10,20,-3,60,0.9\n", ["negative box size"]),
        ("1,-1,10,20,nan,60,0.9\n", ["line 1", "NaN"]),
    ],
)
def test_malformed_detections_name_the_line_and_the_format(tmp_path, text, words):
    path = _write(tmp_path / "det.txt", text)
    with pytest.raises(DatasetError) as error:
        mot_io.read_detections(path)
    message = str(error.value)
    assert str(path) in message
    for word in words:
        assert word in message
    assert error.value.fix


def test_missing_detection_file_is_named(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        mot_io.read_detections(tmp_path / "nope" / "det.txt")


def test_groundtruth_columns_and_mot15_convention(tmp_path):
    mot17 = _write(tmp_path / "a.txt", "1,3,10,20,30,60,0,7,0.25\n")
    mot15 = _write(tmp_path / "b.txt", "1,3,10,20,30,60,1,-1,-1,-1\n")
    six = _write(tmp_path / "c.txt", "1,3,10,20,30,60\n")
    np.testing.assert_array_equal(mot_io.read_groundtruth(mot17)[0, 6:], [0, 7, 0.25])
    np.testing.assert_array_equal(mot_io.read_groundtruth(mot15)[0, 6:], [1, 1, 1])
    np.testing.assert_array_equal(mot_io.read_groundtruth(six)[0, 6:], [1, 1, 1])


def test_results_round_trip_in_motchallenge_format(tmp_path):
    rows = np.array([[1, 4, 10.123, 20, 30.5, 60], [2, 4, 11, 21, 30, 60]])
    path = tmp_path / "out" / "SEQ.txt"
    mot_io.write_results(path, rows)
    lines = path.read_text().splitlines()
    assert lines[0] == "1,4,10.12,20.00,30.50,60.00,1,-1,-1,-1"
    np.testing.assert_allclose(mot_io.read_results(path), rows, atol=0.006)
    mot_io.write_results(path, np.zeros((0, 6)))
    assert path.read_text() == "" and mot_io.read_results(path).shape == (0, 6)
    assert [p.name for p in path.parent.iterdir()] == ["SEQ.txt"]  # no temporary left


def test_seqinfo_fields_and_missing_file(tmp_path):
    sequence = tmp_path / "SEQ-1"
    _write(
        sequence / "seqinfo.ini",
        "[Sequence]\nname=SEQ-1\nimDir=frames\nframeRate=30\nseqLength=600\n"
        "imWidth=1920\nimHeight=1080\nimExt=.jpg\n",
    )
    info = mot_io.read_seqinfo(sequence)
    assert (info.frame_rate, info.length, info.width, info.height) == (30, 600, 1920, 1080)
    assert info.image_dir == sequence / "frames" and info.image_ext == ".jpg"
    bare = mot_io.read_seqinfo(tmp_path / "OTHER")
    assert bare.length is None and bare.image_dir == tmp_path / "OTHER" / "img1"


@pytest.mark.parametrize(
    "text, words",
    [
        ("name=x\n", ["not a valid seqinfo.ini"]),
        ("[Other]\nname=x\n", ["no [Sequence] section"]),
        ("[Sequence]\nframeRate=fast\n", ["frameRate='fast'", "not a number"]),
        ("[Sequence]\nseqLength=0\n", ["seqLength='0'", "positive"]),
    ],
)
def test_broken_seqinfo_is_explained(tmp_path, text, words):
    _write(tmp_path / "SEQ" / "seqinfo.ini", text)
    with pytest.raises(DatasetError) as error:
        mot_io.read_seqinfo(tmp_path / "SEQ")
    for word in words:
        assert word in str(error.value)


def test_sequences_are_listed_sorted_and_a_sequence_is_its_own_list(tmp_path):
    for name in ("B", "A"):
        (tmp_path / "mot" / name / "img1").mkdir(parents=True)
    (tmp_path / "mot" / "notes").mkdir()
    assert [p.name for p in mot_io.list_sequences(tmp_path / "mot")] == ["A", "B"]
    assert mot_io.list_sequences(tmp_path / "mot" / "A") == [tmp_path / "mot" / "A"]


def test_folder_without_sequences_points_to_the_nested_one(tmp_path):
    (tmp_path / "MOT17" / "train" / "SEQ" / "img1").mkdir(parents=True)
    with pytest.raises(DatasetError) as error:
        mot_io.list_sequences(tmp_path / "MOT17")
    assert "holds no MOTChallenge sequence" in str(error.value)
    assert str(tmp_path / "MOT17" / "train") in error.value.fix
    with pytest.raises(DatasetError, match="does not exist"):
        mot_io.list_sequences(tmp_path / "missing")


def test_frame_files_keep_numbered_images_only(tmp_path):
    for name in ("000002.jpg", "000001.jpg", "000010.png", "thumbs.db", "cover.jpg"):
        _write(tmp_path / name, "")
    assert list(mot_io.frame_files(tmp_path)) == [1, 2, 10]
    assert mot_io.frame_files(tmp_path / "missing") == {}


def test_detection_matrix_checks_its_shape(tmp_path):
    good = np.concatenate([np.ones((3, 10)), np.eye(3, 128)], axis=1)
    mot_io.save_npy_atomic(tmp_path / "good.npy", good)
    np.testing.assert_array_equal(mot_io.load_detection_matrix(tmp_path / "good.npy"), good)
    np.save(tmp_path / "flat.npy", np.ones(5))
    with pytest.raises(DatasetError, match="expected N x"):
        mot_io.load_detection_matrix(tmp_path / "flat.npy")
    (tmp_path / "junk.npy").write_bytes(b"not numpy")
    with pytest.raises(DatasetError, match="not a readable .npy"):
        mot_io.load_detection_matrix(tmp_path / "junk.npy")
    with pytest.raises(DatasetError, match="generate-detections"):
        mot_io.load_detection_matrix(tmp_path / "absent.npy")
