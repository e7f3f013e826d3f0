"""The job's data read, split and preprocessed: whole for a small dataset, a batch at a time for a large one.

A dataset whose inputs would take more than the job's `stream_above_mb` in memory
(`FITSTUDIO_TRAINING_STREAM_ABOVE_MB`) is streamed: only its target column is read whole, and the inputs are
preprocessed once into memory-mapped files that the training reads a batch at a time
(worker/runtime/streamed_inputs.py). On both paths the preprocessing is fitted on the train split, or on a seeded
sample of it above core/data.FIT_SAMPLE_ROWS (recorded in the model's `fitted_on`); both split the same rows and
give the same arrays for the same data (tests/worker/runtime/test_streamed_inputs.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core import data, input_report, preprocessing, target_scaling
from core.contracts import Design, Job
from worker.runtime import limits, phases, streamed_inputs
from worker.runtime.errors import TrainingError, say

DRY_RUN_ROWS = 256
STREAM_ABOVE_MB = 1024  # the default of FITSTUDIO_TRAINING_STREAM_ABOVE_MB (server/settings.py)


@dataclass(frozen=True)
class Prepared:
    """The job's data split and preprocessed: what the model is built for and trained on."""

    train_df: pd.DataFrame  # the train rows' used columns (only the target when the inputs are streamed)
    val_df: pd.DataFrame
    prep: dict[str, Any]  # the fitted preprocessing, its target part included
    train_x: dict[str, Any]  # arrays, or RowViews over memory-mapped files (streamed; cached images on both paths)
    val_x: dict[str, Any]
    shapes: dict[str, tuple[int, ...]]
    classes: list[Any] | None
    n_classes: int


def prepare(job: Job, started: float) -> Prepared:
    """Load the dataset (a sample of it for a dry run), split it, fit the preprocessing and transform both parts."""
    design = job.design
    phases.enter("loading_data")
    limit_mb = job.limits.stream_above_mb if job.limits.stream_above_mb is not None else STREAM_ABOVE_MB
    estimate = streamed_inputs.estimate_bytes(job.dataset.parquet, design)
    if estimate <= limit_mb << 20:
        frame = data.load_training_rows(job.dataset.parquet, design)
        if job.dry_run and len(frame) > DRY_RUN_ROWS:
            frame = frame.sample(n=DRY_RUN_ROWS, random_state=design.seed).reset_index(drop=True)
        return _from_frame(job, frame, started)
    positions, target = data.target_rows(job.dataset.parquet, design)
    if job.dry_run:  # the same sample as the in-memory path's frame.sample, read by position
        picked = np.arange(len(target))
        if len(target) > DRY_RUN_ROWS:
            picked = target.sample(n=DRY_RUN_ROWS, random_state=design.seed).index.to_numpy()
        return _from_frame(job, _read_rows(job, positions, target, picked), started)
    say(f"the inputs would take about {estimate / 2**20:,.0f} MB in memory, more than {limit_mb:,} MB: streamed")
    return _streamed(job, positions, target, started)


def _read_rows(job: Job, positions: np.ndarray, target: pd.Series, rows: np.ndarray) -> pd.DataFrame:
    """The used columns of the usable rows ROWS (numbers into POSITIONS), in ROWS' order."""
    frame = data.read_positions(job.dataset.parquet, data.input_columns(job.design), positions[rows])
    frame[job.design.target] = target.iloc[rows].to_numpy()
    return frame


def _fitted(
    design: Design, fit_frame: pd.DataFrame, target: pd.Series, train_target: Callable[[], pd.Series]
) -> dict[str, Any]:
    """The preprocessing fitted on FIT_FRAME, the class list on every usable row's TARGET, a regression's scaling
    on the train split's (TRAIN_TARGET: taken only for a regression, 144 MB at 20 M rows)."""
    prep = preprocessing.fit(fit_frame, design.as_dict())
    prep["target"] = preprocessing.fit_target(target, design.prediction_type)
    if design.prediction_type == "regression":  # trained on the standardised target, undone at prediction
        prep["target"][target_scaling.KEY] = target_scaling.fit(pd.to_numeric(train_target(), errors="coerce"))
    classes = prep["target"].get("classes")
    if classes is not None and len(classes) < 2:
        raise TrainingError(f"The target {design.target!r} has a single class; there is nothing to learn.")
    return prep


def _prepared(prep: dict[str, Any], train_df: pd.DataFrame, val_df: pd.DataFrame, xs: tuple[Any, Any]) -> Prepared:
    classes = prep["target"].get("classes")
    shapes = {k: tuple(v) for k, v in prep["input_shapes"].items()}
    return Prepared(train_df, val_df, prep, xs[0], xs[1], shapes, classes, len(classes) if classes else 1)


def _say_report(report: dict[str, dict[str, Any]], prep: dict[str, Any]) -> None:
    prep["report"] = report  # no value changed without a count saying so
    for line in input_report.report_lines(report, prep):
        say(line)


def _from_frame(job: Job, frame: pd.DataFrame, started: float) -> Prepared:
    """The in-memory path: FRAME (every used column of the usable rows) split, fitted and transformed whole."""
    design = job.design
    phases.note(f"{len(frame):,} rows")
    phases.enter("preprocessing")
    train_df, val_df = data.split(frame, design.settings["split"]["train_ratio"], design.seed)
    say(f"{len(frame)} rows: {len(train_df)} for training, {len(val_df)} for validation")
    sample = data.fit_sample(len(train_df), design.seed)
    fit_frame = train_df if sample is None else train_df.iloc[sample]
    prep = _fitted(design, fit_frame, frame[design.target], lambda: train_df[design.target])
    prep["fitted_on"] = {"rows": len(fit_frame), "train_rows": len(train_df), "streamed": False}
    _say_report(input_report.report(frame, prep), prep)
    files_root = job.dataset.files_root
    xs = streamed_inputs.in_memory((train_df, val_df), prep, files_root)
    say(f"inputs: {prep['input_shapes']}; preprocessing took {time.time() - started:.1f}s")
    return _prepared(prep, train_df, val_df, xs)


def _streamed(job: Job, positions: np.ndarray, target: pd.Series, started: float) -> Prepared:
    """The streamed path: the same split and fit, the inputs preprocessed once into memory-mapped files."""
    design = job.design
    n = len(positions)
    phases.note(f"{n:,} rows, read a batch at a time")
    phases.enter("preprocessing")
    train_rows, val_rows = data.split_rows(n, design.settings["split"]["train_ratio"], design.seed)
    say(f"{n} rows: {len(train_rows)} for training, {len(val_rows)} for validation")
    sample = data.fit_sample(len(train_rows), design.seed)  # means, value lists, vocabularies: a bounded sample
    fit_rows = train_rows if sample is None else train_rows[sample]
    limits.give_back_free_memory()  # what reading the target and splitting freed, before the fit sample is read
    fit_frame = _read_rows(job, positions, target, fit_rows)
    prep = _fitted(design, fit_frame, target, lambda: pd.Series(target.to_numpy()[train_rows]))
    del fit_frame
    limits.give_back_free_memory()  # the fit sample's frame, before the inputs are written
    prep["fitted_on"] = {"rows": len(fit_rows), "train_rows": len(train_rows), "streamed": True}
    say(f"preprocessing fitted on {len(fit_rows):,} of the {len(train_rows):,} train rows")
    inputs, report = streamed_inputs.build(job.dataset.parquet, design, positions, prep, job.dataset.files_root)
    _say_report(report, prep)
    xs = ({k: v.pick(train_rows) for k, v in inputs.items()}, {k: v.pick(val_rows) for k, v in inputs.items()})
    say(f"inputs: {prep['input_shapes']}; preprocessing took {time.time() - started:.1f}s")
    frames = streamed_inputs.target_frame(target, train_rows), streamed_inputs.target_frame(target, val_rows)
    return _prepared(prep, *frames, xs)
