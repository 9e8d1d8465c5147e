"""Atomic file writes: a reader sees the old file or the new one, never half of one.

The file left behind has the mode a plain `open(path, "w")` would give it (0666 less the umask,
or the old file's mode when it replaces one), not the 0600 of the temporary file, so a tracker
or service running as another user can read what was written.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from pathlib import Path


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def normal_mode(path: str | os.PathLike, directory: bool = False) -> int:
    """The permission bits a normal write of `path` would leave: the existing file's, if any."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return (0o777 if directory else 0o666) & ~_current_umask()


def write_bytes_atomic(path: str | os.PathLike, data: bytes, *, durable: bool = True) -> None:
    """Write to a temporary file beside `path`, flush it to disk, then rename it over `path`.

    With `durable=False` the data is not forced to disk before the rename: still atomic for
    readers, but a power cut may leave an empty or old file. Worth it for thousands of small
    files that can be regenerated exactly (synthetic images), where a flush each would dominate.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = normal_mode(path)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            if durable:
                os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_json_atomic(path: str | os.PathLike, payload) -> None:
    """Atomically write `payload` as indented JSON (NaN written as null)."""
    text = json.dumps(_finite(payload), indent=2, sort_keys=False) + "\n"
    write_bytes_atomic(path, text.encode())


def _finite(value):
    """Replace NaN and infinities by None so the file is strict JSON."""
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value
