"""Files saved by spreadsheets on Windows in other languages' code pages (data.md "Reading a table": detected, then
overridable): the upload and the preview read names and values as written, and say which code page they used."""

from __future__ import annotations

from typing import Any

import pytest

from tests.encoded_files import WORDS, csv_text
from tests.server.api.support import expect
from tests.server.api.test_csv_sources import _post, _read_back, _upload

LANGUAGES = ["ru", "pl", "cs", "el", "tr", "ja", "zh", "ko", "de", "fr"]
SCRIPTS = {"ru": "Cyrillic", "pl": "Central European", "cs": "Central European", "el": "Greek", "tr": "Turkish"}
SCRIPTS |= {"ja": "Japanese", "zh": "Chinese, simplified", "ko": "Korean", "de": "Western European"}
SCRIPTS |= {"fr": "Western European"}


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_file_in_its_code_page_reads_as_written(api: Any, project: str, language: str) -> None:
    code_page, header, people = WORDS[language]
    raw = csv_text(language, 30).encode(code_page)
    body = _upload(api, project, raw, name=f"customers-{language}")
    assert body["source"]["encoding"] == code_page
    assert [c["name"] for c in body["columns"]] == header
    assert f"read as {code_page} ({SCRIPTS[language]})" in " ".join(body["source"]["ambiguous"])
    stored = _read_back(api, body)
    assert [stored[header[0]][i] for i in range(3)] == [p[0] for p in people]
    assert [stored[header[2]][i] for i in range(3)] == [p[2] for p in people]
    preview = expect(_post(api, project, "datasets/sniff", raw, {}, "c.csv"), 200)
    assert preview["source"]["encoding"] == code_page and preview["rows"][0][0] == people[0][0]


def test_the_encoding_given_is_used_instead(api: Any, project: str) -> None:
    raw = csv_text("ru", 30).encode("cp1251")
    body = _upload(api, project, raw, name="as-cp1252", encoding="cp1252")
    assert body["source"]["encoding"] == "cp1252" and "encoding" not in body["source"]["detected"]
    assert [c["name"] for c in body["columns"]][0] == "êëèåíò"  # what the person asked for, letters and all


def test_a_mac_roman_file_reads_right_found_or_given(api: Any, project: str) -> None:
    """Excel for Mac's "CSV (Macintosh)": Mac Roman, lines ending in CR alone."""
    raw = "name;city\rZoë;Besançon\rJosé;Orléans\r".encode("mac_roman")
    found = _upload(api, project, raw, name="mac-found")
    assert found["source"]["encoding"] == "mac-roman" and "(Western European, Mac)" in found["source"]["ambiguous"][0]
    assert _read_back(api, found) == {"name": ["Zoë", "José"], "city": ["Besançon", "Orléans"]}
    body = _upload(api, project, raw, name="mac-given", encoding="mac-roman")
    assert _read_back(api, body) == {"name": ["Zoë", "José"], "city": ["Besançon", "Orléans"]}


def test_an_excel_ms_dos_csv_reads_right(api: Any, project: str) -> None:
    """Excel's "CSV (MS-DOS)" (and DOS-era systems' exports): CP850, lines ended in CR LF."""
    raw = "Kunde,Straße,Ort\r\nMüller,Hauptstraße 5,München\r\nBöhm,Gänseweg 3,Düsseldorf\r\n".encode("cp850")
    found = _upload(api, project, raw, name="dos-found")
    assert found["source"]["encoding"] == "cp850" and "(Western European, DOS)" in found["source"]["ambiguous"][0]
    assert _read_back(api, found) == {
        "Kunde": ["Müller", "Böhm"],
        "Straße": ["Hauptstraße 5", "Gänseweg 3"],
        "Ort": ["München", "Düsseldorf"],
    }
