"""The frozen design: an ML task's validated settings, fixed for one training session or one dry run."""

from __future__ import annotations

import copy
from typing import Any

from core.contracts import Design
from server.models import MLTask, User


def frozen_design(task: MLTask, user: User, settings: dict[str, Any]) -> Design:
    """TASK's validated SETTINGS, copied so later edits of the task leave it alone, with what it trains on for USER."""
    return Design(
        settings=copy.deepcopy(settings),
        target=task.target,
        prediction_type=task.prediction_type,
        analysis_id=task.analysis_id,
        ml_task_id=task.id,
        project_key=task.analysis.project.key,
        dataset_id=task.analysis.dataset_id,
        submitted_by=user.username,
    )
