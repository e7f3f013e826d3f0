"""Evaluation of a saved model version on a labelled dataset (api.md "Batch jobs"): read the dataset's Parquet in
batches, score each as batch scoring does (server/services/batch_scoring.py), keep each row's true value and the
model's output, then compute the task's catalogue metrics (core/metrics.py) and the evaluation's confusion matrix,
ROC and charts (core/evaluation.py), as a training's validation evaluation has them."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core import evaluation, metrics, preprocessing
from core.preprocessing import InputCounts
from server.errors import invalid
from server.models import TrainedModel
from server.services import table_store
from server.services.batch_scoring import (
    MAX_FAILURES_KEPT,
    Aborted,
    Progress,
    Runner,
    as_frame,
    required_columns,
    score_rows,
)

NO_TARGET = "no target value the model knows (missing, or a class it was not trained on): left out of the metrics"


@dataclass
class Evaluated:
    """What an evaluation measured: rows read, rows left out (and the first few), the values imputed and the
    categories the model did not know, the metrics and the charts."""

    n_rows: int = 0
    failed: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)
    counts: InputCounts = field(default_factory=InputCounts)
    metrics: dict[str, Any] = field(default_factory=dict)
    charts: dict[str, Any] = field(default_factory=dict)


def true_values(model: TrainedModel, series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """The true values of SERIES (floats, or class indices in the model's class order) and which rows have one."""
    if model.prediction_type == "regression":
        y = pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64")
        return y, ~np.isnan(y)
    target = (model.preprocessing or {}).get("target") or {}
    classes = target.get("classes") or model.class_labels or list(range(model.n_classes))
    y = preprocessing.class_indices(series, {"classes": classes})  # matched as text, as training matched them
    return y, (y >= 0) & series.notna().to_numpy()


def finite(value: Any) -> Any:
    """VALUE with every NaN or infinite number replaced by None (JSON columns take neither)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def _add_failures(result: Evaluated, bad: dict[int, str]) -> None:
    """Count BAD rows ({row: message}) and describe the first MAX_FAILURES_KEPT of the job."""
    result.failed += len(bad)
    room = MAX_FAILURES_KEPT - len(result.failures)
    result.failures += [{"row": r, "message": m[:500]} for r, m in sorted(bad.items())[: max(0, room)]]


def evaluate_file(
    model: TrainedModel,
    model_path: Path,
    source: Path,
    files_root: Path | None,
    target: str,
    batch_rows: int,
    progress: Progress,
    runner: Runner = None,
) -> Evaluated:
    """Evaluate the model on the Parquet file SOURCE read in batches of BATCH_ROWS; PROGRESS after each batch,
    Aborted when it says stop. Rows without a known target or that cannot be scored are counted and left out.

    Memory: a batch, plus each measured row's true value and output kept for the metrics (8 bytes per class and
    one more a row: 24 MB for a million rows of a binary task), as AUC and the charts need them all."""
    parquet = table_store.open_parquet(source)
    columns = list(dict.fromkeys([*required_columns(model.preprocessing or {}), target]))
    result, truths, outputs = Evaluated(), [], []
    for batch in parquet.iter_batches(batch_size=batch_rows, columns=columns):
        frame = as_frame(batch)
        start = result.n_rows
        y, known = true_values(model, frame[target])
        bad = {start + int(i): NO_TARGET for i in np.flatnonzero(~known)}
        values, proba = score_rows(model, model_path, frame, files_root, start, bad, result.counts, runner)
        keep = np.ones(len(frame), dtype=bool)
        keep[[r - start for r in bad]] = False
        truths.append(y[keep])
        outputs.append((values if proba is None else proba)[keep])
        result.n_rows += len(frame)
        _add_failures(result, bad)
        if not progress(result.n_rows, result.failed):
            raise Aborted
    y_true = np.concatenate(truths) if truths else np.zeros(0)
    if not len(y_true):
        raise invalid(
            f"No row of the dataset has a target value in {target!r} the model can be measured on.",
            code="no_labelled_rows",
        )
    output = np.concatenate(outputs)
    result.metrics = finite(metrics.compute(model.prediction_type, y_true, output))
    labels = model.class_labels if model.prediction_type != "regression" else None
    result.charts = finite(evaluation.evaluate(model.prediction_type, y_true, output, labels))
    return result
