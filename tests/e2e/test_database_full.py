"""A full database disk during a training (issue 14): the training is stopped and ends `failed` naming the full
disk once space is back; it is never re-run as "worker lost" nor left `running`, and the worker trains on.

SQLite's file lives on a small tmpfs of its own that the test fills while a real worker trains.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import helpers
from tests.e2e.conftest import Runtime, started
from tests.e2e.test_runtime_control import LONG, wait_for_epochs

pytestmark = pytest.mark.slow


def mount_problem(point: Path) -> str | None:
    """None when a 32 MB tmpfs could be mounted at POINT (root, or CAP_SYS_ADMIN), else why not."""
    point.mkdir(parents=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(point)], capture_output=True)
    return None if done.returncode == 0 else done.stderr.decode(errors="replace").strip() or "mount failed"


@pytest.fixture(scope="module")
def small_disk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A 32 MB filesystem of its own, for the database only."""
    point = tmp_path_factory.mktemp("dbdisk") / "mnt"
    helpers.require_service("a tmpfs mount (the tests run as root in CI)", mount_problem(point))
    try:
        yield point
    finally:
        subprocess.run(["umount", "-l", str(point)], check=False)


@pytest.fixture(scope="module")
def runtime(small_disk: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    """SQLite on SMALL_DISK, the rest of FITSTUDIO_HOME elsewhere; one worker that gives a write up after 3 s."""
    home = tmp_path_factory.mktemp("dbfull") / "home"
    url = f"sqlite:///{small_disk / 'fitstudio.db'}"
    with started(home, "dbfull", database_url=url, db_retry_s="3", db_finish_retry_s="600") as runtime:
        yield runtime


def fill(disk: Path) -> Path:
    """Fill DISK to its last byte with one file; returns it."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for size in (1 << 20, 64 << 10, 4 << 10, 512, 1):
            chunk = b"\0" * size
            with contextlib.suppress(OSError):
                while os.write(fd, chunk):
                    pass
    finally:
        os.close(fd)
    return filler


def truncate_wal(database: Path) -> None:
    """Empty the write-ahead log, so that the next write must grow it (a log that stays large is reused in place)."""
    with contextlib.closing(sqlite3.connect(database, timeout=30)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def session_row(session_id: int) -> Any:
    """The session's row (lease and attempts are not in the API's answer)."""
    from server.db import session_scope
    from server.models import TrainingSession

    with session_scope() as db:
        row = db.get(TrainingSession, session_id)
        assert row is not None
        db.expunge(row)
        return row


def test_a_full_database_disk_fails_the_training_once_and_the_worker_trains_on(
    runtime: Runtime, small_disk: Path
) -> None:
    from server.services.bootstrap import demo_bytes

    dataset = runtime.dataset("bc", demo_bytes("breast_cancer").getvalue())
    task = runtime.task(dataset, "diagnosis", patch=LONG)
    session_id = runtime.train(task["id"])["id"]
    wait_for_epochs(runtime, session_id, 2)
    truncate_wal(small_disk / "fitstudio.db")
    filler = fill(small_disk)
    try:
        with pytest.raises(OSError) as full:  # the disk is really full (else this test could not fail)
            (small_disk / "probe").write_bytes(b"\0" * 8192)
        assert full.value.errno == errno.ENOSPC
        helpers.wait_for(
            lambda: "could not store the training's progress" in runtime.worker_log.read_text(errors="replace"),
            120,
            "the worker to give up a write on the full disk",
        )
        assert session_row(session_id).status == "running"  # its end cannot be written yet: nothing is lost
    finally:
        filler.unlink()
    final = runtime.wait(session_id, timeout=120)
    assert final["status"] == "failed", (final, runtime.log_tail())
    assert final["error"]["type"] == "database_error", final["error"]
    assert "disk holding fitstudio's database is full" in final["error"]["message"], final["error"]
    row = session_row(session_id)
    assert (row.attempts, row.lease) == (1, 1), "the session was re-run"
    assert "handed back" not in runtime.worker_log.read_text(errors="replace")
    # The worker is fine: the next training on the same database succeeds.
    short = runtime.task(dataset, "diagnosis", patch={"training": {"epochs": 1}})
    assert runtime.train_and_wait(short["id"])["status"] == "succeeded", runtime.log_tail()
