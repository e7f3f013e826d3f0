"""Continue training end to end (issue 20): a real worker trains a session, then 3 more epochs from its final state
through the Python client; the continued session's loss goes on from where the first ended."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from fitstudio.client import Client, Conflict
from fitstudio.client_continue import Session
from tests.e2e.conftest import Runtime, csv_bytes

pytestmark = pytest.mark.slow

EPOCHS, MORE = 20, 3

# Adam at a learning rate whose moments matter: restarted from zero, its first steps jump (the control in
# tests/worker/runtime/test_continue_state.py measures a 45 % jump on the same net without the optimizer state).
ARCHITECTURE = """\
import keras
from keras.layers import Input, Dense
from keras.models import Model


def build_model(input_shapes, n_classes=None):
    inputs = Input(shape=input_shapes["main"], name="main")
    return Model(inputs=inputs, outputs=Dense(1)(Dense(16, activation="tanh")(inputs)))


def compile_model(model):
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="mean_squared_error")
    return model
"""


def _dataset(runtime: Runtime) -> int:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(320, 8))
    y = x @ rng.normal(size=8) + 0.3 * np.sin(3 * x[:, 0])
    frame = pd.DataFrame({**{f"x{i}": x[:, i] for i in range(8)}, "y": y})
    return runtime.dataset("continue", csv_bytes(frame))


def _without_time(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if k != "time"}


def test_a_continued_session_goes_on_from_the_final_state(runtime: Runtime) -> None:
    task = runtime.task(_dataset(runtime), "y", "regression")
    settings = task["settings"]
    settings["code"]["architecture"] = ARCHITECTURE
    settings["training"].update(epochs=EPOCHS, early_stopping={"enabled": False, "patience": 5})
    assert runtime.api.put(f"/api/v1/ml-tasks/{task['id']}/settings", json=settings).status_code == 200
    source = runtime.train_and_wait(task["id"])
    assert source["status"] == "succeeded", (source["error"], runtime.log_tail())

    client = Client("http://testserver", runtime.api.token, transport=runtime.api.client._transport)
    continued = Session(client, source["id"]).continue_training(MORE)
    final = continued.wait(timeout=240, poll=0.2)
    assert final["status"] == "succeeded", (final["error"], runtime.log_tail())
    assert final["continued_from"] == source["id"] and final["number"] == source["number"] + 1
    epochs = [h["epoch"] for h in final["history"]]
    assert epochs == list(range(1, EPOCHS + MORE + 1))  # the numbers go on with no gap, each epoch once
    # The source's epochs, as its final state holds them (the worker's per-epoch "time" is not part of that state).
    assert [_without_time(h) for h in final["history"][:EPOCHS]] == [_without_time(h) for h in source["history"]]
    last, first_more = source["history"][-1]["loss"], final["history"][EPOCHS]["loss"]
    print(f"continued: last epoch loss {last:.5f}, next epoch {first_more:.5f} ({first_more / last - 1:+.1%})")
    assert abs(first_more - last) <= 0.05 * last, (last, first_more)  # within a few percent: no restart's jump
    log = runtime.api.get(f"/api/v1/sessions/{final['id']}/log").text
    assert f"resuming from the checkpoint after epoch {EPOCHS}: weights, optimizer state" in log

    model = runtime.api.get(f"/api/v1/trained-models/{final['trained_model_id']}").json()
    assert {"kind": "continued_from", "session_id": source["id"], "session_number": source["number"],
            "trained_model_id": source["trained_model_id"]} in model["lineage"]  # fmt: skip
    assert final["trained_model_id"] != source["trained_model_id"]

    # A continued session can be continued in turn; a running or queued one cannot.
    again = Session(client, final["id"]).continue_training(1)
    with pytest.raises(Conflict):
        Session(client, again.id).continue_training(1)
    assert again.wait(timeout=240, poll=0.2)["history"][-1]["epoch"] == EPOCHS + MORE + 1
