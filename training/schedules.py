"""Learning-rate schedules scaled to the run's length."""

from __future__ import annotations

import math

from training.options import LR_SCHEDULES


def learning_rate_at(
    step: float, base: float, total_steps: int, schedule: str, warmup_fraction: float = 0.0
) -> float:
    """The learning rate of optimiser step `step` (0-based).

    base: the peak rate (`--lr`).
    total_steps: the run's `--steps`; the cosine schedule reaches 0 there.
    schedule: "constant" (the reference) or "cosine" (linear warm-up, then half a cosine).
    warmup_fraction: share of the steps spent rising linearly from base / warm-up steps.
    """
    if schedule not in LR_SCHEDULES:
        raise ValueError(f"unknown schedule {schedule!r}")
    warmup = int(round(warmup_fraction * total_steps))
    if step < warmup:
        return base * (step + 1) / warmup
    if schedule == "constant":
        return base
    progress = min((step - warmup) / max(total_steps - warmup, 1), 1.0)
    return base * 0.5 * (1.0 + math.cos(math.pi * progress))


def learning_rate_schedule(schedule: str, base: float, total_steps: int, warmup_fraction: float):
    """`learning_rate_at` as a Keras schedule of the optimiser's step counter (resumes with it)."""
    import keras
    from keras import ops

    if schedule == "constant" and warmup_fraction == 0:
        return base

    class Schedule(keras.optimizers.schedules.LearningRateSchedule):
        def __call__(self, step):
            step = ops.cast(step, "float32")
            warmup = float(round(warmup_fraction * total_steps))
            rising = base * (step + 1.0) / max(warmup, 1.0)
            if schedule == "constant":
                after = ops.convert_to_tensor(base, "float32")
            else:
                progress = ops.minimum((step - warmup) / max(total_steps - warmup, 1.0), 1.0)
                after = base * 0.5 * (1.0 + ops.cos(math.pi * progress))
            return ops.where(step < warmup, rising, after)

        def get_config(self):
            return {"schedule": schedule, "base": base, "total_steps": total_steps,
                    "warmup_fraction": warmup_fraction}  # fmt: skip

    return Schedule()
