"""core.outputs: the fresh / resume / complete decision every resumable writer shares."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from core.atomic import write_bytes_atomic
from core.errors import DatasetError
from core.outputs import (
    check_output_folder,
    describe_difference,
    read_json_record,
    remove_stale_temporaries,
    same_settings,
)

MARKER = {"format": "test-writer", "version": 1, "config": {"size": 3, "seed": 0}}
RECORD, PARTIAL = "record.json", ".partial.json"


def check(out: Path, marker: dict = MARKER, **kwargs) -> str:
    return check_output_folder(
        out, marker, RECORD, PARTIAL, "a test dataset", command="`test write`", **kwargs
    )


def listing(folder: Path) -> dict[str, bytes | None]:
    return {
        str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None
        for p in sorted(folder.rglob("*"))
    }


def write_json(path: Path, payload) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload))


def test_missing_or_empty_folder_is_fresh(tmp_path):
    assert check(tmp_path / "new") == "fresh"
    assert not (tmp_path / "new").exists()
    (tmp_path / "empty").mkdir()
    assert check(tmp_path / "empty") == "fresh"


def test_matching_record_is_complete_and_summary_is_ignored(tmp_path):
    write_json(tmp_path / RECORD, {**MARKER, "summary": {"images": 5}})
    assert check(tmp_path) == "complete"


def test_matching_record_with_missing_files_is_resumed(tmp_path):
    write_json(tmp_path / RECORD, {**MARKER, "summary": {"images": 5}})
    seen = []

    def is_complete(recorded: dict) -> bool:
        seen.append(recorded)
        return False

    assert check(tmp_path, is_complete=is_complete) == "resume"
    assert seen[0]["summary"] == {"images": 5}
    assert check(tmp_path, is_complete=lambda recorded: True) == "complete"


def test_matching_partial_marker_is_resumed(tmp_path):
    write_json(tmp_path / PARTIAL, MARKER)
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "a.jpg").write_bytes(b"done")
    (tmp_path / f".{PARTIAL}.x1.tmp").write_bytes(b"half")  # an interrupted marker write
    assert check(tmp_path, ours={"images"}) == "resume"


def test_record_with_different_settings_is_refused_and_names_them(tmp_path):
    write_json(tmp_path / RECORD, {**MARKER, "config": {"size": 4, "seed": 0}, "summary": {}})
    before = listing(tmp_path)
    with pytest.raises(DatasetError, match="different settings") as err:
        check(tmp_path)
    assert "size=4 recorded, 3 asked" in err.value.problem
    assert "seed" not in err.value.problem
    assert str(tmp_path) in err.value.fix and "other settings" in err.value.fix
    assert listing(tmp_path) == before


def test_unreadable_record_is_refused(tmp_path):
    (tmp_path / RECORD).write_text("{not json")
    with pytest.raises(DatasetError, match="unreadable"):
        check(tmp_path)


def test_partial_marker_with_different_settings_is_refused(tmp_path):
    write_json(tmp_path / PARTIAL, {**MARKER, "version": 2})
    before = listing(tmp_path)
    with pytest.raises(DatasetError, match="unfinished run of `test write`") as err:
        check(tmp_path)
    assert "version=2 recorded, 1 asked" in err.value.problem
    assert "Rerun with those settings" in err.value.fix
    assert listing(tmp_path) == before


def test_foreign_non_empty_folder_is_refused_and_left_alone(tmp_path):
    for name in ("b.txt", "a.jpg", "c", "d.csv"):
        (tmp_path / name).write_bytes(b"theirs")
    before = listing(tmp_path)
    with pytest.raises(DatasetError, match="not a test dataset") as err:
        check(tmp_path, ours={"a.jpg"})
    assert "a.jpg, b.txt, c, ..." in err.value.problem
    assert "not written by `test write`" in err.value.problem
    assert "nothing was changed" in err.value.fix
    assert listing(tmp_path) == before


def test_foreign_files_beside_a_partial_marker_are_refused(tmp_path):
    write_json(tmp_path / PARTIAL, MARKER)
    (tmp_path / "images").mkdir()
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(DatasetError, match="notes.txt, not written by"):
        check(tmp_path, ours={"images"})


def test_a_fresh_run_needs_an_empty_folder_even_of_our_names(tmp_path):
    (tmp_path / "images").mkdir()
    with pytest.raises(DatasetError, match="already contains images"):
        check(tmp_path, ours={"images"})


def test_file_instead_of_folder_is_refused(tmp_path):
    target = tmp_path / "data.jpg"
    target.write_bytes(b"x")
    with pytest.raises(DatasetError, match="is a file, not a folder") as err:
        check(target)
    assert err.value.fix == "Pass a new or empty folder path."
    assert target.read_bytes() == b"x"


def test_read_json_record_and_same_settings(tmp_path):
    assert read_json_record(tmp_path / "missing.json") is None
    (tmp_path / "list.json").write_text("[1, 2]")
    assert read_json_record(tmp_path / "list.json") is None
    write_json(tmp_path / "ok.json", {"a": 1})
    assert read_json_record(tmp_path / "ok.json") == {"a": 1}
    assert same_settings({**MARKER, "summary": {}}, MARKER)
    assert not same_settings(None, MARKER)
    assert not same_settings({"format": "test-writer"}, MARKER)


def test_describe_difference_lists_what_changed():
    recorded = {"format": "test-writer", "version": 1, "config": {"size": 3, "old": True}}
    text = describe_difference(recorded, MARKER)
    assert text == "seed=none recorded, 0 asked; old=True recorded, none asked"
    assert describe_difference(None, MARKER) == "its record is unreadable"
    long = describe_difference({"sequences": ["MOT17-02"] * 20}, {"sequences": []})
    assert long.endswith("... recorded, [] asked") and len(long) < 100


def test_remove_stale_temporaries_keeps_finished_files(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / ".x.jpg.123.tmp").write_bytes(b"half")
    (tmp_path / "a" / "b" / ".y.jpg.abc.tmp").write_bytes(b"half")
    (tmp_path / "a" / "x.jpg").write_bytes(b"done")
    (tmp_path / "a" / "notes.tmp").write_bytes(b"visible, not ours")
    assert remove_stale_temporaries(tmp_path) == 2
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["notes.tmp", "x.jpg"]


@pytest.mark.parametrize("durable", [True, False])
def test_atomic_writes_leave_a_normal_mode(tmp_path, durable):
    previous = os.umask(0o022)
    try:
        write_bytes_atomic(tmp_path / "f.bin", b"data", durable=durable)
    finally:
        os.umask(previous)
    assert (tmp_path / "f.bin").read_bytes() == b"data"
    assert stat.S_IMODE((tmp_path / "f.bin").stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]
