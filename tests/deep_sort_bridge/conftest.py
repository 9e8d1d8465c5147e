"""Shared inputs of the bridge tests: the real MOT17 frames, when REID_REALDATA_DIR has them.

The small synthetic MOT folder (`synthetic_mot`) is a session fixture of tests/conftest.py,
shared with the tests of the synthetic package.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def _real_mot_dir() -> Path | None:
    root = os.environ.get("REID_REALDATA_DIR")
    if not root:
        return None
    path = Path(root) / "MOT17-mini" / "train"
    return path if path.is_dir() else None


requires_realdata = pytest.mark.skipif(
    _real_mot_dir() is None, reason="REID_REALDATA_DIR with MOT17-mini/train is not set"
)


@pytest.fixture
def real_mot(tmp_path) -> Path:
    """A MOT folder linking two real MOT17 sequences: 1920x1080 (MOT17-02) and 640x480 (-05)."""
    source = _real_mot_dir()
    if source is None:
        pytest.skip("REID_REALDATA_DIR is not set")
    folder = tmp_path / "mot17"
    folder.mkdir()
    for name in ("MOT17-02-FRCNN", "MOT17-05-FRCNN"):
        (folder / name).symlink_to(source / name, target_is_directory=True)
    return folder
