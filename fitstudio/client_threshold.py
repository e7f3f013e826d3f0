"""A binary model's decision threshold in the Python client (GET/PUT /trained-models/{id}/threshold)."""

from __future__ import annotations

from typing import Any

from fitstudio.client_card import ModelCard


class DecisionThreshold:
    """What fitstudio.client.TrainedModel takes from here: its decision threshold (binary models only)."""

    client: Any
    id: str

    def get_threshold(self) -> dict[str, Any]:
        """{threshold, default, f1_optimal}: the threshold /predict uses, 0.5, and the F1-optimal one (or None)."""
        return self.client.json("GET", f"/trained-models/{self.id}/threshold")

    def set_threshold(self, threshold: float) -> dict[str, Any]:
        """Choose the threshold (0 to 1) that /predict and versions deployed later use; answers as get_threshold."""
        return self.client.json("PUT", f"/trained-models/{self.id}/threshold", json={"threshold": threshold})


class TrainedModelExtras(ModelCard, DecisionThreshold):
    """The methods fitstudio.client.TrainedModel takes from its mixin modules (client.py is at its size limit)."""
