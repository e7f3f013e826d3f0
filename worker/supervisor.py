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

from core.protocol import reply_line
from server.errors import is_disk_full
from worker import child_process
from worker.phases import PhaseTrack
from worker.sinks import PROGRESS_KEYS, SessionSink, Sink

__all__ = ["Outcome", "SessionSink", "Sink", "Supervisor"]

log = logging.getLogger(__name__)

BATCH_WRITE_EVERY_S = 1.0
CANCEL_POLL_EVERY_S = 0.5
TICK_S = 0.1
# Memory and process count, at most this often: each look reads /proc for the child's process tree.
USAGE_EVERY_S = 0.25
OOM_COUNT_WAIT_S = 1.0  # how long a SIGKILLed child's memory cgroup may take to count the kernel's kill
EVENT_QUEUE = 1000  # events parsed but not yet handled; past it the child's writes wait
MAX_EVENT_BYTES = 1 << 20
FLOOD_EVENTS = 2000  # more events than this in FLOOD_WINDOW_S ends the training (honest ones send a few a second)
FLOOD_WINDOW_S = 5.0
MAX_REQUESTS = 10_000  # model look-ups a training may make
MAX_UNREAD_REPLY_BYTES = 256 << 10


@dataclass
class Outcome:
    """How the child ended, as far as the supervisor knows."""

    killed_for: str | None = None  # "abort", "time_limit", "memory_limit", "lease_lost", "database_error", …
    message: str | None = None
    returncode: int | None = None
    epochs: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class PeriodicCheck:
    """One check of the enforcer, run at most every EVERY_S seconds; one that returns True ends the tick."""

    name: str
    every_s: float
    run: Callable[[float], bool]
    last: float = 0.0  # when it last ran (monotonic); 0 makes it due at once


def database_error_message(exc: BaseException) -> str:
    """Why a training was stopped when its progress could not be stored, in a user's words."""
    if is_disk_full(exc):
        return (
            "The disk holding fitstudio's database is full, so the training's progress could not be stored and it "
            f"was stopped. Free space there and train again. ({type(exc).__name__}: {str(exc)[:300]})"
        )
    return f"The worker could not store the training's progress in the database: {type(exc).__name__}: {exc}"


class Supervisor:
    """One child's supervision: events relayed on the task thread, limits enforced on a thread of their own.

    Nothing the child sends can stall the limits: the enforcer thread checks memory, processes, the wall clock,
    drain and cancel requests on its own timer; replies are written without blocking and a child that does not
    read them, or floods events, is ended with a reason saying so.
    """

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
        sandboxed: bool = False,
        oom_kills: Callable[[], int] | None = None,
    ):
        self.proc = proc
        self.sink = sink
        self.label = sink.label  # for log lines: "session 3" or "dry run"
        self.time_limit_s = time_limit_s
        self.memory_limit = memory_limit_mb << 20
        self.oom_kills = oom_kills  # the training's memory cgroup (worker/cgroups.py): the kernel holds the limit
        # bubblewrap adds two processes of its own (the launcher and the namespace's init)
        self.max_processes = max_processes + (2 if sandboxed else 0)
        self.sandboxed = sandboxed
        self.on_request = on_request
        self.should_stop = should_stop
        self.drain_timeout_s = drain_timeout_s
        self._events: queue.Queue[dict[str, Any] | None] = queue.Queue(maxsize=EVENT_QUEUE)
        self._replies_fd = replies_fd
        os.set_blocking(replies_fd, False)
        self._unsent = bytearray()
        self._requests = 0
        self._reader = threading.Thread(target=self._read, args=(events_fd,), daemon=True)
        self._enforcer = threading.Thread(target=self._enforce, daemon=True)
        self._finished = threading.Event()
        self._kill_lock = threading.Lock()
        self._training_pid: int | None = None
        self._started = 0.0  # when the enforcer started: the time limit counts from it
        self._drain_started: float | None = None
        self._interrupt_sent = False
        self._last_batch_write = 0.0
        self.progress: dict[str, Any] = dict(sink.start)
        self.phases = PhaseTrack()
        self.outcome = Outcome()

    # The child's side --------------------------------------------------------------------------------------

    def _read(self, fd: int) -> None:
        """Parse event lines into the bounded queue (a full queue makes the child wait, not the supervisor)."""
        window_start, count = time.monotonic(), 0
        with os.fdopen(fd, "rb") as pipe:
            while True:
                line = pipe.readline(MAX_EVENT_BYTES + 1)
                if not line:
                    break
                if len(line) > MAX_EVENT_BYTES:
                    self._kill("event_flood", f"The training sent an event over {MAX_EVENT_BYTES >> 10} KiB.")
                    break
                now = time.monotonic()
                if now - window_start > FLOOD_WINDOW_S:
                    window_start, count = now, 0
                count += 1
                if count > FLOOD_EVENTS:
                    self._kill(
                        "event_flood",
                        f"The training sent more than {FLOOD_EVENTS} events in {FLOOD_WINDOW_S:g} s to the worker.",
                    )
                    break
                try:
                    event = json.loads(line)
                except ValueError:
                    log.warning("%s: unreadable event line dropped", self.label)
                    continue
                if isinstance(event, dict):
                    self._events.put(event)
        self._events.put(None)

    def _handle(self, event: dict[str, Any], pending_batch: list[dict[str, Any]]) -> None:
        kind = event.get("type")
        if kind == "batch":
            self.progress = {**self.phases.fields(), **{k: event.get(k) for k in PROGRESS_KEYS}}
            pending_batch[:] = [self.progress]
        elif kind == "status" and self.phases.enter(event.get("phase")):
            # Written at once (a few a training): the page says what the training does before its first batch.
            pending_batch.clear()
            self.progress = {**self.progress, **self.phases.fields()}
            if not self.sink.progress(self.progress):
                self._kill("lease_lost", "Another worker owns this session now.")
        elif kind == "epoch":
            pending_batch.clear()  # the epoch's write carries the newest progress; a batch left over would undo it
            self._epoch(event)
        elif kind == "request":
            self._answer(event)

    def _epoch(self, event: dict[str, Any]) -> None:
        entry = {"epoch": event.get("epoch"), **(event.get("logs") or {}), "time": event.get("time")}
        # Only completed epochs are reported: all their batches are done, whichever batch event came last
        # (they are sent at most 4 times a second).
        batches = self.progress.get("batches")
        self.progress = {
            **self.phases.fields(),
            "epoch": event.get("epoch"),
            "epochs": event.get("epochs"),
            "batch": batches or self.progress.get("batch"),
            "batches": batches,
        }
        self.outcome.epochs.append(entry)
        if not self.sink.add_epoch(entry, self.progress):
            self._kill("lease_lost", "Another worker owns this session now.")

    def _answer(self, event: dict[str, Any]) -> None:
        self._requests += 1
        if self._requests > MAX_REQUESTS:
            self._kill("event_flood", f"The training sent more than {MAX_REQUESTS} requests to the worker.")
            return
        try:
            reply = self.on_request(event)
        except Exception as exc:  # an answer, never a crash of the worker
            log.exception("%s: request failed", self.label)
            reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        self._unsent += reply_line(event.get("id"), reply)
        self._flush_replies()

    def _flush_replies(self) -> None:
        """Write what the pipe takes now; a child that leaves its replies unread is ended, never waited for."""
        while self._unsent:
            try:
                written = os.write(self._replies_fd, self._unsent)
            except BlockingIOError:
                break
            except OSError:  # the child closed its end
                self._unsent.clear()
                return
            del self._unsent[:written]
        if len(self._unsent) > MAX_UNREAD_REPLY_BYTES:
            self._unsent.clear()
            self._kill("event_flood", "The training sent requests to the worker without reading the answers.")

    # Limits, on their own timer ---------------------------------------------------------------------------

    def _checks(self) -> list[PeriodicCheck]:
        """The enforcer's checks in order: a time limit or a stop outranks a cancel request."""
        return [
            PeriodicCheck("usage", USAGE_EVERY_S, self._check_usage),
            PeriodicCheck("time_limit", 0.0, self._check_time_limit),
            PeriodicCheck("drain", 0.0, self._check_drain),
            PeriodicCheck("cancel", CANCEL_POLL_EVERY_S, self._check_cancel),
        ]

    def _enforce(self) -> None:
        """Run the checks that are due every TICK_S until the child is gone or killed."""
        self._started = time.monotonic()
        checks = self._checks()
        while not self._finished.wait(TICK_S):
            if self.outcome.killed_for is not None:
                continue
            now = time.monotonic()
            for check in checks:
                if now - check.last < check.every_s:
                    continue
                check.last = now
                if check.run(now):
                    break

    def _check_time_limit(self, now: float) -> bool:
        """Kill the child past its time limit."""
        if now - self._started <= self.time_limit_s:
            return False
        message = f"The training exceeded its time limit of {self.time_limit_s:g} s (training.time_limit_s)."
        self._kill("time_limit", message)
        return True

    def _check_drain(self, now: float) -> bool:
        """While the worker stops: the child checkpoints at its next batch and exits; past the timeout it is killed."""
        if not self.should_stop():
            return False
        if self._drain_started is None:
            self._drain_started = now
            self._signal_training(signal.SIGUSR2)
        elif now - self._drain_started > self.drain_timeout_s:
            self._kill("shutdown", "The worker stopped before the training could checkpoint.")
        return True

    def _check_cancel(self, now: float) -> bool:
        """Honour a user's abort (kill) or interrupt (signal the child once, it saves and stops)."""
        request = self._cancel_request()
        if request == "abort":
            self._kill("abort", "Aborted by a user.")
        elif request == "interrupt" and not self._interrupt_sent:
            self._interrupt_sent = True
            self._signal_training(signal.SIGUSR1)
        return False

    def _cancel_request(self) -> str | None:
        try:
            return self.sink.cancel_request()
        except Exception:  # the database may be away for a moment; the next poll asks again
            log.exception("%s: cancel poll failed", self.label)
            return None

    def _check_usage(self, now: float) -> bool:
        """Kill the child when it is over its memory or process limit (the other checks still run this tick)."""
        processes, rss = child_process.group_usage(self.proc.pid)
        if self._over_memory(rss):
            self._kill("memory_limit", self._memory_message())
        elif processes > self.max_processes:
            limit = self.max_processes - (2 if self.sandboxed else 0)
            self._kill(
                "process_limit",
                f"The training started more than {limit} processes (FITSTUDIO_TRAINING_MAX_PROCESSES).",
            )
        return False

    def _over_memory(self, rss: int) -> bool:
        """The kernel's verdict where a memory cgroup holds the limit, else the polled resident memory's."""
        return self.oom_kills() > 0 if self.oom_kills is not None else rss > self.memory_limit

    def _killed_at_limit(self) -> bool:
        """Whether the kernel killed the exited child at its memory cgroup's limit. The kernel counts the kill just
        after it sends SIGKILL, so a child reaped at once (a loaded host) may find the count still 0: a child
        ended by SIGKILL is given up to OOM_COUNT_WAIT_S for it (it was "process_died" before)."""
        if self._over_memory(0):
            return True
        if self.oom_kills is None or self.outcome.returncode not in (-signal.SIGKILL, 128 + signal.SIGKILL):
            return False
        deadline = time.monotonic() + OOM_COUNT_WAIT_S
        while time.monotonic() < deadline:
            time.sleep(0.02)
            if self.oom_kills() > 0:
                return True
        return False

    def _memory_message(self) -> str:
        return f"The training used more than {self.memory_limit >> 20} MB of memory (FITSTUDIO_TRAINING_MEMORY_MB)."

    def _signal_training(self, sig: int) -> None:
        """Signal the process that runs the training (inside the sandbox: the one bubblewrap started)."""
        if self._training_pid is None:
            self._training_pid = child_process.training_pid(self.proc, self.sandboxed)
        if self._training_pid is not None:
            child_process.signal_pid(self._training_pid, sig)

    def _kill(self, reason: str, message: str) -> None:
        with self._kill_lock:
            if self.outcome.killed_for is None:
                self.outcome.killed_for = reason
                self.outcome.message = message
        child_process.kill_group(self.proc)

    # The loop ---------------------------------------------------------------------------------------------

    def run(self) -> Outcome:
        """Supervise until the child exits; returns what happened."""
        self._reader.start()
        self._enforcer.start()
        try:
            self._relay()
        except Exception as exc:  # a write of the session's row failed for good: never leave the child unwatched
            log.exception("%s: the worker could not store the training's progress; stopping it", self.label)
            self._kill("database_error", database_error_message(exc))
        finally:
            self._finished.set()
            self._enforcer.join(timeout=5)
        self.outcome.returncode = self.proc.wait()
        if self.outcome.killed_for is None and self._killed_at_limit():
            self.outcome.killed_for, self.outcome.message = "memory_limit", self._memory_message()
        try:
            os.close(self._replies_fd)
        except OSError:
            pass
        return self.outcome

    def _relay(self) -> None:
        """Relay events until the child and everything holding its pipe are gone."""
        pending_batch: list[dict[str, Any]] = []
        reader_done = False
        exited_at = 0.0
        while True:
            reader_done = self._relay_next(pending_batch) or reader_done
            if self._unsent:
                self._flush_replies()
            now = time.monotonic()
            self._write_batch(pending_batch, now)
            if self.proc.poll() is not None:
                if reader_done:
                    return
                # A grandchild may hold the pipe open after the child is gone: end the whole group.
                exited_at = exited_at or now
                if now - exited_at > 5:
                    child_process.kill_group(self.proc)
                    return

    def _relay_next(self, pending_batch: list[dict[str, Any]]) -> bool:
        """Handle the next event, waiting at most TICK_S; True when the reader has finished."""
        try:
            event = self._events.get(timeout=TICK_S)
        except queue.Empty:
            return False
        if event is None:
            return True
        self._handle(event, pending_batch)
        return False

    def _write_batch(self, pending_batch: list[dict[str, Any]], now: float) -> None:
        """Store the latest batch progress, at most every BATCH_WRITE_EVERY_S."""
        if pending_batch and now - self._last_batch_write >= BATCH_WRITE_EVERY_S:
            if not self.sink.progress(pending_batch[0]):
                self._kill("lease_lost", "Another worker owns this session now.")
            pending_batch.clear()
            self._last_batch_write = now
