"""A test that leaves a thread Python's exit would wait for forever; run only by test_test_streams.py."""

import os
import threading

import pytest


def test_leaves_a_thread_that_never_ends() -> None:
    if os.environ.get("FITSTUDIO_TEST_HANG") != "1":
        pytest.skip("only tests/deploy/test_test_streams.py runs this, through scripts/streams.sh")
    # Not a daemon: like a ThreadPoolExecutor's worker stuck on a call that never returns.
    threading.Thread(target=threading.Event().wait, name="never-ends").start()
