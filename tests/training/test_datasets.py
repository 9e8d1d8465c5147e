"""Dataset readers, the corrupt-image policy and the validation split, on tiny fake layouts."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from scipy.io import savemat

from core.errors import DatasetError
from training.datasets import read_dataset
from training.datasets.checks import image_problem
from training.datasets.common import ImageSet
from training.datasets.folder import parse_camera, read_folder
from training.datasets.market1501 import read_market1501
from training.datasets.mars import read_mars
from training.datasets.split import split_validation

_RNG = np.random.default_rng(0)
_PIXELS = _RNG.integers(0, 256, size=(8, 4, 3), dtype=np.uint8)


def write_image(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), _PIXELS)
    return path


def jpeg_bytes() -> bytes:
    ok, data = cv2.imencode(".jpg", _PIXELS)
    assert ok
    return data.tobytes()


# ---------------------------------------------------------------- Market-1501


def market_name(identity: int, camera: int, frame: int) -> str:
    person = "-1" if identity == -1 else f"{identity:04d}"
    return f"{person}_c{camera}s1_{frame:06d}_01.jpg"


def make_market(root: Path, train_ids=(2, 7, 9), per_id=4, test=True) -> Path:
    for identity in train_ids:
        for k in range(per_id):
            write_image(root / "bounding_box_train" / market_name(identity, k % 2 + 1, k))
    if test:
        for identity, camera in [(2, 1), (7, 3)]:
            write_image(root / "query" / market_name(identity, camera, 100))
        for identity, camera, frame in [(2, 2, 1), (7, 3, 2), (0, 1, 3), (-1, 6, 4), (7, 1, 5)]:
            write_image(root / "bounding_box_test" / market_name(identity, camera, frame))
    (root / "bounding_box_train" / "Thumbs.db").write_bytes(b"not an image")
    (root / "bounding_box_train" / "._0002_c1s1_000000_01.jpg").write_bytes(b"mac fork")
    return root


def test_market_reads_splits_labels_and_cameras(tmp_path):
    data = read_market1501(make_market(tmp_path))
    assert data.name == "market1501"
    assert len(data.train) == 12
    assert sorted(set(data.train.identities.tolist())) == [2, 7, 9]
    assert data.train.identities.dtype == np.int64
    assert set(data.train.cameras.tolist()) == {1, 2}
    assert data.train.tracklets is None and data.train.skipped == ()
    assert all(Path(p).name.endswith(".jpg") for p in data.train.paths)
    assert data.query.identities.tolist() == [2, 7]
    assert data.query.cameras.tolist() == [1, 3]
    pairs = zip(data.gallery.identities.tolist(), data.gallery.cameras.tolist(), strict=True)
    assert sorted(pairs) == [(-1, 6), (0, 1), (2, 2), (7, 1), (7, 3)]


def test_market_without_test_folders_is_fine_for_training(tmp_path):
    data = read_market1501(make_market(tmp_path, test=False))
    assert data.query is None and data.gallery is None
    assert len(data.train) == 12


def test_market_missing_train_folder_explains_layout(tmp_path):
    with pytest.raises(DatasetError) as err:
        read_market1501(tmp_path)
    text = str(err.value)
    assert "bounding_box_train" in text and "PPPP_cCsS_FFFFFF_BB.jpg" in text
    assert "reid synth market1501" in text


def test_market_nested_folder_is_suggested(tmp_path):
    make_market(tmp_path / "Market-1501-v15.09.15", test=False)
    with pytest.raises(DatasetError, match="Market-1501-v15.09.15"):
        read_market1501(tmp_path)


def test_market_bad_names_name_first_offender_and_count(tmp_path):
    make_market(tmp_path, test=False)
    write_image(tmp_path / "bounding_box_train" / "a_photo.jpg")
    write_image(tmp_path / "bounding_box_train" / "zz.jpg")
    with pytest.raises(DatasetError) as err:
        read_market1501(tmp_path)
    text = str(err.value)
    assert "2 of 14" in text and "'a_photo.jpg'" in text and "PPPP_cCsS_FFFFFF_BB" in text


def test_market_empty_split_is_an_error(tmp_path):
    (tmp_path / "bounding_box_train").mkdir()
    (tmp_path / "bounding_box_train" / "Thumbs.db").write_bytes(b"x")
    with pytest.raises(DatasetError, match="No images in .*bounding_box_train"):
        read_market1501(tmp_path)


# ---------------------------------------------------------------- corrupt images


def test_corrupt_files_are_skipped_and_counted(tmp_path):
    make_market(tmp_path, train_ids=range(1, 11), per_id=3, test=False)  # 30 good files
    train_dir = tmp_path / "bounding_box_train"
    zero = train_dir / market_name(50, 1, 1)
    zero.write_bytes(b"")
    truncated = train_dir / market_name(51, 1, 1)
    truncated.write_bytes(jpeg_bytes()[:-40])
    noise = train_dir / market_name(52, 1, 1)
    noise.write_bytes(_RNG.integers(0, 256, 500, dtype=np.uint8).tobytes())
    data = read_market1501(tmp_path)
    assert len(data.train) == 30
    assert sorted(data.train.skipped) == sorted(str(p) for p in (zero, truncated, noise))
    assert not {50, 51, 52} & set(data.train.identities.tolist())
    assert image_problem(zero) == "empty file"
    assert "truncated JPEG" in image_problem(truncated)
    assert image_problem(noise) == "not a JPEG, PNG or BMP image"


def test_image_check_accepts_padding_and_other_formats(tmp_path):
    padded = tmp_path / "padded.jpg"
    padded.write_bytes(jpeg_bytes() + b"\x00" * 100)
    assert image_problem(padded) is None
    png = write_image(tmp_path / "x.png")
    bmp = write_image(tmp_path / "x.bmp")
    assert image_problem(png) is None and image_problem(bmp) is None
    png_as_jpg = tmp_path / "png_named.jpg"
    png_as_jpg.write_bytes(png.read_bytes())
    assert image_problem(png_as_jpg) is None
    (tmp_path / "cut.png").write_bytes(png.read_bytes()[:-12])
    (tmp_path / "cut.bmp").write_bytes(bmp.read_bytes()[:-10])
    assert "PNG" in image_problem(tmp_path / "cut.png")
    assert "BMP" in image_problem(tmp_path / "cut.bmp")
    assert "unreadable" in image_problem(tmp_path / "missing.jpg")


def test_more_than_ten_percent_corrupt_is_an_error(tmp_path):
    make_market(tmp_path, train_ids=(1, 2, 3), per_id=3, test=False)  # 9 good files
    for k in range(2):
        (tmp_path / "bounding_box_train" / market_name(60 + k, 1, 1)).write_bytes(b"")
    with pytest.raises(DatasetError) as err:
        read_market1501(tmp_path)
    assert "2 of 11" in str(err.value) and "0060_c1s1" in str(err.value)


def test_many_files_are_checked_in_parallel_consistently(tmp_path):
    good = jpeg_bytes()
    folder = tmp_path / "bounding_box_train"
    folder.mkdir()
    for k in range(520):
        (folder / market_name(k % 50 + 1, 1, k)).write_bytes(good)
    (folder / market_name(99, 1, 9)).write_bytes(good[:-5])
    data = read_market1501(tmp_path)
    assert len(data.train) == 520 and len(data.train.skipped) == 1


# ---------------------------------------------------------------- MARS

# Tracklets: (identity folder, identity, camera, tracklet number, frames)
MARS_TRAIN = [("0001", 1, 1, 1, 3), ("0001", 1, 2, 1, 2), ("0003", 3, 1, 1, 2)]
MARS_TEST = [
    ("0002", 2, 1, 1, 2),
    ("0002", 2, 2, 1, 3),
    ("0002", 2, 2, 2, 1),
    ("0004", 4, 1, 1, 2),
    ("0004", 4, 3, 1, 2),
    ("0000", 0, 1, 1, 2),
    ("00-1", -1, 5, 1, 1),
]
MARS_QUERY_ROWS = [1, 4]  # 1-based rows of MARS_TEST


def write_mars_split(root: Path, split: str, tracks, with_info: bool) -> None:
    names, rows = [], []
    for folder, identity, camera, number, frames in tracks:
        start = len(names) + 1
        for f in range(1, frames + 1):
            name = f"{folder}C{camera}T{number:04d}F{f:03d}.jpg"
            write_image(root / f"bbox_{split}" / folder / name)
            names.append(name)
        rows.append([start, len(names), identity, camera])
    if with_info:
        info = root / "info"
        info.mkdir(exist_ok=True)
        (info / f"{split}_name.txt").write_text("\n".join(names) + "\n")
        key = f"track_{split}_info"
        savemat(info / f"tracks_{split}_info.mat", {key: np.array(rows, dtype=np.float64)})


def make_mars(root: Path, with_info: bool = True) -> Path:
    write_mars_split(root, "train", MARS_TRAIN, with_info)
    write_mars_split(root, "test", MARS_TEST, with_info)
    if with_info:
        savemat(root / "info" / "query_IDX.mat", {"query_IDX": np.array([MARS_QUERY_ROWS])})
    return root


def test_mars_train_split_with_tracklets(tmp_path):
    data = read_mars(make_mars(tmp_path))
    train = data.train
    assert data.name == "mars" and len(train) == 7
    assert train.identities.tolist() == [1, 1, 1, 1, 1, 3, 3]
    assert train.cameras.tolist() == [1, 1, 1, 2, 2, 1, 1]
    assert train.tracklets.tolist() == [0, 0, 0, 1, 1, 2, 2]
    assert Path(train.paths[3]).parts[-2:] == ("0001", "0001C2T0001F001.jpg")


def test_mars_query_gallery_follow_official_protocol(tmp_path):
    data = read_mars(make_mars(tmp_path))
    assert len(data.gallery) == 13  # every test image, queries included
    assert set(data.gallery.identities.tolist()) == {2, 4, 0, -1}
    assert set(data.query.tracklets.tolist()) == {0, 3}
    assert len(data.query) == 4
    assert set(data.query.paths.tolist()) <= set(data.gallery.paths.tolist())
    assert data.extra["protocol"] == "video"
    assert data.extra["query_tracklets"].tolist() == [[0, 2, 1], [3, 4, 1]]
    table = data.extra["gallery_tracklets"]
    assert table.dtype == np.int64 and table.shape == (7, 3)
    assert table[:, 0].tolist() == list(range(7))
    assert table[5].tolist() == [5, 0, 1] and table[6].tolist() == [6, -1, 5]
    assert data.extra["notes"] == []


def test_mars_corrupt_test_image_drops_only_that_file(tmp_path):
    make_mars(tmp_path)
    many = [("0002", 2, 1, 1, 12)] + MARS_TEST[1:]
    write_mars_split(tmp_path, "test", many, True)  # 23 test images
    (tmp_path / "bbox_test" / "00-1" / "00-1C5T0001F001.jpg").write_bytes(b"")
    data = read_mars(tmp_path)
    assert len(data.gallery) == 22 and len(data.gallery.skipped) == 1
    assert 6 not in data.extra["gallery_tracklets"][:, 0]  # its only image was corrupt


def test_mars_without_info_falls_back_to_folders(tmp_path):
    data = read_mars(make_mars(tmp_path, with_info=False))
    assert len(data.train) == 7
    assert data.train.identities.tolist() == [1, 1, 1, 1, 1, 3, 3]
    assert data.train.cameras.tolist() == [1, 1, 1, 2, 2, 1, 1]
    assert data.train.tracklets.tolist() == [0, 0, 0, 1, 1, 2, 2]
    assert data.query is None and data.gallery is None
    assert any("unavailable" in note for note in data.extra["notes"])


def test_mars_fallback_reads_junk_folder(tmp_path):
    write_image(tmp_path / "bbox_train" / "00-1" / "00-1C2T0001F001.jpg")
    write_image(tmp_path / "bbox_train" / "0005" / "0005C1T0002F001.jpg")
    data = read_mars(tmp_path)
    assert data.train.identities.tolist() == [-1, 5]
    assert data.train.cameras.tolist() == [2, 1]


def test_mars_errors(tmp_path):
    with pytest.raises(DatasetError, match="bbox_train"):
        read_mars(tmp_path)
    write_image(tmp_path / "bbox_train" / "0001" / "frame1.jpg")
    with pytest.raises(DatasetError, match="PPPPCcTttttFfff.*'frame1.jpg'"):
        read_mars(tmp_path)


def test_mars_inconsistent_info_is_an_error(tmp_path):
    make_mars(tmp_path)
    savemat(tmp_path / "info" / "query_IDX.mat", {"query_IDX": np.array([[1, 99]])})
    with pytest.raises(DatasetError, match="query_IDX"):
        read_mars(tmp_path)


# ---------------------------------------------------------------- folder per identity


def test_folder_maps_sorted_names_and_cameras(tmp_path):
    write_image(tmp_path / "bob" / "x_c3_1.jpg")
    write_image(tmp_path / "bob" / "cam2_0042.png")
    write_image(tmp_path / "alice" / "crop.bmp")
    write_image(tmp_path / "alice" / "0001C4T0001F001.jpeg")
    write_image(tmp_path / "carol" / "0001_c5s1_000151_01.jpg")
    write_image(tmp_path / "loose.jpg")
    (tmp_path / "carol" / "notes.txt").write_text("x")
    data = read_folder(tmp_path)
    assert data.extra["identity_names"] == ["alice", "bob", "carol"]
    by_name = {Path(p).name: (i, c) for p, i, c in zip(*_columns(data.train), strict=True)}
    assert by_name == {
        "crop.bmp": (1, 1),
        "0001C4T0001F001.jpeg": (1, 4),
        "x_c3_1.jpg": (2, 3),
        "cam2_0042.png": (2, 2),
        "0001_c5s1_000151_01.jpg": (3, 5),
    }
    assert data.query is None and data.gallery is None


def _columns(images: ImageSet):
    return images.paths.tolist(), images.identities.tolist(), images.cameras.tolist()


def test_parse_camera_ignores_words():
    assert parse_camera("pic01.jpg") == 1
    assert parse_camera("crop_12.jpg") == 1
    assert parse_camera("c12345.jpg") == 1
    assert parse_camera("a_C7.jpg") == 7


def test_folder_split_layout_shares_identity_numbers(tmp_path):
    write_image(tmp_path / "train" / "p1" / "a.jpg")
    write_image(tmp_path / "train" / "p2" / "a.jpg")
    write_image(tmp_path / "query" / "p3" / "q_c1.jpg")
    write_image(tmp_path / "gallery" / "p3" / "g_c2.jpg")
    write_image(tmp_path / "gallery" / "distractors" / "d.jpg")
    write_image(tmp_path / "gallery" / "junk" / "j.jpg")
    data = read_folder(tmp_path)
    assert data.extra["identity_names"] == ["p1", "p2", "p3"]
    assert data.train.identities.tolist() == [1, 2]
    assert data.query.identities.tolist() == [3]
    assert sorted(data.gallery.identities.tolist()) == [-1, 0, 3]


def test_folder_without_identity_folders_is_an_error(tmp_path):
    write_image(tmp_path / "loose.jpg")
    with pytest.raises(DatasetError, match="identity folders"):
        read_folder(tmp_path)


# ---------------------------------------------------------------- dispatch


def test_read_dataset_dispatches_and_rejects(tmp_path):
    make_market(tmp_path, test=False)
    assert read_dataset("Market-1501", tmp_path).name == "market1501"
    write_image(tmp_path / "crops" / "p1" / "a.jpg")
    assert read_dataset("folder", tmp_path / "crops").train.identities.tolist() == [1]
    assert len(read_dataset("mars", make_mars(tmp_path / "mars")).gallery) == 13
    with pytest.raises(DatasetError, match="Unknown dataset 'cuhk03'.*market1501"):
        read_dataset("cuhk03", tmp_path)
    missing = tmp_path / "nope"
    with pytest.raises(DatasetError, match=r"nope does not exist.*reid synth market1501"):
        read_dataset("mars", missing)


# ---------------------------------------------------------------- validation split


def _image_set(identities, tracklets=None) -> ImageSet:
    identities = np.asarray(identities, dtype=np.int64)
    return ImageSet(
        paths=np.array([f"img{i}.jpg" for i in range(len(identities))]),
        identities=identities,
        cameras=np.ones(len(identities), np.int64),
        tracklets=None if tracklets is None else np.asarray(tracklets, np.int64),
        skipped=("bad.jpg",),
    )


def test_split_is_disjoint_deterministic_and_keeps_arrays_aligned():
    identities = np.repeat(np.arange(1, 21), 3)
    images = _image_set(identities, tracklets=np.arange(60) // 2)
    train, val = split_validation(images, 0.1, seed=5)
    again_train, again_val = split_validation(images, 0.1, seed=5)
    assert np.array_equal(val.paths, again_val.paths)
    assert np.array_equal(train.paths, again_train.paths)
    assert set(np.unique(val.identities).tolist()).isdisjoint(train.identities.tolist())
    assert len(np.unique(val.identities)) == 2 and len(train) + len(val) == 60
    index = {p: i for i, p in enumerate(images.paths.tolist())}
    rows = [index[p] for p in val.paths.tolist()]
    assert np.array_equal(val.tracklets, images.tracklets[rows])
    assert np.array_equal(val.identities, images.identities[rows])
    assert train.skipped == ("bad.jpg",) and val.skipped == ()
    other = {
        tuple(np.unique(split_validation(images, 0.1, seed=s)[1].identities)) for s in range(8)
    }
    assert len(other) > 1


def test_split_bounds():
    images = _image_set([1, 1, 2, 2, 3, 3, -1, 0])
    train, val = split_validation(images, 0.01)
    assert val.num_identities == 1 and set(train.identities.tolist()) >= {-1, 0}
    train, val = split_validation(images, 0.9)
    assert val.num_identities == 1 and len(np.unique(train.identities[train.identities > 0])) == 2
    train, val = split_validation(images, 0.0)
    assert len(val) == 0 and len(train) == len(images)
    with pytest.raises(DatasetError, match="fraction to 0"):
        split_validation(_image_set([1, 2]), 0.1)
    with pytest.raises(DatasetError, match="outside"):
        split_validation(images, 1.0)
