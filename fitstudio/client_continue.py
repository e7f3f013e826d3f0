"""A training session in the Python client, and "train N more epochs" from it (POST /sessions/{id}/continue)."""

from __future__ import annotations

from typing import Any

from fitstudio.client import Client, MLTask


class Session:
    """A handle on one training session: `Session(client, session_id)`."""

    def __init__(self, client: Client, session_id: int):
        self.client = client
        self.id = int(session_id)

    def get_details(self) -> dict[str, Any]:
        """Status, progress, history, error, and the session it continued (`continued_from`)."""
        return self.client.json("GET", f"/sessions/{self.id}")

    def continue_training(self, epochs: int) -> Session:
        """Queue a new session that trains EPOCHS more epochs from this one's final state (weights, optimizer
        state, epoch counter, best epoch, early stopping); Conflict unless this session succeeded."""
        started = self.client.json("POST", f"/sessions/{self.id}/continue", json={"epochs": epochs})
        return Session(self.client, started["id"])

    def wait(self, timeout: float = 3600, poll: float = 1.0) -> dict[str, Any]:
        """Wait for the session to end; TrainingFailed if it fails or is aborted."""
        task = MLTask(self.client, self.get_details()["ml_task_id"])
        return task.wait_train_complete(self.id, timeout=timeout, poll=poll)
