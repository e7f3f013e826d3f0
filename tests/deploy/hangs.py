"""A test that hangs where pytest-timeout's SIGALRM cannot reach it; run only by test_test_streams.py."""

import os
import signal
import subprocess
import sys
import time

import pytest


def test_blocked_in_c() -> None:
    if os.environ.get("FITSTUDIO_TEST_HANG") != "1":
        pytest.skip("only tests/deploy/test_test_streams.py runs this, through scripts/streams.sh")
    # A process it started, as a worker would be: the watchdog has py-spy write its stack too. It ends on its own.
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(240)"])
    # A main thread blocked in C with the signals pytest and its timeout use blocked: like libpq waiting on a lock.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM, signal.SIGINT})
    time.sleep(3600)
