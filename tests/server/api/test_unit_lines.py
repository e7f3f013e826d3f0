"""Lines right below the header that name units (data.md "Reading a table"): a spreadsheet's `;cm;kg` and a data
logger's units and processing lines are left out and said, so the number columns stay numbers; a record is never
taken for one, and `skip_rows_after_header` decides when given."""

from __future__ import annotations

from typing import Any

from tests.server.api.support import API, expect, expect_error
from tests.server.api.test_csv_sources import _post, _read_back, _upload

MEASURED = "name;height;weight;area\n;cm;kg;m2\nAnna;170;60,5;1,8\nBen;182;80;2\nCara;165;55,25;1,6\n"
# Campbell Scientific's TOA5, as its loggers write it: a line describing the logger, the names, the units, how each
# value was processed, then the records.
TOA5 = (
    '"TOA5","CR1000","CR1000","1234","CR1000.Std.32","CPU:weather.CR1","4321","Table10"\r\n'
    '"TIMESTAMP","RECORD","AirT_Avg","RH"\r\n'
    '"TS","RN","Deg C","%"\r\n'
    '"","","Avg","Smp"\r\n'
    '"2024-01-01 00:10:00",0,1.52,80.1\r\n'
    '"2024-01-01 00:20:00",1,1.25,82\r\n'
    '"2024-01-01 00:30:00",2,-0.5,85.7\r\n'
)


def _types(dataset: dict[str, Any]) -> dict[str, str]:
    return {c["name"]: c["type"] for c in dataset["columns"]}


def test_a_units_line_under_the_header_is_left_out_and_said(api: Any, project: str) -> None:
    sniffed = expect(_post(api, project, "datasets/sniff", MEASURED.encode(), {}, "m.csv"), 200)
    assert (
        sniffed["source"]["skip_rows_after_header"] == 1 and "skip_rows_after_header" in sniffed["source"]["detected"]
    )
    assert any("'cm, kg, m2'" in note for note in sniffed["source"]["ambiguous"])  # "m2" is a unit, not a number
    assert sniffed["rows"][0] == ["Anna", 170, 60.5, 1.8]
    dataset = _upload(api, project, MEASURED.encode())
    assert dataset["n_rows"] == 3 and _types(dataset) == {
        "name": "categorical",
        "height": "numeric",
        "weight": "numeric",
        "area": "numeric",
    }
    assert _read_back(api, dataset) == {
        "name": ["Anna", "Ben", "Cara"],
        "height": [170, 182, 165],
        "weight": [60.5, 80, 55.25],
        "area": [1.8, 2, 1.6],
    }


def test_a_loggers_own_line_and_its_units_and_processing_lines_are_left_out(api: Any, project: str) -> None:
    dataset = _upload(api, project, TOA5.encode())
    source = dataset["source"]
    assert (source["skip_rows"], source["skip_rows_after_header"], dataset["n_rows"]) == (1, 2, 3)
    assert any('\'"TOA5","CR1000"' in note for note in source["ambiguous"])
    assert [c["name"] for c in dataset["columns"]] == ["TIMESTAMP", "RECORD", "AirT_Avg", "RH"]
    types = _types(dataset)
    assert types["TIMESTAMP"] == "date" and types["RECORD"] == types["AirT_Avg"] == types["RH"] == "numeric"
    assert _read_back(api, dataset)["AirT_Avg"] == [1.52, 1.25, -0.5]


def test_given_zero_the_units_line_is_a_row(api: Any, project: str) -> None:
    dataset = _upload(api, project, MEASURED.encode(), skip_rows_after_header="0")
    assert dataset["n_rows"] == 4 and dataset["source"]["skip_rows_after_header"] == 0
    assert _types(dataset)["height"] == "categorical"  # "cm" is then a value of the column
    assert not any("skip_rows_after_header" in note for note in dataset["source"]["ambiguous"])


def test_records_are_never_taken_for_units(api: Any, project: str) -> None:
    # A first record with a missing number, one whose numbers are all unknown, and a table of numbers alone whose
    # first record has a number: each names its item (or holds a number), so each is a record.
    more = "".join(f"P{i},{20 + i},{i}.5\n" for i in range(4))  # records below the lines looked at
    for i, (text, rows) in enumerate(
        (
            ("name,age,score\nAnna,,\nBen,30,1.5\nCara,41,2\n" + more, 7),
            ("name,age,score\nAnna,?,?\nBen,30,1.5\nCara,41,2\n" + more, 7),
            ("x,y\n1,?\n2,3\n4,5\n6,7\n8,9\n", 5),
        )
    ):
        dataset = _upload(api, project, text.encode(), name=f"records{i}")
        assert dataset["n_rows"] == rows and dataset["source"]["skip_rows_after_header"] == 0, text


def test_a_bad_count_is_refused(api: Any, project: str) -> None:
    response = _post(
        api, project, "datasets", MEASURED.encode(), {"name": "m", "skip_rows_after_header": "two"}, "m.csv"
    )
    body = expect_error(response, 422, "bad_reading_option")
    assert body["errors"][0]["field"] == "skip_rows_after_header"
    assert expect(api.get(f"{API}/projects/{project}/datasets"), 200) == []  # nothing stored


def test_a_first_row_of_words_alone_over_numbers_is_taken_for_units_and_said(api: Any, project: str) -> None:
    """The limit docs/decisions.md names: nothing tells `?,?` from a line of units in a table of numbers alone."""
    dataset = _upload(api, project, b"x,y\n?,?\n2,3\n4,5\n6,7\n", name="unknowns")
    assert dataset["n_rows"] == 3 and dataset["source"]["skip_rows_after_header"] == 1
    assert any("'?, ?'" in note for note in dataset["source"]["ambiguous"])
    assert _upload(api, project, b"x,y\n?,?\n2,3\n4,5\n6,7\n", name="given", null_values="?")["n_rows"] == 4
