"""Market-1501 reader: image paths with identity and camera labels for its three splits.

Layout: ``DIR/bounding_box_train`` (train), ``DIR/query`` (query) and
``DIR/bounding_box_test`` (gallery), files named ``PPPP_cCsS_FFFFFF_BB.jpg``: PPPP the identity
(``0000`` a distractor, ``-1`` junk), C the camera (1-based, kept as in the file name), S the
recording sequence, FFFFFF the frame and BB the detection. Other folders (``gt_bbox``,
``gt_query``) and non-image files are ignored. Query and gallery may be missing (training
still works; evaluation reports the gap itself).
"""

from __future__ import annotations

import re
from pathlib import Path

from core.errors import DatasetError
from training.datasets.checks import (
    bad_name_error,
    find_nested_root,
    list_image_names,
    screened_image_set,
)
from training.datasets.common import Dataset, ImageSet

TRAIN_DIR = "bounding_box_train"
QUERY_DIR = "query"
GALLERY_DIR = "bounding_box_test"
NAME_PATTERN = "PPPP_cCsS_FFFFFF_BB.jpg (e.g. 0002_c1s1_000451_03.jpg)"
_NAME_RE = re.compile(r"^(-1|\d+)_c(\d+)s(\d+)_(\d+)_(\d+)\.[A-Za-z]+$")


def parse_name(name: str) -> tuple[int, int] | None:
    """(identity, camera) from a Market-1501 file name, or None if it does not match."""
    match = _NAME_RE.match(name)
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2))


def read_split(directory: Path) -> ImageSet:
    """All images of one split folder; bad names raise, corrupt files are skipped."""
    names = list_image_names(directory)
    parsed = [parse_name(n) for n in names]
    bad = [n for n, p in zip(names, parsed, strict=True) if p is None]
    if bad:
        raise bad_name_error(directory, bad, len(names), NAME_PATTERN)
    return screened_image_set(
        str(directory),
        [str(directory / n) for n in names],
        [p[0] for p in parsed],
        [p[1] for p in parsed],
    )


def _missing_train_error(data_dir: Path) -> DatasetError:
    nested = find_nested_root(data_dir, TRAIN_DIR)
    hint = f" It looks like the dataset is in {nested}: pass that folder instead." if nested else ""
    return DatasetError(
        f"{data_dir} is not a Market-1501 folder: {data_dir / TRAIN_DIR} is missing.",
        f"Expected {TRAIN_DIR}/, {QUERY_DIR}/ and {GALLERY_DIR}/ inside it, holding files named "
        f"{NAME_PATTERN}; `reid synth market1501 DIR` writes a small synthetic one.{hint}",
    )


def read_market1501(data_dir: str | Path) -> Dataset:
    """Read a Market-1501 folder; query/gallery are None where their folders are missing."""
    data_dir = Path(data_dir)
    if not (data_dir / TRAIN_DIR).is_dir():
        raise _missing_train_error(data_dir)
    train = read_split(data_dir / TRAIN_DIR)
    query = read_split(data_dir / QUERY_DIR) if (data_dir / QUERY_DIR).is_dir() else None
    gallery = read_split(data_dir / GALLERY_DIR) if (data_dir / GALLERY_DIR).is_dir() else None
    return Dataset(name="market1501", train=train, query=query, gallery=gallery)
