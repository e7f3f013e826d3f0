"""A binary model's decision threshold: stored with the trained model, used by /predict, copied on deploy."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tests.e2e.conftest import Runtime, csv_bytes
from tests.e2e.test_models import cancer_frame

pytestmark = pytest.mark.slow


def _predict(runtime: Runtime, url: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    r = runtime.api.post(url, json={"rows": rows})
    assert r.status_code == 200, r.text
    return r.json()


def test_the_chosen_threshold_changes_the_predicted_classes(runtime: Runtime) -> None:
    frame = cancer_frame()
    ds = runtime.dataset("cancer-threshold", csv_bytes(frame))
    task = runtime.task(ds, "diagnosis", patch={"training": {"epochs": 2}})
    final = runtime.train_and_wait(task["id"])
    assert final["status"] == "succeeded", (final["error"], runtime.log_tail())
    tmid = final["trained_model_id"]

    details = runtime.api.get(f"/api/v1/trained-models/{tmid}").json()
    charts = details["evaluation"]["charts"]
    assert len(charts["decision"]["thresholds"]) == 101 and charts["lift"]["gain"][-1] == 1
    got = runtime.api.get(f"/api/v1/trained-models/{tmid}/threshold").json()
    assert got["threshold"] == got["default"] == 0.5
    assert got["f1_optimal"] == charts["decision"]["f1_optimal_threshold"]

    rows = frame.drop(columns=["diagnosis"]).head(60).to_dict("records")
    url = f"/api/v1/trained-models/{tmid}/predict"
    before = _predict(runtime, url, rows)
    labels = before["class_labels"]
    p1 = np.array(before["probabilities"])[:, 1]
    assert before["predictions"] == [labels[int(p >= 0.5)] for p in p1]
    # A threshold between the 20th and 21st lowest probabilities: exactly 40 of the 60 rows are positive.
    low, high = np.sort(p1)[19:21]
    assert low < high, "the model gives the same probability to many rows"
    chosen = float((low + high) / 2)

    r = runtime.api.put(f"/api/v1/trained-models/{tmid}/threshold", json={"threshold": chosen})
    assert r.status_code == 200, r.text
    assert r.json()["threshold"] == chosen
    after = _predict(runtime, url, rows)
    assert after["probabilities"] == before["probabilities"]
    assert after["predictions"] == [labels[int(p >= chosen)] for p in p1]
    assert after["predictions"].count(labels[1]) == 40
    assert runtime.api.get(f"/api/v1/trained-models/{tmid}/threshold").json()["threshold"] == chosen

    # A deployed version keeps the threshold it was deployed with; the trained model follows later changes.
    r = runtime.api.post(f"/api/v1/trained-models/{tmid}/deploy", json={"saved_model_name": "cancer-threshold"})
    assert r.status_code == 201, r.text
    saved_url = f"/api/v1/saved-models/{r.json()['saved_model_id']}/predict"
    assert runtime.api.put(f"/api/v1/trained-models/{tmid}/threshold", json={"threshold": 0.0}).status_code == 200
    assert _predict(runtime, saved_url, rows)["predictions"] == after["predictions"]
    assert _predict(runtime, url, rows)["predictions"] == [labels[1]] * 60

    for bad in ({"threshold": 1.5}, {"threshold": -0.1}, {"threshold": "high"}, {}, {"threshold": 0.3, "x": 1}):
        r = runtime.api.put(f"/api/v1/trained-models/{tmid}/threshold", json=bad)
        assert r.status_code == 422 and r.json()["code"], (bad, r.text)
    r = runtime.api.put("/api/v1/trained-models/nope/threshold", json={"threshold": 0.3})
    assert r.status_code == 404 and r.json()["code"]
