"""The folders are the architecture: imports point down the layers, never up or sideways.

Every import counts, including those inside functions (the lazy ones that keep TensorFlow off
the inference path). The table is the README's Layout table.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# package -> the project packages it may import (its layer and those below it).
MAY_IMPORT = {
    "core": set(),
    "ranking": {"core"},
    "training": {"core", "ranking"},
    "synthetic": {"core"},
    "encoder": {"core", "training"},
    "evaluation": {"core", "ranking", "training", "encoder"},
    "serving": {"core", "encoder"},
    "deep_sort_bridge": {"core", "ranking", "encoder", "serving"},
    "reid": {
        "core", "ranking", "training", "synthetic", "encoder", "evaluation", "serving",
        "deep_sort_bridge",
    },
}  # fmt: skip
MAX_LINES = 600


def imported_packages(path: Path) -> dict[str, int]:
    """Project packages imported anywhere in `path` (first line of each)."""
    found: dict[str, int] = {}
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top in MAY_IMPORT:
                found.setdefault(top, node.lineno)
    return found


def source_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def test_every_package_is_in_the_table():
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py") if p.parent.name != "tests"}
    assert packages == set(MAY_IMPORT)


@pytest.mark.parametrize("package", sorted(MAY_IMPORT))
def test_imports_point_down(package):
    wrong = []
    for path in source_files(package):
        for imported, line in imported_packages(path).items():
            if imported != package and imported not in MAY_IMPORT[package]:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {imported}")
    assert not wrong, "imports against the layering:\n" + "\n".join(wrong)


def test_no_two_packages_import_each_other():
    edges = {
        (package, imported)
        for package in MAY_IMPORT
        for path in source_files(package)
        for imported in imported_packages(path)
        if imported != package
    }
    assert not {(a, b) for a, b in edges if (b, a) in edges}


def test_source_files_stay_readable_in_one_sitting():
    long = [
        f"{path.relative_to(ROOT)}: {n} lines"
        for package in (*MAY_IMPORT, "scripts")
        for path in source_files(package)
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    ]
    assert not long


def test_lazy_imports_are_found(tmp_path):
    """An import inside a function counts (guards the checker itself)."""
    sample = tmp_path / "sample.py"
    sample.write_text("import numpy\n\ndef f():\n    from serving import app\n")
    assert imported_packages(sample) == {"serving": 4}
