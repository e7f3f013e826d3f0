"""Fixtures of the HTTP API tests: the checked client and a demo project, dataset, analysis and ML task.

Speed-ups keep this suite well under a minute without changing what is tested:
- `sqlite_settings` (overriding tests/conftest.py's) copies a database migrated once per run by the real
  `migrate()` instead of running every Alembic migration for every test, and puts HOME on a RAM disk
  (/dev/shm) when there is one, as SQLite commits on a slow disk dominate the run time;
- `demo_csv` (overriding tests/conftest.py's) builds the demo CSV once per run instead of once per test;
- the TestClient is entered once per test, so requests share one event loop thread;
- passwords are hashed with cheap argon2 parameters (the tests create many users; none logs in by password).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import configure
from tests.server.api import support
from tests.server.api.support import expect, settings_from_template


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database file brought to the newest revision by server.services.bootstrap.migrate."""
    from server.services.bootstrap import migrate
    from server.settings import get_settings

    with pytest.MonkeyPatch.context() as mp:
        settings = configure(mp, tmp_path_factory.mktemp("template") / "home")
        migrate(settings)
        path = settings.home / "fitstudio.db"
    get_settings.cache_clear()
    assert path.exists()
    return path


@pytest.fixture(scope="module", autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    """argon2 with minimal cost while this directory's tests run."""
    from argon2 import PasswordHasher

    from server.services import auth

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
        yield


RAM_DISK = Path("/dev/shm")


@pytest.fixture
def fast_home(tmp_path: Path) -> Iterator[Path]:
    """An empty HOME folder: on the RAM disk when there is one, else under tmp_path."""
    if RAM_DISK.is_dir() and os.access(RAM_DISK, os.W_OK):
        folder = Path(tempfile.mkdtemp(prefix="fitstudio-api-test-", dir=RAM_DISK))
        yield folder / "home"
        shutil.rmtree(folder, ignore_errors=True)
    else:
        yield tmp_path / "home"


@pytest.fixture
def sqlite_settings(fast_home: Path, monkeypatch: pytest.MonkeyPatch, migrated_template: Path) -> Iterator[Any]:
    """Settings on a fresh HOME with SQLite (migrated) and the embedded broker."""
    from server.db import engine_for
    from server.settings import get_settings

    settings = settings_from_template(monkeypatch, fast_home, migrated_template)
    yield settings
    engine_for(settings.sql_url).dispose()  # close the pooled connections before HOME is removed
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def demo_csv_cached() -> bytes:
    """The breast cancer demo CSV, built once."""
    from server.services.bootstrap import demo_bytes

    return demo_bytes("breast_cancer").getvalue()


@pytest.fixture
def demo_csv(demo_csv_cached: bytes) -> bytes:
    """The breast cancer demo CSV (binary target 'diagnosis'), as tests/conftest.py's fixture gives it."""
    return demo_csv_cached


@pytest.fixture
def api(api: Any) -> Iterator[Any]:
    """The root `api` fixture, whose client asserts on every response: no 500, errors shaped as api.md says."""
    support.install_checks(api.client)
    with api.client:
        yield api


@pytest.fixture
def project(api: Any) -> str:
    """Project DEMO owned by 'owner'; returns its key."""
    support.create_project(api, "DEMO", "Demo project")
    return "DEMO"


@pytest.fixture
def dataset(api: Any, project: str, demo_csv: bytes) -> dict[str, Any]:
    """The breast cancer CSV uploaded to DEMO."""
    return expect(api.upload_csv(project, "breast_cancer", demo_csv), 201)


@pytest.fixture
def analysis(api: Any, project: str, dataset: dict[str, Any]) -> dict[str, Any]:
    """An analysis of DEMO on the breast cancer dataset."""
    return support.create_analysis(api, project, dataset["id"], "bc analysis")


@pytest.fixture
def ml_task(api: Any, analysis: dict[str, Any]) -> dict[str, Any]:
    """A binary ML task predicting 'diagnosis'."""
    return support.create_ml_task(api, analysis["id"], "diagnosis")


@pytest.fixture
def typed_dataset(api: Any, project: str) -> dict[str, Any]:
    """A small dataset with numeric, categorical and text columns and binary/multiclass/regression targets."""
    return expect(api.upload_csv(project, "typed", support.typed_csv()), 201)
