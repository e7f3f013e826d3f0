"""Which GPUs a training gets: each of the worker's GPUs serves one training at a time."""

from __future__ import annotations

import threading
import time


class GpuPool:
    """The worker's GPUs; acquire() hands out free ones (preferring those asked for), release() returns them."""

    def __init__(self, gpus: list[int]):
        self.gpus = list(dict.fromkeys(gpus))
        self._busy: set[int] = set()
        self._cond = threading.Condition()

    def choose(self, wanted: list[int]) -> list[int] | None:
        """The GPUs to give a training that asks for WANTED, or None when not enough are free now."""
        count = max(1, len(dict.fromkeys(wanted)))
        if count > len(self.gpus):
            raise ValueError(f"the training asks for {count} GPUs but this worker has {len(self.gpus)} ({self.gpus})")
        free = [g for g in self.gpus if g not in self._busy]
        preferred = [g for g in dict.fromkeys(wanted) if g in free]
        rest = [g for g in free if g not in preferred]
        pick = (preferred + rest)[:count]
        return pick if len(pick) == count else None

    def acquire(self, wanted: list[int], timeout: float | None = None) -> list[int]:
        """Block until enough GPUs are free and take them; TimeoutError after TIMEOUT seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            pick = self.choose(wanted)
            while pick is None:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise TimeoutError("no GPU became free in time")
                self._cond.wait(remaining)
                pick = self.choose(wanted)
            self._busy.update(pick)
            return pick

    def release(self, gpus: list[int]) -> None:
        """Give GPUS back."""
        with self._cond:
            self._busy.difference_update(gpus)
            self._cond.notify_all()

    @property
    def busy(self) -> set[int]:
        """The GPUs in use now."""
        with self._cond:
            return set(self._busy)
