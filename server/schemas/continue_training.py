"""Request body of POST /sessions/{id}/continue."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

MAX_EPOCHS = 100_000  # the design's own bound on training.epochs (server/schemas/settings.py)


class ContinueRequest(BaseModel):
    """How many more epochs to train from the session's final state."""

    model_config = ConfigDict(extra="forbid")

    epochs: int = Field(ge=1, le=MAX_EPOCHS, strict=True)
