"""MARS reader: video tracklets of Market-1501 people, for training and the video protocol.

Layout: ``DIR/bbox_train/PPPP/*.jpg`` and ``DIR/bbox_test/PPPP/*.jpg`` with file names
``PPPPCcTttttFfff.jpg`` (identity, camera, tracklet within identity and camera, frame); the
test identities include ``00-1`` (junk, read as -1) and ``0000`` (distractors, 0). ``DIR/info``
holds ``train_name.txt`` / ``test_name.txt`` (image names in order) and
``tracks_train_info.mat`` / ``tracks_test_info.mat`` (one row per tracklet: first and last
image as 1-based inclusive positions in the name list, identity, camera), and
``query_IDX.mat`` (1-based rows of the test tracklets that are queries).

What the reader returns
-----------------------
``train``: every training image, ``tracklets`` = its tracklet's row in the train info matrix.

``query`` / ``gallery`` follow the official MARS evaluation code (``test_mars.m``): the
gallery is **all** test tracklets, queries included, and a query's own tracklet drops out
because gallery tracklets of the query's identity and camera are ignored (as are junk ones);
distractors count as negatives. (Some re-implementations remove the queries from the gallery
instead, which drops a few true matches and changes the numbers slightly.) So ``gallery`` holds
every usable test image and ``query`` the images of the query tracklets - a subset of the
gallery: compute test features once. ``tracklets`` of both is the tracklet's row in the test
info matrix (0-based).

``extra`` (the video protocol's input: average each tracklet's image features, re-normalise,
then rank as for Market-1501):

- ``protocol``: ``"video"``;
- ``query_tracklets`` / ``gallery_tracklets``: int64 arrays of shape (n, 3), one row per
  tracklet, columns (tracklet, identity, camera), with ``tracklet`` the value in
  ``ImageSet.tracklets``. Tracklets whose images were all skipped as corrupt are left out;
- ``notes``: sentences for the user (for instance why the test split is unavailable).

Without ``info/`` the reader falls back to the folders: identity from the ``bbox_train``
folder name, camera and tracklet from the file name (tracklets numbered per distinct
identity, camera and tracklet number); the test split is then unavailable (query and gallery
None, a note says so) because the query list lives in ``info/``.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np

from core.errors import DatasetError
from training.datasets.checks import (
    bad_name_error,
    find_nested_root,
    list_image_names,
    list_subdirectories,
    screened_image_set,
)
from training.datasets.common import Dataset, ImageSet

log = logging.getLogger(__name__)

TRAIN_DIR = "bbox_train"
TEST_DIR = "bbox_test"
INFO_DIR = "info"
NAME_PATTERN = "PPPPCcTttttFfff.jpg (e.g. 0001C1T0001F001.jpg)"
_NAME_RE = re.compile(r"^(\d{4}|00-1)C(\d+)T(\d+)F(\d+)\.[A-Za-z]+$")
_TRAIN_INFO = ("train_name.txt", "tracks_train_info.mat")
_TEST_INFO = ("test_name.txt", "tracks_test_info.mat", "query_IDX.mat")


def parse_name(name: str) -> tuple[int, int, int] | None:
    """(identity, camera, tracklet number) from a MARS file name, or None if it does not match."""
    match = _NAME_RE.match(name)
    if match is None:
        return None
    return parse_identity(match.group(1)), int(match.group(2)), int(match.group(3))


def parse_identity(text: str) -> int:
    """Identity from a MARS folder or name prefix: ``00-1`` is junk (-1), ``0000`` distractor."""
    return -1 if text.endswith("-1") else int(text)


def load_mat_array(path: Path) -> np.ndarray:
    """The one matrix stored in a MARS .mat file, as int64."""
    from scipy.io import loadmat

    try:
        content = loadmat(str(path))
    except (OSError, ValueError, NotImplementedError) as exc:
        raise DatasetError(
            f"Cannot read {path}: {exc}.",
            "Re-download the MARS info files (MATLAB v5 .mat).",
        ) from exc
    arrays = [v for k, v in content.items() if not k.startswith("__") and hasattr(v, "shape")]
    if len(arrays) != 1:
        raise DatasetError(
            f"{path} should hold exactly one matrix, found {len(arrays)}.",
            "Re-download the MARS info files.",
        )
    return np.asarray(arrays[0]).astype(np.int64)


def read_names(path: Path) -> list[str]:
    """Image names of a MARS ``*_name.txt`` file, in order (blank lines ignored)."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(
            f"Cannot read {path}: {exc}.", "Re-download the MARS info files."
        ) from exc
    return [line.strip() for line in text.splitlines() if line.strip()]


def load_tracks(path: Path, num_names: int) -> np.ndarray:
    """Tracklet matrix (T, 4): start, end (1-based, inclusive), identity, camera; validated."""
    tracks = load_mat_array(path)
    if tracks.ndim != 2 or tracks.shape[1] < 4:
        raise DatasetError(
            f"{path} should be a tracklets x 4 matrix (start, end, identity, camera), "
            f"found shape {tracks.shape}.",
            "Re-download the MARS info files.",
        )
    tracks = tracks[:, :4]
    starts, ends = tracks[:, 0], tracks[:, 1]
    if tracks.size and (starts.min() < 1 or ends.max() > num_names or np.any(ends < starts)):
        raise DatasetError(
            f"{path} points outside its name list ({num_names} names) or has empty tracklets.",
            "The info files do not belong together: re-download the MARS info folder.",
        )
    return tracks


def tracklet_rows(tracks: np.ndarray) -> np.ndarray:
    """For each name position listed by a track, the tracklet row it belongs to."""
    lengths = tracks[:, 1] - tracks[:, 0] + 1
    return np.repeat(np.arange(len(tracks), dtype=np.int64), lengths)


def name_positions(tracks: np.ndarray) -> np.ndarray:
    """0-based positions in the name list, in the order of `tracklet_rows`."""
    return np.concatenate(
        [np.arange(s - 1, e, dtype=np.int64) for s, e in tracks[:, :2]] or [np.zeros(0, np.int64)]
    )


def image_path(split_dir: Path, name: str) -> str:
    """MARS keeps each image in a folder named by the first four characters of its name."""
    return str(split_dir / name[:4] / name)


def _check_names(names: list[str], source: Path) -> None:
    bad = [n for n in names if _NAME_RE.match(n) is None]
    if bad:
        raise bad_name_error(source, bad, len(names), NAME_PATTERN)


def read_tracked_split(
    split_dir: Path, names_file: Path, tracks_file: Path
) -> tuple[ImageSet, np.ndarray]:
    """Images of one split as listed by the info files, each labelled by its tracklet row;
    also the tracklet matrix."""
    names = read_names(names_file)
    _check_names(names, names_file)
    tracks = load_tracks(tracks_file, len(names))
    rows = tracklet_rows(tracks)
    positions = name_positions(tracks)
    images = screened_image_set(
        str(split_dir),
        [image_path(split_dir, names[i]) for i in positions],
        tracks[rows, 2],
        tracks[rows, 3],
        rows,
    )
    return images, tracks


def tracklet_table(images: ImageSet, rows: np.ndarray) -> np.ndarray:
    """(tracklet, identity, camera) for the given tracklet rows that still have images."""
    present, first = np.unique(images.tracklets, return_index=True)
    keep = np.isin(rows, present)
    rows = rows[keep]
    where = first[np.searchsorted(present, rows)]
    return (
        np.stack([rows, images.identities[where], images.cameras[where]], axis=1)
        .astype(np.int64)
        .reshape(-1, 3)
    )


def read_test(data_dir: Path) -> tuple[ImageSet, ImageSet, dict]:
    """Query and gallery ImageSets and the video-protocol tables (official MARS protocol)."""
    info = data_dir / INFO_DIR
    gallery, tracks = read_tracked_split(
        data_dir / TEST_DIR, info / "test_name.txt", info / "tracks_test_info.mat"
    )
    query_rows = load_mat_array(info / "query_IDX.mat").reshape(-1) - 1
    total = len(tracks)
    if query_rows.size == 0 or query_rows.min() < 0 or query_rows.max() >= total:
        raise DatasetError(
            f"{info / 'query_IDX.mat'} lists rows outside 1..{total} of tracks_test_info.mat.",
            "The info files do not belong together: re-download the MARS info folder.",
        )
    query_rows = np.unique(query_rows)
    in_query = np.isin(gallery.tracklets, query_rows)
    query = ImageSet(
        paths=gallery.paths[in_query],
        identities=gallery.identities[in_query],
        cameras=gallery.cameras[in_query],
        tracklets=gallery.tracklets[in_query],
    )
    extra = {
        "protocol": "video",
        "query_tracklets": tracklet_table(gallery, query_rows),
        "gallery_tracklets": tracklet_table(gallery, np.arange(total)),
    }
    return query, gallery, extra


def read_folders(split_dir: Path) -> ImageSet:
    """Fallback without info files: identity from the folder, camera and tracklet from names."""
    paths, identities, cameras, keys = [], [], [], []
    for folder in list_subdirectories(split_dir):
        names = list_image_names(split_dir / folder)
        parsed = [parse_name(n) for n in names]
        bad = [n for n, p in zip(names, parsed, strict=True) if p is None]
        if bad:
            raise bad_name_error(split_dir / folder, bad, len(names), NAME_PATTERN)
        identity = parse_identity(folder) if re.fullmatch(r"\d+|00-1|-1", folder) else None
        if identity is None:
            raise DatasetError(
                f"{split_dir / folder} is not a MARS identity folder (expected a name like "
                "0001, 0000 or 00-1).",
                "Move it out of the dataset folder.",
            )
        for name, (_, camera, number) in zip(names, parsed, strict=True):
            paths.append(str(split_dir / folder / name))
            identities.append(identity)
            cameras.append(camera)
            keys.append((identity, camera, number))
    key_ids = {key: i for i, key in enumerate(sorted(set(keys)))}
    return screened_image_set(
        str(split_dir), paths, identities, cameras, [key_ids[k] for k in keys]
    )


def _missing_train_error(data_dir: Path) -> DatasetError:
    nested = find_nested_root(data_dir, TRAIN_DIR)
    hint = f" It looks like the dataset is in {nested}: pass that folder instead." if nested else ""
    return DatasetError(
        f"{data_dir} is not a MARS folder: {data_dir / TRAIN_DIR} is missing.",
        f"Expected {TRAIN_DIR}/PPPP/, {TEST_DIR}/PPPP/ and {INFO_DIR}/ inside it, with image "
        f"files named {NAME_PATTERN}.{hint}",
    )


def _has(directory: Path, files: tuple[str, ...]) -> bool:
    return all((directory / f).is_file() for f in files)


def _note(notes: list[str], text: str) -> None:
    log.warning(text)
    notes.append(text)


def read_mars(data_dir: str | Path) -> Dataset:
    """Read a MARS folder; see the module docstring for the splits and ``extra``."""
    data_dir = Path(data_dir)
    if not (data_dir / TRAIN_DIR).is_dir():
        raise _missing_train_error(data_dir)
    info = data_dir / INFO_DIR
    notes: list[str] = []
    if _has(info, _TRAIN_INFO):
        train, _ = read_tracked_split(
            data_dir / TRAIN_DIR, info / "train_name.txt", info / "tracks_train_info.mat"
        )
    else:
        _note(
            notes,
            f"{info} has no train_name.txt/tracks_train_info.mat: reading {TRAIN_DIR}/ "
            "folders instead (tracklets from file names).",
        )
        train = read_folders(data_dir / TRAIN_DIR)
    query = gallery = None
    extra: dict = {}
    if not (data_dir / TEST_DIR).is_dir():
        _note(notes, f"{data_dir / TEST_DIR} is missing: the MARS test split is unavailable.")
    elif not _has(info, _TEST_INFO):
        _note(
            notes,
            f"{info} lacks {', '.join(_TEST_INFO)}: the MARS test split (which needs "
            "the query list) is unavailable.",
        )
    else:
        query, gallery, extra = read_test(data_dir)
    extra["notes"] = notes
    return Dataset(name="mars", train=train, query=query, gallery=gallery, extra=extra)
