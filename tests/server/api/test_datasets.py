"""Datasets through HTTP: multipart upload (CSV, Parquet), schema, preview, delete (api.md "Datasets")."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from tests.server.api import support
from tests.server.api.support import API, expect, expect_error, upload

DATASET_KEYS = {"id", "name", "kind", "n_rows", "columns", "created_at"}


def _column_types(body: dict[str, Any]) -> dict[str, str]:
    return {c["name"]: c["type"] for c in body["columns"]}


# --- upload --------------------------------------------------------------------------------------------------------


def test_upload_csv_returns_201_with_the_dataset_and_its_inferred_schema(
    api: Any, project: str, demo_csv: bytes
) -> None:
    body = expect(api.upload_csv(project, "breast_cancer", demo_csv), 201)
    assert DATASET_KEYS <= set(body)
    assert body["name"] == "breast_cancer"
    assert body["kind"] == "tabular"
    assert body["n_rows"] == demo_csv.count(b"\n") - 1 == 569
    header = demo_csv.split(b"\n", 1)[0].decode().split(",")
    assert [c["name"] for c in body["columns"]] == header
    types = _column_types(body)
    assert types["mean radius"] == "numeric"
    assert types["diagnosis"] == "categorical"
    assert set(types.values()) <= {"numeric", "categorical", "text", "image"}


def test_upload_csv_infers_numeric_categorical_and_text_columns(api: Any, project: str) -> None:
    body = expect(api.upload_csv(project, "typed", support.typed_csv()), 201)
    assert body["n_rows"] == 60
    assert _column_types(body) == {
        "num": "numeric",
        "cat": "categorical",
        "txt": "text",
        "bin": "categorical",
        "klass": "numeric",
        "score": "numeric",
    }


def test_upload_parquet_returns_201_with_schema_and_row_count(api: Any, project: str) -> None:
    payload = support.parquet_bytes({"a": [1.5, 2.5, 3.5], "b": ["x", "y", "x"], "c": [1, 2, 3]})
    body = expect(upload(api, project, "pq", payload, "table.parquet"), 201)
    assert body["kind"] == "tabular"
    assert body["n_rows"] == 3
    assert _column_types(body) == {"a": "numeric", "b": "categorical", "c": "numeric"}
    preview = expect(api.get(f"{API}/datasets/{body['id']}/preview"), 200)
    assert preview == {"columns": ["a", "b", "c"], "rows": [[1.5, "x", 1], [2.5, "y", 2], [3.5, "x", 3]]}


def test_upload_accepts_upper_case_extensions(api: Any, project: str) -> None:
    expect(upload(api, project, "upper", support.SMALL_CSV, "DATA.CSV"), 201)


def test_upload_with_a_name_already_used_in_the_project_is_409(api: Any, project: str) -> None:
    expect(upload(api, project, "same", support.SMALL_CSV, "a.csv"), 201)
    expect_error(upload(api, project, "same", support.SMALL_CSV, "b.csv"), 409, "dataset_exists")
    assert len(expect(api.get(f"{API}/projects/{project}/datasets"), 200)) == 1


def test_the_same_dataset_name_is_allowed_in_another_project(api: Any, project: str) -> None:
    support.create_project(api, "OTHER")
    expect(upload(api, project, "same", support.SMALL_CSV, "a.csv"), 201)
    expect(upload(api, "OTHER", "same", support.SMALL_CSV, "a.csv"), 201)


def test_upload_to_an_unknown_project_is_404(api: Any) -> None:
    expect_error(upload(api, "NOPE", "x", support.SMALL_CSV, "a.csv"), 404, "not_found")


# --- bad uploads ---------------------------------------------------------------------------------------------------


def test_empty_csv_is_422(api: Any, project: str) -> None:
    expect_error(upload(api, project, "empty", b"", "empty.csv"), 422, "empty_dataset")


def test_whitespace_only_csv_is_422(api: Any, project: str) -> None:
    expect_error(upload(api, project, "blank", b"\n\n  \n", "blank.csv"), 422)


def test_header_only_csv_is_422(api: Any, project: str) -> None:
    expect_error(upload(api, project, "header", b"a,b,c\n", "header.csv"), 422, "empty_dataset")


@pytest.mark.parametrize(
    "payload",
    [
        b"\x00\x01\x02\x03PK\x03\x04binary",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        b"PK\x03\x04\x14\x00\x00\x00\x08\x00",
    ],
    ids=["nul-bytes", "png", "zip-header"],
)
def test_binary_file_named_csv_is_415_or_422(api: Any, project: str, payload: bytes) -> None:
    r = upload(api, project, "binary", payload, "data.csv")
    assert r.status_code in (415, 422), r.text
    support.assert_error_shape(r)


def test_csv_that_is_not_utf8_is_read_as_windows_1252(api: Any, project: str) -> None:
    body = expect(upload(api, project, "latin1", "name,ville\nJosé,Besançon\n".encode("cp1252"), "l.csv"), 201)
    assert body["source"]["encoding"] == "cp1252"
    rows = expect(api.get(f"{API}/datasets/{body['id']}/preview"), 200)["rows"]
    assert rows == [["José", "Besançon"]]


@pytest.mark.parametrize(
    "payload",
    [b"a,b\n1,2,3\n", b'a,b\n"1,2\n'],
    ids=["ragged-row", "unclosed-quote"],  # blank and repeated names are named: test_csv_exports.py
)
def test_malformed_csv_is_422(api: Any, project: str, payload: bytes) -> None:
    expect_error(upload(api, project, "bad", payload, "bad.csv"), 422)


@pytest.mark.parametrize("filename", ["data.xml", "data.xlsx", "data", "data.csv.exe", ".csv.yaml", "data.rar"])
def test_unsupported_extension_is_415(api: Any, project: str, filename: str) -> None:
    expect_error(upload(api, project, "txt", support.SMALL_CSV, filename), 415, "unsupported_file")


@pytest.mark.parametrize("filename", ["Budget.numbers", "Budget.NUMBERS"])
def test_a_spreadsheet_not_read_is_415_saying_how_to_save_it(api: Any, project: str, filename: str) -> None:
    body = expect_error(upload(api, project, "sheet", support.SMALL_CSV, filename), 415, "unsupported_file")
    assert "spreadsheet" in body["detail"] and "File > Export To > Excel or CSV" in body["detail"]


def test_file_named_parquet_that_is_not_parquet_is_415_without_revealing_server_paths(api: Any, project: str) -> None:
    body = expect_error(upload(api, project, "fake", support.SMALL_CSV, "fake.parquet"), 415, "unsupported_file")
    assert str(api.settings.home) not in body["detail"]
    assert "/tmp" not in body["detail"]


def test_parquet_with_no_rows_is_422(api: Any, project: str) -> None:
    payload = support.parquet_bytes({"a": [], "b": []})
    expect_error(upload(api, project, "none", payload, "none.parquet"), 422, "empty_dataset")


def test_file_named_zip_that_is_not_a_zip_is_415_or_422(api: Any, project: str) -> None:
    r = upload(api, project, "fakezip", support.SMALL_CSV, "images.zip")
    assert r.status_code in (415, 422), r.text


def test_upload_without_name_is_422(api: Any, project: str) -> None:
    r = api.post(f"{API}/projects/{project}/datasets", files={"file": ("a.csv", io.BytesIO(support.SMALL_CSV))})
    body = expect_error(r, 422)
    assert any(e.get("field") == "name" for e in body["errors"])


def test_upload_without_file_is_422(api: Any, project: str) -> None:
    body = expect_error(api.post(f"{API}/projects/{project}/datasets", data={"name": "x"}), 422)
    assert any(e.get("field") == "file" for e in body["errors"])


def test_upload_as_json_instead_of_multipart_is_422(api: Any, project: str) -> None:
    expect_error(api.post(f"{API}/projects/{project}/datasets", json={"name": "x", "file": "a,b\n1,2\n"}), 422)


@pytest.mark.parametrize("name", ["   ", "tab\there", "x" * 201])
def test_upload_with_an_invalid_name_is_422(api: Any, project: str, name: str) -> None:
    expect_error(upload(api, project, name, support.SMALL_CSV, "a.csv"), 422)


def test_failed_uploads_leave_no_dataset_behind(api: Any, project: str) -> None:
    upload(api, project, "e", b"", "e.csv")
    upload(api, project, "h", b"a,b\n", "h.csv")
    upload(api, project, "t", b"a,b\n1,2\n", "t.json")
    assert expect(api.get(f"{API}/projects/{project}/datasets"), 200) == []
    folder = api.settings.data_root / "projects" / project
    assert not folder.exists() or not any(p.is_file() for p in folder.rglob("*"))


# --- list / get ----------------------------------------------------------------------------------------------------


def test_list_datasets_returns_the_projects_datasets(api: Any, project: str, dataset: dict[str, Any]) -> None:
    second = expect(upload(api, project, "small", support.SMALL_CSV, "s.csv"), 201)
    listed = expect(api.get(f"{API}/projects/{project}/datasets"), 200)
    assert [d["id"] for d in listed] == [dataset["id"], second["id"]]
    assert all(DATASET_KEYS <= set(d) for d in listed)


def test_list_datasets_of_an_empty_project_is_an_empty_list(api: Any, project: str) -> None:
    assert expect(api.get(f"{API}/projects/{project}/datasets"), 200) == []


def test_list_datasets_of_unknown_project_is_404(api: Any) -> None:
    expect_error(api.get(f"{API}/projects/NOPE/datasets"), 404, "not_found")


def test_get_dataset_returns_columns_with_inferred_types(api: Any, dataset: dict[str, Any]) -> None:
    body = expect(api.get(f"{API}/datasets/{dataset['id']}"), 200)
    assert DATASET_KEYS <= set(body)
    assert body["id"] == dataset["id"]
    assert body["columns"] == dataset["columns"]
    assert all(set(c) >= {"name", "type"} for c in body["columns"])


MALFORMED_OR_UNKNOWN_IDS = ["999999", "0", "-1", "abc", "1.5", "99999999999999999999", "1e3", "%20"]


@pytest.mark.parametrize("suffix", ["", "/preview"])
def test_get_unknown_or_non_integer_dataset_id_is_404(api: Any, project: str, suffix: str) -> None:
    expect(support.upload(api, project, "one", support.SMALL_CSV, "one.csv"), 201)
    for dataset_id in MALFORMED_OR_UNKNOWN_IDS:
        expect_error(api.get(f"{API}/datasets/{dataset_id}{suffix}"), 404, "not_found")


def test_delete_unknown_or_non_integer_dataset_id_is_404(api: Any) -> None:
    for dataset_id in MALFORMED_OR_UNKNOWN_IDS:
        expect_error(api.delete(f"{API}/datasets/{dataset_id}"), 404, "not_found")


def test_dataset_of_a_project_the_caller_is_not_in_is_404(api: Any, dataset: dict[str, Any]) -> None:
    outsider = api.user("mallory")
    for r in (
        api.get(f"{API}/datasets/{dataset['id']}", token=outsider),
        api.get(f"{API}/datasets/{dataset['id']}/preview", token=outsider),
        api.delete(f"{API}/datasets/{dataset['id']}", token=outsider),
    ):
        expect_error(r, 404, "not_found")


# --- preview -------------------------------------------------------------------------------------------------------


def test_preview_returns_the_first_50_rows_by_default(api: Any, dataset: dict[str, Any], demo_csv: bytes) -> None:
    body = expect(api.get(f"{API}/datasets/{dataset['id']}/preview"), 200)
    assert body["columns"] == [c["name"] for c in dataset["columns"]]
    assert len(body["rows"]) == 50
    first = next(csv.reader(io.StringIO(demo_csv.decode().split("\n", 2)[1])))
    assert body["rows"][0][0] == pytest.approx(float(first[0]))
    assert body["rows"][0][-1] == first[-1]


def test_preview_honours_limit(api: Any, dataset: dict[str, Any]) -> None:
    body = expect(api.get(f"{API}/datasets/{dataset['id']}/preview", params={"limit": 3}), 200)
    assert len(body["rows"]) == 3
    assert all(len(row) == len(body["columns"]) for row in body["rows"])
    one = expect(api.get(f"{API}/datasets/{dataset['id']}/preview", params={"limit": 1}), 200)
    assert one["rows"] == body["rows"][:1]


def test_preview_with_limit_above_the_row_count_returns_every_row(api: Any, project: str) -> None:
    ds = expect(upload(api, project, "small", support.SMALL_CSV, "s.csv"), 201)
    body = expect(api.get(f"{API}/datasets/{ds['id']}/preview", params={"limit": 1000}), 200)
    assert body == {
        "columns": ["x", "y", "label"],
        "rows": [[1, 2.5, "a"], [2, 3.5, "b"], [3, 4.5, "a"], [4, 5.5, "b"]],
    }


def test_preview_shows_missing_values_as_null(api: Any, project: str) -> None:
    ds = expect(upload(api, project, "gaps", b"a,b\n1,x\n,y\n3,\n", "g.csv"), 201)
    body = expect(api.get(f"{API}/datasets/{ds['id']}/preview"), 200)
    assert body["rows"] == [[1, "x"], [None, "y"], [3, None]]


def test_preview_with_out_of_range_limit_is_400_or_422(api: Any, dataset: dict[str, Any]) -> None:
    for limit in ("0", "-5", "10001", "99999999999999999999999"):
        r = api.get(f"{API}/datasets/{dataset['id']}/preview", params={"limit": limit})
        assert r.status_code in (400, 422), (limit, r.text)
        assert "limit" in r.json()["detail"]


def test_preview_with_non_integer_limit_is_400_or_422(api: Any, dataset: dict[str, Any]) -> None:
    for limit in ("abc", "1.5", ""):
        r = api.get(f"{API}/datasets/{dataset['id']}/preview", params={"limit": limit})
        assert r.status_code in (400, 422), (limit, r.text)


# --- delete --------------------------------------------------------------------------------------------------------


def test_delete_dataset_is_204_then_404_and_its_files_are_gone(api: Any, project: str) -> None:
    ds = expect(upload(api, project, "small", support.SMALL_CSV, "s.csv"), 201)
    files = list((api.settings.data_root / "projects" / project).rglob("*.parquet"))
    assert files
    r = api.delete(f"{API}/datasets/{ds['id']}")
    assert r.status_code == 204 and r.content == b""
    expect_error(api.get(f"{API}/datasets/{ds['id']}"), 404, "not_found")
    assert expect(api.get(f"{API}/projects/{project}/datasets"), 200) == []
    assert not any(f.exists() for f in files)


def test_delete_dataset_used_by_an_analysis_is_409_and_keeps_it(
    api: Any, analysis: dict[str, Any], dataset: dict[str, Any]
) -> None:
    body = expect_error(api.delete(f"{API}/datasets/{dataset['id']}"), 409, "dataset_in_use")
    assert analysis["id"] in body["detail"]
    expect(api.get(f"{API}/datasets/{dataset['id']}"), 200)
    expect(api.get(f"{API}/datasets/{dataset['id']}/preview", params={"limit": 1}), 200)


def test_delete_dataset_twice_is_404_the_second_time(api: Any, project: str) -> None:
    ds = expect(upload(api, project, "small", support.SMALL_CSV, "s.csv"), 201)
    assert api.delete(f"{API}/datasets/{ds['id']}").status_code == 204
    expect_error(api.delete(f"{API}/datasets/{ds['id']}"), 404, "not_found")


def test_a_deleted_datasets_name_can_be_reused(api: Any, project: str) -> None:
    ds = expect(upload(api, project, "small", support.SMALL_CSV, "s.csv"), 201)
    assert api.delete(f"{API}/datasets/{ds['id']}").status_code == 204
    expect(upload(api, project, "small", support.SMALL_CSV, "s.csv"), 201)
