"""CSV exports with lines above the table — a report's title, a bank statement's account and period, a blank line
(data.md "Reading a table": detected, then overridable with `skip_rows`): the table is read from its header on,
and the lines left out are named in `source.ambiguous`; so are the rows of separators alone Excel writes below one."""

from __future__ import annotations

from typing import Any

import pytest

from tests.server.api.support import API, expect
from tests.server.api.test_csv_sources import _post, _read_back, _upload

ROWS = "".join(f"K{i};{i},50;0{i % 9 + 1}.03.2024\r\n" for i in range(30))
REPORT = "Umsatzbericht 2024\r\nErstellt am 01.03.2024\r\n\r\nKunde;Betrag;Datum\r\n" + ROWS
BANK = (
    '"Kontonummer:";"DE12 3456 7890"\r\n"Zeitraum:";"01.03.2024 - 31.03.2024"\r\n\r\n'
    '"Kunde";"Betrag";"Datum"\r\n' + ROWS
)
TITLE = "Sales report\r\nKunde;Betrag;Datum\r\n" + ROWS


@pytest.mark.parametrize(("text", "above"), [(REPORT, 3), (BANK, 3), (TITLE, 1)], ids=["report", "bank", "title"])
def test_lines_above_the_table_are_left_out_and_named(api: Any, project: str, text: str, above: int) -> None:
    body = _upload(api, project, text.encode("cp1252"))
    assert [c["name"] for c in body["columns"]] == ["Kunde", "Betrag", "Datum"] and body["n_rows"] == 30
    assert [c["type"] for c in body["columns"]] == ["categorical", "numeric", "date"]
    assert body["source"]["skip_rows"] == above and "skip_rows" in body["source"]["detected"]
    note = next(s for s in body["source"]["ambiguous"] if s.startswith("skip_rows:"))
    assert f"the {above} line(s) above the table were left out" in note and text.split("\r\n")[0] in note
    data = _read_back(api, body)
    assert data["Kunde"][:2] == ["K0", "K1"] and data["Betrag"][:2] == [0.5, 1.5]
    preview = expect(_post(api, project, "datasets/sniff", text.encode("cp1252"), {}, "c.csv"), 200)
    assert preview["source"]["skip_rows"] == above and preview["rows"][0][0] == "K0"


def test_skip_rows_given_is_used_instead(api: Any, project: str) -> None:
    body = _upload(api, project, REPORT.encode(), name="given", skip_rows="3")
    assert body["source"]["skip_rows"] == 3 and "skip_rows" not in body["source"]["detected"]
    assert [c["name"] for c in body["columns"]] == ["Kunde", "Betrag", "Datum"]
    as_given = _upload(api, project, REPORT.encode(), name="zero", skip_rows="0")  # the title is the header then
    assert [c["name"] for c in as_given["columns"]] == ["Umsatzbericht 2024"] and as_given["source"]["skip_rows"] == 0


@pytest.mark.parametrize("value", ["x", "-1", "1001"])
def test_a_bad_skip_rows_is_a_clear_422(api: Any, project: str, value: str) -> None:
    r = _post(api, project, "datasets", REPORT.encode(), {"name": "bad", "skip_rows": value}, "c.csv")
    assert r.status_code == 422 and r.json()["code"] == "bad_reading_option" and "skip_rows" in r.json()["detail"]


def test_a_header_with_a_cell_fewer_than_its_rows_is_not_taken_for_a_title(api: Any, project: str) -> None:
    r = api.post(
        f"{API}/projects/{project}/datasets",
        data={"name": "ragged"},
        files={"file": ("r.csv", b"a,b\n1,2,3\n4,5,6\n", "text/csv")},
    )
    assert r.status_code == 422  # as before: the header "a,b" is not dropped as a title


def test_rows_of_separators_alone_below_the_table_are_left_out_and_named(api: Any, project: str) -> None:
    """Excel writes `;;;` for rows below a table whose cells were once formatted: rows without data. One inside the
    table is a row of it (every value missing), kept."""
    rows = [f"K{i};{i},5;{'ab'[i % 2]}\r\n" for i in range(30)]
    text = "Name;Betrag;Klasse\r\n" + "".join(rows[:10]) + ";;\r\n" + "".join(rows[10:]) + ";;\r\n" * 7
    body = _upload(api, project, text.encode("cp1252"), name="formatted")
    assert body["n_rows"] == 31 and all(c["stats"]["missing"] == 1 for c in body["columns"])  # the 11th is kept
    assert any(note.startswith("7 row(s) without any value at the end") for note in body["source"]["ambiguous"])
    assert _read_back(api, body)["Name"] == [f"K{i}" for i in range(10)] + [None] + [f"K{i}" for i in range(10, 30)]
    kept = _upload(api, project, b"a;b\r\n1;\r\n;2\r\n", name="half-empty")  # a row with one value is data
    assert kept["n_rows"] == 2 and not any("without any value" in n for n in kept["source"]["ambiguous"])
    r = _post(api, project, "datasets", b"a;b\r\n;\r\n;\r\n", {"name": "nothing"}, "nothing.csv")
    assert expect(r, 422)["code"] == "empty_dataset"


def test_a_totals_row_below_the_table_is_left_out_and_named(api: Any, project: str) -> None:
    """A report's `Summe` row holds the sums of the columns above: trained on, an outlier the size of the table."""
    rows = [f"K{i};{i},50;{i}\r\n" for i in range(1, 31)]  # Betrag sums to 480,00, Stück to 465
    body = _upload(api, project, ("Kunde;Betrag;Stück\r\n" + "".join(rows) + "Summe;480,00;465\r\n").encode(), name="s")
    assert body["n_rows"] == 30 and next(c for c in body["columns"] if c["name"] == "Betrag")["stats"]["max"] == 30.5
    assert any("'Summe'" in note for note in body["source"]["ambiguous"])
    record = _upload(api, project, ("Kunde;Betrag;Stück\r\n" + "".join(rows) + "Summe;12,50;3\r\n").encode(), name="r")
    assert record["n_rows"] == 31  # a customer named "Summe": kept


def test_the_preview_of_a_whole_file_says_what_its_end_loses(api: Any, project: str) -> None:
    """The preview read the head alone, so it could not name a totals row or the separators below a table; a file
    smaller than the head is the whole file, and its end is read as the upload reads it."""
    rows = "".join(f"K{i};{i},50;{i}\r\n" for i in range(1, 31))
    text = ("Kunde;Betrag;Stück\r\n" + rows + "Summe;480,00;465\r\n" + ";;\r\n" * 4).encode()
    preview = expect(_post(api, project, "datasets/sniff", text, {}, "s.csv"), 200)
    notes = preview["source"]["ambiguous"]
    assert any("'Summe'" in n for n in notes) and any(n.startswith("4 row(s) without any value") for n in notes)
    uploaded = _upload(api, project, text, name="s-whole")
    assert sorted(uploaded["source"]["ambiguous"]) == sorted(notes)
    cut = text + b"".join(f"K{i};1,00;1\r\n".encode() for i in range(400_000))  # the head of a larger file
    preview = expect(_post(api, project, "datasets/sniff", cut, {}, "big.csv"), 200)
    assert not any("'Summe'" in n for n in preview["source"]["ambiguous"])  # not its end: nothing said
