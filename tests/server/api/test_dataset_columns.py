"""Column statistics, hints and type changes through HTTP (data.md "Column types and statistics")."""

from __future__ import annotations

from typing import Any

import pytest

from tests.server.api import support
from tests.server.api.support import API, expect, expect_error

ROWS = 200


def messy_columns() -> dict[str, list[Any]]:
    """An id, a constant, a mostly-missing number, a high-cardinality city, a number, a code with 'n/a', dates."""
    return {
        "customer_id": [f"C{i:04d}" for i in range(ROWS)],
        "plan": ["basic"] * ROWS,
        "score": [i % 3 + 0.5 if i % 4 == 0 else None for i in range(ROWS)],
        "city": [f"city{i % 150}" for i in range(ROWS)],
        "x": [i % 10 for i in range(ROWS)],
        "code": ["n/a" if i % 20 == 0 else str(i % 7) for i in range(ROWS)],
        "signup": [f"2024-03-{i % 28 + 1:02d}" for i in range(ROWS)],
        "y": [i % 2 for i in range(ROWS)],
    }


@pytest.fixture
def messy(api: Any, project: str) -> dict[str, Any]:
    """The messy dataset, uploaded."""
    payload = support.parquet_bytes(messy_columns())
    return expect(support.upload(api, project, "messy", payload, "messy.parquet"), 201)


def _patch(api: Any, dataset_id: int, name: str, body: Any, token: str | None = None) -> Any:
    return api.client.patch(f"{API}/datasets/{dataset_id}/columns/{name}", headers=api.headers(token), json=body)


def _columns(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in body["columns"]}


def test_get_returns_each_columns_stats_and_hints(api: Any, messy: dict[str, Any]) -> None:
    cols = _columns(expect(api.get(f"{API}/datasets/{messy['id']}"), 200))
    assert set(cols["customer_id"]["hints"]) == {"id_like", "high_cardinality"}
    assert cols["customer_id"]["stats"]["distinct"] == ROWS
    assert cols["plan"]["hints"] == ["constant"]
    assert cols["plan"]["stats"]["top"] == [{"value": "basic", "count": ROWS}]
    assert cols["score"]["stats"]["missing"] == 150
    assert cols["score"]["hints"] == ["mostly_missing"]
    assert cols["city"]["type"] == "categorical"
    assert cols["city"]["hints"] == ["high_cardinality"]
    assert cols["city"]["stats"]["distinct"] == 150
    x = cols["x"]["stats"]
    assert cols["x"]["type"] == "numeric" and cols["x"]["hints"] == []
    assert (x["min"], x["max"], x["missing"], x["distinct"]) == (0.0, 9.0, 0, 10)
    assert x["mean"] == pytest.approx(4.5)
    assert x["std"] == pytest.approx(8.25**0.5)
    assert sum(x["histogram"]["counts"]) == ROWS
    assert len(x["histogram"]["edges"]) == len(x["histogram"]["counts"]) + 1
    assert cols["signup"]["hints"] == ["date_like"]
    assert cols["signup"]["type"] == "date"  # inferred now that dates train


def test_patch_counts_values_that_do_not_parse_and_keeps_them_visible(api: Any, messy: dict[str, Any]) -> None:
    assert _columns(messy)["code"]["type"] == "categorical"
    body = expect(_patch(api, messy["id"], "code", {"type": "numeric"}), 200)
    assert body["name"] == "code" and body["type"] == "numeric"
    assert body["unparseable"] == ROWS // 20
    assert body["stats"]["unparseable"] == ROWS // 20
    assert body["stats"]["max"] == 6.0
    again = _columns(expect(api.get(f"{API}/datasets/{messy['id']}"), 200))["code"]
    assert again["type"] == "numeric" and again["unparseable"] == ROWS // 20
    back = expect(_patch(api, messy["id"], "code", {"type": "categorical"}), 200)
    assert back["unparseable"] == 0 and back["stats"]["top"][0]["count"] > 0


def test_patch_refuses_unknown_columns_bad_types_and_readers(api: Any, project: str, messy: dict[str, Any]) -> None:
    expect_error(_patch(api, messy["id"], "nope", {"type": "numeric"}), 404)
    expect_error(_patch(api, messy["id"], "x", {"type": "colour"}), 422)
    expect_error(_patch(api, messy["id"], "x", {}), 422)
    reader = api.user("rita", project, "reader")
    expect_error(_patch(api, messy["id"], "x", {"type": "categorical"}, token=reader), 403)
    expect_error(_patch(api, 999_999, "x", {"type": "categorical"}), 404)


def test_a_column_can_become_a_date(api: Any, messy: dict[str, Any]) -> None:
    back = expect(_patch(api, messy["id"], "signup", {"type": "date"}), 200)
    assert back["type"] == "date"


def test_new_ml_tasks_reject_id_like_and_constant_columns(api: Any, project: str, messy: dict[str, Any]) -> None:
    analysis = support.create_analysis(api, project, messy["id"])
    task = support.create_ml_task(api, analysis["id"], "y", prediction_type="binary")
    features = task["settings"]["features"]
    assert features["customer_id"]["role"] == "reject"
    assert features["plan"]["role"] == "reject"
    assert {features[c]["role"] for c in ("score", "city", "x", "code", "signup")} == {"input"}
    assert features["x"]["type"] == "numeric" and features["city"]["type"] == "categorical"


def test_datasets_stored_before_get_their_stats_on_first_read(api: Any, messy: dict[str, Any]) -> None:
    from server.db import session_scope
    from server.models import Dataset

    with session_scope() as db:
        row = db.get(Dataset, messy["id"])
        row.columns = [{"name": c["name"], "type": c["type"]} for c in row.columns]
    cols = _columns(expect(api.get(f"{API}/datasets/{messy['id']}"), 200))
    assert cols["plan"]["hints"] == ["constant"] and cols["x"]["stats"]["max"] == 9.0


def test_a_csv_upload_gets_stats_and_hints_too(api: Any, project: str) -> None:
    rows = ["customer_id,plan,signup,amount"]
    rows += [f"C{i:04d},basic,2024-03-{i % 28 + 1:02d},{i % 5}.5" for i in range(ROWS)]
    body = expect(api.upload_csv(project, "csv", ("\n".join(rows) + "\n").encode()), 201)
    cols = _columns(body)
    assert "id_like" in cols["customer_id"]["hints"] and cols["plan"]["hints"] == ["constant"]
    assert "date_like" in cols["signup"]["hints"] and cols["signup"]["type"] == "date"
    assert cols["amount"]["stats"]["max"] == 4.5 and cols["amount"]["stats"]["missing"] == 0


def test_a_date_type_counts_the_values_that_are_not_dates(api: Any, messy: dict[str, Any]) -> None:
    assert expect(_patch(api, messy["id"], "signup", {"type": "date"}), 200)["unparseable"] == 0
    back = expect(_patch(api, messy["id"], "city", {"type": "date"}), 200)
    assert back["type"] == "date" and back["unparseable"] == back["stats"]["unparseable"] > 0


def test_dates_written_as_numbers_are_date_like_and_read_as_dates(api: Any, project: str) -> None:
    """A database's export: `20240115` for 15 January 2024, one row a day, a day left empty."""
    from datetime import date, timedelta

    days = [date(2023, 12, 1) + timedelta(days=i) for i in range(ROWS)]  # across a year's end and 29 February
    rows = ["order_date,order_no,amount"]
    rows += [f"{'' if i == 7 else d.strftime('%Y%m%d')},{10_000_000 + i},{i % 9}.5" for i, d in enumerate(days)]
    body = expect(api.upload_csv(project, "orders", ("\n".join(rows) + "\n").encode()), 201)
    cols = _columns(body)
    # Still numbers (only a person can tell a date from a code), but said to be dates and so not an id.
    assert cols["order_date"]["type"] == "numeric" and cols["order_date"]["hints"] == ["date_like"]
    assert "date_like" not in cols["order_no"]["hints"] and "id_like" in cols["order_no"]["hints"]
    task = support.create_ml_task(api, support.create_analysis(api, project, body["id"])["id"], "amount")
    features = task["settings"]["features"]  # an input, not rejected as an id as the order numbers are
    assert features["order_date"]["role"] == "input" and features["order_no"]["role"] == "reject"
    back = expect(_patch(api, body["id"], "order_date", {"type": "date"}), 200)
    assert back["type"] == "date" and back["unparseable"] == 0  # the missing day is missing, not unparseable


def test_whole_numbers_that_are_not_all_dates_are_not_date_like(api: Any, project: str) -> None:
    """Sequential codes from 20240101 run past day 31 and month 12: not dates."""
    rows = ["code,y"] + [f"{20240101 + i},{i % 2}" for i in range(ROWS)]
    cols = _columns(expect(api.upload_csv(project, "codes", ("\n".join(rows) + "\n").encode()), 201))
    assert cols["code"]["type"] == "numeric" and "date_like" not in cols["code"]["hints"]
