"""A drained advanced-mode session resumes exactly when its fit_model takes initial_epoch, and starts over when it
does not (docs/reliability.md, "The full state"). PostgreSQL + Redis, real worker processes."""

from __future__ import annotations

import signal

import pytest

from tests.reliability.conftest import Cluster, epochs_of

EPOCHS = 20

RESUMABLE = f"""
def build_sequences(build_train_sequence_with_batch_size, build_validation_sequence_with_batch_size):
    return build_train_sequence_with_batch_size(8), build_validation_sequence_with_batch_size(64)


def fit_model(model, train_sequence, validation_sequence, base_callbacks, initial_epoch=0):
    model.fit(train_sequence, epochs={EPOCHS}, initial_epoch=initial_epoch, callbacks=base_callbacks)
"""

DSS_STYLE = RESUMABLE.replace(", initial_epoch=0)", ")").replace("initial_epoch=initial_epoch, ", "")


def _advanced_task(cluster: Cluster, code: str) -> str:
    task_id = cluster.long_task(epochs=EPOCHS)
    settings = cluster.api.get(f"/api/v1/ml-tasks/{task_id}/settings").json()
    settings["training"]["mode"] = "advanced"
    settings["code"]["training"] = code
    assert cluster.api.put(f"/api/v1/ml-tasks/{task_id}/settings", json=settings).status_code == 200
    return task_id


def _drain_after_two_epochs(cluster: Cluster, code: str, name: str) -> tuple[dict[str, object], int, str]:
    first = cluster.worker(f"{name}1")
    sid = cluster.train(_advanced_task(cluster, code))
    cluster.wait(sid, lambda s: s["status"] == "running" and len(s["history"]) >= 2, 180, "two epochs")
    first.send_signal(signal.SIGTERM)
    assert first.wait(timeout=90) == 0, cluster.worker_logs()
    done_before = len(cluster.session(sid)["history"])
    cluster.worker(f"{name}2")
    final = cluster.wait_end(sid)
    assert final["status"] == "succeeded", (final["error"], cluster.worker_logs())
    return final, done_before, cluster.api.get(f"/api/v1/sessions/{sid}/log").text


@pytest.mark.slow
def test_an_advanced_fit_model_that_takes_initial_epoch_resumes_with_its_full_state(cluster: Cluster) -> None:
    final, done_before, log = _drain_after_two_epochs(cluster, RESUMABLE, "ar")
    assert f"resuming from the checkpoint after epoch {done_before}: weights, optimizer state" in log
    assert epochs_of(final) == list(range(1, EPOCHS + 1))  # each epoch once: the rest, not 20 more


@pytest.mark.slow
def test_an_advanced_fit_model_without_initial_epoch_starts_over(cluster: Cluster) -> None:
    final, _, log = _drain_after_two_epochs(cluster, DSS_STYLE, "as")
    assert "advanced mode cannot resume" in log and "resuming from the checkpoint" not in log
    assert epochs_of(final) == list(range(1, EPOCHS + 1))  # its history was cleared: counted from 1 again
