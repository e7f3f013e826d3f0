"""The default architecture follows the inputs through HTTP: PUT settings regenerates an unedited cell, Validate
names the inputs an edited one reads that do not exist, and GET /ml-tasks/{id}/default-code (issue 16)."""

from __future__ import annotations

from typing import Any

from tests.server.api import support
from tests.server.api.support import API, expect

TEXT_INPUT = "txt_preprocessed"


def _task(api: Any, project: str, typed_dataset: dict[str, Any]) -> dict[str, Any]:
    analysis = support.create_analysis(api, project, typed_dataset["id"])
    task = support.create_ml_task(api, analysis["id"], "bin")
    assert TEXT_INPUT in task["settings"]["code"]["architecture"]
    return task


def _without_text(settings: dict[str, Any]) -> dict[str, Any]:
    features = {**settings["features"], "txt": {**settings["features"]["txt"], "role": "reject"}}
    return {**settings, "features": features}


def test_rejecting_the_text_column_regenerates_an_unedited_architecture(
    api: Any, project: str, typed_dataset: dict[str, Any]
) -> None:
    task = _task(api, project, typed_dataset)
    saved = expect(api.put(f"{API}/ml-tasks/{task['id']}/settings", json=_without_text(task["settings"])), 200)
    assert TEXT_INPUT not in saved["code"]["architecture"]
    assert 'input_shapes["main"]' in saved["code"]["architecture"]
    answer = expect(api.post(f"{API}/ml-tasks/{task['id']}/validate"), 200)
    assert answer["ok"] is True and answer["errors"] == [] and answer["warnings"] == []
    defaults = expect(api.get(f"{API}/ml-tasks/{task['id']}/default-code"), 200)
    assert defaults["architecture"] == saved["code"]["architecture"]
    # Taking the text column back brings its branch back.
    body = {"features": task["settings"]["features"]}
    again = expect(api.put(f"{API}/ml-tasks/{task['id']}/settings", json=body), 200)
    assert again["code"]["architecture"] == task["settings"]["code"]["architecture"]


def test_an_edited_architecture_is_kept_and_validate_reports_the_missing_input(
    api: Any, project: str, typed_dataset: dict[str, Any]
) -> None:
    task = _task(api, project, typed_dataset)
    edited = task["settings"]["code"]["architecture"].replace("Dense(64", "Dense(48")
    body = {**_without_text(task["settings"]), "code": {**task["settings"]["code"], "architecture": edited}}
    saved = expect(api.put(f"{API}/ml-tasks/{task['id']}/settings", json=body), 200)
    assert saved["code"]["architecture"] == edited
    answer = expect(api.post(f"{API}/ml-tasks/{task['id']}/validate"), 200)
    assert answer["ok"] is False
    [error] = answer["errors"]
    assert error["cell"] == "architecture" and TEXT_INPUT in error["message"] and error["line"] > 1


def test_validate_warns_about_an_input_the_architecture_ignores(
    api: Any, project: str, typed_dataset: dict[str, Any]
) -> None:
    task = _task(api, project, typed_dataset)
    main_only = expect(api.get(f"{API}/ml-tasks/{task['id']}/default-code"), 200)["architecture"]
    main_only = main_only.split("def build_model")[0] + (
        "def build_model(input_shapes, n_classes=None):\n"
        '    x = Input(shape=input_shapes["main"], name="main")\n'
        '    return Model(inputs=x, outputs=Dense(n_classes, activation="softmax")(x))\n\n\n'
        "def compile_model(model):\n"
        '    model.compile(optimizer="adam", loss="categorical_crossentropy")\n'
        "    return model\n"
    )
    body = {"code": {**task["settings"]["code"], "architecture": main_only}}
    answer = expect(api.post(f"{API}/ml-tasks/{task['id']}/validate", json=body), 200)
    assert answer["ok"] is True
    assert [w["field"] for w in answer["warnings"]] == ["code.architecture"]
    assert TEXT_INPUT in answer["warnings"][0]["message"]


def test_default_code_gives_every_cell(api: Any, project: str, typed_dataset: dict[str, Any]) -> None:
    from server.services.defaults import CUSTOM_SCORE_EXAMPLE, TRAINING_DEFAULT

    task = _task(api, project, typed_dataset)
    defaults = expect(api.get(f"{API}/ml-tasks/{task['id']}/default-code"), 200)
    assert set(defaults) == {"architecture", "training", "custom_score"}
    assert defaults["architecture"] == task["settings"]["code"]["architecture"]
    assert defaults["training"] == TRAINING_DEFAULT and defaults["custom_score"] == CUSTOM_SCORE_EXAMPLE
    expect(api.get(f"{API}/ml-tasks/nosuch12/default-code"), 404)
