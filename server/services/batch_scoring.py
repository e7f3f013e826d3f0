"""Batch scoring of a whole dataset: read its Parquet in batches, score each with the saved version's stored
preprocessing and model (server/services/scoring.py, as …/predict does), write the input columns plus
`prediction` and `proba_<class>` to a new Parquet file; memory holds a few batches whatever the dataset's size."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from core.preprocessing import InputCounts
from server.errors import ApiError
from server.models import TrainedModel
from server.services import scoring, table_store

MAX_FAILURES_KEPT = 20  # unscorable rows described in the job (all of them are counted)
MAX_BATCH_CELLS = 2_000_000  # input values of one batch turned into Python objects for the preprocessing
MAX_BATCH_IMAGE_BYTES = 256 << 20  # one batch's decoded images, as the float32 the model gets


class Aborted(Exception):
    """The job was aborted between two batches."""


@dataclass
class Scored:
    """What a scoring wrote: rows in all, rows that could not be scored, the first few of those, the values imputed
    and the categories the model did not know, a sample."""

    n_rows: int = 0
    failed: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)
    counts: InputCounts = field(default_factory=InputCounts)
    sample: pa.Table | None = None


# Called after each batch with (rows scored so far, rows failed so far); False stops the job (abort).
Progress = Callable[[int, int], bool]
# The model's raw output for a batch's inputs: None means the model file's compiled function in this process
# (scoring.fast_output); a worker gives a model that needs its training's code as a sandboxed child's (worker/).
Runner = Callable[[dict[str, np.ndarray]], np.ndarray] | None


def required_columns(preprocessing: dict[str, Any]) -> list[str]:
    """The dataset columns a trained model's stored preprocessing reads (its inputs)."""
    columns = [m["column"] for m in preprocessing.get("main", [])]
    columns += [*preprocessing.get("index", {}), *preprocessing.get("text", {}), *preprocessing.get("image", {})]
    return columns


def batch_rows_for(model: TrainedModel, rows: int) -> int:
    """ROWS (FITSTUDIO_SCORE_BATCH_ROWS), fewer when the model reads many columns or images: a batch's input values
    stay under MAX_BATCH_CELLS and its decoded images under MAX_BATCH_IMAGE_BYTES."""
    prep = model.preprocessing or {}
    rows = min(rows, max(1, MAX_BATCH_CELLS // max(1, len(required_columns(prep)))))
    image_bytes = sum(4 * s["height"] * s["width"] * s["channels"] for s in prep.get("image", {}).values())
    return min(rows, max(1, MAX_BATCH_IMAGE_BYTES // image_bytes)) if image_bytes else rows


def _free_name(name: str, taken: set[str]) -> str:
    """NAME, or NAME_2, NAME_3… when the input already has a column of that name (input columns are never renamed)."""
    out, n = name, 1
    while out in taken:
        n += 1
        out = f"{name}_{n}"
    taken.add(out)
    return out


@dataclass(frozen=True)
class Output:
    """The result's extra columns: their names and Arrow types for one model and input schema."""

    prediction: str
    proba: list[str]
    schema: pa.Schema


def output_of(model: TrainedModel, inputs: pa.Schema) -> Output:
    """The result schema: INPUTS' columns, then `prediction` and (classification) one `proba_<class>` per class."""
    taken = set(inputs.names)
    prediction = _free_name("prediction", taken)
    if model.prediction_type == "regression":
        return Output(prediction, [], inputs.append(pa.field(prediction, pa.float64())))
    labels = model.class_labels or list(range(model.n_classes))
    proba = [_free_name(f"proba_{label}", taken) for label in labels]
    fields = [pa.field(prediction, pa.array(labels).type), *(pa.field(p, pa.float64()) for p in proba)]
    schema = inputs
    for f in fields:
        schema = schema.append(f)
    return Output(prediction, proba, schema)


# A batch's predictions: class indices and probabilities (classification), or values and None (regression).
Predicted = tuple[np.ndarray, np.ndarray | None]


def _predict(
    model: TrainedModel, path: Path, frame: pd.DataFrame, root: Path | None, runner: Runner, counts: InputCounts
) -> Predicted:
    """FRAME's predictions as …/predict makes them (its imputed values and unknown categories added to COUNTS once
    it is scored), the model called by RUNNER (its compiled function here when None)."""
    inputs, found = scoring.frame_inputs(model, frame, root)
    output = runner(inputs) if runner is not None else scoring.fast_output(path, inputs)
    values, proba, _ = scoring.decode(model, path, output)
    counts.add(found)
    return values, proba


def score_rows(
    model: TrainedModel,
    path: Path,
    frame: pd.DataFrame,
    root: Path | None,
    start: int,
    bad: dict[int, str],
    counts: InputCounts,
    runner: Runner = None,
) -> Predicted:
    """Predictions for FRAME's rows (placeholders for a row that cannot be scored, its message put in BAD by row
    number; the scored rows' imputed values and unknown categories added to COUNTS).

    A batch refused as bad input (422) is halved until the bad rows are found: k bad rows cost about
    k·log2(batch) model calls, never one call per row of the batch."""
    try:
        return _predict(model, path, frame, root, runner, counts)
    except ApiError as exc:
        if exc.status != 422:
            raise
        if len(frame) == 1:
            bad[start] = exc.detail
            classes = 0 if model.prediction_type == "regression" else len(model.class_labels or range(model.n_classes))
            return np.zeros(1, dtype="int64"), (np.zeros((1, classes)) if classes else None)
    half = len(frame) // 2
    first = score_rows(model, path, frame.iloc[:half], root, start, bad, counts, runner)
    second = score_rows(model, path, frame.iloc[half:], root, start + half, bad, counts, runner)
    proba = None if first[1] is None else np.concatenate([first[1], second[1]])
    return np.concatenate([first[0], second[0]]), proba


def as_frame(batch: pa.RecordBatch) -> pd.DataFrame:
    """BATCH as pandas, column by column; a dictionary-encoded column (a pandas category written to Parquet) as its
    plain values, as …/predict's JSON rows would give them."""
    columns = [c.dictionary_decode() if pa.types.is_dictionary(c.type) else c for c in batch.columns]
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names).to_pandas()


def score_batch(
    model: TrainedModel,
    path: Path,
    batch: pa.RecordBatch,
    output: Output,
    root: Path | None,
    start: int,
    counts: InputCounts,
    runner: Runner = None,
) -> tuple[pa.RecordBatch, dict[int, str]]:
    """BATCH with the prediction columns appended, and the rows (numbered from START) that could not be scored;
    the values imputed and the unknown categories added to COUNTS."""
    bad: dict[int, str] = {}
    # Only the columns the model reads are converted, column by column (Arrow to pandas): the others pass through.
    wanted = [c for c in required_columns(model.preprocessing or {}) if c in batch.schema.names]
    values, proba = score_rows(model, path, as_frame(batch.select(wanted)), root, start, bad, counts, runner)
    mask = None
    if bad:
        mask = np.zeros(batch.num_rows, dtype=bool)
        mask[[r - start for r in bad]] = True
    prediction_type = output.schema.field(output.prediction).type
    if proba is None:
        columns = [pa.array(values, type=prediction_type, mask=mask)]
    else:
        labels = pa.array(model.class_labels or list(range(proba.shape[1])), type=prediction_type)
        columns = [labels.take(pa.array(values.astype("int32"), mask=mask))]
        columns += [pa.array(proba[:, i], type=pa.float64(), mask=mask) for i in range(len(output.proba))]
    return pa.RecordBatch.from_arrays([*batch.columns, *columns], schema=output.schema), bad


def score_file(
    model: TrainedModel,
    model_path: Path,
    source: Path,
    dest: Path,
    files_root: Path | None,
    batch_rows: int,
    progress: Progress,
    runner: Runner = None,
) -> Scored:
    """Score the Parquet file SOURCE in batches of BATCH_ROWS into the Parquet file DEST (removed on any error),
    the model called by RUNNER; PROGRESS after each batch; Aborted when it says stop."""
    parquet = table_store.open_parquet(source)
    output = output_of(model, parquet.schema_arrow)
    result = Scored()

    def batches() -> Iterator[pa.RecordBatch]:
        for batch in parquet.iter_batches(batch_size=batch_rows):
            out, bad = score_batch(model, model_path, batch, output, files_root, result.n_rows, result.counts, runner)
            result.n_rows += batch.num_rows
            result.failed += len(bad)
            room = MAX_FAILURES_KEPT - len(result.failures)
            result.failures += [{"row": r, "message": m[:500]} for r, m in sorted(bad.items())[:room]]
            if not progress(result.n_rows, result.failed):
                raise Aborted
            yield out

    result.sample = write_parquet(output.schema, batches(), dest)
    return result


def _read_ahead(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """BATCHES with the next one scored in a thread while the current one is written (both release the GIL at
    times): scoring and writing overlap, and memory holds two batches."""
    with ThreadPoolExecutor(1, thread_name_prefix="fitstudio-score") as pool:
        pending = pool.submit(next, batches, None)
        while (batch := pending.result()) is not None:
            pending = pool.submit(next, batches, None)
            yield batch


def write_parquet(schema: pa.Schema, batches: Iterator[pa.RecordBatch], dest: Path) -> pa.Table:
    """Write BATCHES to the Parquet file DEST (removed on any error); the first SAMPLE_ROWS rows, kept (to infer
    the result's column types as an upload's are).

    Only text columns are dictionary-encoded: Parquet's default also tries it on every number column, which for
    scores and probabilities (nearly all distinct) cost two thirds of the write and made a larger file."""
    text = [f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]
    kept: list[pa.RecordBatch] = []
    kept_rows = 0
    try:
        with pq.ParquetWriter(dest, schema, use_dictionary=text) as writer:
            for batch in _read_ahead(batches):
                writer.write_batch(batch)
                if kept_rows < table_store.SAMPLE_ROWS:
                    kept.append(batch.slice(0, table_store.SAMPLE_ROWS - kept_rows))
                    kept_rows += kept[-1].num_rows
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    return pa.Table.from_batches(kept, schema=schema)
