"""TensorFlow's start-up notices are dropped; errors and everything else pass unchanged."""

from __future__ import annotations

import subprocess
import sys

from core.native_logs import filtered, is_noise

ONEDNN = b"I0000 00:00:1796124176.862764    9829 port.cc:153] oneDNN custom operations are on."
CUDART = b"I0000 00:00:1796124176.863063    9829 cudart_stub.cc:31] Could not find cuda drivers"
CUINIT = (
    b"E0000 00:00:1796124183.915741    9829 cuda_platform.cc:52] failed call to cuInit: "
    b"INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)"
)
ABSL = b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
REAL_ERROR = b"E0000 00:00:1796124183.9 9829 op_kernel.cc:1830] OP_REQUIRES failed: OOM"


def test_start_up_notices_are_noise():
    for line in (ONEDNN, CUDART, CUINIT, ABSL):
        assert is_noise(line)


def test_errors_and_plain_output_are_kept():
    for line in (REAL_ERROR, b"error: the dataset folder is missing", b"Interrupted.", b""):
        assert not is_noise(line)


def test_partial_lines_pass_at_once_unless_they_may_be_notices():
    out, held = filtered(b"", b"\r 40%|####      | 4/10")
    assert (out, held) == (b"\r 40%|####      | 4/10", b"")
    out, held = filtered(b"", ONEDNN[:20])
    assert (out, held) == (b"", ONEDNN[:20])
    out, held = filtered(held, ONEDNN[20:] + b"\nstep 1\n")
    assert (out, held) == (b"step 1\n", b"")


def test_a_process_with_the_filter_shows_only_what_matters():
    notices = b"\n".join([ABSL, ONEDNN, CUINIT]) + b"\n"
    script = (
        "import os, sys\n"
        "from core.native_logs import filter_native_stderr\n"
        "filter_native_stderr()\n"
        f"os.write(2, {notices!r})\n"
        f"os.write(2, {REAL_ERROR!r} + bytes([10]))\n"
        "print('Training on CPU (fp32)', file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert done.returncode == 0
    assert done.stderr.splitlines() == [REAL_ERROR, b"Training on CPU (fp32)"]
