"""Export a saved model version as a zipped TensorFlow SavedModel or an ONNX file (made once, then cached)."""

from __future__ import annotations

import shutil
import tempfile
import threading
import uuid
from pathlib import Path

from server.errors import ApiError, insufficient_storage, is_disk_full
from server.services.scoring import load_model

FORMATS = {"savedmodel": "savedmodel.zip", "onnx": "model.onnx"}
_lock = threading.Lock()


def export(model_file: Path, fmt: str) -> Path:
    """The export of MODEL_FILE in FMT, next to it (versions never change, so the export never goes stale)."""
    if fmt not in FORMATS:
        raise ApiError(400, "bad_format", f"format={fmt!r} must be 'savedmodel' or 'onnx'.")
    target = model_file.parent / "export" / FORMATS[fmt]
    if target.exists():
        return target
    with _lock:
        if target.exists():
            return target
        model, model_lock = load_model(model_file)
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent) as tmp, model_lock:
            try:
                if fmt == "onnx":
                    out = Path(tmp) / "model.onnx"
                    model.export(str(out), format="onnx", verbose=False)
                else:
                    folder = Path(tmp) / "savedmodel"
                    model.export(str(folder), format="tf_saved_model", verbose=False)
                    out = Path(shutil.make_archive(str(Path(tmp) / "savedmodel"), "zip", folder))
            except Exception as exc:  # an exporter limitation is the client's answer, not a 500
                if is_disk_full(exc):
                    raise insufficient_storage("Exporting the model") from None
                raise ApiError(422, "export_failed", f"This model cannot be exported as {fmt}: {exc}") from None
            partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}")
            shutil.move(str(out), partial)
            partial.replace(target)
    return target
