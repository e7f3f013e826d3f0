"""Streaming a CSV or Parquet upload into the dataset's Parquet file: late type changes, errors, bounded batches."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from server.errors import ApiError
from server.services import csv_source, table_store, tables

SMALL_BLOCK = 64 << 10


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Parse in 64 KiB blocks, so a few thousand rows span many blocks (the server uses 16 MB)."""
    monkeypatch.setattr(tables, "PARSE_BLOCK_BYTES", SMALL_BLOCK)


def write_csv(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def stored_table(tmp_path: Path, upload: Path) -> tuple[table_store.Stored, pa.Table]:
    dest = tmp_path / "out.parquet"
    stored = table_store.store_csv(upload, dest)
    return stored, pq.read_table(dest)


def test_a_dictionary_stops_at_its_bound_and_a_few_values_keep_theirs(tmp_path: Path) -> None:
    # 60,000 distinct float64s are 469 KiB of dictionary: under Parquet's default limit (1 MiB) the whole column went
    # through the dictionary, which took twice the write's time for no gain (docs/benchmarks.md, "Uploads: the
    # Parquet write's dictionaries").
    rows = [f"{i * 1.000001 + 0.123},cat{i % 5}" for i in range(60_000)]
    upload = write_csv(tmp_path / "t.csv", "x,c", rows)
    _, table = stored_table(tmp_path, upload)
    group = pq.ParquetFile(tmp_path / "out.parquet").metadata.row_group(0)
    numbers, names = group.column(0), group.column(1)
    # The dictionary page comes first: its size is where the data pages start.
    assert 0 < numbers.data_page_offset - numbers.dictionary_page_offset <= table_store.DICTIONARY_PAGE_BYTES + 1024
    assert names.has_dictionary_page and names.data_page_offset - names.dictionary_page_offset < 1024
    assert table.equals(pacsv.read_csv(upload))


def test_a_big_csv_is_written_in_several_row_groups_with_the_same_rows(tmp_path: Path, small_blocks: None) -> None:
    rows = [f"{i},{i * 0.5},name{i % 7}" for i in range(20_000)]
    upload = write_csv(tmp_path / "t.csv", "id,x,name", rows)
    stored, table = stored_table(tmp_path, upload)
    assert stored.n_rows == table.num_rows == 20_000
    assert pq.ParquetFile(tmp_path / "out.parquet").metadata.num_row_groups > 1  # streamed, not one whole table
    assert table.equals(pacsv.read_csv(upload))  # what a one-shot read gives
    assert stored.sample.num_rows == 20_000 and stored.sample.schema == table.schema


def test_the_sample_stops_at_sample_rows(tmp_path: Path, small_blocks: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(table_store, "SAMPLE_ROWS", 1_234)
    upload = write_csv(tmp_path / "t.csv", "a,b", [f"{i},{i}" for i in range(10_000)])
    stored, _ = stored_table(tmp_path, upload)
    assert stored.sample.num_rows == 1_234 and stored.n_rows == 10_000
    assert stored.sample.column("a").to_pylist() == list(range(1_234))


@pytest.mark.parametrize(
    ("late_value", "expected_type"),
    [("not a number", pa.string()), ("2.5", pa.float64())],
)
def test_a_number_column_with_a_late_different_value_is_widened(
    tmp_path: Path, small_blocks: None, late_value: str, expected_type: pa.DataType
) -> None:
    rows = [f"{i},{i}" for i in range(15_000)] + [f"{late_value},7"]
    upload = write_csv(tmp_path / "t.csv", "a,b", rows)
    stored, table = stored_table(tmp_path, upload)
    assert table.schema.field("a").type == expected_type
    assert table.schema.field("b").type == pa.int64()
    assert stored.n_rows == 15_001
    assert table.column("a")[-1].as_py() in (late_value, float(late_value) if expected_type == pa.float64() else None)
    assert table.column("a")[10].as_py() in ("10", 10.0)


def test_an_empty_column_that_fills_later_becomes_numeric(tmp_path: Path, small_blocks: None) -> None:
    rows = [f"{i}," for i in range(15_000)] + ["15000,3.25"]
    stored, table = stored_table(tmp_path, write_csv(tmp_path / "t.csv", "a,late", rows))
    assert table.schema.field("late").type == pa.float64()
    assert table.column("late")[-1].as_py() == 3.25 and table.column("late")[0].as_py() is None


def _count_passes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the streamed passes that write the Parquet file; fail on any read of the whole file."""
    passes: list[int] = []
    stream = tables.csv_batches

    def counted(*args: Any, **kwargs: Any) -> Any:
        passes.append(1)
        return stream(*args, **kwargs)

    def whole(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("the whole file was read into memory")

    monkeypatch.setattr(tables, "csv_batches", counted)
    monkeypatch.setattr(tables, "read_csv", whole)
    return passes


def test_many_late_changes_are_widened_in_one_more_streamed_pass(
    tmp_path: Path, small_blocks: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    n = table_store.MAX_RETYPES + 2
    header = ",".join(f"c{j}" for j in range(n))
    rows = [",".join(str(i) for _ in range(n)) for i in range(12_000)]
    rows += [",".join("text" if j == k else "1" for j in range(n)) for k in range(n)]  # one late change per column
    upload = write_csv(tmp_path / "t.csv", header, rows)
    passes = _count_passes(monkeypatch)
    stored, table = stored_table(tmp_path, upload)
    assert all(f.type == pa.string() for f in table.schema)
    assert stored.n_rows == 12_000 + n
    assert table.equals(pacsv.read_csv(upload, convert_options=pacsv.ConvertOptions(strings_can_be_null=True)))
    assert len(passes) == 2  # the first (stopped by the late values) and the one with the widened types


LATE_KINDS = {  # column: (value in the first rows, late value) -> the type a whole-file read infers
    "int_to_float": ("7", "2.5"),
    "int_to_text": ("7", "seven"),
    "float_to_text": ("1.5", "n/a?"),
    "empty_to_int": ("", "12"),
    "empty_to_float": ("", "1e3"),
    "empty_to_bool": ("", "true"),
    "empty_to_date": ("", "2024-05-01"),
    "date_to_timestamp": ("2024-05-01", "2024-05-01 10:30:00"),
    "bool_to_text": ("false", "maybe"),
    "text": ("a", "b"),
}


def test_late_changes_of_every_kind_give_the_types_and_values_of_a_whole_read(
    tmp_path: Path, small_blocks: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = ",".join(early for early, _ in LATE_KINDS.values())
    late = ",".join(value for _, value in LATE_KINDS.values())
    upload = write_csv(tmp_path / "t.csv", ",".join(LATE_KINDS), [first] * 8_000 + [late] + [first] * 50)
    passes = _count_passes(monkeypatch)
    stored, table = stored_table(tmp_path, upload)
    whole = pacsv.read_csv(upload, convert_options=pacsv.ConvertOptions(strings_can_be_null=True))
    pq.write_table(whole, tmp_path / "whole.parquet")  # as Parquet stores it (timestamp[s] becomes [ms])
    whole = pq.read_table(tmp_path / "whole.parquet")
    assert table.schema == whole.schema, (table.schema, whole.schema)
    assert table.equals(whole) and stored.n_rows == 8_051
    assert len(passes) == 2


def test_a_late_change_with_a_decimal_comma_is_widened_to_numbers(tmp_path: Path, small_blocks: None) -> None:
    upload = write_csv(tmp_path / "t.csv", "a;b", [f"{i};x" for i in range(12_000)] + ["2,5;y"])
    dest = tmp_path / "out.parquet"
    table_store.store_csv(upload, dest, {"delimiter": ";", "decimal": ","})
    table = pq.read_table(dest)
    assert table.schema.field("a").type == pa.float64()
    assert table.column("a")[-1].as_py() == 2.5 and table.column("a")[3].as_py() == 3.0


MEMORY_CHILD = """
import sys
from pathlib import Path
import pyarrow as pa
from server.services import csv_source, table_store, tables
tables.PARSE_BLOCK_BYTES = 64 << 10
table_store.SAMPLE_ROWS = 5_000
table_store.store_csv(Path(sys.argv[1]), Path(sys.argv[1] + ".parquet"))
print(pa.default_memory_pool().max_memory())
"""


def _peak_arrow_bytes(upload: Path) -> int:
    """Arrow's peak allocation while a fresh interpreter stores UPLOAD in 64 KiB parse blocks, a
    5,000-row sample."""
    root = Path(__file__).resolve().parents[3]
    proc = subprocess.run(
        [sys.executable, "-c", MEMORY_CHILD, str(upload)], cwd=root, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return int(proc.stdout.split()[-1])


def test_late_changes_cost_no_more_memory_than_a_plain_streamed_upload(tmp_path: Path) -> None:
    header = "a,b,c,d,e,f"
    body = [f"{i},{i * 0.5},{i % 97},{i % 7},{i * 2},{i % 3}" for i in range(240_000)]
    plain = _peak_arrow_bytes(write_csv(tmp_path / "plain.csv", header, body))
    body[-1] = "x,y,z,w,v,u"  # every column changes type on the last line
    late = write_csv(tmp_path / "late.csv", header, body)
    peak = _peak_arrow_bytes(late)
    assert peak < 1.25 * plain + (1 << 20), (peak, plain)
    # A whole read holds more than the file: 24.5 MB for this 6.8 MB file before the change, 3.6 MB after.
    assert peak < late.stat().st_size, (peak, late.stat().st_size)


def test_bad_utf8_far_into_the_file_is_a_clear_422(tmp_path: Path, small_blocks: None) -> None:
    upload = tmp_path / "t.csv"
    upload.write_bytes(b"id,name\n" + b"1,plain\n" * 20_000 + "2,café\n".encode("latin-1"))
    with pytest.raises(ApiError) as err:
        table_store.store_csv(upload, tmp_path / "out.parquet", {"encoding": "utf-8"})
    assert err.value.status == 422 and err.value.code == "bad_encoding"
    assert not (tmp_path / "out.parquet").exists()  # nothing half-written is left


def test_a_header_only_csv_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ApiError) as err:
        table_store.store_csv(write_csv(tmp_path / "t.csv", "a,b", []), tmp_path / "out.parquet")
    assert err.value.code == "empty_dataset"


def test_parquet_is_copied_batch_by_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(table_store, "PARQUET_BATCH_ROWS", 1_000)
    source = pa.table({"a": list(range(5_500)), "b": [f"v{i}" for i in range(5_500)]})
    pq.write_table(source, tmp_path / "in.parquet")
    stored = table_store.store_parquet(tmp_path / "in.parquet", tmp_path / "out.parquet")
    assert stored.n_rows == 5_500
    assert pq.read_table(tmp_path / "out.parquet").equals(source)
    assert pq.ParquetFile(tmp_path / "out.parquet").metadata.num_row_groups == 6


def test_a_file_that_is_not_parquet_is_a_415(tmp_path: Path) -> None:
    (tmp_path / "in.parquet").write_bytes(b"PAR1 but not really")
    with pytest.raises(ApiError) as err:
        table_store.store_parquet(tmp_path / "in.parquet", tmp_path / "out.parquet")
    assert err.value.status == 415 and str(tmp_path) not in err.value.detail


_SCHEMA = pa.schema([("n", pa.int64()), ("t", pa.string())])


def _rows(*values: int | None) -> pa.RecordBatch:
    """A batch of two columns: VALUES and their text (None: a row without any value)."""
    texts = [None if v is None else str(v) for v in values]
    return pa.RecordBatch.from_pydict({"n": list(values), "t": texts}, schema=_SCHEMA)


def test_only_the_rows_without_values_at_the_end_are_left_out() -> None:
    batches = [_rows(1, None, None), _rows(None, None), _rows(2, None), _rows(None), _rows()]
    dropped = [0]
    kept = pa.Table.from_batches(list(table_store.without_empty_rows(batches, dropped)))
    assert kept.column("n").to_pylist() == [1, None, None, None, None, 2] and dropped == [2]
    dropped = [0]
    assert list(table_store.without_empty_rows([_rows(1, 2)], dropped)) == [_rows(1, 2)] and dropped == [0]


def test_a_short_row_far_down_is_padded_while_the_file_streams(tmp_path: Path, small_blocks: None) -> None:
    rows = [f"K{i};{i},5;{i % 7}" for i in range(20_000)]
    rows[15_000] = "K15000;1,5"  # many blocks past the first: found by the streamed parse, which starts again
    upload = write_csv(tmp_path / "t.csv", "Kunde;Betrag;Menge", rows)
    stored, table = stored_table(tmp_path, upload)
    assert pq.ParquetFile(tmp_path / "out.parquet").metadata.num_row_groups > 1
    assert stored.n_rows == 20_000 and stored.source is not None and stored.source.short_rows == 1
    assert table.slice(15_000, 1).to_pylist() == [{"Kunde": "K15000", "Betrag": 1.5, "Menge": None}]
    assert table.column("Betrag").to_pylist()[:2] == [0.5, 1.5] and table.schema.field("Menge").type == pa.int64()
    assert "line 15002" in " ".join(stored.source.as_dict()["ambiguous"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.parquet", "t.csv"]  # the padded copy is gone


@pytest.mark.parametrize("numbers", [True, False], ids=["a number column", "text columns only"])
def test_a_header_repeated_far_down_is_left_out(tmp_path: Path, small_blocks: None, numbers: bool) -> None:
    # beyond the 4 MiB that detection reads; found while the file streams (a type change, or a first block of text)
    value = (lambda i: f"{i},5") if numbers else (lambda i: f"v{i}")
    rows = [f"K{i};{value(i)}" for i in range(300_000)]
    upload = tmp_path / "t.csv"
    upload.write_bytes(("Kunde;Betrag\r\n" + "\r\n".join(rows) + "\r\n\ufeffKunde;Betrag\r\nK;1,5\r\n").encode())
    assert upload.stat().st_size > csv_source.HEAD_BYTES
    stored, table = stored_table(tmp_path, upload)
    assert stored.n_rows == 300_001 and table.column("Kunde").to_pylist()[-2:] == ["K299999", "K"]
    assert table.schema.field("Betrag").type == (pa.float64() if numbers else pa.string())
    assert stored.source is not None and (stored.source.repeats, stored.source.first_repeat) == (1, 300_002)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.parquet", "t.csv"]  # the copy is gone
