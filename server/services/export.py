"""Export a saved model version as a zipped TensorFlow SavedModel or an ONNX file (made once, then cached).

A model the API loads safely is exported here; one that needs its training's code cells to load (a custom object,
a Lambda) is exported by a worker in the training sandbox (server/services/sandboxed_scoring.py), with the same
exporter (core/exporting.py).
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.orm import Session

from core.exporting import FORMATS, write_export
from server.errors import ApiError, insufficient_storage, is_disk_full
from server.models import SavedModelVersion, TrainedModel
from server.services import model_import, registry, sandboxed_scoring
from server.services.scoring import NeedsUserCode, load_model
from server.settings import Settings

_lock = threading.Lock()

# Writes the export of a model file that needs its training's code, in the given format, to the given path.
SandboxedExport = Callable[[str, Path], None]


def of_version(db: Session, settings: Settings, version: SavedModelVersion, fmt: str) -> Path:
    """The export of VERSION's file in FMT; a worker's sandbox makes it when the file needs its training's code."""
    path = registry.file_path(settings, version)
    model = None if model_import.is_imported(version) else db.get(TrainedModel, version.trained_model_id)
    if model is None:  # an imported file loads safely or was refused at import: nothing to run it with
        return export(path, fmt)

    def sandboxed(fmt: str, dest: Path) -> None:
        session = model.session  # read only when needed: most models load in the API
        sandboxed_scoring.export(db, settings, session.design, session.queue, path, fmt, dest)

    return export(path, fmt, sandboxed)


def export(model_file: Path, fmt: str, sandboxed: SandboxedExport | None = None) -> Path:
    """The export of MODEL_FILE in FMT, next to it (versions never change, so the export never goes stale)."""
    if fmt not in FORMATS:
        raise ApiError(400, "bad_format", f"format={fmt!r} must be 'savedmodel' or 'onnx'.")
    target = model_file.parent / "export" / FORMATS[fmt]
    if target.exists():
        return target
    try:
        return _export_here(model_file, fmt, target)
    except NeedsUserCode:
        if sandboxed is None:
            raise
    # Not under _lock: a worker may take minutes, and the exports of other models must not wait for it.
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        out = Path(tmp) / FORMATS[fmt]
        try:
            sandboxed(fmt, out)
            _place(out, target)
        except OSError as exc:
            if is_disk_full(exc):
                raise insufficient_storage("Exporting the model") from None
            raise
    return target


def _export_here(model_file: Path, fmt: str, target: Path) -> Path:
    """Export in the API a model it loads safely (NeedsUserCode when it cannot)."""
    with _lock:
        if target.exists():
            return target
        model, model_lock = load_model(model_file)
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent) as tmp, model_lock:
            try:
                out = write_export(model, fmt, Path(tmp))
            except Exception as exc:  # an exporter limitation is the client's answer, not a 500
                if is_disk_full(exc):
                    raise insufficient_storage("Exporting the model") from None
                raise ApiError(422, "export_failed", f"This model cannot be exported as {fmt}: {exc}") from None
            _place(out, target)
    return target


def _place(out: Path, target: Path) -> None:
    """Move the finished export OUT to TARGET atomically (a reader never sees half a file)."""
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}")
    shutil.move(str(out), partial)
    partial.replace(target)
