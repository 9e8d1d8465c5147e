"""`reid evaluate`, `reid extract-features` and `reid plot-training` end to end.

Models: the session's random-weight run directory (tests/conftest.py) and its ONNX export.
Datasets: the small synthetic Market-1501 (tests/training/conftest.py) and a synthetic MARS
layout written here.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from scipy.io import loadmat, savemat

from core.errors import DatasetError, ModelError, ReidError
from evaluation.cli import (
    add_evaluate_arguments,
    add_extract_features_arguments,
    add_plot_training_arguments,
    run_evaluate,
    run_extract_features,
    run_plot_training,
)

pytest.importorskip("tensorflow")

# MARS test tracklets: (identity, camera, tracklet number, frames); queries are rows 1, 3, 6.
MARS_TEST = [
    (1, 1, 1, 3),
    (1, 1, 2, 2),
    (1, 2, 1, 4),
    (2, 2, 1, 3),
    (2, 3, 1, 2),
    (3, 1, 1, 2),
    (3, 4, 1, 3),
    (0, 5, 1, 2),
    (-1, 6, 1, 1),
]
MARS_QUERY_ROWS = [1, 4, 6]
MARS_TRAIN = [(5, 1, 1, 2), (5, 2, 1, 2), (6, 1, 1, 2)]


def _person(identity: int, seed: int) -> np.ndarray:
    """A 128 x 64 crop coloured by identity, with per-image noise."""
    colours = np.random.default_rng(abs(identity) + 10).integers(0, 256, (3, 3))
    image = np.zeros((128, 64, 3), np.uint8)
    for band, colour in enumerate(colours):
        image[band * 43 : (band + 1) * 43] = colour
    noise = np.random.default_rng(seed).normal(0, 10, image.shape)
    return np.clip(image + noise, 0, 255).astype(np.uint8)


def write_mars(root: Path, tracks, split: str) -> None:
    """bbox_<split>/PPPP/PPPPCcTttttFfff.jpg plus info/<split>_name.txt and the tracks matrix."""
    names, rows = [], []
    for identity, camera, number, frames in tracks:
        folder = "00-1" if identity == -1 else f"{identity:04d}"
        start = len(names) + 1
        for frame in range(1, frames + 1):
            name = f"{folder}C{camera}T{number:04d}F{frame:03d}.jpg"
            path = root / f"bbox_{split}" / folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            assert cv2.imwrite(str(path), _person(identity, len(names)))
            names.append(name)
        rows.append([start, len(names), identity, camera])
    info = root / "info"
    info.mkdir(parents=True, exist_ok=True)
    (info / f"{split}_name.txt").write_text("\n".join(names) + "\n")
    savemat(info / f"tracks_{split}_info.mat", {"track_info": np.array(rows, dtype=np.float64)})


@pytest.fixture(scope="module")
def synthetic_mars(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("mars")
    write_mars(root, MARS_TRAIN, "train")
    write_mars(root, MARS_TEST, "test")
    savemat(root / "info" / "query_IDX.mat", {"query_IDX": np.array([MARS_QUERY_ROWS])})
    return root


def _call(adder, runner, argv: list[str]) -> int:
    """Parse and run as the `reid` command does (the runner travels in args.run)."""
    parser = argparse.ArgumentParser()
    adder(parser)
    parser.set_defaults(run=runner)
    args = parser.parse_args(argv)
    return args.run(args)


def _evaluate(argv: list[str]) -> int:
    return _call(add_evaluate_arguments, run_evaluate, [*argv, "--no-progress"])


def _extract(argv: list[str]) -> int:
    return _call(add_extract_features_arguments, run_extract_features, [*argv, "--no-progress"])


def _png_shape(path: Path) -> tuple[int, ...]:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None, f"{path} is not a readable image"
    return image.shape


def test_evaluate_market_checkpoint_writes_report_and_grid(
    random_checkpoint, small_market, tmp_path, capsys
):
    report_path, grid = tmp_path / "report.json", tmp_path / "grid.png"
    argv = ["--checkpoint", str(random_checkpoint), "--dataset", "market1501"]
    argv += ["--data-dir", str(small_market), "--output", str(report_path)]
    argv += ["--grid", str(grid), "--grid-queries", "3", "--grid-top", "4"]
    assert _evaluate(argv) == 0
    report = json.loads(report_path.read_text())
    for key in ("rank1", "rank5", "rank10", "rank20", "mAP", "mINP"):
        assert 0.0 <= report[key] <= 1.0
    assert report["rank1"] <= report["rank5"] <= report["rank10"] <= report["rank20"]
    for key in ("rank1", "mAP"):  # how far another draw of test people could move the figure
        low, high = report[f"{key}_interval"]
        assert 0.0 <= low <= report[key] <= high <= 1.0
    num_query = len(list((small_market / "query").iterdir()))
    num_gallery = len(list((small_market / "bounding_box_test").iterdir()))
    assert report["num_query"] == num_query and report["num_gallery"] == num_gallery
    assert report["model"]["kind"] == "checkpoint"
    assert report["model"]["checkpoint"].endswith("ckpt-1")
    assert report["dataset"]["name"] == "market1501" and report["date"]
    assert report["settings"] == {
        "protocol": "image",
        "metric": "cosine",
        "rerank": None,
        "max_rank": 50,
    }
    assert len(report["cmc"]) == 50
    # 3 rows of (256 + 8 + 18) px with 4 px spacers; query + 4 matches of 136 px and a gap.
    assert _png_shape(grid) == (3 * 282 + 2 * 4, 5 * 136 + 16, 3)
    out = capsys.readouterr().out
    assert "rank-1" in out and "mAP" in out and str(report_path) in out
    assert "95% interval over the test's people: rank-1 " in out


def test_evaluate_exported_onnx_matches_checkpoint(
    random_checkpoint, onnx_model, small_market, tmp_path
):
    reports = {}
    for name, model in (("ckpt", random_checkpoint), ("onnx", onnx_model)):
        out = tmp_path / f"{name}.json"
        argv = ["--checkpoint", str(model), "--dataset", "market1501"]
        assert _evaluate([*argv, "--data-dir", str(small_market), "--output", str(out)]) == 0
        reports[name] = json.loads(out.read_text())
    assert reports["onnx"]["model"]["kind"] == "onnx"
    assert reports["onnx"]["mAP"] == pytest.approx(reports["ckpt"]["mAP"], abs=0.02)


def test_evaluate_default_report_goes_into_the_run(random_checkpoint, small_market):
    argv = ["--checkpoint", str(random_checkpoint), "--dataset", "market1501"]
    argv += ["--data-dir", str(small_market), "--metric", "euclidean", "--rerank", "--k1", "5"]
    report_path = random_checkpoint / "evaluation_market1501_euclidean_rerank.json"
    try:
        assert _evaluate(argv) == 0
        report = json.loads(report_path.read_text())
    finally:
        report_path.unlink(missing_ok=True)  # the session's run is shared with other tests
    assert report["settings"]["rerank"] == {"k1": 5, "k2": 6, "lambda": 0.3}
    assert report["settings"]["metric"] == "euclidean"


def test_evaluate_mars_video_protocol(random_checkpoint, synthetic_mars, tmp_path):
    report_path, grid = tmp_path / "mars.json", tmp_path / "mars.png"
    argv = ["--checkpoint", str(random_checkpoint), "--dataset", "mars"]
    argv += ["--data-dir", str(synthetic_mars), "--output", str(report_path), "--rerank"]
    assert _evaluate([*argv, "--grid", str(grid)]) == 0
    report = json.loads(report_path.read_text())
    assert report["settings"]["protocol"] == "video"
    assert report["num_query"] == len(MARS_QUERY_ROWS)
    assert report["num_gallery"] == len(MARS_TEST)
    assert report["num_query_images"] == sum(MARS_TEST[r - 1][3] for r in MARS_QUERY_ROWS)
    assert report["num_gallery_images"] == sum(t[3] for t in MARS_TEST)
    assert report["num_valid_queries"] == 3
    # Each query shows the gallery tracklets left after the protocol's exclusions (at most 10).
    assert _png_shape(grid) == (3 * 282 + 2 * 4, 11 * 136 + 16, 3)


def test_extract_features_writes_npy_and_mat(random_checkpoint, synthetic_mars, tmp_path):
    out = tmp_path / "features"
    argv = ["--checkpoint", str(random_checkpoint), "--dataset", "mars"]
    argv += ["--data-dir", str(synthetic_mars), "--output", str(out)]
    assert _extract(argv) == 0
    manifest = json.loads((out / "features.json").read_text())
    assert set(manifest["splits"]) == {"train", "query", "gallery"}
    gallery = np.load(out / "gallery_features.npy")
    assert gallery.shape == (sum(t[3] for t in MARS_TEST), 128) and gallery.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(gallery, axis=1), 1.0, atol=1e-4)
    identities = np.load(out / "gallery_identities.npy")
    assert sorted(set(identities.tolist())) == [-1, 0, 1, 2, 3]
    paths = (out / "gallery_paths.txt").read_text().splitlines()
    assert len(paths) == len(gallery) and paths[0].endswith("0001C1T0001F001.jpg")
    # Query images are gallery images: the same file gives the same features.
    query = np.load(out / "query_features.npy")
    query_paths = (out / "query_paths.txt").read_text().splitlines()
    np.testing.assert_array_equal(query[0], gallery[paths.index(query_paths[0])])
    mat = loadmat(out / "feat_test.mat")
    np.testing.assert_array_equal(mat["features"], gallery)
    assert mat["identities"].ravel().tolist() == identities.tolist()
    assert (out / "feat_query.mat").is_file() and (out / "feat_train.mat").is_file()
    assert np.load(out / "gallery_tracklets.npy").max() == len(MARS_TEST) - 1


def test_folder_dataset_with_query_and_gallery(random_checkpoint, tmp_path):
    root = tmp_path / "crops"
    for split, cameras in (("train", (1, 2)), ("query", (1,)), ("gallery", (2, 3))):
        for person in ("alice", "bob", "carol"):
            for camera in cameras:
                path = root / split / person / f"{person}_c{camera}.png"
                path.parent.mkdir(parents=True, exist_ok=True)
                cv2.imwrite(str(path), _person(len(person) + camera, camera))
    report_path = tmp_path / "report.json"
    argv = ["--checkpoint", str(random_checkpoint), "--dataset", "folder"]
    assert _evaluate([*argv, "--data-dir", str(root), "--output", str(report_path)]) == 0
    report = json.loads(report_path.read_text())
    assert (report["num_query"], report["num_gallery"], report["num_valid_queries"]) == (3, 6, 3)
    out = tmp_path / "features"
    assert _extract([*argv, "--data-dir", str(root), "--split", "query", "--output", str(out)]) == 0
    assert np.load(out / "query_features.npy").shape == (3, 128)
    assert not (out / "gallery_features.npy").exists()
    assert loadmat(out / "feat_query.mat")["features"].shape == (3, 128)


def test_clear_errors(random_checkpoint, small_market, tmp_path):
    train_only = tmp_path / "train_only"
    (train_only / "bounding_box_train").mkdir(parents=True)
    for source in sorted((small_market / "bounding_box_train").iterdir())[:4]:
        (train_only / "bounding_box_train" / source.name).write_bytes(source.read_bytes())
    base = ["--checkpoint", str(random_checkpoint), "--dataset", "market1501"]
    with pytest.raises(DatasetError, match="no query and gallery") as error:
        _evaluate([*base, "--data-dir", str(train_only)])
    assert "bounding_box_test" in error.value.fix
    with pytest.raises(DatasetError, match="no query split"):
        argv = [*base, "--data-dir", str(train_only), "--split", "query", "--output", "x"]
        _extract(argv)
    missing = ["--checkpoint", str(tmp_path / "no_run"), "--dataset", "market1501"]
    with pytest.raises(ModelError, match="No model or checkpoint"):
        _evaluate([*missing, "--data-dir", str(small_market)])
    empty_run = tmp_path / "empty_run"
    empty_run.mkdir()
    with pytest.raises(ModelError, match="No checkpoint found"):
        _evaluate(["--checkpoint", str(empty_run), *base[2:], "--data-dir", str(small_market)])
    with pytest.raises(DatasetError, match="k1"):
        _evaluate([*base, "--data-dir", str(small_market), "--rerank", "--k1", "0"])


def test_evaluate_against_another_report(
    random_checkpoint, small_market, synthetic_mars, tmp_path, capsys
):
    """--against pairs this model's per-query results with another report's on the same queries."""
    market = ["--checkpoint", str(random_checkpoint), "--dataset", "market1501"]
    market += ["--data-dir", str(small_market)]
    base_path, report_path = tmp_path / "base.json", tmp_path / "report.json"
    assert _evaluate([*market, "--output", str(base_path)]) == 0
    base = json.loads(base_path.read_text())
    per_query = base["per_query"]
    assert list(base)[-1] == "per_query"  # the long lists after the figures
    assert len(per_query["query"]) == base["num_valid_queries"] == len(per_query["ap"])
    assert np.mean(per_query["rank1"]) == pytest.approx(base["rank1"])
    assert np.mean(per_query["ap"]) == pytest.approx(base["mAP"], abs=1e-4)

    # A base model that missed every query: this one is ahead by exactly its own figures.
    missed = {**base, "per_query": {**per_query, "rank1": [0] * len(per_query["rank1"])}}
    missed["per_query"]["ap"] = [0.0] * len(per_query["ap"])
    (tmp_path / "missed.json").write_text(json.dumps(missed))
    capsys.readouterr()
    argv = [*market, "--output", str(report_path), "--against", str(tmp_path / "missed.json")]
    assert _evaluate(argv) == 0
    against = json.loads(report_path.read_text())["against"]
    assert against["rank1"]["difference"] == pytest.approx(base["rank1"])
    assert against["mAP"]["difference"] == pytest.approx(base["mAP"], abs=1e-4)
    low, high = against["rank1"]["interval"]
    assert low <= base["rank1"] <= high
    assert against["model"] == base["model"]["path"]
    assert f"Against {tmp_path / 'missed.json'}" in capsys.readouterr().out
    # The same model against itself: level, with no spread at all.
    assert _evaluate([*market, "--output", str(report_path), "--against", str(base_path)]) == 0
    against = json.loads(report_path.read_text())["against"]
    assert against["rank1"] == {"difference": 0.0, "interval": [0.0, 0.0]}

    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(ReidError, match="cannot be read as a JSON report"):
        _evaluate([*market, "--against", str(tmp_path / "broken.json")])
    old = {k: v for k, v in base.items() if k != "per_query"}
    (tmp_path / "old.json").write_text(json.dumps(old))
    with pytest.raises(ReidError, match="before reports kept per-query results") as error:
        _evaluate([*market, "--against", str(tmp_path / "old.json")])
    assert "again" in error.value.fix
    mars_path = tmp_path / "mars.json"
    mars = ["--checkpoint", str(random_checkpoint), "--dataset", "mars"]
    assert _evaluate([*mars, "--data-dir", str(synthetic_mars), "--output", str(mars_path)]) == 0
    with pytest.raises(ReidError, match="scored other queries"):
        _evaluate([*market, "--output", str(report_path), "--against", str(mars_path)])


def test_plot_training_command(tmp_path, capsys):
    records = [
        {"step": s, "loss": 4.0 - s / 50, "accuracy": s / 100, "kappa": 1.0} for s in (10, 20)
    ]
    records[-1]["validation_rank1"] = 0.3
    (tmp_path / "metrics.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    assert _call(add_plot_training_arguments, run_plot_training, [str(tmp_path)]) == 0
    assert _png_shape(tmp_path / "training_curves.png") == (700, 1000, 3)
    assert "2 logged steps" in capsys.readouterr().out


def test_evaluate_onnx_needs_no_tensorflow(onnx_model, small_market, tmp_path):
    """With an ONNX model the whole command runs with TensorFlow made unimportable."""
    import subprocess
    import sys

    out = tmp_path / "report.json"
    code = (
        "import sys; sys.modules['tensorflow'] = None\n"
        "import argparse, evaluation.cli as c\n"
        "p = argparse.ArgumentParser(); c.add_evaluate_arguments(p)\n"
        "sys.exit(c.run_evaluate(p.parse_args(sys.argv[1:])))\n"
    )
    argv = ["--checkpoint", str(onnx_model), "--dataset", "market1501", "--no-progress"]
    argv += ["--data-dir", str(small_market), "--output", str(out)]
    done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text())["model"]["backend"] == "openvino"
