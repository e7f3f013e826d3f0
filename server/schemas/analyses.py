"""Response bodies of analyses."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class AnalysisOut(BaseModel):
    """An analysis: a workbench on one dataset of a project."""

    id: str
    name: str
    dataset_id: int
    project_key: str
    created_at: datetime
