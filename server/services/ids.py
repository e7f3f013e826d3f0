"""Identifier formats of the spec: project keys, 8-char ids, trained model ids."""

from __future__ import annotations

import re
import secrets
import string

PROJECT_KEY_RE = re.compile(r"^[A-Z][A-Z0-9_]{1,31}\Z")
SHORT_ID_RE = re.compile(r"^[A-Za-z0-9]{8}\Z")
TRAINED_MODEL_RE = re.compile(
    r"^A-(?P<project>[A-Z][A-Z0-9_]{1,31})-(?P<analysis>[A-Za-z0-9]{8})-(?P<mltask>[A-Za-z0-9]{8})"
    r"-s(?P<session>[0-9]+)-pp1-m1\Z"
)
VERSION_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z")

_ALPHABET = string.ascii_letters + string.digits


MAX_SQL_INT = 2**63 - 1


def is_sql_int(value: int) -> bool:
    """True when VALUE fits a SQL BIGINT id (larger ints make the driver raise, which would be a 500)."""
    return -MAX_SQL_INT <= value <= MAX_SQL_INT


def short_id() -> str:
    """A random 8-character id for analyses and ML tasks."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(8))


def is_project_key(key: str) -> bool:
    """True when KEY is a valid project key (upper case, 2-32 chars)."""
    return bool(PROJECT_KEY_RE.match(key))


def trained_model_id(project_key: str, analysis_id: str, mltask_id: str, session_number: int) -> str:
    """The DSS-style trained model id A-<PROJECT>-<analysis>-<mltask>-s<N>-pp1-m1."""
    return f"A-{project_key}-{analysis_id}-{mltask_id}-s{session_number}-pp1-m1"


def parse_trained_model_id(tmid: str) -> dict[str, str] | None:
    """Split a trained model id into its parts, or None when it is not one."""
    m = TRAINED_MODEL_RE.match(tmid)
    return m.groupdict() if m else None


def parse_session_ref(ref: str | int) -> int:
    """Turn a session reference (3, "3" or "s3") into its number; ValueError otherwise."""
    if isinstance(ref, bool):
        raise ValueError(f"session reference {ref!r} is not a number or 's<N>'")
    if isinstance(ref, int):
        number = ref
    else:
        text = str(ref).strip()
        if text[:1] in ("s", "S"):
            text = text[1:]
        if not text.isdigit():
            raise ValueError(f"session reference {ref!r} is not a number or 's<N>'")
        number = int(text)
    if number < 1:
        raise ValueError(f"session reference {ref!r} must be 1 or more")
    return number
