"""Alembic upgrade and downgrade on SQLite and PostgreSQL, and the models match the migrations."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from migrations.config import alembic_config
from server.models import Base

TABLES = {
    "users",
    "api_tokens",
    "projects",
    "project_members",
    "datasets",
    "analyses",
    "ml_tasks",
    "training_sessions",
    "trained_models",
    "saved_models",
    "saved_model_versions",
    "workers",
    "audit_events",
    "dry_runs",
    "managed_folders",
    "jobs",
}


def _roundtrip(url: str) -> None:
    cfg = alembic_config(url)
    command.upgrade(cfg, "head")
    engine = create_engine(url)
    try:
        assert TABLES <= set(inspect(engine).get_table_names())
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == [], f"models and migrations differ: {diff}"
        command.downgrade(cfg, "base")
        assert not TABLES & set(inspect(engine).get_table_names())
        command.upgrade(cfg, "head")
        assert TABLES <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_downgrade_sqlite(tmp_path: Path) -> None:
    _roundtrip(f"sqlite:///{tmp_path / 'm.db'}")


@pytest.mark.postgres
def test_upgrade_downgrade_postgres(pg_url: str) -> None:
    _roundtrip(pg_url)
