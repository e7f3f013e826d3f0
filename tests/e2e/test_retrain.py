"""Retrain end to end (issue 21): a real worker trains a session, it is deployed, then the saved model is retrained
through the Python client on a second dataset with the same columns; the success becomes a new, active version
whose lineage names the version it retrained."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fitstudio.client import Client
from tests.e2e.conftest import Runtime, csv_bytes

pytestmark = pytest.mark.slow


def _frame(seed: int, rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 4))
    label = np.where(x[:, 0] + 0.5 * x[:, 1] > 0, "yes", "no")
    return pd.DataFrame({**{f"x{i}": x[:, i] for i in range(4)}, "label": label})


def test_a_retrain_on_new_data_becomes_the_active_version(runtime: Runtime) -> None:
    first = runtime.dataset("retrain-first", csv_bytes(_frame(1, 160)))
    task = runtime.task(first, "label", "binary", patch={"training": {"epochs": 1}})
    source = runtime.train_and_wait(task["id"])
    assert source["status"] == "succeeded", (source["error"], runtime.log_tail())

    client = Client("http://testserver", runtime.api.token, transport=runtime.api.client._transport)
    saved = client.get_trained_model(source["trained_model_id"]).deploy(saved_model_name="retrained")
    newer = _frame(2, 120)
    newer["extra"] = 1.0  # more columns than the design reads are fine
    second = runtime.dataset("retrain-second", csv_bytes(newer))
    assert second != first

    session = saved.retrain(dataset_id=second, activate=True)
    final = session.wait(timeout=240, poll=0.2)
    assert final["status"] == "succeeded", (final["error"], runtime.log_tail())
    assert final["ml_task_id"] == task["id"] and final["trained_model_id"] != source["trained_model_id"]

    summary = saved.get_summary()
    assert summary["active_version"] == "v2" and [v["id"] for v in summary["versions"]] == ["v1", "v2"]
    v2 = summary["versions"][1]
    assert v2["trained_model_id"] == final["trained_model_id"]
    named = {"saved_model_id": saved.id, "version_id": "v1", "trained_model_id": source["trained_model_id"]}
    assert v2["retrained_from"] == named
    model = runtime.api.get(f"/api/v1/trained-models/{final['trained_model_id']}").json()
    assert {"kind": "retrained_from", **named} in model["lineage"]
    card = runtime.api.get(f"/api/v1/trained-models/{final['trained_model_id']}/card?format=md").text
    assert "retrain-second" in card and "retrained from" in card  # the dataset it trained on, what it retrained
    # The new version serves predictions on rows of the new dataset.
    rows = newer.drop(columns=["label"]).head(3).to_dict(orient="records")
    assert len(saved.predict(rows)["predictions"]) == 3
