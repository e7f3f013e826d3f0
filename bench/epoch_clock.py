"""A Keras callback that times each epoch of a fit, in wall and in CPU seconds, for the benchmarks."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def epoch_clock(at_end: Callable[[Any], object] | None = None) -> Any:
    """A callback whose `wall` and `cpu` lists get each epoch's wall and CPU seconds (the process's, all its threads:
    what other work on the host cannot inflate); AT_END(model), when given, runs inside each epoch's time, at its
    end (a session's base callbacks, say)."""
    import keras

    class EpochClock(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.wall: list[float] = []
            self.cpu: list[float] = []

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self._started = time.perf_counter(), time.process_time()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            if at_end is not None:
                at_end(self.model)
            self.wall.append(time.perf_counter() - self._started[0])
            self.cpu.append(time.process_time() - self._started[1])

    return EpochClock()
