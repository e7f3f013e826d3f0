"""server/services/type_inference.py: column types, prediction types, checks of a chosen prediction type."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from server.errors import ApiError
from server.services.type_inference import (
    check_prediction_type,
    infer_column_type,
    infer_prediction_type,
    infer_schema,
)

# ----------------------------------------------------------------------------- column types

_WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau".split()


def _sentences(n: int) -> list[str]:
    """N distinct sentences of 6 words."""
    return [" ".join(_WORDS[(i + j) % len(_WORDS)] for j in range(5)) + f" number{i}" for i in range(n)]


@pytest.mark.parametrize(
    "values",
    [
        [1, 2, 3, 4],
        [1.5, np.nan, 3.25, -2.0],
        ["1", "2.5", "-3", "4e2"],  # numbers read as strings
    ],
)
def test_numeric_columns(values: list) -> None:
    assert infer_column_type(pd.Series(values)) == "numeric"


@pytest.mark.parametrize(
    "values",
    [
        ["red", "green", "blue", "red"],
        [True, False, True],  # booleans are categories, not numbers
        ["a", None, "b", "a"],
        [None, None],  # nothing to go on
        ["1", "2", "x", "3"],  # one non-number in four is too many for numeric
    ],
)
def test_categorical_columns(values: list) -> None:
    assert infer_column_type(pd.Series(values, dtype=object if None in values else None)) == "categorical"


def test_text_column_needs_many_words_and_many_distinct_values() -> None:
    assert infer_column_type(pd.Series(_sentences(60))) == "text"
    # Long values but only a few distinct ones: a category, not free text.
    assert infer_column_type(pd.Series(_sentences(3) * 20)) == "categorical"
    # Many distinct values but single words: categorical.
    assert infer_column_type(pd.Series([f"w{i}" for i in range(60)])) == "categorical"


def test_infer_schema_keeps_column_order() -> None:
    frame = pd.DataFrame({"age": [30, 40, 50], "city": ["Paris", "Lyon", "Paris"], "score": [0.1, 0.2, 0.3]})
    assert infer_schema(frame) == [
        {"name": "age", "type": "numeric"},
        {"name": "city", "type": "categorical"},
        {"name": "score", "type": "numeric"},
    ]


# ----------------------------------------------------------------------------- prediction types


@pytest.mark.parametrize(
    ("values", "column_type"),
    [
        (["yes", "no", "yes", "no"], "categorical"),
        ([0, 1, 1, 0, 1], "numeric"),
        ([1.5, 2.5, 1.5], "numeric"),  # two float values are still two classes
        ([True, False, True], "categorical"),
        (["a", "b", None, "a"], "categorical"),  # missing values do not count as a class
    ],
)
def test_binary_from_two_values(values: list, column_type: str) -> None:
    assert infer_prediction_type(pd.Series(values, name="y"), column_type) == "binary"


@pytest.mark.parametrize(
    ("values", "column_type"),
    [
        ([0, 1, 2, 3, 4, 0, 1], "numeric"),
        ([1.0, 2.0, 3.0], "numeric"),  # integral floats with few values
        (list(range(20)), "numeric"),  # 20 integer values: still classes
        (["cat", "dog", "bird", "cat"], "categorical"),
        ([f"c{i}" for i in range(500)], "categorical"),
    ],
)
def test_multiclass_from_few_ints_or_strings(values: list, column_type: str) -> None:
    assert infer_prediction_type(pd.Series(values, name="y"), column_type) == "multiclass"


@pytest.mark.parametrize(
    "values",
    [
        [0.1, 0.5, 2.25, 3.0],
        list(np.linspace(0, 1, 50)),
        list(range(21)),  # too many integer values to be classes
    ],
)
def test_regression_from_floats_or_many_ints(values: list) -> None:
    assert infer_prediction_type(pd.Series(values, name="y"), "numeric") == "regression"


@pytest.mark.parametrize(
    ("values", "column_type"),
    [
        ([7, 7, 7], "numeric"),
        (["same", "same"], "categorical"),
        ([5, np.nan, 5], "numeric"),
        ([np.nan, np.nan], "numeric"),  # no values at all
        ([], "numeric"),
    ],
)
def test_constant_or_empty_target_is_422(values: list, column_type: str) -> None:
    with pytest.raises(ApiError) as err:
        infer_prediction_type(
            pd.Series(values, name="price", dtype=float if column_type == "numeric" else object), column_type
        )
    assert err.value.status == 422
    assert err.value.code == "bad_target"
    assert "price" in err.value.detail


def test_too_many_classes_is_422() -> None:
    with pytest.raises(ApiError) as err:
        infer_prediction_type(pd.Series([f"id{i}" for i in range(1001)], name="id"), "categorical")
    assert err.value.status == 422
    assert "1001" in err.value.detail


# ----------------------------------------------------------------------------- check_prediction_type


@pytest.mark.parametrize(
    ("values", "column_type", "prediction_type"),
    [
        ([1.0, 2.5, 3.0], "numeric", "regression"),
        (["1", "2.5", "3"], "numeric", "regression"),
        ([0, 1, 0], "numeric", "binary"),
        (["a", "b", "a"], "categorical", "binary"),
        ([0, 1, 2], "numeric", "multiclass"),
        ([0, 1], "numeric", "multiclass"),  # two classes may be treated as multiclass
        ([1.5, 2.5, 3.5, 4.5], "numeric", "multiclass"),
    ],
)
def test_check_prediction_type_accepts(values: list, column_type: str, prediction_type: str) -> None:
    assert check_prediction_type(pd.Series(values, name="y"), column_type, prediction_type) is None


@pytest.mark.parametrize(
    ("values", "column_type", "prediction_type", "fragment"),
    [
        (["a", "b", "c"], "categorical", "regression", "not numeric"),
        ([0, 1, 2], "numeric", "binary", "exactly 2"),
        ([1, 1, 1], "numeric", "binary", "exactly 2"),
        (["x", "x"], "categorical", "multiclass", "multiclass needs"),
        ([f"v{i}" for i in range(1001)], "categorical", "multiclass", "multiclass needs"),
    ],
)
def test_check_prediction_type_refuses(values: list, column_type: str, prediction_type: str, fragment: str) -> None:
    with pytest.raises(ApiError) as err:
        check_prediction_type(pd.Series(values, name="y"), column_type, prediction_type)
    assert err.value.status == 422
    assert err.value.code == "bad_target"
    assert fragment in err.value.detail


def test_chinese_and_japanese_sentences_are_text_and_their_names_categories() -> None:
    reviews = pd.Series(
        [f"这家餐厅的菜非常好吃第{i}次" for i in range(60)] + [f"この店の料理は最高です{i}" for i in range(60)]
    )
    assert infer_column_type(reviews) == "text"  # a character counts as a word: no spaces between words
    cities = pd.Series(["北京", "上海", "广州", "東京", "大阪"] * 30)
    assert infer_column_type(cities) == "categorical"


def test_a_column_of_times_of_day_is_a_date_and_one_of_durations_is_not() -> None:
    """A shift's start as a category was one value per row (id_like: a new ML task rejected it)."""
    starts = pd.Series([f"{8 + i % 10:02d}:{(i * 7) % 60:02d}" for i in range(200)])
    assert infer_column_type(starts) == "date"
    assert (
        infer_column_type(pd.Series([f"{i % 12 + 1}:{i % 60:02d} {'AM' if i % 2 else 'PM'}" for i in range(200)]))
        == "date"
    )
    durations = pd.Series([f"{20 + i % 40}:{i % 60:02d}:00" for i in range(200)])  # hours past 23: elapsed time
    assert infer_column_type(durations) != "date"
