"""Worker killed mid-training, graceful drain, and a second SIGTERM — on PostgreSQL + Redis, real processes."""

from __future__ import annotations

import os
import signal
import time

import psutil
import pytest

from tests import helpers
from tests.reliability.conftest import Cluster, epochs_of

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]


def _children(proc: object) -> list[int]:
    return [p.pid for p in psutil.Process(proc.pid).children(recursive=True)]  # type: ignore[attr-defined]


def test_killed_worker_session_resumes_on_another_worker(cluster: Cluster) -> None:
    w1 = cluster.worker("w1")
    task = cluster.long_task(epochs=25)
    sid = cluster.train(task)
    cluster.wait(sid, lambda s: s["status"] == "running" and len(s["history"]) >= 3, 180, "three epochs on w1")
    training = _children(w1)
    assert training, "the worker should have a training child"
    os.killpg(w1.pid, signal.SIGKILL)  # the worker; its child lives in its own session
    w1.wait(timeout=10)
    # The child dies with its worker (parent-death signal): nothing keeps training unsupervised.
    helpers.wait_for(
        lambda: not any(psutil.pid_exists(p) and psutil.Process(p).status() != "zombie" for p in training),
        15,
        "the orphaned training child to die",
    )
    lost_at = time.monotonic()
    cluster.worker("w2")
    final = cluster.wait_end(sid)
    assert final["status"] == "succeeded", (final["error"], cluster.worker_logs())
    assert final["worker"].startswith("w2@")
    assert epochs_of(final) == list(range(1, 26)), "history must be continuous, each epoch once"
    assert time.monotonic() - lost_at < 180
    log = cluster.api.get(f"/api/v1/sessions/{sid}/log").text
    assert "resuming from the checkpoint after epoch" in log


def test_session_lost_twice_ends_failed_worker_lost(cluster: Cluster) -> None:
    from server.services.background import Reconciler

    reconciler = Reconciler()  # what the API runs: it decides even when no worker is left
    reconciler.start()
    task = cluster.long_task(epochs=200)
    sid = cluster.train(task)
    for attempt in (1, 2):
        worker = cluster.worker(f"k{attempt}")
        cluster.wait(
            sid,
            lambda s, w=f"k{attempt}@": s["status"] == "running" and (s["worker"] or "").startswith(w),
            120,
            f"attempt {attempt} to run",
        )
        time.sleep(1)  # on purpose: the attempt trains a moment before its worker is killed
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    final = cluster.wait(sid, lambda s: s["status"] != "running" and s["status"] != "queued", 60, "the verdict")
    assert final["status"] == "failed"
    reconciler.stop()
    assert final["error"]["type"] == "worker_lost" and "was lost" in final["error"]["message"]


def test_sigterm_drains_and_another_worker_finishes(cluster: Cluster) -> None:
    w1 = cluster.worker("d1")
    task = cluster.long_task(epochs=20)
    sid = cluster.train(task)
    cluster.wait(sid, lambda s: s["status"] == "running" and len(s["history"]) >= 2, 180, "two epochs on d1")
    w1.send_signal(signal.SIGTERM)
    assert w1.wait(timeout=90) == 0, cluster.worker_logs()
    handed = cluster.session(sid)
    assert handed["status"] == "queued", handed
    done_before = len(handed["history"])
    cluster.worker("d2")
    final = cluster.wait_end(sid)
    assert final["status"] == "succeeded", (final["error"], cluster.worker_logs())
    assert final["worker"].startswith("d2@")
    assert epochs_of(final) == list(range(1, 21))
    log = cluster.api.get(f"/api/v1/sessions/{sid}/log").text
    assert "handing the session back" in log
    assert f"resuming from the checkpoint after epoch {done_before}" in log
    details = cluster.api.get(f"/api/v1/trained-models/{final['trained_model_id']}").json()
    assert [h["epoch"] for h in details["history"]] == list(range(1, 21))


def test_second_sigterm_stops_at_once(cluster: Cluster) -> None:
    w = cluster.worker("t1")
    task = cluster.long_task(epochs=200)
    sid = cluster.train(task)
    cluster.wait(sid, lambda s: s["status"] == "running" and len(s["history"]) >= 1, 180, "a running session")
    w.send_signal(signal.SIGTERM)
    time.sleep(0.3)  # the first SIGTERM's handler installs the second's; nothing outside shows when it has run
    started = time.monotonic()
    w.send_signal(signal.SIGTERM)
    w.wait(timeout=10)
    assert time.monotonic() - started < 5
