"""Categories typed into rows for scoring: spaces around a value do not make it another, and a value that is none of
the model's categories is said in the answer (`unseen`), not scored silently."""

from __future__ import annotations

from typing import Any

import pytest

from tests.security.support import fabricate_trained_model
from tests.server.api.support import API, create_analysis, create_ml_task, expect
from tests.server.api.test_csv_sources import _upload

COLOURS = ["rot", "blau", "grün"]


@pytest.fixture
def colour_model(api: Any, project: str) -> str:
    """A model of a colour (categorical) and an amount, predicting 'label'."""
    lines = ["Farbe;Filiale;Betrag;label"] + [
        f"{COLOURS[i % 3]};F-{i % 4};{i % 17},5;{'ja' if i % 2 else 'nein'}" for i in range(60)
    ]
    ds = _upload(api, project, "\r\n".join(lines).encode("cp1252"), name="farben")
    assert {c["name"]: c["type"] for c in ds["columns"]}["Farbe"] == "categorical"
    task = create_ml_task(api, create_analysis(api, project, ds["id"])["id"], "label")
    return fabricate_trained_model(api, task["id"])


def test_a_category_with_spaces_around_it_is_the_category(api: Any, colour_model: str) -> None:
    rows = [
        {"Farbe": "grün", "Filiale": "F-2", "Betrag": 3},
        {"Farbe": " grün ", "Filiale": "F-2 ", "Betrag": 3},  # pasted with its spaces
        {"Farbe": "lila", "Filiale": "F-2", "Betrag": 3},  # none of the model's
    ]
    out = expect(api.post(f"{API}/trained-models/{colour_model}/predict", json={"rows": rows}), 200)
    exact, spaced, unknown = out["probabilities"]
    assert spaced == pytest.approx(exact, abs=1e-6) and unknown != pytest.approx(exact, abs=1e-4)
    assert out["unseen"] == {"Farbe": 1} and out["imputed"] == {}


def test_the_answer_always_says_what_was_unseen(api: Any, colour_model: str) -> None:
    rows = [{"Farbe": "GRÜN", "Filiale": "F-9", "Betrag": 1}, {"Farbe": None, "Filiale": "F-1", "Betrag": 1}]
    out = expect(api.post(f"{API}/trained-models/{colour_model}/predict", json={"rows": rows}), 200)
    assert out["unseen"] == {"Farbe": 1, "Filiale": 1}  # a missing value is no category: not counted
    deployed = expect(api.post(f"{API}/trained-models/{colour_model}/deploy", json={"saved_model_name": "f"}), 201)
    rows = [{"Farbe": "blau", "Filiale": "F-1", "Betrag": 1}]
    saved = expect(api.post(f"{API}/saved-models/{deployed['saved_model_id']}/predict", json={"rows": rows}), 200)
    assert saved["unseen"] == {} and saved["imputed"] == {}
