"""Training end to end: it learns, it resumes, it stops cleanly on a signal, it explains errors."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from core.errors import ReidError  # noqa: E402
from reid.cli import main  # noqa: E402
from training.options import LOSSES, OPTIMIZER_DEFAULTS  # noqa: E402
from training.train import TrainConfig, train  # noqa: E402


def _config(data_dir, output_dir, **overrides):
    settings = dict(
        dataset="market1501",
        data_dir=str(data_dir),
        output_dir=str(output_dir),
        batch_size=32,
        steps=4,
        device="cpu",
        validation_fraction=0.25,
        validate_every=0,
        checkpoint_every=2,
        log_every=1,
        seed=1,
    )
    settings.update(overrides)
    return TrainConfig(**settings)


@pytest.mark.slow
def test_training_lifts_rank1_far_above_chance_and_the_untrained_network(small_market, tmp_path):
    summary = train(_config(small_market, tmp_path / "run", steps=120, validate_every=120))
    assert summary["steps"] == 120
    initial, final, chance = (
        summary["initial_validation_rank1"],
        summary["validation_rank1"],
        summary["chance_rank1"],
    )
    assert chance == pytest.approx(0.1)
    assert final >= 0.6, summary
    assert final >= initial + 0.25, summary
    assert final >= 5 * chance, summary


@pytest.mark.parametrize("loss", LOSSES)
def test_every_loss_trains(small_market, tmp_path, loss):
    """Each --loss runs its steps to a finite loss, the softmax's accuracy only where it has one."""
    summary = train(_config(small_market, tmp_path / "run", steps=2, loss=loss))
    assert summary["steps"] == 2
    assert np.isfinite(summary["loss"]) and summary["loss"] > 0
    assert np.isfinite(summary["accuracy"]) == loss.startswith("cosine-softmax")


def test_rerun_resumes_from_the_last_checkpoint(small_market, tmp_path):
    run = tmp_path / "run"
    first = train(_config(small_market, run, steps=3))
    assert first["steps"] == 3
    messages = []
    second = train(_config(small_market, run, steps=5), log=messages.append)
    assert any("Resuming" in m and "step 3" in m for m in messages), messages
    assert (second["steps"], second["start_step"]) == (5, 3)
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4, 5]
    assert (run / "checkpoints" / "ckpt-5.index").exists()
    config = json.loads((run / "config.json").read_text())
    assert config["versions"]["tensorflow"] and len(config["previous_starts"]) == 1
    summary = json.loads((run / "summary.json").read_text())
    assert summary["steps"] == 5 and summary["images_per_second"] > 0
    again = train(_config(small_market, run, steps=5), log=messages.append)
    assert "nothing to do" in messages[-1] and again == summary


def test_rerun_with_other_settings_is_refused(small_market, tmp_path):
    run = tmp_path / "run"
    train(_config(small_market, run, steps=1))
    with pytest.raises(Exception, match="batch_size"):
        train(_config(small_market, run, steps=2, batch_size=16))


@pytest.mark.parametrize(("stop_signal", "exit_code"), [("SIGINT", 130), ("SIGTERM", 143)])
def test_a_stop_signal_saves_a_checkpoint_and_the_rerun_continues(
    small_market, tmp_path, stop_signal, exit_code
):
    run = tmp_path / "run"
    command = [
        sys.executable, "-m", "reid", "train", "--dataset", "market1501",
        "--data-dir", str(small_market), "--output-dir", str(run), "--steps", "1000",
        "--batch-size", "16", "--device", "cpu", "--validate-every", "0",
        "--checkpoint-every", "1000", "--log-every", "1", "--validation-fraction", "0.25",
    ]  # fmt: skip
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    deadline = time.monotonic() + 240
    for line in process.stdout:
        if line.startswith("step 2/") or time.monotonic() > deadline:
            break
    process.send_signal(getattr(signal, stop_signal))
    output, _ = process.communicate(timeout=120)
    assert process.returncode == exit_code, output
    assert "Traceback" not in output
    summary = json.loads((run / "summary.json").read_text())
    stopped_at = summary["steps"]
    assert summary["stopped_by_signal"] == stop_signal and 2 <= stopped_at < 1000
    assert (run / "checkpoints" / f"ckpt-{stopped_at}.index").exists()
    messages = []
    resumed = train(
        _config(
            small_market, run, steps=stopped_at + 1, batch_size=16, checkpoint_every=1000, seed=0
        ),
        log=messages.append,
    )
    assert any(f"step {stopped_at}." in m for m in messages if "Resuming" in m), messages
    assert resumed["steps"] == stopped_at + 1


def test_missing_dataset_is_one_clear_line(tmp_path, capsys):
    code = main(["train", "--dataset", "market1501", "--data-dir", str(tmp_path / "nope")])
    err = capsys.readouterr().err
    assert code == 2
    assert "error:" in err and "nope" in err and "Traceback" not in err


def test_batch_size_must_be_a_multiple_of_k(small_market, tmp_path, capsys):
    code = main(
        [
            "train",
            "--data-dir",
            str(small_market),
            "--output-dir",
            str(tmp_path),
            "--batch-size",
            "30",
        ]
    )
    assert code == 2 and "multiple of 4" in capsys.readouterr().err


def test_dropout_outside_zero_to_one_is_refused(small_market, tmp_path, capsys):
    argv = ["train", "--data-dir", str(small_market), "--output-dir", str(tmp_path)]
    assert main([*argv, "--dropout", "1.0"]) == 2
    err = capsys.readouterr().err
    assert "--dropout must lie in [0, 1)" in err and "Traceback" not in err


def test_triplet_sharpness_of_zero_is_refused(small_market, tmp_path, capsys):
    argv = ["train", "--data-dir", str(small_market), "--output-dir", str(tmp_path)]
    assert main([*argv, "--triplet-sharpness", "0"]) == 2
    err = capsys.readouterr().err
    assert "--triplet-sharpness must be above 0" in err and "Traceback" not in err


def test_unknown_weight_init_is_refused(small_market, tmp_path):
    config = TrainConfig(data_dir=str(small_market), output_dir=str(tmp_path), weight_init="x")
    with pytest.raises(ReidError, match="Unknown --weight-init 'x'"):
        config.check()


def test_each_optimizer_brings_its_own_rate_and_decay_unless_given():
    import argparse

    from training.cli import add_train_arguments, config_from_args

    parser = argparse.ArgumentParser()
    add_train_arguments(parser)

    def parsed(*flags):
        config = config_from_args(parser.parse_args(["--data-dir", "d", *flags]))
        return config.optimizer, config.lr, config.weight_decay

    assert parsed() == ("adam", TrainConfig().lr, TrainConfig().weight_decay)
    assert parsed("--optimizer", "adam") == ("adam", 3e-3, 1e-8)
    assert parsed("--optimizer", "sgd") == ("sgd", 0.2, 5e-4)
    assert parsed("--optimizer", "sgd", "--lr", "0.1", "--weight-decay", "0") == ("sgd", 0.1, 0.0)
    library = TrainConfig(optimizer="sgd")  # the library resolves them as the command does
    assert (library.lr, library.weight_decay) == (0.2, 5e-4)


def test_sgd_trains_with_its_own_rate_keeps_its_momentum_and_resumes_only_as_sgd(
    small_market, tmp_path, capsys
):
    import tensorflow as tf

    run = tmp_path / "run"
    common = [
        "train", "--data-dir", str(small_market), "--output-dir", str(run),
        "--batch-size", "32", "--device", "cpu", "--validate-every", "0",
        "--validation-fraction", "0.25", "--seed", "1", "--checkpoint-every", "2",
    ]  # fmt: skip
    assert main([*common, "--steps", "2", "--optimizer", "sgd"]) == 0
    recorded = json.loads((run / "config.json").read_text())["config"]
    assert {k: recorded[k] for k in ("optimizer", "lr", "weight_decay")} == {
        "optimizer": "sgd",
        **OPTIMIZER_DEFAULTS["sgd"],  # not Adam's rate, which SGD would barely move with
    }
    summary = json.loads((run / "summary.json").read_text())
    assert summary["steps"] == 2 and np.isfinite(summary["loss"])
    names = [name for name, _ in tf.train.list_variables(str(run / "checkpoints" / "ckpt-2"))]
    weights = [n for n in names if n.startswith("optimizer/_trainable_variables/")]
    slots = [n for n in names if n.startswith("optimizer/_variables/")]
    assert len(weights) <= len(slots) < 2 * len(weights)  # one momentum each; Adam keeps two
    common += ["--steps", "3"]
    assert main(common) != 0  # the default optimiser would continue it as another run
    assert "--optimizer sgd" in capsys.readouterr().err
    assert main([*common, "--optimizer", "sgd"]) == 0
    assert json.loads((run / "summary.json").read_text())["start_step"] == 2
    with pytest.raises(ReidError, match="Unknown --optimizer 'rmsprop'"):
        _config(small_market, run, optimizer="rmsprop").check()


def test_style_layers_train_and_write_checkpoints_of_the_plain_network(small_market, tmp_path):
    from training.checkpoints import load_network, resolve_checkpoint

    run = tmp_path / "run"
    config = _config(small_market, run, steps=2, mixstyle=1.0, style_uncertainty=1.0)
    summary = train(config)
    assert summary["steps"] == 2 and summary["loss"] == summary["loss"]  # finite, not NaN
    recorded = json.loads((run / "config.json").read_text())["config"]
    assert recorded["mixstyle"] == recorded["style_uncertainty"] == 1.0
    network = load_network(resolve_checkpoint(str(run)))  # checks every variable matched
    assert not [layer for layer in network.layers if layer.name.endswith(("mixstyle", "dsu"))]
    with pytest.raises(ReidError, match=r"--mixstyle must lie in \[0, 1\]"):
        _config(small_market, run, mixstyle=1.5).check()
    with pytest.raises(ReidError, match=r"--style-uncertainty must lie in \[0, 1\]"):
        _config(small_market, run, style_uncertainty=-0.1).check()


def test_pooled_branch_trains_resumes_and_stays_out_of_the_network(small_market, tmp_path):
    import tensorflow as tf

    from training.checkpoints import load_network, resolve_checkpoint

    run = tmp_path / "run"
    first = train(_config(small_market, run, steps=2, pooled_weight=0.5, mixstyle=0.5))
    assert first["loss"] == first["loss"]  # finite, not NaN
    recorded = json.loads((run / "config.json").read_text())["config"]
    assert recorded["pooled_weight"] == 0.5
    saved = tf.train.load_checkpoint(str(run / "checkpoints")).get_variable_to_shape_map()
    assert any(name.startswith("pooled_branch/") for name in saved), sorted(saved)
    messages = []
    second = train(
        _config(small_market, run, steps=3, pooled_weight=0.5, mixstyle=0.5), messages.append
    )
    assert second["steps"] == 3 and any("Resuming" in m for m in messages), messages
    network = load_network(resolve_checkpoint(str(run)))  # checks every variable matched
    assert not [layer for layer in network.layers if "pooled" in layer.name]
    with pytest.raises(ReidError, match="--pooled-weight must be 0 or more"):
        _config(small_market, run, pooled_weight=-1.0).check()
    with pytest.raises(ReidError, match="--pooled-weight 0.5"):
        train(_config(small_market, run, steps=4))


def test_rerun_under_other_defaults_names_the_flags_that_resume_the_run(
    small_market, tmp_path, capsys
):
    run = tmp_path / "run"
    common = [
        "train", "--dataset", "market1501", "--data-dir", str(small_market),
        "--output-dir", str(run), "--steps", "1", "--batch-size", "16", "--device", "cpu",
        "--validate-every", "0", "--validation-fraction", "0.25",
    ]  # fmt: skip
    assert main([*common, "--lr", "0.001", "--weight-init", "reference", "--mixstyle", "0"]) == 0
    capsys.readouterr()
    assert main(common) != 0
    output = capsys.readouterr()
    text = output.out + output.err
    assert "Add --lr 0.001 --weight-init reference --mixstyle 0.0" in text, text
    assert "Traceback" not in text


def test_shared_columns_stay_shared_through_training_and_resume_in_the_plain_network(
    small_market, tmp_path
):
    import numpy as np

    from training.checkpoints import load_network, resolve_checkpoint

    run = tmp_path / "run"
    shared = {"share_columns": True, "weight_decay": 1e-4}  # decay's gradient must tie too
    train(_config(small_market, run, steps=2, **shared))
    messages = []
    train(_config(small_market, run, steps=3, **shared), messages.append)
    assert any("Resuming" in m for m in messages), messages
    with pytest.raises(ReidError, match="--share-columns"):
        train(_config(small_market, run, steps=4, weight_decay=1e-4))
    # Fine-tuning an ordinary run with the flag ties its columns where it starts.
    plain = tmp_path / "plain"
    train(_config(small_market, plain, steps=1))
    tuned = tmp_path / "tuned"
    train(_config(small_market, tuned, steps=1, share_columns=True, init_from=str(plain)))
    for folder in (run, tuned):
        network = load_network(resolve_checkpoint(str(folder)))  # the plain network
        kernel = network.get_layer("fc1").kernel.numpy().reshape(16, 8, 128, 128)
        np.testing.assert_allclose(kernel, np.broadcast_to(kernel[:, :1], kernel.shape), atol=1e-6)
        assert np.ptp(kernel[:, 0], axis=0).max() > 0  # rows still differ from each other
