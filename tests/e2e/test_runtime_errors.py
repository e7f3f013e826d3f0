"""Errors in user code on a real worker: type, message, cell and line; refused syntax; a wrong output width;
and the worker goes on training afterwards."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Runtime

pytestmark = pytest.mark.slow

RAISING_ARCHITECTURE = """from keras.layers import Input, Dense
from keras.models import Model


def build_model(input_shapes, n_classes=None):
    main_input = Input(shape=input_shapes["main"], name="main")
    raise ValueError("no architecture for you: %d inputs" % len(input_shapes))


def compile_model(model):
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model
"""
RAISING_ARCHITECTURE_LINE = 7

RAISING_TRAINING = """def build_sequences(build_train, build_validation):
    return build_train(32), build_validation(32)


def helper(sequence):
    return sequence[0][0]["main"].shape[1] / 0


def fit_model(model, train_sequence, validation_sequence, base_callbacks):
    width = helper(train_sequence)
    model.fit(train_sequence, epochs=1, callbacks=base_callbacks, validation_data=validation_sequence)
"""
RAISING_TRAINING_LINE = 6  # the division, in helper(), called by fit_model()

WIDE_OUTPUT_ARCHITECTURE = """from keras.layers import Input, Dense
from keras.models import Model


def build_model(input_shapes, n_classes=None):
    main_input = Input(shape=input_shapes["main"], name="main")
    x = Dense(8, activation="relu")(main_input)
    return Model(inputs=main_input, outputs=Dense(3, activation="softmax")(x))


def compile_model(model):
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model
"""


@pytest.fixture(scope="module")
def dataset(runtime: Runtime) -> int:
    from server.services.bootstrap import demo_bytes

    return runtime.dataset("bc", demo_bytes("breast_cancer").getvalue())


@pytest.fixture(scope="module")
def failing(runtime: Runtime, dataset: int) -> dict[str, int]:
    """The failing trainings of this module, submitted together: name -> session id."""
    patches: dict[str, dict[str, Any]] = {
        "architecture": {"code": {"architecture": RAISING_ARCHITECTURE}},
        "training": {"training": {"mode": "advanced"}, "code": {"training": RAISING_TRAINING}},
        "width": {"code": {"architecture": WIDE_OUTPUT_ARCHITECTURE}},
    }
    return {
        name: runtime.train(runtime.task(dataset, "diagnosis", patch=patch)["id"])["id"]
        for name, patch in patches.items()
    }


def failed(runtime: Runtime, session_id: int) -> dict[str, Any]:
    final = runtime.wait(session_id)
    assert final["status"] == "failed", (final, runtime.log_tail())
    assert final["trained_model_id"] is None
    assert final["error"] is not None
    return final


def test_exception_in_build_model_points_at_its_line(runtime: Runtime, failing: dict[str, int]) -> None:
    error = failed(runtime, failing["architecture"])["error"]
    assert error["type"] == "ValueError", error
    assert error["cell"] == "architecture", error
    assert error["line"] == RAISING_ARCHITECTURE_LINE, error
    assert "no architecture for you: 1 inputs" in error["message"], error
    tb = error["traceback"]
    assert tb and "build_model" in tb and f"line {RAISING_ARCHITECTURE_LINE}" in tb, tb
    # The user's frames come first in the trimmed traceback.
    assert tb.index("build_model") < tb.index("ValueError"), tb


def test_exception_in_fit_model_points_at_the_training_cell(runtime: Runtime, failing: dict[str, int]) -> None:
    error = failed(runtime, failing["training"])["error"]
    assert error["type"] == "ZeroDivisionError", error
    assert error["cell"] == "training", error
    assert error["line"] == RAISING_TRAINING_LINE, error
    assert "division by zero" in error["message"], error
    assert error["traceback"] and "fit_model" in error["traceback"] and "helper" in error["traceback"], error


def test_syntax_error_is_refused_on_save(runtime: Runtime, dataset: int) -> None:
    task = runtime.task(dataset, "diagnosis")
    before = runtime.api.get(f"/api/v1/ml-tasks/{task['id']}/settings").json()
    broken = dict(before)
    broken["code"] = {**before["code"], "architecture": before["code"]["architecture"] + "\n\ndef oops(:\n    pass\n"}
    bad_line = broken["code"]["architecture"].splitlines().index("def oops(:") + 1
    r = runtime.api.put(f"/api/v1/ml-tasks/{task['id']}/settings", json=broken)
    assert r.status_code == 422, r.text
    errors = r.json()["errors"]
    assert {"cell": "architecture", "line": bad_line} in [
        {"cell": e.get("cell"), "line": e.get("line")} for e in errors
    ], errors
    assert runtime.api.get(f"/api/v1/ml-tasks/{task['id']}/settings").json() == before
    # Training the stored (valid) design still works: nothing was half-saved.
    assert runtime.api.post(f"/api/v1/ml-tasks/{task['id']}/validate").json() == {
        "ok": True,
        "errors": [],
        "warnings": [],
    }


def test_output_of_the_wrong_width_fails_with_a_clear_message(runtime: Runtime, failing: dict[str, int]) -> None:
    error = failed(runtime, failing["width"])["error"]
    assert "width" in error["message"] and "3" in error["message"], error
    assert "binary" in error["message"].lower() or "Binary" in error["message"], error


def test_worker_survives_and_trains_normally_afterwards(
    runtime: Runtime, dataset: int, failing: dict[str, int]
) -> None:
    for session_id in failing.values():
        assert runtime.wait(session_id)["status"] == "failed"
    task = runtime.task(dataset, "diagnosis", patch={"training": {"epochs": 1}})
    final = runtime.train_and_wait(task["id"])
    assert final["status"] == "succeeded", (final["error"], runtime.log_tail())
    assert len(final["history"]) == 1 and final["trained_model_id"]
    assert runtime.api.get(f"/api/v1/ml-tasks/{task['id']}/trained-models").json() == [final["trained_model_id"]]
