"""Dates with month names, as spreadsheets in other languages save them (data.md "Reading a table"): an upload types
the column `date`, its statistics hint `date_like`, and Validate finds every value readable, as training reads it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.server.api.support import API, create_analysis, create_ml_task, expect
from tests.server.api.test_csv_sources import _upload

GERMAN = ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November"]
FRENCH = ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."]
ENGLISH = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _file(written: list[str], delimiter: str = ",") -> str:
    """A CSV with WRITTEN as column `when` (quoted, as Excel quotes a value with a comma), a number and a label."""
    rows = [f'"{written[i % len(written)]}"{delimiter}{i}{delimiter}{"ab"[i % 2]}' for i in range(40)]
    return delimiter.join(["when", "v", "label"]) + "\r\n" + "\r\n".join(rows) + "\r\n"


@pytest.mark.parametrize(
    ("written", "encoding", "delimiter"),
    [
        ([f"{d}. {m} 2024" for d, m in zip(range(1, 12), GERMAN, strict=True)], "cp1252", ";"),  # German Excel
        ([f"{d} {m} 2024" for d, m in zip(range(1, 13), FRENCH, strict=True)], "cp1252", ";"),  # French Excel
        ([f"{d:02d}-{m}-24" for d, m in zip(range(1, 13), ENGLISH, strict=True)], "utf-8", ","),  # Excel's d-mmm-yy
        ([f"{m} {d}, 2024" for d, m in zip(range(1, 13), ENGLISH, strict=True)], "utf-8", ","),  # US long date
        ([f"{d}/{d % 12 + 1}/24" for d in range(13, 25)], "utf-8", ","),  # two-digit years, day first
        ([f"2024年{m}月{m + 12}日" for m in range(1, 13)], "cp932", ","),  # Japanese Excel's long date, Shift-JIS
        ([f"2024년 {m}월 {m + 3}일" for m in range(1, 13)], "utf-8", ","),  # Korean
        ([f"2024. {m}. {m + 3}." for m in range(1, 13)], "cp949", ","),  # Korean Excel's short date
    ],
    ids=["german", "french", "d-mmm-yy", "us-long", "two-digit-years", "japanese", "korean", "korean-short"],
)
def test_dates_with_month_names_or_short_years_are_dates_training_can_read(
    api: Any, project: str, written: list[str], encoding: str, delimiter: str
) -> None:
    body = _upload(api, project, _file(written, delimiter).encode(encoding))
    when = next(c for c in body["columns"] if c["name"] == "when")
    assert when["type"] == "date" and "date_like" in when["hints"], when
    task = create_ml_task(api, create_analysis(api, project, body["id"])["id"], "label")
    features = {"when": {"role": "input", "type": "date"}, "v": {"role": "input", "type": "numeric"}}
    answer = expect(api.post(f"{API}/ml-tasks/{task['id']}/validate", json={"features": features}), 200)
    assert not [w for w in answer["warnings"] if w["field"] == "features.when"], answer["warnings"]


def test_a_column_of_words_with_numbers_is_not_taken_for_dates(api: Any, project: str) -> None:
    body = _upload(api, project, _file(["12 kg", "3 boxes of 12", "Total 2024", "size 7"]).encode())
    when = next(c for c in body["columns"] if c["name"] == "when")
    assert when["type"] == "categorical" and "date_like" not in when["hints"]


@pytest.mark.parametrize(
    "written",
    [
        [f"{7 + i % 12:02d}:{(i * 7) % 60:02d}" for i in range(40)],  # a shift log's start times
        [f"{i % 12 + 1}:{(i * 7) % 60:02d} {'AM' if i % 3 else 'PM'}" for i in range(40)],  # US Excel's h:mm AM/PM
    ],
    ids=["24-hour", "am-pm"],
)
def test_a_column_of_times_of_day_is_a_date_a_new_ml_task_keeps(api: Any, project: str, written: list[str]) -> None:
    """Before, a time of day was a category with a value every few rows, id_like: a new ML task rejected it."""
    body = _upload(api, project, _file(written).encode())
    when = next(c for c in body["columns"] if c["name"] == "when")
    assert when["type"] == "date" and "date_like" in when["hints"] and "id_like" not in when["hints"], when
    task = create_ml_task(api, create_analysis(api, project, body["id"])["id"], "label")
    assert task["settings"]["features"]["when"] == {**task["settings"]["features"]["when"], "role": "input"}
    features = {"when": {"role": "input", "type": "date"}, "v": {"role": "input", "type": "numeric"}}
    answer = expect(api.post(f"{API}/ml-tasks/{task['id']}/validate", json={"features": features}), 200)
    assert not [w for w in answer["warnings"] if w["field"] == "features.when"], answer["warnings"]
