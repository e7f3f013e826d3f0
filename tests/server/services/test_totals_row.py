"""A spreadsheet's totals row at the end of a CSV is left out, and named; anything less certain is kept."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from server.services import table_store
from server.services.totals_row import without_totals_row


def _batches(rows: list[tuple[str | None, float | None, int | None]], size: int) -> list[pa.RecordBatch]:
    table = pa.table(
        {
            "name": [r[0] for r in rows],
            "amount": pa.array([r[1] for r in rows], pa.float64()),
            "units": pa.array([r[2] for r in rows], pa.int64()),
        }
    )
    return table.to_batches(max_chunksize=size)


BODY = [(f"p{i}", i * 1.25, i) for i in range(1, 41)]  # amounts sum to 1025.0, units to 820


@pytest.mark.parametrize("size", [1, 7, 100])  # the sums run across batches of any size
@pytest.mark.parametrize("label", ["Total", "SUMME:", " Gesamt ", "Grand total", "合計", "Итого"])
def test_a_last_row_labelled_total_holding_the_sums_is_left_out(size: int, label: str) -> None:
    found: list[str] = []
    kept = pa.Table.from_batches(list(without_totals_row(_batches([*BODY, (label, 1025.0, 820)], size), found)))
    assert kept.num_rows == len(BODY) and found == [label.strip()]


@pytest.mark.parametrize(
    "last",
    [
        ("Total", 1025.0, 20),  # units: an average, not the sum
        ("Total", 12.5, 10),  # a real record whose category is "Total"
        ("Total", None, None),  # no number to check
        (None, 1025.0, 820),  # the sums without a label: a record that happens to equal them
        ("p41", 1025.0, 820),
    ],
)
def test_anything_less_than_a_labelled_row_of_sums_is_kept(last: tuple) -> None:
    found: list[str] = []
    kept = pa.Table.from_batches(list(without_totals_row(_batches([*BODY, last], 7), found)))
    assert kept.num_rows == len(BODY) + 1 and found == []


def test_a_sum_shown_rounded_as_its_values_are_still_matches() -> None:
    """Excel exports values as displayed: three thirds shown as 0.33 sum to 0.99, their total shows 1.00."""
    found: list[str] = []
    rows = [("a", 0.33, 1), ("b", 0.33, 1), ("c", 0.33, 1), ("Total", 1.0, 3)]
    assert pa.Table.from_batches(list(without_totals_row(_batches(rows, 10), found))).num_rows == 3 and found


def test_a_german_excel_export_s_totals_row_and_empty_rows_are_left_out_and_named(tmp_path: Path) -> None:
    lines = ["Filiale;Umsatz;Stück"] + [f"F{i};{i}.234,50;{i * 3}" for i in range(1, 21)]
    lines += ["Summe;214.690,00;630", ";;", ";;"]  # 1,234.50 + … + 20,234.50 = 214,690
    upload = tmp_path / "umsatz.csv"
    upload.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    stored = table_store.store_csv(upload, tmp_path / "umsatz.parquet")
    table = pq.read_table(tmp_path / "umsatz.parquet")
    assert stored.n_rows == table.num_rows == 20 and table.column("Filiale").to_pylist()[-1] == "F20"
    assert stored.source is not None and stored.source.totals_row == "Summe" and stored.source.empty_rows == 2
    assert any("'Summe'" in note for note in stored.source.as_dict()["ambiguous"])
