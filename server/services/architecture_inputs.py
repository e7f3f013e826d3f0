"""The architecture cell and the model inputs: regenerated when the features change unless edited; Validate's check.

An architecture cell counts as never edited when its code is the default generated for the inputs it was
generated for (the previous features): only then is it replaced by the default of the new inputs. Validate
reports the inputs the code names that the design does not produce (an error: `build_model` would fail with a
KeyError), and the inputs it produces that the code never names (a warning).
"""

from __future__ import annotations

import ast
from typing import Any

from core import cells
from server.services import code_check, defaults

FIELD = f"code.{cells.ARCHITECTURE}"


def generated(prediction_type: str, features: dict[str, dict[str, Any]]) -> str:
    """The default architecture cell for the input FEATURES of a task of PREDICTION_TYPE."""
    return defaults.architecture_code(prediction_type, defaults.input_kinds(features))


def _same_code(a: str, b: str) -> bool:
    """Whether two cells are the same code, line endings and trailing blanks aside."""

    def norm(text: str) -> list[str]:
        return [line.rstrip() for line in text.replace("\r\n", "\n").strip().split("\n")]

    return norm(a) == norm(b)


def follow_inputs(old: dict[str, Any], new: dict[str, Any], prediction_type: str) -> dict[str, Any]:
    """NEW settings with their architecture regenerated when the inputs changed and the cell was never edited."""
    old_kinds = defaults.input_kinds(old.get("features") or {})
    new_kinds = defaults.input_kinds(new["features"])
    code = new["code"].get(cells.ARCHITECTURE, "")
    if old_kinds == new_kinds or not _same_code(code, defaults.architecture_code(prediction_type, old_kinds)):
        return new
    return {**new, "code": {**new["code"], cells.ARCHITECTURE: defaults.architecture_code(prediction_type, new_kinds)}}


def _named_inputs(tree: ast.Module) -> tuple[dict[str, int], bool]:
    """({input name: line} the code reads as input_shapes["…"], whether it also reads input_shapes otherwise)."""
    named: dict[str, int] = {}
    constant_reads = uses = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id == "input_shapes":
            uses += 1
        elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "input_shapes":
            key = node.slice
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                named.setdefault(key.value, node.lineno)
                constant_reads += 1
    # Any other use (a loop over it, `in`, a computed key, passing it on): the inputs are read generically.
    return named, uses > constant_reads


def report(doc: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(errors, warnings) of the architecture cell of DOC against the inputs its features produce."""
    try:
        tree = code_check.parse_python(doc["code"].get(cells.ARCHITECTURE, ""))
    except (SyntaxError, ValueError):
        return [], []  # the code checks report it
    inputs = set(defaults.input_kinds(doc["features"]))
    named, generic = _named_inputs(tree)
    errors = [
        {
            "cell": cells.ARCHITECTURE,
            "line": line,
            "message": f"The architecture reads the input {name!r}, which the design does not produce (inputs: "
            f"{', '.join(sorted(inputs)) or 'none'}); use Reset to default or change the code.",
        }
        for name, line in sorted(named.items())
        if name not in inputs
    ]
    ignored = [] if generic or not named else sorted(inputs - set(named))
    warnings = [
        {
            "cell": cells.ARCHITECTURE,
            "field": FIELD,
            "line": 1,
            "message": f"The architecture ignores the input {name!r}: the model will not use it.",
        }
        for name in ignored
    ]
    return errors, warnings


def default_cells(prediction_type: str, features: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Each code cell's default for a task of PREDICTION_TYPE with FEATURES ("Reset to default")."""
    return {
        cells.ARCHITECTURE: generated(prediction_type, features),
        cells.TRAINING: defaults.TRAINING_DEFAULT,
        cells.CUSTOM_SCORE: defaults.CUSTOM_SCORE_EXAMPLE,
    }


def add_to(answer: dict[str, Any], doc: dict[str, Any] | None) -> None:
    """Add the architecture's input errors and warnings to Validate's ANSWER (nothing when DOC is None)."""
    if doc is None:
        return
    errors, warnings = report(doc)
    answer["errors"] = [*answer["errors"], *errors]
    answer["warnings"] = [*answer["warnings"], *warnings]
    answer["ok"] = answer["ok"] and not errors
