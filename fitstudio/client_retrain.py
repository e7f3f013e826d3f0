"""Retrain in the Python client: `saved_model.retrain(dataset_id, activate)` (POST /saved-models/{id}/retrain)."""

from __future__ import annotations

from typing import Any

from fitstudio.client_jobs import SavedModelJobs


class SavedModelTools(SavedModelJobs):
    """What fitstudio.client.SavedModel takes from here: `retrain`, and the jobs' `score`, `evaluate`, `evaluations`."""

    def retrain(self, dataset_id: int | None = None, activate: bool = False) -> Any:
        """Train the active version's design again as a new session, on DATASET_ID (a dataset of this project with
        the same columns) or the version's own dataset; when it succeeds it becomes a new version (activated when
        ACTIVATE) whose `retrained_from` names the version it retrained. Returns the session (`wait()` on it);
        InvalidRequest (422) names the columns the dataset lacks, Conflict (409) for an imported version."""
        from fitstudio.client_continue import Session  # it imports fitstudio.client, which imports this module

        body: dict[str, Any] = {"activate": activate}
        if dataset_id is not None:
            body["dataset_id"] = dataset_id
        return Session(self.client, self.client.json("POST", f"/saved-models/{self.id}/retrain", json=body)["id"])
