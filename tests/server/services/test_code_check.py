"""server/services/code_check.py: syntax errors with cell and line, required functions, arities, modes."""

from __future__ import annotations

import pytest

from server.services.code_check import check_cell, check_code
from server.services.defaults import CUSTOM_SCORE_EXAMPLE, TRAINING_DEFAULT, architecture_code

ARCH_OK = """\
def build_model(input_shapes, n_classes=None):
    return None


def compile_model(model):
    return model
"""

TRAINING_OK = """\
def build_sequences(build_train, build_validation):
    return build_train(8), build_validation(8)


def fit_model(model, train_sequence, validation_sequence, base_callbacks):
    model.fit(train_sequence, callbacks=base_callbacks)
"""

SCORE_OK = """\
GREATER_IS_BETTER = False


def score(y_true, y_pred):
    return 0.0
"""


def _code(architecture: str = ARCH_OK, training: str = "", custom_score: str = "") -> dict[str, str]:
    return {"architecture": architecture, "training": training, "custom_score": custom_score}


def test_valid_design_has_no_errors() -> None:
    assert check_code(_code(training=TRAINING_OK, custom_score=SCORE_OK), advanced=True, custom_metric=True) == []


def test_generated_defaults_pass() -> None:
    code = _code(architecture_code("binary", {"main": "main"}), TRAINING_DEFAULT, CUSTOM_SCORE_EXAMPLE)
    assert check_code(code, advanced=True, custom_metric=True) == []


# ----------------------------------------------------------------------------- syntax errors


def test_syntax_error_reports_cell_and_line() -> None:
    source = "import math\n\ndef build_model(input_shapes, n_classes:\n    pass\n"
    errors = check_code(_code(architecture=source), advanced=False, custom_metric=False)
    assert len(errors) == 1
    assert errors[0]["cell"] == "architecture"
    assert errors[0]["line"] == 3
    assert errors[0]["message"].startswith("SyntaxError")


def test_syntax_error_in_training_cell_is_reported_with_its_line() -> None:
    training = TRAINING_OK.replace("return build_train(8), build_validation(8)", "return build_train(8) +* 2")
    errors = check_code(_code(training=training), advanced=True, custom_metric=False)
    assert [(e["cell"], e["line"]) for e in errors] == [("training", 2)]


def test_syntax_error_in_unused_training_cell_is_still_refused() -> None:
    # Standard mode does not run the cell, but code that does not parse is never stored silently.
    errors = check_code(_code(training="def fit_model(:\n"), advanced=False, custom_metric=False)
    assert [(e["cell"], e["line"]) for e in errors] == [("training", 1)]


def test_null_bytes_are_an_error_not_an_exception() -> None:
    errors = check_code(_code(architecture="x = 1\x00\n"), advanced=False, custom_metric=False)
    assert len(errors) == 1
    assert errors[0]["cell"] == "architecture"
    assert errors[0]["line"] >= 1


# ----------------------------------------------------------------------------- architecture cell


def test_empty_architecture_is_an_error() -> None:
    errors = check_code(_code(architecture="   \n"), advanced=False, custom_metric=False)
    assert len(errors) == 1
    assert errors[0]["cell"] == "architecture"
    assert "empty" in errors[0]["message"]


def test_missing_build_model() -> None:
    errors = check_code(_code(architecture="def compile_model(model):\n    return model\n"), False, False)
    assert len(errors) == 1
    assert errors[0]["cell"] == "architecture"
    assert "build_model" in errors[0]["message"]


def test_missing_compile_model() -> None:
    errors = check_code(_code(architecture="def build_model(a, b):\n    return None\n"), False, False)
    assert len(errors) == 1
    assert "compile_model" in errors[0]["message"]


def test_function_nested_in_a_class_does_not_count() -> None:
    source = "class Holder:\n    def build_model(self, a, b):\n        pass\n\ndef compile_model(m):\n    return m\n"
    errors = check_code(_code(architecture=source), False, False)
    assert ["build_model" in e["message"] for e in errors] == [True]


@pytest.mark.parametrize(
    "signature",
    [
        "def build_model(input_shapes):",  # one argument short
        "def build_model():",
        "def build_model(input_shapes, n_classes, extra):",  # a third required argument
        "def build_model(*, input_shapes, n_classes):",  # keyword-only: not callable positionally
    ],
)
def test_wrong_arity_reports_the_def_line(signature: str) -> None:
    source = f"# comment\n\n{signature}\n    return None\n\ndef compile_model(model):\n    return model\n"
    errors = check_code(_code(architecture=source), False, False)
    assert len(errors) == 1
    assert errors[0]["cell"] == "architecture"
    assert errors[0]["line"] == 3
    assert "build_model() must accept 2" in errors[0]["message"]


@pytest.mark.parametrize(
    "signature",
    [
        "def build_model(input_shapes, n_classes):",
        "def build_model(input_shapes, n_classes=None):",
        "def build_model(input_shapes=None, n_classes=None):",
        "def build_model(input_shapes, n_classes, extra=1):",
        "def build_model(*args):",
        "def build_model(input_shapes, *rest, **kw):",
        "def build_model(input_shapes, n_classes, /):",
    ],
)
def test_usable_signatures(signature: str) -> None:
    source = f"{signature}\n    return None\n\ndef compile_model(model):\n    return model\n"
    assert check_code(_code(architecture=source), False, False) == []


def test_wrong_compile_model_arity() -> None:
    source = "def build_model(a, b):\n    pass\n\ndef compile_model(model, optimizer):\n    return model\n"
    errors = check_code(_code(architecture=source), False, False)
    assert [(e["line"], "compile_model" in e["message"]) for e in errors] == [(4, True)]


# ----------------------------------------------------------------------------- training cell


def test_training_cell_not_needed_in_standard_mode() -> None:
    assert check_code(_code(training=""), advanced=False, custom_metric=False) == []
    assert check_code(_code(training="x = 1\n"), advanced=False, custom_metric=False) == []


def test_training_cell_required_in_advanced_mode() -> None:
    errors = check_code(_code(training=""), advanced=True, custom_metric=False)
    assert len(errors) == 1
    assert errors[0]["cell"] == "training"


def test_training_cell_needs_fit_model_and_build_sequences() -> None:
    errors = check_code(_code(training="x = 1\n"), advanced=True, custom_metric=False)
    messages = " ".join(e["message"] for e in errors)
    assert {e["cell"] for e in errors} == {"training"}
    assert "fit_model" in messages
    assert "build_sequences" in messages


def test_singular_build_sequence_is_accepted() -> None:
    training = TRAINING_OK.replace("def build_sequences(", "def build_sequence(")
    assert "def build_sequence(" in training
    assert check_code(_code(training=training), advanced=True, custom_metric=False) == []


def test_build_sequence_arity_is_checked() -> None:
    training = TRAINING_OK.replace("def build_sequences(build_train, build_validation):", "def build_sequence(b):")
    errors = check_code(_code(training=training), advanced=True, custom_metric=False)
    assert len(errors) == 1
    assert "build_sequence() must accept 2" in errors[0]["message"]
    assert errors[0]["line"] == 1


def test_fit_model_arity_is_checked() -> None:
    training = TRAINING_OK.replace(
        "def fit_model(model, train_sequence, validation_sequence, base_callbacks):",
        "def fit_model(model, train_sequence, validation_sequence):",
    )
    errors = check_code(_code(training=training), advanced=True, custom_metric=False)
    assert [(e["line"], "fit_model() must accept 4" in e["message"]) for e in errors] == [(5, True)]


# ----------------------------------------------------------------------------- custom score cell


def test_custom_score_not_needed_without_the_custom_metric() -> None:
    assert check_code(_code(custom_score=""), advanced=False, custom_metric=False) == []


def test_custom_score_required_with_the_custom_metric() -> None:
    errors = check_code(_code(custom_score=""), advanced=False, custom_metric=True)
    assert [e["cell"] for e in errors] == ["custom_score"]


def test_custom_score_needs_greater_is_better() -> None:
    source = "def score(y_true, y_pred):\n    return 1.0\n"
    errors = check_code(_code(custom_score=source), advanced=False, custom_metric=True)
    assert len(errors) == 1
    assert errors[0]["cell"] == "custom_score"
    assert "GREATER_IS_BETTER" in errors[0]["message"]


def test_custom_score_needs_score() -> None:
    errors = check_code(_code(custom_score="GREATER_IS_BETTER = True\n"), advanced=False, custom_metric=True)
    assert len(errors) == 1
    assert "score()" in errors[0]["message"]


def test_custom_score_score_arity() -> None:
    source = "GREATER_IS_BETTER = True\n\ndef score(y_true):\n    return 1.0\n"
    errors = check_code(_code(custom_score=source), advanced=False, custom_metric=True)
    assert [(e["line"], "score() must accept 2" in e["message"]) for e in errors] == [(3, True)]


@pytest.mark.parametrize("assignment", ["GREATER_IS_BETTER = True", "GREATER_IS_BETTER: bool = False"])
def test_custom_score_greater_is_better_forms(assignment: str) -> None:
    source = f"{assignment}\n\ndef score(y_true, y_pred):\n    return 1.0\n"
    assert check_cell("custom_score", source, required=True) == []
