"""Structured logs: the JSON formatter, and FITSTUDIO_LOG_FORMAT=json in the API and worker processes."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from server.observability.logs import JsonFormatter, session_context


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger of its own whose only handler writes JSON lines into a buffer."""
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("fitstudio.test.json")
    logger.handlers, logger.propagate, logger.level = [handler], False, logging.DEBUG
    yield logger, buf
    logger.handlers, logger.propagate = [], True


def lines(buf: io.StringIO) -> list[dict[str, Any]]:
    """Every line of BUF as a JSON object (each line must be one)."""
    return [json.loads(line) for line in buf.getvalue().splitlines()]


def test_one_json_object_per_line_with_the_standard_keys(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, buf = captured
    logger.info("trained %s epochs\nin %.1f s", 3, 1.25)
    (doc,) = lines(buf)
    assert set(doc) == {"time", "level", "logger", "message"}  # no session_id when none is known
    assert doc["level"] == "INFO" and doc["logger"] == "fitstudio.test.json"
    assert doc["message"] == "trained 3 epochs\nin 1.2 s"
    assert doc["time"].endswith("Z") and "T" in doc["time"]


def test_session_id_from_extra_or_the_worker_context(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, buf = captured
    logger.warning("explicit", extra={"session_id": 7, "epoch": 2})
    with session_context(12):
        logger.info("inside")
    logger.info("after")
    explicit, inside, after = lines(buf)
    assert explicit["session_id"] == 7 and explicit["epoch"] == 2 and explicit["level"] == "WARNING"
    assert inside["session_id"] == 12
    assert "session_id" not in after


def test_exceptions_stay_on_one_line(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, buf = captured
    try:
        raise ValueError("bad value")
    except ValueError:
        logger.exception("it failed")
    (doc,) = lines(buf)
    assert doc["level"] == "ERROR" and "ValueError: bad value" in doc["exc"]
    assert len(buf.getvalue().splitlines()) == 1


@pytest.fixture
def root_buffer() -> Iterator[tuple[logging.StreamHandler[io.StringIO], io.StringIO]]:
    """A text handler on the root logger (as uvicorn or Celery would install), removed afterwards."""
    root = logging.getLogger()
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield handler, buf
    root.removeHandler(handler)
    root.setLevel(level)


def test_api_logs_json_with_the_session_of_the_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, root_buffer: tuple[logging.Handler, io.StringIO]
) -> None:
    from fastapi.testclient import TestClient

    from tests.conftest import configure
    from webui.app import create_app

    handler, buf = root_buffer
    configure(monkeypatch, tmp_path / "home", log_format="json")
    app = create_app()
    assert isinstance(handler.formatter, JsonFormatter)

    def probe(session_id: int) -> dict[str, int]:
        logging.getLogger("server.probe").info("probing session")
        return {"ok": session_id}

    app.add_api_route("/api/v1/sessions/{session_id}/probe", probe, methods=["GET"])
    assert TestClient(app).get("/api/v1/sessions/42/probe").status_code == 200
    docs = [json.loads(line) for line in buf.getvalue().splitlines() if line.startswith("{")]
    probe_lines = [d for d in docs if d["logger"] == "server.probe"]
    assert probe_lines and probe_lines[0]["session_id"] == 42 and probe_lines[0]["message"] == "probing session"


def test_api_keeps_text_logs_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, root_buffer: tuple[logging.Handler, io.StringIO]
) -> None:
    from tests.conftest import configure
    from webui.app import create_app

    handler, _buf = root_buffer
    settings = configure(monkeypatch, tmp_path / "home")
    assert settings.log_format == "text"
    create_app()
    assert not isinstance(handler.formatter, JsonFormatter)


def test_worker_reformats_celery_handlers_once_celery_set_them_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, root_buffer: tuple[logging.Handler, io.StringIO]
) -> None:
    from celery import signals

    from server.observability.logs import install_worker_logging
    from tests.conftest import configure

    handler, _buf = root_buffer
    task_handler = logging.StreamHandler(io.StringIO())
    logging.getLogger("celery.task").addHandler(task_handler)
    try:
        configure(monkeypatch, tmp_path / "home", log_format="json")
        install_worker_logging()
        root = logging.getLogger()
        signals.after_setup_logger.send(
            sender=None, logger=root, loglevel=logging.INFO, logfile=None, format="", colorize=False
        )
        assert isinstance(handler.formatter, JsonFormatter)
        assert isinstance(task_handler.formatter, JsonFormatter)
    finally:
        logging.getLogger("celery.task").removeHandler(task_handler)


def test_log_format_setting_refuses_unknown_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from tests.conftest import configure

    with pytest.raises(ValidationError):
        configure(monkeypatch, tmp_path / "home", log_format="xml")
