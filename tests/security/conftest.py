"""Fixtures of the security tests: the e2e worker runtime, fast API settings, a shared world for the module."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Api, make_api
from tests.e2e.conftest import runtime  # noqa: F401 - the module-scoped worker the code-cell tests use
from tests.server.api import support
from tests.server.api.conftest import demo_csv_cached, fast_home, migrated_template, settings_from_template  # noqa: F401


@pytest.fixture
def sqlite_settings(fast_home: Path, monkeypatch: pytest.MonkeyPatch, migrated_template: Path) -> Iterator[Any]:  # noqa: F811
    """Settings on a fresh HOME (a copy of a once-migrated SQLite database, on the RAM disk when there is one)."""
    from server.settings import get_settings

    yield settings_from_template(monkeypatch, fast_home, migrated_template)
    get_settings.cache_clear()


@pytest.fixture
def api(sqlite_settings: Any) -> Iterator[Api]:
    """The API on SQLite with user 'owner'; every response is checked (no 500, errors shaped as api.md says)."""
    api = make_api(sqlite_settings)
    support.install_checks(api.client)
    yield api


@pytest.fixture(scope="module")
def module_api(tmp_path_factory: pytest.TempPathFactory, migrated_template: Path) -> Iterator[Api]:  # noqa: F811
    """One API (fresh SQLite home, on the RAM disk when there is one) for a whole test module; responses checked."""
    from server.settings import get_settings

    ram = Path("/dev/shm")
    usable = ram.is_dir() and os.access(ram, os.W_OK)
    folder = Path(tempfile.mkdtemp(prefix="fitstudio-sec-", dir=ram)) if usable else tmp_path_factory.mktemp("sec")
    try:
        with pytest.MonkeyPatch.context() as mp:
            settings = settings_from_template(mp, folder / "home", migrated_template)
            api = make_api(settings)
            support.install_checks(api.client)
            yield api
        get_settings.cache_clear()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(autouse=True)
def _fresh_login_limits() -> Iterator[None]:
    """Every test starts with no failed logins counted."""
    from server.services import ratelimit

    ratelimit.logins.clear()
    yield
    ratelimit.logins.clear()
