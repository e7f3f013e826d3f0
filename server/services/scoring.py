"""Scoring rows with a trained model: the saved preprocessing, then the model (loaded once, cached, bounded)."""

from __future__ import annotations

import base64
import binascii
import io
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core import preprocessing, target_scaling
from core.metrics import OUTPUT_ACTIVATION, activated, probabilities
from server.errors import ApiError, invalid
from server.models import TrainedModel
from server.services import row_categories, row_numbers, thresholds
from server.services.model_summary import user_code_reason

MAX_ROWS = 10_000
CACHE_SIZE = 8
CHUNK_VALUES = 1 << 22  # input values one fast_output call gives the model (a 20-column table: 200k rows)
MIN_CHUNK_ROWS = 64  # and at least this many rows (images: 64 of 224×224×3 are 39 MB of float32)
_cache: OrderedDict[tuple[str, float], tuple[Any, threading.Lock]] = OrderedDict()
_cache_lock = threading.Lock()
_needs_code: OrderedDict[tuple[str, float], str] = OrderedDict()  # files known to need user code: not read again
loads = 0  # how many times a model file was read from disk (tests check the cache with it)

# Runs the model of a file that needs its training's code on the given inputs elsewhere (a worker's sandbox).
Sandboxed = Callable[[dict[str, np.ndarray]], np.ndarray]
NumberFormat = tuple[str, str | None]  # how the training file wrote its numbers: decimal and thousands separators


class NeedsUserCode(ApiError):
    """The model file names custom objects or Lambda code: only its training's code cells can load it (409 here)."""

    def __init__(self, reason: str):
        super().__init__(
            409, "model_not_loadable", f"The model cannot be loaded here: {reason}, and the API never runs user code."
        )
        self.reason = reason


def load_model(path: Path) -> tuple[Any, threading.Lock]:
    """The Keras model at PATH, from the bounded LRU cache when it is there; NeedsUserCode when it needs user code."""
    global loads
    key = (str(path), path.stat().st_mtime)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
        if key in _needs_code:
            raise NeedsUserCode(_needs_code[key])
    import keras

    try:
        # safe_mode, no custom objects: the API never runs code from the file or from the user's cells.
        model = keras.models.load_model(path, compile=False, safe_mode=True)
    except MemoryError:
        raise
    except Exception as exc:  # a file that passed its checksum but Keras cannot read is still the client's 409
        reason = user_code_reason(exc)
        if reason:
            with _cache_lock:
                _needs_code[key] = reason
                while len(_needs_code) > CACHE_SIZE * 32:
                    _needs_code.popitem(last=False)
            raise NeedsUserCode(reason) from None
        raise ApiError(
            409, "model_file_corrupt", f"The model file cannot be loaded ({type(exc).__name__}: {str(exc)[:200]})."
        ) from None
    with _cache_lock:
        loads += 1
        _cache[key] = (model, threading.Lock())
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
        return _cache[key]


def _image_bytes(value: Any, column: str, files_root: Path | None) -> Any:
    """An image given as {"base64": …}, a data: URL, base64 text, or a path inside the dataset's files."""
    if isinstance(value, dict) and "base64" in value:
        value = value["base64"]
    if isinstance(value, str) and value.startswith("data:"):
        value = value.split(",", 1)[-1]
    if isinstance(value, str) and files_root is not None:
        candidate = (files_root / value).resolve()
        if files_root.resolve() in candidate.parents and candidate.is_file():
            return candidate
    if isinstance(value, str):
        try:
            return io.BytesIO(base64.b64decode(value, validate=True))
        except (binascii.Error, ValueError):
            pass
    raise invalid(
        f"Column {column!r} needs an image as base64 (or {{'base64': …}}) or a path inside the dataset's files.",
        errors=[{"field": column, "message": "not an image"}],
        code="bad_image",
    )


def _inputs(
    model_row: TrainedModel, rows: list[dict[str, Any]], files_root: Path | None, number_format: NumberFormat
) -> tuple[dict[str, np.ndarray], preprocessing.InputCounts]:
    """The model inputs for ROWS, their numbers sent as text read in NUMBER_FORMAT (the training file's), with the
    values imputed and the categories the model does not encode per column (frame_inputs: no value changed
    silently)."""
    prep = model_row.preprocessing
    numeric = [m["column"] for m in prep.get("main", []) if m["kind"] == "numeric"]
    columns = {m["column"] for m in prep.get("main", [])} | {*prep.get("index", {}), *prep["text"], *prep["image"]}
    flat = [flat_row(row, columns) for row in rows]
    frame = row_numbers.read_columns(pd.DataFrame(flat), numeric, *number_format)
    return frame_inputs(model_row, frame, files_root)


def flat_row(row: dict[str, Any], columns: set[str], prefix: str = "") -> dict[str, Any]:
    """ROW with the objects it nests flattened into the model's COLUMNS as an uploaded JSON file's were
    (`{"review": {"text": …}}` → `review.text`) and lists written as their JSON text (json_tables); an object that
    is itself a column's value (an image's `{"base64": …}`) stays."""
    flat: dict[str, Any] = {}
    for key, value in row.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and name not in columns:
            flat.update(flat_row(value, columns, f"{name}."))
        elif isinstance(value, list):
            flat[name] = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        else:
            flat[name] = value
    return flat


def frame_inputs(
    model_row: TrainedModel, frame: pd.DataFrame, files_root: Path | None
) -> tuple[dict[str, np.ndarray], preprocessing.InputCounts]:
    """The model inputs for the rows of FRAME, with the values imputed and the categories unknown per column. A
    category the model does not know but for the spaces around it is read as the model's (row_categories): the
    rows are then preprocessed again, a cost only rows with an unknown category pay."""
    inputs, counts = _frame_inputs(model_row, frame, files_root)
    if counts.unseen and (matched := row_categories.match(frame, model_row.preprocessing)) is not frame:
        inputs, counts = _frame_inputs(model_row, matched, files_root)
    return inputs, counts


def _frame_inputs(
    model_row: TrainedModel, frame: pd.DataFrame, files_root: Path | None
) -> tuple[dict[str, np.ndarray], preprocessing.InputCounts]:
    """frame_inputs, FRAME taken as it is."""
    from core.sequences import as_model_input  # core.sequences imports Keras: not at API start-up

    prep = model_row.preprocessing
    required = [m["column"] for m in prep.get("main", [])]
    required += [*prep.get("index", {}), *prep.get("text", {}), *prep.get("image", {})]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise invalid(
            f"The rows lack column(s) the model needs: {', '.join(missing[:20])}.",
            errors=[{"field": c, "message": "missing"} for c in missing],
            code="missing_columns",
        )
    counts = preprocessing.InputCounts()
    try:
        out = preprocessing.transform(frame, {**prep, "image": {}}, counts=counts)
        for col, spec in prep.get("image", {}).items():
            out[preprocessing.input_name(col)] = np.stack(
                [preprocessing.load_image(_image_bytes(v, col, files_root), spec) for v in frame[col]]
            )
    except preprocessing.PreprocessingError as exc:
        raise invalid(f"The rows cannot be preprocessed: {exc}", code="bad_rows") from None
    except (OSError, ValueError) as exc:
        raise invalid(f"An image cannot be read: {exc}", code="bad_image") from None
    return {k: as_model_input(v) for k, v in out.items()}, counts


def _output(path: Path, inputs: dict[str, np.ndarray], sandboxed: Sandboxed | None) -> np.ndarray:
    """The model's raw output: here when the file loads safely, else from SANDBOXED (a worker runs the user's code)."""
    from core.sequences import inputs_for  # core.sequences imports Keras: not at API start-up

    try:
        model, lock = load_model(path)
    except NeedsUserCode:
        if sandboxed is None:
            raise
        return sandboxed(inputs)
    with lock:
        return np.asarray(model.predict(inputs_for(model, inputs), verbose=0, batch_size=1024), dtype="float64")


def predict(
    model_row: TrainedModel,
    path: Path,
    rows: Any,
    files_root: Path | None = None,
    sandboxed: Sandboxed | None = None,
    number_format: NumberFormat = (".", None),
) -> dict[str, Any]:
    """Predictions for ROWS ([{column: value}]): class labels + probabilities, or numbers for regression; numbers
    sent as text are read in NUMBER_FORMAT (decimal and thousands separators)."""
    if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
        raise invalid("rows must be a non-empty list of objects {column: value}.", code="bad_rows")
    if len(rows) > MAX_ROWS:
        raise ApiError(413, "too_many_rows", f"{len(rows)} rows; at most {MAX_ROWS} per request.")
    inputs, counts = _inputs(model_row, rows, files_root, number_format)
    values, proba, labels = decode(model_row, path, _output(path, inputs, sandboxed))
    if proba is None:
        return {"predictions": values.tolist(), "imputed": counts.imputed, "unseen": counts.unseen}
    return {
        "predictions": [labels[i] for i in values],
        "probabilities": proba.tolist(),
        "class_labels": labels,
        "imputed": counts.imputed,
        "unseen": counts.unseen,
    }


def decode(model_row: TrainedModel, path: Path, output: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, list[Any]]:
    """The model's raw OUTPUT as (regression values, None, []) or (chosen class indices, probabilities, labels)."""
    if model_row.prediction_type == "regression":  # on the target's scale (undone here for older model files)
        output = target_scaling.saved_output_to_target(output, model_row.preprocessing)
        return output.reshape(len(output), -1)[:, 0], None, []
    # A model trained on logits records the activation that makes them probabilities (issue 22).
    activation = ((model_row.preprocessing or {}).get("target") or {}).get(OUTPUT_ACTIVATION)
    proba = probabilities(activated(output, activation))
    labels = model_row.class_labels or list(range(proba.shape[1]))
    chosen = proba.argmax(axis=1)
    if model_row.prediction_type == "binary" and proba.shape[1] == 2:  # the threshold chosen on the model page
        chosen = (proba[:, 1] >= thresholds.read(path)).astype(int)
    return chosen, proba, labels


def fast_output(path: Path, inputs: dict[str, np.ndarray]) -> np.ndarray:
    """The model's raw output for INPUTS as `model.predict` gives it (batch jobs): one compiled call per chunk of
    rows (`predict_on_batch`, its traced function kept on the model) instead of `predict`'s data adapter, whose
    fixed cost (~60 ms a call) dominated batch scoring; chunks hold at most CHUNK_VALUES input values."""
    from core.sequences import inputs_for  # core.sequences imports Keras: not at API start-up

    model, lock = load_model(path)  # NeedsUserCode (409) for a model that needs its training's code
    n = len(next(iter(inputs.values())))
    width = sum(int(np.prod(a.shape[1:])) for a in inputs.values()) or 1
    chunk = max(MIN_CHUNK_ROWS, CHUNK_VALUES // width)
    parts = []
    with lock:
        for start in range(0, n, chunk):
            part = {k: a[start : start + chunk] for k, a in inputs.items()}
            parts.append(np.asarray(model.predict_on_batch(inputs_for(model, part)), dtype="float64"))
    return np.concatenate(parts) if len(parts) > 1 else parts[0]
