"""Default designs that train: the regression demo (diabetes) with the default settings learns (its target scaled),
and the default architecture follows the inputs when a column is rejected (issue 16)."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from tests.e2e.conftest import Runtime

pytestmark = pytest.mark.slow


def test_diabetes_demo_with_default_settings_reaches_r2(runtime: Runtime) -> None:
    from server.services import defaults
    from server.services.bootstrap import demo_bytes

    payload = demo_bytes("diabetes").getvalue()
    ds = runtime.dataset("diabetes_defaults", payload)
    default_training = defaults.default_settings([], "progression", "regression")["training"]
    task = runtime.task(ds, "progression", patch={"training": default_training})  # the defaults, not 2 epochs
    final = runtime.train_and_wait(task["id"], timeout=600)
    assert final["status"] == "succeeded", (final["error"], runtime.log_tail())
    details = runtime.api.get(f"/api/v1/trained-models/{final['trained_model_id']}").json()
    print("diabetes demo, default settings: Test R2 Score", details["metrics"]["Test R2 Score"])
    assert details["metrics"]["Test R2 Score"] > 0.3
    scaling = details["target_scaling"]
    assert scaling["method"] == "standard" and 100 < scaling["mean"] < 200 and scaling["std"] > 10
    frame = pd.read_csv(io.BytesIO(payload))
    rows = frame.drop(columns=["progression"]).head(20).to_dict(orient="records")
    r = runtime.api.post(f"/api/v1/trained-models/{final['trained_model_id']}/predict", json={"rows": rows})
    assert r.status_code == 200, r.text
    predictions = r.json()["predictions"]
    assert 50 < sum(predictions) / len(predictions) < 300  # on the target's own scale, not the standardised one
    predicted = details["evaluation"]["predicted"]  # the evaluation too is on the target's scale
    assert 50 < sum(predicted) / len(predicted) < 300
    assert scaling["in_model"] is True  # the saved file undoes the scaling itself: /predict must not do it again
    downloaded = _downloaded_predictions(runtime, final["trained_model_id"], frame.drop(columns=["progression"]))
    assert downloaded[:20] == pytest.approx(predictions, rel=1e-4, abs=1e-3)
    low, high = frame["progression"].min(), frame["progression"].max()
    assert low - 100 < min(downloaded) and max(downloaded) < high + 100  # real units: 25..346, not around 0
    assert np.std(downloaded) > 0.2 * frame["progression"].std()


def _downloaded_predictions(runtime: Runtime, tmid: str, inputs: pd.DataFrame) -> list[float]:
    """The downloaded .keras, loaded by plain Keras (safe mode), on the inputs preprocessed as the model says."""
    import keras

    from core import preprocessing

    r = runtime.api.get(f"/api/v1/trained-models/{tmid}/download")
    assert r.status_code == 200
    path = runtime.home.parent / f"{tmid}.keras"
    path.write_bytes(r.content)
    model = keras.models.load_model(path, safe_mode=True, compile=False)
    assert model.layers[-1].__class__.__name__ == "Rescaling"
    from server.db import session_scope
    from server.models import TrainedModel

    with session_scope() as db:
        row = db.get(TrainedModel, tmid)
        assert row is not None
        prep = row.preprocessing
    main = preprocessing.transform(inputs, prep)["main"]
    return [float(v) for v in model.predict(main, verbose=0).reshape(-1)]


def test_rejecting_the_text_column_trains_with_the_regenerated_architecture(runtime: Runtime) -> None:
    from tests.server.api.support import typed_csv

    ds = runtime.dataset("typed_text", typed_csv(80))
    task = runtime.task(ds, "bin")
    assert "txt_preprocessed" in task["settings"]["code"]["architecture"]
    settings = task["settings"]
    settings["features"]["txt"]["role"] = "reject"
    r = runtime.api.put(f"/api/v1/ml-tasks/{task['id']}/settings", json=settings)
    assert r.status_code == 200, r.text
    assert "txt_preprocessed" not in r.json()["code"]["architecture"]
    final = runtime.train_and_wait(task["id"])
    assert final["status"] == "succeeded", (final["error"], runtime.log_tail())
    details = runtime.api.get(f"/api/v1/trained-models/{final['trained_model_id']}").json()
    assert set(details["input_shapes"]) == {"main"}
