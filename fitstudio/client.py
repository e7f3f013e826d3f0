"""fitstudio.client: the REST API for programs and notebooks, with dataikuapi-like names.

from fitstudio.client import Client
client = Client("http://127.0.0.1:8000", token)
project = client.get_project("DEMO")
analysis = project.create_analysis(dataset_id=1, name="cancer")
ml_task = analysis.create_ml_task(target="diagnosis")
ml_task.start_train(); ml_task.wait_train_complete()
model = ml_task.get_trained_model(ml_task.get_trained_models_ids()[0])
saved = model.deploy(saved_model_name="cancer"); saved.predict([{...}]); saved.score(dataset_id).wait()
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from fitstudio.client_errors import (  # noqa: F401  (the errors are fitstudio.client's too)
    AuthenticationError,
    Conflict,
    FitstudioError,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    TrainingFailed,
    checked,
)
from fitstudio.client_options import PREVIEW_BYTES, WORKBOOKS, reading_fields
from fitstudio.client_retrain import SavedModelTools
from fitstudio.client_sessions import SessionTools
from fitstudio.client_threshold import TrainedModelExtras


class Client:
    """A connection to one fitstudio server."""

    def __init__(
        self,
        url: str,
        token: str,
        timeout: float = 120.0,
        transport: httpx.BaseTransport | None = None,
        page_size: int | None = None,
    ):
        self.url = url.rstrip("/")
        self.page_size = page_size  # lists are fetched PAGE_SIZE items a request (None: all in one)
        self._http = httpx.Client(
            base_url=f"{self.url}/api/v1",
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
            transport=transport,
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        """One API call; an error answer raises the matching FitstudioError."""
        return checked(self._http.request(method, path, **kw))

    @contextmanager
    def stream(self, method: str, path: str, **kw: Any) -> Iterator[httpx.Response]:
        """One API call whose answer is read as it arrives (a large file); errors raise as for request()."""
        with self._http.stream(method, path, **kw) as response:
            if response.status_code >= 400:
                response.read()
            yield checked(response)

    def json(self, method: str, path: str, **kw: Any) -> Any:
        """One API call's JSON answer."""
        response = self.request(method, path, **kw)
        return response.json() if response.content else None

    def list_all(self, path: str) -> list[Any]:
        """Every item of list endpoint PATH, following its pages (each answer's X-Next-Cursor, as in its Link)."""
        items: list[Any] = []
        params = {"limit": self.page_size} if self.page_size else {}
        while True:
            response = self.request("GET", path, params=params)
            items.extend(response.json())
            if not response.headers.get("X-Next-Cursor"):
                return items
            params["cursor"] = response.headers["X-Next-Cursor"]

    def list_projects(self) -> list[dict[str, Any]]:
        """The projects you can see."""
        return self.list_all("/projects")

    def create_project(self, key: str, name: str = "") -> Project:
        """Create a project (you become its admin)."""
        self.json("POST", "/projects", json={"key": key, "name": name})
        return Project(self, key)

    def get_project(self, key: str) -> Project:
        """A handle on project KEY (checked on first use)."""
        return Project(self, key)

    def get_saved_model(self, saved_model_id: int) -> SavedModel:
        """A handle on a saved model."""
        return SavedModel(self, saved_model_id)

    def get_trained_model(self, trained_model_id: str) -> TrainedModel:
        """A handle on a trained model."""
        return TrainedModel(self, trained_model_id)

    def list_workers(self) -> list[dict[str, Any]]:
        """The workers and their heartbeats."""
        return self.list_all("/workers")


class Project:
    """A project: datasets, analyses, saved models."""

    def __init__(self, client: Client, key: str):
        self.client = client
        self.key = key

    def get_summary(self) -> dict[str, Any]:
        """Name, owner, members."""
        return self.client.json("GET", f"/projects/{self.key}")

    def upload_dataset(self, name: str, path: str | Path, **reading_options: Any) -> dict[str, Any]:
        """Upload a .csv (.tsv, .txt, .data, .dat, .tab, .psv), .xlsx (.xlsm, .xls, .xlsb), .ods, .json (.jsonl,
        .ndjson), .parquet or SPSS, Stata or SAS file (compressed, `.csv.gz`, or alone in a .zip or tar), or an image
        .zip or tar (`.tgz`), as a dataset. READING_OPTIONS give a CSV's reading options (data.md: e.g.
        `delimiter=";"`, `decimal=","`, `encoding="cp1252"`, `header=False`, `null_values=["?"]`;
        `member="train.csv"` picks the table of an archive that holds several, or the one that labels its images,
        `sheet="Kunden"` a workbook's sheet); the others are detected, and the answer's `source` says how it was
        read, or which images were left out."""
        fields = {"name": name, **reading_fields(reading_options)}
        path = Path(path)
        with open(path, "rb") as fh:
            return self.client.json(
                "POST", f"/projects/{self.key}/datasets", data=fields, files={"file": (path.name, fh)}
            )

    def preview_dataset(self, path: str | Path, **reading_options: Any) -> dict[str, Any]:
        """How upload_dataset would read the file at PATH, nothing stored (`POST …/datasets/sniff`): `source` (the
        reading options, detected or given, and the sentences to check), `columns` with their detected types and
        the first `rows`. A CSV's first 4 MiB are sent, as the service reads no more to detect; a workbook whole."""
        fields = reading_fields(reading_options)
        path = Path(path)
        with open(path, "rb") as fh:
            workbook = path.suffix.lower() in WORKBOOKS
            head = fh.read() if workbook else fh.read(PREVIEW_BYTES)
        return self.client.json(
            "POST", f"/projects/{self.key}/datasets/sniff", data=fields, files={"file": (path.name, head)}
        )

    def list_datasets(self) -> list[dict[str, Any]]:
        """The project's datasets."""
        return self.client.list_all(f"/projects/{self.key}/datasets")

    def create_analysis(self, dataset_id: int, name: str = "") -> Analysis:
        """A new analysis on a dataset."""
        body = self.client.json("POST", f"/projects/{self.key}/analyses", json={"dataset_id": dataset_id, "name": name})
        return Analysis(self.client, body["id"])

    def list_analyses(self) -> list[dict[str, Any]]:
        """The project's analyses."""
        return self.client.list_all(f"/projects/{self.key}/analyses")

    def list_saved_models(self) -> list[dict[str, Any]]:
        """The project's saved models."""
        return self.client.list_all(f"/projects/{self.key}/saved-models")

    def import_saved_model(self, name: str, path: str | Path) -> dict[str, Any]:
        """Import a .keras (or legacy .h5) file trained elsewhere as version v1 of a new saved model NAME.

        The file is streamed from disk; returns the API's saved model (its `versions[0]["imported"]` describes
        the file). A file Keras cannot load raises InvalidRequest with code `invalid_model`."""
        path = Path(path)
        with open(path, "rb") as fh:
            return self.client.json(
                "POST",
                f"/projects/{self.key}/saved-models/import",
                data={"name": name},
                files={"file": (path.name, fh, "application/octet-stream")},
            )

    def set_member(self, username: str, role: str) -> None:
        """Give USERNAME ROLE (reader, writer, admin)."""
        self.client.json("PUT", f"/projects/{self.key}/members/{username}", json={"role": role})

    def delete(self) -> None:
        """Delete the project and its files."""
        self.client.request("DELETE", f"/projects/{self.key}")


class Analysis:
    """An analysis: ML tasks on one dataset."""

    def __init__(self, client: Client, analysis_id: str):
        self.client = client
        self.id = analysis_id

    def create_ml_task(self, target: str, prediction_type: str | None = None, name: str | None = None) -> MLTask:
        """A new ML task with default settings and code."""
        body: dict[str, Any] = {"target": target}
        if prediction_type:
            body["prediction_type"] = prediction_type
        if name:
            body["name"] = name
        return MLTask(self.client, self.client.json("POST", f"/analyses/{self.id}/ml-tasks", json=body)["id"])

    def list_ml_tasks(self) -> list[dict[str, Any]]:
        """The analysis's ML tasks."""
        return self.client.list_all(f"/analyses/{self.id}/ml-tasks")


class MLTask(SessionTools):
    """An ML task: settings, trainings, trained models; comparing sessions and their tags and notes (SessionTools)."""

    def __init__(self, client: Client, mltask_id: str):
        self.client = client
        self.id = mltask_id
        self.last_session: dict[str, Any] | None = None

    def get_settings(self) -> dict[str, Any]:
        """The full settings document."""
        return self.client.json("GET", f"/ml-tasks/{self.id}/settings")

    def set_settings(self, settings: dict[str, Any]) -> dict[str, Any]:
        """Replace settings (keys left out keep their value)."""
        return self.client.json("PUT", f"/ml-tasks/{self.id}/settings", json=settings)

    def validate(self, settings: dict[str, Any] | None = None, dry_run: bool = False) -> dict[str, Any]:
        """Static checks, and with DRY_RUN one small batch in a worker."""
        return self.client.json("POST", f"/ml-tasks/{self.id}/validate", params={"dry_run": dry_run}, json=settings)

    def start_train(self) -> dict[str, Any]:
        """Submit a training; returns the queued session."""
        self.last_session = self.client.json("POST", f"/ml-tasks/{self.id}/train", json={})
        return self.last_session

    def get_session(self, session_id: int) -> dict[str, Any]:
        """One session's status, progress, history, error."""
        return self.client.json("GET", f"/sessions/{session_id}")

    def list_sessions(self) -> list[dict[str, Any]]:
        """Sessions, newest first."""
        return self.client.list_all(f"/ml-tasks/{self.id}/sessions")

    def wait_train_complete(
        self, session_id: int | None = None, timeout: float = 3600, poll: float = 1.0
    ) -> dict[str, Any]:
        """Wait for the (last started) session to end; TrainingFailed if it fails or is aborted."""
        sid = session_id or (self.last_session or {}).get("id")
        if sid is None:
            sessions = self.list_sessions()
            if not sessions:
                raise InvalidRequest(400, "no_session", "This ML task has no session; call start_train() first.")
            sid = sessions[0]["id"]
        deadline = time.monotonic() + timeout
        while True:
            session = self.get_session(sid)
            if session["status"] == "succeeded":
                return session
            if session["status"] in ("failed", "aborted"):
                err = session.get("error") or {}
                raise TrainingFailed(
                    200, session["status"], err.get("message") or session["status"], [err] if err else None
                )
            if time.monotonic() > deadline:
                raise TimeoutError(f"session {sid} still {session['status']} after {timeout} s")
            time.sleep(poll)

    def interrupt(self, session_id: int) -> dict[str, Any]:
        """Stop after the current batch and keep the best epoch."""
        return self.client.json("POST", f"/sessions/{session_id}/interrupt")

    def abort(self, session_id: int) -> dict[str, Any]:
        """Kill (or dequeue) a session."""
        return self.client.json("POST", f"/sessions/{session_id}/abort")

    def get_trained_models_ids(self) -> list[str]:
        """Ids of the trained models."""
        return self.client.list_all(f"/ml-tasks/{self.id}/trained-models")

    def get_trained_model_details(self, trained_model_id: str) -> dict[str, Any]:
        """Metrics, history, input shapes, classes, location."""
        return self.client.json("GET", f"/trained-models/{trained_model_id}")

    def get_trained_model(self, trained_model_id: str) -> TrainedModel:
        """A handle on a trained model."""
        return TrainedModel(self.client, trained_model_id)


class TrainedModel(TrainedModelExtras):
    """A trained model: details, file, scoring, deployment, and its card (`get_card`)."""

    def __init__(self, client: Client, trained_model_id: str):
        self.client = client
        self.id = trained_model_id

    def get_details(self) -> dict[str, Any]:
        """Metrics, history, input shapes, classes, location."""
        return self.client.json("GET", f"/trained-models/{self.id}")

    def get_location(self) -> dict[str, Any]:
        """{location, uri, download_url}."""
        return self.client.json("GET", f"/trained-models/{self.id}/location")

    def download(self, path: str | Path) -> Path:
        """Save the .keras file to PATH."""
        return _download(self.client, f"/trained-models/{self.id}/download", path)

    def get_summary(self) -> dict[str, Any]:
        """{layers: [{name, type, output_shape, params, trainable}], params, trainable_params}."""
        return self.client.json("GET", f"/trained-models/{self.id}/summary")

    def predict(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        """Predictions (and class probabilities) for ROWS."""
        return self.client.json("POST", f"/trained-models/{self.id}/predict", json={"rows": rows})

    def deploy(
        self,
        saved_model_name: str | None = None,
        saved_model_id: int | None = None,
        version_id: str | None = None,
        activate: bool = True,
    ) -> SavedModel:
        """Deploy into a saved model (new one by name, or a new version of SAVED_MODEL_ID)."""
        body = self.client.json(
            "POST",
            f"/trained-models/{self.id}/deploy",
            json={
                "saved_model_name": saved_model_name,
                "saved_model_id": saved_model_id,
                "version_id": version_id,
                "activate": activate,
            },
        )
        saved = SavedModel(self.client, body["saved_model_id"])
        saved.last_version_id = body["version_id"]
        return saved


class SavedModel(SavedModelTools):
    """A saved model: versions, files, scoring (rows; a whole dataset: `score`), export, `retrain`."""

    def __init__(self, client: Client, saved_model_id: int):
        self.client = client
        self.id = saved_model_id
        self.last_version_id: str | None = None

    def get_summary(self) -> dict[str, Any]:
        """Name, versions, active version."""
        return self.client.json("GET", f"/saved-models/{self.id}")

    def set_active_version(self, version_id: str) -> dict[str, Any]:
        """Switch the active version."""
        return self.client.json("POST", f"/saved-models/{self.id}/active-version", json={"version_id": version_id})

    def get_location(self, version_id: str | None = None) -> dict[str, Any]:
        """{location, uri, download_url, version_id} of the active (or given) version."""
        if version_id:
            return self.client.json("GET", f"/saved-models/{self.id}/versions/{version_id}/location")
        return self.client.json("GET", f"/saved-models/{self.id}/location")

    def download(self, path: str | Path, version_id: str | None = None) -> Path:
        """Save the .keras file of the active (or given) version to PATH."""
        params = f"?version={version_id}" if version_id else ""
        return _download(self.client, f"/saved-models/{self.id}/download{params}", path)

    def predict(self, rows: list[dict[str, Any]], version_id: str | None = None) -> dict[str, Any]:
        """Predictions of the active (or given) version."""
        params = {"version": version_id} if version_id else None
        return self.client.json("POST", f"/saved-models/{self.id}/predict", json={"rows": rows}, params=params)

    def export(self, path: str | Path, format: str = "onnx", version_id: str | None = None) -> Path:
        """Save the model exported as 'onnx' or 'savedmodel' (a zip) to PATH."""
        params = f"?format={format}" + (f"&version={version_id}" if version_id else "")
        return _download(self.client, f"/saved-models/{self.id}/export{params}", path)


def _download(client: Client, api_path: str, path: str | Path) -> Path:
    """The file at API_PATH written to PATH as it arrives (a partial file never takes PATH's name)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.part")
    with client.stream("GET", api_path) as response, tmp.open("wb") as out:
        for chunk in response.iter_bytes():
            out.write(chunk)
    tmp.replace(path)
    return path
