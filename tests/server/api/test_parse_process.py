"""An upload parsed in a parse process (the default) answers as one parsed in the API's: errors keep their code."""

from __future__ import annotations

from typing import Any

from tests.server.api.support import API, expect, expect_error, upload


def test_a_parse_error_comes_back_with_its_status_and_code_and_stores_nothing(api: Any, project: str) -> None:
    assert api.settings.upload_parse_process
    body = expect_error(upload(api, project, "x", b"a,b\n", "c.csv"), 422)  # a header and no row
    assert body["code"] and "row" in body["detail"].lower()
    assert expect(api.get(f"{API}/projects/{project}/datasets"), 200) == []
    stored = expect(upload(api, project, "ok", b"a,b\n1,2\n3,4\n", "c.csv"), 201)
    assert stored["n_rows"] == 2 and [c["name"] for c in stored["columns"]] == ["a", "b"]
