"""The stats pass's shortcuts give exactly what the plain computation gives: distinct values merged many batches
at a time, a categorical column's distinct values taken from its counts, histograms by numpy's uniform bins."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from server.services import column_stats, column_values


def test_deferred_merges_count_exactly_below_the_bound_and_switch_past_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(column_values, "EXACT_DISTINCT", 500)
    rng = np.random.default_rng(3)
    repeated = column_values.DistinctCounter()
    seen: set[int] = set()
    for _ in range(40):  # 40 batches, each 300 of the same 450 values: many batches between two merges
        batch = rng.integers(0, 450, size=300)
        seen.update(batch.tolist())
        repeated.add(pa.array(batch))
    assert repeated.exact and repeated.count() == len(seen) and repeated.sketch is None
    growing = column_values.DistinctCounter()
    for start in range(0, 2000, 100):  # new values in every batch: past 500 distinct, an estimate
        growing.add(pa.array(np.arange(start, start + 100)))
    assert growing.sketch is not None and growing.count() == 2000  # fewer than SKETCH_K hashes: still exact
    assert growing.exact


def test_categorical_distinct_from_counts_matches_the_values(tmp_path: Path) -> None:
    path = tmp_path / "c.parquet"
    values = [f"k{i % 37}" if i % 11 else None for i in range(100_000)]
    pq.write_table(pa.table({"c": values}), path, row_group_size=10_000)
    (col,) = column_stats.compute(path, [{"name": "c", "type": "categorical"}])
    present = [v for v in values if v is not None]
    assert col["stats"]["distinct"] == len(set(present)) and col["stats"]["distinct_exact"] is True
    assert col["stats"]["missing"] == len(values) - len(present)
    assert sum(t["count"] for t in col["stats"]["top"]) == sum(
        sorted((present.count(k) for k in set(present)), reverse=True)[: column_stats.TOP_SHOWN]
    )


@pytest.mark.parametrize("low, high", [(0.0, 9.0), (-3.5, 7.25), (2.0, 2.0)])
def test_bin_counts_equal_numpy_histogram_on_the_edges(low: float, high: float) -> None:
    edges = column_stats._edges(low, high)
    rng = np.random.default_rng(5)
    values = np.concatenate(
        [rng.uniform(low, high, 5000), edges, np.full(7, high), np.full(3, low), [low - 1, high + 1]]
    )
    assert column_stats._bin_counts(values, edges).tolist() == np.histogram(values, bins=edges)[0].tolist()
