"""Dataset readers: Market-1501, MARS and a folder per identity."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from core.errors import DatasetError
from training.datasets.common import Dataset
from training.datasets.folder import read_folder
from training.datasets.market1501 import read_market1501
from training.datasets.mars import read_mars

READERS: dict[str, Callable[[Path], Dataset]] = {
    "market1501": read_market1501,
    "mars": read_mars,
    "folder": read_folder,
}
_ALIASES = {"market": "market1501", "market-1501": "market1501", "market_1501": "market1501"}


def canonical_name(name: str) -> str:
    """The reader key for a dataset name as a user types it (case and common spellings)."""
    key = name.strip().lower()
    return _ALIASES.get(key, key)


def read_dataset(name: str, data_dir: str | Path) -> Dataset:
    """Read dataset `name` (market1501, mars or folder) from `data_dir`."""
    key = canonical_name(name)
    if key not in READERS:
        raise DatasetError(
            f"Unknown dataset {name!r}.", f"Use one of: {', '.join(sorted(READERS))}."
        )
    path = Path(data_dir).expanduser()
    if not path.exists():
        raise DatasetError(
            f"Dataset folder {path} does not exist.",
            "Check the path, or create a small synthetic dataset there with "
            f"`reid synth market1501 {path}`.",
        )
    if not path.is_dir():
        raise DatasetError(f"{path} is a file, not a dataset folder.", "Pass the folder.")
    return READERS[key](path)


__all__ = ["READERS", "Dataset", "DatasetError", "canonical_name", "read_dataset"]
