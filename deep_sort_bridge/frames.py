"""Reading frames ahead of their use: decoding runs in background threads while the caller works.

OpenCV releases the GIL while it decodes and resizes, so a couple of threads keep the encoder
fed instead of leaving it idle during every `imread`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import cv2
import numpy as np

Item = TypeVar("Item")
Result = TypeVar("Result")


def read_frame(path: str | Path) -> np.ndarray | None:
    """A frame as BGR uint8 (as `cv2.imread` gives it), or None if it cannot be decoded."""
    return cv2.imread(str(path), cv2.IMREAD_COLOR)


def prefetch(
    items: Iterable[Item],
    load: Callable[[Item], Result],
    workers: int = 2,
    ahead: int = 8,
) -> Iterator[tuple[Item, Result]]:
    """Yield (item, load(item)) in order while up to `ahead` later items load in `workers` threads.

    An exception raised by `load` is raised here, at its item. Leaving the loop early cancels
    the loads not yet started.
    """
    pending: deque[tuple[Item, Future]] = deque()
    iterator = iter(items)
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="frames") as pool:
        try:
            for item in iterator:
                pending.append((item, pool.submit(load, item)))
                if len(pending) > ahead:
                    done, future = pending.popleft()
                    yield done, future.result()
            while pending:
                done, future = pending.popleft()
                yield done, future.result()
        finally:
            for _, future in pending:
                future.cancel()
