"""The decision threshold of a binary model, kept in threshold.json next to its .keras file.

A trained model's file sits in its own folder and a deployment copies the file into the version's folder: the
threshold travels the same way (copied at deploy, so a deployed version keeps the threshold it was deployed with).
No file (older models, or a threshold never chosen) means DEFAULT_THRESHOLD.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from core.evaluation_charts import DEFAULT_THRESHOLD
from server.errors import ApiError
from server.models import TrainedModel, User
from server.services import audit
from server.settings import Settings

log = logging.getLogger(__name__)
FILE_NAME = "threshold.json"


def read(model_file: Path) -> float:
    """The threshold stored next to MODEL_FILE, DEFAULT_THRESHOLD when none is (or it is unreadable)."""
    path = Path(model_file).parent / FILE_NAME
    try:
        value = json.loads(path.read_text())["threshold"]
    except FileNotFoundError:
        return DEFAULT_THRESHOLD
    except (OSError, ValueError, KeyError, TypeError):
        log.warning("unreadable threshold file %s", path)
        return DEFAULT_THRESHOLD
    return float(value) if isinstance(value, int | float) and 0 <= value <= 1 else DEFAULT_THRESHOLD


def copy(source_file: Path, target_file: Path) -> None:
    """Copy the threshold of the model at SOURCE_FILE next to TARGET_FILE (a deployed copy), if it has one."""
    source = Path(source_file).parent / FILE_NAME
    if source.is_file():
        shutil.copyfile(source, Path(target_file).parent / FILE_NAME)


def _model_file(settings: Settings, model: TrainedModel) -> Path:
    return settings.artifacts / model.path


def of_model(settings: Settings, model: TrainedModel) -> dict[str, Any]:
    """MODEL's threshold and the F1-optimal one of its evaluation (None without one); 409 unless it is binary."""
    _require_binary(model)
    from core.evaluation import load_evaluation

    doc = load_evaluation(_model_file(settings, model)) or {}
    decision = (doc.get("charts") or {}).get("decision") or {}
    return {
        "threshold": read(_model_file(settings, model)),
        "default": DEFAULT_THRESHOLD,
        "f1_optimal": decision.get("f1_optimal_threshold"),
    }


def set_threshold(db: Session, settings: Settings, user: User, model: TrainedModel, value: float) -> dict[str, Any]:
    """Store VALUE as MODEL's threshold (atomically, audited); its /predict answers then use it."""
    _require_binary(model)
    folder = _model_file(settings, model).parent
    if not folder.is_dir():
        raise ApiError(404, "file_missing", f"The files of trained model {model.id} are missing.")
    tmp = folder / f".{FILE_NAME}.tmp"
    tmp.write_text(json.dumps({"threshold": value}))
    os.replace(tmp, folder / FILE_NAME)
    audit.record(db, user, "model.threshold", model.id, threshold=value)
    return of_model(settings, model)


def _require_binary(model: TrainedModel) -> None:
    if model.prediction_type != "binary":
        raise ApiError(
            409, "not_binary", f"Only a binary model has a decision threshold; this one is {model.prediction_type}."
        )
