"""Shared fixtures: isolated settings per test, SQLite/PostgreSQL databases, Redis, API clients, workers."""

from __future__ import annotations

import faulthandler
import inspect
import io
import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests import helpers

# tests/exit_guard.py: a pytest process whose exit hangs past its summary is ended, with its stacks.
pytest_plugins = ["tests.exit_guard"]

# No test may read the developer's own ~/.fitstudio or service credentials.
for _var in [v for v in os.environ if v.startswith("FITSTUDIO_") and not v.startswith("FITSTUDIO_TEST_")]:
    os.environ.pop(_var)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# Marker `e2e`: tests that start real worker (or `fitstudio up`) processes; `scripts/test.sh --fast` leaves them out.
# It is added to every test under tests/e2e, to every test using a fixture of WORKER_FIXTURES (their workers start
# through a method), and to every test whose own code or fixtures' code calls helpers.start_worker or start_up,
# directly or through a function of the same module.
E2E_DIR = Path(__file__).resolve().parent / "e2e"
WORKER_FIXTURES = {"runtime", "cluster"}
WORKER_STARTERS = {"start_worker", "start_up"}


def _starts_workers(func: Any, depth: int = 1) -> bool:
    """Whether FUNC's code (its nested functions included) names a worker starter, or calls a function of its own
    module that does (DEPTH levels down)."""
    codes, names = [getattr(func, "__code__", None)], set()
    while codes:
        code = codes.pop()
        if code is not None:
            names.update(code.co_names)
            codes.extend(c for c in code.co_consts if hasattr(c, "co_names"))
    if WORKER_STARTERS & names:
        return True
    module = getattr(func, "__globals__", {})
    return depth > 0 and any(
        inspect.isfunction(module.get(name)) and _starts_workers(module[name], depth - 1) for name in names
    )


# `--stream`: scripts/test.sh runs the suite as two pytest processes at once (CI's 2 cores sit half idle while one
# process waits on its workers and children). `trainings`: the slow and e2e tests that use neither PostgreSQL nor
# Redis (SQLite, the embedded broker); `services`: every other test, the service-fault tests that restart PostgreSQL
# and Redis among them, so no test of the other stream is using them then. A test uses them when its fixtures name
# one of SERVICE_FIXTURES or its module's source names one of SERVICE_WORDS (modules that start them by hand). The
# browser tests (tests/webui) run in `services` too: it balances the streams (15 and 22 minutes with them apart).
WEBUI_DIR = Path(__file__).resolve().parent / "webui"
SERVICE_FIXTURES = {"pg_url", "redis_url", "pg_redis_settings", "cluster"}
SERVICE_WORDS = (*SERVICE_FIXTURES, "REDIS_URL", "create_pg_database", "postgres_redis", "redis-server", "postgresql")


# scripts/test.sh gives each stream a FITSTUDIO_TEST_STACKS_FILE. Every thread's stack is written there on SIGUSR1 (its
# watchdog sends it before stopping a stream that ran past its limit), and for a test still running a minute after
# pytest-timeout's limit: its SIGALRM does nothing to a main thread blocked in C (libpq waiting on a lock, say).
STACKS_FILE = os.environ.get("FITSTUDIO_TEST_STACKS_FILE")
_stacks: list[io.TextIOWrapper] = []


def pytest_configure(config: pytest.Config) -> None:
    if STACKS_FILE:
        _stacks.append(open(STACKS_FILE, "a"))  # noqa: SIM115 - open for the whole run: faulthandler writes to it
        faulthandler.register(signal.SIGUSR1, file=_stacks[0], all_threads=True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Have faulthandler write every thread's stack if ITEM hangs past pytest-timeout's limit (see STACKS_FILE)."""
    if _stacks:
        faulthandler.dump_traceback_later(float(item.config.getini("timeout")) + 60, file=_stacks[0])
    try:
        yield
    finally:
        if _stacks:
            faulthandler.cancel_dump_traceback_later()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--stream",
        choices=("services", "trainings"),
        help="run one of scripts/test.sh's two concurrent streams (tests/conftest.py, SERVICE_WORDS)",
    )


def _module_uses_services(path: Path, seen: dict[Path, bool]) -> bool:
    if path not in seen:
        seen[path] = any(word in path.read_text(errors="replace") for word in SERVICE_WORDS)
    return seen[path]


def in_trainings_stream(item: pytest.Item, seen: dict[Path, bool]) -> bool:
    """Whether ITEM runs in the `trainings` stream: slow or e2e, and using neither PostgreSQL nor Redis."""
    if not (item.get_closest_marker("slow") or item.get_closest_marker("e2e")):
        return False
    if WEBUI_DIR in Path(item.path).resolve().parents:
        return False
    return not (SERVICE_FIXTURES & set(getattr(item, "fixturenames", ())) or _module_uses_services(item.path, seen))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark `e2e` the tests that start real workers (see E2E_DIR, WORKER_FIXTURES and WORKER_STARTERS); with
    `--stream`, keep that stream's tests only."""
    _mark_e2e(items)
    stream = config.getoption("--stream")
    if stream:
        seen: dict[Path, bool] = {}
        kept = [item for item in items if in_trainings_stream(item, seen) == (stream == "trainings")]
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = kept


def _mark_e2e(items: list[pytest.Item]) -> None:
    """Mark `e2e` the tests that start real workers."""
    for item in items:
        fixtures = getattr(item, "_fixtureinfo", None)
        funcs = [getattr(item, "function", None)] + [
            d.func for defs in (fixtures.name2fixturedefs.values() if fixtures else ()) for d in defs
        ]
        if (
            E2E_DIR in Path(item.path).resolve().parents
            or WORKER_FIXTURES & set(getattr(item, "fixturenames", ()))
            or any(_starts_workers(f) for f in funcs if f is not None)
        ):
            item.add_marker(pytest.mark.e2e)


def configure(monkeypatch: pytest.MonkeyPatch, home: Path, **values: str) -> Any:
    """Point every FITSTUDIO_* setting at HOME (plus VALUES), clear caches, return the settings."""
    from server.settings import get_settings

    monkeypatch.setenv("FITSTUDIO_HOME", str(home))
    monkeypatch.setenv("FITSTUDIO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
    monkeypatch.setenv("FITSTUDIO_WORKER_HEARTBEAT_S", "1")
    for key, value in values.items():
        monkeypatch.setenv(f"FITSTUDIO_{key.upper()}", value)
    get_settings.cache_clear()
    settings = get_settings()
    settings.ensure_dirs()
    return settings


@pytest.fixture
def sqlite_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Settings on a fresh HOME with SQLite and the embedded broker, migrated."""
    from server.services.bootstrap import migrate

    settings = configure(monkeypatch, tmp_path / "home")
    migrate(settings)
    yield settings
    from server.settings import get_settings

    get_settings.cache_clear()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database (required in CI)."""
    helpers.require_service("PostgreSQL", helpers.postgres_problem())
    url = helpers.create_pg_database()
    yield url
    helpers.drop_pg_database(url)


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A flushed Redis database (required in CI)."""
    helpers.require_service("Redis", helpers.redis_problem())
    import redis

    client = redis.Redis.from_url(helpers.REDIS_URL)
    client.flushdb()
    yield helpers.REDIS_URL
    client.flushdb()


@pytest.fixture
def pg_redis_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_url: str, redis_url: str) -> Iterator[Any]:
    """Settings on PostgreSQL + Redis, migrated."""
    from server.services.bootstrap import migrate

    settings = configure(monkeypatch, tmp_path / "home", database_url=pg_url, broker_url=redis_url)
    migrate(settings)
    yield settings
    from server.settings import get_settings

    get_settings.cache_clear()


@dataclass
class Api:
    """A TestClient plus the owner's token and helpers to make users with roles."""

    client: TestClient
    token: str
    settings: Any

    def headers(self, token: str | None = None) -> dict[str, str]:
        """Authorization headers for TOKEN (the owner's by default)."""
        return {"Authorization": f"Bearer {token or self.token}"}

    def get(self, path: str, token: str | None = None, **kw: Any) -> Any:
        return self.client.get(path, headers=self.headers(token), **kw)

    def post(self, path: str, token: str | None = None, **kw: Any) -> Any:
        return self.client.post(path, headers=self.headers(token), **kw)

    def put(self, path: str, token: str | None = None, **kw: Any) -> Any:
        return self.client.put(path, headers=self.headers(token), **kw)

    def delete(self, path: str, token: str | None = None, **kw: Any) -> Any:
        return self.client.delete(path, headers=self.headers(token), **kw)

    def user(self, name: str, project: str | None = None, role: str | None = None) -> str:
        """Create user NAME (optionally with ROLE in PROJECT) and return a token for it."""
        from server.db import session_scope
        from server.services import auth

        with session_scope() as db:
            user = auth.get_user(db, name) or auth.create_user(db, name, password="pw-" + name)
            token = auth.create_token(db, user, "test")
        if project and role:
            r = self.put(f"/api/v1/projects/{project}/members/{name}", json={"role": role})
            assert r.status_code == 200, r.text
        return token

    def upload_csv(
        self, project: str, name: str, payload: bytes, filename: str = "data.csv", token: str | None = None
    ) -> Any:
        """POST a file as a dataset."""
        return self.post(
            f"/api/v1/projects/{project}/datasets",
            token=token,
            data={"name": name},
            files={"file": (filename, io.BytesIO(payload), "application/octet-stream")},
        )


def make_api(settings: Any) -> Api:
    """An Api on SETTINGS' database with user 'owner'."""
    from server.db import session_scope
    from server.services import auth
    from webui.app import create_app

    with session_scope() as db:
        admin = auth.get_user(db, "owner") or auth.create_user(db, "owner", password="owner-pw")
        token = auth.create_token(db, admin, "test")
    return Api(TestClient(create_app(), raise_server_exceptions=False), token, settings)


@pytest.fixture
def api(sqlite_settings: Any) -> Api:
    """The API on SQLite, with user 'owner' (a normal user, not a site admin), whose token is api.token."""
    return make_api(sqlite_settings)


@pytest.fixture
def demo_csv() -> bytes:
    """The breast cancer demo CSV (binary target 'diagnosis')."""
    from server.services.bootstrap import demo_bytes

    return demo_bytes("breast_cancer").getvalue()
