"""server/settings.py: FITSTUDIO_* variables, derived defaults under HOME, the persisted signing key."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from server.settings import Settings, get_settings

_VARS = (
    "HOME",
    "DATABASE_URL",
    "BROKER_URL",
    "ARTIFACT_ROOT",
    "SECRET_KEY",
    "MAX_UPLOAD_MB",
    "TRAINING_MEMORY_MB",
    "PUBLIC_URL",
    "ALLOWED_HOSTS",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No FITSTUDIO_* variable leaks in from the environment, and the cached settings are reset around each test."""
    for var in _VARS:
        monkeypatch.delenv(f"FITSTUDIO_{var}", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _settings_on(monkeypatch: pytest.MonkeyPatch, home: Path, **values: str) -> Settings:
    monkeypatch.setenv("FITSTUDIO_HOME", str(home))
    for key, value in values.items():
        monkeypatch.setenv(f"FITSTUDIO_{key.upper()}", value)
    get_settings.cache_clear()
    return get_settings()


def test_home_is_read_and_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _settings_on(monkeypatch, tmp_path / "h")
    assert settings.home == (tmp_path / "h").resolve()
    assert settings.home.is_absolute()


def test_home_defaults_to_dot_fitstudio_in_the_users_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    get_settings.cache_clear()
    assert get_settings().home == (tmp_path / ".fitstudio").resolve()


def test_home_with_tilde_is_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    settings = _settings_on(monkeypatch, Path("~/elsewhere"))
    assert settings.home == (tmp_path / "elsewhere").resolve()


def test_embedded_defaults_live_under_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = (tmp_path / "h").resolve()
    settings = _settings_on(monkeypatch, home)
    assert settings.database_url is None
    assert settings.sql_url == f"sqlite:///{home / 'fitstudio.db'}"
    assert settings.celery_broker_url.startswith("filesystem://")
    assert settings.embedded_broker is True
    assert settings.artifacts == home / "artifacts"
    assert settings.data_root == home / "data"
    assert settings.max_upload_mb == 1024


def test_explicit_urls_and_artifact_root_win(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _settings_on(
        monkeypatch,
        tmp_path / "h",
        database_url="postgresql+psycopg://u:p@db:5432/fit",
        broker_url="redis://redis:6379/0",
        artifact_root=str(tmp_path / "shared-artifacts"),
    )
    assert settings.sql_url == "postgresql+psycopg://u:p@db:5432/fit"
    assert settings.celery_broker_url == "redis://redis:6379/0"
    assert settings.embedded_broker is False
    assert settings.artifacts == (tmp_path / "shared-artifacts").resolve()


def test_allowed_hosts_from_a_comma_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _settings_on(monkeypatch, tmp_path, allowed_hosts=" fit.example.com, 10.0.0.5 ,,localhost ")
    assert settings.allowed_hosts == ["fit.example.com", "10.0.0.5", "localhost"]


def test_allowed_hosts_from_a_json_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _settings_on(monkeypatch, tmp_path, allowed_hosts='["a.example", "b.example"]')
    assert settings.allowed_hosts == ["a.example", "b.example"]


def test_max_upload_mb_and_memory_are_integers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _settings_on(monkeypatch, tmp_path, max_upload_mb="12", training_memory_mb="2048")
    assert settings.max_upload_mb == 12
    assert settings.training_memory_mb == 2048


def test_max_upload_mb_must_be_a_number(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FITSTUDIO_HOME", str(tmp_path))
    monkeypatch.setenv("FITSTUDIO_MAX_UPLOAD_MB", "lots")
    with pytest.raises(ValidationError):
        Settings()


def test_get_settings_is_cached_until_cleared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = _settings_on(monkeypatch, tmp_path / "one")
    monkeypatch.setenv("FITSTUDIO_HOME", str(tmp_path / "two"))
    assert get_settings() is first
    get_settings.cache_clear()
    assert get_settings().home == (tmp_path / "two").resolve()


def test_signing_key_is_persisted_under_home_and_stable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "h"
    key = _settings_on(monkeypatch, home).signing_key
    path = home / "secret_key"
    assert path.is_file()
    assert path.read_text().strip() == key
    assert len(key) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # A new process (a new Settings instance) on the same HOME signs with the same key.
    get_settings.cache_clear()
    assert get_settings().signing_key == key
    assert Settings().signing_key == key


def test_signing_key_differs_between_homes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    one = _settings_on(monkeypatch, tmp_path / "one").signing_key
    two = _settings_on(monkeypatch, tmp_path / "two").signing_key
    assert one != two


def test_secret_key_variable_wins_and_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "h"
    settings = _settings_on(monkeypatch, home, secret_key="from-the-environment")
    assert settings.signing_key == "from-the-environment"
    assert not (home / "secret_key").exists()


def test_ensure_dirs_creates_the_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _settings_on(monkeypatch, tmp_path / "h", artifact_root=str(tmp_path / "art"))
    settings.ensure_dirs()
    for folder in (settings.home, settings.data_root, settings.scratch_root, settings.broker_folder):
        assert folder.is_dir()
    assert (tmp_path / "art").is_dir()
