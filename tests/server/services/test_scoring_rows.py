"""Rows sent to `…/predict` as a JSON upload's records hold them: nested objects are the model's dotted columns
(`review.text`), lists their JSON text, as server/services/json_tables.py stored them."""

from __future__ import annotations

from server.services.scoring import flat_row

COLUMNS = {"review.text", "review.stars", "tags", "photo", "plain"}


def test_nested_objects_become_dotted_columns_and_lists_json_text() -> None:
    row = {"review": {"text": "fine", "stars": 4, "meta": {"lang": "en"}}, "tags": ["Köln", 'a"b'], "plain": 1}
    assert flat_row(row, COLUMNS) == {
        "review.text": "fine",
        "review.stars": 4,
        "review.meta.lang": "en",
        "tags": '["Köln","a\\"b"]',  # as DuckDB's to_json writes it
        "plain": 1,
    }


def test_an_object_that_is_a_columns_value_stays() -> None:
    image = {"base64": "iVBORw0KGgo="}
    assert flat_row({"photo": image, "review.text": "ok"}, COLUMNS) == {"photo": image, "review.text": "ok"}
