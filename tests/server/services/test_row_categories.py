"""Categories in rows sent for scoring (row_categories): spaces around a value do not make it another, and values
that are none of the model's are counted, not scored silently."""

from __future__ import annotations

import pandas as pd

from server.services import row_categories

PREP = {
    "main": [{"column": "colour", "kind": "categorical", "values": ["red", "blue ", "12"]}],
    "index": {"shop": {"values": ["A-1", "B-2"]}},
}


def test_spaces_around_a_value_do_not_make_it_unseen() -> None:
    frame = pd.DataFrame({"colour": [" red ", "blue", "red", None, "RED", 12], "shop": ["A-1 ", "C-3", None, *"abc"]})
    out, unseen = row_categories.match(frame, PREP)
    assert out["colour"].tolist()[:3] == ["red", "blue ", "red"] and out["shop"].tolist()[0] == "A-1"
    assert unseen == {"colour": 1, "shop": 4}  # RED (case is kept); C-3, a, b, c; missing values are no category
    assert frame["colour"].tolist()[0] == " red "  # the rows sent are left as they were


def test_rows_of_the_models_own_values_are_returned_as_they_are() -> None:
    frame = pd.DataFrame({"colour": ["red", "12"], "shop": ["B-2", None], "other": [1, 2]})
    out, unseen = row_categories.match(frame, PREP)
    assert out is frame and unseen == {}
    absent = pd.DataFrame({"x": [1]})  # the columns the rows lack are the 422 scoring answers, not counted here
    assert row_categories.match(absent, PREP) == (absent, {})
