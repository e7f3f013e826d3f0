"""The ML task design form: form fields ⇄ the settings document, its tabs, and what the template shows."""

from __future__ import annotations

from typing import Any, get_args

from starlette.datastructures import FormData

from core.catalog import CUSTOM_SCORE
from server.models import MLTask
from server.schemas.settings import DATE_PARTS
from server.services import architecture_inputs, mltasks, model_inputs
from server.services.defaults import CUSTOM_SCORE_EXAMPLE, TRAINING_DEFAULT

CELLS = ("architecture", "training", "custom_score")
TABS = (
    ("features", "Target & features"),
    ("metric", "Metric & split"),
    ("architecture", "Architecture"),
    ("training", "Training"),
    ("custom_score", "Custom score"),
    ("gpu", "GPU"),
)
# Which tab shows the field an error names (first part of its "field", or its "cell").
TAB_OF = {
    "features": "features",
    "image": "features",
    "text": "features",
    "metric": "metric",
    "split": "metric",
    "training": "training",
    "gpu": "gpu",
    "architecture": "architecture",
    "custom_score": "custom_score",
    "dry_run": "architecture",
}


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _number(form: FormData, name: str) -> Any:
    """The field as a number when it reads as one, else as given (pydantic then names the field in its error)."""
    raw = _text(form, name)
    for kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            pass
    return raw


def _gpu_list(raw: str) -> Any:
    parts = [p.strip() for p in raw.replace(";", ",").split(",") if p.strip()]
    try:
        return [int(p) for p in parts]
    except ValueError:
        return raw  # pydantic reports "gpu.gpu_list: Input should be a valid list"


# Option fields the features tab has per type, with the value that stands for "unset" (data.md defaults).
OPTION_DEFAULTS: dict[str, dict[str, str]] = {
    "numeric": {"impute": "mean", "impute_value": "", "rescale": "standard"},
    "categorical": {"encoding": "dummy", "max_values": "100"},
    "date": {"dateparts": ""},  # a marker: the part checkboxes are read below
    "text": {"max_tokens": "", "sequence_length": ""},  # empty: the task's text settings
    "image": {"height": "", "width": "", "channels": ""},  # empty: the task's image settings
}
WORDS = {"impute", "rescale", "encoding"}  # the options that are not numbers
PARTS = get_args(DATE_PARTS)


def _feature_options(form: FormData, i: int, spec: dict[str, Any], kept: dict[str, Any]) -> dict[str, Any]:
    """SPEC with the option fields the form shows for its type; one at its default is not written."""
    fields = OPTION_DEFAULTS.get(spec["type"], {})
    if not any(f"feature-{i}-{k}" in form for k in fields):
        return {**kept, **spec} if kept.get("type") == spec["type"] else spec  # options set by API are kept
    out = {k: v for k, v in kept.items() if k not in fields} if kept.get("type") == spec["type"] else {}
    for key, default in fields.items():
        raw = _text(form, f"feature-{i}-{key}")
        if raw and raw != default:
            out[key] = raw if key in WORDS else _number(form, f"feature-{i}-{key}")
    out.pop("dateparts", None)
    if spec["type"] == "numeric" and out.get("impute") != "constant":
        out.pop("impute_value", None)  # only a constant imputation reads it
    if spec["type"] == "date":
        parts = [p for p in PARTS if form.get(f"feature-{i}-part-{p}")]
        out.pop("parts", None)
        if len(parts) < len(PARTS):
            out["parts"] = parts  # none ticked: refused by validation (parts needs at least one)
    return {**out, **spec}


def _training_seed(form: FormData, task: MLTask) -> Any:
    """training.seed: the field's number; None when left empty (drawn per session); kept when a post lacks it."""
    if "training-seed" not in form:
        return (task.settings.get("training") or {}).get("seed", 1337)
    return _number(form, "training-seed") if _text(form, "training-seed") else None


def settings_from_form(form: FormData, task: MLTask) -> dict[str, Any]:
    """The settings document the design form describes (values still unchecked; validate_settings checks them)."""
    features: dict[str, dict[str, Any]] = {}
    stored = task.settings.get("features") or {}
    i = 0
    while f"feature-{i}-name" in form:
        name = form.get(f"feature-{i}-name")
        if isinstance(name, str):
            spec: dict[str, Any] = {"role": _text(form, f"feature-{i}-role"), "type": _text(form, f"feature-{i}-type")}
            features[name] = _feature_options(form, i, spec, stored.get(name) or {})
        i += 1
    code = {cell: str(form.get(f"code-{cell}") or "").replace("\r\n", "\n") for cell in CELLS}
    if code["custom_score"].strip() == CUSTOM_SCORE_EXAMPLE.strip() and _text(form, "metric") != CUSTOM_SCORE:
        code["custom_score"] = ""  # the template the tab shows is not a cell until edited or used as the metric
    steps = _text(form, "training-steps_per_epoch")
    return {
        "features": features,
        "split": {"train_ratio": _number(form, "split-train_ratio"), "seed": _number(form, "split-seed")},
        "metric": _text(form, "metric"),
        "training": {
            "mode": "advanced" if form.get("training-advanced") else "standard",
            "epochs": _number(form, "training-epochs"),
            "batch_size": _number(form, "training-batch_size"),
            "steps_per_epoch": steps or None,
            "shuffle": bool(form.get("training-shuffle")),
            "early_stopping": {
                "enabled": bool(form.get("training-early_stopping")),
                "patience": _number(form, "training-patience"),
            },
            "time_limit_s": _number(form, "training-time_limit_s"),
            "seed": _training_seed(form, task),
        },
        "gpu": {
            "use_gpu": bool(form.get("gpu-use_gpu")),
            "gpu_list": _gpu_list(_text(form, "gpu-gpu_list")),
            "allow_growth": bool(form.get("gpu-allow_growth")),
        },
        "image": {k: _number(form, f"image-{k}") for k in ("height", "width", "channels")},
        "text": {k: _number(form, f"text-{k}") for k in ("max_tokens", "sequence_length")},
        "code": code,
    }


def tab_of(error: dict[str, Any]) -> str:
    """The design tab where ERROR ({cell|field, line?, message}) is shown."""
    key = str(error.get("cell") or error.get("field") or "").split(".")[0]
    return TAB_OF.get(key, "features")


def form_context(task: MLTask, doc: dict[str, Any]) -> dict[str, Any]:
    """What the design template needs besides the task: columns with their settings, metrics, cells."""
    columns = model_inputs.feature_columns(task, doc)
    code = dict(doc.get("code") or {})
    if not (code.get("training") or "").strip():
        code["training"] = TRAINING_DEFAULT  # advanced mode starts from the default code
    if not (code.get("custom_score") or "").strip():
        code["custom_score"] = CUSTOM_SCORE_EXAMPLE  # the tab shows the template to fill in (code-cells.md)
    kinds = {c["type"] for c in columns if c["role"] == "input"}
    types = {c["type"] for c in columns}
    return {
        "columns": columns,
        "metrics": mltasks.metric_choices(task.prediction_type),
        "code": code,
        "tabs": TABS,
        "has_images": "image" in kinds,
        "has_text": "text" in kinds,
        # The Images and Text panels only for data that has such a feature (rejected or not): tabular data has neither.
        "show_images": "image" in types,
        "show_text": "text" in types,
        "training_default": TRAINING_DEFAULT,
        "defaults": architecture_inputs.default_cells(task.prediction_type, doc.get("features") or {}),
    }
