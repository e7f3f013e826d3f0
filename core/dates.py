"""Date columns: recognising them (ISO, day-first or month-first numbers, month names in the languages spreadsheets
write them), parsing them, and the numeric parts models get."""

from __future__ import annotations

import functools
import re
import warnings

import numpy as np
import pandas as pd

PARTS = ("year", "month", "day", "weekday", "hour", "epoch")
SLASHED = r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{2,4})"  # 31/12/2024, 31.12.2024, 31-12-2024, 31/12/24

# What a date column's values look like (`date_like`, the `date` type). It is read by Python's `re` (the sample's type)
# and by RE2 (pyarrow, the statistics pass), so it uses only what both read alike: explicit letter ranges, not \w.
_LETTERS = "A-Za-zÀ-ÖØ-öø-ÿĀ-ž"
_MONTH = rf"[{_LETTERS}]{{3,12}}\.?"  # a month's name or abbreviation: which word it is, the parse decides
_DAY_OR_MONTH = r"([012]?\d|3[01])"
_TIME = (
    r"(,?[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?( ?[AaPp]\.?[Mm]\.?)?"
    r"( ?(Z|UTC|GMT|[+-]\d{2}:?\d{2}))?)?"
)
_FORMS = (
    r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}",  # 2024-03-01, 2024/03/01, 2024.03.01
    r"\d{1,2}[-/.]\d{1,2}[-/.]\d{4}",  # 01/03/2024, 01.03.2024, 01-03-2024, 3/1/2024
    rf"{_DAY_OR_MONTH}[-/.]{_DAY_OR_MONTH}[-/.]\d{{2}}",  # 01/03/24, 1.3.24, 3/1/24 (Excel's short dates)
    rf"\d{{1,2}}\.?[ /-]?{_MONTH}[ /-]?(\d{{4}}|\d{{2}})",  # 01-Mar-2024, 1-Mar-24, 1. März 2024, 1 mars 2024
    rf"\d{{1,2}} de {_MONTH} de \d{{4}}",  # 1 de marzo de 2024 (Spanish, Portuguese)
    rf"{_MONTH} \d{{1,2}}(st|nd|rd|th)?,? \d{{4}}",  # March 1, 2024, Mar 1 2024
    rf"{_MONTH}[ -]\d{{4}}",  # March 2024, Mar-2024
    r"(19|20)\d{2}-(0[1-9]|1[0-2])",  # 2024-03: a month (ISO)
)
_WEEKDAY = rf"([{_LETTERS}]{{2,12}}\.?,? )?"  # Friday, March 1, 2024; vendredi 1 mars 2024
DATE_RE = rf"^\s*{_WEEKDAY}({'|'.join(_FORMS)}){_TIME}\s*$"

# The languages whose month and weekday names a date may be written in (CLDR's names, through Babel).
NAME_LOCALES = ("en", "de", "fr", "es", "it", "nl", "pt", "ca", "sv", "da", "nb", "fi", "pl", "cs", "tr", "ro")
_MORE_MONTHS = {"mrz": 3}  # Excel's German "MMM" (CLDR says "März")
_ENGLISH = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_WORD = re.compile(rf"[{_LETTERS}]+\.?")


@functools.cache
def _names() -> tuple[dict[str, str], frozenset[str]]:
    """Month names of NAME_LOCALES (lower case, no final dot) → English abbreviation, and the weekday names; a name
    that means two months in two languages is left out, and a weekday name that is also a month's is not one."""
    from babel import Locale

    months: dict[str, set[int]] = {name: {number} for name, number in _MORE_MONTHS.items()}
    weekdays: set[str] = set()
    for code in NAME_LOCALES:
        locale = Locale.parse(code)
        for context in ("format", "stand-alone"):
            for width in ("wide", "abbreviated"):
                for number, name in locale.months[context][width].items():
                    months.setdefault(name.lower().rstrip("."), set()).add(number)
                weekdays.update(name.lower().rstrip(".") for name in locale.days[context][width].values())
    english = {name: _ENGLISH[numbers.pop() - 1] for name, numbers in months.items() if len(numbers) == 1}
    return english, frozenset(weekdays - months.keys())


def _in_english(value: str) -> str:
    """VALUE with its month name in English and its weekday and the Spanish "de" left out: what pandas reads."""
    months, weekdays = _names()

    def word(match: re.Match[str]) -> str:
        key = match.group().lower().rstrip(".")
        if key in months:
            return months[key]
        return "" if key in weekdays or key == "de" else match.group()

    return _WORD.sub(word, value).replace(",", " ")


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
    text = as_text(series)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = pd.to_datetime(text, errors="coerce", format="ISO8601", utc=True)
        rest = out.isna() & text.notna()
        if rest.any():
            out[rest] = _read_distinct(text[rest], dayfirst)
    return out.dt.tz_convert(None)


def as_text(series: pd.Series) -> pd.Series:
    """SERIES as stripped strings (object dtype), None where a value is missing or blank."""
    text = pd.Series(series.to_numpy(dtype=object), dtype=object).where(series.notna().to_numpy(), None)
    return text.map(lambda v: None if v is None else str(v).strip() or None)


def _read_distinct(text: pd.Series, dayfirst: bool) -> pd.Series:
    """TEXT (not ISO) as UTC datetimes, each distinct value read once, in the format of the first where it fits: pandas
    reads values of mixed formats, and month names, one at a time (about 30 µs each)."""
    distinct = pd.Index(text.unique())
    read = pd.Series(pd.to_datetime(distinct, errors="coerce", dayfirst=dayfirst, utc=True))
    for english in (False, True):  # then month and weekday names in other languages, read in English
        left = read.isna().to_numpy() & (distinct.str.contains(_WORD, na=False) if english else True)
        if left.any():
            values = distinct[left].map(_in_english) if english else distinct[left]
            read[left] = pd.to_datetime(values, errors="coerce", format="mixed", dayfirst=dayfirst, utc=True)
    return pd.Series(read.array.take(distinct.get_indexer(text)), index=text.index)


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
