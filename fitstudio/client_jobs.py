"""Jobs in the Python client (api.md "Batch jobs"): `saved_model.score(dataset_id)` and
`saved_model.evaluate(dataset_id)` return a Job to `wait()` on; a scoring's result comes back as a pandas frame
(`job.result_frame()`) or a CSV/Parquet file (`job.download_result(path)`)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

TERMINAL = ("succeeded", "failed", "aborted")


class JobFailed(RuntimeError):
    """Job.wait saw the job end failed or aborted; `job` holds its last state (status, error)."""

    def __init__(self, job: dict[str, Any]):
        error = job.get("error") or {}
        super().__init__(f"job {job['id']} {job['status']}: {error.get('message') or job['status']}")
        self.job = job


class Job:
    """A handle on one job: `Job(client, job_id)`."""

    def __init__(self, client: Any, job_id: int):
        self.client = client
        self.id = int(job_id)
        self.last: dict[str, Any] | None = None

    def get_details(self) -> dict[str, Any]:
        """{id, kind, status, progress: {rows, total, failed}, failures, result: {dataset_id, evaluation_id}, …}."""
        self.last = self.client.json("GET", f"/jobs/{self.id}")
        return self.last

    def abort(self) -> dict[str, Any]:
        """Abort: a queued job never starts, a running one stops before its next batch."""
        self.last = self.client.json("POST", f"/jobs/{self.id}/abort")
        return self.last

    def wait(self, timeout: float = 3600, poll: float = 1.0) -> dict[str, Any]:
        """Wait for the job to end; its details when it succeeded, JobFailed when it failed or was aborted."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.get_details()
            if job["status"] == "succeeded":
                return job
            if job["status"] in TERMINAL:
                raise JobFailed(job)
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {self.id} still {job['status']} after {timeout} s")
            time.sleep(poll)

    @property
    def result_dataset_id(self) -> int | None:
        """The id of the dataset a scoring made (None until it succeeds)."""
        job = self.last if self.last and self.last["status"] in TERMINAL else self.get_details()
        return (job.get("result") or {}).get("dataset_id")

    @property
    def result_evaluation_id(self) -> int | None:
        """The id of the evaluation an evaluation job made (None until it succeeds)."""
        job = self.last if self.last and self.last["status"] in TERMINAL else self.get_details()
        return (job.get("result") or {}).get("evaluation_id")

    def download_result(self, path: str | Path, format: str = "csv") -> Path:
        """Write the dataset this (succeeded) scoring made to PATH as `csv` or `parquet`, streamed."""
        from fitstudio.client import _download  # fitstudio.client imports this module

        return _download(self.client, f"/datasets/{self._result_dataset()}/download?format={format}", path)

    def result_frame(self) -> Any:
        """The dataset this (succeeded) scoring made, as a pandas DataFrame (the input columns, `prediction` and the
        `proba_<class>` columns): read from its Parquet download, so the frame holds the stored types."""
        import pandas as pd

        with tempfile.TemporaryDirectory(prefix="fitstudio-job-") as folder:
            return pd.read_parquet(self.download_result(Path(folder) / "result.parquet", "parquet"))

    def _result_dataset(self) -> int:
        dataset_id = self.result_dataset_id
        if dataset_id is None:
            raise ValueError(f"job {self.id} has made no dataset (yet): {(self.last or {}).get('status')}")
        return dataset_id

    def evaluation(self) -> dict[str, Any]:
        """The evaluation this (succeeded) evaluation job made: {metrics, charts, n_rows, …} (GET /evaluations/{id})."""
        evaluation_id = self.result_evaluation_id
        if evaluation_id is None:
            raise ValueError(f"job {self.id} has made no evaluation (yet): {(self.last or {}).get('status')}")
        return self.client.json("GET", f"/evaluations/{evaluation_id}")


class SavedModelJobs:
    """What fitstudio.client.SavedModel takes from here: `score`, `evaluate`, `evaluations`."""

    client: Any
    id: int

    def score(self, dataset_id: int, version_id: str | None = None, use_gpu: bool = False) -> Job:
        """Score the project's dataset DATASET_ID with the active (or given) version, as a worker job (on a GPU
        worker's GPU when USE_GPU); its result is a new dataset: the input columns plus `prediction` (and
        `proba_<class>`). InvalidRequest (422) names the input columns the dataset lacks."""
        body: dict[str, Any] = {"dataset_id": dataset_id, "use_gpu": use_gpu}
        if version_id:
            body["version"] = version_id
        return Job(self.client, self.client.json("POST", f"/saved-models/{self.id}/score", json=body)["id"])

    def evaluate(self, dataset_id: int, version_id: str | None = None, use_gpu: bool = False) -> Job:
        """Evaluate the active (or given) version on the project's labelled dataset DATASET_ID, as a worker job;
        `job.wait()` then `job.evaluation()` give the metrics and charts. InvalidRequest (422) names the target
        and the input columns the dataset lacks. USE_GPU: as for score."""
        body: dict[str, Any] = {"dataset_id": dataset_id, "use_gpu": use_gpu}
        if version_id:
            body["version"] = version_id
        return Job(self.client, self.client.json("POST", f"/saved-models/{self.id}/evaluate", json=body)["id"])

    def evaluations(self) -> list[dict[str, Any]]:
        """This saved model's evaluations, newest first (each with its metrics; charts by GET /evaluations/{id})."""
        return self.client.json("GET", f"/saved-models/{self.id}/evaluations")
