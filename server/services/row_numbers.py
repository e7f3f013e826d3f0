"""Numbers in rows sent for scoring, as people type them: read as the model's training file wrote its numbers."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from server.services import csv_numbers

# A number as JSON and programs write it ("1234.5", "-2e-3"): read as such unless the training file wrote it.
_PLAIN = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
_NOT_PART = re.compile(r"[^\d.,eE+-]")  # a thousands separator of any kind: a space, an apostrophe


def number_format(source: dict[str, Any] | None) -> tuple[str, str | None]:
    """The decimal and thousands separators of a dataset read from SOURCE ('.' and none for one that was not a CSV)."""
    source = source or {}
    return source.get("decimal") or ".", source.get("thousands") or None


def read_columns(frame: pd.DataFrame, columns: list[str], decimal: str, thousands: str | None) -> pd.DataFrame:
    """FRAME with the text values of its COLUMNS read as numbers (read_number); a text that is not one stays as it
    was, so that scoring counts it as a value that did not parse."""
    changed = {}
    for col in columns:
        if col not in frame.columns or pd.api.types.is_numeric_dtype(frame[col].dtype):
            continue
        texts = {v for v in frame[col] if isinstance(v, str)}
        if not texts:
            continue
        read = {t: read_number(t, decimal, thousands) for t in texts}
        changed[col] = frame[col].map(
            lambda v, read=read: read.get(v, v) if isinstance(v, str) else v, na_action="ignore"
        )
    return frame.assign(**changed) if changed else frame


def read_number(value: str, decimal: str, thousands: str | None) -> float | str:
    """VALUE as a number: written as the training file wrote its numbers (DECIMAL, THOUSANDS, a currency or percent
    sign, an accounting negative), else as a plain number, else in the one other convention it can be; VALUE itself
    when it is none of these."""
    split = csv_numbers.split_unit(value)
    text = split[0] if split is not None else value.strip()  # None also for an exponent: "1,5E+02"
    if csv_numbers.number_pattern(decimal, thousands).fullmatch(text):
        return _as_float(text, decimal)
    if _PLAIN.fullmatch(text):
        return float(text)
    if csv_numbers.COMMA_DECIMAL.fullmatch(text):
        return _as_float(text, ",")
    if csv_numbers.DOT_DECIMAL.fullmatch(text):
        return _as_float(text, ".")
    ambiguous = csv_numbers.COMMA_AMBIGUOUS if decimal == "." else csv_numbers.DOT_AMBIGUOUS
    if ambiguous.fullmatch(text):  # "1,234" to a model of a file with a decimal point: its thousands separator
        return _as_float(text, decimal)
    return value


def _as_float(text: str, decimal: str) -> float:
    """TEXT, a number whose decimal separator is DECIMAL and whose other separators group its digits."""
    other = "," if decimal == "." else "."
    return float(_NOT_PART.sub("", text).replace(other, "").replace(decimal, "."))
