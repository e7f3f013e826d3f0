"""Page: an ML task's sessions compared (curves overlaid, final metrics side by side, the design diff)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from server.api.deps import DbDep
from server.services import access, compare
from webui.web import PageRoute, PageUser, render

router = APIRouter(route_class=PageRoute)


def metric_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per final metric: its values by session and which sessions are best (the API's `best`)."""
    keys: list[str] = []
    for entry in data["sessions"]:
        keys.extend(k for k in entry["metrics"] if k not in keys)
    return [
        {
            "key": key,
            "values": [entry["metrics"].get(key) for entry in data["sessions"]],
            "best": data["best"].get(key, []),
        }
        for key in sorted(keys, key=lambda k: (not k.startswith("Test "), k))  # validation metrics first
    ]


def diff_line_class(line: str) -> str:
    """How a unified diff line is marked: added, removed, a hunk or file header, or context."""
    if line.startswith(("+++", "---")):
        return "head"
    if line.startswith("@@"):
        return "hunk"
    return {"+": "added", "-": "removed"}.get(line[:1], "context")


@router.get("/ml-tasks/{mltask_id}/compare", response_class=HTMLResponse)
def compare_page(
    mltask_id: str, request: Request, db: DbDep, user: PageUser, sessions: Annotated[list[str] | None, Query()] = None
) -> Response:
    """The sessions ticked on the results page (?sessions=1&sessions=2, as the form sends them, or ?sessions=1,2)."""
    task = access.ml_task(db, user, mltask_id)
    # Oldest first whatever the order ticked, so each later design is diffed against the earliest one.
    numbers = sorted(compare.parse_numbers(",".join(sessions or [])[:400]))
    data = compare.compare(db, task, ",".join(str(n) for n in numbers))
    for entry in data["design_diff"]:
        for diff in entry.get("diffs") or []:
            diff["marked"] = [(diff_line_class(line), line) for line in diff["lines"]]
    context = {
        "project": task.analysis.project,
        "analysis": task.analysis,
        "task": task,
        "data": data,
        "numbers": [s["number"] for s in data["sessions"]],
        "metric_rows": metric_rows(data),
        "settings_diff": [d for d in data["design_diff"] if d["kind"] == "setting"],
        "code_diff": [d for d in data["design_diff"] if d["kind"] == "code"],
        "curves": {
            "metric": data["sessions"][0]["metric"],
            "sessions": [{"number": s["number"], "history": s["history"]} for s in data["sessions"]],
        },
    }
    return render(request, "compare.html", context)
