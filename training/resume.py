"""What a resumed run must keep, so that rerunning a command continues the run it started.

A run folder records its settings in config.json. Rerunning `reid train` on that folder resumes
from the last checkpoint, which is only the same run if the settings that shape the checkpoint
and the recipe that trains it are the same. When the defaults of `reid train` change between
two calls, a bare rerun would silently continue under the new recipe: it is refused instead,
with the flags that resume the run as it began. Run length (`--steps`), the device and the
logging cadence may change.
"""

from __future__ import annotations

from core.errors import ReidError
from training.options import REFERENCE_DROPOUT

# A different value here is another run: other classes, batches or meaning of validation.
SHAPING_SETTINGS = (
    "dataset",
    "loss",
    "batch_size",
    "images_per_identity",
    "validation",
    "validation_fraction",
)
# The recipe, with the flag of `reid train` that sets each field.
RECIPE_FLAGS = {
    "seed": "--seed",
    "optimizer": "--optimizer",
    "lr": "--lr",
    "lr_schedule": "--lr-schedule",
    "warmup_fraction": "--warmup-fraction",
    "weight_decay": "--weight-decay",
    "bn_momentum": "--bn-momentum",
    "augmentations": "--augment",
    "initial_kappa": "--initial-kappa",
    "fixed_kappa": "--fixed-kappa",
    "margin": "--margin",
    "label_smoothing": "--label-smoothing",
    "triplet_weight": "--triplet-weight",
    "triplet_sharpness": "--triplet-sharpness",
    "dropout": "--dropout",
    "weight_init": "--weight-init",
    "mixstyle": "--mixstyle",
    "style_uncertainty": "--style-uncertainty",
    "look_alikes": "--look-alikes",
    "pooled_weight": "--pooled-weight",
    "colour_prior": "--colour-prior",
    "share_columns": "--share-columns",
    "backbone_lr_scale": "--backbone-lr-scale",
}


# What runs recorded before a field existed ran with, where that differs from the field's first
# default or matters to resuming; other fields a record lacks are not compared.
BEFORE_FIELD_EXISTED = {
    "validation": "held-out",
    "dropout": REFERENCE_DROPOUT,
    "weight_init": "reference",
    "mixstyle": 0.0,
    "style_uncertainty": 0.0,
    "look_alikes": 0,
    "pooled_weight": 0.0,
    "colour_prior": 0.0,
    "share_columns": False,
    "init_from": None,
    "backbone_lr_scale": 1.0,
    "optimizer": "adam",
}


class ResumeMismatch(ReidError):
    """A run folder holds a run with other settings than the command asks for."""

    def told_for(self, why: str, fix: str) -> ResumeMismatch:
        """The same refusal with `why` added and the fix of a command other than `reid train`,
        whose own flags may not exist there."""
        return ResumeMismatch(f"{self.problem} {why}", fix)


def recipe_changes(recorded: dict, requested: dict) -> dict[str, tuple]:
    """{field: (recorded value, requested value)} for every recipe field that differs.

    Fields the record lacks (runs from before the field existed) are not compared.
    """
    return {
        key: (recorded[key], requested.get(key))
        for key in RECIPE_FLAGS
        if key in recorded and recorded[key] != requested.get(key)
    }


def flag_for(key: str, value) -> str:
    """The command-line words that set recipe field `key` to `value`."""
    flag = RECIPE_FLAGS[key]
    if value is None:
        return "--fixed-kappa 0" if key == "fixed_kappa" else f"(no {flag})"
    if key == "augmentations" and not value:
        return f"{flag} none"
    if isinstance(value, bool):  # a switch
        return flag if value else f"(no {flag})"
    return f"{flag} {value}"


def check_resume(run_dir, recorded: dict, requested: dict) -> None:
    """Raise ResumeMismatch unless `requested` (a TrainConfig as a dict) continues the `recorded`
    configuration of the run in `run_dir`."""
    recorded = {**BEFORE_FIELD_EXISTED, **recorded}
    for key in SHAPING_SETTINGS:
        if key in recorded and recorded[key] != requested[key]:
            raise ResumeMismatch(
                f"{run_dir} holds a run with {key}={recorded[key]!r}, not {requested[key]!r}.",
                "Use a new --output-dir, or the same settings to resume.",
            )
    changes = recipe_changes(recorded, requested)
    if changes:
        was = ", ".join(f"{key}={old!r}" for key, (old, _) in changes.items())
        now = ", ".join(f"{key}={new!r}" for key, (_, new) in changes.items())
        flags = " ".join(flag_for(key, old) for key, (old, _) in changes.items())
        raise ResumeMismatch(
            f"{run_dir} holds a run trained with {was}; this command would continue it with {now}.",
            f"Add {flags} to resume it as it began, or use a new --output-dir.",
        )
