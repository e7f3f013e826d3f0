"""The model card in the Python client: `trained_model.get_card(format="md")` (GET /trained-models/{id}/card)."""

from __future__ import annotations

from typing import Any


class ModelCard:
    """What fitstudio.client.TrainedModel takes from here: its model card."""

    client: Any
    id: str

    def get_card(self, format: str = "html") -> str:
        """The model card as standalone HTML, or as Markdown with format="md"."""
        return self.client.request("GET", f"/trained-models/{self.id}/card", params={"format": format}).text
