"""Reading a stored Parquet file batch by batch holds about one row group, whatever the file's size (scoring,
evaluation, CSV downloads and type checks read that way: table_store.open_parquet)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from server.services import table_store

GROUP_ROWS, GROUPS, COLUMNS = 20_000, 30, 10
GROUP_BYTES = GROUP_ROWS * COLUMNS * 8


def _file(tmp_path: Path) -> Path:
    path = tmp_path / "data.parquet"
    rng = np.random.default_rng(3)
    group = pa.table({f"c{i}": rng.normal(size=GROUP_ROWS) for i in range(COLUMNS)})
    with pq.ParquetWriter(path, group.schema, compression="none") as writer:
        for _ in range(GROUPS):
            writer.write_table(group)
    return path


def _most_held(parquet: pq.ParquetFile) -> int:
    """The most Arrow memory held at any batch while reading PARQUET through, beyond what was held before."""
    start, most, rows = pa.total_allocated_bytes(), 0, 0
    for batch in parquet.iter_batches(batch_size=5_000):
        rows += batch.num_rows
        most = max(most, pa.total_allocated_bytes() - start)
    assert rows == GROUP_ROWS * GROUPS
    return most


def test_open_parquet_holds_about_a_row_group(tmp_path: Path) -> None:
    path = _file(tmp_path)
    assert _most_held(table_store.open_parquet(path)) < 3 * GROUP_BYTES  # 30 row groups read, ~1 held
    # pyarrow's default pre-buffering keeps what it read: the reason for open_parquet (about the whole file here)
    assert _most_held(pq.ParquetFile(path, pre_buffer=True)) > 10 * GROUP_BYTES
