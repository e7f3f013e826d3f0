"""Fixtures of the web UI tests: a logged-in browser-like client, SQL statement counting, a live API server.

For speed, each test's database is a copy of one migrated once per run (by the real migrate()), and the demo
CSV is built once, and passwords are hashed cheaply; what the tests check is unchanged.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests import helpers
from tests.conftest import Api, configure

HTML = {"accept": "text/html,application/xhtml+xml"}
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]*)">')


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2 with minimal cost: these tests create users and log in often (login still verifies the hash)."""
    from argon2 import PasswordHasher

    from server.services import auth

    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database brought to the newest revision once per run."""
    from server.services.bootstrap import migrate
    from server.settings import get_settings

    with pytest.MonkeyPatch.context() as mp:
        settings = configure(mp, tmp_path_factory.mktemp("webui-template") / "home")
        migrate(settings)
    get_settings.cache_clear()
    return settings.home / "fitstudio.db"


@pytest.fixture
def sqlite_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, migrated_db: Path) -> Iterator[Any]:
    """Settings on a fresh HOME whose SQLite database is a copy of the migrated one."""
    from server.db import engine_for
    from server.settings import get_settings

    settings = configure(monkeypatch, tmp_path / "home")
    shutil.copyfile(migrated_db, settings.home / "fitstudio.db")
    yield settings
    engine_for(settings.sql_url).dispose()
    get_settings.cache_clear()


def serve_api(url: str, log: Path) -> subprocess.Popen[bytes]:
    """`fitstudio api` on URL's port (this process's settings), its output appended to LOG, once /healthz answers."""
    import httpx

    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "fitstudio.cli", "api", "--port", url.rsplit(":", 1)[1]],
            env=dict(os.environ),
            cwd=helpers.ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def up() -> bool:
        try:
            return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        helpers.wait_for(up, 90, "the API server")
    except BaseException:
        helpers.stop_process(proc)
        raise
    return proc


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """`fitstudio api` on a free port (SQLite), with user ada; no worker (test_browser.py's own `live` adds one)."""
    from server.db import session_scope
    from server.services import auth
    from server.services.bootstrap import migrate
    from server.settings import get_settings
    from tests.webui.test_browser import PASSWORD, Live, _free_port, browser_problem

    helpers.require_service("Chromium + Playwright", browser_problem())
    base = tmp_path_factory.mktemp("webui-live")
    url = f"http://127.0.0.1:{_free_port()}"
    mp = pytest.MonkeyPatch()
    proc: subprocess.Popen[bytes] | None = None
    try:
        migrate(configure(mp, base / "home", public_url=url))
        with session_scope() as db:
            auth.create_user(db, "ada", password=PASSWORD)
        log = base / "api.log"
        proc = serve_api(url, log)
        shots = Path(os.environ.get("FITSTUDIO_TEST_SCREENSHOTS") or base / "screenshots")
        shots.mkdir(parents=True, exist_ok=True)
        yield Live(url, shots, log)
    finally:
        if proc is not None:
            helpers.stop_process(proc)
        mp.undo()
        get_settings.cache_clear()


@pytest.fixture(scope="session")
def demo_csv() -> bytes:
    """The breast cancer demo CSV (binary target 'diagnosis'), built once."""
    from server.services.bootstrap import demo_bytes

    return demo_bytes("breast_cancer").getvalue()


@dataclass
class Web:
    """A TestClient holding the session cookie of a logged-in user, like a browser tab."""

    client: TestClient
    api: Api
    csrf: str = ""

    def login(self, username: str, password: str) -> None:
        """Log in with the form and remember the CSRF token of the new session."""
        r = self.client.post("/login", data={"username": username, "password": password}, follow_redirects=False)
        assert r.status_code == 303, r.text
        self.csrf = self.csrf_of(self.get("/"))

    @staticmethod
    def csrf_of(page: Any) -> str:
        """The CSRF token a page carries in its <meta>."""
        match = CSRF_META.search(page.text)
        assert match and match.group(1), page.text[:500]
        return match.group(1)

    def get(self, path: str, **kw: Any) -> Any:
        """GET a page as a browser does."""
        return self.client.get(path, headers=HTML, **kw)

    def post(self, path: str, data: dict[str, Any] | None = None, csrf: bool = True, **kw: Any) -> Any:
        """POST a form (with the CSRF field unless told otherwise); redirects are not followed."""
        body = dict(data or {})
        if csrf:
            body["csrf"] = self.csrf
        return self.client.post(path, data=body, headers=HTML, follow_redirects=False, **kw)

    def fetch(self, path: str, data: dict[str, Any]) -> Any:
        """POST a form as the page scripts do (fetch, JSON answer)."""
        body = {"csrf": self.csrf, **data}
        headers = {"x-requested-with": "fetch", "accept": "application/json"}
        return self.client.post(path, data=body, headers=headers)


@pytest.fixture
def web(api: Api) -> Web:
    """The owner logged in through the login form (no bearer token involved)."""
    client = TestClient(api.client.app, raise_server_exceptions=False)
    w = Web(client, api)
    w.login("owner", "owner-pw")
    return w


def location(r: Any) -> str:
    """The target of a 303 redirect (failing with the page when it is not one)."""
    assert r.status_code == 303, (r.status_code, r.text[:800])
    return r.headers["location"]


@pytest.fixture
def task(web: Web, demo_csv: bytes) -> dict[str, Any]:
    """Project P1 with the demo dataset, an analysis and an ML task created through the pages' forms."""
    assert location(web.post("/projects", {"key": "P1", "name": "First"})) == "/projects/P1"
    r = web.client.post(
        "/api/v1/projects/P1/datasets",
        data={"name": "cancer"},
        files={"file": ("cancer.csv", demo_csv, "text/csv")},
        headers={"x-csrf-token": web.csrf},
    )
    assert r.status_code == 201, r.text
    dataset_id = r.json()["id"]
    analysis_url = location(web.post("/projects/P1/analyses", {"dataset_id": str(dataset_id), "name": "A"}))
    analysis_id = analysis_url.rsplit("/", 1)[1]
    design_url = location(web.post(f"/analyses/{analysis_id}/ml-tasks", {"target": "diagnosis"}))
    task_id = design_url.split("/")[2]
    return {"dataset": dataset_id, "analysis": analysis_id, "id": task_id}
