"""Device and precision selection, and the NPU seam driven through a recording stand-in."""

import sys
import types

import pytest

pytest.importorskip("tensorflow")

from core.errors import DeviceError  # noqa: E402
from training import devices, npu  # noqa: E402


class StandInNpu(types.ModuleType):
    """Records the calls the project makes into `npu_device`."""

    def __init__(self):
        super().__init__("npu_device")
        self.calls = []
        self.options = types.SimpleNamespace(precision_mode=None)

    def global_options(self):
        self.calls.append("global_options")
        return self.options

    def open(self):
        self.calls.append(("open", self.options.precision_mode))
        stand_in = self

        class Device:
            def as_default(self):
                stand_in.calls.append("as_default")

        return Device()


def test_auto_prefers_npu_when_the_adapter_imports():
    plan = devices.plan_device("auto", "auto", npu_module=StandInNpu())
    assert plan.kind == "npu" and plan.npu_precision_mode == "allow_mix_precision"
    assert plan.keras_policy == "float32" and not plan.loss_scaling


def test_npu_fp32_uses_force_fp32():
    plan = devices.plan_device("npu", "fp32", npu_module=StandInNpu())
    assert plan.npu_precision_mode == "force_fp32" and plan.precision == "fp32"


def test_activate_sets_precision_before_opening_the_npu():
    stand_in = StandInNpu()
    plan = devices.plan_device("npu", "auto", npu_module=stand_in)
    devices.activate(plan, npu_module=stand_in)
    assert stand_in.calls == ["global_options", ("open", "allow_mix_precision"), "as_default"]


def test_the_adapter_is_found_by_its_module_name(monkeypatch):
    stand_in = StandInNpu()
    monkeypatch.setitem(sys.modules, "npu_device", stand_in)
    assert npu.load_adapter() is stand_in
    assert devices.plan_device("auto").kind == "npu"


def test_npu_without_adapter_stops_with_a_clear_message(monkeypatch):
    monkeypatch.setattr(npu, "load_adapter", lambda: None)
    with pytest.raises(DeviceError, match="npu_device"):
        devices.plan_device("npu")


def test_cpu_is_fp32_unless_mixed_is_asked(monkeypatch):
    monkeypatch.setattr(npu, "load_adapter", lambda: None)
    assert devices.plan_device("cpu").keras_policy == "float32"
    assert devices.plan_device("cpu", "mixed").keras_policy == "mixed_bfloat16"


def test_gpu_mixed_uses_float16_with_loss_scaling(monkeypatch):
    monkeypatch.setattr(npu, "load_adapter", lambda: None)
    monkeypatch.setattr(devices.tf.config, "list_physical_devices", lambda kind: ["GPU:0"])
    plan = devices.plan_device("auto")
    assert (plan.kind, plan.keras_policy, plan.loss_scaling) == ("gpu", "mixed_float16", True)


def test_gpu_missing_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(npu, "load_adapter", lambda: None)
    monkeypatch.setattr(devices.tf.config, "list_physical_devices", lambda kind: [])
    with pytest.raises(DeviceError, match="no GPU"):
        devices.plan_device("gpu")


def test_unknown_values_are_rejected():
    with pytest.raises(DeviceError):
        devices.plan_device("tpu")
    with pytest.raises(DeviceError):
        devices.plan_device("cpu", "fp8")
