"""The training child's isolation on a real worker: scrubbed environment, scratch cwd, own PID namespace,
wall-clock and memory limits; the worker survives them."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests import helpers
from tests.e2e.conftest import SECRET, Runtime
from worker import child_process

pytestmark = pytest.mark.slow

HEAD = """from keras.layers import Input, Dense
from keras.models import Model


def compile_model(model):
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model


def default_model(input_shapes, n_classes):
    main_input = Input(shape=input_shapes["main"], name="main")
    x = Dense(16, activation="relu")(main_input)
    return Model(inputs=main_input, outputs=Dense(n_classes, activation="softmax")(x))

"""

PROBE_ARCHITECTURE = (
    HEAD
    + f"""
import os

SECRET = {SECRET[::-1]!r}[::-1]  # spelled backwards, so the cell's own text never shows the secret


def build_model(input_shapes, n_classes=None):
    found = [k for k in os.environ if k.startswith("FITSTUDIO_")
             or any(word in k.upper() for word in ("DATABASE", "BROKER", "SECRET", "TOKEN"))]
    found += ["value of " + k for k, v in os.environ.items() if SECRET in v]
    if found:
        raise RuntimeError("service secrets reached user code: " + ", ".join(sorted(found)))
    if os.getpid() != 2 or os.getppid() != 1:  # pid 1 is bubblewrap's init
        raise RuntimeError("the training does not run alone in its own PID namespace")
    print("ENV-KEYS", sorted(os.environ), flush=True)
    print("CWD=" + os.getcwd(), flush=True)
    malloc = [k + "=" + v for k, v in sorted(os.environ.items()) if k.startswith("MALLOC_")]
    print("MALLOC=" + ",".join(malloc), flush=True)
    return default_model(input_shapes, n_classes)
"""
)

SPINNING_ARCHITECTURE = (
    HEAD
    + """
def build_model(input_shapes, n_classes=None):
    while True:
        pass
"""
)

MEMORY_HOG_ARCHITECTURE = (
    HEAD
    + """
import numpy


def build_model(input_shapes, n_classes=None):
    hog = numpy.ones(700_000_000)  # 5.6 GB, every page touched
    return default_model(input_shapes, n_classes + int(hog[-1]) - 1)
"""
)


def seconds_between(start: str, end: str) -> float:
    from datetime import datetime

    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


@pytest.fixture(scope="module")
def dataset(runtime: Runtime) -> int:
    from server.services.bootstrap import demo_bytes

    return runtime.dataset("bc", demo_bytes("breast_cancer").getvalue())


@pytest.fixture(scope="module")
def submitted(runtime: Runtime, dataset: int) -> dict[str, tuple[int, float]]:
    """This module's limit-testing trainings, submitted together (the worker runs two at a time, the memory hog
    after the first to end): name -> (session id, monotonic submit time)."""
    patches: dict[str, dict[str, Any]] = {
        "spin": {"training": {"time_limit_s": 10}, "code": {"architecture": SPINNING_ARCHITECTURE}},
        "probe": {"training": {"epochs": 1}, "code": {"architecture": PROBE_ARCHITECTURE}},
        "hog": {"code": {"architecture": MEMORY_HOG_ARCHITECTURE}},
    }
    tasks = {name: runtime.task(dataset, "diagnosis", patch=patch) for name, patch in patches.items()}
    # Time the sessions, not the worker's start: wait for its first heartbeat.
    helpers.wait_for(lambda: runtime.api.get("/api/v1/workers").json(), 120, "the worker to be ready", every=0.2)
    out = {}
    for name, task in tasks.items():
        out[name] = (runtime.train(task["id"])["id"], time.monotonic())
    return out


def test_time_limit_ends_a_cell_that_never_returns(runtime: Runtime, submitted: dict[str, Any]) -> None:
    session_id, submitted_at = submitted["spin"]
    final = runtime.wait(session_id, timeout=60)
    elapsed = time.monotonic() - submitted_at
    ran = seconds_between(final["started_at"], final["ended_at"])
    print(f"\ntime limit of 10 s: session ended {final['status']} {elapsed:.1f}s after submit ({ran:.1f}s running)")
    assert final["status"] == "failed", final
    assert final["error"]["type"] == "time_limit", final["error"]
    assert "10 s" in final["error"]["message"], final["error"]
    assert elapsed < 40, f"the time-limited session took {elapsed:.1f}s to end"
    assert 9 <= ran < 30, f"the time-limited session ran {ran:.1f}s"


def test_child_environment_holds_no_service_secret(runtime: Runtime, submitted: dict[str, Any]) -> None:
    session_id, _ = submitted["probe"]
    final = runtime.wait(session_id)
    assert final["status"] == "succeeded", (final["error"], runtime.log_tail())
    log = runtime.api.get(f"/api/v1/sessions/{session_id}/log").text
    assert "ENV-KEYS" in log, log[-3000:]
    assert SECRET not in log
    assert "FITSTUDIO_" not in log.split("ENV-KEYS", 1)[1].splitlines()[0]
    cwd = Path(next(line for line in log.splitlines() if line.startswith("CWD=")).removeprefix("CWD="))
    scratch = (runtime.home / "scratch").resolve()
    assert cwd.is_relative_to(scratch) and cwd != scratch, (cwd, scratch)
    # The scratch directory is gone once the session ended.
    assert not cwd.exists()
    # glibc's malloc tuned as FITSTUDIO_TRAINING_MALLOC_TUNING says (on by default), inside the sandbox too.
    tuning = ",".join(f"{k}={v}" for k, v in sorted(child_process.MALLOC_TUNING.items()))
    assert "MALLOC=" + tuning in log.splitlines(), log[-3000:]


def test_memory_limit_ends_a_memory_hog(runtime: Runtime, submitted: dict[str, Any]) -> None:
    session_id, _ = submitted["hog"]
    final = runtime.wait(session_id, timeout=120)
    assert final["status"] == "failed", final
    assert final["error"]["type"] == "memory_limit", final["error"]
    assert "3000 MB" in final["error"]["message"], final["error"]


def test_worker_still_trains_after_the_limits(runtime: Runtime, dataset: int, submitted: dict[str, Any]) -> None:
    for session_id, _ in submitted.values():
        runtime.wait(session_id)
    task = runtime.task(dataset, "diagnosis", patch={"training": {"epochs": 1}})
    final = runtime.train_and_wait(task["id"])
    assert final["status"] == "succeeded", (final["error"], runtime.log_tail())
    assert final["trained_model_id"]
    sessions = runtime.api.get(f"/api/v1/ml-tasks/{task['id']}/sessions").json()
    assert [s["status"] for s in sessions] == ["succeeded"]
