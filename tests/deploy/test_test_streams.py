"""scripts/test.sh's two concurrent pytest streams (tests/conftest.py, `--stream`): together they run every test
once, and no test of the `trainings` stream touches PostgreSQL or Redis, which the `services` stream's fault tests
restart."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FILES = [
    "tests/security/test_sandbox.py",  # a module fixture on PostgreSQL + Redis (param postgres_redis)
    "tests/reliability/test_service_faults.py",  # restarts PostgreSQL and Redis
    "tests/e2e/test_models.py",  # trainings on SQLite
    "tests/e2e/test_training.py",  # trainings, one of them on PostgreSQL + Redis
    "tests/core/test_dates.py",  # neither slow nor e2e
    "tests/webui/test_browser_upload.py",  # a browser test on SQLite: in `services`, for balance
]


def _collected(*extra: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--collect-only", "-m", "not bench", *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    return {line for line in out.stdout.splitlines() if "::" in line}


def test_the_streams_split_the_suite_and_keep_the_services_apart() -> None:
    everything = _collected(*FILES)
    services = _collected("--stream", "services", *FILES)
    trainings = _collected("--stream", "trainings", *FILES)
    assert services | trainings == everything and not services & trainings
    assert trainings and all(t.startswith("tests/e2e/test_models.py") for t in trainings)
    assert {t for t in everything if t.startswith("tests/security/test_sandbox.py")} <= services
    assert {t for t in everything if t.startswith("tests/reliability/")} <= services
    assert {t for t in everything if t.startswith(("tests/core/", "tests/webui/"))} <= services
    source = (ROOT / "tests/e2e/test_training.py").read_text()
    assert "pg_redis" in source and not {t for t in trainings if t.startswith("tests/e2e/test_training.py")}


def _streams(args: list[str], env: dict[str, str], timeout: int) -> tuple[subprocess.CompletedProcess[str], float]:
    """scripts/streams.sh on ARGS with FITSTUDIO_TEST_HANG=1 and ENV: its run, and the seconds it took."""
    started = time.monotonic()
    out = subprocess.run(
        ["bash", "scripts/streams.sh", *args],
        cwd=ROOT,
        env=dict(os.environ, FITSTUDIO_TEST_HANG="1", **env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return out, time.monotonic() - started


@pytest.mark.slow
def test_a_hung_test_ends_the_stream_with_its_stacks_well_within_ci_limit() -> None:
    """scripts/streams.sh on a test blocked in C: faulthandler writes its stacks 60 s past pytest-timeout's limit,
    the watchdog stops the stream at its limit with the stacks of the test and of the process it started, and the run
    fails saying where it hung, instead of running on."""
    limits = {"FITSTUDIO_TEST_STREAM_LIMIT_S": "75", "FITSTUDIO_TEST_STREAM_GRACE_S": "3"}
    out, took = _streams(["tests/deploy/hangs.py", "-o", "timeout=5"], limits, timeout=300)
    assert out.returncode != 0 and took < 150, (out.returncode, took)
    assert "*** stream services ran past 75s: its stacks, then stopped ***" in out.stdout
    assert "stream services: the stacks of a test that hung" in out.stdout
    assert "Timeout (0:01:05)!" in out.stdout, "the per-test dump, 60 s past timeout=5"
    assert out.stdout.count('tests/deploy/hangs.py", line') >= 2, "both dumps show the hung line"
    assert "(<string>:1)" in out.stdout, "py-spy's stack of the process the hung test started"
    summary = out.stdout.rsplit("==================== summary ====================", 1)[1]
    assert "services: stopped after 75s" in summary, "the last lines, which CI shows, say it"
    assert 'hangs.py", line' in summary, "and where the main thread was"


def test_a_process_whose_exit_hangs_ends_with_its_status_and_says_on_what() -> None:
    """tests/exit_guard.py: a test that leaves a thread the exit would join forever passes, its pytest process ends
    FITSTUDIO_TEST_EXIT_GRACE_S after its summary with pytest's status, and the summary names the thread."""
    out, took = _streams(["tests/deploy/exit_hangs.py"], {"FITSTUDIO_TEST_EXIT_GRACE_S": "3"}, timeout=120)
    assert out.returncode == 0 and took < 60, (out.returncode, took, out.stdout[-3000:])
    summary = out.stdout.rsplit("==================== summary ====================", 1)[1]
    assert "services: pytest's exit waits for 1 thread(s) ['never-ends']" in summary
    assert "services: pytest's process hung at exit: still exiting 3 s after its summary" in summary
    assert "--- thread 'never-ends' (daemon: False):" in out.stdout, "its stack, above the summary"
    assert "1 passed" in summary
