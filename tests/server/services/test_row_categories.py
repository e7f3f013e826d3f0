"""Categories in rows sent for scoring (row_categories): spaces around a value do not make it another; and the
transform counts the values that are none of the model's, and those it imputed (preprocessing.InputCounts)."""

from __future__ import annotations

import pandas as pd

from server.services import row_categories

PREP = {
    "main": [{"column": "colour", "kind": "categorical", "values": ["red", "blue ", "12"]}],
    "index": {"shop": {"values": ["A-1", "B-2"]}},
}


def test_spaces_around_a_value_do_not_make_it_unseen() -> None:
    frame = pd.DataFrame({"colour": [" red ", "blue", "red", None, "RED", 12], "shop": ["A-1 ", "C-3", None, *"abc"]})
    out = row_categories.match(frame, PREP)
    assert out["colour"].tolist() == ["red", "blue ", "red", None, "RED", 12]  # case is kept: RED is another
    assert out["shop"].tolist()[:2] == ["A-1", "C-3"] and out["shop"].tolist()[3:] == [*"abc"]
    assert frame["colour"].tolist()[0] == " red "  # the rows sent are left as they were


def test_the_transform_counts_what_it_imputed_and_the_categories_it_did_not_know() -> None:
    from core.preprocessing import InputCounts, transform

    prep = {**PREP, "main": [*PREP["main"], {"column": "n", "kind": "numeric", "mean": 0.0, "std": 1.0}], "text": {}}
    frame = pd.DataFrame({"colour": ["red", "RED", None], "shop": ["A-1", "C-3", "x"], "n": [1.0, None, float("inf")]})
    counts = InputCounts()
    transform(frame, {**prep, "image": {}}, counts=counts)
    transform(frame.iloc[:1], {**prep, "image": {}}, counts=counts)  # counted on, batch after batch
    assert (counts.imputed, counts.unseen) == ({"n": 2}, {"colour": 1, "shop": 2})


def test_rows_of_the_models_own_values_are_returned_as_they_are() -> None:
    frame = pd.DataFrame({"colour": ["red", "12"], "shop": ["B-2", None], "other": [1, 2]})
    assert row_categories.match(frame, PREP) is frame
    absent = pd.DataFrame({"x": [1]})  # the columns the rows lack are the 422 scoring answers
    assert row_categories.match(absent, PREP) is absent


def test_a_boolean_column_takes_the_booleans_as_a_csv_writes_them() -> None:
    # A spreadsheet's TRUE/FALSE column is read as booleans: a row copied from the file sends "TRUE" (it was unseen)
    prep = {"main": [{"column": "active", "kind": "categorical", "values": [False, True]}]}
    frame = pd.DataFrame({"active": ["TRUE", "false", "1", 0, " True ", True, "WAHR", None, "yes"]})
    out = row_categories.match(frame, prep)["active"].tolist()
    assert out[:6] == [True, False, True, False, True, True] and all(type(v) is bool for v in out[:6])
    assert out[6:] == ["WAHR", None, "yes"]  # another language's word, or another word, is still none of them
    texts = {"main": [{"column": "answer", "kind": "categorical", "values": ["yes", "no"]}]}
    assert row_categories.match(pd.DataFrame({"answer": ["TRUE"]}), texts)["answer"].tolist() == ["TRUE"]
