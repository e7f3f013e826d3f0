"""Two real workers on one machine, on PostgreSQL + Redis: each queue's sessions go to the worker serving it."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests import helpers
from tests.conftest import Api, make_api


def ml_task(api: Api, dataset_id: int, use_gpu: bool) -> str:
    """A breast-cancer ML task (2 epochs) asking for a GPU or not; returns its id."""
    r = api.post("/api/v1/projects/MW/analyses", json={"dataset_id": dataset_id, "name": f"gpu={use_gpu}"})
    assert r.status_code == 201, r.text
    r = api.post(f"/api/v1/analyses/{r.json()['id']}/ml-tasks", json={"target": "diagnosis"})
    assert r.status_code == 201, r.text
    task = r.json()
    settings: dict[str, Any] = task["settings"]
    settings["training"].update(epochs=2, batch_size=32)
    settings["gpu"].update(use_gpu=use_gpu, gpu_list=[0])
    r = api.put(f"/api/v1/ml-tasks/{task['id']}/settings", json=settings)
    assert r.status_code == 200, r.text
    return str(task["id"])


def train(api: Api, task_id: str) -> dict[str, Any]:
    """Submit a training of TASK_ID."""
    r = api.post(f"/api/v1/ml-tasks/{task_id}/train", json={})
    assert r.status_code == 202, r.text
    return dict(r.json())


def wait_ended(api: Api, session_id: int, timeout: float = 240) -> dict[str, Any]:
    """Poll until the session ends."""

    def ended() -> dict[str, Any] | None:
        body = api.get(f"/api/v1/sessions/{session_id}").json()
        return body if body["status"] in ("succeeded", "failed", "aborted") else None

    return dict(helpers.wait_for(ended, timeout, f"session {session_id} to end", every=0.5))


def workers_by_prefix(api: Api) -> dict[str, dict[str, Any]]:
    """GET /api/v1/workers keyed by the name before '@'."""
    r = api.get("/api/v1/workers")
    assert r.status_code == 200, r.text
    return {w["name"].split("@")[0]: w for w in r.json()}


def age_s(stamp: str) -> float:
    """Seconds since an ISO timestamp (naive ones are UTC)."""
    when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return (datetime.now(UTC) - when).total_seconds()


def json_lines(path: Path) -> list[dict[str, Any]]:
    """The JSON log lines of a worker's output (Celery's banner is plain text)."""
    docs = []
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            docs.append(json.loads(line))
    return docs


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.timeout(420)
def test_gpu_and_cpu_sessions_go_to_their_own_workers(pg_redis_settings: Any, demo_csv: bytes, tmp_path: Path) -> None:
    api = make_api(pg_redis_settings)
    assert api.post("/api/v1/projects", json={"key": "MW", "name": "multi worker"}).status_code == 201
    r = api.upload_csv("MW", "bc", demo_csv)
    assert r.status_code == 201, r.text
    gpu_task, cpu_task = ml_task(api, r.json()["id"], True), ml_task(api, r.json()["id"], False)

    gpu_log, cpu_log = tmp_path / "gpu-w.log", tmp_path / "cpu-w.log"
    gpu_w = helpers.start_worker("gpu-w", queues="gpu", log=gpu_log, extra_env={"FITSTUDIO_LOG_FORMAT": "json"})
    cpu_w = helpers.start_worker("cpu-w", queues="cpu", log=cpu_log)
    logs = lambda: f"gpu-w:\n{gpu_log.read_text()[-2500:]}\ncpu-w:\n{cpu_log.read_text()[-2500:]}"  # noqa: E731

    def both_listed() -> dict[str, dict[str, Any]] | None:
        assert gpu_w.poll() is None and cpu_w.poll() is None, f"a worker exited\n{logs()}"
        seen = workers_by_prefix(api)
        return seen if {"gpu-w", "cpu-w"} <= set(seen) else None

    try:
        helpers.wait_for(both_listed, 120, "both workers to report ready")
        gpu_session, cpu_session = train(api, gpu_task), train(api, cpu_task)
        assert (gpu_session["queue"], cpu_session["queue"]) == ("gpu", "cpu")
        gpu_end, cpu_end = wait_ended(api, gpu_session["id"]), wait_ended(api, cpu_session["id"])
        assert gpu_end["status"] == "succeeded", (gpu_end["error"], logs())
        assert cpu_end["status"] == "succeeded", (cpu_end["error"], logs())
        assert gpu_end["worker"].startswith("gpu-w@") and gpu_end["queue"] == "gpu", logs()
        assert cpu_end["worker"].startswith("cpu-w@") and cpu_end["queue"] == "cpu", logs()

        seen = workers_by_prefix(api)
        assert seen["gpu-w"]["queues"] == ["gpu"] and seen["cpu-w"]["queues"] == ["cpu"]
        for name in ("gpu-w", "cpu-w"):
            assert seen[name]["stopped_at"] is None
            assert age_s(seen[name]["last_heartbeat"]) < 10, seen[name]

        # FITSTUDIO_LOG_FORMAT=json: the gpu worker's log lines are JSON, those of a training carry its session.
        docs = json_lines(gpu_log)
        assert docs and all({"time", "level", "logger", "message"} <= set(d) for d in docs)
        assert any(d.get("session_id") == gpu_session["id"] for d in docs), logs()

        helpers.stop_process(cpu_w)
        stopped = helpers.wait_for(lambda: workers_by_prefix(api)["cpu-w"]["stopped_at"], 30, "cpu-w marked stopped")
        assert stopped
        late = train(api, cpu_task)
        time.sleep(8)  # several heartbeats of the gpu worker: it must not take a cpu session
        body = api.get(f"/api/v1/sessions/{late['id']}").json()
        assert body["status"] == "queued" and body["worker"] is None, body
        assert gpu_w.poll() is None, logs()
        assert age_s(workers_by_prefix(api)["gpu-w"]["last_heartbeat"]) < 10
        metrics = api.client.get("/metrics").text
        assert 'fitstudio_queue_depth{queue="cpu"} 1.0' in metrics
        assert 'fitstudio_broker_queue_length{queue="cpu"} 1.0' in metrics
    finally:
        helpers.stop_process(cpu_w)
        helpers.stop_process(gpu_w)
