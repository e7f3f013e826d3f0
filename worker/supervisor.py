"""Watch a running training child: relay its events to SQL, answer its requests, enforce limits, honour cancels."""

from __future__ import annotations

import json
import logging
import os
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from worker import child_process, state

log = logging.getLogger(__name__)

BATCH_WRITE_EVERY_S = 1.0
CANCEL_POLL_EVERY_S = 0.5
TICK_S = 0.1
# Memory and process count, at most this often: each look reads /proc for the child's process tree.
USAGE_EVERY_S = 0.25


class Sink:
    """Where a child's progress goes; the base class drops it (dry runs)."""

    label: str = "dry run"

    def progress(self, progress: dict[str, Any]) -> bool:
        """Store batch progress; False when the work is no longer ours."""
        return True

    def add_epoch(self, entry: dict[str, Any], progress: dict[str, Any]) -> bool:
        """Store one epoch; False when the work is no longer ours."""
        return True

    def cancel_request(self) -> str | None:
        """'interrupt', 'abort' or None."""
        return None


class SessionSink(Sink):
    """A training session's row, written only while we hold its lease."""

    def __init__(self, session_id: int, lease: int):
        self.session_id = session_id
        self.lease = lease
        self.label = f"session {session_id}"

    def progress(self, progress: dict[str, Any]) -> bool:
        return state.progress(self.session_id, self.lease, progress)

    def add_epoch(self, entry: dict[str, Any], progress: dict[str, Any]) -> bool:
        return state.add_epoch(self.session_id, self.lease, entry, progress)

    def cancel_request(self) -> str | None:
        return state.cancel_request(self.session_id)


@dataclass
class Outcome:
    """How the child ended, as far as the supervisor knows."""

    killed_for: str | None = None  # "abort", "time_limit", "memory_limit", "lease_lost", "shutdown"
    message: str | None = None
    returncode: int | None = None
    epochs: list[dict[str, Any]] = field(default_factory=list)


class Supervisor:
    """One child's supervision loop (runs in the worker's task thread)."""

    def __init__(
        self,
        proc: subprocess.Popen[bytes],
        events_fd: int,
        replies_fd: int,
        sink: Sink,
        time_limit_s: float,
        memory_limit_mb: int,
        max_processes: int,
        on_request: Callable[[dict[str, Any]], dict[str, Any]],
        should_stop: Callable[[], bool] = lambda: False,
        drain_timeout_s: float = 120.0,
    ):
        self.proc = proc
        self.sink = sink
        self.session_id = sink.label
        self.time_limit_s = time_limit_s
        self.memory_limit = memory_limit_mb << 20
        self.max_processes = max_processes
        self.on_request = on_request
        self.should_stop = should_stop
        self._events: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._replies = os.fdopen(replies_fd, "wb", buffering=0)
        self._reader = threading.Thread(target=self._read, args=(events_fd,), daemon=True)
        self.progress: dict[str, Any] = {}
        self.outcome = Outcome()
        self._interrupt_sent = False
        self._drain_started: float | None = None
        self.drain_timeout_s = drain_timeout_s

    def _read(self, fd: int) -> None:
        with os.fdopen(fd, "rb") as pipe:
            for line in pipe:
                try:
                    self._events.put(json.loads(line))
                except ValueError:
                    log.warning("%s: unreadable event line dropped", self.session_id)
        self._events.put(None)

    def _handle(self, event: dict[str, Any], pending_batch: list[dict[str, Any]]) -> None:
        kind = event.get("type")
        if kind == "batch":
            self.progress = {k: event.get(k) for k in ("epoch", "epochs", "batch", "batches")}
            pending_batch[:] = [self.progress]
        elif kind == "epoch":
            entry = {"epoch": event["epoch"], **(event.get("logs") or {}), "time": event.get("time")}
            # Only completed epochs are reported: all their batches are done, whichever batch event came last
            # (they are sent at most 4 times a second).
            batches = self.progress.get("batches")
            self.progress = {
                "epoch": event["epoch"],
                "epochs": event.get("epochs"),
                "batch": batches or self.progress.get("batch"),
                "batches": batches,
            }
            self.outcome.epochs.append(entry)
            if not self.sink.add_epoch(entry, self.progress):
                self._kill("lease_lost", "Another worker owns this session now.")
        elif kind == "request":
            try:
                reply = self.on_request(event)
            except Exception as exc:  # an answer, never a crash of the worker
                log.exception("%s: request failed", self.session_id)
                reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
            try:
                self._replies.write((json.dumps({"id": event.get("id"), **reply}) + "\n").encode())
            except (BrokenPipeError, OSError):
                pass

    def _check_usage(self) -> None:
        """Kill the child when it is over its memory or process limit."""
        processes, rss = child_process.group_usage(self.proc.pid)
        if rss > self.memory_limit:
            self._kill(
                "memory_limit",
                f"The training used more than {self.memory_limit >> 20} MB of memory (FITSTUDIO_TRAINING_MEMORY_MB).",
            )
        elif processes > self.max_processes:
            self._kill(
                "process_limit",
                f"The training started more than {self.max_processes} processes (FITSTUDIO_TRAINING_MAX_PROCESSES).",
            )

    def _kill(self, reason: str, message: str) -> None:
        if self.outcome.killed_for is None:
            self.outcome.killed_for = reason
            self.outcome.message = message
        child_process.kill_group(self.proc)

    def run(self) -> Outcome:
        """Supervise until the child exits; returns what happened."""
        self._reader.start()
        started = time.monotonic()
        last_batch_write = 0.0
        last_cancel_poll = 0.0
        last_usage_check = 0.0
        pending_batch: list[dict[str, Any]] = []
        reader_done = False
        exited_at = 0.0
        while True:
            try:
                event = self._events.get(timeout=TICK_S)
                if event is None:
                    reader_done = True
                else:
                    self._handle(event, pending_batch)
                    continue
            except queue.Empty:
                pass
            now = time.monotonic()
            if pending_batch and now - last_batch_write >= BATCH_WRITE_EVERY_S:
                if not self.sink.progress(pending_batch[0]):
                    self._kill("lease_lost", "Another worker owns this session now.")
                pending_batch.clear()
                last_batch_write = now
            if self.outcome.killed_for is None and now - last_usage_check >= USAGE_EVERY_S:
                last_usage_check = now
                self._check_usage()
            if self.outcome.killed_for is None:
                if now - started > self.time_limit_s:
                    self._kill(
                        "time_limit",
                        f"The training exceeded its time limit of {self.time_limit_s:g} s (training.time_limit_s).",
                    )
                elif self.should_stop():
                    # Drain: the child checkpoints at its next batch and exits; past the timeout it is killed.
                    if self._drain_started is None:
                        self._drain_started = now
                        child_process.signal_child(self.proc, signal.SIGUSR2)
                    elif now - self._drain_started > self.drain_timeout_s:
                        self._kill("shutdown", "The worker stopped before the training could checkpoint.")
                elif now - last_cancel_poll >= CANCEL_POLL_EVERY_S:
                    last_cancel_poll = now
                    request = self.sink.cancel_request()
                    if request == "abort":
                        self._kill("abort", "Aborted by a user.")
                    elif request == "interrupt" and not self._interrupt_sent:
                        self._interrupt_sent = True
                        child_process.signal_child(self.proc, signal.SIGUSR1)
            if self.proc.poll() is not None:
                if reader_done:
                    break
                # A grandchild may hold the pipe open after the child is gone: end the whole group.
                exited_at = exited_at or now
                if now - exited_at > 5:
                    child_process.kill_group(self.proc)
                    break
        self.outcome.returncode = self.proc.wait()
        try:
            self._replies.close()
        except OSError:
            pass
        return self.outcome
