"""A resumed run keeps its settings: what differs is named, with the flags that restore it."""

import pytest

from core.errors import ReidError
from training.resume import RECIPE_FLAGS, check_resume, flag_for, recipe_changes

RECORDED = {
    "dataset": "market1501",
    "loss": "cosine-softmax+triplet",
    "batch_size": 128,
    "images_per_identity": 4,
    "validation": "held-out",
    "validation_fraction": 0.1,
    "steps": 1500,
    "optimizer": "adam",
    "lr": 0.001,
    "weight_init": "reference",
    "mixstyle": 0.0,
    "style_uncertainty": 0.0,
    "look_alikes": 0,
    "pooled_weight": 0.0,
    "colour_prior": 0.0,
    "share_columns": False,
    "dropout": 0.4,
    "backbone_lr_scale": 1.0,
    "augmentations": "flip",
    "fixed_kappa": None,
}


def test_the_same_recipe_with_more_steps_resumes():
    check_resume("runs/x", RECORDED, {**RECORDED, "steps": 3000, "device": "cpu"})


def test_recipe_changes_lists_only_differing_recorded_fields():
    requested = {**RECORDED, "lr": 0.003, "mixstyle": 0.5, "margin": 0.2}
    del requested["fixed_kappa"]
    assert recipe_changes(RECORDED, requested) == {"lr": (0.001, 0.003), "mixstyle": (0.0, 0.5)}
    # margin is absent from the record (a run from before the field existed): not compared.
    assert "margin" not in recipe_changes(RECORDED, requested)


def test_a_changed_recipe_is_refused_with_the_flags_that_resume_it():
    requested = {**RECORDED, "lr": 0.003, "weight_init": "he", "mixstyle": 0.5}
    with pytest.raises(ReidError) as caught:
        check_resume("runs/x", RECORDED, requested)
    text = str(caught.value)
    assert "lr=0.001" in text and "lr=0.003" in text
    assert "--lr 0.001 --weight-init reference --mixstyle 0.0" in text


def test_a_changed_shaping_setting_is_refused_first():
    with pytest.raises(ReidError, match="batch_size=128"):
        check_resume("runs/x", RECORDED, {**RECORDED, "batch_size": 64, "lr": 0.003})


def test_runs_from_before_the_validation_setting_count_as_held_out():
    old = {k: v for k, v in RECORDED.items() if k != "validation"}
    with pytest.raises(ReidError, match="validation='held-out'"):
        check_resume("runs/x", old, {**RECORDED, "validation": "test-split"})


def test_runs_from_before_style_noise_count_as_without_it():
    old = {k: v for k, v in RECORDED.items() if k not in ("mixstyle", "style_uncertainty")}
    check_resume("runs/x", old, RECORDED)
    with pytest.raises(ReidError, match="--style-uncertainty 0.0"):
        check_resume("runs/x", old, {**RECORDED, "style_uncertainty": 0.5})


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("lr", 0.001, "--lr 0.001"),
        ("augmentations", "", "--augment none"),
        ("fixed_kappa", None, "--fixed-kappa 0"),
        ("initial_kappa", None, "(no --initial-kappa)"),
        ("share_columns", True, "--share-columns"),
        ("share_columns", False, "(no --share-columns)"),
    ],
)
def test_flag_for_spells_the_command_line(key, value, words):
    assert flag_for(key, value) == words


def test_every_recipe_flag_is_an_option_of_reid_train():
    import argparse

    from training.cli import add_train_arguments

    parser = argparse.ArgumentParser()
    add_train_arguments(parser)
    options = {o for action in parser._actions for o in action.option_strings}
    assert set(RECIPE_FLAGS.values()) <= options


def test_runs_from_before_the_optimizer_setting_count_as_adam():
    old = {k: v for k, v in RECORDED.items() if k != "optimizer"}
    check_resume("runs/x", old, {**RECORDED, "optimizer": "adam"})
    with pytest.raises(ReidError, match="--optimizer adam"):
        check_resume("runs/x", old, {**RECORDED, "optimizer": "sgd"})
