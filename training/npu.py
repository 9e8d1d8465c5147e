"""The thin seam to Huawei's Ascend TF2 adapter (`npu_device`); nothing else touches it.

The adapter targets TensorFlow 2.6.5 on Ascend hosts. Everything here is a plain call into the
module so the rest of the project can be tested against a stand-in that records the calls.
"""

from __future__ import annotations

import importlib
from types import ModuleType

NPU_MODULE = "npu_device"
NPU_PRECISION_MODES = (
    "allow_mix_precision",
    "allow_fp32_to_fp16",
    "force_fp32",
    "must_keep_origin_dtype",
)


def load_adapter() -> ModuleType | None:
    """The `npu_device` module, or None when it is not installed (or fails to load)."""
    try:
        return importlib.import_module(NPU_MODULE)
    except Exception:  # the adapter raises various errors off an Ascend host
        return None


def open_device(npu: ModuleType, precision_mode: str) -> None:
    """Set the adapter's precision mode, then open the NPU as the default device."""
    npu.global_options().precision_mode = precision_mode
    npu.open().as_default()
