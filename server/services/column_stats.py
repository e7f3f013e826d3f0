"""Per-column statistics and hints of a stored table (data.md "Column types and statistics").

Streamed over the Parquet file's record batches: memory does not grow with the number of rows. Exact up to
bounds (docs/decisions.md): distinct counts and the most frequent values are counted by column_values (exact up to
its bounds, then an estimate and the counts of the values kept). Min/max/mean/std, missing, unparseable and word
counts are exact. Numeric histograms are counted in the same pass when the Parquet metadata gives the column's
range (numbers stored as numbers), else in a second streamed pass over those columns only.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from core import dates, preprocessing
from core.dates import DATE_RE
from core.text_inputs import CJK
from server.services.column_values import DistinctCounter, TopValues, present_values

BATCH_ROWS = 32_768
# Read row group by row group: pyarrow's default pre-buffering fetches every row group's chunks of the columns
# read up front, so a pass held most of the file (96 MiB of a 125 MiB file for half its columns).
READ = {"pre_buffer": False}
STATS_THREADS = 4
TOP_SHOWN = 10
BINS = 20
ID_LIKE_RATIO = 0.95
ID_LIKE_MIN_VALUES = 20
HIGH_CARDINALITY = 100
DATE_LIKE_RATIO = 0.95


def as_numbers(arr: pa.Array) -> tuple[np.ndarray, int]:
    """ARR as float64 (NaN for missing) and how many present values do not parse as numbers as training reads them
    (core/preprocessing.numbers: an infinite value counts, and is NaN here too)."""
    numeric = (pa.types.is_integer, pa.types.is_floating, pa.types.is_boolean, pa.types.is_decimal)
    if any(check(arr.type) for check in numeric):
        numbers = arr.cast(pa.float64()).to_numpy(zero_copy_only=False)
        infinite = np.isinf(numbers)  # a NaN stored as a number is a missing value
        return (np.where(infinite, np.nan, numbers) if infinite.any() else numbers), int(infinite.sum())
    # Text: read as training reads it (pandas holds Arrow's text as it is, so the plain numbers take Arrow's cast).
    numbers = preprocessing.numbers(arr.to_pandas())
    return numbers, int((arr.is_valid().to_numpy(zero_copy_only=False) & np.isnan(numbers)).sum())


class ColumnAccumulator:
    """What one streamed pass learns about one column, for its type."""

    def __init__(self, kind: str, total_rows: int | None = None) -> None:
        """An empty accumulator for a column of type KIND (in a table of TOTAL_ROWS rows, when known)."""
        self.kind = kind
        self.total_rows = total_rows
        self.rows = self.missing = self.unparseable = self.present = 0
        self.distinct = DistinctCounter()
        self.n, self.mean, self.m2 = 0, 0.0, 0.0
        self.low, self.high = float("inf"), float("-inf")
        self.integral = True
        self.top = TopValues()
        self.words = 0
        self.dates = self.not_dates = 0
        self.compact_dates = 0  # whole numbers that are dates written as YYYYMMDD (core/dates.compact_dates)
        self.date_typed = False
        self.broken = False
        self.finite = np.empty(0)

    def add_safely(self, arr: pa.Array) -> None:
        """add, except for values no statistic reads (nested, binary): then only the missing count is kept."""
        if self.broken:
            self.rows += len(arr)
            self.missing += arr.null_count
            return
        try:
            self.add(arr)
        except (pa.ArrowException, TypeError, ValueError):
            self.broken = True
            self.kind = "other"

    def add(self, arr: pa.Array) -> None:
        """Add one batch of the column's values."""
        present = present_values(arr)
        self.rows += len(arr)
        self.missing += len(arr) - len(present)
        self.present += len(present)
        # A categorical column's distinct values come with its counts: the distinct count and the date regex read them.
        counts = pc.value_counts(present) if self.kind == "categorical" else None
        if counts is None:
            self.distinct.add(present)
        if pa.types.is_date(arr.type) or pa.types.is_timestamp(arr.type) or pa.types.is_time(arr.type):
            self.date_typed = True
        elif (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)) and self._may_be_dates():
            found = self._dates_in(present, counts)
            self.dates += found
            self.not_dates += len(present) - found
        if self.kind == "numeric":
            self._add_numbers(arr)
        elif counts is not None:
            self._add_counts(counts)
        elif self.kind == "text":
            strings = present.cast(pa.string()) if not pa.types.is_string(present.type) else present
            self.words += int(pc.sum(pc.list_value_length(pc.utf8_split_whitespace(strings))).as_py() or 0)
            self.words += int(pc.sum(pc.count_substring_regex(strings, CJK)).as_py() or 0)  # a character, a word

    @staticmethod
    def _dates_in(present: pa.Array, counts: pa.StructArray | None) -> int:
        """How many of PRESENT look like dates; with COUNTS (its value counts) the regex reads each value once."""
        if counts is None:
            return int(pc.sum(pc.match_substring_regex(present, DATE_RE)).as_py() or 0)
        matched = pc.match_substring_regex(counts.field("values"), DATE_RE)
        return int(pc.sum(pc.if_else(matched, counts.field("counts"), 0)).as_py() or 0)

    def _may_be_dates(self) -> bool:
        """False once too many values are not dates for the column ever to be date-like (the regex is costly)."""
        return self.total_rows is None or self.not_dates <= (1 - DATE_LIKE_RATIO) * self.total_rows

    def _add_numbers(self, arr: pa.Array) -> None:
        numbers, unparseable = as_numbers(arr)
        self.unparseable += unparseable
        values = numbers[np.isfinite(numbers)]
        self.finite = values  # the batch's numbers, for its histogram bins (read once, not twice)
        if values.size == 0:
            return
        self.low, self.high = min(self.low, float(values.min())), max(self.high, float(values.max()))
        self.integral = self.integral and bool(np.all(values == np.floor(values)))
        if self.integral and values.min() >= dates.COMPACT_FIRST and values.max() <= dates.COMPACT_LAST:
            self.compact_dates += dates.compact_dates(values)
        n_b, mean_b = values.size, float(values.mean())
        m2_b = float(((values - mean_b) ** 2).sum())
        total = self.n + n_b
        delta = mean_b - self.mean
        self.mean += delta * n_b / total
        self.m2 += m2_b + delta * delta * self.n * n_b / total
        self.n = total

    def _add_counts(self, counts: pa.StructArray) -> None:
        self.distinct.add_distinct(counts.field("values"))
        self.top.add(counts)

    def stats(self) -> dict[str, Any]:
        """The column's `stats` (the histogram is added by the second pass)."""
        out: dict[str, Any] = {
            "missing": self.missing,
            "distinct": self.distinct.count(),
            "distinct_exact": self.distinct.exact,
            "unparseable": self.unparseable,
        }
        if self.kind == "numeric" and self.n:
            std = (self.m2 / self.n) ** 0.5
            out.update(min=self.low, max=self.high, mean=self.mean, std=std)
        elif self.kind == "categorical":
            out["top"] = [{"value": _json(v), "count": c} for v, c in self.top.ranked(TOP_SHOWN)]
            out["top_exact"] = self.top.exact
        elif self.kind == "text":
            out["mean_words"] = self.words / self.present if self.present else 0.0
        return out

    def hints(self) -> list[str]:
        """What a person should look at in this column."""
        found: list[str] = []
        distinct = self.distinct.count()
        date_like = self.date_typed or bool(
            self.present and max(self.dates, self.compact_dates) >= DATE_LIKE_RATIO * self.present
        )
        id_type = not date_like and (self.kind == "categorical" or (self.kind == "numeric" and self.integral))
        if id_type and self.present >= ID_LIKE_MIN_VALUES and distinct >= ID_LIKE_RATIO * self.rows:
            found.append("id_like")
        if self.kind != "image" and distinct <= 1:
            found.append("constant")
        if self.rows and self.missing > self.rows / 2:
            found.append("mostly_missing")
        if self.kind == "categorical" and distinct > HIGH_CARDINALITY:
            found.append("high_cardinality")
        if date_like:
            found.append("date_like")
        return found


def _json(value: Any) -> Any:
    """A JSON-able form of one cell value."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if np.isfinite(value) else None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _metadata_ranges(path: Path, names: list[str]) -> dict[str, tuple[float, float]]:
    """Min and max of the numeric Parquet columns among NAMES, from the file's row-group statistics (no read)."""
    meta = pq.ParquetFile(path).metadata
    ranges: dict[str, tuple[float, float]] = {}
    for index in range(meta.num_columns):
        column = meta.schema.column(index)
        if column.name not in names or column.physical_type not in ("INT32", "INT64", "FLOAT", "DOUBLE"):
            continue
        lows, highs = [], []
        for group in range(meta.num_row_groups):
            stats = meta.row_group(group).column(index).statistics
            if stats is None or not stats.has_min_max:
                break
            lows.append(float(stats.min))
            highs.append(float(stats.max))
        else:
            if lows and all(np.isfinite(lows + highs)):
                ranges[column.name] = (min(lows), max(highs))
    return ranges


def _edges(low: float, high: float) -> np.ndarray:
    return np.linspace(low, high, BINS + 1 if high > low else 2)


def _bin_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """np.histogram(VALUES, bins=EDGES)[0] for equal-width EDGES, by numpy's uniform-bins path (no sort)."""
    if edges[0] == edges[-1]:  # one value: one bin holding it
        return np.array([np.count_nonzero(values == edges[0])], dtype=np.int64)
    return np.histogram(values, bins=len(edges) - 1, range=(float(edges[0]), float(edges[-1])))[0]


def _histogram(path: Path, names: list[str], ranges: dict[str, tuple[float, float]]) -> dict[str, dict[str, list]]:
    """A second pass (columns whose range the file's metadata did not give): BINS equal-width bins."""
    edges = {n: _edges(lo, hi) for n, (lo, hi) in ranges.items()}
    counts = {n: np.zeros(len(e) - 1, dtype=np.int64) for n, e in edges.items()}
    for batch in pq.ParquetFile(path, **READ).iter_batches(batch_size=BATCH_ROWS, columns=names):
        for name in names:
            numbers, _ = as_numbers(batch.column(name))
            counts[name] += _bin_counts(numbers[np.isfinite(numbers)], edges[name])
    return {n: _histogram_json(edges[n], counts[n]) for n in ranges}


def _histogram_json(edges: np.ndarray, counts: np.ndarray) -> dict[str, list]:
    return {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]}


def _one_pass(path: Path, columns: list[dict[str, Any]], known: dict[str, tuple[float, float]]) -> dict[str, Any]:
    """Accumulators of COLUMNS in one streamed pass; numeric columns with a KNOWN range get their bins counted."""
    total_rows = pq.ParquetFile(path).metadata.num_rows
    accs = {c["name"]: ColumnAccumulator(c["type"], total_rows) for c in columns}
    bins = {n: (_edges(*known[n]), np.zeros(len(_edges(*known[n])) - 1, np.int64)) for n in accs if n in known}
    for batch in pq.ParquetFile(path, **READ).iter_batches(batch_size=BATCH_ROWS, columns=list(accs)):
        for name, acc in accs.items():
            acc.add_safely(batch.column(name))
            if name in bins and acc.kind == "numeric":
                bins[name][1][:] += _bin_counts(acc.finite, bins[name][0])
    return {"accs": accs, "bins": {n: _histogram_json(*b) for n, b in bins.items()}}


def compute(path: Path, columns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """COLUMNS (entries with name and type) with `stats` and `hints`, from the Parquet file at PATH.

    Columns are split into groups read by threads of their own (Arrow, NumPy and Parquet decoding release the
    GIL); a numeric column's bins are counted in the same pass when the file's metadata gives its range.
    """
    numeric = [c["name"] for c in columns if c["type"] == "numeric"]
    known = _metadata_ranges(path, numeric) if numeric else {}
    workers = max(1, min(STATS_THREADS, os.cpu_count() or 1, len(columns)))
    groups = [columns[i::workers] for i in range(workers)]
    with ThreadPoolExecutor(workers, thread_name_prefix="column-stats") as pool:
        parts = list(pool.map(lambda group: _one_pass(path, group, known), groups))
    accs = {n: a for part in parts for n, a in part["accs"].items()}
    histograms = {n: h for part in parts for n, h in part["bins"].items()}
    ranges = {n: (a.low, a.high) for n, a in accs.items() if a.kind == "numeric" and a.n and n not in histograms}
    if ranges:
        histograms.update(_histogram(path, list(ranges), ranges))
    out: list[dict[str, Any]] = []
    for col in columns:
        acc = accs[col["name"]]
        stats = acc.stats()
        if col["name"] in histograms and acc.kind == "numeric" and acc.n:
            stats["histogram"] = histograms[col["name"]]
        out.append({**col, "stats": stats, "hints": acc.hints()})
    return out
