"""Batch scoring and evaluation as jobs on a real worker (api.md "Batch jobs"): a trained and deployed model scores
a dataset of a few thousand rows in batches; the result equals …/predict on the same rows; progress and abort
between batches; an evaluation's metrics equal the catalogue's computed on …/predict's answers."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests import helpers
from tests.e2e.conftest import Runtime, csv_bytes

pytestmark = pytest.mark.slow

BATCH_ROWS = 100  # the worker's FITSTUDIO_SCORE_BATCH_ROWS here: many batches, so progress is seen moving


@pytest.fixture(scope="module", autouse=True)
def small_batches() -> Iterator[None]:
    """The module's worker (started after this) scores BATCH_ROWS rows at a time."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FITSTUDIO_SCORE_BATCH_ROWS", str(BATCH_ROWS))
        mp.setenv("FITSTUDIO_JOB_PROGRESS_EVERY_S", "0")  # every batch's progress written
        yield


def cancer_frame() -> pd.DataFrame:
    from server.services.bootstrap import demo_bytes

    return pd.read_csv(io.BytesIO(demo_bytes("breast_cancer").getvalue()))


@pytest.fixture(scope="module")
def deployed(runtime: Runtime) -> int:
    """A saved model trained on breast cancer (binary)."""
    assert os.environ["FITSTUDIO_SCORE_BATCH_ROWS"] == str(BATCH_ROWS)
    task = runtime.task(runtime.dataset("cancer", csv_bytes(cancer_frame())), "diagnosis")
    final = runtime.train_and_wait(task["id"])
    assert final["status"] == "succeeded", (final["error"], runtime.log_tail())
    r = runtime.api.post(f"/api/v1/trained-models/{final['trained_model_id']}/deploy", json={"saved_model_name": "bc"})
    assert r.status_code == 201, r.text
    return int(r.json()["saved_model_id"])


def _rows(n: int, seed: int) -> pd.DataFrame:
    """N rows drawn from breast cancer with noise, without the target, columns in another order, an id column."""
    rng = np.random.default_rng(seed)
    frame = cancer_frame().drop(columns=["diagnosis"]).sample(n, replace=True, random_state=seed)
    frame = frame * rng.normal(1.0, 0.05, size=frame.shape)
    frame = frame[list(reversed(frame.columns))].reset_index(drop=True)
    frame.insert(0, "row_id", np.arange(n) + 7_000_000)
    return frame


def test_a_dataset_is_scored_in_batches_as_predict_scores_it(runtime: Runtime, deployed: int, tmp_path: Path) -> None:
    from fitstudio.client import Client

    n = 12_000  # 120 batches: the job runs long enough for a few polls to see it between its start and end
    frame = _rows(n, seed=11)
    dataset = runtime.dataset("to-score", csv_bytes(frame))
    client = Client("http://testserver", runtime.api.token, transport=runtime.api.client._transport)
    job = client.get_saved_model(deployed).score(dataset)
    seen: set[int] = set()

    def ended() -> dict[str, Any] | None:
        details = job.get_details()
        seen.add(details["progress"]["rows"])
        return details if details["status"] in ("succeeded", "failed", "aborted") else None

    done = helpers.wait_for(ended, 240, "the scoring job to end", every=0.05)
    assert done["status"] == "succeeded", (done["error"], runtime.log_tail())
    assert job.wait()["status"] == "succeeded"
    assert done["progress"] == {"rows": n, "total": n, "failed": 0} and done["failures"] == []
    assert all(r % BATCH_ROWS == 0 for r in seen)  # progress moves a whole batch at a time
    assert seen - {0, n}, seen  # and was seen between the start and the end
    result_id = job.result_dataset_id
    assert result_id is not None and result_id != dataset

    result = runtime.api.get(f"/api/v1/datasets/{result_id}").json()
    names = [c["name"] for c in result["columns"]]
    assert names == [*frame.columns, "prediction", "proba_benign", "proba_malignant"] and result["n_rows"] == n
    scored = job.result_frame()  # the client's frame, from the Parquet download
    assert scored["row_id"].tolist() == frame["row_id"].tolist()  # every row, in order
    as_csv = pd.read_csv(job.download_result(tmp_path / "scored.csv"))
    assert list(as_csv.columns) == names and as_csv["row_id"].tolist() == frame["row_id"].tolist()
    assert as_csv["prediction"].tolist() == scored["prediction"].tolist()
    assert np.abs(as_csv["proba_malignant"].to_numpy() - scored["proba_malignant"].to_numpy()).max() < 1e-6
    for start in (0, n // 2 - 50, n - 100):  # rows of the first, a middle and the last batch
        rows = frame.iloc[start : start + 100]
        expected = runtime.api.post(
            f"/api/v1/saved-models/{deployed}/predict", json={"rows": rows.to_dict(orient="records")}
        ).json()
        got = scored.iloc[start : start + 100]
        assert got["prediction"].tolist() == expected["predictions"]
        proba = got[[f"proba_{c}" for c in expected["class_labels"]]].to_numpy()
        assert np.abs(proba - np.asarray(expected["probabilities"])).max() < 1e-5


def test_a_running_job_is_aborted_between_batches(runtime: Runtime, deployed: int) -> None:
    dataset = runtime.dataset("to-abort", csv_bytes(_rows(30_000, seed=12)))
    r = runtime.api.post(f"/api/v1/saved-models/{deployed}/score", json={"dataset_id": dataset})
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]

    def started() -> dict[str, Any] | None:
        body = runtime.api.get(f"/api/v1/jobs/{job_id}").json()
        return body if body["progress"]["rows"] > 0 or body["status"] != "queued" else None

    running = helpers.wait_for(started, 240, "the job to score its first batch", every=0.05)
    assert running["status"] == "running", (running, runtime.log_tail())
    assert runtime.api.post(f"/api/v1/jobs/{job_id}/abort").status_code == 202

    def ended() -> dict[str, Any] | None:
        body = runtime.api.get(f"/api/v1/jobs/{job_id}").json()
        return body if body["status"] != "running" else None

    final = helpers.wait_for(ended, 120, "the aborted job to end", every=0.1)
    assert final["status"] == "aborted", final
    assert 0 < final["progress"]["rows"] < 30_000 and final["result"] == {"dataset_id": None, "evaluation_id": None}
    names = [d["name"] for d in runtime.api.get(f"/api/v1/projects/{runtime.project}/datasets").json()]
    assert not any(f"(job {job_id})" in n for n in names)  # nothing half-made is kept


def test_an_evaluation_measures_what_predict_answers(runtime: Runtime, deployed: int) -> None:
    from core import metrics
    from fitstudio.client import Client

    frame = _rows(2500, seed=13)
    labels = cancer_frame()["diagnosis"].sample(2500, replace=True, random_state=13).to_numpy()
    frame["diagnosis"] = labels
    frame.loc[[5, 1234], "diagnosis"] = None  # no target: counted, left out
    dataset = runtime.dataset("to-evaluate", csv_bytes(frame))
    client = Client("http://testserver", runtime.api.token, transport=runtime.api.client._transport)
    saved = client.get_saved_model(deployed)
    job = saved.evaluate(dataset)
    done = job.wait(timeout=240, poll=0.2)
    assert done["kind"] == "evaluate" and done["progress"] == {"rows": 2500, "total": 2500, "failed": 2}, done
    evaluation = job.evaluation()
    assert evaluation["n_rows"] == 2498 and evaluation["dataset_id"] == dataset
    assert [e["id"] for e in saved.evaluations()] == [evaluation["id"]]

    kept = frame.drop(index=[5, 1234])
    rows = kept.drop(columns=["diagnosis"]).to_dict(orient="records")
    r = runtime.api.post(f"/api/v1/saved-models/{deployed}/predict", json={"rows": rows})
    predicted = r.json()
    y_true = kept["diagnosis"].map({c: i for i, c in enumerate(predicted["class_labels"])}).to_numpy()
    expected = metrics.compute("binary", y_true, np.asarray(predicted["probabilities"]))
    assert set(evaluation["metrics"]) == set(expected)
    for name, value in expected.items():
        got = evaluation["metrics"][name]
        assert (got is None and np.isnan(value)) or got == pytest.approx(value, rel=1e-6, abs=1e-9), name
    matrix = np.asarray(evaluation["charts"]["confusion_matrix"])
    assert matrix.sum() == 2498 and np.trace(matrix) / 2498 == pytest.approx(expected["Accuracy"])
