"""Features → named model inputs, fitted on the train split and saved as JSON with the model.

numeric: imputation (mean by default) + rescaling (standard by default); categorical: dummies of the most
frequent values; date: its parts, standardised; all concatenated into `main`. categorical with `index` encoding:
integer ids (0: unknown) into `<col>_preprocessed`. text: token ids (Keras TextVectorization vocabulary) into
`<col>_preprocessed`, padded and truncated at the start (DSS). image: uint8 pixels at the feature's size into
`<col>_preprocessed` (scaled to [0, 1] when batched). `report` counts, per input column, the values that did not
parse and were imputed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core import dates, image_cache, text_inputs, text_numbers

MAX_DUMMIES = 100
TEXT_KEYS = ("max_tokens", "sequence_length")
IMAGE_KEYS = ("height", "width", "channels")


class PreprocessingError(ValueError):
    """A row cannot be preprocessed (missing column, unreadable image, …)."""


@dataclass
class InputCounts:
    """Per input column, what a transform replaced: numbers and dates imputed (missing, or not read as one), and
    present categorical values that are none of the model's categories (scored as those it does not encode)."""

    imputed: dict[str, int] = field(default_factory=dict)
    unseen: dict[str, int] = field(default_factory=dict)

    def add(self, other: InputCounts) -> None:
        """Count OTHER's values too (a job's batches)."""
        for kind in ("imputed", "unseen"):
            for column, count in getattr(other, kind).items():
                self.count(kind, column, count)

    def count(self, kind: str, column: str, count: int) -> None:
        """Add COUNT values of COLUMN to KIND ("imputed" or "unseen")."""
        if count:
            into = getattr(self, kind)
            into[column] = into.get(column, 0) + count


def fit(train: pd.DataFrame, design: dict[str, Any]) -> dict[str, Any]:
    """Fit the preprocessing on the TRAIN split; returns its JSON-able description."""
    settings = design["settings"]
    main: list[dict[str, Any]] = []
    index: dict[str, Any] = {}
    text: dict[str, Any] = {}
    image: dict[str, Any] = {}
    for col, spec in settings["features"].items():
        if spec["role"] != "input":
            continue
        kind = spec["type"]
        if kind == "numeric":
            main.append(_fit_numeric(train[col], col, spec))
        elif kind == "date":
            main.append(_fit_date(train[col], col, spec))
        elif kind == "categorical":
            values = top_values(train[col], int(spec.get("max_values") or MAX_DUMMIES))
            if spec.get("encoding") == "index":
                index[col] = {"values": values}
            else:
                main.append({"column": col, "kind": "categorical", "values": values})
        elif kind == "text":
            text[col] = text_inputs.fit_text(train[col], feature_sizes(spec, settings["text"], TEXT_KEYS))
        elif kind == "image":
            image[col] = feature_sizes(spec, settings["image"], IMAGE_KEYS)
    prep: dict[str, Any] = {"main": main, "text": text, "image": image}
    if index:
        prep["index"] = index
    prep["input_shapes"] = input_shapes(prep)
    prep["target"] = fit_target(train[design["target"]], design["prediction_type"])
    return prep


def feature_sizes(spec: dict[str, Any], task_sizes: dict[str, Any], keys: tuple[str, ...]) -> dict[str, int]:
    """The feature's own sizes (text or image) where it sets them, the task's otherwise."""
    return {k: int(spec.get(k) or task_sizes[k]) for k in keys}


def top_values(series: pd.Series, limit: int) -> list[Any]:
    """The LIMIT most frequent values of SERIES, as strings."""
    counts = series.dropna().astype(str).value_counts()
    return list(counts.index[:limit])


def numbers(series: pd.Series) -> np.ndarray:
    """SERIES as float64, NaN where a value is missing, does not parse or is infinite (imputed and counted: an
    infinite value would make every standardised value NaN)."""
    if pd.api.types.is_float_dtype(series.dtype) or pd.api.types.is_integer_dtype(series.dtype):
        values = series.to_numpy(dtype="float64", na_value=np.nan)  # numbers already: to_numeric changes nothing
    elif (texts := text_numbers.arrow_texts(series)) is not None:
        values = text_numbers.read(texts)  # the same numbers, the plain ones read by Arrow off the GIL
    else:
        values = pd.to_numeric(series, errors="coerce").astype("float64").to_numpy()
    infinite = np.isinf(values)
    return np.where(infinite, np.nan, values) if infinite.any() else values


def _fit_numeric(series: pd.Series, col: str, spec: dict[str, Any]) -> dict[str, Any]:
    values = pd.Series(numbers(series)).dropna()
    mean = float(values.mean()) if len(values) else 0.0
    std = float(values.std(ddof=0)) if len(values) > 1 else 0.0
    entry: dict[str, Any] = {"column": col, "kind": "numeric", "mean": mean, "std": std if std > 1e-12 else 1.0}
    impute, rescale = spec.get("impute") or "mean", spec.get("rescale") or "standard"
    if impute == "mean" and rescale == "standard":
        return entry  # the defaults: exactly what models trained before the options were
    fills = {"mean": mean, "median": float(values.median()) if len(values) else 0.0}
    fill = fills.get(impute, float(spec.get("impute_value") or 0.0))
    if rescale == "minmax" and len(values):
        low, span = float(values.min()), float(values.max() - values.min())
        shift, scale = low, span if span > 1e-12 else 1.0
    elif rescale == "none":
        shift, scale = 0.0, 1.0
    else:
        shift, scale = entry["mean"], entry["std"]
    entry.update(impute=impute, rescale=rescale, fill=fill, shift=shift, scale=scale)
    return entry


def _fit_date(series: pd.Series, col: str, spec: dict[str, Any]) -> dict[str, Any]:
    dayfirst = dates.detect_dayfirst(series)
    names = list(spec.get("parts") or dates.PARTS)
    values = dates.parts(dates.parse(series, dayfirst), names)
    means, stds = [], []
    for j in range(len(names)):
        present = values[:, j][~np.isnan(values[:, j])]
        means.append(float(present.mean()) if len(present) else 0.0)
        std = float(present.std()) if len(present) > 1 else 0.0
        stds.append(std if std > 1e-12 else 1.0)
    return {"column": col, "kind": "date", "dayfirst": dayfirst, "parts": names, "mean": means, "std": stds}


def _sorted_labels(values: pd.Series) -> list[Any]:
    uniques = values.dropna().unique().tolist()
    try:
        return sorted(uniques)
    except TypeError:
        return sorted(uniques, key=str)


def fit_target(series: pd.Series, prediction_type: str) -> dict[str, Any]:
    if prediction_type == "regression":
        return {"kind": "regression"}
    labels = [v.item() if hasattr(v, "item") else v for v in _sorted_labels(series)]
    return {"kind": "classification", "classes": labels}


def input_name(column: str) -> str:
    """The model input a column of its own feeds: DSS's `<column>_preprocessed`, a "/" (which Keras refuses in a
    layer's name, and `km/h` holds) written "_"."""
    return f"{column.replace('/', '_')}_preprocessed"


def shared_inputs(columns: Iterable[str]) -> list[tuple[str, str]]:
    """(column, the earlier column) for each of COLUMNS (those with a model input of their own) whose input an
    earlier one already feeds: `a/b` and `a_b`."""
    owners: dict[str, str] = {}
    return [(col, owner) for col in columns if (owner := owners.setdefault(input_name(col), col)) != col]


def input_columns(prep: dict[str, Any]) -> dict[str, str]:
    """Model input name → the column of its own that feeds it; PreprocessingError for two on one (shared_inputs)."""
    columns = (*prep.get("index", {}), *prep["text"], *prep["image"])
    for col, owner in shared_inputs(columns)[:1]:
        raise PreprocessingError(f"columns {owner!r} and {col!r} would both feed {input_name(col)!r}; reject one")
    return {input_name(col): col for col in columns}


def input_shapes(prep: dict[str, Any]) -> dict[str, list[int]]:
    """Model input name → shape without the batch axis."""
    shapes = {"main": [sum(main_width(m) for m in prep["main"])]} if prep["main"] else {}
    sizes = {col: [1] for col in prep.get("index", {})}
    sizes.update({col: [spec["sequence_length"]] for col, spec in prep["text"].items()})
    sizes.update({col: [spec["height"], spec["width"], spec["channels"]] for col, spec in prep["image"].items()})
    return {**shapes, **{name: sizes[col] for name, col in input_columns(prep).items()}}


def main_width(entry: dict[str, Any]) -> int:
    """How many columns of `main` one fitted feature fills."""
    if entry["kind"] == "numeric":
        return 1
    return len(entry["parts"] if entry["kind"] == "date" else entry["values"])


def require(frame: pd.DataFrame, col: str) -> pd.Series:
    if col not in frame.columns:
        raise PreprocessingError(f"column {col!r} is missing from the rows")
    return frame[col]


def transform(
    frame: pd.DataFrame, prep: dict[str, Any], files_root: str | None = None, counts: InputCounts | None = None
) -> dict[str, np.ndarray]:
    """The model inputs for FRAME (vectorised; images as uint8); what it imputed and the categories it did not know
    added to COUNTS when given."""
    n = len(frame)
    out: dict[str, np.ndarray] = {}
    if prep["main"]:
        blocks = [_main_block(require(frame, m["column"]), m, counts) for m in prep["main"]]
        out["main"] = np.concatenate(blocks, axis=1) if blocks else np.zeros((n, 0), "float32")
    for col, spec in prep.get("index", {}).items():
        series = require(frame, col)
        codes = category_codes(series, spec["values"])
        _count_unseen(counts, col, series, codes)
        out[input_name(col)] = (codes + 1).astype("int32")[:, None]
    for col, spec in prep["text"].items():
        out[input_name(col)] = text_inputs.text_ids(require(frame, col), spec)
    for col, spec in prep["image"].items():
        out[input_name(col)] = load_images(require(frame, col), spec, files_root)
    return out


def category_codes(series: pd.Series, values: list[Any]) -> np.ndarray:
    """Each value's index in VALUES (-1 for a missing or unknown one)."""
    # Values already text are looked up as they are: converting them to pandas' "string" type first (what any other
    # column needs) changed nothing and cost most of the time of scoring a categorical column.
    if isinstance(series.dtype, pd.StringDtype) and series.dtype.storage == "pyarrow":
        return _arrow_codes(series, values)
    if isinstance(series.dtype, pd.StringDtype):
        strings = series.to_numpy(dtype=object, na_value=None)
    elif series.dtype == object and pd.api.types.infer_dtype(series, skipna=True) == "string":
        strings = series.where(series.notna(), None).to_numpy()
    else:
        strings = series.astype("string").astype(object).where(series.notna(), None).to_numpy()
    return np.asarray(pd.Index(values, dtype=object).get_indexer(strings), dtype="int64")


def _arrow_codes(series: pd.Series, values: list[Any]) -> np.ndarray:
    """category_codes of a text column held by Arrow, looked up by Arrow (no Python object per value); only VALUES
    that are text can match, as in the general path."""
    import pyarrow as pa
    import pyarrow.compute as pc

    texts = [(i, v) for i, v in enumerate(values) if isinstance(v, str)]
    array = pa.array(series)
    found = pc.index_in(array, value_set=pa.array([v for _, v in texts], type=array.type))
    positions = np.asarray([i for i, _ in texts] + [-1], dtype="int64")  # a miss or a null: the last, -1
    return positions[found.fill_null(len(texts)).to_numpy(zero_copy_only=False)]


def _count_unseen(counts: InputCounts | None, column: str, series: pd.Series, codes: np.ndarray) -> None:
    """Add to COUNTS the present values of SERIES whose category CODES found none (-1)."""
    if counts is not None and (missed := codes < 0).any():
        counts.count("unseen", column, int(np.count_nonzero(missed & series.notna().to_numpy())))


def _main_block(series: pd.Series, m: dict[str, Any], counts: InputCounts | None = None) -> np.ndarray:
    """One fitted feature's columns of `main`, float32 (what it imputed, or did not know, added to COUNTS)."""
    if m["kind"] == "numeric":
        values = numbers(series)
        imputed = np.isnan(values)
        if counts is not None:
            counts.count("imputed", m["column"], int(np.count_nonzero(imputed)))
        values = np.where(imputed, m.get("fill", m["mean"]), values)
        return ((values - m.get("shift", m["mean"])) / m.get("scale", m["std"])).astype("float32")[:, None]
    if m["kind"] == "date":
        parsed = dates.parse(series, m["dayfirst"])
        if counts is not None:
            counts.count("imputed", m["column"], int(parsed.isna().sum()))
        values = dates.parts(parsed, m["parts"])
        mean, std = np.asarray(m["mean"]), np.asarray(m["std"])
        values = np.where(np.isnan(values), mean, values)
        return ((values - mean) / std).astype("float32")
    codes = category_codes(series, m["values"])
    _count_unseen(counts, m["column"], series, codes)
    onehot = np.zeros((len(series), len(m["values"])), dtype="float32")
    known = codes >= 0
    onehot[np.nonzero(known)[0], codes[known]] = 1.0
    return onehot


def load_image(path_or_bytes: Any, spec: dict[str, Any]) -> np.ndarray:
    """One image as uint8 (height, width, channels)."""
    return image_cache.decode(path_or_bytes, spec)  # one decoder for the cache, the child and scoring


def load_images(series: pd.Series, spec: dict[str, Any], files_root: str | None) -> np.ndarray:
    """Images named by SERIES (paths relative to FILES_ROOT, which they may not leave) as uint8.

    Read from the dataset's preprocessed cache when the worker built one for this column and size; decoded here
    otherwise."""
    cached = image_cache.open_cache(files_root, str(series.name), spec)
    if cached is not None:
        return _cached_images(cached, series)
    root = Path(files_root or ".").resolve()
    out = np.zeros((len(series), spec["height"], spec["width"], spec["channels"]), dtype="uint8")
    for i, rel in enumerate(series.astype(str)):
        path = (root / rel).resolve()
        if root not in path.parents:
            raise PreprocessingError(f"image path {rel!r} leaves the dataset's folder")
        try:
            out[i] = load_image(path, spec)
        except (OSError, ValueError) as exc:
            raise PreprocessingError(f"image {rel!r} cannot be read: {exc}") from None
    return out


def cache_rows(cached: image_cache.Cache, series: pd.Series) -> np.ndarray:
    """The cache rows of the images SERIES names (PreprocessingError for one that could not be decoded)."""
    values = series.astype(str)
    for rel in values if cached.bad else ():
        if rel in cached.bad:
            raise PreprocessingError(f"image {rel!r} {cached.bad[rel]}")
    try:
        return cached.row_indices(values)
    except KeyError as exc:  # the cache predates these rows: it is rebuilt when the data changes, so a bug
        raise PreprocessingError(f"image {exc.args[0]!r} is not in the preprocessed cache {cached.path.name}") from None


def _cached_images(cached: image_cache.Cache, series: pd.Series) -> np.ndarray:
    rows = cache_rows(cached, series)
    print(f"[fitstudio] images of {series.name!r}: {len(rows):,} read from the preprocessed cache", flush=True)
    return cached.take(rows)


def encode_targets(series: pd.Series, target: dict[str, Any], width: int, as_indices: bool = False) -> np.ndarray:
    """Targets as the model's output and loss want them: floats, one-hot, or class indices (0/1 for a 1-wide
    sigmoid; any width when AS_INDICES, for a sparse categorical crossentropy)."""
    if target["kind"] == "regression":
        return pd.to_numeric(series, errors="coerce").to_numpy(dtype="float32")[:, None]
    index = class_indices(series, target)
    if width == 1 or as_indices:
        return index.astype("float32")[:, None]
    onehot = np.zeros((len(series), len(target["classes"])), dtype="float32")
    onehot[np.arange(len(series)), index] = 1.0
    return onehot


def class_indices(series: pd.Series, target: dict[str, Any]) -> np.ndarray:
    """Each row's class index (-1 for a class unseen in training), in the narrowest signed integers that hold them:
    one byte a row below 127 classes (int64 indices of a 20 M-row target were 160 MB; bench/streamed_memory.py)."""
    lookup = {str(c): i for i, c in enumerate(target["classes"])}
    dtype = np.min_scalar_type(-len(lookup) - 1)
    if isinstance(series.dtype, pd.CategoricalDtype):  # a streamed target: its codes as they are, one byte a row
        found = np.array([lookup.get(str(v), -1) for v in series.cat.categories] + [-1], dtype=dtype)
        return found[series.cat.codes.to_numpy()]  # a missing value's code, -1, picks the last: -1
    if series.dtype == object:  # mixed Python values: 1 and 1.0 are one value to pandas, two labels here
        return np.array([lookup.get(str(v), -1) for v in series.tolist()], dtype=dtype)
    # Each distinct value is looked up once (a streamed training's target has millions of rows, a few classes).
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    found = np.array([lookup.get(str(v), -1) for v in uniques] + [-1], dtype=dtype)
    return found[codes]  # a missing value's code, -1, picks the last: -1
