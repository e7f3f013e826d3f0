"""SQL tables (SQLAlchemy 2); import from here so every table is registered on the metadata."""

from server.models.accounts import ApiToken, User
from server.models.base import Base, utcnow
from server.models.folders import ManagedFolder
from server.models.jobs import Evaluation, Job
from server.models.ops import AuditEvent, WorkerRecord
from server.models.projects import Analysis, Dataset, MLTask, Project, ProjectMember
from server.models.registry import SavedModel, SavedModelVersion
from server.models.training import DryRun, TrainedModel, TrainingSession

__all__ = [
    "Analysis",
    "ApiToken",
    "AuditEvent",
    "Base",
    "Dataset",
    "DryRun",
    "Evaluation",
    "Job",
    "MLTask",
    "ManagedFolder",
    "Project",
    "ProjectMember",
    "SavedModel",
    "SavedModelVersion",
    "TrainedModel",
    "TrainingSession",
    "User",
    "WorkerRecord",
    "utcnow",
]
