"""A dry run inside the child: train the built model on one small batch and summarise it."""

from __future__ import annotations

from typing import Any

import numpy as np

from core import cells as contract
from core.contracts import Design, DryRunResult
from worker.runtime import cells
from worker.runtime.fit import FitData, user_sequences

DRY_RUN_BATCH = 32  # at most this many rows in the one batch


def train_one_batch(
    model: Any, design: Design, data: FitData, shapes: dict[str, tuple[int, ...]], width: int
) -> DryRunResult:
    """Train one small batch (through the user's build_sequences in advanced mode); return the summary."""
    train_seq: Any = data.train_sequence(min(data.training["batch_size"], DRY_RUN_BATCH))
    if data.training["mode"] == "advanced":
        train_seq, _validation, _fit = user_sequences(design, data)
    batch = cells.call(contract.TRAINING, train_seq.__getitem__, 0)
    loss = cells.call(contract.ARCHITECTURE, model.train_on_batch, batch[0], batch[1])
    lines: list[str] = []
    model.summary(print_fn=lambda line, *args, **kw: lines.append(line))
    return DryRunResult(
        summary="\n".join(lines),
        input_shapes={k: list(v) for k, v in shapes.items()},
        output_width=width,
        loss=float(np.asarray(loss).reshape(-1)[0]) if loss is not None else None,
        params=int(model.count_params()),
    )
