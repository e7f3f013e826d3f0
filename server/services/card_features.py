"""The model card's features table: each column of the frozen design, how it was handled, and what it counted."""

from __future__ import annotations

from typing import Any

from core.dates import PARTS


def _numeric(spec: dict[str, Any], fitted: dict[str, Any]) -> str:
    impute = fitted.get("impute") or spec.get("impute") or "mean"
    if impute == "constant":
        impute = f"constant {spec.get('impute_value')}"
    rescale = fitted.get("rescale") or spec.get("rescale") or "standard"
    return f"impute {impute}, rescale {rescale}"


def _categorical(spec: dict[str, Any], fitted: dict[str, Any]) -> str:
    encoding = spec.get("encoding") or "dummy"
    return f"{encoding} encoding of {len(fitted.get('values') or [])} values"


def _date(spec: dict[str, Any], fitted: dict[str, Any]) -> str:
    return "parts " + ", ".join(fitted.get("parts") or spec.get("parts") or PARTS)


def _text(spec: dict[str, Any], fitted: dict[str, Any]) -> str:
    return f"{fitted.get('max_tokens', spec.get('max_tokens'))} tokens, sequences of {fitted.get('sequence_length')}"


def _image(spec: dict[str, Any], fitted: dict[str, Any]) -> str:
    return f"resized to {fitted.get('height')}×{fitted.get('width')}×{fitted.get('channels')}"


HANDLING = {"numeric": _numeric, "categorical": _categorical, "date": _date, "text": _text, "image": _image}


def _fitted(prep: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """What the preprocessing fitted for each input column, by column."""
    fitted = {m["column"]: m for m in prep.get("main") or []}
    for part in ("index", "text", "image"):
        fitted.update(prep.get(part) or {})
    return fitted


def rows(features: dict[str, dict[str, Any]], prep: dict[str, Any]) -> list[dict[str, Any]]:
    """{column, role, type, handling, missing, unparseable, imputed} per feature of the frozen design."""
    fitted, report = _fitted(prep), prep.get("report") or {}
    out = []
    for column, spec in features.items():
        counts = report.get(column) or {}
        handling = "not used" if spec.get("role") != "input" else HANDLING[spec["type"]](spec, fitted.get(column) or {})
        out.append(
            {
                "column": column,
                "role": spec.get("role"),
                "type": spec.get("type"),
                "handling": handling,
                "missing": counts.get("missing"),
                "unparseable": counts.get("unparseable"),
                "imputed": counts.get("imputed"),
            }
        )
    return out
