"""The default architecture follows the inputs: regenerated unless edited, and Validate's input checks."""

from __future__ import annotations

from typing import Any

from server.services import architecture_inputs, defaults

FEATURES = {
    "age": {"role": "input", "type": "numeric"},
    "plan": {"role": "input", "type": "categorical"},
    "comment": {"role": "input", "type": "text"},
}


def _doc(features: dict[str, Any], architecture: str) -> dict[str, Any]:
    return {"features": features, "code": {"architecture": architecture, "training": "", "custom_score": ""}}


def _rejected(name: str) -> dict[str, Any]:
    return {**FEATURES, name: {**FEATURES[name], "role": "reject"}}


def test_a_never_edited_architecture_follows_the_features() -> None:
    old = _doc(FEATURES, architecture_inputs.generated("regression", FEATURES))
    assert "comment_preprocessed" in old["code"]["architecture"]
    new = architecture_inputs.follow_inputs(old, _doc(_rejected("comment"), old["code"]["architecture"]), "regression")
    assert new["code"]["architecture"] == architecture_inputs.generated("regression", _rejected("comment"))
    assert "comment_preprocessed" not in new["code"]["architecture"]
    assert architecture_inputs.report(new) == ([], [])


def test_line_endings_do_not_count_as_an_edit() -> None:
    code = architecture_inputs.generated("binary", FEATURES).replace("\n", "\r\n") + "\n\n"
    new = architecture_inputs.follow_inputs(_doc(FEATURES, code), _doc(_rejected("comment"), code), "binary")
    assert "comment_preprocessed" not in new["code"]["architecture"]


def test_an_edited_architecture_is_kept_and_validate_names_the_missing_input() -> None:
    edited = architecture_inputs.generated("binary", FEATURES).replace("Dense(64", "Dense(128")
    new = architecture_inputs.follow_inputs(_doc(FEATURES, edited), _doc(_rejected("comment"), edited), "binary")
    assert new["code"]["architecture"] == edited
    errors, warnings = architecture_inputs.report(new)
    assert [e["cell"] for e in errors] == ["architecture"]
    assert "'comment_preprocessed'" in errors[0]["message"] and errors[0]["line"] > 1
    assert warnings == []


def test_unchanged_inputs_keep_the_code() -> None:
    code = architecture_inputs.generated("binary", FEATURES)
    changed = {**FEATURES, "age": {"role": "input", "type": "categorical"}}  # still in "main"
    new = architecture_inputs.follow_inputs(_doc(FEATURES, code), _doc(changed, code), "binary")
    assert new["code"]["architecture"] is code


def test_an_ignored_input_is_a_warning() -> None:
    main_only = architecture_inputs.generated("binary", _rejected("comment"))
    errors, warnings = architecture_inputs.report(_doc(FEATURES, main_only))
    assert errors == []
    assert len(warnings) == 1 and "'comment_preprocessed'" in warnings[0]["message"]


def test_code_reading_input_shapes_generically_is_not_warned() -> None:
    code = (
        "def build_model(input_shapes, n_classes=None):\n"
        "    inputs = [Input(shape=s, name=n) for n, s in input_shapes.items()]\n"
        "    return inputs\n"
    )
    assert architecture_inputs.report(_doc(FEATURES, code)) == ([], [])
    assert architecture_inputs.report(_doc(FEATURES, "def build_model(:\n")) == ([], [])


def test_input_kinds_give_date_to_main_and_index_categoricals_their_own_input() -> None:
    features = {
        "when": {"role": "input", "type": "date"},
        "city": {"role": "input", "type": "categorical", "encoding": "index"},
    }
    kinds = defaults.input_kinds(features)
    assert kinds == {"main": "main", "city_preprocessed": "index"}
    code = defaults.architecture_code("binary", kinds)
    compile(code, "<architecture>", "exec")
    assert 'input_shapes["city_preprocessed"]' in code


def test_add_to_sets_ok_false_on_errors() -> None:
    edited = architecture_inputs.generated("binary", FEATURES) + "\n# mine\n"
    answer: dict[str, Any] = {"ok": True, "errors": [], "warnings": []}
    architecture_inputs.add_to(answer, _doc(_rejected("comment"), edited))
    assert answer["ok"] is False and len(answer["errors"]) == 1
    untouched: dict[str, Any] = {"ok": False, "errors": [{"field": "x", "message": "y"}], "warnings": []}
    architecture_inputs.add_to(untouched, None)
    assert untouched == {"ok": False, "errors": [{"field": "x", "message": "y"}], "warnings": []}
