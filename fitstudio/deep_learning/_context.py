"""The running training's context, set by the training runtime before user code runs."""

from __future__ import annotations

from typing import Any

variables: dict[str, Any] = {}
channel: Any = None
current: dict[str, Any] = {}
loaded_models: list[dict[str, Any]] = []
folders: list[dict[str, Any]] = []  # the managed folders this training may read: [{id, name, project_key, path}]
