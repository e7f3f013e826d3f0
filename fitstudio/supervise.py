"""`fitstudio up`'s process watch: its worker is restarted with backoff when it dies and stopped with the service."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from types import FrameType


def exit_words(code: int) -> str:
    """A return code in words: 'code 1', or 'code -9 (killed by SIGKILL)'."""
    if code < 0:
        try:
            return f"code {code} (killed by {signal.Signals(-code).name})"
        except ValueError:
            return f"code {code} (killed by signal {-code})"
    return f"code {code}"


def say(message: str) -> None:
    """Print a line of `fitstudio up`'s own output (stderr, flushed)."""
    print(message, file=sys.stderr, flush=True)


class Backoff:
    """Restart delays: FIRST, doubled after each quick death up to CAP; back to FIRST once a run lasted STABLE s."""

    def __init__(self, first: float = 1.0, cap: float = 30.0, stable: float = 60.0) -> None:
        self.first, self.cap, self.stable = first, cap, stable
        self._next = first

    def delay(self, uptime: float) -> float:
        """The wait before the next start, after a run that lasted UPTIME seconds."""
        if uptime >= self.stable:
            self._next = self.first
        delay, self._next = self._next, min(self._next * 2, self.cap)
        return delay


class ProcessWatch:
    """Keeps one child process running: restarts it with backoff when it exits, until stop()."""

    def __init__(
        self,
        label: str,
        argv: Sequence[str],
        backoff: Backoff | None = None,
        on_exit: Callable[[int, int], None] | None = None,
    ) -> None:
        self.label, self.argv = label, list(argv)
        self.backoff = backoff or Backoff()
        self.on_exit = on_exit  # called with (pid, return code) when the process ended by itself
        self.restarts = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._proc: subprocess.Popen[bytes] | None = None
        self._started = 0.0
        self._thread = threading.Thread(target=self._watch, name=f"{label}-watch", daemon=True)

    @property
    def pid(self) -> int | None:
        """The pid of the current process (None before start)."""
        return self._proc.pid if self._proc else None

    def start(self) -> None:
        """Start the process and the thread that watches it."""
        self._spawn()
        self._thread.start()

    def _spawn(self) -> bool:
        """Start the process unless stop() was called; its own process group, so a terminal's Ctrl-C reaches us only."""
        with self._lock:
            if self._stopping.is_set():
                return False
            self._proc = subprocess.Popen(self.argv, process_group=0)
            self._started = time.monotonic()
            return True

    def _watch(self) -> None:
        """Wait for the process; when it ends by itself, report it and start it again after the backoff delay."""
        while True:
            proc = self._proc
            assert proc is not None
            code = proc.wait()
            if self._stopping.is_set():
                return
            if self.on_exit is not None:
                try:
                    self.on_exit(proc.pid, code)
                except Exception as exc:  # reporting must not stop the restarts
                    say(f"{self.label}: could not record the exit of pid {proc.pid}: {exc}")
            delay = self.backoff.delay(time.monotonic() - self._started)
            say(f"{self.label} exited with {exit_words(code)}; restarting in {delay:g} s")
            if self._stopping.wait(delay) or not self._spawn():
                return
            self.restarts += 1
            say(f"{self.label} restarted (pid {self.pid})")

    def terminate(self) -> None:
        """Send SIGTERM to the current process, if it runs."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)

    def stop(self, timeout: float) -> int | None:
        """No more restarts; SIGTERM, wait up to TIMEOUT seconds, then SIGKILL. Returns the last return code."""
        with self._lock:
            self._stopping.set()
            proc = self._proc
        if proc is None:
            return None
        self.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            say(f"{self.label} did not stop within {timeout:g} s; killing it")
            proc.kill()
            proc.wait()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        return proc.returncode


class StopSignals:
    """SIGTERM, SIGINT and SIGHUP stop `fitstudio up`: the first raises KeyboardInterrupt, a later one calls AGAIN."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)

    def __init__(self, again: Callable[[], None]) -> None:
        self.again = again
        self.received: int | None = None

    def install(self) -> None:
        """Handle the signals in this (main) thread; one ignored on start (nohup: SIGHUP) stays ignored."""
        for sig in self.SIGNALS:
            if signal.getsignal(sig) is not signal.SIG_IGN:
                signal.signal(sig, self._handle)

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self.received is None and signum == signal.SIGHUP:
            os.kill(os.getpid(), signal.SIGTERM)  # while uvicorn serves, it handles SIGTERM (and not SIGHUP) gracefully
            return
        if self.received is None:
            self.received = signum
            raise KeyboardInterrupt
        self.again()
