"""Writing a synthetic Market-1501 dataset: `reid synth market1501 OUT`.

The dataset has the real Market-1501 layout (see `training.datasets.market1501`), so training,
evaluation and the demos run end to end without downloading anything. `market_plan` decides
what every file shows; this module writes the files, in worker processes when there are enough
of them, and keeps the output folder resumable (see `core.outputs`): an interrupted run is
finished by rerunning it, a finished one is not redone, and a folder holding anything else is
refused untouched.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict
from pathlib import Path

from tqdm import tqdm

from core.atomic import write_json_atomic
from core.errors import DatasetError
from core.images import write_jpeg_atomic
from core.outputs import (
    check_output_folder,
    describe_difference,
    read_json_record,
    remove_stale_temporaries,
    same_settings,
)
from synthetic.appearance import Appearance
from synthetic.market_plan import (
    GALLERY_DIR,
    IMAGE_HEIGHT,
    IMAGE_WIDTH,
    QUERY_DIR,
    SPLIT_DIRS,
    TRAIN_DIR,
    ImageSpec,
    SynthConfig,
    appearance_of,
    camera_looks,
    identity_split,
    plan_dataset,
    render_spec,
    validate_config,
)

__all__ = [
    "GALLERY_DIR",
    "PARTIAL_FILE",
    "QUERY_DIR",
    "SUMMARY_FILE",
    "TRAIN_DIR",
    "SynthConfig",
    "default_workers",
    "other_settings",
    "write_synthetic_market1501",
]

FORMAT_NAME = "reid-synthetic-market1501"
GENERATOR_VERSION = 1
SUMMARY_FILE = "synth.json"
PARTIAL_FILE = ".synth-partial.json"
_CHUNK = 64  # images per task handed to a worker process
_MIN_CHUNKS_FOR_WORKERS = 8  # below this, starting worker processes costs more than it saves
_DEFAULT_CONFIG = SynthConfig()


def default_workers() -> int:
    """One rendering process per CPU core this process may use, at most 8."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(8, cores))


def _write_chunk(out_dir: str, config: SynthConfig, specs: list[ImageSpec]) -> int:
    """Render and write some planned images (one worker's share); returns how many."""
    out = Path(out_dir)
    cameras = camera_looks(config)
    appearances: dict[int, Appearance] = {}
    for spec in specs:
        if spec.kind == "person" and spec.person not in appearances:
            appearances = {spec.person: appearance_of(spec.person, config.seed)}
        write_jpeg_atomic(
            out / spec.split / spec.name, render_spec(spec, config, cameras, appearances)
        )
    return len(specs)


def _main_is_reimportable() -> bool:
    """True if worker processes may import the caller's main module without rerunning it.

    Spawned workers import `__main__` again; a script without an `if __name__ == "__main__":`
    guard would run its top-level code once more in every worker. Interactive sessions and
    `python -c` have no main file, which is also safe.
    """
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if path is None:
        return True
    try:
        source = Path(path).read_text(encoding="utf-8", errors="ignore")
    except OSError:
        return False
    return "__name__" in source and "__main__" in source


def _write_all(
    out: Path, config: SynthConfig, specs: list[ImageSpec], bar: tqdm, workers: int
) -> int:
    """Write `specs`, in worker processes when there are enough of them to be worth it.

    Workers are spawned (not forked, which is unsafe once the caller runs threads, as
    TensorFlow does) and only when the caller's main module can be imported again safely.
    If the pool breaks anyway, the rest is written in this process.
    """
    chunks = [specs[i : i + _CHUNK] for i in range(0, len(specs), _CHUNK)]
    if workers > 1 and len(chunks) >= _MIN_CHUNKS_FOR_WORKERS and _main_is_reimportable():
        context = multiprocessing.get_context("spawn")
        try:
            with ProcessPoolExecutor(min(workers, len(chunks)), mp_context=context) as pool:
                futures = [pool.submit(_write_chunk, str(out), config, chunk) for chunk in chunks]
                try:
                    for future in as_completed(futures):
                        bar.update(future.result())
                except BaseException:
                    for future in futures:
                        future.cancel()
                    raise
            return len(specs)
        except BrokenProcessPool:
            chunks = [[s for s in c if not (out / s.split / s.name).exists()] for c in chunks]
    _write_here(out, config, chunks, bar)
    return len(specs)


def _write_here(out: Path, config: SynthConfig, chunks: list[list[ImageSpec]], bar: tqdm) -> None:
    """Write chunks of images in this process."""
    for chunk in chunks:
        bar.update(_write_chunk(str(out), config, chunk))


# Settings added after datasets were first written, with the value those datasets used: left out
# of the record at that value, so a dataset written before they existed still matches.
_LATER_SETTINGS = {"camera_strength": 1.0, "box_stretch": 1.0, "detail": 0.0, "neighbours": 0.0}


def _marker(config: SynthConfig) -> dict:
    """What identifies this dataset in its record and partial marker: generator and settings."""
    settings = {
        name: value
        for name, value in asdict(config).items()
        if name not in _LATER_SETTINGS or value != _LATER_SETTINGS[name]
    }
    return {"format": FORMAT_NAME, "version": GENERATOR_VERSION, "config": settings}


def other_settings(out_dir: str | Path, config: SynthConfig) -> str | None:
    """If `out_dir` holds a finished synthetic dataset written with settings other than
    `config`, what differs (e.g. "junk=30 recorded, 31 asked"); else None."""
    recorded, marker = read_json_record(Path(out_dir) / SUMMARY_FILE), _marker(config)
    if recorded is None or same_settings(recorded, marker):
        return None
    return describe_difference(recorded, marker)


def _counts_match(out: Path, recorded: dict) -> bool:
    """True if every split folder holds as many images as the record says."""
    expected = (recorded.get("summary") or {}).get("images") or {}
    for split in SPLIT_DIRS:
        folder = out / split
        if not folder.is_dir():
            return False
        with os.scandir(folder) as entries:
            found = sum(
                1 for e in entries if e.name.endswith(".jpg") and not e.name.startswith(".")
            )
        if found != expected.get(split):
            return False
    return True


def _check_out_dir(out: Path, config: SynthConfig) -> str:
    """Decide what to do with OUT: "fresh", "resume" or "complete"; raise if it is not ours."""
    return check_output_folder(
        out,
        _marker(config),
        SUMMARY_FILE,
        PARTIAL_FILE,
        "a synthetic dataset",
        command="`reid synth market1501`",
        ours=SPLIT_DIRS,
        is_complete=lambda recorded: _counts_match(out, recorded),
    )


def _summarise(specs: list[ImageSpec], config: SynthConfig) -> dict:
    """The counts recorded in synth.json and returned to the caller."""
    counts = {split: 0 for split in SPLIT_DIRS}
    for spec in specs:
        counts[spec.split] += 1
    train_ids, test_ids = identity_split(config)
    query_ids = {s.identity for s in specs if s.split == QUERY_DIR}
    return {
        "images": counts,
        "total_images": len(specs),
        "train_identities": len(train_ids),
        "test_identities": len(test_ids),
        "query_identities": len(query_ids),
        "distractor_images": sum(s.kind == "distractor" for s in specs),
        "junk_images": sum(s.kind == "junk" for s in specs),
        "cameras": config.cameras,
        "image_size": [IMAGE_HEIGHT, IMAGE_WIDTH],
    }


def _write_dataset(
    out: Path,
    config: SynthConfig,
    specs: list[ImageSpec],
    state: str,
    progress: bool,
    workers: int | None,
) -> int:
    """Create the folders, mark the run unfinished and write the missing images."""
    for split in SPLIT_DIRS:
        (out / split).mkdir(parents=True, exist_ok=True)
    if state == "resume":
        remove_stale_temporaries(out)
    write_json_atomic(out / PARTIAL_FILE, _marker(config))
    (out / SUMMARY_FILE).unlink(missing_ok=True)
    pending = [spec for spec in specs if not (out / spec.split / spec.name).exists()]
    bar = tqdm(
        total=len(specs),
        initial=len(specs) - len(pending),
        disable=not progress,
        unit="img",
        desc="synth market1501",
    )
    try:
        return _write_all(
            out, config, pending, bar, default_workers() if workers is None else workers
        )
    finally:
        bar.close()


def write_synthetic_market1501(
    out_dir: str | os.PathLike,
    config: SynthConfig = _DEFAULT_CONFIG,
    progress: bool = True,
    workers: int | None = None,
) -> dict:
    """Write a synthetic Market-1501 dataset into `out_dir` and return its summary.

    The summary holds the image count per split folder (`images`), `total_images`, identity
    counts, `distractor_images`, `junk_images`, `cameras`, `seconds` taken, `written` (files
    written by this call), `skipped` (True when nothing had to be done) and `out_dir`.

    Reruns: every image is written atomically (temporary name, then rename) and the record
    `OUT/synth.json` (settings and summary) is written last. If it is present with the same
    settings and every image is there, nothing is regenerated and the recorded summary is
    returned with skipped=True (if images were deleted since, they are written again).
    An interrupted run leaves `OUT/.synth-partial.json`; rerunning with the same settings resumes
    it, keeping the finished images (they are byte-identical to what would be written again)
    and writing the missing ones. A folder holding a synthetic dataset with other settings, any
    other files (a real dataset, say), or a path that is a file raises DatasetError and changes
    nothing; so do invalid settings.

    `workers` processes render the images (default: one per available CPU core, at most 8);
    the files do not depend on it.
    """
    validate_config(config)
    out = Path(out_dir)
    state = _check_out_dir(out, config)
    if state == "complete":
        recorded = read_json_record(out / SUMMARY_FILE) or {}
        summary = dict(recorded.get("summary", {}))
        summary.update(out_dir=str(out), skipped=True, written=0)
        return summary
    start = time.perf_counter()
    specs = plan_dataset(config)
    try:
        written = _write_dataset(out, config, specs, state, progress, workers)
    except OSError as err:
        raise DatasetError(
            f"Could not write the synthetic dataset to {out}: {err}.",
            "Check that the folder is writable and the disk has space, then rerun the same "
            "command: finished images are kept.",
        ) from err
    summary = _summarise(specs, config)
    summary["seconds"] = round(time.perf_counter() - start, 3)
    record = {**_marker(config), "summary": summary}
    write_json_atomic(out / SUMMARY_FILE, record)
    (out / PARTIAL_FILE).unlink(missing_ok=True)
    return {**summary, "out_dir": str(out), "skipped": False, "written": written}
