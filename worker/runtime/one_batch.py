"""A dry run inside the child: train the built model on one small batch and summarise it. In advanced mode the
training cell's own fit_model runs, on its sequences cut to their first batch, so it fails where training would."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from core import cells as contract
from core.contracts import Design, DryRunResult
from worker.runtime import cells
from worker.runtime.eval_sequence import user_validation
from worker.runtime.fit import FitData, user_sequences

DRY_RUN_BATCH = 32  # at most this many rows in the one batch


class FirstBatch(keras.utils.PyDataset):
    """SEQUENCE cut to its first batch: a fit over it takes one step per epoch."""

    def __init__(self, sequence: Any):
        super().__init__()
        self.sequence = sequence

    def __len__(self) -> int:
        return 1

    @property
    def num_batches(self) -> int:
        """One batch per epoch."""
        return 1

    def __getitem__(self, index: int) -> Any:
        return self.sequence[0]


class StopAfterOneBatch(keras.callbacks.Callback):
    """Ends the fit after its first batch, keeping that batch's loss."""

    def __init__(self) -> None:
        super().__init__()
        self.loss: float | None = None
        self.batches = 0

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.batches += 1
        if self.loss is None and logs and "loss" in logs:
            self.loss = float(np.asarray(logs["loss"]).reshape(-1)[0])
        self.model.stop_training = True


def _fit_model_once(model: Any, design: Design, data: FitData, base: Any) -> float | None:
    """The training cell's fit_model on its sequences cut to one batch, stopped after one step; the step's loss."""
    train_seq, validation_seq, fit_model = user_sequences(design, data)
    if hasattr(validation_seq, "__getitem__") and hasattr(validation_seq, "__len__"):
        validation_seq = FirstBatch(validation_seq)
    if base is not None:
        base.validation = user_validation(validation_seq, base.validation, design.prediction_type)
    stop = StopAfterOneBatch()
    callbacks = [base, stop] if base is not None else [stop]
    cells.call(contract.TRAINING, fit_model, model, FirstBatch(train_seq), validation_seq, callbacks)
    return stop.loss


def train_one_batch(
    model: Any, design: Design, data: FitData, shapes: dict[str, tuple[int, ...]], width: int, base: Any = None
) -> DryRunResult:
    """Train one small batch (advanced mode: through the training cell's build_sequences and fit_model, with the
    base callbacks BASE); return the summary."""
    if data.training["mode"] == "advanced":
        loss = _fit_model_once(model, design, data, base)
    else:
        train_seq: Any = data.train_sequence(min(data.training["batch_size"], DRY_RUN_BATCH))
        batch = cells.call(contract.TRAINING, train_seq.__getitem__, 0)
        out = cells.call(contract.ARCHITECTURE, model.train_on_batch, batch[0], batch[1])
        loss = float(np.asarray(out).reshape(-1)[0]) if out is not None else None
    lines: list[str] = []
    model.summary(print_fn=lambda line, *args, **kw: lines.append(line))
    return DryRunResult(
        summary="\n".join(lines),
        input_shapes={k: list(v) for k, v in shapes.items()},
        output_width=width,
        loss=loss,
        params=int(model.count_params()),
    )
