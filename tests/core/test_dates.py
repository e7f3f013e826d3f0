"""core/dates.py: dates as spreadsheets in other languages write them — recognised (Python's re and pyarrow's RE2
alike) and read to the right day; values that are not dates stay apart."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from core import dates

WRITTEN = [  # (as written, day first?, the day it is)
    ("01-Mar-2024", True, "2024-03-01"),  # Excel's d-mmm-yyyy
    ("7-Mar-24", True, "2024-03-07"),  # Excel's d-mmm-yy
    ("March 9, 2024", False, "2024-03-09"),  # Excel's US long date
    ("Friday, March 1, 2024", False, "2024-03-01"),  # with its weekday
    ("Mar 12th, 2024", False, "2024-03-12"),
    ("1. März 2024", True, "2024-03-01"),  # German
    ("3. Mrz. 2024", True, "2024-03-03"),  # Excel's German MMM
    ("15. Okt. 2024", True, "2024-10-15"),
    ("1 mars 2024", True, "2024-03-01"),  # French
    ("vendredi 1 mars 2024", True, "2024-03-01"),
    ("5 févr. 2024", True, "2024-02-05"),
    ("1 de marzo de 2024", True, "2024-03-01"),  # Spanish
    ("sáb., 2 mar 2024", True, "2024-03-02"),
    ("1 de março de 2024", True, "2024-03-01"),  # Portuguese
    ("1 marzo 2024", True, "2024-03-01"),  # Italian
    ("01-mrt-2024", True, "2024-03-01"),  # Dutch
    ("1 maj 2024", True, "2024-05-01"),  # Swedish, Danish, Polish
    ("1. lipca 2024", True, "2024-07-01"),  # Polish, genitive
    ("14 Şubat 2024", True, "2024-02-14"),  # Turkish
    ("March 2024", False, "2024-03-01"),
    ("2024-03", False, "2024-03-01"),
    ("01/03/24", True, "2024-03-01"),  # two-digit years
    ("3/1/24 1:05 PM", False, "2024-03-01"),
    ("1.3.24", True, "2024-03-01"),
    ("01-Mar-2024 13:05", True, "2024-03-01"),
    ("2024年3月1日", True, "2024-03-01"),  # Chinese, Japanese (read year first, even in a day-first column)
    ("2024年03月13日(金)", False, "2024-03-13"),  # Japanese, with its weekday
    ("2024年3月1日 13:05", True, "2024-03-01"),
    ("2024년 3월 1일", True, "2024-03-01"),  # Korean
    ("2024. 3. 1.", True, "2024-03-01"),  # Korean Excel's short date
    ("2024-03-01 오후 1:05", True, "2024-03-01"),  # Korean Excel's date and time: PM before the time
    ("2024/3/1 下午 1:05", False, "2024-03-01"),  # Chinese
    ("2024/3/1 午前 9:05", False, "2024-03-01"),  # Japanese
]
NOT_DATES = [
    "2024年13月1日x",
    "hello world",
    "1,5",
    "12 kg",
    "12-34-56",
    "(555) 123-4567",
    "Total",
    "2024",
    "A-12",
    "2024-13",
    "1234-05",
]


@pytest.mark.parametrize(("written", "dayfirst", "day"), WRITTEN, ids=[w for w, _, _ in WRITTEN])
def test_a_date_as_written_is_recognised_and_read(written: str, dayfirst: bool, day: str) -> None:
    assert re.match(dates.DATE_RE, written)  # the sample's type (pandas, Python's re)
    assert pc.match_substring_regex(pa.array([written]), dates.DATE_RE)[0].as_py()  # the statistics pass (RE2)
    assert dates.parse(pd.Series([written]), dayfirst).dt.strftime("%Y-%m-%d")[0] == day


@pytest.mark.parametrize("value", NOT_DATES)
def test_what_is_not_a_date_is_not_date_like(value: str) -> None:
    assert not re.match(dates.DATE_RE, value)
    assert not pc.match_substring_regex(pa.array([value]), dates.DATE_RE)[0].as_py()


def test_a_word_in_the_shape_of_a_date_is_not_read_as_one() -> None:
    parsed = dates.parse(pd.Series(["12 apples 2024", "1 mars 2024"]), True)
    assert parsed.isna().tolist() == [True, False]


def test_a_name_is_one_month_and_a_month_is_no_weekday() -> None:
    months, weekdays = dates._names()
    assert months["mär"] == months["march"] == months["marzo"] == "Mar"
    assert "mar" in months and "mar" not in weekdays  # French "mar." is Tuesday too: the month wins
    assert {"vendredi", "friday", "freitag"} <= weekdays
    assert months["listopad"] == "Nov"  # Polish and Czech agree


def test_a_name_two_languages_give_two_months_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dates, "NAME_LOCALES", (*dates.NAME_LOCALES, "hr"))  # Croatian: listopad is October
    dates._names.cache_clear()
    try:
        months, _ = dates._names()
        assert "listopad" not in months and months["marzec"] == "Mar"
    finally:
        dates._names.cache_clear()


def test_a_column_in_several_languages_and_formats_is_read_value_by_value() -> None:
    written = pd.Series(["1 mars 2024", "2024-03-02", "03/03/2024", "4. März 2024", None, "", "5-Mar-24", "soon"] * 3)
    parsed = dates.parse(written, dayfirst=True).dt.strftime("%Y-%m-%d").fillna("-").tolist()
    assert parsed[:8] == ["2024-03-01", "2024-03-02", "2024-03-03", "2024-03-04", "-", "-", "2024-03-05", "-"]
    assert parsed[8:16] == parsed[:8] and parsed[16:] == parsed[:8]


def test_distinct_values_read_once_give_what_each_value_read_alone_gives() -> None:
    rng = pd.Series(pd.date_range("2023-12-25", periods=40, freq="37h"))
    written = pd.concat([rng.dt.strftime("%d/%m/%Y %H:%M")] * 5, ignore_index=True).sample(frac=1, random_state=0)
    together = dates.parse(written, dayfirst=True)
    alone = [dates.parse(pd.Series([w]), dayfirst=True)[0] for w in written]
    assert together.tolist() == alone
    assert together.notna().all()


def test_a_time_alone_is_read_on_one_day_whatever_the_day_it_is_read() -> None:
    parsed = dates.parse(pd.Series(["13:05", "1:05 PM", "07:30:15", None]), True)
    assert parsed.dt.strftime("%Y-%m-%d %H:%M:%S").tolist()[:3] == [
        "1970-01-01 13:05:00",
        "1970-01-01 13:05:00",
        "1970-01-01 07:30:15",
    ]
    assert parsed.isna().tolist() == [False, False, False, True]


def test_year_first_and_day_first_values_in_one_column_are_each_read_their_way() -> None:
    parsed = dates.parse(pd.Series(["2024年3月1日", "13/01/2024", "2024. 3. 2.", "02/03/2024", "2024年13月1日"]), True)
    assert parsed.dt.strftime("%Y-%m-%d").tolist()[:4] == ["2024-03-01", "2024-01-13", "2024-03-02", "2024-03-02"]
    assert parsed.isna().tolist()[4]  # no 13th month


def test_am_and_pm_written_before_the_time_are_read() -> None:
    written = ["2024-03-01 오후 1:05", "2024-03-01 오전 11:05:30", "2024/3/1 下午 1:05", "2024. 3. 1. 午後 12:30"]
    parsed = dates.parse(pd.Series(written), True)
    assert parsed.dt.strftime("%Y-%m-%d %H:%M:%S").tolist() == [
        "2024-03-01 13:05:00",
        "2024-03-01 11:05:30",
        "2024-03-01 13:05:00",
        "2024-03-01 12:30:00",
    ]


TIMES = [("08:05", "08:05:00"), ("13:05:10", "13:05:10"), ("9:30", "09:30:00"), ("1:05 PM", "13:05:00")]
TIMES += [("11:59 am", "11:59:00"), ("오후 1:05", "13:05:00"), ("午前 9:30", "09:30:00"), (" 23:59 ", "23:59:00")]


@pytest.mark.parametrize(("written", "read"), TIMES, ids=[w for w, _ in TIMES])
def test_a_time_of_day_alone_is_date_like_and_read_on_one_day(written: str, read: str) -> None:
    assert re.match(dates.DATE_RE, written) and pc.match_substring_regex(pa.array([written]), dates.DATE_RE)[0].as_py()
    assert dates.parse(pd.Series([written]), True).dt.strftime("%Y-%m-%d %H:%M:%S")[0] == f"1970-01-01 {read}"


@pytest.mark.parametrize("value", ["27:30:00", "24:00", "12:60", "16:9", "3:1", "13:05 PM", "1:5"])
def test_durations_ratios_and_scores_are_not_times_of_day(value: str) -> None:
    assert not re.match(dates.DATE_RE, value)
    assert not pc.match_substring_regex(pa.array([value]), dates.DATE_RE)[0].as_py()


def test_dates_written_as_yyyymmdd_numbers_are_counted_with_their_month_lengths() -> None:
    values = np.array([20240115.0, 20240229, 20000229, 21001231, 20230229, 19000229, 20241301, 20240100, 20240431])
    assert dates.compact_dates(values) == 4  # 2024 and 2000 are leap years, 2023 and 1900 are not
    assert dates.compact_dates(np.array([18991231.0, 21010101, 20240115.5, 2024])) == 0


def test_whole_numbers_held_as_floats_read_as_the_dates_they_write() -> None:
    """An integer column with a missing value reaches pandas as floats: 20240115.0 is still 15 January 2024."""
    compact = pd.Series([20240115, None, 19991231], dtype="float64")
    assert dates.parse(compact, False).tolist() == [pd.Timestamp("2024-01-15"), pd.NaT, pd.Timestamp("1999-12-31")]
    years = pd.Series([2024, None], dtype="float64")  # a year typed `date`
    assert dates.parse(years, False).tolist()[0] == pd.Timestamp("2024-01-01")
    assert dates.parse(pd.Series([20240132.0]), False).isna().all()
