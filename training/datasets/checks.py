"""Which files count as images, and the one corrupt-image policy every reader follows.

Policy
------
Every reader screens every image file when it indexes a split, cheaply: it reads only the first
16 bytes and the last 4 KiB of each file and never decodes pixels. A file is *bad* when

- it cannot be opened or is empty;
- it is not a JPEG (starts FF D8 FF), PNG (8-byte PNG signature) or BMP (starts ``BM``),
  whatever its extension says (decoders go by content, so a PNG named ``.jpg`` is fine);
- a JPEG does not end with the end-of-image marker FF D9 (trailing zero bytes are allowed:
  some writers pad files) - the usual sign of a truncated download or a full disk;
- a PNG has no ``IEND`` chunk at its end;
- a BMP is shorter than its header says.

Bad files are skipped: they are left out of the split's arrays and listed in
``ImageSet.skipped`` so the train command can report how many there were and name the first
few (``image_problem`` says what is wrong with one of them). If more than 10% of a split is
bad, something is badly wrong with the copy of the dataset (partial extraction, wrong folder),
and the reader raises ``DatasetError`` naming a few of the files instead of training on what is
left.

The check is I/O bound, so large splits are screened by a small thread pool.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from core.errors import DatasetError
from core.io import is_image_name
from training.datasets.common import ImageSet

MAX_CORRUPT_FRACTION = 0.10

_HEAD_BYTES = 16
_TAIL_BYTES = 4096
_JPEG_START = b"\xff\xd8\xff"
_JPEG_END = b"\xff\xd9"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_IEND = b"IEND\xaeB`\x82"
_BMP_START = b"BM"
_BMP_HEADER_BYTES = 26
_PARALLEL_ABOVE = 512
_CHUNK = 1024


def list_image_names(directory: Path) -> list[str]:
    """Sorted names of the image files directly inside `directory` (not recursive)."""
    with os.scandir(directory) as entries:
        names = [e.name for e in entries if is_image_name(e.name) and e.is_file()]
    return sorted(names)


def list_subdirectories(directory: Path) -> list[str]:
    """Sorted names of the folders directly inside `directory` (hidden ones left out)."""
    with os.scandir(directory) as entries:
        names = [e.name for e in entries if e.is_dir() and not e.name.startswith(".")]
    return sorted(names)


def _read_ends(path: str) -> tuple[int, bytes, bytes]:
    """File size, its first `_HEAD_BYTES` and its last `_TAIL_BYTES` bytes."""
    with open(path, "rb", buffering=0) as f:
        size = os.fstat(f.fileno()).st_size
        head = f.read(_HEAD_BYTES)
        if size > _TAIL_BYTES:
            f.seek(size - _TAIL_BYTES)
            tail = f.read(_TAIL_BYTES)
        else:
            f.seek(0)
            tail = f.read()
    return size, head, tail


def _format_problem(size: int, head: bytes, tail: bytes) -> str | None:
    """What is wrong with a file, judged from its size and its two ends; None if it looks fine."""
    if size == 0:
        return "empty file"
    if head.startswith(_JPEG_START):
        if not tail.rstrip(b"\x00").endswith(_JPEG_END):
            return "truncated JPEG (no end-of-image marker)"
        return None
    if head.startswith(_PNG_SIGNATURE):
        if _PNG_IEND not in tail:
            return "truncated PNG (no IEND chunk)"
        return None
    if head.startswith(_BMP_START):
        declared = int.from_bytes(head[2:6], "little")
        if size < _BMP_HEADER_BYTES or declared > size:
            return "truncated BMP"
        return None
    return "not a JPEG, PNG or BMP image"


def image_problem(path: str | os.PathLike) -> str | None:
    """Why the file at `path` cannot be used as an image, or None if it looks fine."""
    try:
        size, head, tail = _read_ends(os.fspath(path))
    except OSError as exc:
        return f"unreadable ({exc.strerror or exc})"
    return _format_problem(size, head, tail)


def _chunk_ok(paths: Sequence[str]) -> list[bool]:
    return [image_problem(p) is None for p in paths]


def good_image_mask(paths: Sequence[str]) -> np.ndarray:
    """Boolean mask, True where the file passes the cheap check; threads for long lists."""
    if len(paths) <= _PARALLEL_ABOVE:
        return np.array(_chunk_ok(paths), dtype=bool).reshape(-1)
    chunks = [paths[i : i + _CHUNK] for i in range(0, len(paths), _CHUNK)]
    workers = min(32, 4 * (os.cpu_count() or 1), len(chunks))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(_chunk_ok, chunks))
    return np.fromiter((ok for part in results for ok in part), dtype=bool, count=len(paths))


def _examples(paths: Sequence[str], limit: int = 3) -> str:
    return "; ".join(f"{p} ({image_problem(p)})" for p in paths[:limit])


def screened_image_set(
    split: str,
    paths: Sequence[str],
    identities: Sequence[int] | np.ndarray,
    cameras: Sequence[int] | np.ndarray,
    tracklets: Sequence[int] | np.ndarray | None = None,
) -> ImageSet:
    """An ImageSet of the files that pass the check; bad ones go to `skipped`.

    `split` names the split in messages (usually its folder). Raises DatasetError when the
    split is empty or more than 10% of its files are bad.
    """
    paths = [os.fspath(p) for p in paths]
    if not paths:
        raise DatasetError(
            f"No images in {split}.",
            "Put the image files there (jpg, png or bmp), or create a synthetic dataset with "
            "`reid synth market1501 DIR`.",
        )
    ok = good_image_mask(paths)
    bad = [p for p, good in zip(paths, ok, strict=True) if not good]
    if len(bad) > MAX_CORRUPT_FRACTION * len(paths):
        raise DatasetError(
            f"{len(bad)} of {len(paths)} image files in {split} are corrupt or unreadable "
            f"(more than {MAX_CORRUPT_FRACTION:.0%}), e.g. {_examples(bad)}.",
            "The copy of the dataset is probably incomplete: extract or download it again.",
        )
    return ImageSet(
        paths=np.asarray(paths, dtype=str)[ok],
        identities=np.asarray(identities, dtype=np.int64).reshape(-1)[ok],
        cameras=np.asarray(cameras, dtype=np.int64).reshape(-1)[ok],
        tracklets=None
        if tracklets is None
        else np.asarray(tracklets, dtype=np.int64).reshape(-1)[ok],
        skipped=tuple(bad),
    )


def bad_name_error(directory: Path, bad: Sequence[str], total: int, pattern: str) -> DatasetError:
    """The error for image files whose names do not follow a dataset's naming pattern."""
    return DatasetError(
        f"{len(bad)} of {total} image files in {directory} do not match the name pattern "
        f"{pattern}; the first is {bad[0]!r}.",
        "Rename or remove those files, or read the folder with the `folder` dataset "
        "(one sub-folder per identity) instead.",
    )


def find_nested_root(data_dir: Path, marker: str) -> Path | None:
    """A direct sub-folder of `data_dir` that contains `marker` (a dataset extracted one level
    deeper than the user pointed at), or None."""
    try:
        candidates = [data_dir / name for name in list_subdirectories(data_dir)]
    except OSError:
        return None
    found = [c for c in candidates if (c / marker).is_dir()]
    return found[0] if len(found) == 1 else None
