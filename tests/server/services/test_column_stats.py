"""column_stats: each statistic and hint of a small table, checked against hand-computed values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from server.services import column_stats, column_values

N = 120


@pytest.fixture
def table_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A 120-row Parquet file in row groups of 25, read in batches of 7 (statistics must merge across them)."""
    monkeypatch.setattr(column_stats, "BATCH_ROWS", 7)
    table = pa.table(
        {
            "id": list(range(1000, 1000 + N)),
            "const": ["same"] * N,
            "sparse": [float(i) if i % 3 == 0 else None for i in range(N)],
            "city": [f"c{i % 110}" for i in range(N)],
            "amount": [float(i % 4) for i in range(N)],
            "comment": ["one two three" if i % 2 else "four five" for i in range(N)],
            "when": ["2024-03-01", "01/03/2024", "2024-03-01 12:00"] * (N // 3),
            "code": ["x" if i % 10 == 0 else str(i % 5) for i in range(N)],
        }
    )
    path = tmp_path / "t.parquet"
    pq.write_table(table, path, row_group_size=25)
    return path


TYPES = {
    "id": "numeric",
    "const": "categorical",
    "sparse": "numeric",
    "city": "categorical",
    "amount": "numeric",
    "comment": "text",
    "when": "categorical",
    "code": "numeric",
}


def _computed(path: Path) -> dict[str, dict[str, Any]]:
    columns = [{"name": n, "type": t, "extra": "kept"} for n, t in TYPES.items()]
    return {c["name"]: c for c in column_stats.compute(path, columns)}


def test_each_column_gets_its_stats_and_hints(table_path: Path) -> None:
    cols = _computed(table_path)
    assert all(c["extra"] == "kept" for c in cols.values())
    ident = cols["id"]
    assert ident["hints"] == ["id_like"]
    assert ident["stats"]["distinct"] == N and ident["stats"]["min"] == 1000.0 and ident["stats"]["max"] == 1119.0
    const = cols["const"]
    assert const["hints"] == ["constant"]
    assert const["stats"]["top"] == [{"value": "same", "count": N}]
    assert const["stats"]["distinct"] == 1 and const["stats"]["missing"] == 0
    sparse = cols["sparse"]
    assert sparse["hints"] == ["mostly_missing"]
    assert sparse["stats"]["missing"] == 80 and sparse["stats"]["distinct"] == 40
    assert sparse["stats"]["mean"] == pytest.approx(58.5)
    city = cols["city"]
    assert city["hints"] == ["high_cardinality"]
    assert city["stats"]["distinct"] == 110 and city["stats"]["distinct_exact"] is True
    assert city["stats"]["top"][0]["count"] == 2 and len(city["stats"]["top"]) == column_stats.TOP_SHOWN


def test_numeric_stats_and_histogram(table_path: Path) -> None:
    amount = _computed(table_path)["amount"]
    stats = amount["stats"]
    assert amount["hints"] == []
    assert (stats["min"], stats["max"], stats["missing"], stats["distinct"]) == (0.0, 3.0, 0, 4)
    assert stats["mean"] == pytest.approx(1.5)
    assert stats["std"] == pytest.approx(1.25**0.5)
    hist = stats["histogram"]
    assert len(hist["edges"]) == column_stats.BINS + 1 and hist["edges"][0] == 0.0 and hist["edges"][-1] == 3.0
    assert sum(hist["counts"]) == N and hist["counts"][0] == 30 and hist["counts"][-1] == 30


def test_text_words_dates_and_unparseable_numbers(table_path: Path) -> None:
    cols = _computed(table_path)
    assert cols["comment"]["stats"]["mean_words"] == pytest.approx(2.5)
    assert cols["when"]["hints"] == ["date_like"]
    code = cols["code"]["stats"]
    assert code["unparseable"] == 12 and code["max"] == 4.0
    assert code["distinct"] == 6 and code["missing"] == 0


def test_distinct_counts_switch_to_an_estimate_past_the_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(column_values, "EXACT_DISTINCT", 50)
    monkeypatch.setattr(column_values, "SKETCH_K", 256)
    counter = column_values.DistinctCounter()
    for start in range(0, 5000, 100):
        counter.add(pa.array([f"v{i}" for i in range(start, start + 100)] + [None]))
    assert not counter.exact
    assert abs(counter.count() - 5000) < 5000 * 0.2
    small = column_values.DistinctCounter()
    small.add(pa.array([1.0, 2.0, float("nan"), None, 2.0]))
    assert small.exact and small.count() == 2


def test_nested_values_keep_only_the_missing_count(tmp_path: Path) -> None:
    path = tmp_path / "n.parquet"
    pq.write_table(pa.table({"l": [[1, 2], None, [3]]}), path)
    (col,) = column_stats.compute(path, [{"name": "l", "type": "categorical"}])
    assert col["stats"]["missing"] == 1


def test_distinct_dates_are_date_like_not_id_like(tmp_path: Path) -> None:
    import datetime as dt

    path = tmp_path / "d.parquet"
    days = [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(40)]
    pq.write_table(pa.table({"day": days, "iso": [d.isoformat() for d in days]}), path)
    cols = column_stats.compute(path, [{"name": "day", "type": "categorical"}, {"name": "iso", "type": "categorical"}])
    assert [c["hints"] for c in cols] == [["date_like"], ["date_like"]]
    assert cols[1]["stats"]["distinct"] == 40


@pytest.mark.parametrize(("not_dates", "date_like"), [(4, True), (6, False)])
def test_a_categorical_column_s_dates_are_counted_by_value_weighted_by_their_counts(
    table_path: Path, not_dates: int, date_like: bool
) -> None:
    # The regex reads each distinct value once; the 95 % threshold counts rows: 2 dates repeated 48 times each
    # beside NOT_DATES rows of one non-date (4 of 100 rows: date-like; 6 of 102: not). A count by distinct values
    # (2 of 3) would be under the threshold in both cases.
    path = table_path.with_name("w.parquet")
    values = ["2024-03-01"] * 48 + ["01/03/2024"] * 48 + ["soon"] * not_dates
    pq.write_table(pa.table({"when": values}), path, row_group_size=25)
    (col,) = column_stats.compute(path, [{"name": "when", "type": "categorical"}])
    assert ("date_like" in col["hints"]) is date_like
