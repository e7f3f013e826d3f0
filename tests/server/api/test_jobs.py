"""Batch-scoring jobs (api.md "Batch jobs"): the checks made before a job starts, permissions, listing, abort, and
the worker's scoring (worker/score_job_task.py) run in this process against …/predict on the same rows."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from tests.security.support import fabricate_trained_model
from tests.server.api.support import API, create_project, expect, expect_error


def _deployed(api: Any, ml_task: dict[str, Any], name: str) -> int:
    """A saved model (v1) of a real untrained Keras model with preprocessing fitted on the ML task's dataset."""
    tmid = fabricate_trained_model(api, ml_task["id"], real_keras=True)
    body = {"saved_model_name": name}
    return int(expect(api.post(f"{API}/trained-models/{tmid}/deploy", json=body), 201)["saved_model_id"])


def _csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


def test_checks_before_a_job_starts_and_permissions(
    api: Any, project: str, dataset: dict[str, Any], ml_task: dict[str, Any], demo_csv: bytes
) -> None:
    saved = _deployed(api, ml_task, "checks")
    frame = pd.read_csv(io.BytesIO(demo_csv))
    lacking = expect(api.upload_csv(project, "lacking", _csv(frame.drop(columns=["mean radius", "worst area"]))), 201)

    body = expect_error(api.post(f"{API}/saved-models/{saved}/score", json={"dataset_id": lacking["id"]}), 422)
    assert body["code"] == "missing_columns"
    assert {e["field"] for e in body["errors"]} == {"mean radius", "worst area"}
    assert "mean radius" in body["detail"] and "worst area" in body["detail"]
    assert expect(api.get(f"{API}/projects/{project}/jobs"), 200) == []  # no job was made

    missing_model = saved + 1000
    expect_error(api.post(f"{API}/saved-models/{missing_model}/score", json={"dataset_id": dataset["id"]}), 404)
    expect_error(api.post(f"{API}/saved-models/{saved}/score", json={"dataset_id": lacking["id"] + 1000}), 404)
    r = api.post(f"{API}/saved-models/{saved}/score", json={"dataset_id": dataset["id"], "version": "v9"})
    expect_error(r, 404)
    expect_error(api.post(f"{API}/saved-models/{saved}/score", json={"dataset_id": "x"}), 422)
    expect_error(api.get(f"{API}/jobs/987654"), 404)
    expect_error(api.post(f"{API}/jobs/987654/abort"), 404)

    create_project(api, "OTHER")
    elsewhere = expect(api.upload_csv("OTHER", "elsewhere", demo_csv), 201)
    body = expect_error(api.post(f"{API}/saved-models/{saved}/score", json={"dataset_id": elsewhere["id"]}), 422)
    assert body["code"] == "other_project"

    reader, outsider = api.user("jr", project, "reader"), api.user("jo")
    r = api.post(f"{API}/saved-models/{saved}/score", json={"dataset_id": dataset["id"]}, token=reader)
    expect_error(r, 403, "forbidden")
    r = api.post(f"{API}/saved-models/{saved}/score", json={"dataset_id": dataset["id"]}, token=outsider)
    expect_error(r, 404, "not_found")

    job = expect(api.post(f"{API}/saved-models/{saved}/score", json={"dataset_id": dataset["id"]}), 202)
    assert (job["kind"], job["status"], job["version_id"]) == ("score", "queued", "v1")
    assert job["progress"] == {"rows": 0, "total": dataset["n_rows"], "failed": 0}
    assert job["result"] == {"dataset_id": None, "evaluation_id": None} and job["error"] is None
    assert expect(api.get(f"{API}/jobs/{job['id']}", token=reader), 200)["id"] == job["id"]
    expect_error(api.get(f"{API}/jobs/{job['id']}", token=outsider), 404)
    expect_error(api.get(f"{API}/projects/{project}/jobs", token=outsider), 404)
    expect_error(api.post(f"{API}/jobs/{job['id']}/abort", token=reader), 403)


def test_jobs_are_listed_newest_first_and_abort_ends_a_queued_job(
    api: Any, project: str, dataset: dict[str, Any], ml_task: dict[str, Any]
) -> None:
    saved = _deployed(api, ml_task, "listed")
    ids = [
        expect(api.post(f"{API}/saved-models/{saved}/score", json={"dataset_id": dataset["id"]}), 202)["id"]
        for _ in range(3)
    ]
    listed = expect(api.get(f"{API}/projects/{project}/jobs"), 200)
    assert [j["id"] for j in listed] == sorted(ids, reverse=True)
    r = api.get(f"{API}/projects/{project}/jobs", params={"limit": 2})
    assert [j["id"] for j in expect(r, 200)] == sorted(ids, reverse=True)[:2]
    assert r.headers["X-Next-Cursor"]

    events = expect(api.get(f"{API}/projects/{project}/audit", params={"action": "job.score"}), 200)
    assert sorted(int(e["target"]) for e in events) == sorted(ids)
    aborted = expect(api.post(f"{API}/jobs/{ids[0]}/abort"), 202)
    assert aborted["status"] == "aborted" and aborted["finished_at"] is not None
    expect_error(api.post(f"{API}/jobs/{ids[0]}/abort"), 409, "already_ended")

    from worker.score_job_task import run_score_job

    assert run_score_job(ids[0], "test-worker") == "skipped"  # an aborted job is never claimed
    assert expect(api.get(f"{API}/jobs/{ids[0]}"), 200)["status"] == "aborted"

    # A job outlives the saved model it names; a queued one whose model is gone fails when a worker takes it.
    expect(api.delete(f"{API}/saved-models/{saved}"), 204)
    assert expect(api.get(f"{API}/jobs/{ids[1]}"), 200)["saved_model_id"] is None
    assert run_score_job(ids[1], "test-worker") == "failed"
    failed = expect(api.get(f"{API}/jobs/{ids[1]}"), 200)
    assert (failed["status"], failed["error"]["code"]) == ("failed", "input_deleted")
    # Its project's deletion takes the jobs with it.
    expect(api.delete(f"{API}/projects/{project}"), 204)
    expect_error(api.get(f"{API}/jobs/{ids[2]}"), 404)


def test_the_worker_scores_in_batches_as_predict_does(
    api: Any,
    project: str,
    dataset: dict[str, Any],
    ml_task: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from server.settings import get_settings
    from worker.score_job_task import run_score_job

    saved = _deployed(api, ml_task, "scored")
    monkeypatch.setenv("FITSTUDIO_SCORE_BATCH_ROWS", "100")
    get_settings.cache_clear()
    job = expect(api.post(f"{API}/saved-models/{saved}/score", json={"dataset_id": dataset["id"]}), 202)

    assert run_score_job(job["id"], "test-worker") == "succeeded"
    assert run_score_job(job["id"], "test-worker") == "skipped"  # a redelivered message runs nothing twice
    done = expect(api.get(f"{API}/jobs/{job['id']}"), 200)
    assert done["status"] == "succeeded", done
    assert done["progress"] == {"rows": dataset["n_rows"], "total": dataset["n_rows"], "failed": 0}
    result = expect(api.get(f"{API}/datasets/{done['result']['dataset_id']}"), 200)
    assert result["n_rows"] == dataset["n_rows"] and f"(job {job['id']})" in result["name"]

    scored = pq.read_table(api.settings.data_root / _path_of(result["id"]) / "data.parquet").to_pandas()
    source = pd.read_parquet(api.settings.data_root / _path_of(dataset["id"]) / "data.parquet")
    pd.testing.assert_frame_equal(scored[list(source.columns)], source)
    rows = source.iloc[:300].to_dict(orient="records")
    predicted = expect(api.post(f"{API}/saved-models/{saved}/predict", json={"rows": rows}), 200)
    assert scored["prediction"].iloc[:300].tolist() == predicted["predictions"]
    proba = scored[[f"proba_{c}" for c in predicted["class_labels"]]].iloc[:300].to_numpy()
    assert np.abs(proba - np.asarray(predicted["probabilities"])).max() < 1e-6


def _path_of(dataset_id: int) -> str:
    from server.db import session_scope
    from server.models import Dataset

    with session_scope() as db:
        row = db.get(Dataset, dataset_id)
        assert row is not None
        return row.path


def test_rows_that_cannot_be_scored_are_counted_and_kept_without_a_prediction(
    api: Any, project: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import base64

    from server.settings import get_settings
    from tests.security.support import png_bytes, zip_bytes
    from tests.server.api.support import create_analysis, create_ml_task, parquet_bytes
    from worker.score_job_task import run_score_job

    index = "image,label\n" + "".join(f"pics/{i % 4}.png,{'xy'[i % 2]}\n" for i in range(24))
    pictures = {f"pics/{i}.png": png_bytes(4 + i, 4) for i in range(4)}
    images = expect(
        api.upload_csv(project, "pictures", zip_bytes({"index.csv": index.encode(), **pictures}), "p.zip"), 201
    )
    task = create_ml_task(api, create_analysis(api, project, images["id"])["id"], "label")
    saved = _deployed(api, task, "pictures")

    good = base64.b64encode(png_bytes()).decode()
    bad_rows = {7, 8, 30, 61}  # unreadable images, spread over three batches of 25
    values = ["not an image!" if i in bad_rows else good for i in range(70)]
    mixed = expect(api.upload_csv(project, "mixed", parquet_bytes({"image": values}), "m.parquet"), 201)
    monkeypatch.setenv("FITSTUDIO_SCORE_BATCH_ROWS", "25")
    get_settings.cache_clear()
    job = expect(api.post(f"{API}/saved-models/{saved}/score", json={"dataset_id": mixed["id"]}), 202)

    assert run_score_job(job["id"], "test-worker") == "succeeded"
    done = expect(api.get(f"{API}/jobs/{job['id']}"), 200)
    assert done["progress"] == {"rows": 70, "total": 70, "failed": len(bad_rows)}
    assert [f["row"] for f in done["failures"]] == sorted(bad_rows)
    assert all("image" in f["message"] for f in done["failures"])
    scored = pq.read_table(api.settings.data_root / _path_of(done["result"]["dataset_id"]) / "data.parquet")
    frame = scored.to_pandas()
    assert len(frame) == 70
    assert set(frame.index[frame["prediction"].isna()]) == bad_rows
    assert frame["prediction"].drop(index=list(bad_rows)).isin(["x", "y"]).all()
    assert frame[["proba_x", "proba_y"]].drop(index=list(bad_rows)).sum(axis=1).round(5).eq(1).all()


@pytest.mark.parametrize("target", ["klass", "score"])  # multiclass with integer labels; regression
def test_output_columns_by_task_never_rename_an_input_column(
    api: Any, project: str, typed_dataset: dict[str, Any], target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from server.settings import get_settings
    from tests.server.api.support import create_analysis, create_ml_task, typed_csv
    from worker.score_job_task import run_score_job

    task = create_ml_task(api, create_analysis(api, project, typed_dataset["id"])["id"], target)
    saved = _deployed(api, task, f"typed-{target}")
    frame = pd.read_csv(io.BytesIO(typed_csv(45))).drop(columns=[target])  # the other targets are features
    frame["prediction"] = "the user's own column"
    ds = expect(api.upload_csv(project, "with-prediction", _csv(frame)), 201)
    monkeypatch.setenv("FITSTUDIO_SCORE_BATCH_ROWS", "20")
    get_settings.cache_clear()
    job = expect(api.post(f"{API}/saved-models/{saved}/score", json={"dataset_id": ds["id"]}), 202)
    assert run_score_job(job["id"], "test-worker") == "succeeded"

    done = expect(api.get(f"{API}/jobs/{job['id']}"), 200)
    scored = pd.read_parquet(api.settings.data_root / _path_of(done["result"]["dataset_id"]) / "data.parquet")
    predicted = expect(api.post(f"{API}/saved-models/{saved}/predict", json={"rows": frame.to_dict("records")}), 200)
    assert scored["prediction"].eq("the user's own column").all()  # the input column, unchanged
    assert scored["prediction_2"].tolist() == pytest.approx(predicted["predictions"])
    if target == "klass":
        assert predicted["class_labels"] == [0, 1, 2]
        assert list(scored.columns[-3:]) == ["proba_0", "proba_1", "proba_2"]
        assert scored["prediction_2"].dtype == "int64"
    else:
        assert list(scored.columns[-1:]) == ["prediction_2"] and scored["prediction_2"].dtype == "float64"


def test_a_job_counts_the_values_it_imputed_and_the_categories_it_did_not_know(
    api: Any, project: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A month's new file scored, then evaluated: text in a number column and a new shop are said, per column."""
    from server.settings import get_settings
    from tests.server.api.support import create_analysis, create_ml_task, parquet_bytes
    from worker.evaluate_job_task import run_evaluate_job
    from worker.score_job_task import run_score_job

    shops = ["Nord", "Süd", "West"]
    train = {"shop": [shops[i % 3] for i in range(60)], "amount": [float(i % 11) for i in range(60)]}
    train["label"] = ["ab"[i % 2] for i in range(60)]
    trained = expect(api.upload_csv(project, "sales", parquet_bytes(train), "s.parquet"), 201)
    saved = _deployed(api, create_ml_task(api, create_analysis(api, project, trained["id"])["id"], "label"), "sales")
    new = {
        "shop": ["Nord", " Süd ", "Ost", "Ost", None, "West"] * 10,  # " Süd " is Süd; Ost is new; None is missing
        "amount": ["3.5", "viel", None, "7", "2", "1e3"] * 10,  # "viel" and None imputed
        "label": ["ab"[i % 2] for i in range(60)],
    }
    month = expect(api.upload_csv(project, "month", parquet_bytes(new), "m.parquet"), 201)
    monkeypatch.setenv("FITSTUDIO_SCORE_BATCH_ROWS", "25")  # counted over three batches
    get_settings.cache_clear()
    for kind, run in (("score", run_score_job), ("evaluate", run_evaluate_job)):
        job = expect(api.post(f"{API}/saved-models/{saved}/{kind}", json={"dataset_id": month["id"]}), 202)
        assert run(job["id"], "test-worker") == "succeeded"
        done = expect(api.get(f"{API}/jobs/{job['id']}"), 200)
        assert (done["imputed"], done["unseen"]) == ({"amount": 20}, {"shop": 20}), (kind, done)
        assert done["progress"]["failed"] == 0
