"""Early stopping is on for new ML tasks (docs/decisions.md): a run that stops improving ends 5 epochs later, with
the best epoch kept. (Tasks that turn it off train every epoch: tests/e2e/test_runtime_control.py, reliability.)"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.e2e.conftest import Runtime, csv_bytes

pytestmark = pytest.mark.slow

EPOCHS = 30


def _flat_dataset(runtime: Runtime) -> int:
    """120 rows whose one input is constant: every row gets the same prediction, so ROC AUC is 0.5 at every epoch."""
    labels = np.random.default_rng(7).choice(["a", "b"], size=120)
    return runtime.dataset("flat", csv_bytes(pd.DataFrame({"const": 1.0, "label": labels})))


def test_new_tasks_stop_early_and_keep_the_best_epoch(runtime: Runtime) -> None:
    ds = _flat_dataset(runtime)
    features = {"const": {"role": "input", "type": "numeric"}}  # rejected by default (constant): taken on purpose
    task = runtime.task(ds, "label", patch={"features": features, "training": {"epochs": EPOCHS}})
    assert task["settings"]["training"]["early_stopping"] == {"enabled": True, "patience": 5}  # the default
    final = runtime.train_and_wait(task["id"])
    assert final["status"] == "succeeded", (final["error"], runtime.log_tail())
    aucs = [h["Test ROC AUC"] for h in final["history"]]
    assert aucs == [pytest.approx(0.5)] * 6  # epoch 1, then 5 epochs without improvement: stopped
    details = runtime.api.get(f"/api/v1/trained-models/{final['trained_model_id']}").json()
    assert details["best_epoch"] == 1
