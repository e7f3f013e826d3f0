"""Request body of POST /saved-models/{id}/retrain."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class RetrainRequest(BaseModel):
    """The dataset to train the active version's design on again (its own when left out); whether to activate."""

    model_config = ConfigDict(extra="forbid")

    dataset_id: int | None = Field(None, strict=True)
    activate: bool = Field(False, strict=True)
