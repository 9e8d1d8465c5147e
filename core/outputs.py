"""Resumable output folders: decide whether a writer starts afresh, resumes or has nothing to do.

The dataset writers (`reid synth market1501`, `reid synth mot`, `reid dataset-from-mot`) share
one protocol for their output folder OUT:

* while a run is under way, OUT holds a *partial marker* (a small JSON file naming the
  writer's format and settings), so an interrupted run can be recognised and finished;
* when the run ends, the writer saves its *record* (the same marker plus a summary) and removes
  the partial marker, so a rerun with the same settings knows there is nothing to do;
* a folder holding anything else is refused before a single byte is written, because OUT may
  be a real dataset the user typed by mistake.

`check_output_folder` makes that decision once for every writer, with the same wording.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Literal

from core.errors import DatasetError

FolderState = Literal["fresh", "resume", "complete"]

_SHOWN_NAMES = 3  # names of foreign entries quoted in a refusal
_SHOWN_VALUE = 60  # characters of a setting's value quoted in a refusal


def read_json_record(path: str | os.PathLike) -> dict | None:
    """The JSON object stored in `path`, or None if it is missing, unreadable or not an object."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def same_settings(recorded: dict | None, marker: dict) -> bool:
    """True if `recorded` holds every entry of `marker` with the same value.

    A record may carry more than the marker (its summary, say); only the marker's entries
    decide whether it describes the same output.
    """
    return recorded is not None and all(recorded.get(k) == v for k, v in marker.items())


def is_stale_temporary(name: str) -> bool:
    """True for the hidden ``.NAME.XXXX.tmp`` files an interrupted atomic write leaves."""
    return name.startswith(".") and name.endswith(".tmp")


def remove_stale_temporaries(folder: str | os.PathLike) -> int:
    """Delete the leftovers of interrupted atomic writes anywhere under `folder`; return how many.

    Finished files are always renamed into place, so a temporary file is never part of the
    output; resuming writers call this so the folder ends up exactly as a clean run leaves it.
    """
    removed = 0
    for root, _, names in os.walk(folder):
        for name in names:
            if is_stale_temporary(name):
                Path(root, name).unlink(missing_ok=True)
                removed += 1
    return removed


def describe_difference(recorded: dict | None, marker: dict) -> str:
    """Which of the recorded settings differ from `marker`, for an error message.

    Nested settings (a writer's config) are compared entry by entry, e.g.
    ``"junk=2 recorded, 3 asked"``.
    """
    if recorded is None:
        return "its record is unreadable"
    parts = []
    for key, wanted in marker.items():
        have = recorded.get(key)
        if isinstance(wanted, dict) and isinstance(have, dict):
            for name in [*wanted, *(k for k in have if k not in wanted)]:
                if have.get(name) != wanted.get(name):
                    parts.append(_difference(name, have.get(name), wanted.get(name)))
        elif have != wanted:
            parts.append(_difference(key, have, wanted))
    return "; ".join(parts) if parts else "its record does not match"


def _difference(name: str, have, wanted) -> str:
    return f"{name}={_short(have)} recorded, {_short(wanted)} asked"


def _short(value) -> str:
    text = "none" if value is None else str(value)
    return text if len(text) <= _SHOWN_VALUE else text[: _SHOWN_VALUE - 3] + "..."


def _shown(names: list[str]) -> str:
    shown = ", ".join(names[:_SHOWN_NAMES])
    return shown + (", ..." if len(names) > _SHOWN_NAMES else "")


def check_output_folder(
    out: str | os.PathLike,
    marker: dict,
    record_name: str,
    partial_name: str,
    what: str,
    *,
    command: str,
    ours: Collection[str] = (),
    is_complete: Callable[[dict], bool] | None = None,
) -> FolderState:
    """Decide what a resumable writer does with its output folder `out`; change nothing.

    Returns "fresh" when `out` is missing or empty, "complete" when it holds this writer's
    record (`record_name`) with the settings in `marker` (and `is_complete(record)`, if given,
    agrees that every file is still there), and "resume" when it holds a partial marker
    (`partial_name`) with these settings, or a matching record whose files are incomplete.

    Raises DatasetError, naming the fix, when `out` is a file, when its record or partial marker
    was written with other settings, or when it holds anything not written by this writer.
    While resuming, the partial marker, the entries named in `ours` (the writer's own folders
    and files) and stale temporary files are expected; a fresh run needs an empty folder.

    `what` names the output in messages ("a synthetic dataset") and `command` the writer
    ("`reid synth market1501`").
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise DatasetError(
            f"Cannot write {what} to {out}: it is a file, not a folder.",
            "Pass a new or empty folder path.",
        )
    if not out.exists():
        return "fresh"
    record_path, partial_path = out / record_name, out / partial_name
    if record_path.is_file():
        recorded = read_json_record(record_path)
        if not same_settings(recorded, marker):
            raise DatasetError(
                f"{out} is already {what} made with different settings "
                f"({describe_difference(recorded, marker)}).",
                f"Choose another folder for {what} with other settings, or delete {out}.",
            )
        if is_complete is None or is_complete(recorded):
            return "complete"
        return "resume"  # files deleted since (or never finished) are written again
    resuming = partial_path.is_file()
    if resuming:
        recorded = read_json_record(partial_path)
        if not same_settings(recorded, marker):
            raise DatasetError(
                f"{out} holds an unfinished run of {command} made with different settings "
                f"({describe_difference(recorded, marker)}).",
                f"Rerun with those settings to finish it, or delete {out}.",
            )
    expected = {partial_name, *ours} if resuming else set()
    with os.scandir(out) as entries:
        foreign = sorted(
            e.name
            for e in entries
            if e.name not in expected and not (resuming and is_stale_temporary(e.name))
        )
    if foreign:
        raise DatasetError(
            f"{out} is not {what}: it already contains {_shown(foreign)}, not written by "
            f"{command}.",
            "Choose a new or empty folder; nothing was changed.",
        )
    return "resume" if resuming else "fresh"
