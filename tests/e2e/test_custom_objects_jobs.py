"""Batch jobs on models with custom objects: the worker reads, preprocesses and writes, and one sandboxed child per
job runs the frozen code cells, loads the model and scores every batch (worker/sandboxed_model.py).

The custom layer's cell refuses to run where it can see the service's database, so a job that ran it in the worker
process itself (outside the sandbox) would fail instead of succeeding.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests import helpers
from tests.e2e.conftest import Runtime, csv_bytes
from tests.e2e.test_custom_objects_scoring import FRAGILE, UNREGISTERED, _expected
from tests.e2e.test_models import cancer_frame

pytestmark = pytest.mark.slow

BATCH_ROWS = 150  # many batches through the one child


@pytest.fixture(scope="module", autouse=True)
def small_batches() -> Iterator[None]:
    """The module's worker (started after this) scores BATCH_ROWS rows at a time, progress written every batch."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FITSTUDIO_SCORE_BATCH_ROWS", str(BATCH_ROWS))
        mp.setenv("FITSTUDIO_JOB_PROGRESS_EVERY_S", "0")
        yield


def _deployed(runtime: Runtime, ds: int, code: str, name: str) -> tuple[int, str]:
    task = runtime.task(ds, "diagnosis", patch={"training": {"epochs": 1}, "code": {"architecture": code}})
    final = runtime.train_and_wait(task["id"])
    assert final["status"] == "succeeded", (final["error"], runtime.log_tail())
    r = runtime.api.post(f"/api/v1/trained-models/{final['trained_model_id']}/deploy", json={"saved_model_name": name})
    assert r.status_code == 201, r.text
    return int(r.json()["saved_model_id"]), final["trained_model_id"]


def _job(runtime: Runtime, saved_id: int, kind: str, dataset: int) -> dict[str, Any]:
    r = runtime.api.post(f"/api/v1/saved-models/{saved_id}/{kind}", json={"dataset_id": dataset})
    assert r.status_code == 202, r.text

    def ended() -> dict[str, Any] | None:
        body = runtime.api.get(f"/api/v1/jobs/{r.json()['id']}").json()
        return body if body["status"] in ("succeeded", "failed", "aborted") else None

    return helpers.wait_for(ended, 300, f"the {kind} job to end", every=0.2)


def test_custom_object_models_are_scored_and_evaluated_by_one_sandboxed_child(runtime: Runtime, tmp_path: Path) -> None:
    assert os.environ["FITSTUDIO_SCORE_BATCH_ROWS"] == str(BATCH_ROWS)
    frame = cancer_frame()
    ds = runtime.dataset("cancer-custom-jobs", csv_bytes(frame))
    database = repr(str(runtime.home / "fitstudio.db"))
    assert (runtime.home / "fitstudio.db").exists()
    saved_id, tmid = _deployed(runtime, ds, UNREGISTERED.replace("API_DATABASE", database), "doubling")

    scored = _job(runtime, saved_id, "score", ds)
    assert scored["status"] == "succeeded", (scored["error"], runtime.log_tail())
    assert scored["progress"] == {"rows": len(frame), "total": len(frame), "failed": 0}
    body = runtime.api.get(f"/api/v1/datasets/{scored['result']['dataset_id']}/preview", params={"limit": 10_000})
    result = body.json()
    columns = result["columns"]
    proba = np.asarray([[r[columns.index(c)] for c in ("proba_benign", "proba_malignant")] for r in result["rows"]])
    rows = frame.drop(columns=["diagnosis"]).to_dict(orient="records")
    assert np.abs(proba - _expected(runtime, tmid, rows, tmp_path)).max() < 1e-5  # every batch, in order

    evaluated = _job(runtime, saved_id, "evaluate", ds)
    assert evaluated["status"] == "succeeded", (evaluated["error"], runtime.log_tail())
    evaluation = runtime.api.get(f"/api/v1/evaluations/{evaluated['result']['evaluation_id']}").json()
    assert evaluation["n_rows"] == len(frame) and 0.5 <= evaluation["metrics"]["ROC AUC"] <= 1

    fragile_id, _ = _deployed(runtime, ds, FRAGILE, "fragile")
    failed = _job(runtime, fragile_id, "score", ds)
    assert failed["status"] == "failed" and failed["error"]["code"] == "model_failed", failed
    assert "Fragile layers cannot be restored" in failed["error"]["message"]
    assert failed["result"] == {"dataset_id": None, "evaluation_id": None}
    leftovers = [p.name for p in (runtime.home / "scratch").glob("job*")] if (runtime.home / "scratch").exists() else []
    assert not leftovers, leftovers  # each job's sandbox folders go with it
