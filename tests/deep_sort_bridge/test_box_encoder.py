"""The drop-in box encoder: deep_sort's signature, local models and the service."""

import argparse

import numpy as np
import pytest

from core.errors import ModelError
from deep_sort_bridge import cli, create_box_encoder, create_remote_box_encoder, mot_io
from encoder.crops import crop_boxes

BOXES = np.array([[10, 20, 40, 90], [100, 30, 25, 70], [300, 300, 10, 10], [-20, 5, 60, 120]])


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(3)
    return rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)


def test_same_call_as_deep_sort_one_row_per_box(onnx_model, frame):
    from encoder import Encoder

    encoder = create_box_encoder(str(onnx_model), batch_size=2)
    features = encoder(frame, BOXES)
    assert features.shape == (4, 128) and features.dtype == np.float32
    crops, valid = crop_boxes(frame, BOXES)
    assert valid.tolist() == [True, True, False, True]
    np.testing.assert_allclose(features, Encoder(onnx_model).encode(crops), atol=1e-5)
    assert encoder(frame, np.zeros((0, 4))).shape == (0, 128)


def test_frozen_graph_gives_the_same_features(onnx_model, frozen_graph, frame):
    onnx_features = create_box_encoder(str(onnx_model))(frame, BOXES)
    graph_features = create_box_encoder(str(frozen_graph), "images", "features", 32)(frame, BOXES)
    cosine = (onnx_features * graph_features).sum(axis=1)
    assert cosine.min() > 0.9999


def test_other_tensor_names_are_refused_clearly(onnx_model):
    with pytest.raises(ModelError, match="images -> features"):
        create_box_encoder(str(onnx_model), input_name="input")


@pytest.fixture(scope="module")
def service(onnx_model, tmp_path_factory):
    from tests.serving.conftest import running_server

    with running_server(onnx_model, tmp_path_factory.mktemp("service")) as server:
        yield server


def test_remote_twin_equals_the_local_encoder(service, onnx_model, frame):
    local = create_box_encoder(str(onnx_model))(frame, BOXES[[0, 1, 3]])
    remote = create_remote_box_encoder(service.url)(frame, BOXES[[0, 1, 3]])
    assert remote.shape == (3, 128)
    np.testing.assert_allclose(remote, local, atol=1e-4)
    assert create_remote_box_encoder(service.url)(frame, []).shape == (0, 128)


def test_generate_detections_through_the_service(service, onnx_model, synthetic_mot, tmp_path):
    sequence = synthetic_mot / "SYNTH-02"
    short = tmp_path / "mot" / "SYNTH-02"
    (short / "det").mkdir(parents=True)
    (short / "img1").symlink_to(sequence / "img1", target_is_directory=True)
    rows = (sequence / "det" / "det.txt").read_text().splitlines()
    (short / "det" / "det.txt").write_text("\n".join(r for r in rows if int(r.split(",")[0]) <= 6))
    outputs = {}
    for name, source in (("remote", ["--remote", service.url]), ("local", ["--model", onnx_model])):
        parser = argparse.ArgumentParser()
        cli.add_generate_detections_arguments(parser)
        argv = [*source, "--mot_dir", short, "--output_dir", tmp_path / name, "--no-progress"]
        cli.run_generate_detections(parser.parse_args([str(a) for a in argv]))
        outputs[name] = mot_io.load_detection_matrix(tmp_path / name / "SYNTH-02.npy")
    assert len(outputs["remote"]) == len(outputs["local"]) > 0
    np.testing.assert_allclose(outputs["remote"], outputs["local"], atol=1e-4)
