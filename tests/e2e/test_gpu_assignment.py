"""`fitstudio worker --gpus 0,1 --concurrency 2` gives each training its own GPU through CUDA_VISIBLE_DEVICES.

No GPU is needed: the children report the CUDA_VISIBLE_DEVICES they were given (TensorFlow then runs on the CPU).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests import helpers
from tests.conftest import make_api
from tests.e2e.test_training import wait_session

pytestmark = pytest.mark.slow

PROBE = """
import os
import time
from keras.layers import Input, Dense
from keras.models import Model


def build_model(input_shapes, n_classes=None):
    print("GPUS=" + os.environ.get("CUDA_VISIBLE_DEVICES", "unset"), flush=True)
    time.sleep(4)  # overlap with the other training, so both hold a GPU at once
    inp = Input(shape=input_shapes["main"], name="main")
    return Model(inputs=inp, outputs=Dense(n_classes, activation="softmax")(Dense(8)(inp)))


def compile_model(model):
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model
"""


def test_two_trainings_never_share_a_gpu(sqlite_settings: Any, tmp_path: Path) -> None:
    from server.services.bootstrap import demo_bytes

    api = make_api(sqlite_settings)
    worker = helpers.start_worker(
        "gpus", queues="gpu", args=["--gpus", "0,1", "--concurrency", "2"], log=tmp_path / "w.log"
    )
    try:
        assert api.post("/api/v1/projects", json={"key": "GPU"}).status_code == 201
        ds = api.upload_csv("GPU", "bc", demo_bytes("breast_cancer").getvalue()).json()["id"]
        analysis = api.post("/api/v1/projects/GPU/analyses", json={"dataset_id": ds}).json()["id"]
        sessions = []
        for _ in range(2):
            task = api.post(f"/api/v1/analyses/{analysis}/ml-tasks", json={"target": "diagnosis"}).json()
            settings = task["settings"]
            settings["training"]["epochs"] = 1
            settings["gpu"] = {"use_gpu": True, "gpu_list": [0], "allow_growth": True}  # both ask for GPU 0
            settings["code"]["architecture"] = PROBE
            assert api.put(f"/api/v1/ml-tasks/{task['id']}/settings", json=settings).status_code == 200
            sessions.append(api.post(f"/api/v1/ml-tasks/{task['id']}/train", json={}).json())
        assert all(s["queue"] == "gpu" for s in sessions)
        finals = [wait_session(api, s["id"]) for s in sessions]
        assert [f["status"] for f in finals] == ["succeeded", "succeeded"], [f["error"] for f in finals]
        seen = []
        for s in sessions:
            log = api.get(f"/api/v1/sessions/{s['id']}/log").text
            seen += re.findall(r"GPUS=(\S+)", log)
        assert sorted(seen) == ["0", "1"], seen
        workers = api.get("/api/v1/workers").json()
        assert workers[0]["gpus"] == [0, 1] and workers[0]["concurrency"] == 2
    finally:
        helpers.stop_process(worker)


# Refuses to build anywhere but on GPU 1: the training and the GPU job's sandboxed child must both be given it.
ON_GPU_1 = """
import os
from keras.layers import Input, Dense
from keras.models import Model


def build_model(input_shapes, n_classes=None):
    if os.environ.get("CUDA_VISIBLE_DEVICES") != "1":
        raise RuntimeError("not on GPU 1: CUDA_VISIBLE_DEVICES=" + os.environ.get("CUDA_VISIBLE_DEVICES", "unset"))
    inp = Input(shape=input_shapes["main"], name="main")
    return Model(inputs=inp, outputs=Dense(n_classes, activation="softmax")(Dense(8)(inp)))


def compile_model(model):
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model
"""


def test_a_job_that_asks_for_a_gpu_runs_its_model_on_one(sqlite_settings: Any, tmp_path: Path) -> None:
    from server.services.bootstrap import demo_bytes

    api = make_api(sqlite_settings)
    log = tmp_path / "w.log"
    worker = helpers.start_worker("gpujobs", queues="cpu,gpu", args=["--gpus", "1"], log=log)
    try:
        assert api.post("/api/v1/projects", json={"key": "GJ"}).status_code == 201
        ds = api.upload_csv("GJ", "bc", demo_bytes("breast_cancer").getvalue()).json()["id"]
        analysis = api.post("/api/v1/projects/GJ/analyses", json={"dataset_id": ds}).json()["id"]
        task = api.post(f"/api/v1/analyses/{analysis}/ml-tasks", json={"target": "diagnosis"}).json()
        settings = task["settings"]
        settings["training"]["epochs"] = 1
        settings["gpu"] = {"use_gpu": True, "gpu_list": [1], "allow_growth": True}
        settings["code"]["architecture"] = ON_GPU_1
        assert api.put(f"/api/v1/ml-tasks/{task['id']}/settings", json=settings).status_code == 200
        session = api.post(f"/api/v1/ml-tasks/{task['id']}/train", json={}).json()
        final = wait_session(api, session["id"])
        assert final["status"] == "succeeded", final["error"]
        deployed = api.post(
            f"/api/v1/trained-models/{final['trained_model_id']}/deploy", json={"saved_model_name": "g"}
        )
        saved = deployed.json()["saved_model_id"]

        def run(kind: str, use_gpu: bool) -> dict[str, Any]:
            r = api.post(f"/api/v1/saved-models/{saved}/{kind}", json={"dataset_id": ds, "use_gpu": use_gpu})
            assert r.status_code == 202, r.text
            assert r.json()["queue"] == ("gpu" if use_gpu else "cpu")

            def ended() -> dict[str, Any] | None:
                body = api.get(f"/api/v1/jobs/{r.json()['id']}").json()
                return body if body["status"] in ("succeeded", "failed", "aborted") else None

            return helpers.wait_for(ended, 240, f"the {kind} job to end", every=0.2)

        on_gpu = run("score", True)
        assert on_gpu["status"] == "succeeded", on_gpu["error"]  # the child ran the cell with GPU 1 visible
        assert on_gpu["progress"]["rows"] == 569
        evaluated = run("evaluate", True)
        assert evaluated["status"] == "succeeded", evaluated["error"]
        text = log.read_text(errors="replace")
        assert text.count("the model is served by a sandboxed child on GPU(s) [1]") == 2, text[-3000:]
        on_cpu = run("score", False)  # in the worker process: the cell does not run, no child
        assert on_cpu["status"] == "succeeded", on_cpu["error"]
        assert log.read_text(errors="replace").count("served by a sandboxed child") == 2
    finally:
        helpers.stop_process(worker)
