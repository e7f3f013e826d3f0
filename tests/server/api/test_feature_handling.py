"""No silent coercion through the API: Validate warns, the trained model reports, dates and options are accepted."""

from __future__ import annotations

from typing import Any

import pytest

from tests.security.support import fabricate_trained_model
from tests.server.api.support import API, expect, parquet_bytes, upload

N = 40


@pytest.fixture
def task(api: Any, project: str) -> dict[str, Any]:
    """An ML task on a dataset with '13,341.91'-style amounts (read as text) and ISO dates, predicting 'label'."""
    columns = {
        "amount": [f"{i},{i % 1000:03d}.5" if i % 4 == 0 else str(i) for i in range(N)],
        "when": [f"2024-{i % 12 + 1:02d}-{i % 28 + 1:02d}" for i in range(N)],
        "label": ["a", "b"] * (N // 2),
    }
    ds = expect(upload(api, project, "messy", parquet_bytes(columns), "messy.parquet"), 201)
    assert {c["name"]: c["type"] for c in ds["columns"]}["when"] == "date"
    an = expect(api.post(f"{API}/projects/{project}/analyses", json={"dataset_id": ds["id"], "name": "an"}), 201)
    return expect(api.post(f"{API}/analyses/{an['id']}/ml-tasks", json={"target": "label"}), 201)


def _features(**amount: Any) -> dict[str, Any]:
    return {
        "features": {
            "amount": {"role": "input", "type": "numeric", **amount},
            "when": {"role": "input", "type": "date", "parts": ["year", "month", "weekday"]},
        }
    }


def test_validate_warns_about_numbers_that_do_not_parse(api: Any, task: dict[str, Any]) -> None:
    answer = expect(api.post(f"{API}/ml-tasks/{task['id']}/validate", json=_features(impute="median")), 200)
    assert answer["ok"] is True and answer["errors"] == []
    (warning,) = answer["warnings"]
    assert warning["field"] == "features.amount" and warning["unparseable"] == N // 4
    assert "median" in warning["message"]


def test_options_are_stored_and_wrong_ones_refused(api: Any, task: dict[str, Any]) -> None:
    doc = expect(api.put(f"{API}/ml-tasks/{task['id']}/settings", json=_features(rescale="minmax")), 200)
    stored = doc.get("settings", doc)["features"]
    assert stored["amount"] == {"role": "input", "type": "numeric", "rescale": "minmax"}
    assert stored["when"]["parts"] == ["year", "month", "weekday"]
    bad = {"features": {"amount": {"role": "input", "type": "numeric", "encoding": "index"}}}
    answer = expect(api.post(f"{API}/ml-tasks/{task['id']}/validate", json=bad), 200)
    assert answer["ok"] is False and "encoding" in answer["errors"][0]["message"]
    constant = {"features": {"amount": {"role": "input", "type": "numeric", "impute": "constant"}}}
    assert expect(api.post(f"{API}/ml-tasks/{task['id']}/validate", json=constant), 200)["ok"] is False


def test_trained_model_reports_and_scores_dates_and_coerced_numbers(api: Any, task: dict[str, Any]) -> None:
    from core import preprocessing
    from server.db import session_scope
    from server.models import TrainedModel

    expect(api.put(f"{API}/ml-tasks/{task['id']}/settings", json=_features()), 200)
    tmid = fabricate_trained_model(api, task["id"])
    model = expect(api.get(f"{API}/trained-models/{tmid}"), 200)
    assert model["input_shapes"] == {"main": [4]} and model["preprocessing_report"] == {}  # fabricated: no report
    with session_scope() as db:
        row = db.get(TrainedModel, tmid)
        report = {"amount": {"type": "numeric", "missing": 0, "unparseable": 9, "imputed": 9}}
        row.preprocessing = {**row.preprocessing, "report": report}
    assert expect(api.get(f"{API}/trained-models/{tmid}"), 200)["preprocessing_report"] == report
    rows = {"rows": [{"amount": "13,341.91", "when": "01/03/2024"}, {"amount": 7, "when": "2024-03-01 12:00"}]}
    out = expect(api.post(f"{API}/trained-models/{tmid}/predict", json=rows), 200)
    assert len(out["predictions"]) == 2 and preprocessing.MAX_DUMMIES == 100


def test_scoring_answers_the_imputed_values_per_column(api: Any, task: dict[str, Any]) -> None:
    expect(api.put(f"{API}/ml-tasks/{task['id']}/settings", json=_features()), 200)
    tmid = fabricate_trained_model(api, task["id"])
    rows = [
        {"amount": "13,341.91", "when": "2024-03-01"},  # a number with a thousands separator: read (row_numbers)
        {"amount": None, "when": "not a date"},  # a missing number, a date that does not parse
        {"amount": "n/a", "when": None},  # both imputed
        {"amount": 7, "when": "2024-03-02"},  # nothing imputed
    ]
    out = expect(api.post(f"{API}/trained-models/{tmid}/predict", json={"rows": rows}), 200)
    assert len(out["predictions"]) == 4 and out["imputed"] == {"amount": 2, "when": 2}
    clean = expect(api.post(f"{API}/trained-models/{tmid}/predict", json={"rows": rows[3:]}), 200)
    assert clean["imputed"] == {}  # the key is always there; columns without an imputed value are left out
    deployed = expect(api.post(f"{API}/trained-models/{tmid}/deploy", json={"saved_model_name": "imputing"}), 201)
    saved = expect(api.post(f"{API}/saved-models/{deployed['saved_model_id']}/predict", json={"rows": rows[:2]}), 200)
    assert saved["imputed"] == {"amount": 1, "when": 1} and saved["version_id"] == deployed["version_id"]
