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
_HALF_DAY = "(오전|오후|午前|午後|上午|下午) ?"  # AM and PM written before the time, in Korean, Japanese and Chinese
_CLOCK = r"\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?( ?[AaPp]\.?[Mm]\.?)?"  # 13:05, 13:05:10.5, 1:05 PM
_TIME = rf"(,?[ T]({_HALF_DAY})?{_CLOCK}( ?(Z|UTC|GMT|[+-]\d{{2}}:?\d{{2}}))?)?"
_CJK_WEEKDAY = "( ?[(（]?[日月火水木金土一二三四五六][)）]?)?"  # 2024年3月1日(金): Friday
_FORMS = (
    r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}",  # 2024-03-01, 2024/03/01, 2024.03.01
    r"\d{1,2}[-/.]\d{1,2}[-/.]\d{4}",  # 01/03/2024, 01.03.2024, 01-03-2024, 3/1/2024
    rf"{_DAY_OR_MONTH}[-/.]{_DAY_OR_MONTH}[-/.]\d{{2}}",  # 01/03/24, 1.3.24, 3/1/24 (Excel's short dates)
    rf"\d{{1,2}}\.?[ /-]?{_MONTH}[ /-]?(\d{{4}}|\d{{2}})",  # 01-Mar-2024, 1-Mar-24, 1. März 2024, 1 mars 2024
    rf"\d{{1,2}} de {_MONTH} de \d{{4}}",  # 1 de marzo de 2024 (Spanish, Portuguese)
    rf"{_MONTH} \d{{1,2}}(st|nd|rd|th)?,? \d{{4}}",  # March 1, 2024, Mar 1 2024
    rf"{_MONTH}[ -]\d{{4}}",  # March 2024, Mar-2024
    r"(19|20)\d{2}-(0[1-9]|1[0-2])",  # 2024-03: a month (ISO)
    rf"\d{{4}} ?[年년] ?\d{{1,2}} ?[月월] ?\d{{1,2}} ?[日일]{_CJK_WEEKDAY}",  # 2024年3月1日(金)
    r"\d{4}\. ?\d{1,2}\. ?\d{1,2}\.?",  # 2024. 3. 1. (Korean)
)
_WEEKDAY = rf"([{_LETTERS}]{{2,12}}\.?,? )?"  # Friday, March 1, 2024; vendredi 1 mars 2024
# A time of day alone (08:05, 13:05:10, 1:05 PM, 오후 1:05) is a date too, read on 1 January 1970 (below): a shift's
# start as a category was one value per row, id_like, and a new ML task rejected it. Hours past 23 are durations.
_DAY_TIME = r"(([01]?\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d+)?)?|(0?[1-9]|1[0-2]):[0-5]\d(:[0-5]\d)? ?[AaPp]\.?[Mm]\.?)"
DATE_RE = rf"^\s*({_WEEKDAY}({'|'.join(_FORMS)}){_TIME}|({_HALF_DAY})?{_DAY_TIME})\s*$"

# The languages whose month and weekday names a date may be written in (CLDR's names, through Babel).
NAME_LOCALES = ("en", "de", "fr", "es", "it", "nl", "pt", "ca", "sv", "da", "nb", "fi", "pl", "cs", "tr", "ro")
_MORE_MONTHS = {"mrz": 3}  # Excel's German "MMM" (CLDR says "März")
# Chinese, Japanese and Korean dates, year first: 2024年3月1日, 2024年3月1日(金) (with its weekday), 2024년 3월 1일,
# Korean's 2024. 3. 1. They are rewritten as ISO dates (2024-03-01) before pandas reads them: a day-first reading
# swaps the month and the day of "2024. 3. 1." and of "2024-3-1".
_YEAR_FIRST = re.compile(
    rf"(\d{{4}}) ?(?:[年년]|\. ?) ?(\d{{1,2}}) ?(?:[月월]|\. ?) ?(\d{{1,2}})(?: ?[日일]{_CJK_WEEKDAY}|\.)?"
)
_CJK_MARKS = "[年년오午上下]|\\d\\. \\d"  # what a value rewritten by _in_iso_terms holds
_BEFORE_TIME = re.compile(rf"{_HALF_DAY}(\d{{1,2}}:\d{{2}}(:\d{{2}})?)")  # 오후 1:05 → 1:05 PM
_PM = ("오후", "午後", "下午")
# A time of day alone (13:05, 1:05 PM): read on 1 January 1970, not on the day it is read, so that a model gets the
# same parts for it whenever it trains or scores.
_TIME_ONLY = re.compile(_CLOCK)
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


def _in_iso_terms(value: str) -> str:
    """VALUE with a Chinese, Japanese or Korean date as an ISO one and its AM or PM after the time (pandas reads
    neither)."""
    value = _YEAR_FIRST.sub(_as_iso, value)
    return _BEFORE_TIME.sub(lambda m: f"{m[2]} {'PM' if m[1] in _PM else 'AM'}", value)


def _as_iso(match: re.Match[str]) -> str:
    """A year-first date (_YEAR_FIRST) as an ISO one; as written when its month or day cannot be one."""
    year, month, day = match[1], int(match[2]), int(match[3])
    return f"{year}-{month:02d}-{day:02d}" if 1 <= month <= 12 and 1 <= day <= 31 else match[0]


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


# Dates written as whole numbers, YYYYMMDD (20240115), as databases, SAP and data warehouses export them. A column is
# date_like when its numbers are such dates; it stays numeric until a person types it `date` (docs/decisions.md).
COMPACT_FIRST, COMPACT_LAST = 19000101, 21001231
_MONTH_DAYS = np.array([0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def compact_dates(values: np.ndarray) -> int:
    """How many of VALUES (finite numbers) are dates written as YYYYMMDD between 1900-01-01 and 2100-12-31."""
    whole = values[(values >= COMPACT_FIRST) & (values <= COMPACT_LAST) & (values == np.floor(values))]
    n = whole.astype(np.int64)
    year, month, day = n // 10000, n // 100 % 100, n % 100
    valid = (month >= 1) & (month <= 12) & (day >= 1)
    days = np.where(valid, _MONTH_DAYS[np.where(valid, month, 0)], 0)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    days = np.where((month == 2) & ~leap, 28, days)
    return int((valid & (day <= days)).sum())


def as_text(series: pd.Series) -> pd.Series:
    """SERIES as stripped strings (object dtype), None where a value is missing or blank. A whole number held as a
    float (an integer column with a missing value, read by pandas) is written without its ".0": 20240115 and 2024
    then read as the compact date and the year they are, as they do from an integer column."""
    text = pd.Series(series.to_numpy(dtype=object), dtype=object).where(series.notna().to_numpy(), None)
    return text.map(_written)


def _written(value: object) -> str | None:
    """VALUE as stripped text (None when missing or blank); a whole float without its ".0"."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip() or None


def _read_distinct(text: pd.Series, dayfirst: bool) -> pd.Series:
    """TEXT (not ISO) as UTC datetimes, each distinct value read once, in the format of the first where it fits: pandas
    reads values of mixed formats, and month names, one at a time (about 30 µs each). DAYFIRST applies to the values
    that do not begin with their year (pandas reads "2024-03-01" as 3 January when told day first)."""
    distinct = pd.Index(text.unique())
    written = distinct
    has_marks = written.str.contains(_CJK_MARKS, na=False)
    if has_marks.any():  # first: 오후 1:05 is then 1:05 PM, a time alone
        written = written.where(~has_marks, written.map(_in_iso_terms))
    times = written.str.fullmatch(_TIME_ONLY, na=False)
    if times.any():
        written = written.where(~times, "1970-01-01 " + written.astype(str))
    year_first = written.str.match(r"\d{4}\D", na=False)
    if year_first.all() or not year_first.any():  # one kind: read as it is (no split, no reordering)
        read = _read_written(written, dayfirst and not year_first.any())
    else:
        groups = [(np.flatnonzero(year_first), False), (np.flatnonzero(~year_first), dayfirst)]
        read = pd.concat([_read_written(written[at], first).set_axis(at) for at, first in groups]).sort_index()
    return pd.Series(read.array.take(distinct.get_indexer(text)), index=text.index)


def _read_written(written: pd.Index, dayfirst: bool) -> pd.Series:
    """WRITTEN (distinct values) as UTC datetimes: in the format of the first, then one at a time, then with their
    month and weekday names read in English."""
    read = pd.Series(pd.to_datetime(written, errors="coerce", dayfirst=dayfirst, utc=True))
    named = written.str.contains(_WORD, na=False)
    for english in (False, True):  # then month and weekday names in other languages, read in English
        left = read.isna().to_numpy() & (named if english else True)
        if left.any():
            values = written[left].map(_in_english) if english else written[left]
            read[left] = pd.to_datetime(values, errors="coerce", format="mixed", dayfirst=dayfirst, utc=True)
    return read


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
