"""Date columns: parsing (ISO, day-first or month-first slashes, dots or dashes, date + time) and the numeric parts
models get."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

PARTS = ("year", "month", "day", "weekday", "hour", "epoch")
SLASHED = r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{2,4})"  # 31/12/2024, 31.12.2024, 31-12-2024


def detect_dayfirst(series: pd.Series) -> bool:
    """Whether slashed dates in SERIES are day-first (a first number above 12 says so; month-first otherwise)."""
    if pd.api.types.is_datetime64_any_dtype(series):
        return False
    found = series.dropna().astype(str).str.extract(SLASHED).dropna()
    if found.empty:
        return False
    first, second = found[0].astype(int), found[1].astype(int)
    return bool((first > 12).any() and not (second > 12).any())


def parse(series: pd.Series, dayfirst: bool) -> pd.Series:
    """SERIES as naive datetimes (UTC for values with an offset); NaT where a value is missing or does not parse."""
    if pd.api.types.is_datetime64_any_dtype(series):
        values = pd.to_datetime(series, utc=True)
        return values.dt.tz_convert(None).reset_index(drop=True)
    text = pd.Series(series.to_numpy(dtype=object), dtype=object).where(series.notna().to_numpy(), None)
    text = text.map(lambda v: None if v is None else str(v).strip() or None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = pd.to_datetime(text, errors="coerce", format="ISO8601", utc=True)
        rest = out.isna() & text.notna()
        if rest.any():
            out[rest] = pd.to_datetime(text[rest], errors="coerce", format="mixed", dayfirst=dayfirst, utc=True)
    return out.dt.tz_convert(None)


def parts(values: pd.Series, names: list[str]) -> np.ndarray:
    """The parts NAMES of VALUES (datetimes) as float64 columns, NaN where a value is NaT."""
    cols = []
    for name in names:
        if name == "epoch":
            seconds = (values - pd.Timestamp(0)).dt.total_seconds()
            cols.append(seconds.to_numpy(dtype="float64", na_value=np.nan))
        else:
            attr = "day_of_week" if name == "weekday" else name
            cols.append(getattr(values.dt, attr).to_numpy(dtype="float64", na_value=np.nan))
    return np.stack(cols, axis=1) if cols else np.zeros((len(values), 0))
