"""server/services/defaults.py: complete default settings, and default code that checks and builds with Keras."""

from __future__ import annotations

import copy
import json
from typing import Any

import numpy as np
import pytest

from core.catalog import DEFAULT_METRIC, PREDICTION_TYPES, is_valid_metric
from server.services.code_check import check_code
from server.services.defaults import (
    CUSTOM_SCORE_EXAMPLE,
    TRAINING_DEFAULT,
    architecture_code,
    default_settings,
    input_kinds,
)

# The settings document of api.md, as {key: nested keys or None}.
SPEC_SETTINGS_KEYS: dict[str, Any] = {
    "features": None,
    "split": {"train_ratio": None, "seed": None},
    "metric": None,
    "training": {
        "mode": None,
        "epochs": None,
        "batch_size": None,
        "steps_per_epoch": None,
        "shuffle": None,
        "early_stopping": {"enabled": None, "patience": None},
        "time_limit_s": None,
        "seed": None,  # issue 20: the TensorFlow seed, beside the spec's keys
    },
    "gpu": {"use_gpu": None, "gpu_list": None, "allow_growth": None},
    "image": {"height": None, "width": None, "channels": None},
    "text": {"max_tokens": None, "sequence_length": None},
    "code": {"architecture": None, "training": None, "custom_score": None},
}

COLUMNS = [
    {"name": "age", "type": "numeric"},
    {"name": "city", "type": "categorical"},
    {"name": "review", "type": "text"},
    {"name": "photo", "type": "image"},
    {"name": "label", "type": "categorical"},
]


def _assert_keys(doc: dict[str, Any], spec: dict[str, Any], where: str = "settings") -> None:
    assert set(doc) == set(spec), f"{where}: {sorted(doc)} != {sorted(spec)}"
    for key, sub in spec.items():
        if sub is not None:
            assert isinstance(doc[key], dict), f"{where}.{key} is not an object"
            _assert_keys(doc[key], sub, f"{where}.{key}")


@pytest.mark.parametrize("prediction_type", PREDICTION_TYPES)
def test_default_settings_have_every_key_of_the_spec(prediction_type: str) -> None:
    settings = default_settings(COLUMNS, "label", prediction_type)
    _assert_keys(settings, SPEC_SETTINGS_KEYS)
    json.dumps(settings)  # stored and returned as JSON


@pytest.mark.parametrize("prediction_type", PREDICTION_TYPES)
def test_default_values(prediction_type: str) -> None:
    settings = default_settings(COLUMNS, "label", prediction_type)
    assert settings["metric"] == DEFAULT_METRIC[prediction_type]
    assert is_valid_metric(prediction_type, settings["metric"])
    assert settings["split"] == {"train_ratio": 0.8, "seed": 1337}
    training = settings["training"]
    assert training["mode"] == "standard"
    assert (training["epochs"], training["batch_size"], training["steps_per_epoch"]) == (10, 32, None)
    assert training["shuffle"] is True
    assert training["early_stopping"] == {"enabled": True, "patience": 5}  # on for new tasks (decisions.md)
    assert settings["image"] == {"height": 64, "width": 64, "channels": 3}
    assert settings["text"] == {"max_tokens": 20000, "sequence_length": 128}
    assert settings["code"]["training"] == TRAINING_DEFAULT
    assert settings["code"]["custom_score"] == ""


def test_default_metrics_per_type() -> None:
    assert default_settings(COLUMNS, "label", "regression")["metric"] == "R2 Score"
    assert default_settings(COLUMNS, "label", "binary")["metric"] == "ROC AUC"
    assert default_settings(COLUMNS, "label", "multiclass")["metric"] == "ROC AUC"


def test_features_are_every_column_but_the_target() -> None:
    settings = default_settings(COLUMNS, "label", "binary")
    assert settings["features"] == {
        "age": {"role": "input", "type": "numeric"},
        "city": {"role": "input", "type": "categorical"},
        "review": {"role": "input", "type": "text"},
        "photo": {"role": "input", "type": "image"},
    }


def test_default_settings_do_not_share_state() -> None:
    one = default_settings(COLUMNS, "label", "binary")
    snapshot = copy.deepcopy(one)
    two = default_settings(COLUMNS, "label", "binary")
    two["training"]["early_stopping"]["patience"] = 9
    two["gpu"]["gpu_list"].append(1)
    assert one == snapshot


def test_input_kinds() -> None:
    features = default_settings(COLUMNS, "label", "binary")["features"]
    features["city"]["role"] = "reject"
    assert input_kinds(features) == {"main": "main", "review_preprocessed": "text", "photo_preprocessed": "image"}
    assert input_kinds({"x": {"role": "reject", "type": "numeric"}}) == {}


@pytest.mark.parametrize("prediction_type", PREDICTION_TYPES)
def test_generated_code_passes_the_check(prediction_type: str) -> None:
    code = dict(default_settings(COLUMNS, "label", prediction_type)["code"])
    assert check_code(code, advanced=False, custom_metric=False) == []
    assert check_code(code, advanced=True, custom_metric=False) == []
    code["custom_score"] = CUSTOM_SCORE_EXAMPLE
    assert check_code(code, advanced=True, custom_metric=True) == []


# ----------------------------------------------------------------------------- building the defaults with Keras

INPUT_CASES = {
    "tabular": {"main": "main"},
    "text_only": {"review_preprocessed": "text"},
    "image_only": {"photo_preprocessed": "image"},
    "everything": {"main": "main", "review_preprocessed": "text", "photo_preprocessed": "image"},
}
SHAPES = {"main": (7,), "review_preprocessed": (16,), "photo_preprocessed": (32, 32, 3)}
N_CLASSES = {"regression": 1, "binary": 2, "multiclass": 5}


def _inputs(names: list[str], n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for name in names:
        shape = (n, *SHAPES[name])
        if name == "review_preprocessed":
            out[name] = rng.integers(0, 20000, size=shape).astype("int32")
        else:
            out[name] = rng.random(shape).astype("float32")
    return out


@pytest.mark.parametrize("case", list(INPUT_CASES))
@pytest.mark.parametrize("prediction_type", PREDICTION_TYPES)
def test_default_architecture_builds_and_has_the_right_width(prediction_type: str, case: str) -> None:
    keras = pytest.importorskip("keras")
    kinds = INPUT_CASES[case]
    namespace: dict[str, Any] = {}
    exec(compile(architecture_code(prediction_type, kinds), "<architecture>", "exec"), namespace)
    n_classes = N_CLASSES[prediction_type]
    shapes = {name: SHAPES[name] for name in kinds}

    model = namespace["build_model"](shapes, n_classes)
    assert isinstance(model, keras.Model)
    assert sorted(t.name for t in model.inputs) == sorted(kinds)
    assert tuple(model.output.shape) == (None, n_classes)

    compiled = namespace["compile_model"](model)
    assert compiled is model
    expected_loss = "mean_squared_error" if prediction_type == "regression" else "categorical_crossentropy"
    assert model.loss == expected_loss

    rng = np.random.default_rng(0)
    x = _inputs(list(kinds), 4, rng)
    out = np.asarray(model.predict(x, verbose=0))
    assert out.shape == (4, n_classes)
    if prediction_type != "regression":
        np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)  # softmax head


@pytest.mark.parametrize("prediction_type", PREDICTION_TYPES)
def test_default_architecture_trains_one_step(prediction_type: str) -> None:
    pytest.importorskip("keras")
    namespace: dict[str, Any] = {}
    exec(architecture_code(prediction_type, {"main": "main"}), namespace)
    n_classes = N_CLASSES[prediction_type]
    model = namespace["compile_model"](namespace["build_model"]({"main": (7,)}, n_classes))
    rng = np.random.default_rng(1)
    x = {"main": rng.random((8, 7)).astype("float32")}
    if prediction_type == "regression":
        y = rng.random((8, 1)).astype("float32")
    else:
        y = np.eye(n_classes, dtype="float32")[rng.integers(0, n_classes, 8)]
    loss = model.train_on_batch(x, y)
    assert np.isfinite(np.asarray(loss)).all()
