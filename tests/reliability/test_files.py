"""Crash-safe files: a model file is never visible half-written; orphaned temporary files are cleaned."""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from server.services import storage
from tests import helpers
from tests.conftest import make_api

BIG_MODEL = """
from keras.layers import Input, Dense
from keras.models import Model


def build_model(input_shapes, n_classes=None):
    x = inp = Input(shape=input_shapes["main"], name="main")
    for _ in range(4):
        x = Dense(1600, activation="relu")(x)
    return Model(inputs=inp, outputs=Dense(n_classes, activation="softmax")(x))


def compile_model(model):
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model
"""


def test_atomic_move_across_filesystems_never_exposes_a_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "src.keras"
    src.write_bytes(b"x" * 100_000)
    dst = tmp_path / "store" / "model.keras"

    def cross_device(_a: object, _b: object) -> None:
        raise OSError(18, "Invalid cross-device link")

    def crash_midway(a: Path, b: Path) -> None:
        Path(b).write_bytes(Path(a).read_bytes()[:1000])
        raise OSError("disk went away")

    monkeypatch.setattr(
        os, "replace", lambda a, b, _real=os.replace: cross_device(a, b) if Path(a) == src else _real(a, b)
    )
    monkeypatch.setattr(shutil, "copyfile", crash_midway)
    with pytest.raises(OSError):
        storage.atomic_move(src, dst)
    assert not dst.exists()


def test_orphans_are_removed_and_live_files_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import configure
    from worker.reconciler import clean_orphans

    settings = configure(monkeypatch, tmp_path / "home", orphan_max_age_s="60")
    old = time.time() - 3600
    stale_scratch = settings.scratch_root / "s1-l1"
    live_scratch = settings.scratch_root / "s2-l1"
    fresh_scratch = settings.scratch_root / "s3-l1"
    for folder in (stale_scratch, live_scratch, fresh_scratch):
        folder.mkdir(parents=True)
    stale_tmp = settings.artifacts / "projects" / "P" / "trained" / "x" / ".model.keras.abc.tmp"
    stale_tmp.parent.mkdir(parents=True)
    stale_tmp.write_bytes(b"half")
    model = stale_tmp.parent / "model.keras"
    model.write_bytes(b"whole")
    for path in (stale_scratch, live_scratch, stale_tmp, model):
        os.utime(path, (old, old))
    removed = clean_orphans(settings, active_scratch={"s2-l1"})
    assert not stale_scratch.exists() and not stale_tmp.exists()
    assert live_scratch.exists() and fresh_scratch.exists() and model.exists()
    assert set(removed) == {str(stale_scratch), str(stale_tmp)}


@pytest.mark.slow
def test_child_killed_while_saving_leaves_no_model(sqlite_settings: Any, tmp_path: Path) -> None:
    from tests.e2e.test_training import train_demo

    api = make_api(sqlite_settings)
    worker = helpers.start_worker("saver", queues="cpu", log=tmp_path / "w.log")
    try:
        task_id, session = train_demo(
            api, epochs=1, settings_patch={"code": {"architecture": BIG_MODEL, "training": "", "custom_score": ""}}
        )
        scratch = sqlite_settings.scratch_root

        def saving() -> list[Path]:
            return list(scratch.glob("*.out/model.tmp.keras"))  # worker/workspace.py: <scratch>.out/

        helpers.wait_for(saving, 240, "the child to start saving its model", every=0.002)
        for child in psutil.Process(worker.pid).children(recursive=True):
            try:  # the training's own Python, not bubblewrap or setpriv (their command lines name it too)
                command = child.cmdline()
            except psutil.Error:  # ended meanwhile
                continue
            if command and "python" in Path(command[0]).name and "worker.runtime.child" in command:
                os.kill(child.pid, signal.SIGKILL)
        final = helpers.wait_for(
            lambda: (
                (b := api.get(f"/api/v1/sessions/{session['id']}").json())["status"] in ("failed", "succeeded") and b
            ),
            60,
            "the session to end",
        )
        assert final["status"] == "failed" and final["trained_model_id"] is None
        assert final["error"]["type"] == "process_died"
        assert api.get(f"/api/v1/ml-tasks/{task_id}/trained-models").json() == []
        trained = sqlite_settings.artifacts / "projects" / "E2E" / "trained"
        assert not list(trained.rglob("*.keras")) if trained.exists() else True
    finally:
        helpers.stop_process(worker)
