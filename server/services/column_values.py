"""What values a column holds, counted in a streamed pass: how many distinct ones, and the most frequent.

Both work on Arrow arrays in Arrow's and DuckDB's compiled code, which release the GIL, so the statistics pass's
threads run side by side. A column of a million distinct texts (order numbers, e-mail addresses) took 0.8 s of
Python holding the GIL before (docs/benchmarks.md, "Columns of many distinct texts"). Hashes are DuckDB's `hash`, the
same in every process: Python's own string hash changes from one process to the next, and with it a column's
estimated distinct count from one upload of a file to the next.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

EXACT_DISTINCT = 100_000
EXACT_BYTES = 16 << 20
SKETCH_K = 16_384
TOP_KEEP = 10_000
_local = threading.local()  # a DuckDB connection per thread: one connection is not for concurrent queries


def _mix(h: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: spreads hashes uniformly over 64 bits."""
    h = h.astype(np.uint64)
    h ^= h >> np.uint64(30)
    h *= np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(27)
    h *= np.uint64(0x94D049BB133111EB)
    h ^= h >> np.uint64(31)
    return h


def _is_number(kind: pa.DataType) -> bool:
    return pa.types.is_integer(kind) or pa.types.is_floating(kind)


def present_values(arr: pa.Array) -> pa.Array:
    """ARR without nulls and float NaN (as it is when it has none: most batches, and the cheapest answer)."""
    if pa.types.is_floating(arr.type):
        keep = ~np.isnan(arr.to_numpy(zero_copy_only=False))  # a null reads as NaN here
        return arr if keep.all() else arr.filter(pa.array(keep))
    return arr.drop_null() if arr.null_count else arr


def hashes(values: pa.Array) -> np.ndarray:
    """64-bit hashes of distinct non-null VALUES, the same in every process (numbers by their float64 bits)."""
    if _is_number(values.type):
        return _mix(values.cast(pa.float64()).to_numpy(zero_copy_only=False).view(np.uint64))
    connection = getattr(_local, "connection", None)
    if connection is None:
        import duckdb  # on first use, as the CSV sniffer does: a process that never hashes never loads it

        # One thread: the statistics pass runs a thread per group of columns already.
        connection = _local.connection = duckdb.connect(":memory:", config={"threads": 1, "memory_limit": "256MB"})
    found = connection.from_arrow(pa.table({"v": values})).project("hash(v) AS h").fetchnumpy()["h"]
    return _mix(np.asarray(found, dtype=np.uint64))


class DistinctCounter:
    """Distinct non-null values: exact up to EXACT_DISTINCT (and EXACT_BYTES), then a KMV estimate."""

    def __init__(self) -> None:
        """Start empty and exact."""
        self.values: pa.Array | None = None
        self.sketch: np.ndarray | None = None
        self.pending: list[pa.Array] = []  # batches' distinct values not merged into `values` yet
        self.pending_len = self.pending_bytes = 0

    def add(self, arr: pa.Array) -> None:
        """Count the values of ARR (nulls and NaN left out)."""
        arr = present_values(arr)
        if len(arr) == 0:
            return
        if self.sketch is not None and _is_number(arr.type):
            self._sketch(hashes(arr))
            return
        self.add_distinct(pc.unique(arr))

    def add_distinct(self, uniques: pa.Array) -> None:
        """Count UNIQUES: one batch's distinct present values (a categorical column has them from its counts)."""
        if len(uniques) == 0:
            return
        if self.sketch is not None:
            self._sketch(hashes(uniques))
            return
        # Merged only when the batches' distinct values together could pass the exact bounds: one merge per
        # many batches instead of one per batch (a column of a few thousand values repeats them in every batch).
        self.pending.append(uniques)
        self.pending_len += len(uniques)
        self.pending_bytes += uniques.nbytes
        if self.pending_len > EXACT_DISTINCT or self.pending_bytes > EXACT_BYTES:
            self._merge()

    def _merge(self) -> None:
        """Fold the pending distinct values into `values`, or into the sketch once past the exact bounds."""
        if not self.pending:
            return
        parts = ([self.values] if self.values is not None else []) + self.pending
        kind = parts[0].type
        merged = pc.unique(pa.concat_arrays([p.cast(kind) for p in parts])) if len(parts) > 1 else parts[0]
        self.pending, self.pending_len, self.pending_bytes = [], 0, 0
        if self.sketch is None and len(merged) <= EXACT_DISTINCT and merged.nbytes <= EXACT_BYTES:
            self.values, self.pending_len, self.pending_bytes = merged, len(merged), merged.nbytes
            return
        self.values = None
        self._sketch(hashes(merged))

    def _sketch(self, hashed: np.ndarray) -> None:
        """Keep the SKETCH_K smallest distinct hashes seen."""
        if self.sketch is not None:
            if len(self.sketch) >= SKETCH_K:
                hashed = hashed[hashed < self.sketch[-1]]
            hashed = np.concatenate([self.sketch, hashed])
        hashed = np.sort(hashed)
        if len(hashed) > 1:
            hashed = hashed[np.concatenate(([True], hashed[1:] != hashed[:-1]))]
        self.sketch = hashed[:SKETCH_K]

    @property
    def exact(self) -> bool:
        """Whether count() is exact."""
        self._merge()
        return self.sketch is None or len(self.sketch) < SKETCH_K

    def count(self) -> int:
        """The number of distinct values (an estimate once past the exact bounds)."""
        self._merge()
        if self.sketch is None:
            return 0 if self.values is None else len(self.values)
        if len(self.sketch) < SKETCH_K:
            return len(self.sketch)
        kth = float(self.sketch[-1]) / 2.0**64
        return int(round((SKETCH_K - 1) / kth))


class TopValues:
    """A column's most frequent values: exact up to TOP_KEEP distinct values; past that, the TOP_KEEP / 2 most
    frequent are kept (ties: the values seen first) and counted on, so their counts are approximate."""

    def __init__(self) -> None:
        """Start empty and exact."""
        self.counted: pa.Table | None = None  # columns values, counts: one row per value
        self.pending: list[pa.Table] = []
        self.pending_rows = 0
        self.exact = True

    def add(self, counts: pa.StructArray) -> None:
        """Add one batch's value counts (pyarrow.compute.value_counts of its present values)."""
        self.pending.append(pa.table({"values": counts.field("values"), "counts": counts.field("counts")}))
        self.pending_rows += len(counts)
        if self.pending_rows > TOP_KEEP:
            self._fold()

    def _fold(self) -> None:
        """Sum the pending counts into `counted`, keeping the TOP_KEEP / 2 most frequent once past TOP_KEEP."""
        if not self.pending:
            return
        parts = ([self.counted] if self.counted is not None else []) + self.pending
        # One thread: the groups come out in the order they were first seen, and that order breaks ties below.
        summed = pa.concat_tables(parts).group_by("values", use_threads=False).aggregate([("counts", "sum")])
        summed = summed.rename_columns({"counts_sum": "counts"}).select(["values", "counts"])
        if summed.num_rows > TOP_KEEP:
            order = np.argsort(-summed.column("counts").to_numpy(), kind="stable")[: TOP_KEEP // 2]
            summed, self.exact = summed.take(pa.array(order)), False
        self.counted, self.pending, self.pending_rows = summed, [], 0

    def ranked(self, limit: int) -> list[tuple[Any, int]]:
        """The LIMIT most frequent (value, count), most frequent first, ties in the order of the values' text."""
        self._fold()
        if self.counted is None or self.counted.num_rows == 0:
            return []
        counts = self.counted.column("counts").to_numpy()
        if len(counts) > limit:  # only the values that can be among the LIMIT reach Python
            least = np.partition(counts, len(counts) - limit)[len(counts) - limit]
            candidates = self.counted.filter(pc.greater_equal(self.counted.column("counts"), least))
        else:
            candidates = self.counted
        pairs = zip(candidates.column("values").to_pylist(), candidates.column("counts").to_pylist(), strict=True)
        return sorted(pairs, key=lambda kv: (-kv[1], str(kv[0])))[:limit]
