"""Reader for users' own crops: one folder per identity.

Layout: ``DIR/<identity>/*.{jpg,jpeg,png,bmp}`` (everything is training data), or with splits
``DIR/train/<identity>/...`` plus optional ``DIR/query/<identity>/...`` and
``DIR/gallery/<identity>/...``. The split layout is used when ``DIR/train`` holds
sub-folders (an identity folder called ``train`` would hold images instead).

Identities are the folder names mapped to 1..N in sorted order over all splits, so the same
person has the same number in query and gallery; ``Dataset.extra["identity_names"]`` lists
the names in that order (identity ``i`` is ``identity_names[i - 1]``). Two folder names are
reserved, as in Market-1501: ``-1`` or ``junk`` for junk crops (identity -1, ignored by
evaluation) and ``0``/``0000`` or ``distractors`` for distractors (identity 0, negatives for
every query); neither is trained on. The camera is taken from a ``c<N>``/``cam<N>`` token in
the file name (``0001_c3s1_000151_01.jpg``, ``cam2_0042.png``, ``0001C1T0001F001.jpg``), else 1.
Images directly inside ``DIR`` (outside identity folders) are ignored.
"""

from __future__ import annotations

import re
from pathlib import Path

from core.errors import DatasetError
from training.datasets.checks import list_image_names, list_subdirectories, screened_image_set
from training.datasets.common import (
    DISTRACTOR_IDENTITY,
    JUNK_IDENTITY,
    Dataset,
    ImageSet,
)

SPLITS = ("train", "query", "gallery")
JUNK_NAMES = frozenset({"-1", "junk"})
DISTRACTOR_NAMES = frozenset({"0", "0000", "distractors"})
DEFAULT_CAMERA = 1
_CAMERA_RE = re.compile(r"(?:^|[^A-Za-z])(?:c|cam)(\d{1,3})(?!\d)", re.IGNORECASE)


def parse_camera(name: str) -> int:
    """Camera number from a ``c<N>``/``cam<N>`` token not glued to a preceding letter, else 1."""
    match = _CAMERA_RE.search(Path(name).stem)
    return int(match.group(1)) if match else DEFAULT_CAMERA


def reserved_identity(folder: str) -> int | None:
    """-1 or 0 for the reserved junk/distractor folder names, None for a real identity."""
    lowered = folder.lower()
    if lowered in JUNK_NAMES:
        return JUNK_IDENTITY
    if lowered in DISTRACTOR_NAMES:
        return DISTRACTOR_IDENTITY
    return None


def identity_numbers(folders: set[str]) -> dict[str, int]:
    """Folder name -> identity: reserved names keep -1/0, the others get 1..N in sorted order."""
    real = sorted(f for f in folders if reserved_identity(f) is None)
    numbers = {name: i + 1 for i, name in enumerate(real)}
    numbers.update({f: reserved_identity(f) for f in folders if reserved_identity(f) is not None})
    return numbers


def is_split_layout(data_dir: Path) -> bool:
    """True when ``DIR/train`` is a folder of identity folders."""
    train = data_dir / "train"
    return train.is_dir() and bool(list_subdirectories(train))


def read_split(split_dir: Path, numbers: dict[str, int]) -> ImageSet:
    """All images under the identity folders of `split_dir`, screened for corrupt files."""
    paths, identities, cameras = [], [], []
    for folder in list_subdirectories(split_dir):
        for name in list_image_names(split_dir / folder):
            paths.append(str(split_dir / folder / name))
            identities.append(numbers[folder])
            cameras.append(parse_camera(name))
    return screened_image_set(str(split_dir), paths, identities, cameras)


def _layout_error(data_dir: Path) -> DatasetError:
    return DatasetError(
        f"{data_dir} has no identity folders.",
        "Put each person's crops in their own sub-folder (DIR/<identity>/*.jpg), optionally "
        "under DIR/train/, DIR/query/ and DIR/gallery/; `reid synth market1501 DIR` writes a "
        "synthetic dataset to compare with.",
    )


def read_folder(data_dir: str | Path) -> Dataset:
    """Read a folder-per-identity dataset; see the module docstring for the layout."""
    data_dir = Path(data_dir)
    if is_split_layout(data_dir):
        split_dirs = {s: data_dir / s for s in SPLITS if (data_dir / s).is_dir()}
    else:
        split_dirs = {"train": data_dir}
    folders = {f for d in split_dirs.values() for f in list_subdirectories(d)}
    if not folders:
        raise _layout_error(data_dir)
    numbers = identity_numbers(folders)
    splits = {s: read_split(d, numbers) for s, d in split_dirs.items()}
    names = sorted(f for f in folders if reserved_identity(f) is None)
    return Dataset(
        name="folder",
        train=splits["train"],
        query=splits.get("query"),
        gallery=splits.get("gallery"),
        extra={"identity_names": names},
    )
