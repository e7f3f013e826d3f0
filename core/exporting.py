"""Write a loaded Keras model as a zipped TensorFlow SavedModel or an ONNX file.

One exporter for both places a model is exported: the API, for a model it loads safely (server/services/export.py),
and the sandboxed child, for a model that needs its training's code cells to load (worker/runtime/scorer.py).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

FORMATS = {"savedmodel": "savedmodel.zip", "onnx": "model.onnx"}


def write_export(model: Any, fmt: str, workdir: Path) -> Path:
    """Export MODEL in FMT (a key of FORMATS) under WORKDIR; the path of the file made (FORMATS[fmt])."""
    if fmt == "onnx":
        from keras.src.export.export_utils import get_input_signature

        out = workdir / FORMATS["onnx"]
        # Keras's ONNX exporter refuses a model never called when it must guess the signature itself, which is every
        # model just loaded from its file; the signature of its inputs is what it would guess once called.
        model.export(str(out), format="onnx", verbose=False, input_signature=get_input_signature(model))
        return out
    folder = workdir / "savedmodel"
    model.export(str(folder), format="tf_saved_model", verbose=False)
    return Path(shutil.make_archive(str(workdir / "savedmodel"), "zip", folder))
