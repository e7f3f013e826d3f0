"""Bad bytes from a client: control characters in paths and queries, Parquet columns of types we cannot hold."""

from __future__ import annotations

import io
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.server.api.support import API, expect, expect_error, upload


def _parquet(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def _image_dataset(api: Any, project: str) -> dict[str, Any]:
    from tests.security.support import png_bytes, zip_bytes

    archive = zip_bytes({"cat/a.png": png_bytes(), "dog/b.png": png_bytes()})
    return expect(upload(api, project, "pics", archive, "pics.zip"), 201)


def _log_in(api: Any) -> None:
    r = api.client.get(f"/login?token={api.token}", follow_redirects=False)
    assert r.status_code in (302, 303), r.text


@pytest.mark.parametrize("segment", ["%00", "a%00.png", "cat/%00b.png", "%0a", "cat%0d%0aX: 1", "%1f", "%7f"])
def test_control_characters_in_a_thumbnail_path_are_404_json(api: Any, project: str, segment: str) -> None:
    ds = _image_dataset(api, project)
    _log_in(api)
    assert api.client.get(f"/datasets/{ds['id']}/thumbnails/cat/a.png").status_code == 200
    r = api.client.get(f"/datasets/{ds['id']}/thumbnails/{segment}")
    expect_error(r, 404, "not_found")


@pytest.mark.parametrize(
    "path",
    [
        f"{API}/datasets/%00",
        f"{API}/projects/DEMO%00",
        f"{API}/saved-models/1/versions/v1%00/location",
        f"{API}/trained-models/%01abc",
        f"{API}/projects/DEMO/datasets%0a",
        "/projects/%00",
    ],
)
def test_control_characters_in_any_path_segment_are_404_json(api: Any, project: str, path: str) -> None:
    for method in ("GET", "POST", "DELETE"):
        r = api.client.request(method, path, headers=api.headers())
        expect_error(r, 404, "not_found")


def test_a_nul_in_the_query_string_is_400_json(api: Any, project: str) -> None:
    r = api.get(f"{API}/saved-models/1/download?version=v1%00")
    expect_error(r, 400, "bad_request")
    r = api.get(f"{API}/projects/{project}/datasets?x=%00")
    expect_error(r, 400, "bad_request")


UNSUPPORTED = {
    "binary": pa.array([b"\x00\x01", b"\xff"] * 5, pa.binary()),
    "large_binary": pa.array([b"ab", b"cd"] * 5, pa.large_binary()),
    "fixed_binary": pa.array([b"ab", b"cd"] * 5, pa.binary(2)),
    "struct": pa.array([{"a": 1, "b": "x"}, {"a": 2, "b": "y"}] * 5),
    "list": pa.array([[1, 2], [3]] * 5),
    "map": pa.array([[("k", 1)], [("j", 2)]] * 5, pa.map_(pa.string(), pa.int64())),
}


@pytest.mark.parametrize("kind", sorted(UNSUPPORTED))
def test_a_parquet_column_of_an_unsupported_type_is_422_naming_it(api: Any, project: str, kind: str) -> None:
    table = pa.table({"x": pa.array(range(10)), f"odd_{kind}": UNSUPPORTED[kind], "label": ["a", "b"] * 5})
    r = upload(api, project, f"pq-{kind}", _parquet(table), "t.parquet")
    body = expect_error(r, 422, "unsupported_column")
    assert f"odd_{kind}" in body["detail"]
    assert body["errors"][0]["field"] == f"odd_{kind}"
    names = [d["name"] for d in expect(api.get(f"{API}/projects/{project}/datasets"), 200)]
    assert f"pq-{kind}" not in names


def test_a_parquet_with_dates_decimals_and_categories_is_accepted(api: Any, project: str) -> None:
    import datetime
    import decimal

    table = pa.table(
        {
            "when": pa.array([datetime.date(2024, 1, i + 1) for i in range(10)]),
            "price": pa.array([decimal.Decimal(f"{i}.50") for i in range(10)], pa.decimal128(6, 2)),
            "color": pa.array(["red", "blue"] * 5).dictionary_encode(),
            "label": ["a", "b"] * 5,
        }
    )
    ds = expect(upload(api, project, "pq-ok", _parquet(table), "ok.parquet"), 201)
    assert ds["n_rows"] == 10


def test_a_struct_column_as_target_is_422_not_500(api: Any, project: str) -> None:
    """A dataset stored before uploads were checked may hold a struct column: choosing it as target is a 422."""
    from server.db import session_scope
    from server.models import Dataset
    from server.services import datasets

    ds = expect(upload(api, project, "plain", b"x,label\n1,a\n2,b\n3,a\n4,b\n", "plain.csv"), 201)
    with session_scope() as db:
        row = db.get(Dataset, ds["id"])
        assert row is not None
        path = datasets.parquet_path(api.settings, row)
        table = pq.read_table(path)
        table = table.append_column("nested", pa.array([{"a": i} for i in range(table.num_rows)]))
        pq.write_table(table, path)
        row.columns = [*row.columns, {"name": "nested", "type": "categorical"}]
    an = expect(api.post(f"{API}/projects/{project}/analyses", json={"dataset_id": ds["id"], "name": "n"}), 201)
    r = api.post(f"{API}/analyses/{an['id']}/ml-tasks", json={"target": "nested"})
    body = expect_error(r, 422, "bad_target")
    assert "nested" in body["detail"]
    r = api.post(f"{API}/analyses/{an['id']}/ml-tasks", json={"target": "nested", "prediction_type": "multiclass"})
    expect_error(r, 422, "bad_target")
