"""Sandboxed scoring and export in the worker: a model that needs its training's code, used in a child.

The API left the request in an exchange folder of the artifact store (server/services/sandboxed_scoring.py); the
child runs in the training's sandbox with the training's limits, executes the frozen code cells (they define and
register the custom objects), loads the model and predicts or exports it (worker/runtime/scorer.py). The reply (and
the output or the exported file) goes back there.
"""

from __future__ import annotations

import json
import logging
import os
import traceback
from pathlib import Path
from typing import Any

from core.contracts import DatasetRef, Design, ErrorInfo, Job, Limits
from server.services import sandboxed_scoring as exchange
from server.settings import Settings, get_settings
from worker import child_files, child_requests, readable_folders
from worker.runner import child_error, run_in_child
from worker.runtime.scorer import EXPORTED, OUTPUT
from worker.supervisor import Outcome, Sink
from worker.workspace import Workspace

log = logging.getLogger(__name__)
MIN_TIME_LIMIT_S = 30


def _claim(folder: Path) -> dict[str, Any] | None:
    """The request, once this worker alone has claimed it; None when the API gave up or another worker has it."""
    try:
        os.close(os.open(folder / exchange.CLAIM, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        request = json.loads((folder / exchange.REQUEST).read_text())
    except (OSError, ValueError):
        return None
    return request if isinstance(request, dict) else None


def scoring_job(
    settings: Settings,
    design: dict[str, Any],
    workspace: Workspace,
    scoring: dict[str, str],
    time_limit_s: int | None = None,
) -> dict[str, Any]:
    """The child's job: DESIGN's cells and limits, no dataset, SCORING's model (and inputs) granted read-only;
    TIME_LIMIT_S, or no longer than the API waits for a reply (FITSTUDIO_SCORING_WAIT_S) nor than the training
    might."""
    limit = time_limit_s or min(
        int(design["settings"]["training"]["time_limit_s"]), max(MIN_TIME_LIMIT_S, int(settings.scoring_wait_s))
    )
    job = Job(
        session_id=None,
        session_number=None,
        dry_run=False,
        design=Design.from_dict(design),
        dataset=DatasetRef(parquet=""),
        out_dir=str(workspace.out),
        tensorboard_dir=None,
        gpus=[],
        allow_growth=True,
        limits=Limits(
            cpu_time_s=settings.training_cpu_time_s,
            time_limit_s=limit,
            max_open_files=settings.training_max_open_files,
            max_processes=settings.training_max_processes,
            max_file_mb=settings.training_max_file_mb,
            nice=settings.training_nice,
        ),
    ).as_dict()
    readable_folders.add_to_job(settings, design, job)  # a cell may name a managed folder at its top level
    job["scoring"] = scoring
    return job


def _grant(folder: Path, request: dict[str, Any], granted: Path) -> dict[str, str]:
    """The child's `scoring` spec of REQUEST: what to do, with the files it reads granted into GRANTED."""
    model = str(child_requests.grant(Path(request["model"]), granted))
    if request.get("kind") == exchange.EXPORT:
        return {"kind": exchange.EXPORT, "model": model, "format": str(request["format"])}
    inputs = child_requests.grant(folder / exchange.INPUTS, granted)
    return {"kind": exchange.SCORE, "model": model, "inputs": str(inputs)}


def _reply(workspace: Workspace, outcome: Outcome, folder: Path, kind: str) -> dict[str, Any]:
    """What the API reads: ok (the output or export copied next to the reply), or the error and where it happened."""
    made, given = (EXPORTED, exchange.EXPORTED) if kind == exchange.EXPORT else (OUTPUT, exchange.OUTPUT)
    if outcome.killed_for is None and outcome.returncode == 0:
        if folder.is_dir() and child_files.take_file(workspace.out / made, folder / given):
            return {"ok": True}
    doc = child_files.read_json(workspace.out / "error.json", limit=1 << 20)
    stage = doc.get("stage") if isinstance(doc, dict) and outcome.killed_for is None else None
    error = child_error(workspace.out, outcome).as_dict()
    return {"ok": False, "stage": stage, "killed_for": outcome.killed_for, "error": error}


def run_scoring(token: str) -> str:
    """Score or export the request TOKEN if the API still waits for it and no other worker took it."""
    settings = get_settings()
    try:
        folder = exchange.exchange(settings, str(token))
    except ValueError:
        return "skipped"
    request = _claim(folder)
    if request is None:
        return "skipped"
    design = request["design"]
    workspace = Workspace(settings.scratch_root / f"score-{token[:16]}")
    try:
        workspace.create()
        spec = _grant(folder, request, workspace.granted)
        job = scoring_job(settings, design, workspace, spec)
        outcome = run_in_child(
            settings,
            workspace.scratch,
            job,
            [],
            Sink(),
            workspace.log,
            lambda req: child_requests.answer(settings, design, req, workspace.granted),
            lambda: False,
            cpu_role="scoring",  # a person waits for it: above the trainings (core/cpu_cgroups.py)
        )
        reply = _reply(workspace, outcome, folder, spec["kind"])
    except Exception as exc:
        log.exception("scoring %s failed in the worker", token)
        error = ErrorInfo(type(exc).__name__, str(exc)[:2000], traceback=traceback.format_exc()[-3000:])
        reply = {"ok": False, "stage": None, "killed_for": None, "error": error.as_dict()}
    finally:
        workspace.remove()
    try:
        tmp = folder / f"{exchange.REPLY}.tmp"
        tmp.write_text(json.dumps(reply))
        tmp.replace(folder / exchange.REPLY)
    except OSError:  # the API stopped waiting and removed the folder
        return "abandoned"
    return "done" if reply["ok"] else "failed"
