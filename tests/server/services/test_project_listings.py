"""What the project and analysis pages list: datasets, ML tasks per analysis, sessions per ML task, members."""

from __future__ import annotations

from typing import Any

from server.db import session_scope
from server.models import Dataset, MLTask, TrainingSession
from server.services import analyses, auth, datasets, mltasks, projects


def _dataset(project_id: int, name: str) -> Dataset:
    return Dataset(project_id=project_id, name=name, kind="table", n_rows=1, columns=[], path=f"d/{name}")


def _task(analysis_id: str, ident: str) -> MLTask:
    return MLTask(id=ident, analysis_id=analysis_id, name=ident, target="y", prediction_type="binary", settings={})


def test_the_counts_cover_only_the_resources_that_have_some(sqlite_settings: Any) -> None:
    with session_scope() as db:
        owner = auth.create_user(db, "owner")
        auth.create_user(db, "alice")
        project = projects.create(db, owner, "P1", "one")
        projects.set_member(db, owner, project, "alice", "reader")
        db.add_all([_dataset(project.id, "second"), _dataset(project.id, "first")])
        db.flush()
        listed = datasets.of_project(db, project)
        assert [d.name for d in listed] == ["second", "first"]  # by id: upload order
        busy, idle = (analyses.create(db, owner, project, listed[0].id, n) for n in ("busy", "idle"))
        db.add_all([_task(busy.id, "t1"), _task(busy.id, "t2")])
        db.add_all([TrainingSession(ml_task_id="t1", number=n, design={}) for n in (1, 2, 3)])
        db.flush()
        assert analyses.task_counts(db, project) == {busy.id: 2}
        assert mltasks.session_counts(db, busy) == {"t1": 3} and mltasks.session_counts(db, idle) == {}
        db.refresh(project)  # set_member adds the row, not to the loaded list
        assert [m.user.username for m in projects.members_by_name(project)] == ["alice", "owner"]
        assert projects.get(db, project.id) is project
