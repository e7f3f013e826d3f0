"""Helpers of the web UI tests: the design form as a browser submits it, fake trained models, an image ZIP."""

from __future__ import annotations

import html
import re
from typing import Any

from tests.webui.conftest import Web


def design_form(web: Web, task_id: str) -> dict[str, str]:
    """The design form's fields as the page renders them (what a browser would submit unchanged)."""
    page = web.get(f"/ml-tasks/{task_id}/design").text
    fields: dict[str, str] = {}
    for m in re.finditer(r'<input type="hidden" name="(feature-\d+-name)" value="([^"]*)"', page):
        fields[m.group(1)] = m.group(2)
    for m in re.finditer(r'<select name="([^"]+)"[^>]*>(.*?)</select>', page, re.S):
        chosen = re.search(r"<option[^>]*selected[^>]*>([^<]*)</option>", m.group(2))
        fields[m.group(1)] = chosen.group(1) if chosen else ""
    for m in re.finditer(r'<input type="number" name="([^"]+)" value="([^"]*)"', page):
        fields[m.group(1)] = m.group(2)
    for m in re.finditer(r'<input type="checkbox" name="([^"]+)"[^>]*?( checked)?>', page):
        if m.group(2):
            fields[m.group(1)] = "1"
    gpu = re.search(r'name="gpu-gpu_list" value="([^"]*)"', page)
    fields["gpu-gpu_list"] = gpu.group(1) if gpu else "0"
    for m in re.finditer(r'<textarea class="code" name="([^"]+)"[^>]*>(.*?)</textarea>', page, re.S):
        fields[m.group(1)] = html.unescape(m.group(2))
    return fields


def fake_trained_model(web: Web, task: dict[str, Any], evaluation: dict[str, Any]) -> str:
    """A succeeded session with a trained model row, a (dummy) model file and its evaluation.json."""
    from core import evaluation as ev
    from server.db import session_scope
    from server.models import MLTask, TrainedModel, User
    from server.services import model_files, sessions, storage
    from server.services.ids import trained_model_id
    from server.settings import get_settings

    settings = get_settings()
    with session_scope() as db:
        owner = db.scalar(__import__("sqlalchemy").select(User).where(User.username == "owner"))
        row = sessions.submit(db, owner, db.get(MLTask, task["id"]))
        tmid = trained_model_id("P1", task["analysis"], task["id"], row.number)
        folder = storage.trained_model_dir(settings, "P1", tmid)
        folder.mkdir(parents=True)
        (folder / "model.keras").write_bytes(b"not really a model")
        model_files.write_checksum(folder / "model.keras")  # stored as the worker stores a model: with its SHA-256
        ev.save(folder, evaluation)
        history = [
            {"epoch": 1, "loss": 0.6, "val_loss": 0.5, "Test ROC AUC": 0.9, "Train ROC AUC": 0.91},
            {"epoch": 2, "loss": 0.4, "val_loss": 0.45, "Test ROC AUC": 0.95, "Train ROC AUC": 0.96},
        ]
        db.add(
            TrainedModel(
                id=tmid,
                session_id=row.id,
                project_id=db.get(MLTask, task["id"]).analysis.project_id,
                analysis_id=task["analysis"],
                ml_task_id=task["id"],
                prediction_type="binary",
                metric="ROC AUC",
                best_epoch=2,
                metrics={k: v for k, v in history[1].items() if k != "epoch"},
                history=history,
                input_shapes={"main": [30]},
                n_classes=2,
                class_labels=["benign", "malignant"],
                preprocessing={"main": [{"column": "mean radius", "kind": "numeric", "mean": 14, "std": 3}]},
                lineage=None,
                path=str((folder / "model.keras").relative_to(settings.artifacts)),
            )
        )
        row.status, row.trained_model_id, row.history = "succeeded", tmid, history
    return tmid


def image_zip() -> bytes:
    import io
    import zipfile

    from PIL import Image

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for label, color in (("cat", (200, 80, 40)), ("dog", (40, 90, 200))):
            for i in range(3):
                img = io.BytesIO()
                Image.new("RGB", (300, 200), color).save(img, format="PNG")
                zf.writestr(f"{label}/{label}{i}.png", img.getvalue())
    return buf.getvalue()
