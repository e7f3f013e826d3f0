"""A batch-scoring job whose worker is killed mid-job ends failed `worker_lost` (the reconciler of the next worker),
is never run twice, and leaves no result dataset — on PostgreSQL + Redis, real processes."""

from __future__ import annotations

import io
import os
import signal
from typing import Any

import pandas as pd
import pytest

from tests import helpers
from tests.e2e.conftest import csv_bytes
from tests.reliability.conftest import Cluster

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]


def _job(cluster: Cluster, job_id: int) -> dict[str, Any]:
    return cluster.api.get(f"/api/v1/jobs/{job_id}").json()


def test_a_job_lost_with_its_worker_ends_failed(cluster: Cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    from server.services.bootstrap import demo_bytes

    monkeypatch.setenv("FITSTUDIO_SCORE_BATCH_ROWS", "100")  # the workers started below score 100 rows a batch
    monkeypatch.setenv("FITSTUDIO_JOB_PROGRESS_EVERY_S", "0")  # and write each batch's progress
    w1 = cluster.worker("w1")
    session = cluster.wait_end(cluster.train(cluster.long_task(epochs=2)))
    assert session["status"] == "succeeded", (session["error"], cluster.worker_logs())
    r = cluster.api.post(f"/api/v1/trained-models/{session['trained_model_id']}/deploy", json={"saved_model_name": "s"})
    assert r.status_code == 201, r.text
    saved_id = r.json()["saved_model_id"]
    frame = pd.read_csv(io.BytesIO(demo_bytes("breast_cancer").getvalue())).drop(columns=["diagnosis"])
    ds = cluster.api.upload_csv("REL", "many", csv_bytes(frame.sample(40_000, replace=True, random_state=5)))
    assert ds.status_code == 201, ds.text
    r = cluster.api.post(f"/api/v1/saved-models/{saved_id}/score", json={"dataset_id": ds.json()["id"]})
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]

    helpers.wait_for(lambda: _job(cluster, job_id)["progress"]["rows"] > 0 or None, 120, "the job's first batch")
    os.killpg(w1.pid, signal.SIGKILL)
    w1.wait(timeout=10)
    killed_at = _job(cluster, job_id)
    assert killed_at["status"] == "running" and killed_at["progress"]["rows"] < 40_000, killed_at
    cluster.worker("w2")  # its reconciler pass settles the lost job

    final = helpers.wait_for(
        lambda: (j := _job(cluster, job_id))["status"] != "running" and j or None, 60, "the lost job to end"
    )
    assert (final["status"], final["error"]["code"]) == ("failed", "worker_lost"), (final, cluster.worker_logs())
    assert final["worker"].startswith("w1@") and final["result"] == {"dataset_id": None, "evaluation_id": None}
    names = [d["name"] for d in cluster.api.get("/api/v1/projects/REL/datasets").json()]
    assert not any(f"(job {job_id})" in n for n in names)
