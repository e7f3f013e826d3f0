"""fitstudio.supervise: the restart backoff, and a real child process watched, restarted and stopped."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import psutil

from fitstudio.supervise import Backoff, ProcessWatch, exit_words
from tests import helpers


def test_backoff_doubles_up_to_the_cap_and_resets_after_a_stable_run() -> None:
    backoff = Backoff(first=1, cap=30, stable=60)
    assert [backoff.delay(uptime=2) for _ in range(7)] == [1, 2, 4, 8, 16, 30, 30]
    assert backoff.delay(uptime=61) == 1  # it had stayed up: start over
    assert backoff.delay(uptime=0.5) == 2


def test_exit_words() -> None:
    assert exit_words(-9) == "code -9 (killed by SIGKILL)"
    assert exit_words(1) == "code 1"


def test_a_process_that_dies_is_restarted_and_stop_ends_it_for_good(capsys: object) -> None:
    exits: list[tuple[int, int]] = []
    argv = [sys.executable, "-c", "import sys; sys.exit(3)"]
    watch = ProcessWatch("child", argv, Backoff(first=0.05, cap=0.2), on_exit=lambda *a: exits.append(a))
    watch.start()
    try:
        helpers.wait_for(lambda: len(exits) >= 3, 30, "three exits")
    finally:
        watch.stop(timeout=5)
    assert all(code == 3 for _pid, code in exits) and len({pid for pid, _ in exits}) == len(exits)
    assert watch.restarts >= 2
    count = len(exits)
    time.sleep(0.5)  # time passes on purpose: no restart may follow stop()
    assert len(exits) == count, "stop() ends the restarts"
    assert watch.pid is not None and not psutil.pid_exists(watch.pid)
    err = capsys.readouterr().err  # type: ignore[attr-defined]
    assert (
        "child exited with code 3; restarting in 0.05 s" in err
        and "child exited with code 3; restarting in 0.1 s" in err
    )


def test_stop_sends_sigterm_then_kills_a_process_that_ignores_it(tmp_path: Path) -> None:
    marker = tmp_path / "ignoring"
    ignore = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN)"
    script = f"{ignore}; open({str(marker)!r}, 'w'); time.sleep(60)"
    watch = ProcessWatch("stubborn", [sys.executable, "-c", script])
    watch.start()
    helpers.wait_for(marker.exists, 30, "the child to ignore SIGTERM")
    started = time.monotonic()
    assert watch.stop(timeout=1) == -9
    assert time.monotonic() - started < 5
