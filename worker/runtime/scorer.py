"""Scoring and export inside the child: the frozen cells run (they register the custom objects), the model loads,
it predicts, serves a batch job's batches, or is exported.

The API could not load the model without the user's code, so the worker runs this in the training's sandbox
(worker/score_task.py). Scoring: the inputs are already preprocessed by the API; the raw output goes back as
output.npy. Export: the API's own exporter (core/exporting.py) writes the .zip or .onnx, which goes back as EXPORTED.
"""

from __future__ import annotations

import inspect
import json
import shutil
import sys
import tempfile
import types
from pathlib import Path
from typing import Any

from core import cells as contract
from core.catalog import CUSTOM_SCORE
from core.contracts import ErrorInfo, Job
from core.protocol import jsonable
from worker.runtime import cells

OUTPUT = "output.npy"
EXPORTED = "exported"


def _cells_of(job: Job) -> list[str]:
    """The cells the training ran: the architecture, the training cell in advanced mode, the custom score's."""
    design = job.design
    names = [contract.ARCHITECTURE]
    if design.training.get("mode") == "advanced" and design.code.get(contract.TRAINING):
        names.append(contract.TRAINING)
    if design.metric == CUSTOM_SCORE and design.code.get(contract.CUSTOM_SCORE):
        names.append(contract.CUSTOM_SCORE)
    return names


def custom_objects(job: Job) -> dict[str, Any]:
    """Run the frozen cells (registering what they decorate) and name every class and function they define."""
    found: dict[str, Any] = {}
    for name in _cells_of(job):
        module = cells.load_cell(name, job.design.code.get(name) or "")
        found.update(_defined_in(module))
    return found


def _defined_in(module: types.ModuleType) -> dict[str, Any]:
    """The classes and functions MODULE defines itself (what Keras saved by name), not those it imported."""
    return {
        getattr(obj, "__name__", key): obj
        for key, obj in vars(module).items()
        if (inspect.isclass(obj) or inspect.isfunction(obj)) and getattr(obj, "__module__", None) == module.__name__
    }


def _load(job: Job) -> Any:
    """The model of the job, with the classes and functions the frozen cells define."""
    import keras

    objects = custom_objects(job)
    # safe_mode off only here, in the sandbox: a Lambda layer's bytecode is the user's own training code.
    return keras.models.load_model((job.scoring or {})["model"], compile=False, safe_mode=False, custom_objects=objects)


def _predict(job: Job, out_dir: Path) -> None:
    import numpy as np

    from core.sequences import inputs_for

    spec = job.scoring or {}
    stage = "load"
    try:
        model = _load(job)
        stage = "predict"
        with np.load(spec["inputs"], allow_pickle=False) as data:
            inputs = {key: data[key] for key in data.files}
        output = np.asarray(model.predict(inputs_for(model, inputs), verbose=0, batch_size=1024), dtype="float64")
    except BaseException as exc:  # noqa: BLE001 - every failure is reported with the stage it happened in
        raise _Failed(stage, exc) from None
    tmp = out_dir / "output.tmp.npy"
    np.save(tmp, output, allow_pickle=False)
    tmp.replace(out_dir / OUTPUT)


def _serve(job: Job, out_dir: Path, channel: Any) -> None:
    """A batch job's model (worker/sandboxed_model.py): load it once, then ask the worker for a batch, predict it
    into batch-<n>.npy and ask again, until the worker answers that there is no more."""
    import numpy as np

    from core.sequences import inputs_for

    stage = "load"
    try:
        model = _load(job)
        stage = "predict"
        done = 0
        while True:
            reply = channel.ask("score_batch", done=done)
            if not reply.get("ok"):
                raise RuntimeError(f"the worker refused the batch: {reply.get('error')}")
            if reply.get("done"):
                return
            with np.load(reply["inputs"], allow_pickle=False) as data:
                inputs = {key: data[key] for key in data.files}
            output = np.asarray(model.predict(inputs_for(model, inputs), verbose=0, batch_size=1024), dtype="float64")
            tmp = out_dir / "batch.tmp.npy"
            np.save(tmp, output, allow_pickle=False)
            tmp.replace(out_dir / f"batch-{done}.npy")
            done += 1
    except BaseException as exc:  # noqa: BLE001 - every failure is reported with the stage it happened in
        raise _Failed(stage, exc) from None


def _export(job: Job, out_dir: Path) -> None:
    from core.exporting import write_export

    stage = "load"
    try:
        model = _load(job)
        stage = "export"
        # The exporter's working files go to the scratch folder (TMPDIR); only the finished file to the results.
        with tempfile.TemporaryDirectory() as tmp:
            made = write_export(model, (job.scoring or {})["format"], Path(tmp))
            shutil.move(str(made), out_dir / f"{EXPORTED}.tmp")
    except BaseException as exc:  # noqa: BLE001 - every failure is reported with the stage it happened in
        raise _Failed(stage, exc) from None
    (out_dir / f"{EXPORTED}.tmp").replace(out_dir / EXPORTED)


class _Failed(Exception):
    def __init__(self, stage: str, exc: BaseException):
        super().__init__(str(exc))
        self.stage = stage
        self.info = exc.error if isinstance(exc, cells.CellError) else cells.describe(exc)


def run(job: Job, out_dir: Path, channel: Any = None) -> int:
    """Score the job's inputs, serve its model to a batch job over CHANNEL or export it; 0 with output.npy or
    EXPORTED (or the batches served), else 1 with error.json (its `stage`: load, predict or export)."""
    try:
        cells.install_aliases()
        from worker.runtime import weights

        weights.install(job.weights_dir)
        kind = (job.scoring or {}).get("kind")
        if kind == "export":
            _export(job, out_dir)
        elif kind == "serve":
            _serve(job, out_dir, channel)
        else:
            _predict(job, out_dir)
        return 0
    except _Failed as failed:
        doc = {**failed.info.as_dict(), "stage": failed.stage}
    except BaseException as exc:  # noqa: BLE001 - the runtime's own failure, reported the same way
        doc = {**ErrorInfo(type(exc).__name__, str(exc)[:2000]).as_dict(), "stage": None}
    print(f"[fitstudio] scoring failed: {doc['type']}: {doc['message']}", file=sys.stderr, flush=True)
    tmp = out_dir / "error.tmp"
    tmp.write_text(json.dumps(jsonable(doc)))
    tmp.replace(out_dir / "error.json")
    return 1
