"""Analyses and ML tasks through HTTP: creation, prediction type inference, settings, validation (api.md)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.server.api import support
from tests.server.api.support import API, SHORT_ID, expect, expect_error, send_raw

SETTINGS_KEYS = {"features", "split", "metric", "training", "gpu", "image", "text", "code"}
MLTASK_KEYS = {"id", "analysis_id", "name", "target", "prediction_type", "settings"}

GOOD_ARCHITECTURE = """\
from keras.layers import Input, Dense
from keras.models import Model


def build_model(input_shapes, n_classes=None):
    x = Input(shape=input_shapes["main"], name="main")
    return Model(inputs=x, outputs=Dense(n_classes, activation="softmax")(x))


def compile_model(model):
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model
"""


def _put_settings(api: Any, mltask_id: str, doc: Any, token: str | None = None) -> Any:
    return api.put(f"{API}/ml-tasks/{mltask_id}/settings", json=doc, token=token)


# --- analyses ------------------------------------------------------------------------------------------------------


def test_create_analysis_returns_201_with_an_8_character_id(api: Any, project: str, dataset: dict[str, Any]) -> None:
    body = expect(api.post(f"{API}/projects/{project}/analyses", json={"dataset_id": dataset["id"], "name": "A1"}), 201)
    assert {"id", "name", "dataset_id", "project_key"} <= set(body)
    assert SHORT_ID.match(body["id"])
    assert (body["name"], body["dataset_id"], body["project_key"]) == ("A1", dataset["id"], project)


def test_analysis_name_defaults_when_left_out(api: Any, project: str, dataset: dict[str, Any]) -> None:
    body = expect(api.post(f"{API}/projects/{project}/analyses", json={"dataset_id": dataset["id"]}), 201)
    assert body["name"]


def test_list_and_get_analyses(api: Any, project: str, dataset: dict[str, Any]) -> None:
    first = support.create_analysis(api, project, dataset["id"], "first")
    second = support.create_analysis(api, project, dataset["id"], "second")
    listed = expect(api.get(f"{API}/projects/{project}/analyses"), 200)
    assert [a["id"] for a in listed] == [first["id"], second["id"]]
    assert expect(api.get(f"{API}/analyses/{second['id']}"), 200) == second


def test_create_analysis_on_an_unknown_dataset_is_422(api: Any, project: str) -> None:
    body = expect_error(api.post(f"{API}/projects/{project}/analyses", json={"dataset_id": 424242}), 422)
    assert any(e.get("field") == "dataset_id" for e in body["errors"])


def test_create_analysis_on_a_dataset_id_beyond_int64_is_422(api: Any, project: str) -> None:
    expect_error(api.post(f"{API}/projects/{project}/analyses", json={"dataset_id": 10**20}), 422)


def test_create_analysis_on_a_dataset_of_another_project_is_422(api: Any, project: str) -> None:
    support.create_project(api, "OTHER")
    foreign = expect(support.upload(api, "OTHER", "o", support.SMALL_CSV, "o.csv"), 201)
    expect_error(api.post(f"{API}/projects/{project}/analyses", json={"dataset_id": foreign["id"]}), 422)
    assert expect(api.get(f"{API}/projects/{project}/analyses"), 200) == []


@pytest.mark.parametrize(
    "body",
    [{}, {"name": "no dataset"}, {"dataset_id": "abc"}, {"dataset_id": None}],
    ids=["empty", "missing-dataset", "string-id", "null-id"],
)
def test_create_analysis_with_missing_or_invalid_fields_is_422(api: Any, project: str, body: dict[str, Any]) -> None:
    expect_error(api.post(f"{API}/projects/{project}/analyses", json=body), 422)


def test_create_analysis_with_malformed_json_is_400(api: Any, project: str) -> None:
    expect_error(send_raw(api, "POST", f"{API}/projects/{project}/analyses", b"{'dataset_id': 1}"), 400)


def test_create_analysis_in_unknown_project_is_404(api: Any) -> None:
    expect_error(api.post(f"{API}/projects/NOPE/analyses", json={"dataset_id": 1}), 404, "not_found")


@pytest.mark.parametrize("path", ["/analyses/{id}", "/analyses/{id}/ml-tasks"])
def test_unknown_analysis_is_404(api: Any, path: str) -> None:
    for analysis_id in ("zzzzzzzz", "abc", "a" * 300, "%20", "12345678"):
        expect_error(api.get(API + path.format(id=analysis_id)), 404, "not_found")


def test_create_ml_task_in_unknown_analysis_is_404(api: Any) -> None:
    expect_error(api.post(f"{API}/analyses/zzzzzzzz/ml-tasks", json={"target": "x"}), 404, "not_found")


# --- ML task creation ----------------------------------------------------------------------------------------------


def test_create_ml_task_returns_201_with_generated_default_settings(
    api: Any, analysis: dict[str, Any], dataset: dict[str, Any]
) -> None:
    body = expect(api.post(f"{API}/analyses/{analysis['id']}/ml-tasks", json={"target": "diagnosis"}), 201)
    assert MLTASK_KEYS <= set(body)
    assert SHORT_ID.match(body["id"])
    assert body["analysis_id"] == analysis["id"]
    assert body["target"] == "diagnosis"
    assert body["prediction_type"] == "binary"
    assert body["name"]
    settings = body["settings"]
    assert set(settings) == SETTINGS_KEYS
    assert settings["metric"] == "ROC AUC"
    assert "diagnosis" not in settings["features"]
    assert set(settings["features"]) == {c["name"] for c in dataset["columns"]} - {"diagnosis"}
    assert all(f["role"] == "input" and f["type"] == "numeric" for f in settings["features"].values())
    assert "def build_model" in settings["code"]["architecture"]
    assert set(settings["code"]) == {"architecture", "training", "custom_score"}
    assert {"train_ratio", "seed"} <= set(settings["split"])
    assert {"mode", "epochs", "batch_size", "steps_per_epoch", "shuffle", "early_stopping", "time_limit_s"} <= set(
        settings["training"]
    )
    assert {"use_gpu", "gpu_list", "allow_growth"} <= set(settings["gpu"])


@pytest.mark.parametrize(
    ("target", "expected", "metric"),
    [
        ("bin", "binary", "ROC AUC"),
        ("cat", "multiclass", "ROC AUC"),
        ("klass", "multiclass", "ROC AUC"),
        ("score", "regression", "R2 Score"),
        ("num", "regression", "R2 Score"),
    ],
    ids=[
        "two-strings-binary",
        "three-strings-multiclass",
        "three-ints-multiclass",
        "floats-regression",
        "many-values-regression",
    ],
)
def test_prediction_type_is_inferred_from_the_target_when_not_given(
    api: Any, project: str, typed_dataset: dict[str, Any], target: str, expected: str, metric: str
) -> None:
    analysis = support.create_analysis(api, project, typed_dataset["id"])
    body = support.create_ml_task(api, analysis["id"], target)
    assert body["prediction_type"] == expected
    assert body["settings"]["metric"] == metric


def test_prediction_type_is_inferred_as_binary_for_the_demo_target(api: Any, ml_task: dict[str, Any]) -> None:
    assert ml_task["prediction_type"] == "binary"


def test_an_explicit_prediction_type_is_kept(api: Any, project: str, typed_dataset: dict[str, Any]) -> None:
    analysis = support.create_analysis(api, project, typed_dataset["id"])
    body = support.create_ml_task(api, analysis["id"], "klass", prediction_type="regression", name="as numbers")
    assert (body["prediction_type"], body["name"]) == ("regression", "as numbers")
    assert body["settings"]["metric"] == "R2 Score"


def test_unknown_target_column_is_422_naming_the_field(api: Any, analysis: dict[str, Any]) -> None:
    body = expect_error(api.post(f"{API}/analyses/{analysis['id']}/ml-tasks", json={"target": "nope"}), 422)
    assert any(e.get("field") == "target" for e in body["errors"])
    assert expect(api.get(f"{API}/analyses/{analysis['id']}/ml-tasks"), 200) == []


def test_unknown_or_impossible_prediction_type_is_422(api: Any, analysis: dict[str, Any]) -> None:
    for prediction_type in ("clustering", "regression", "", "BINARY"):  # regression: the target holds strings
        body = {"target": "diagnosis", "prediction_type": prediction_type}
        expect_error(api.post(f"{API}/analyses/{analysis['id']}/ml-tasks", json=body), 422)
    assert expect(api.get(f"{API}/analyses/{analysis['id']}/ml-tasks"), 200) == []


def test_binary_on_a_three_class_target_is_422(api: Any, project: str, typed_dataset: dict[str, Any]) -> None:
    analysis = support.create_analysis(api, project, typed_dataset["id"])
    r = api.post(f"{API}/analyses/{analysis['id']}/ml-tasks", json={"target": "cat", "prediction_type": "binary"})
    expect_error(r, 422, "bad_target")


def test_target_with_a_single_value_is_422(api: Any, project: str) -> None:
    ds = expect(support.upload(api, project, "const", b"x,y\n1,a\n2,a\n3,a\n", "c.csv"), 201)
    analysis = support.create_analysis(api, project, ds["id"])
    expect_error(api.post(f"{API}/analyses/{analysis['id']}/ml-tasks", json={"target": "y"}), 422, "bad_target")


def test_target_with_no_values_is_422(api: Any, project: str) -> None:
    ds = expect(support.upload(api, project, "holes", b"x,y\n1,\n2,\n3,\n", "h.csv"), 201)
    analysis = support.create_analysis(api, project, ds["id"])
    expect_error(api.post(f"{API}/analyses/{analysis['id']}/ml-tasks", json={"target": "y"}), 422, "bad_target")


def test_create_ml_task_with_missing_or_invalid_fields_is_422(api: Any, analysis: dict[str, Any]) -> None:
    missing = expect_error(api.post(f"{API}/analyses/{analysis['id']}/ml-tasks", json={}), 422)
    assert any(e.get("field") == "target" for e in missing["errors"])
    for body in ({"target": None}, {"target": 3}, {"target": "diagnosis", "extra": 1}, {"target": ["diagnosis"]}):
        expect_error(api.post(f"{API}/analyses/{analysis['id']}/ml-tasks", json=body), 422)


def test_create_ml_task_with_malformed_json_is_400(api: Any, analysis: dict[str, Any]) -> None:
    expect_error(send_raw(api, "POST", f"{API}/analyses/{analysis['id']}/ml-tasks", b'{"target": diagnosis}'), 400)


# --- ML task reads -------------------------------------------------------------------------------------------------


def test_list_and_get_ml_tasks(api: Any, analysis: dict[str, Any], ml_task: dict[str, Any]) -> None:
    other = support.create_ml_task(api, analysis["id"], "mean radius")
    listed = expect(api.get(f"{API}/analyses/{analysis['id']}/ml-tasks"), 200)
    assert [t["id"] for t in listed] == [ml_task["id"], other["id"]]
    got = expect(api.get(f"{API}/ml-tasks/{ml_task['id']}"), 200)
    assert MLTASK_KEYS <= set(got)
    assert got == ml_task


def test_get_settings_returns_every_key(api: Any, ml_task: dict[str, Any]) -> None:
    settings = expect(api.get(f"{API}/ml-tasks/{ml_task['id']}/settings"), 200)
    assert set(settings) == SETTINGS_KEYS
    assert settings == ml_task["settings"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/ml-tasks/{id}"),
        ("GET", "/ml-tasks/{id}/settings"),
        ("PUT", "/ml-tasks/{id}/settings"),
        ("POST", "/ml-tasks/{id}/validate"),
        ("POST", "/ml-tasks/{id}/train"),
        ("GET", "/ml-tasks/{id}/sessions"),
        ("GET", "/ml-tasks/{id}/sessions/1"),
        ("GET", "/ml-tasks/{id}/trained-models"),
    ],
)
def test_unknown_ml_task_is_404(api: Any, method: str, path: str) -> None:
    kwargs = {"json": {"metric": "Accuracy"}} if method != "GET" else {}
    for mltask_id in ("zzzzzzzz", "x", "a" * 100):
        r = api.client.request(method, API + path.format(id=mltask_id), headers=api.headers(), **kwargs)
        expect_error(r, 404, "not_found")


# --- settings ------------------------------------------------------------------------------------------------------


def test_put_settings_updates_the_given_keys_and_keeps_the_others(api: Any, ml_task: dict[str, Any]) -> None:
    before = ml_task["settings"]
    training = {**before["training"], "epochs": 3, "batch_size": 16}
    body = expect(_put_settings(api, ml_task["id"], {"metric": "Accuracy", "training": training}), 200)
    assert set(body) == SETTINGS_KEYS
    assert body["metric"] == "Accuracy"
    assert (body["training"]["epochs"], body["training"]["batch_size"]) == (3, 16)
    assert body["features"] == before["features"]
    assert body["code"] == before["code"]
    assert expect(api.get(f"{API}/ml-tasks/{ml_task['id']}/settings"), 200) == body
    assert expect(api.get(f"{API}/ml-tasks/{ml_task['id']}"), 200)["settings"] == body


def test_put_settings_accepts_the_full_document_it_got(api: Any, ml_task: dict[str, Any]) -> None:
    settings = expect(api.get(f"{API}/ml-tasks/{ml_task['id']}/settings"), 200)
    assert expect(_put_settings(api, ml_task["id"], settings), 200) == settings


def test_put_settings_can_reject_a_feature_and_replace_the_architecture(api: Any, ml_task: dict[str, Any]) -> None:
    features = dict(ml_task["settings"]["features"])
    features["mean radius"] = {"role": "reject", "type": "numeric"}
    code = {**ml_task["settings"]["code"], "architecture": GOOD_ARCHITECTURE}
    body = expect(_put_settings(api, ml_task["id"], {"features": features, "code": code}), 200)
    assert body["features"]["mean radius"]["role"] == "reject"
    assert body["code"]["architecture"] == GOOD_ARCHITECTURE


def test_put_settings_with_an_unknown_metric_is_422(api: Any, ml_task: dict[str, Any]) -> None:
    for metric in ("Nope", "R2 Score", "", "roc auc"):  # unknown, a regression metric, empty, wrong case
        body = expect_error(_put_settings(api, ml_task["id"], {"metric": metric}), 422, "invalid_settings")
        assert [e["field"] for e in body["errors"]] == ["metric"], metric


def test_put_settings_with_an_unknown_column_in_features_is_422(api: Any, ml_task: dict[str, Any]) -> None:
    features = {**ml_task["settings"]["features"], "ghost": {"role": "input", "type": "numeric"}}
    body = expect_error(_put_settings(api, ml_task["id"], {"features": features}), 422)
    assert [e["field"] for e in body["errors"]] == ["features.ghost"]
    assert "ghost" in body["errors"][0]["message"]


def test_put_settings_with_the_target_as_a_feature_is_422(api: Any, ml_task: dict[str, Any]) -> None:
    features = {**ml_task["settings"]["features"], "diagnosis": {"role": "input", "type": "categorical"}}
    body = expect_error(_put_settings(api, ml_task["id"], {"features": features}), 422)
    assert [e["field"] for e in body["errors"]] == ["features.diagnosis"]


def test_put_settings_with_every_feature_rejected_is_422(api: Any, ml_task: dict[str, Any]) -> None:
    features = {name: {**f, "role": "reject"} for name, f in ml_task["settings"]["features"].items()}
    body = expect_error(_put_settings(api, ml_task["id"], {"features": features}), 422)
    assert any(e.get("field") == "features" for e in body["errors"])


def test_put_settings_with_a_syntax_error_reports_the_cell_and_line(api: Any, ml_task: dict[str, Any]) -> None:
    broken = "import keras\n\ndef build_model(input_shapes, n_classes=None)\n    return None\n"
    code = {**ml_task["settings"]["code"], "architecture": broken}
    body = expect_error(_put_settings(api, ml_task["id"], {"code": code}), 422, "invalid_settings")
    assert len(body["errors"]) == 1
    error = body["errors"][0]
    assert error["cell"] == "architecture"
    assert error["line"] == 3
    assert "syntax" in error["message"].lower()


def test_put_settings_with_architecture_lacking_build_model_is_422(api: Any, ml_task: dict[str, Any]) -> None:
    code = {**ml_task["settings"]["code"], "architecture": "def compile_model(model):\n    return model\n"}
    body = expect_error(_put_settings(api, ml_task["id"], {"code": code}), 422, "invalid_settings")
    assert [e["cell"] for e in body["errors"]] == ["architecture"]
    assert "build_model" in body["errors"][0]["message"]


def test_put_settings_with_build_model_taking_no_arguments_is_422(api: Any, ml_task: dict[str, Any]) -> None:
    arch = "def build_model():\n    pass\n\n\ndef compile_model(model):\n    return model\n"
    code = {**ml_task["settings"]["code"], "architecture": arch}
    body = expect_error(_put_settings(api, ml_task["id"], {"code": code}), 422)
    assert body["errors"][0] == {"cell": "architecture", "line": 1, "message": body["errors"][0]["message"]}
    assert "build_model" in body["errors"][0]["message"]


def test_put_settings_in_advanced_mode_needs_a_parsable_training_cell(api: Any, ml_task: dict[str, Any]) -> None:
    training = {**ml_task["settings"]["training"], "mode": "advanced"}
    code = {**ml_task["settings"]["code"], "training": "def fit_model(model:\n"}
    body = expect_error(_put_settings(api, ml_task["id"], {"training": training, "code": code}), 422)
    assert [(e["cell"], e["line"]) for e in body["errors"]] == [("training", 1)]


def test_put_settings_reports_every_error_at_once(api: Any, ml_task: dict[str, Any]) -> None:
    features = {**ml_task["settings"]["features"], "ghost": {"role": "input", "type": "numeric"}}
    code = {**ml_task["settings"]["code"], "architecture": "x = (\n"}
    body = expect_error(_put_settings(api, ml_task["id"], {"metric": "Nope", "features": features, "code": code}), 422)
    assert {e.get("field") or e.get("cell") for e in body["errors"]} == {"features.ghost", "metric", "architecture"}


INVALID_SETTINGS = [
    {"training": {"epochs": 0}},
    {"training": {"mode": "turbo"}},
    {"training": {"batch_size": "many"}},
    {"split": {"train_ratio": 1.5}},
    {"image": {"channels": 2}},
    {"gpu": {"gpu_list": "0"}},
    {"features": {"mean radius": {"role": "maybe", "type": "numeric"}}},
    {"features": ["mean radius"]},
    {"unknown_key": 1},
    {"code": {"architecture": 42}},
    {"code": {"notebook": ""}},
]


def test_put_settings_with_invalid_values_is_422_naming_the_field(api: Any, ml_task: dict[str, Any]) -> None:
    for doc in INVALID_SETTINGS:
        body = expect_error(_put_settings(api, ml_task["id"], doc), 422, "invalid_settings")
        top = next(iter(doc))
        assert any(str(e.get("field", "")).startswith(top) for e in body["errors"]), (doc, body)
    assert expect(api.get(f"{API}/ml-tasks/{ml_task['id']}/settings"), 200) == ml_task["settings"]


def test_put_settings_that_is_not_an_object_is_422(api: Any, ml_task: dict[str, Any]) -> None:
    for payload in (b"[1, 2]", b'"settings"', b"null", b"3"):
        expect_error(send_raw(api, "PUT", f"{API}/ml-tasks/{ml_task['id']}/settings", payload), 422)


def test_put_settings_with_malformed_json_is_400(api: Any, ml_task: dict[str, Any]) -> None:
    expect_error(send_raw(api, "PUT", f"{API}/ml-tasks/{ml_task['id']}/settings", b'{"metric": '), 400)


def test_put_settings_without_a_body_is_422(api: Any, ml_task: dict[str, Any]) -> None:
    expect_error(api.client.put(f"{API}/ml-tasks/{ml_task['id']}/settings", headers=api.headers()), 422)


def test_a_rejected_put_settings_changes_nothing(api: Any, ml_task: dict[str, Any]) -> None:
    expect_error(_put_settings(api, ml_task["id"], {"metric": "Nope", "training": {"epochs": 5}}), 422)
    assert expect(api.get(f"{API}/ml-tasks/{ml_task['id']}/settings"), 200) == ml_task["settings"]


# --- validate ------------------------------------------------------------------------------------------------------


def test_validate_without_a_body_checks_the_stored_settings(api: Any, ml_task: dict[str, Any]) -> None:
    assert expect(api.post(f"{API}/ml-tasks/{ml_task['id']}/validate"), 200) == {
        "ok": True,
        "errors": [],
        "warnings": [],
    }


def test_validate_with_valid_settings_is_ok_and_does_not_store_them(api: Any, ml_task: dict[str, Any]) -> None:
    assert expect(api.post(f"{API}/ml-tasks/{ml_task['id']}/validate", json={"metric": "Accuracy"}), 200) == {
        "ok": True,
        "errors": [],
        "warnings": [],
    }
    assert expect(api.get(f"{API}/ml-tasks/{ml_task['id']}/settings"), 200)["metric"] == "ROC AUC"


def test_validate_with_invalid_settings_returns_200_with_the_errors(api: Any, ml_task: dict[str, Any]) -> None:
    code = {**ml_task["settings"]["code"], "architecture": "def build_model(a, b):\n    return (\n"}
    body = expect(api.post(f"{API}/ml-tasks/{ml_task['id']}/validate", json={"metric": "Nope", "code": code}), 200)
    assert body["ok"] is False
    fields = {e.get("field") or e.get("cell") for e in body["errors"]}
    assert fields == {"metric", "architecture"}
    assert next(e for e in body["errors"] if e.get("cell") == "architecture")["line"] == 2


def test_validate_with_a_body_that_is_not_an_object_reports_it(api: Any, ml_task: dict[str, Any]) -> None:
    body = expect(send_raw(api, "POST", f"{API}/ml-tasks/{ml_task['id']}/validate", b"[1]"), 200)
    assert body["ok"] is False and body["errors"]


def test_validate_with_malformed_json_is_400(api: Any, ml_task: dict[str, Any]) -> None:
    expect_error(send_raw(api, "POST", f"{API}/ml-tasks/{ml_task['id']}/validate", b"{nope"), 400)


def test_a_reader_can_validate_but_not_dry_run(api: Any, project: str, ml_task: dict[str, Any]) -> None:
    reader = api.user("rita", project, "reader")
    assert expect(api.post(f"{API}/ml-tasks/{ml_task['id']}/validate", token=reader), 200)["ok"] is True
    r = api.post(f"{API}/ml-tasks/{ml_task['id']}/validate", params={"dry_run": "true"}, token=reader)
    expect_error(r, 403, "forbidden")


def test_a_reader_cannot_change_settings(api: Any, project: str, ml_task: dict[str, Any]) -> None:
    reader = api.user("rita", project, "reader")
    expect_error(_put_settings(api, ml_task["id"], {"metric": "Accuracy"}, token=reader), 403, "forbidden")
    assert expect(api.get(f"{API}/ml-tasks/{ml_task['id']}/settings"), 200)["metric"] == "ROC AUC"
