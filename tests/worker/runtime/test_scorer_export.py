"""worker/runtime/scorer.py exports a model that needs its cells: the cells run, the API's exporter writes the file.

The child's entry point is called here in-process (the sandbox around it is tested end to end in
tests/e2e/test_custom_objects_export.py); the model files are made by the test with the cell's own classes.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest

from core.contracts import DatasetRef, Design, Job, Limits
from worker.runtime import cells, scorer

CELL = """
import keras


class Tripling(keras.layers.Layer):
    def call(self, x):
        return x * 3


class BatchBound(keras.layers.Layer):
    # Builds and predicts on batches of a known size; the exporter's signature has none, so exporting fails.
    def call(self, x):
        if x.shape[0] is None:
            raise ValueError("BatchBound needs a fixed batch size")
        return x

    def compute_output_shape(self, input_shape):
        return input_shape
"""


def _job(tmp_path: Path, model: Path, fmt: str) -> Job:
    design = Design({"training": {"mode": "standard"}, "metric": "AUC", "code": {"architecture": CELL}}, "y", "binary")
    return Job(
        session_id=None,
        session_number=None,
        dry_run=False,
        design=design,
        dataset=DatasetRef(parquet=""),
        out_dir=str(tmp_path / "out"),
        tensorboard_dir=None,
        gpus=[],
        allow_growth=True,
        limits=Limits(),
        scoring={"kind": "export", "model": str(model), "format": fmt},
    )


def _save(tmp_path: Path, layer_name: str) -> tuple[Path, keras.Model]:
    """A model using the cell's LAYER_NAME, saved as a training saves it (the class from the cell itself)."""
    layer = getattr(cells.load_cell("architecture", CELL), layer_name)
    inputs = keras.Input((3,), name="main")
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(layer()(inputs)))
    path = tmp_path / f"{layer_name}.keras"
    model.save(path)
    return path, model


def _run(tmp_path: Path, model: Path, fmt: str) -> tuple[int, Path]:
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    return scorer.run(_job(tmp_path, model, fmt), out), out


@pytest.mark.slow
def test_a_custom_layer_is_exported_as_a_savedmodel_that_matches_keras(tmp_path: Path) -> None:
    import tensorflow as tf

    path, model = _save(tmp_path, "Tripling")
    with pytest.raises(Exception, match="Tripling"):  # what the API's safe load meets
        keras.models.load_model(path, compile=False, safe_mode=True)
    rc, out = _run(tmp_path, path, "savedmodel")
    assert rc == 0, (out / "error.json").read_text() if (out / "error.json").exists() else ""
    with zipfile.ZipFile(out / scorer.EXPORTED) as archive:
        assert "saved_model.pb" in archive.namelist()
        archive.extractall(tmp_path / "sm")
    x = np.random.default_rng(7).normal(size=(5, 3)).astype("float32")
    reloaded: Any = tf.saved_model.load(str(tmp_path / "sm"))  # held: its variables live as long as it does
    np.testing.assert_allclose(np.asarray(reloaded.serve(x)), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_an_exporter_failure_names_the_export_stage_and_its_reason(tmp_path: Path) -> None:
    path, model = _save(tmp_path, "BatchBound")
    assert model.predict(np.zeros((4, 3), "float32"), verbose=0).shape == (4, 2)  # it works, it cannot be exported
    rc, out = _run(tmp_path, path, "onnx")
    assert rc == 1 and not (out / scorer.EXPORTED).exists()
    error = json.loads((out / "error.json").read_text())
    assert error["stage"] == "export" and "BatchBound needs a fixed batch size" in error["message"]


def test_a_model_the_cells_cannot_load_fails_at_the_load_stage(tmp_path: Path) -> None:
    path = tmp_path / "bad.keras"
    path.write_bytes(b"not a keras file")
    rc, out = _run(tmp_path, path, "savedmodel")
    assert rc == 1 and json.loads((out / "error.json").read_text())["stage"] == "load"
