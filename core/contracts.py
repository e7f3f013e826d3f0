"""Typed contracts the API, the worker and the child exchange (stored as JSON in SQL and on the pipe).

Each contract turns into the JSON object it always was with `as_dict()` (same keys, same order) and back with
`from_dict()`, which ignores keys it does not know: a newer worker may add some before an older child reads them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Self


class JsonContract:
    """as_dict / from_dict for a dataclass of JSON values (nested contracts are converted by their owner)."""

    def as_dict(self) -> dict[str, Any]:
        """The JSON object: one key per field, in declaration order (shallow: values are not copied)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> Self:
        """The contract held by DOC (unknown keys ignored; missing ones take their defaults)."""
        names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        return cls(**{k: v for k, v in doc.items() if k in names})


@dataclass(frozen=True)
class ErrorInfo(JsonContract):
    """Why a training or a dry run failed, as the API shows it: {type, message, cell, line, traceback}."""

    type: str
    message: str
    cell: str | None = None
    line: int | None = None
    traceback: str | None = None


@dataclass(frozen=True)
class Design(JsonContract):
    """The frozen design of a training or a dry run: the validated settings and what they train on, for whom."""

    settings: dict[str, Any]
    target: str
    prediction_type: str
    analysis_id: str | None = None
    ml_task_id: str | None = None
    project_key: str | None = None
    dataset_id: int | None = None
    submitted_by: str | None = None

    @property
    def code(self) -> dict[str, str]:
        """The code cells' sources, by cell name."""
        return self.settings["code"]

    @property
    def training(self) -> dict[str, Any]:
        """The training settings (mode, epochs, batch size, early stopping …)."""
        return self.settings["training"]

    @property
    def metric(self) -> str:
        """The optimisation metric's name."""
        return self.settings["metric"]

    @property
    def seed(self) -> int:
        """The seed of the train/validation split (and of everything seeded after it)."""
        return self.settings["split"]["seed"]


@dataclass(frozen=True)
class DatasetRef(JsonContract):
    """Where the child reads the dataset: its parquet file and, for image datasets, the folder of its files."""

    parquet: str
    files_root: str | None = None
    kind: str | None = None
    columns: list[Any] | None = None


@dataclass(frozen=True)
class Limits(JsonContract):
    """The resource limits the child sets on itself (None: the default of worker/runtime/limits.py)."""

    cpu_time_s: int | None = None
    time_limit_s: int | None = None
    max_open_files: int | None = None
    max_processes: int | None = None
    max_file_mb: int | None = None
    nice: int | None = None
    stream_above_mb: int | None = None  # inputs larger than this are streamed (None: trainer.STREAM_ABOVE_MB)


@dataclass(frozen=True)
class Job(JsonContract):
    """What the worker hands the child (job.json): the design, where its data is and where its outputs go."""

    # Filled in after build_job by the worker; left out of the JSON while unset, as they always were.
    ADDED_LATER: ClassVar[tuple[str, ...]] = (
        "folders",
        "weights_dir",
        "sandbox_read_only",
        "sandbox_writable",
        "checkpoint_dir",
        "checkpoint_every_s",
        "isolation",
        "scoring",
    )

    session_id: int | None
    session_number: int | None
    dry_run: bool
    design: Design
    dataset: DatasetRef
    out_dir: str
    tensorboard_dir: str | None
    gpus: list[int]
    allow_growth: bool
    limits: Limits
    folders: list[dict[str, Any]] | None = None
    weights_dir: str | None = None
    sandbox_read_only: list[str] | None = None
    sandbox_writable: list[str] | None = None
    checkpoint_dir: str | None = None
    checkpoint_every_s: float | None = None
    isolation: str | None = None
    # Not a training: {kind: "score", model, inputs} scores these inputs, {kind: "export", model, format} exports.
    scoring: dict[str, str] | None = None

    def as_dict(self) -> dict[str, Any]:
        """The job.json object (nested contracts as objects; unset later fields left out)."""
        doc = super().as_dict()
        doc.update(design=self.design.as_dict(), dataset=self.dataset.as_dict(), limits=self.limits.as_dict())
        return {k: v for k, v in doc.items() if not (k in self.ADDED_LATER and v is None)}

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> Self:
        """The job of a job.json object."""
        nested = {
            "design": Design.from_dict(doc["design"]),
            "dataset": DatasetRef.from_dict(doc["dataset"]),
            "limits": Limits.from_dict(doc.get("limits") or {}),
        }
        return super().from_dict({**doc, **nested})


@dataclass(frozen=True)
class Result(JsonContract):
    """What the child reports at the end of a training (result.json); the model file lies next to it."""

    metrics: dict[str, Any]
    history: list[dict[str, Any]]
    best_epoch: int | None
    interrupted: bool
    input_shapes: dict[str, list[int]]
    n_classes: int
    class_labels: list[Any] | None
    preprocessing: dict[str, Any]
    output_width: int
    lineage: list[Any] | None
    evaluation: dict[str, Any] | None


@dataclass(frozen=True)
class DryRunResult(JsonContract):
    """What the child reports after a dry run (one small batch trained): the model's summary and shapes."""

    summary: str
    input_shapes: dict[str, list[int]]
    output_width: int
    loss: float | None
    params: int
