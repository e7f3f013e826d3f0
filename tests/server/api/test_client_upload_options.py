"""The Python client gives a CSV's reading options to the upload (data.md: every option can be given), so a file
detection misreads can be read as its writer meant from a script too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fitstudio.client import Client


def test_reading_options_are_sent_as_the_uploads_fields(api: Any, project: str, tmp_path: Path) -> None:
    client = Client("http://testserver", api.token, transport=api.client._transport)
    path = tmp_path / "prices.csv"
    path.write_text("id;price;note\n1;2.500;?\n2;1.250;ok\n", encoding="utf-8")
    detected = client.get_project(project).upload_dataset("detected", path)
    assert detected["source"]["thousands"] == "."  # 2.500 read as two thousand five hundred
    given = client.get_project(project).upload_dataset(
        "given", path, thousands=None, decimal=".", null_values=["?"], header=True, skip_initial_space=False
    )
    source = given["source"]
    assert (source["thousands"], source["decimal"], source["null_values"]) == (None, ".", ["", "?"])
    assert not {"thousands", "decimal", "header", "skip_initial_space"} & set(source["detected"])
    rows = client.json("GET", f"/datasets/{given['id']}/preview")["rows"]
    assert rows == [[1, 2.5, None], [2, 1.25, "ok"]]


def test_an_unknown_option_is_refused_before_anything_is_sent(api: Any, project: str, tmp_path: Path) -> None:
    client = Client("http://testserver", api.token, transport=api.client._transport)
    with pytest.raises(TypeError, match="unknown reading option.*separator.*the options are delimiter"):
        client.get_project(project).upload_dataset("x", tmp_path / "none.csv", separator=";")


def test_a_file_is_previewed_as_it_would_be_read_and_nothing_is_stored(api: Any, project: str, tmp_path: Path) -> None:
    from tests.server.api.test_other_workbooks import _ods
    from tests.server.api.test_spreadsheets import _xlsx

    client = Client("http://testserver", api.token, transport=api.client._transport)
    target = client.get_project(project)
    before = len(target.list_datasets())
    path = tmp_path / "prices.csv"
    path.write_text("id;price;note\n1;2.500;?\n2;1.250;ok\n" + "3;4,5;x\n" * 300_000, encoding="utf-8")  # > 4 MiB
    preview = target.preview_dataset(path, null_values=["?"])
    assert preview["source"]["delimiter"] == ";" and preview["source"]["decimal"] == ","  # 4,5 below: 2.500 is 2500
    assert preview["rows"][0] == [1, 2500, None]
    assert "null_values" not in preview["source"]["detected"]
    workbook = tmp_path / "Kunden.xlsx"
    workbook.write_bytes(_xlsx({"Notizen": [["a", "b"], [1, 2]], "Kunden": [["id", "name"], [1, "Anna"]]}))
    sheet = target.preview_dataset(workbook, sheet="Kunden")
    assert sheet["source"]["sheets"] == ["Notizen", "Kunden"] and sheet["rows"] == [[1, "Anna"]]
    assert len(target.list_datasets()) == before
    spreadsheet = tmp_path / "Kunden.ods"  # LibreOffice's, uploaded as any file
    spreadsheet.write_bytes(_ods({"Kunden": [["id", "name"], [1, "Anna"], [2, "Ben"]]}))
    assert target.upload_dataset("kunden", spreadsheet, sheet="Kunden")["n_rows"] == 2
