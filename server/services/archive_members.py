"""Which of an archive's tables a person means: the one the upload's `member` field names (its path, or its name
when unique), and never a submission template unasked (Kaggle's `sample_submission.csv`: the answers' form, not
data)."""

from __future__ import annotations

from pathlib import PurePosixPath


def wanted(value: str | None) -> str:
    """The `member` field's VALUE as an entry's path is written (Windows' backslashes as folder separators)."""
    return (value or "").strip().replace("\\", "/")


def named(tables: list[PurePosixPath], wanted: str) -> list[PurePosixPath]:
    """The TABLES WANTED names: by path, or else by file name."""
    return [p for p in tables if str(p) == wanted] or [p for p in tables if p.name == wanted]


def is_template(path: PurePosixPath) -> bool:
    """True for a submission template (`sample_submission.csv`, `gender_submission.csv`, `sampleSubmission.csv`)."""
    return "submission" in path.stem.lower()
