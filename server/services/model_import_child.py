"""The child process of a model import: load an uploaded model file with Keras and print one JSON line.

It imports Keras and nothing of the server, so a file that crashes or hangs the reader costs this process only
(see server/services/model_import.py, which starts it as `python -m server.services.model_import_child SRC OUT`).
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any


def _reason(exc: BaseException) -> str:
    """A sentence a person can act on for the exception Keras raised loading a model."""
    text = str(exc)
    if "Lambda" in text and "safe_mode" in text:
        return (
            "it has a Lambda layer holding Python code, which fitstudio never loads from a file (it could run "
            "anything); replace the Lambda with built-in layers, or build the model in a code cell."
        )
    found = re.search(r"Could not locate (class|function) '([^']+)'", text)
    if found:
        return (
            f"it uses the custom {found.group(1)} {found.group(2)!r}, which a file cannot bring with it; only models "
            "of built-in Keras layers can be imported (define custom objects in a code cell instead)."
        )
    if "could not be deserialized" in text or "register_keras_serializable" in text:
        return (
            "it uses custom layers or objects, which a file cannot bring with it; only models of built-in Keras "
            "layers can be imported (define custom objects in a code cell instead)."
        )
    first = text.strip().splitlines()[0] if text.strip() else ""
    return f"Keras cannot load it ({type(exc).__name__}: {first[:300]})."


def _shape(shape: Any) -> list[int | None] | None:
    try:
        return [None if d is None else int(d) for d in shape]
    except TypeError:
        return None


def check_file(src: str, out: str) -> dict[str, Any]:
    """Load SRC as get_keras_model_from_saved_model will (safe_mode, compiled); the child's answer."""
    import keras

    notes: list[str] = []
    rewritten = src.endswith(".h5")
    try:
        model = keras.models.load_model(src, safe_mode=True)
    except Exception as exc:  # noqa: BLE001 - every failure is the file's, reported with its reason
        try:
            model = keras.models.load_model(src, safe_mode=True, compile=False)
        except Exception as exc2:  # noqa: BLE001
            return {"ok": False, "reason": _reason(exc2)}
        notes.append(
            f"its training configuration (loss, metrics, optimizer) cannot be loaded safely ({_reason(exc)}); it "
            "was stored without it: compile the model in compile_model."
        )
        rewritten = True
    if not isinstance(model, keras.Model):
        return {"ok": False, "reason": f"it holds a {type(model).__name__}, not a Keras model."}
    if not model.built:
        return {"ok": False, "reason": "the model was saved before it was built, so it has no weights."}
    try:
        inputs = list(model.inputs)
        input_shapes = {t.name: _shape(t.shape[1:]) for t in inputs}
    except (AttributeError, ValueError, TypeError):
        input_shapes = None
    try:
        outputs = model.outputs
        output_shapes = [_shape(t.shape[1:]) for t in outputs]
    except (AttributeError, ValueError, TypeError):
        output_shapes = None
    if rewritten:
        model.save(out)  # a .keras file: what every reader of saved models expects
    return {
        "ok": True,
        "input_shapes": input_shapes,
        "output_shapes": output_shapes,
        "params": int(model.count_params()),
        "keras_version": keras.__version__,
        "rewritten": rewritten,
        "notes": notes,
    }


def _main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m server.services.model_import_child SRC OUT", file=sys.stderr)
        return 2
    try:
        answer = check_file(argv[0], argv[1])
    except Exception as exc:  # noqa: BLE001 - reported to the API as the file's fault
        answer = {"ok": False, "reason": _reason(exc)}
    print(json.dumps(answer), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
