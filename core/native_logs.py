"""Keep TensorFlow's start-up chatter off the terminal without hiding real errors.

TensorFlow's native logger writes its start-up notices straight to file descriptor 2, before
`TF_CPP_MIN_LOG_LEVEL` takes effect: the oneDNN notice, CPU-instruction hints, "Could not find
cuda drivers" and, on machines without a GPU driver, `E0000 ... failed call to cuInit`, which
reads like a failure. `filter_native_stderr` routes descriptor 2 through a pipe and forwards
every line except those (info and warning lines of the native logger, which level 2 would
hide anyway, and the cuInit line of a machine without a GPU driver). Error lines and
everything Python writes pass unchanged; a partial line (a progress bar) passes at once.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import sys
import threading

_NOISE = re.compile(
    rb"^(?:"
    rb"[IW]\d{4} \d\d:\d\d:[\d.]+ +\d+ [\w.]+:\d+\] .*"  # native info / warning lines
    rb"|E\d{4} \d\d:\d\d:[\d.]+ +\d+ cuda_(?:platform|executor)\.cc:\d+\] failed call to cuInit.*"
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    rb"|To enable the following instructions: .*rebuild TensorFlow with the appropriate.*"
    rb")$"
)
# How a noise line can begin: a partial line like this is held back until its end arrives.
_NOISE_START = re.compile(
    rb"^(?:[IWE]\d{0,4}(?: .*)?|W(?:A(?:R(?:N(?:I(?:N(?:G(?::.*)?)?)?)?)?)?)?|To(?: .*)?)$"
)


def is_noise(line: bytes) -> bool:
    """True for a start-up notice line (without its newline) that is dropped."""
    return bool(_NOISE.match(line.rstrip(b"\r")))


def filtered(pending: bytes, chunk: bytes) -> tuple[bytes, bytes]:
    """(bytes to forward, bytes to hold) after `chunk` arrives behind `pending`."""
    data = pending + chunk
    *lines, rest = data.split(b"\n")
    out = b"".join(line + b"\n" for line in lines if not is_noise(line))
    if rest and not _NOISE_START.match(rest):
        out, rest = out + rest, b""
    return out, rest


def filter_native_stderr() -> None:
    """Filter descriptor 2 for the rest of the process (restored and drained at exit)."""
    try:
        real = os.dup(2)
        read_end, write_end = os.pipe()
        sys.stderr.flush()
        os.dup2(write_end, 2)
        os.close(write_end)
    except OSError:
        return

    def pump() -> None:
        pending = b""
        while chunk := os.read(read_end, 65536):
            out, pending = filtered(pending, chunk)
            if out:
                os.write(real, out)
        if pending and not is_noise(pending):
            os.write(real, pending)
        os.close(read_end)

    thread = threading.Thread(target=pump, name="stderr-filter", daemon=True)
    thread.start()

    def restore() -> None:
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.flush()
        os.dup2(real, 2)  # closes this process's write end: the pump sees the end and drains
        thread.join(timeout=2)

    atexit.register(restore)
