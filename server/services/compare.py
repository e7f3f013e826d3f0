"""Comparing an ML task's sessions: their metrics and curves side by side, and what differs in their designs."""

from __future__ import annotations

import difflib
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import catalog
from server.errors import invalid, not_found
from server.models import MLTask, TrainingSession
from server.services import trained_models
from server.services.ids import is_sql_int, parse_session_ref

MAX_SESSIONS = 10
LOSSES = ("loss", "val_loss")  # Keras's own keys: lower is better


def parse_numbers(raw: str) -> list[int]:
    """Session numbers from "1,2,3" (or "s1,s2"), deduplicated in order; 422 when malformed, empty or too many."""
    numbers: list[int] = []
    for part in (p.strip() for p in raw.split(",")):
        try:
            number = parse_session_ref(part)
        except ValueError:
            number = None
        if number is None or not is_sql_int(number) or number < 1:
            raise invalid(
                f"{part!r} is not a session number; give numbers such as ?sessions=1,2.",
                errors=[{"field": "sessions", "message": f"not a session number: {part!r}"}],
            )
        if number not in numbers:
            numbers.append(number)
    if not 1 <= len(numbers) <= MAX_SESSIONS:
        raise invalid(
            f"Compare 1 to {MAX_SESSIONS} sessions at once (got {len(numbers)}).",
            errors=[{"field": "sessions", "message": f"1 to {MAX_SESSIONS} session numbers"}],
        )
    return numbers


def load(db: Session, task: MLTask, numbers: list[int]) -> list[TrainingSession]:
    """TASK's sessions NUMBERS in that order; 404 naming the first that does not exist."""
    query = select(TrainingSession).where(TrainingSession.ml_task_id == task.id, TrainingSession.number.in_(numbers))
    rows = {row.number: row for row in db.scalars(query)}
    for number in numbers:
        if number not in rows:
            raise not_found("session", f"{task.id}/sessions/{number}")
    return [rows[n] for n in numbers]


def final_metrics(row: TrainingSession, model_metrics: dict[str, Any] | None) -> dict[str, Any]:
    """The trained model's metrics (its kept epoch), else the last logged epoch's values."""
    if model_metrics is not None:
        return dict(model_metrics)
    history = row.history or []
    last = history[-1] if history else {}
    return {k: v for k, v in last.items() if k != "epoch"}


def greater_is_better(prediction_type: str, key: str) -> bool | None:
    """The direction of logged metric KEY ("Test ROC AUC", "val_loss"); None when it is not known."""
    if key in LOSSES:
        return False
    for prefix in (catalog.TEST_PREFIX, catalog.TRAIN_PREFIX):
        if key.startswith(prefix):
            name = key[len(prefix) :]
            try:
                return catalog.get_metric(name, prediction_type).greater_is_better
            except KeyError:
                return None
    return None


def best_of(prediction_type: str, entries: list[dict[str, Any]]) -> dict[str, list[int]]:
    """For each metric with a known direction, the numbers of the sessions with the best value (ties all win)."""
    keys = sorted({k for e in entries for k in e["metrics"]})
    best: dict[str, list[int]] = {}
    for key in keys:
        greater = greater_is_better(prediction_type, key)
        values = [(e["number"], e["metrics"].get(key)) for e in entries]
        numbers = [(n, v) for n, v in values if isinstance(v, int | float) and not isinstance(v, bool) and v == v]
        if greater is None or not numbers:
            continue
        target = (max if greater else min)(v for _, v in numbers)
        best[key] = [n for n, v in numbers if v == target]
    return best


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Settings as {JSON path: leaf}; objects are walked, lists and scalars are leaves."""
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value}


def code_diff(numbers: list[int], texts: list[str]) -> list[dict[str, Any]]:
    """Each session's cell against the first session's, as unified diff lines."""
    base = texts[0].splitlines()
    return [
        {
            "number": number,
            "lines": list(
                difflib.unified_diff(base, text.splitlines(), f"s{numbers[0]}", f"s{number}", lineterm="", n=3)
            ),
        }
        for number, text in zip(numbers[1:], texts[1:], strict=True)
    ]


def design_diff(rows: list[TrainingSession]) -> list[dict[str, Any]]:
    """What differs between the frozen designs: settings by JSON path, then code cells line by line."""
    settings = [dict((row.design or {}).get("settings") or {}) for row in rows]
    codes = [s.pop("code", None) or {} for s in settings]
    numbers = [row.number for row in rows]
    flat = [flatten(s) for s in settings]
    diff: list[dict[str, Any]] = []
    for path in sorted({p for f in flat for p in f}):
        values = [f.get(path) for f in flat]
        if any(v != values[0] for v in values):
            diff.append({"path": path, "kind": "setting", "values": values})
    for cell in sorted({c for code in codes for c in code}):
        texts = [str(code.get(cell) or "") for code in codes]
        if any(t != texts[0] for t in texts):
            diff.append({"path": f"code.{cell}", "kind": "code", "values": texts, "diffs": code_diff(numbers, texts)})
    return diff


def compare(db: Session, task: MLTask, raw: str) -> dict[str, Any]:
    """GET /ml-tasks/{id}/compare: the sessions NUMBERS in RAW with metrics, history and design, and the diff."""
    rows = load(db, task, parse_numbers(raw))
    metrics = trained_models.metrics_of_task(db, task)
    entries = [
        {
            "id": row.id,
            "number": row.number,
            "status": row.status,
            "metric": ((row.design or {}).get("settings") or {}).get("metric"),
            "metrics": final_metrics(row, metrics.get(row.trained_model_id or "")),
            "history": row.history or [],
            "design": row.design or {},
            "trained_model_id": row.trained_model_id,
            "tags": row.tags or [],
            "note": row.note or "",
        }
        for row in rows
    ]
    return {
        "ml_task_id": task.id,
        "prediction_type": task.prediction_type,
        "sessions": entries,
        "best": best_of(task.prediction_type, entries),
        "design_diff": design_diff(rows),
    }
