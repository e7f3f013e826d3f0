"""Rows with fewer values than the header: some programs and people leave a row's empty cells at its end out
(`Ben,45` under `name,age,score,comment`). The upload was a 422 parse error; the row is now read as pandas reads it,
the missing cells missing values, and `source.ambiguous` says how many rows and where the first is."""

from __future__ import annotations

from typing import Any

from tests.server.api.support import expect, expect_error
from tests.server.api.test_csv_sources import _post, _read_back, _upload

SHORT = "name,age,score,comment\r\nAnna,31,2.5,first\r\nBen,45\r\nCara,29,1.5\r\n\r\nDan,52,4.5,last\r\n"
SENTENCE = "2 row(s) had fewer values than the header (the first on line 3)"


def test_short_rows_are_read_with_missing_values_and_said(api: Any, project: str) -> None:
    body = _upload(api, project, SHORT.encode(), name="short")
    assert body["n_rows"] == 4 and [c["type"] for c in body["columns"]] == [
        "categorical",
        "numeric",
        "numeric",
        "categorical",
    ]
    assert any(s.startswith(SENTENCE) for s in body["source"]["ambiguous"])
    data = _read_back(api, body)
    assert data["name"] == ["Anna", "Ben", "Cara", "Dan"] and data["age"] == [31, 45, 29, 52]
    assert data["score"] == [2.5, None, 1.5, 4.5] and data["comment"] == ["first", None, None, "last"]
    preview = expect(_post(api, project, "datasets/sniff", SHORT.encode(), {}, "short.csv"), 200)
    assert preview["rows"][1] == ["Ben", 45, None, None]
    assert any(s.startswith(SENTENCE) for s in preview["source"]["ambiguous"])


def test_a_row_with_more_values_than_the_header_is_still_refused(api: Any, project: str) -> None:
    r = _post(api, project, "datasets", b"a,b\n1,2\n3,4,5\n", {"name": "long"}, "long.csv")
    assert "Expected 2 columns, got 3" in expect_error(r, 422, "bad_csv")["detail"]


def test_a_file_without_short_rows_says_nothing_of_them(api: Any, project: str) -> None:
    body = _upload(api, project, b"a,b\n1,2\n3,4\n", name="plain")
    assert not any("fewer values" in s for s in body["source"]["ambiguous"])
