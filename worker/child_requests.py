"""Answers to the training child's requests (it has no credentials; the worker checks the submitter's rights)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from server.settings import Settings
from worker.model_resolver import resolve


def answer(
    settings: Settings, design: dict[str, Any], request: dict[str, Any], grant_dir: Path | None = None
) -> dict[str, Any]:
    """Reply to one request of the child training DESIGN (a frozen design names its submitter).

    A model the submitter may read is granted: linked (or copied) into GRANT_DIR, a read-only folder of the
    training's scratch, since the sandbox shows nothing of the artifact store.
    """
    kind = request.get("kind")
    if kind == "model_location":
        reply = resolve(settings, design, request)
        if reply.get("ok") and grant_dir is not None:
            reply["path"] = str(grant(Path(reply["path"]), grant_dir))
        return reply
    return {"ok": False, "error": f"unknown request {kind!r}"}


def grant(model_file: Path, grant_dir: Path) -> Path:
    """MODEL_FILE made readable inside the sandbox: a hard link owned by the worker, or a copy."""
    grant_dir.mkdir(mode=0o755, exist_ok=True)
    target = grant_dir / f"{model_file.parent.name}-{model_file.name}"
    if target.exists():
        return target
    tmp = target.with_name(target.name + ".tmp")
    tmp.unlink(missing_ok=True)
    # A hard link shares the file itself: only when the worker owns it, so the sandbox's uid cannot write to it.
    try:
        if model_file.stat().st_uid != os.getuid():
            raise PermissionError("not ours")
        os.link(model_file, tmp)
    except OSError:
        shutil.copyfile(model_file, tmp)
    tmp.chmod(0o644)
    tmp.replace(target)
    return target
