"""CSVs whose values follow the delimiter and a space (`39, State-gov, 77516`): UCI's Adult data, files typed by
hand, some programs' exports. The parser kept the space in every text value and name (` State-gov`, ` income`), so
`…/predict` with `"Private"` met an unknown category; they are now left out, detected and overridable
(`skip_initial_space`), as the other reading options are (data.md "Reading a table")."""

from __future__ import annotations

from typing import Any

import pytest

from tests.server.api.support import API, expect
from tests.server.api.test_csv_sources import _post, _read_back, _upload

HEADER = "age, workclass, fnlwgt, education, hours-per-week, native-country, income\n"
ROWS = [
    "39, State-gov, 77516, Bachelors, 40, United-States, <=50K",
    "50, Self-emp-not-inc, 83311, Bachelors, 13, United-States, <=50K",
    "38, Private, 215646, HS-grad, 40, United-States, <=50K",
    "53, Private, 234721, 11th, 40, United-States, <=50K",
    "28, Private, 338409, Bachelors, 40, Cuba, <=50K",
    "42, ?, 159449, Bachelors, 40, ?, >50K",
    "31, Private, 45781, Masters, 50, United-States, >50K",
    "44, Private, 160323, Some-college, 40, United-States, >50K",
]
ADULT = HEADER + "\n".join(ROWS) + "\n"
NOTE = "skip_initial_space: every value follows its delimiter and a space"


def test_the_spaces_after_the_delimiter_are_left_out_and_said(api: Any, project: str) -> None:
    body = _upload(api, project, ADULT.encode(), name="adult")
    names = ["age", "workclass", "fnlwgt", "education", "hours-per-week", "native-country", "income"]
    assert [c["name"] for c in body["columns"]] == names
    types = {c["name"]: c["type"] for c in body["columns"]}
    assert types["age"] == types["fnlwgt"] == "numeric" and types["workclass"] == types["income"] == "categorical"
    source = body["source"]
    assert source["skip_initial_space"] is True and "skip_initial_space" in source["detected"]
    assert any(s.startswith(NOTE) for s in source["ambiguous"])
    assert not any(s.startswith("header: spaces") for s in source["ambiguous"])  # one sentence says it
    data = _read_back(api, body)
    assert data["workclass"] == [
        "State-gov",
        "Self-emp-not-inc",
        "Private",
        "Private",
        "Private",
        "?",
        "Private",
        "Private",
    ]
    assert data["income"][-3:] == [">50K", ">50K", ">50K"] and data["age"][:2] == [39, 50]
    preview = expect(_post(api, project, "datasets/sniff", ADULT.encode(), {}, "adult.csv"), 200)
    assert preview["source"]["skip_initial_space"] is True and preview["rows"][0][:2] == [39, "State-gov"]


def test_a_null_marker_after_the_space_is_a_missing_value(api: Any, project: str) -> None:
    body = _upload(api, project, ADULT.encode(), name="adult-nulls", null_values="?,NA")
    data = _read_back(api, body)
    assert data["workclass"][5] is None and data["native-country"][5] is None and data["workclass"][4] == "Private"
    headerless = _upload(api, project, "\n".join(ROWS).encode(), name="adult-data", null_values="?")
    assert headerless["source"]["header"] is False and headerless["source"]["skip_initial_space"] is True
    plain = _read_back(api, headerless)
    assert plain["column_2"][:3] == ["State-gov", "Self-emp-not-inc", "Private"] and plain["column_2"][5] is None


def test_a_number_column_stays_numbers_with_markers_and_blanks_after_many_spaces(api: Any, project: str) -> None:
    # columns aligned by hand: "   NA" and a cell of spaces only made `price` text (the parser matched " NA" only)
    text = "id, price, name\n1,   12.5, a\n2,      NA, b\n3, 7, c\n4,     , d\n" + "5," + " " * 32 + "-, e\n"
    body = _upload(api, project, text.encode(), name="aligned")
    assert {c["name"]: c["type"] for c in body["columns"]}["price"] == "numeric"
    assert _read_back(api, body)["price"] == [12.5, None, 7.0, None, None]


def test_given_false_keeps_the_spaces_as_written(api: Any, project: str) -> None:
    body = _upload(api, project, ADULT.encode(), name="as-written", skip_initial_space="false")
    assert body["source"]["skip_initial_space"] is False and "skip_initial_space" not in body["source"]["detected"]
    assert not any(s.startswith(NOTE) for s in body["source"]["ambiguous"])
    assert _read_back(api, body)["workclass"][0] == " State-gov"


def test_values_quoted_after_the_space_are_read_whole(api: Any, project: str) -> None:
    text = 'name, address, visits\n"Smith, John", "12 Main St, Springfield", 3\nAnna, "Rue de l\'Eglise, 4", 5\n'
    text += 'Ben, "He said ""hi""", 7\n'
    body = _upload(api, project, text.encode(), name="quoted")
    assert [c["name"] for c in body["columns"]] == ["name", "address", "visits"] and body["n_rows"] == 3
    data = _read_back(api, body)
    assert data["name"] == ["Smith, John", "Anna", "Ben"] and data["visits"] == [3, 5, 7]
    assert data["address"] == ["12 Main St, Springfield", "Rue de l'Eglise, 4", 'He said "hi"']
    preview = expect(_post(api, project, "datasets/sniff", text.encode(), {}, "q.csv"), 200)
    assert preview["rows"][0] == ["Smith, John", "12 Main St, Springfield", 3]


def test_a_file_with_some_values_after_a_space_keeps_them(api: Any, project: str) -> None:
    body = _upload(api, project, b"id,label\n1, x\n2,y\n3, z\n", name="some")
    assert body["source"]["skip_initial_space"] is False and "skip_initial_space" in body["source"]["detected"]
    assert _read_back(api, body)["label"] == [" x", "y", " z"]


def test_spaces_around_header_names_are_left_out_and_said(api: Any, project: str) -> None:
    body = _upload(api, project, "Name\u00a0;  Betrag ;Datum\nAnna;1;2024-01-02\nBen;2;2024-01-03\n".encode())
    assert [c["name"] for c in body["columns"]] == ["Name", "Betrag", "Datum"]
    note = next(s for s in body["source"]["ambiguous"] if s.startswith("header: spaces or line breaks in 2 name(s)"))
    assert "'Name\\xa0' → Name" in note and "'  Betrag ' → Betrag" in note
    assert body["source"]["skip_initial_space"] is False


def test_names_that_are_one_name_once_trimmed_are_told_apart(api: Any, project: str) -> None:
    body = _upload(api, project, b"a,a ,b\n1,2,3\n", name="twice")
    assert [c["name"] for c in body["columns"]] == ["a", "a_2", "b"]
    assert any("'a' → a_2" in s for s in body["source"]["ambiguous"])


@pytest.mark.parametrize("value", ["maybe", "2"])
def test_a_bad_skip_initial_space_is_a_clear_422(api: Any, project: str, value: str) -> None:
    r = _post(api, project, "datasets", ADULT.encode(), {"name": "bad", "skip_initial_space": value}, "c.csv")
    assert r.status_code == 422 and r.json()["code"] == "bad_reading_option"
    assert "skip_initial_space" in r.json()["detail"]


def test_a_wrapped_title_is_one_line_and_a_name_with_a_slash_can_be_retyped(api: Any, project: str) -> None:
    # Excel's wrapped header cells ("Total<Alt+Enter>Revenue") and names such as "Umsatz/Monat" or "km/h"
    text = '"Total\r\nRevenue";"Umsatz/Monat";km/h\r\n1;2;3\r\n4;5;6\r\n'
    body = _upload(api, project, text.encode(), name="wrapped")
    assert [c["name"] for c in body["columns"]] == ["Total Revenue", "Umsatz/Monat", "km/h"]
    assert any("'Total\\r\\nRevenue' → Total Revenue" in s for s in body["source"]["ambiguous"])
    for name, url_name in (("Umsatz/Monat", "Umsatz/Monat"), ("km/h", "km%2Fh"), ("Total Revenue", "Total%20Revenue")):
        r = api.client.patch(
            f"{API}/datasets/{body['id']}/columns/{url_name}", headers=api.headers(), json={"type": "categorical"}
        )
        assert expect(r, 200)["name"] == name
