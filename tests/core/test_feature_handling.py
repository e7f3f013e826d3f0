"""core/preprocessing.py: counts of unparseable and imputed values, date parts, and the per-feature options."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest

from core import dates, input_report, preprocessing


def _design(features: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "target": "label",
        "prediction_type": "binary",
        "settings": {
            "features": features,
            "text": {"max_tokens": 50, "sequence_length": 6},
            "image": {"height": 4, "width": 5, "channels": 3},
        },
    }


def _frame(**cols: list[Any]) -> pd.DataFrame:
    n = len(next(iter(cols.values())))
    return pd.DataFrame({**cols, "label": ["a", "b"] * (n // 2) + ["a"] * (n % 2)})


def test_thousands_separators_are_counted_not_silently_imputed() -> None:
    frame = _frame(amount=["13,341.91", "2,243", "12.5", None, "7"])
    prep = preprocessing.fit(frame, _design({"amount": {"role": "input", "type": "numeric"}}))
    report = input_report.report(frame, prep)
    assert report == {"amount": {"type": "numeric", "missing": 1, "unparseable": 2, "imputed": 3}}
    lines = input_report.report_lines(report, prep)
    assert lines == ["input 'amount' (numeric): 1 missing, 2 did not parse, 3 imputed (mean)"]


@pytest.mark.parametrize("written", [True, False], ids=["text-inf", "float-inf"])
def test_infinite_numbers_are_imputed_and_counted_not_spread_as_nan(written: bool) -> None:
    values = [1.0, float("inf"), 3.0, float("-inf"), None, 5.0]
    frame = _frame(ratio=[("inf" if v == float("inf") else "-inf" if v == float("-inf") else v) for v in values])
    if not written:
        frame["ratio"] = pd.Series(values, dtype="float64")
    prep = preprocessing.fit(frame, _design({"ratio": {"role": "input", "type": "numeric"}}))
    assert prep["main"][0]["mean"] == pytest.approx(3.0)  # of 1, 3 and 5: an infinity made it NaN
    main = preprocessing.transform(frame, prep)["main"]
    assert np.isfinite(main).all() and main[1, 0] == main[3, 0] == main[4, 0] == 0.0  # imputed with the mean
    assert input_report.report(frame, prep)["ratio"] == {
        "type": "numeric",
        "missing": 1,
        "unparseable": 2,
        "imputed": 3,
    }


def test_report_covers_every_input_column() -> None:
    frame = _frame(c=["x", None, "y", "x"], t=["a b", "c", None, None], r=[1, 2, 3, 4])
    features = {
        "c": {"role": "input", "type": "categorical"},
        "t": {"role": "input", "type": "text"},
        "r": {"role": "reject", "type": "numeric"},
    }
    report = input_report.report(frame, preprocessing.fit(frame, _design(features)))
    assert report == {
        "c": {"type": "categorical", "missing": 1, "unparseable": 0, "imputed": 0},
        "t": {"type": "text", "missing": 2, "unparseable": 0, "imputed": 0},
    }


@pytest.mark.parametrize(
    ("values", "dayfirst", "expected"),
    [
        (["2024-03-01", "2024-12-31T08:30:00"], False, ["2024-03-01 00:00", "2024-12-31 08:30"]),
        (["01/03/2024", "13/03/2024"], True, ["2024-03-01 00:00", "2024-03-13 00:00"]),
        (["01/03/2024", "02/15/2024"], False, ["2024-01-03 00:00", "2024-02-15 00:00"]),
        (["2024-03-01 12:00", "2024-03-02 13:30"], False, ["2024-03-01 12:00", "2024-03-02 13:30"]),
    ],
)
def test_dates_in_three_formats(values: list[str], dayfirst: bool, expected: list[str]) -> None:
    series = pd.Series(values)
    assert dates.detect_dayfirst(series) is dayfirst
    parsed = dates.parse(series, dayfirst)
    assert [v.strftime("%Y-%m-%d %H:%M") for v in parsed] == expected


def test_date_parts_into_main_with_unparseable_counted() -> None:
    frame = _frame(when=["2024-03-01", "2024-03-05 12:00", "not a date", None])
    features = {"when": {"role": "input", "type": "date", "parts": ["year", "month", "day", "weekday", "hour"]}}
    prep = preprocessing.fit(frame, _design(features))
    assert prep["input_shapes"] == {"main": [5]}
    out = preprocessing.transform(frame, json.loads(json.dumps(prep)))["main"]
    assert out.shape == (4, 5) and out.dtype == np.float32 and np.isfinite(out).all()
    assert np.allclose(out[2], 0.0) and np.allclose(out[3], 0.0)  # imputed with the mean: 0 once standardised
    report = input_report.report(frame, prep)["when"]
    assert report == {"type": "date", "missing": 1, "unparseable": 1, "imputed": 2}


def test_date_default_parts_and_datetime_dtype() -> None:
    frame = _frame(when=pd.to_datetime(["2024-01-01", "2024-06-01", None, "2025-01-01"]).tolist())
    prep = preprocessing.fit(frame, _design({"when": {"role": "input", "type": "date"}}))
    assert prep["main"][0]["parts"] == list(dates.PARTS) and prep["input_shapes"] == {"main": [6]}
    assert preprocessing.transform(frame, prep)["main"].shape == (4, 6)


def test_numeric_defaults_are_unchanged() -> None:
    frame = _frame(x=[1.0, 2.0, None, 5.0])
    (entry,) = preprocessing.fit(frame, _design({"x": {"role": "input", "type": "numeric"}}))["main"]
    assert set(entry) == {"column", "kind", "mean", "std"}


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"impute": "median", "rescale": "none"}, [1.0, 2.0, 2.0, 10.0]),
        ({"impute": "constant", "impute_value": -1.0, "rescale": "none"}, [1.0, 2.0, -1.0, 10.0]),
        ({"impute": "mean", "rescale": "minmax"}, [0.0, 1 / 9, (13 / 3 - 1) / 9, 1.0]),
    ],
)
def test_numeric_impute_and_rescale(options: dict[str, Any], expected: list[float]) -> None:
    frame = _frame(x=[1.0, 2.0, None, 10.0])
    prep = preprocessing.fit(frame, _design({"x": {"role": "input", "type": "numeric", **options}}))
    out = preprocessing.transform(frame, json.loads(json.dumps(prep)))["main"][:, 0]
    assert np.allclose(out, expected)


def test_categorical_index_encoding_is_its_own_input() -> None:
    frame = _frame(city=["Paris", "Lyon", "Paris", None, "Nice"])
    spec = {"role": "input", "type": "categorical", "encoding": "index", "max_values": 2}
    prep = preprocessing.fit(frame, _design({"city": spec, "n": {"role": "reject", "type": "numeric"}}))
    assert prep["input_shapes"] == {"city_preprocessed": [1]} and prep["index"]["city"]["values"] == ["Paris", "Lyon"]
    ids = preprocessing.transform(frame, prep)["city_preprocessed"]
    assert ids.dtype == np.int32 and ids[:, 0].tolist() == [1, 2, 1, 0, 0]


def test_categorical_max_values_limits_the_dummies() -> None:
    frame = _frame(city=["Paris", "Lyon", "Paris", "Nice"])
    prep = preprocessing.fit(frame, _design({"city": {"role": "input", "type": "categorical", "max_values": 1}}))
    assert prep["input_shapes"] == {"main": [1]}


def test_text_and_image_sizes_per_feature() -> None:
    frame = _frame(review=["good product", "bad one", "fine"])
    spec = {"role": "input", "type": "text", "max_tokens": 10, "sequence_length": 3}
    prep = preprocessing.fit(frame, _design({"review": spec}))
    assert prep["input_shapes"] == {"review_preprocessed": [3]} and prep["text"]["review"]["max_tokens"] == 10
    sizes = preprocessing.feature_sizes({"height": 8}, {"height": 4, "width": 5, "channels": 3}, ("height", "width"))
    assert sizes == {"height": 8, "width": 5}


def test_an_infinite_or_unparseable_regression_target_is_not_trained_on() -> None:
    from core import data

    written = pd.Series(["1.5", "inf", None, "x", "-inf", "2"], dtype=object)
    keep, target = data.usable_target(written, "regression")
    assert keep.tolist() == [True, False, False, False, False, True]
    assert target[keep].tolist() == [1.5, 2.0]
    keep, _ = data.usable_target(pd.Series(pd.array([3, None, 4], dtype="Int64")), "regression")
    assert keep.tolist() == [True, False, True]
