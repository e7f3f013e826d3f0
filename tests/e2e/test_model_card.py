"""Really trained models record their library versions and seeds; training.seed makes a run repeatable; the card
shows it all, with the model a fine-tune loaded."""

from __future__ import annotations

import platform

import pytest

from tests.e2e.conftest import Runtime, csv_bytes
from tests.e2e.test_models import cancer_frame

pytestmark = pytest.mark.slow

FINE_TUNE = """
from fitstudio.deep_learning.load_model import get_keras_model_from_trained_model
from keras.layers import Dense
from keras.models import Model


def build_model(input_shapes, n_classes=None):
    base = get_keras_model_from_trained_model(session_id="s1", mltask_id="{mltask}")
    base.trainable = False
    return Model(inputs=base.inputs, outputs=Dense(n_classes, activation="softmax", name="tuned")(base.outputs[0]))


def compile_model(model):
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model
"""


def _first_loss(runtime: Runtime, tmid: str) -> float:
    return float(runtime.api.get(f"/api/v1/trained-models/{tmid}").json()["history"][0]["loss"])


def test_versions_seeds_and_card(runtime: Runtime) -> None:
    import keras
    import numpy as np
    import tensorflow as tf

    from fitstudio.client import Client

    ds = runtime.dataset("cancer-card", csv_bytes(cancer_frame()))
    task = runtime.task(ds, "diagnosis", patch={"training": {"epochs": 1, "seed": 7}})
    assert task["settings"]["training"]["seed"] == 7
    first, second = runtime.train(task["id"]), runtime.train(task["id"])  # s1 and s2, the same design
    done = [runtime.wait(s["id"]) for s in (first, second)]
    for final in done:
        assert final["status"] == "succeeded", (final["error"], runtime.log_tail())
    tmid, tmid2 = (final["trained_model_id"] for final in done)

    # The same training.seed: the same initial weights, so the same first epoch (the split seed is shared too).
    assert _first_loss(runtime, tmid) == pytest.approx(_first_loss(runtime, tmid2), rel=1e-6)
    details = runtime.api.get(f"/api/v1/trained-models/{tmid}").json()
    assert details["seeds"] == {"split": 1337, "tensorflow": 7, "tensorflow_drawn": False}
    env = details["environment"]
    assert env["tensorflow"] == tf.__version__ and env["keras"] == keras.__version__
    assert env["numpy"] == np.__version__ and env["python"] == platform.python_version()
    assert env["pandas"] and env["scikit-learn"] and env["fitstudio"]

    # A fine-tune of s1 with a null seed: drawn, recorded, and its lineage names s1's model.
    tuned_task = runtime.task(
        ds,
        "diagnosis",
        patch={
            "training": {"epochs": 1, "seed": None},
            "code": {"architecture": FINE_TUNE.replace("{mltask}", task["id"])},
        },
    )
    tuned = runtime.train_and_wait(tuned_task["id"])
    assert tuned["status"] == "succeeded", (tuned["error"], runtime.log_tail())
    tuned_details = runtime.api.get(f"/api/v1/trained-models/{tuned['trained_model_id']}").json()
    seeds = tuned_details["seeds"]
    assert seeds["tensorflow_drawn"] is True and isinstance(seeds["tensorflow"], int)
    assert [entry["trained_model_id"] or entry["id"] for entry in tuned_details["lineage"]] == [tmid]

    client = Client("http://testserver", runtime.api.token, transport=runtime.api.client._transport)
    html = client.get_trained_model(tmid).get_card()
    score = details["metrics"][f"Test {details['metric']}"]
    assert f"<td>{details['metric']}</td><td>{score:.4g}</td>" in html
    assert f"<td>Best epoch</td><td>{details['best_epoch']} of 1</td>" in html
    assert (
        f"<td>tensorflow</td><td>{tf.__version__}</td>" in html
        and f"<td>keras</td><td>{keras.__version__}</td>" in html
    )
    assert "<td>tensorflow</td><td>7</td>" in html and "<td>split</td><td>1337</td>" in html
    assert "def build_model" in html and html.count("<svg") >= 2

    md = client.get_trained_model(tuned["trained_model_id"]).get_card(format="md")
    assert f"| tensorflow | {tf.__version__} |" in md and f"| keras | {keras.__version__} |" in md
    assert f"| tensorflow | {seeds['tensorflow']} (drawn at random: training.seed was null) |" in md
    assert 'get_keras_model_from_trained_model(session_id="s1"' in md  # the frozen code, as it ran
    assert f"| {tmid} |" in md  # the lineage table names the model it was fine-tuned from
