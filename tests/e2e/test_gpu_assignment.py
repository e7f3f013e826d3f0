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
