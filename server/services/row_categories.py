"""Categories in rows sent for scoring: a value that differs from one of the model's only by the spaces around it is
that one, and so is a boolean written as the training file wrote it (`TRUE`, `false`, `1`) for a column the file's
reader read as booleans (the others the transform counts as unseen: scored as the values the model does not encode,
no dummy set, the index of "other")."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from core import preprocessing


def categories(prep: dict[str, Any]) -> dict[str, list[Any]]:
    """The categorical input columns of the fitted preprocessing PREP, with the values the model encodes."""
    out = {m["column"]: m["values"] for m in prep.get("main", []) if m["kind"] == "categorical"}
    return out | {column: spec["values"] for column, spec in prep.get("index", {}).items()}


def match(frame: pd.DataFrame, prep: dict[str, Any]) -> pd.DataFrame:
    """FRAME with each categorical value that is the model's but for the spaces around it written as the model's
    (FRAME itself when there is none)."""
    changed = {}
    for column, values in categories(prep).items():
        if column not in frame.columns:
            continue
        series = frame[column]
        missed = (preprocessing.category_codes(series, values) < 0) & series.notna().to_numpy()
        if not missed.any():
            continue
        trimmed = _by_trimmed(values)
        sent = series[missed]
        fixed = [trimmed.get(str(v).strip()) for v in sent]  # None: still none of the model's
        if any(f is not None for f in fixed):
            values_now = series.astype(object).to_numpy(copy=True)
            values_now[np.flatnonzero(missed)] = [v if f is None else f for v, f in zip(sent, fixed, strict=True)]
            changed[column] = pd.Series(values_now, index=series.index, dtype=object)
    return frame.assign(**changed) if changed else frame


# How a CSV writes a boolean (pyarrow's reader takes these for one, whatever their case; a spreadsheet writes TRUE).
BOOLEAN_TEXTS = {"true": "True", "1": "True", "false": "False", "0": "False"}


def _by_trimmed(values: list[Any]) -> dict[str, Any]:
    """VALUES by their text without the spaces around it, where no two of them share it; for a column of booleans,
    also by each way a CSV writes them."""
    found: dict[str, list[Any]] = {}
    for value in values:
        found.setdefault(str(value).strip(), []).append(value)
    unique = {key: same[0] for key, same in found.items() if len(same) == 1}
    if unique and set(unique) <= {"True", "False"}:  # the file's reader read the column as booleans
        for text, value in BOOLEAN_TEXTS.items():
            if value in unique:
                unique.setdefault(text, unique[value])
                unique.setdefault(text.upper(), unique[value])
    return unique
