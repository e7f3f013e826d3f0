"""Rows sent for scoring with numbers written as the training file wrote them: a German Excel file's model reads
"1.234,50 €" as 1234.5, not as a value to impute."""

from __future__ import annotations

from typing import Any

import pytest

from tests.security.support import fabricate_trained_model
from tests.server.api.support import API, create_analysis, create_ml_task, expect
from tests.server.api.test_csv_sources import _upload

N = 60


@pytest.fixture
def german_model(api: Any, project: str) -> str:
    """A model trained on a German Excel CSV (semicolons, 1.234,56 amounts), predicting 'label'."""
    lines = ["Betrag;Menge;label"] + [
        f"{i * 37 % 900 + 1}.{i * 13 % 1000:03d},{i % 100:02d};{i % 9},5;{'ja' if i % 2 else 'nein'}" for i in range(N)
    ]
    ds = _upload(api, project, "\r\n".join(lines).encode("cp1252"), name="umsatz")
    assert (ds["source"]["decimal"], ds["source"]["thousands"]) == (",", ".")
    assert {c["name"]: c["type"] for c in ds["columns"]}["Betrag"] == "numeric"
    task = create_ml_task(api, create_analysis(api, project, ds["id"])["id"], "label")
    return fabricate_trained_model(api, task["id"])


def test_numbers_typed_as_the_file_wrote_them_are_read(api: Any, german_model: str) -> None:
    rows = [
        {"Betrag": "1.234,50 €", "Menge": "2,5"},  # as the German file writes them
        {"Betrag": 1234.5, "Menge": 2.5},  # the same numbers, as JSON
        {"Betrag": "1234.5", "Menge": "2.5"},  # as a program writes them
        {"Betrag": None, "Menge": None},  # imputed: the columns' means
    ]
    out = expect(api.post(f"{API}/trained-models/{german_model}/predict", json={"rows": rows}), 200)
    assert out["imputed"] == {"Betrag": 1, "Menge": 1}
    typed, json_numbers, programs, imputed = out["probabilities"]
    assert typed == pytest.approx(json_numbers, abs=1e-6) and programs == pytest.approx(json_numbers, abs=1e-6)
    assert imputed != pytest.approx(json_numbers, abs=1e-4)  # the rows did reach the model as numbers


def test_text_that_is_no_number_is_still_counted_as_imputed(api: Any, german_model: str) -> None:
    rows = [{"Betrag": "viel", "Menge": "1,2,3"}, {"Betrag": "-", "Menge": "(7)"}]
    out = expect(api.post(f"{API}/trained-models/{german_model}/predict", json={"rows": rows}), 200)
    assert out["imputed"] == {"Betrag": 2, "Menge": 1}  # "-" alone is no number; "(7)" is accounting's -7
    deployed = expect(api.post(f"{API}/trained-models/{german_model}/deploy", json={"saved_model_name": "de"}), 201)
    saved = deployed["saved_model_id"]
    rows = [{"Betrag": "12,5", "Menge": "3"}]
    again = expect(api.post(f"{API}/saved-models/{saved}/predict", json={"rows": rows}), 200)
    assert again["imputed"] == {} and again["version_id"] == deployed["version_id"]


def test_the_try_it_form_shows_numbers_as_the_file_wrote_them(api: Any, german_model: str) -> None:
    from server.db import session_scope
    from server.models import TrainedModel
    from server.services import trained_models

    with session_scope() as db:
        model = db.get(TrainedModel, german_model)
        fields = {f["name"]: f["value"] for f in trained_models.input_fields(db, api.settings, model)}
    assert fields["Betrag"] == "1000,0" and fields["Menge"] == "0,5"  # the first row: 1.000,00 and 0,5
