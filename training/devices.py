"""Choose and activate the training device (NPU > GPU > CPU) and numeric precision."""

from __future__ import annotations

from dataclasses import dataclass

import keras
import tensorflow as tf

from core.errors import DeviceError
from training import npu as npu_seam

DEVICES = ("auto", "cpu", "gpu", "npu")
PRECISIONS = ("auto", "fp32", "mixed")


@dataclass(frozen=True)
class DevicePlan:
    """What a run trains on: the device kind, the Keras dtype policy and how it was chosen."""

    kind: str  # "npu", "gpu" or "cpu"
    precision: str  # "fp32" or "mixed"
    keras_policy: str  # "float32", "mixed_float16" or "mixed_bfloat16"
    loss_scaling: bool
    npu_precision_mode: str | None = None

    def describe(self) -> str:
        text = f"{self.kind.upper()} ({self.precision}"
        if self.npu_precision_mode:
            text += f", precision_mode={self.npu_precision_mode}"
        elif self.keras_policy != "float32":
            text += f", {self.keras_policy}"
        return text + ")"


def plan_device(device: str = "auto", precision: str = "auto", npu_module=None) -> DevicePlan:
    """Resolve `--device` and `--precision` against what this machine has.

    auto picks NPU when `npu_device` imports, else GPU when TensorFlow sees one, else CPU.
    auto precision is mixed on accelerators (fp16 with loss scaling on GPU, the adapter's
    allow_mix_precision on NPU) and fp32 on CPU; mixed on CPU means bfloat16.
    """
    if device not in DEVICES:
        raise DeviceError(f"Unknown device '{device}'.", f"Use one of: {', '.join(DEVICES)}.")
    if precision not in PRECISIONS:
        raise DeviceError(
            f"Unknown precision '{precision}'.", f"Use one of: {', '.join(PRECISIONS)}."
        )
    if device in ("auto", "npu"):
        npu_module = npu_module if npu_module is not None else npu_seam.load_adapter()
        if npu_module is not None:
            mode = "force_fp32" if precision == "fp32" else "allow_mix_precision"
            mixed = mode == "allow_mix_precision"
            return DevicePlan("npu", "mixed" if mixed else "fp32", "float32", False, mode)
        if device == "npu":
            raise DeviceError(
                "--device npu was asked for, but the Ascend adapter 'npu_device' does not import.",
                "Install the CANN toolkit and the TF2 adapter (npu_device) on an Ascend host and "
                "source its set_env.sh, or use --device auto/cpu/gpu.",
            )
    has_gpu = bool(tf.config.list_physical_devices("GPU"))
    if device == "gpu" and not has_gpu:
        raise DeviceError(
            "--device gpu was asked for, but TensorFlow sees no GPU.",
            "Check the CUDA driver (nvidia-smi) and install tensorflow[and-cuda], "
            "or use --device cpu.",
        )
    kind = "gpu" if has_gpu and device in ("auto", "gpu") else "cpu"
    mixed = precision == "mixed" or (precision == "auto" and kind == "gpu")
    if not mixed:
        return DevicePlan(kind, "fp32", "float32", False)
    if kind == "gpu":
        return DevicePlan(kind, "mixed", "mixed_float16", True)
    return DevicePlan(kind, "mixed", "mixed_bfloat16", False)


def activate(plan: DevicePlan, npu_module=None) -> None:
    """Make the plan current: Keras dtype policy, and the NPU as default device when chosen."""
    keras.mixed_precision.set_global_policy(plan.keras_policy)
    if plan.kind == "cpu":
        tf.config.set_visible_devices([], "GPU")
    if plan.kind == "npu":
        npu_module = npu_module if npu_module is not None else npu_seam.load_adapter()
        npu_seam.open_device(npu_module, plan.npu_precision_mode)


def wrap_optimizer(optimizer: keras.optimizers.Optimizer, plan: DevicePlan):
    """Add dynamic loss scaling where float16 gradients would underflow."""
    if plan.loss_scaling:
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer
