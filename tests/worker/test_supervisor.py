"""worker/supervisor.py: the enforcer's periodic checks (time limit, drain, cancel, usage) on a real sleeping child."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from worker import child_process
from worker.supervisor import Outcome, Sink, Supervisor


class FakeSink(Sink):
    """A sink whose cancel request is fixed by the test."""

    def __init__(self, request: str | None = None):
        self.request = request

    def cancel_request(self) -> str | None:
        return self.request


@pytest.fixture
def signals(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The signals the supervisor sends to the training (recorded, not delivered)."""
    sent: list[int] = []
    monkeypatch.setattr(child_process, "training_pid", lambda proc, sandboxed: proc.pid)
    monkeypatch.setattr(child_process, "signal_pid", lambda pid, sig: sent.append(sig))
    yield sent


def _answer(request: dict[str, Any]) -> dict[str, Any]:
    """The worker's answer to a request (the sleeping child sends none)."""
    return {"ok": True}


def supervise(sink: Sink, sleep_s: float = 30.0, **limits: Any) -> Outcome:
    """Supervise a child that sleeps SLEEP_S and sends no event; what happened."""
    events_r, events_w = os.pipe()
    replies_r, replies_w = os.pipe()
    proc = subprocess.Popen([sys.executable, "-c", f"import time; time.sleep({sleep_s})"], start_new_session=True)
    os.close(events_w)  # the child sends nothing: the reader ends at once
    try:
        options: dict[str, Any] = {"time_limit_s": 60.0, "memory_limit_mb": 1 << 20, "max_processes": 100}
        options.update(limits)
        return Supervisor(proc, events_r, replies_w, sink, on_request=_answer, **options).run()
    finally:
        os.close(replies_r)
        child_process.kill_group(proc)


def test_the_time_limit_kills_the_child(signals: list[int]) -> None:
    outcome = supervise(FakeSink(), time_limit_s=0.3)
    assert outcome.killed_for == "time_limit"
    assert "0.3 s" in (outcome.message or "")
    assert signals == []


def test_an_abort_kills_the_child(signals: list[int]) -> None:
    outcome = supervise(FakeSink("abort"))
    assert (outcome.killed_for, outcome.message) == ("abort", "Aborted by a user.")


def test_an_interrupt_signals_the_training_once(signals: list[int]) -> None:
    outcome = supervise(FakeSink("interrupt"), sleep_s=1.5)
    assert outcome.killed_for is None
    assert outcome.returncode == 0
    assert signals == [signal.SIGUSR1]


def test_a_drain_outranks_a_cancel_and_ends_in_shutdown_past_its_timeout(signals: list[int]) -> None:
    outcome = supervise(FakeSink("abort"), should_stop=lambda: True, drain_timeout_s=0.3)
    assert outcome.killed_for == "shutdown"
    assert signals == [signal.SIGUSR2]


def test_memory_over_the_limit_kills_the_child(signals: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(child_process, "group_usage", lambda pid: (1, 2 << 20))
    outcome = supervise(FakeSink(), memory_limit_mb=1)
    assert outcome.killed_for == "memory_limit"


def test_too_many_processes_kill_the_child(signals: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(child_process, "group_usage", lambda pid: (5, 0))
    outcome = supervise(FakeSink(), max_processes=4)
    assert outcome.killed_for == "process_limit"
    assert "more than 4 processes" in (outcome.message or "")


class FullDiskSink(Sink):
    """A sink whose epoch write fails as SQLite's does on a full disk, after the retries gave up."""

    def add_epoch(self, entry: dict[str, Any], progress: dict[str, Any]) -> bool:
        import sqlite3

        from sqlalchemy.exc import OperationalError

        raise OperationalError("UPDATE sessions …", {}, sqlite3.OperationalError("database or disk is full"))


def test_a_progress_write_that_fails_for_good_stops_the_child_with_the_reason() -> None:
    events_r, events_w = os.pipe()
    replies_r, replies_w = os.pipe()
    epoch = b'{"type": "epoch", "epoch": 1, "epochs": 5, "logs": {"loss": 0.5}}\n'
    code = f"import os, time; os.write({events_w}, {epoch!r}); time.sleep(60)"
    proc = subprocess.Popen([sys.executable, "-c", code], pass_fds=(events_w,), start_new_session=True)
    os.close(events_w)
    try:
        options: dict[str, Any] = {"time_limit_s": 120.0, "memory_limit_mb": 1 << 20, "max_processes": 100}
        outcome = Supervisor(proc, events_r, replies_w, FullDiskSink(), on_request=_answer, **options).run()
    finally:
        os.close(replies_r)
        child_process.kill_group(proc)
    assert outcome.killed_for == "database_error"  # the child was stopped, not left training unwatched
    assert outcome.returncode is not None and outcome.returncode < 0
    assert "disk holding fitstudio's database is full" in (outcome.message or "")


def test_retries_add_up_to_the_setting_and_wait_at_most_the_longest_delay() -> None:
    from server.transactions import retry_delays

    assert sum(retry_delays(150)) <= 150 and sum(retry_delays(150)) > 120
    assert retry_delays(3) == [0.5, 1]
    finish = retry_delays(3600, longest_s=5)
    assert max(finish) == 5 and 3590 <= sum(finish) <= 3600
