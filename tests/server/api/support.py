"""Helpers for the HTTP API tests: the error-shape contract (api.md "Errors"), raw requests, small datasets."""

from __future__ import annotations

import contextlib
import io
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import helpers
from tests.conftest import configure

API = "/api/v1"
SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
SHORT_ID = re.compile(r"^[A-Za-z0-9]{8}$")
BAD_TOKEN = "fst_this-token-was-never-issued"


def settings_from_template(mp: pytest.MonkeyPatch, home: Path, template: Path) -> Any:
    """Settings on HOME whose database is a copy of TEMPLATE, a database migrated by the real migrate()."""
    settings = configure(mp, home)
    shutil.copyfile(template, settings.home / "fitstudio.db")
    return settings


def assert_error_shape(r: httpx.Response) -> dict[str, Any]:
    """An error body is JSON: exactly a string "detail", a snake_case "code" and optionally an "errors" list."""
    assert r.headers.get("content-type", "").startswith("application/json"), (
        f"{r.request.method} {r.request.url.path} -> {r.status_code} is not JSON: "
        f"{r.headers.get('content-type')!r} {r.text[:300]!r}"
    )
    body = r.json()
    where = f"{r.request.method} {r.request.url.path} -> {r.status_code}: {body!r}"
    assert isinstance(body, dict), where
    assert set(body) in ({"detail", "code"}, {"detail", "code", "errors"}), where
    assert isinstance(body["detail"], str) and body["detail"].strip(), where
    assert isinstance(body["code"], str) and SNAKE_CASE.match(body["code"]), where
    if "errors" in body:
        assert isinstance(body["errors"], list) and body["errors"], where
        for item in body["errors"]:
            assert isinstance(item, dict), where
            assert ("field" in item) or ("cell" in item), where
            assert isinstance(item.get("message"), str) and item["message"], where
            if "line" in item:
                assert isinstance(item["line"], int) and item["line"] >= 1, where
    return body


def check_response(r: httpx.Response) -> None:
    """Applied to every response of the tests' clients: never a 500, and every error has the spec's shape.

    Except /readyz's 503: a readiness report ({"status": "not_ready", "checks": {name: reason}}), not an error.
    """
    r.read()
    if r.request.url.path == "/readyz" and r.status_code == 503:
        body = r.json()
        assert body["status"] == "not_ready" and any(v != "ok" for v in body["checks"].values()), body
        return
    assert r.status_code < 500, f"{r.request.method} {r.request.url} -> {r.status_code}: {r.text[:500]}"
    if r.status_code >= 400:
        assert_error_shape(r)


def install_checks(client: httpx.Client) -> None:
    """Run check_response on every response CLIENT receives."""
    client.event_hooks = {"request": [], "response": [check_response]}


def _mismatch(r: httpx.Response, status: int) -> str:
    return f"{r.request.method} {r.request.url.path}: want {status}, got {r.status_code}: {r.text}"


def expect(r: httpx.Response, status: int) -> Any:
    """Assert the status and return the JSON body (None for an empty body)."""
    assert r.status_code == status, _mismatch(r, status)
    return r.json() if r.content else None


def expect_error(r: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """Assert an error STATUS (and CODE when given) with the spec's shape; return the body."""
    assert r.status_code == status, _mismatch(r, status)
    body = assert_error_shape(r)
    if code is not None:
        assert body["code"] == code, body
    return body


def auth_headers(token: str | None) -> dict[str, str]:
    """Authorization header for TOKEN; none at all for None."""
    return {} if token is None else {"Authorization": f"Bearer {token}"}


def send_raw(api: Any, method: str, path: str, content: bytes, token: str | None = "owner") -> httpx.Response:
    """Send CONTENT as a JSON body verbatim (for malformed JSON); TOKEN 'owner' means the owner's token."""
    token = api.token if token == "owner" else token
    headers = {**auth_headers(token), "content-type": "application/json"}
    return api.client.request(method, path, content=content, headers=headers)


def upload(api: Any, key: str, name: str, payload: bytes, filename: str, token: str | None = "owner") -> httpx.Response:
    """Multipart upload with an explicit TOKEN (None: no Authorization header)."""
    token = api.token if token == "owner" else token
    return api.client.post(
        f"{API}/projects/{key}/datasets",
        headers=auth_headers(token),
        data={"name": name},
        files={"file": (filename, io.BytesIO(payload), "application/octet-stream")},
    )


def parquet_bytes(columns: dict[str, list[Any]]) -> bytes:
    """COLUMNS as a Parquet file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(pa.table(columns), buf)
    return buf.getvalue()


SMALL_CSV = b"x,y,label\n1,2.5,a\n2,3.5,b\n3,4.5,a\n4,5.5,b\n"

WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau".split()


def typed_csv(n: int = 60) -> bytes:
    """A CSV with a numeric, a categorical, a text column and three kinds of target (binary, 3 ints, a float)."""
    lines = ["num,cat,txt,bin,klass,score"]
    for i in range(n):
        sentence = " ".join(WORDS[(i + j) % len(WORDS)] for j in range(6)) + f" number {i}"
        lines.append(
            f"{i * 1.5},{'red' if i % 3 == 0 else 'green' if i % 3 == 1 else 'blue'},{sentence},"
            f"{'yes' if i % 2 else 'no'},{i % 3},{i * 0.37 + 0.01}"
        )
    return ("\n".join(lines) + "\n").encode()


def create_project(api: Any, key: str, name: str = "") -> dict[str, Any]:
    """POST /projects as the owner; 201."""
    return expect(api.post(f"{API}/projects", json={"key": key, "name": name or key.title()}), 201)


def create_analysis(api: Any, key: str, dataset_id: int, name: str = "an") -> dict[str, Any]:
    """POST /projects/{key}/analyses as the owner; 201."""
    return expect(api.post(f"{API}/projects/{key}/analyses", json={"dataset_id": dataset_id, "name": name}), 201)


def create_ml_task(api: Any, analysis_id: str, target: str, **extra: Any) -> dict[str, Any]:
    """POST /analyses/{id}/ml-tasks as the owner; 201."""
    return expect(api.post(f"{API}/analyses/{analysis_id}/ml-tasks", json={"target": target, **extra}), 201)


def train(api: Any, mltask_id: str) -> dict[str, Any]:
    """POST /ml-tasks/{id}/train as the owner; 202."""
    return expect(api.post(f"{API}/ml-tasks/{mltask_id}/train", json={}), 202)


@contextlib.contextmanager
def serve(app: Any) -> Iterator[str]:
    """APP on a real uvicorn server in a thread, on a free local port; yields its base URL.

    The server runs in the test process, which holds the whole suite's heap (TensorFlow and Keras included): a full
    garbage collection over it stalls every thread for seconds. What is there is frozen while the server runs, so
    the collector scans only what the test allocates (a real API process has no such heap)."""
    import gc
    import socket
    import threading

    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    gc.collect()
    gc.freeze()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        helpers.wait_for(lambda: server.started, 20, "uvicorn to start", every=0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(20)
        gc.unfreeze()
