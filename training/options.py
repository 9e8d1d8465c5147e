"""Names of training's choices, free of TensorFlow so command lines can list them quickly."""

from __future__ import annotations

LOSSES = (
    "cosine-softmax",
    "magnet",
    "triplet",
    "weighted-triplet",
    "cosine-softmax+triplet",
    "cosine-softmax+weighted-triplet",
)
DEVICES = ("auto", "cpu", "gpu", "npu")
PRECISIONS = ("auto", "fp32", "mixed")
STRATEGIES = ("auto", "none", "mirrored", "multiworker")
LR_SCHEDULES = ("constant", "cosine")
# Adam, as the reference; or SGD with Nesterov momentum 0.9 (weight decay then acts as decay).
OPTIMIZERS = ("adam", "sgd")
# The peak rate and weight decay each optimiser was measured with on CUHK03 (docs/quality): SGD's
# steps scale with the gradient and need a rate about seventy times Adam's.
OPTIMIZER_DEFAULTS = {
    "adam": {"lr": 3e-3, "weight_decay": 1e-8},
    "sgd": {"lr": 0.2, "weight_decay": 5e-4},
}
# Starting weights: the reference's truncated normal of stddev 1e-3, or He et al.'s fan-in scale.
WEIGHT_INITS = ("reference", "he")
AUGMENTATIONS = (
    "flip",
    "scale",
    "pad-crop",
    "resolution",
    "color-jitter",
    "exposure",
    "grayscale",
    "blur",
    "erasing",
)
# The reference's keep_prob 0.6; training only: dropout has no weights and is not in the graph.
REFERENCE_DROPOUT = 0.4


def parse_augmentations(text: str) -> tuple[str, ...]:
    """'flip,erasing' -> ('flip', 'erasing'); 'none' or '' -> (); unknown names raise ValueError."""
    names = tuple(n.strip() for n in text.split(",") if n.strip() and n.strip() != "none")
    unknown = [n for n in names if n not in AUGMENTATIONS]
    if unknown:
        raise ValueError(
            f"unknown augmentation {', '.join(unknown)}; choose from {', '.join(AUGMENTATIONS)}"
        )
    return names
