"""worker/supervisor.py relays the phases a real child announces: stored at once, kept by later progress writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from core.protocol import MAX_PHASES, phase_event
from worker import child_process
from worker.phases import PhaseTrack
from worker.supervisor import Sink, Supervisor


class RecordingSink(Sink):
    """Every progress a run writes, in order, starting from the progress stored at submit."""

    def __init__(self) -> None:
        self.start = {"epoch": 0, "epochs": 7, "batch": 0, "batches": None}
        self.writes: list[dict[str, Any]] = []

    def progress(self, progress: dict[str, Any]) -> bool:
        self.writes.append(dict(progress))
        return True

    def add_epoch(self, entry: dict[str, Any], progress: dict[str, Any]) -> bool:
        self.writes.append(dict(progress))
        return True


def run_child(events: list[dict[str, Any]], sink: Sink) -> None:
    """A real child process that writes EVENTS on its events pipe, supervised to its end."""
    events_r, events_w = os.pipe()
    replies_r, replies_w = os.pipe()
    lines = "".join(json.dumps(e) + "\n" for e in events)
    script = f"import os, time; os.write({events_w}, {lines.encode()!r}); time.sleep(1.2)"
    proc = subprocess.Popen([sys.executable, "-c", script], pass_fds=(events_w,), start_new_session=True)
    os.close(events_w)
    try:
        options: dict[str, Any] = {"time_limit_s": 60.0, "memory_limit_mb": 1 << 20, "max_processes": 100}
        Supervisor(proc, events_r, replies_w, sink, on_request=lambda r: {}, **options).run()
    finally:
        os.close(replies_r)
        child_process.kill_group(proc)


def test_phases_are_stored_at_once_and_batches_keep_them() -> None:
    sink = RecordingSink()
    run_child(
        [
            phase_event("starting"),
            phase_event("loading_data"),
            {"type": "status", "phase": "hacking the worker"},  # not a phase: ignored
            phase_event("training"),
            {"type": "batch", "epoch": 0, "epochs": 7, "batch": 3, "batches": 9},
        ],
        sink,
    )
    phases = [w["phase"] for w in sink.writes]
    assert phases == ["starting", "loading_data", "training", "training"], sink.writes
    first = sink.writes[0]
    assert first["epochs"] == 7 and first["epoch"] == 0  # the stored progress is kept, not replaced
    assert [p["phase"] for p in sink.writes[-1]["phases"]] == ["starting", "loading_data", "training"]
    assert sink.writes[-1]["batch"] == 3 and sink.writes[-1]["phase_started_at"] == sink.writes[2]["phase_started_at"]


def test_a_phase_track_takes_known_phases_a_bounded_number_of_times() -> None:
    track = PhaseTrack()
    assert track.fields() == {}
    assert not track.enter("nope") and not track.enter(None) and not track.enter(["training"])
    assert all(track.enter("training") for _ in range(MAX_PHASES))
    assert not track.enter("saving")
    assert track.fields()["phase"] == "training" and len(track.fields()["phases"]) == MAX_PHASES
