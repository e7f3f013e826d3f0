"""Uploads are parsed in processes of their own, a fresh one each; their errors and deaths come back."""

from __future__ import annotations

import errno
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from server.errors import ApiError, is_disk_full
from server.services import parse_process
from tests.conftest import configure


def test_the_parse_runs_in_a_fresh_process_each_time(sqlite_settings: Any) -> None:
    assert sqlite_settings.upload_parse_process  # the default
    pids = {parse_process.run(sqlite_settings, os.getpid) for _ in range(3)}
    assert os.getpid() not in pids and len(pids) == 3


def test_off_it_runs_in_the_callers_thread(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = configure(monkeypatch, tmp_path, upload_parse_process="false")
    assert parse_process.run(settings, os.getpid) == os.getpid()


def test_a_parse_process_that_dies_is_503_and_the_next_upload_gets_a_new_one(sqlite_settings: Any) -> None:
    with pytest.raises(ApiError) as died:
        parse_process.run(sqlite_settings, os._exit, 9)
    assert died.value.status == 503 and died.value.code == "upload_parse_failed"
    assert parse_process.run(sqlite_settings, os.getpid) != os.getpid()


def test_a_file_that_crashes_its_reader_is_422_and_a_killed_parse_503(sqlite_settings: Any) -> None:
    with pytest.raises(ApiError) as crashed:
        parse_process.run(sqlite_settings, os.abort)  # as a native reader aborts on a damaged file
    assert (crashed.value.status, crashed.value.code) == (422, "damaged_file") and "SIGABRT" in crashed.value.detail
    with pytest.raises(ApiError) as killed:
        parse_process.run(sqlite_settings, signal.raise_signal, signal.SIGKILL)  # the out-of-memory killer's signal
    assert (killed.value.status, killed.value.code) == (503, "upload_parse_failed")
    assert parse_process.run(sqlite_settings, os.getpid) != os.getpid()


def test_an_api_error_survives_pickling() -> None:
    import pickle

    sent = (422, "bad_csv", "Row 3 has 1 value.", [{"row": 3}])
    error = pickle.loads(pickle.dumps(ApiError(*sent)))
    assert (error.status, error.code, error.detail, error.errors) == sent


def _fill_the_disk() -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_in_the_parse_process_is_still_a_full_disk_here(sqlite_settings: Any) -> None:
    with pytest.raises(OSError) as raised:
        parse_process.run(sqlite_settings, _fill_the_disk)
    assert is_disk_full(raised.value)  # the API answers 507 (test_disk_full.py)


def _slow_pid(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def test_a_crash_fails_only_its_own_parse_and_leaves_nothing_behind(sqlite_settings: Any) -> None:
    """Parses that crash beside parses that run (a damaged file uploaded during others): the others answer, and no
    process or thread is left that the API's exit would wait for (a broken ProcessPoolExecutor once left one)."""
    threads_before = {t.ident for t in threading.enumerate()}
    calls: list[tuple[Any, ...]] = [(_slow_pid, 0.3), (os.abort,), (_slow_pid, 0.1), (os._exit, 9)] * 4
    with ThreadPoolExecutor(len(calls)) as callers:
        futures = [callers.submit(parse_process.run, sqlite_settings, *call) for call in calls]
        outcomes: list[Any] = []
        for future in futures:
            try:
                outcomes.append(future.result(timeout=120))
            except ApiError as error:
                outcomes.append(error.code)
    assert outcomes[1::2] == ["damaged_file", "upload_parse_failed"] * 4, outcomes
    pids = outcomes[0::2]
    assert all(isinstance(pid, int) and pid != os.getpid() for pid in pids) and len(set(pids)) == len(pids)
    assert multiprocessing.active_children() == []
    left = [t.name for t in threading.enumerate() if t.ident not in threads_before and not t.daemon]
    assert left == []
