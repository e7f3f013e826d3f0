"""Scoring rows with a trained model: the saved preprocessing, then the model (loaded once, cached, bounded)."""

from __future__ import annotations

import base64
import binascii
import io
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core import preprocessing, target_scaling
from core.metrics import OUTPUT_ACTIVATION, activated, probabilities
from server.errors import ApiError, invalid
from server.models import TrainedModel
from server.services import thresholds

MAX_ROWS = 10_000
CACHE_SIZE = 8
_cache: OrderedDict[tuple[str, float], tuple[Any, threading.Lock]] = OrderedDict()
_cache_lock = threading.Lock()
loads = 0  # how many times a model file was read from disk (tests check the cache with it)


def load_model(path: Path) -> tuple[Any, threading.Lock]:
    """The Keras model at PATH, from the bounded LRU cache when it is there."""
    global loads
    key = (str(path), path.stat().st_mtime)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    import keras

    try:
        model = keras.models.load_model(path, compile=False)  # safe_mode: no arbitrary code from the file
    except MemoryError:
        raise
    except Exception as exc:  # a file that passed its checksum but Keras cannot read is still the client's 409
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
    model_row: TrainedModel, rows: list[dict[str, Any]], files_root: Path | None
) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """The model inputs for ROWS, with the count of imputed values per column (no value changed silently)."""
    from core.sequences import as_model_input  # core.sequences imports Keras: not at API start-up

    prep = model_row.preprocessing
    frame = pd.DataFrame(rows)
    required = [m["column"] for m in prep.get("main", [])]
    required += [*prep.get("index", {}), *prep.get("text", {}), *prep.get("image", {})]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise invalid(
            f"The rows lack column(s) the model needs: {', '.join(missing[:20])}.",
            errors=[{"field": c, "message": "missing"} for c in missing],
            code="missing_columns",
        )
    tabular = {**prep, "image": {}}
    try:
        out = preprocessing.transform(frame, tabular)
        imputed = preprocessing.imputed_counts(frame, tabular)
        for col, spec in prep.get("image", {}).items():
            out[f"{col}_preprocessed"] = np.stack(
                [preprocessing.load_image(_image_bytes(v, col, files_root), spec) for v in frame[col]]
            )
    except preprocessing.PreprocessingError as exc:
        raise invalid(f"The rows cannot be preprocessed: {exc}", code="bad_rows") from None
    except (OSError, ValueError) as exc:
        raise invalid(f"An image cannot be read: {exc}", code="bad_image") from None
    return {k: as_model_input(v) for k, v in out.items()}, imputed


def predict(model_row: TrainedModel, path: Path, rows: Any, files_root: Path | None = None) -> dict[str, Any]:
    """Predictions for ROWS ([{column: value}]): class labels + probabilities, or numbers for regression."""
    if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
        raise invalid("rows must be a non-empty list of objects {column: value}.", code="bad_rows")
    if len(rows) > MAX_ROWS:
        raise ApiError(413, "too_many_rows", f"{len(rows)} rows; at most {MAX_ROWS} per request.")
    from core.sequences import inputs_for  # core.sequences imports Keras: not at API start-up

    inputs, imputed = _inputs(model_row, rows, files_root)
    model, lock = load_model(path)
    with lock:
        output = np.asarray(model.predict(inputs_for(model, inputs), verbose=0, batch_size=1024), dtype="float64")
    if model_row.prediction_type == "regression":  # on the target's scale (undone here for older model files)
        output = target_scaling.saved_output_to_target(output, model_row.preprocessing)
        return {"predictions": output.reshape(len(rows), -1)[:, 0].tolist(), "imputed": imputed}
    # A model trained on logits records the activation that makes them probabilities (issue 22).
    activation = ((model_row.preprocessing or {}).get("target") or {}).get(OUTPUT_ACTIVATION)
    proba = probabilities(activated(output, activation))
    labels = model_row.class_labels or list(range(proba.shape[1]))
    chosen = proba.argmax(axis=1)
    if model_row.prediction_type == "binary" and proba.shape[1] == 2:  # the threshold chosen on the model page
        chosen = (proba[:, 1] >= thresholds.read(path)).astype(int)
    return {
        "predictions": [labels[i] for i in chosen],
        "probabilities": proba.tolist(),
        "class_labels": labels,
        "imputed": imputed,
    }
