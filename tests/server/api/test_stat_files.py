"""Data files of statistics packages (server/services/stat_files.py), written here by pyreadstat as SPSS, Stata and
SAS write them: value labels read as the category's name, dates as dates, SPSS's user-missing codes missing, a scale
column's labelled codes left numbers; a damaged file a clear 422. They were a 415."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyreadstat
import pytest

from tests.server.api.support import expect, expect_error
from tests.server.api.test_csv_sources import _post, _read_back

SURVEY = pd.DataFrame(
    {
        "id": [101.0, 102.0, 103.0, 104.0],
        "sex": [1.0, 2.0, 2.0, None],
        "age": [34.0, 51.0, 999.0, 27.0],  # 999: "no answer", a user-missing code in SPSS
        "income": [2500.5, 3100.0, None, 1800.25],
        "born": [datetime.date(1990, 1, 2), datetime.date(1973, 5, 6), None, datetime.date(1997, 11, 30)],
        "city": ["Köln", "Zürich", "", "Graz"],
    }
)
SEX = {1.0: "männlich", 2.0: "weiblich"}


def _written(tmp_path: Path, suffix: str) -> bytes:
    path = tmp_path / f"survey{suffix}"
    if suffix == ".sav":
        pyreadstat.write_sav(
            SURVEY,
            str(path),
            variable_value_labels={"sex": SEX, "age": {999.0: "keine Angabe"}},
            missing_ranges={"age": [999.0]},
            variable_measure={"sex": "nominal", "age": "scale", "income": "scale"},
        )
    elif suffix == ".dta":
        pyreadstat.write_dta(
            SURVEY.fillna({"city": ""}), str(path), variable_value_labels={"sex": {1: "male", 2: "female"}}
        )
    else:
        pyreadstat.write_xport(SURVEY, str(path))
    return path.read_bytes()


def _stored(api: Any, project: str, payload: bytes, filename: str) -> tuple[dict[str, str], dict[str, list[Any]]]:
    body = expect(_post(api, project, "datasets", payload, {"name": filename}, filename), 201)
    return {c["name"]: c["type"] for c in body["columns"]}, _read_back(api, body)


def test_an_spss_survey_reads_with_its_labels_dates_and_missing_codes(api: Any, project: str, tmp_path: Path) -> None:
    types, data = _stored(api, project, _written(tmp_path, ".sav"), "survey.sav")
    assert data["sex"] == ["männlich", "weiblich", "weiblich", None] and types["sex"] == "categorical"
    assert data["age"] == [34, 51, None, 27] and types["age"] == "numeric"  # a scale: 999 is missing, not a label
    assert data["born"] == ["1990-01-02", "1973-05-06", None, "1997-11-30"] and types["born"] == "date"
    assert data["income"] == [2500.5, 3100.0, None, 1800.25] and data["city"][:2] == ["Köln", "Zürich"]


@pytest.mark.parametrize(("suffix", "sex"), [(".dta", ["male", "female", "female", None]), (".xpt", [1, 2, 2, None])])
def test_stata_and_sas_files_read_too(api: Any, project: str, tmp_path: Path, suffix: str, sex: list[Any]) -> None:
    types, data = _stored(api, project, _written(tmp_path, suffix), f"survey{suffix}")
    assert data["sex"] == sex and data["born"][0] == "1990-01-02" and types["born"] == "date"
    assert data["income"][0] == 2500.5 and data["id"] == [101, 102, 103, 104]


def test_a_damaged_statistics_file_is_a_clear_422(api: Any, project: str, tmp_path: Path) -> None:
    whole = _written(tmp_path, ".sav")
    body = expect_error(_post(api, project, "datasets", b"not SPSS", {"name": "x"}, "x.sav"), 422, "bad_file")
    assert "The .sav file could not be read" in body["detail"] and str(api.settings.home) not in body["detail"]
    expect_error(_post(api, project, "datasets", whole[: len(whole) // 2], {"name": "cut"}, "cut.sav"), 422, "bad_file")


def test_a_file_that_crashes_readstat_is_a_422_and_the_api_goes_on(api: Any, project: str, tmp_path: Path) -> None:
    # an SPSS file with a few bytes changed at random, on which ReadStat reads out of bounds (a segmentation fault):
    # it is read in a parse process, whose death by that signal says the file is damaged
    crashes = (Path(__file__).parent / "data" / "crashes.sav").read_bytes()
    body = expect_error(_post(api, project, "datasets", crashes, {"name": "c"}, "crashes.sav"), 422, "damaged_file")
    assert "SIGSEGV" in body["detail"]
    types, data = _stored(api, project, _written(tmp_path, ".sav"), "after.sav")
    assert data["id"] == [101, 102, 103, 104]
