"""Shared inputs of the bridge tests: a small synthetic MOT folder and the real MOT17 frames."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from training.datasets.synthetic_mot import SynthMotConfig, write_synthetic_mot

SMALL_MOT = SynthMotConfig(sequences=2, frames=60, width=480, height=360, people=6, seed=5)


@pytest.fixture(scope="session")
def synthetic_mot(tmp_path_factory) -> Path:
    """Two synthetic sequences (SYNTH-01, SYNTH-02) of 60 frames with 6 people each."""
    out = tmp_path_factory.mktemp("synthetic_mot") / "mot"
    write_synthetic_mot(out, SMALL_MOT, progress=False)
    return out


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
