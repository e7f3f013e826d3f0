"""Session lists at scale (issue 23): `GET /ml-tasks/{id}/sessions` and the results page at 100, 1,000 and
10,000 sessions, the current code side by side with the old one (every row loaded with its design and history).

    .venv/bin/python bench/session_lists.py [--quick] [--sizes 100,1000,10000] [--repeats 5] [--limit 50]

In process, on a throw-away FITSTUDIO_HOME (SQLite): the project, dataset, analysis and ML task are made through
the API, one session is submitted through it (its frozen design is the real one), and the others are copies of
that session written straight into SQL (submitting 10,000 through the service would take minutes and measure
nothing more): 90 % succeeded with a trained model, 5 % failed with a traceback, 5 % aborted; each history has
EPOCHS epochs of 9 logs (about 6 kB as JSON, the size the issue measured). The ML task grows from one size to
the next. Requests go through a TestClient (the whole app, cookies and bearer tokens, no network), interleaved:
new and old alternate within each repeat. "old" routes are the pre-issue-23 code, kept here: every session row
loaded whole, paged in memory, validated against SessionOut; the results page with every session's row.
Target: the first page of the list and the results page <= 50 ms at 10,000 sessions.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastapi import APIRouter, Request, Response  # noqa: E402
from fastapi.responses import HTMLResponse  # noqa: E402

from bench.common import median, show, write_result  # noqa: E402
from server.api.deps import CurrentUser, DbDep  # noqa: E402
from server.api.pagination import PageDep, paginate  # noqa: E402
from server.schemas.sessions import SessionOut  # noqa: E402
from server.services import access, results, sessions, trained_models  # noqa: E402
from webui import session_view  # noqa: E402
from webui.web import PageUser, render  # noqa: E402

EPOCHS = 20
LOGS = ("loss", "accuracy", "auc", "precision")
TARGET_S = 0.05


def history(rng: random.Random, n: int) -> list[dict[str, Any]]:
    """N epochs of realistic logs (full-precision floats, as Keras writes them)."""
    rows = []
    for epoch in range(1, n + 1):
        logs: dict[str, Any] = {"epoch": epoch}
        for name in LOGS:
            logs[name] = rng.random()
            logs[f"val_{name}"] = rng.random()
        logs["Test ROC AUC"] = rng.random()
        rows.append(logs)
    return rows


def old_router() -> Any:
    """The routes as they were before issue 23, under /bench-old (API) and /bench-old-page (results page)."""
    api = APIRouter()

    @api.get("/bench-old/ml-tasks/{mltask_id}/sessions", response_model=list[SessionOut])
    def old_list(
        mltask_id: str, request: Request, response: Response, db: DbDep, user: CurrentUser, page: PageDep
    ) -> list[dict[str, Any]]:
        task = access.ml_task(db, user, mltask_id)
        rows = paginate(request, response, sessions.of_task(db, task), page, lambda s: (s.number,), descending=True)
        return [sessions.as_dict(s) for s in rows]

    @api.get("/bench-old-page/ml-tasks/{mltask_id}", response_class=HTMLResponse)
    def old_page(mltask_id: str, request: Request, db: DbDep, user: PageUser) -> Response:
        task = access.ml_task(db, user, mltask_id)
        metrics = trained_models.metrics_of_task(db, task)
        entries = []
        for row in sessions.of_task(db, task):
            design = row.design or {}
            metric = design.get("settings", {}).get("metric", "")
            value = results.metric_value(row, trained_models.test_key(metric), metrics.get(row.trained_model_id or ""))
            submitter = design.get("submitted_by", "—")
            entries.append(
                {
                    "row": row,
                    "metric": metric,
                    "value": value,
                    "duration": results.duration(row),
                    "submitter": submitter,
                }
            )
        selected = entries[0] if entries else None
        context = {
            "project": task.analysis.project,
            "analysis": task.analysis,
            "task": task,
            "entries": entries,
            "selected": selected,
            "detail": session_view.extend(results.detail(selected["row"]), selected["row"]) if selected else None,
            "can_write": access.rights(db, user, task.analysis.project).can_write,
        }
        return render(request, "results.html", context)

    return api


def setup(home: Path) -> dict[str, Any]:
    """A migrated HOME, user owner (token and logged-in cookie clients) and ML task with one submitted session."""
    from fastapi.testclient import TestClient

    from server.db import session_scope
    from server.services import auth
    from server.services.bootstrap import demo_bytes, migrate
    from server.settings import get_settings
    from webui.app import create_app

    os.environ["FITSTUDIO_HOME"] = str(home)
    os.environ["FITSTUDIO_ALLOWED_HOSTS"] = "127.0.0.1,localhost,testserver"
    get_settings.cache_clear()
    settings = get_settings()
    settings.ensure_dirs()
    migrate(settings)
    with session_scope() as db:
        owner = auth.create_user(db, "owner", password="owner-pw")
        token = auth.create_token(db, owner, "bench")
    app = create_app()
    app.router.routes[:0] = old_router().routes  # before any catch-all of the web UI
    api = TestClient(app, headers={"Authorization": f"Bearer {token}"})
    web = TestClient(app, headers={"accept": "text/html"})
    assert web.post("/login", data={"username": "owner", "password": "owner-pw"}, follow_redirects=False).is_redirect

    def ok(r: Any, status: int) -> Any:
        assert r.status_code == status, (r.status_code, r.text[:500])
        return r.json()

    ok(api.post("/api/v1/projects", json={"key": "BENCH"}), 201)
    files = {"file": ("cancer.csv", demo_bytes("breast_cancer").getvalue(), "text/csv")}
    dataset = ok(api.post("/api/v1/projects/BENCH/datasets", data={"name": "cancer"}, files=files), 201)
    analysis = ok(api.post("/api/v1/projects/BENCH/analyses", json={"dataset_id": dataset["id"], "name": "a"}), 201)
    task = ok(api.post(f"/api/v1/analyses/{analysis['id']}/ml-tasks", json={"target": "diagnosis"}), 201)
    first = ok(api.post(f"/api/v1/ml-tasks/{task['id']}/train", json={}), 202)
    return {"api": api, "web": web, "task": task["id"], "first": first["id"], "count": 1}


def grow(world: dict[str, Any], n: int, rng: random.Random) -> None:
    """Copy the submitted session until the ML task has N sessions (see the module's docstring for the mix)."""
    from sqlalchemy import insert, select, update

    from server.db import session_scope
    from server.models import MLTask, TrainedModel, TrainingSession
    from server.models.base import utcnow

    with session_scope() as db:
        model = db.get(TrainingSession, world["first"])
        assert model is not None
        design, task = model.design, model.ml_task
        project_id = task.analysis.project_id
        now = utcnow()
        sessions, models = [], []
        for number in range(world["count"] + 1, n + 1):
            kind = rng.random()
            status = "succeeded" if kind < 0.9 else ("failed" if kind < 0.95 else "aborted")
            model_id = f"{task.id}-s{number}" if status == "succeeded" else None
            logs = history(rng, EPOCHS)
            error = None
            if status == "failed":
                error = {"type": "ValueError", "message": "bad shape", "cell": "architecture", "line": 3}
                error["traceback"] = "Traceback (most recent call last):\n" + '  File "x.py", line 1\n' * 30
            sessions.append(
                {
                    "ml_task_id": task.id,
                    "number": number,
                    "status": status,
                    "submitted_by": model.submitted_by,
                    "design": design,
                    "queue": "cpu",
                    "queued_at": now,
                    "started_at": now,
                    "ended_at": now,
                    "worker": "bench@host",
                    "progress": {"epoch": EPOCHS, "epochs": EPOCHS, "batch": 10, "batches": 10},
                    "history": logs,
                    "error": error,
                    "trained_model_id": model_id,
                }
            )
            if model_id:
                models.append(
                    {
                        "number": number,
                        "id": model_id,
                        "project_id": project_id,
                        "analysis_id": task.analysis_id,
                        "ml_task_id": task.id,
                        "prediction_type": "binary",
                        "metric": "ROC AUC",
                        "best_epoch": EPOCHS,
                        "metrics": {k: v for k, v in logs[-1].items() if k != "epoch"},
                        "history": logs,
                        "input_shapes": {"main": [30]},
                        "n_classes": 2,
                        "class_labels": ["B", "M"],
                        "preprocessing": {},
                        "path": "",
                    }
                )
        for start in range(0, len(sessions), 1000):
            db.execute(insert(TrainingSession), sessions[start : start + 1000])
        made = select(TrainingSession.number, TrainingSession.id).where(
            TrainingSession.ml_task_id == task.id, TrainingSession.number > world["count"]
        )
        ids = {number: i for number, i in db.execute(made).all()}
        models = [{**m, "session_id": ids[m.pop("number")]} for m in models]
        for start in range(0, len(models), 1000):
            db.execute(insert(TrainedModel), models[start : start + 1000])
        db.execute(update(MLTask).where(MLTask.id == task.id).values(next_session_number=n + 1))
    world["count"] = n


def measure(world: dict[str, Any], limit: int, repeats: int, whole: bool) -> dict[str, Any]:
    """Median (and least) seconds and answer bytes of each request, new and old interleaved within each repeat."""
    task = world["task"]
    cases = {
        "list_first_page": (world["api"], f"/api/v1/ml-tasks/{task}/sessions?limit={limit}"),
        "list_first_page_old": (world["api"], f"/bench-old/ml-tasks/{task}/sessions?limit={limit}"),
        "results_page": (world["web"], f"/ml-tasks/{task}"),
        "results_page_old": (world["web"], f"/bench-old-page/ml-tasks/{task}"),
    }
    if whole:
        cases["list_whole"] = (world["api"], f"/api/v1/ml-tasks/{task}/sessions")
        cases["list_whole_old"] = (world["api"], f"/bench-old/ml-tasks/{task}/sessions")
    times: dict[str, list[float]] = {name: [] for name in cases}
    sizes: dict[str, int] = {}
    for name, (client, path) in cases.items():  # one warm-up each (template compilation, statement caches)
        r = client.get(path)
        assert r.status_code == 200, (name, path, r.status_code, r.text[:300])
    for _ in range(repeats):
        for name, (client, path) in cases.items():
            t0 = time.perf_counter()
            r = client.get(path)
            times[name].append(time.perf_counter() - t0)
            assert r.status_code == 200, (name, r.status_code, r.text[:300])
            sizes[name] = len(r.content)
    out: dict[str, Any] = {}
    for name in cases:
        out[f"{name}_s"] = median(times[name])
        out[f"{name}_min_s"] = min(times[name])
        out[f"{name}_bytes"] = sizes[name]
    for name in [n for n in cases if not n.endswith("_old")]:
        out[f"{name}_old_over_new"] = out[f"{name}_old_s"] / out[f"{name}_s"]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="100 and 1,000 sessions (unless --sizes), 3 repeats")
    parser.add_argument("--sizes", default=None, help="sessions, comma-separated (default 100,1000,10000)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--limit", type=int, default=50, help="page size of the first page (the results page's)")
    parser.add_argument("--whole-up-to", type=int, default=10000, help="time the whole list up to this size")
    parser.add_argument("--keep", action="store_true", help="keep the FITSTUDIO_HOME")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in (args.sizes or ("100,1000" if args.quick else "100,1000,10000")).split(",")]
    repeats = 3 if args.quick else args.repeats
    load_before = list(os.getloadavg())
    base = Path(tempfile.mkdtemp(prefix="fitstudio-bench-lists-"))
    rng = random.Random(23)
    figures: dict[str, Any] = {"limit": args.limit, "repeats": repeats, "epochs": EPOCHS, "sizes": {}}
    try:
        world = setup(base / "home")
        for n in sorted(sizes):
            grow(world, n, rng)
            found = measure(world, args.limit, repeats, whole=n <= args.whole_up_to)
            figures["sizes"][str(n)] = found
            show(
                f"{n} sessions (median of {repeats}; target first page <= {TARGET_S * 1000:.0f} ms)",
                list(found.items()),
            )
    finally:
        if args.keep:
            print(f"kept: {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)
    largest = figures["sizes"][str(max(sizes))]
    figures["target_met"] = max(largest["list_first_page_s"], largest["results_page_s"]) <= TARGET_S
    write_result("session_lists", args.quick, figures, load_before)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
