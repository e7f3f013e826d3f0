"""The web UI's pages and forms, server-side (no browser): login, CSRF, permissions, projects, the design form."""

from __future__ import annotations

import re
from typing import Any

from tests.conftest import Api
from tests.webui.conftest import Web, location
from tests.webui.support import design_form


def test_login_logout_and_redirects(api: Api) -> None:
    from fastapi.testclient import TestClient

    client = TestClient(api.client.app)
    r = client.get("/ml-tasks/abcdefgh", headers={"accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Fml-tasks%2Fabcdefgh"
    r = client.post("/login", data={"username": "owner", "password": "nope"})
    assert r.status_code == 401 and "Wrong user name or password" in r.text
    r = client.post(
        "/login", data={"username": "owner", "password": "owner-pw", "next": "//evil.example"}, follow_redirects=False
    )
    assert r.headers["location"] == "/"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    home = client.get("/", headers={"accept": "text/html"})
    assert home.status_code == 200
    csrf = re.search(r'name="csrf" value="([^"]+)"', home.text)
    assert csrf, "the page's logout form carries no CSRF token"
    assert location(client.post("/logout", data={"csrf": csrf.group(1)}, follow_redirects=False)) == "/login"
    assert client.get("/", follow_redirects=False).status_code == 303


def test_token_link_logs_in_directly(api: Api) -> None:
    from fastapi.testclient import TestClient

    client = TestClient(api.client.app)
    r = client.get(f"/login?token={api.token}&next=/workers", follow_redirects=False)
    assert location(r) == "/workers"
    assert "Workers" in client.get("/workers").text
    assert TestClient(api.client.app).get("/login?token=fst_bad").status_code == 401


def test_workers_page_shows_each_workers_state_and_sandbox(web: Web) -> None:
    from datetime import timedelta

    from server.db import session_scope
    from server.models import WorkerRecord, utcnow

    def row(name: str, isolation: str | None, trains: bool | None, seconds_ago: float = 0) -> WorkerRecord:
        beat = utcnow() - timedelta(seconds=seconds_ago)
        return WorkerRecord(
            name=name,
            hostname="h",
            queues=["cpu"],
            gpus=[],
            last_heartbeat=beat,
            isolation=isolation,
            isolated=trains,
            accepts_trainings=trains,
        )

    with session_scope() as db:
        db.add(row("boxed@h", "bubblewrap 0.8.0: own PID namespace", True))
        db.add(row("bare@h", "cannot isolate user code: bwrap not found", False))
        db.add(row("old@h", None, None, seconds_ago=300))
    page = web.get("/workers").text
    rows = re.findall(r"<tr>\s*<td><b>([^<]+)</b>(.*?)</tr>", page, re.S)
    cells = dict(rows)
    assert "bubblewrap 0.8.0: own PID namespace" in cells["boxed@h"] and ">alive<" in cells["boxed@h"]
    assert ">refusing<" in cells["bare@h"] and "refuses trainings: it cannot isolate user code" in cells["bare@h"]
    assert "cannot isolate user code: bwrap not found" in cells["bare@h"]
    assert ">silent<" in cells["old@h"] and "not reported" in cells["old@h"]
    assert "FITSTUDIO_TRAINING_SANDBOX=false" in page


def test_forms_need_the_csrf_token(web: Web) -> None:
    r = web.post("/projects", {"key": "NOCSRF"}, csrf=False)
    assert r.status_code == 403
    r = web.client.post("/projects", data={"key": "NOCSRF", "csrf": "forged"}, headers={"accept": "text/html"})
    assert r.status_code == 403
    r = web.client.post("/api/v1/projects", json={"key": "NOCSRF", "name": "x"})  # cookie alone: no API write
    assert r.status_code == 403
    assert "NOCSRF" not in web.get("/").text


def test_project_form_errors_are_shown_on_the_page(web: Web) -> None:
    r = web.post("/projects", {"key": "9lives", "name": "x"})
    assert r.status_code == 422 and "must be 2-32 characters" in r.text and 'value="9LIVES"' in r.text
    assert location(web.post("/projects", {"key": "lower", "name": "x"})) == "/projects/LOWER"  # upper-cased


def test_project_dataset_analysis_pages(web: Web, task: dict[str, Any]) -> None:
    page = web.get("/projects/P1").text
    assert "cancer" in page and "569" in page and f"/analyses/{task['analysis']}" in page
    assert 'id="upload-form"' in page and "/api/v1/projects/P1/datasets" in page
    page = web.get(f"/datasets/{task['dataset']}").text
    assert "mean radius" in page and "diagnosis" in page and "categorical" in page and "malignant" in page
    page = web.get(f"/analyses/{task['analysis']}").text
    assert f"/ml-tasks/{task['id']}" in page and "Predict diagnosis (binary)" in page
    r = web.client.get(
        f"/analyses/{task['analysis']}/propose", params={"target": "mean radius"}, headers={"x-requested-with": "fetch"}
    )
    assert r.json()["prediction_type"] == "regression"
    r = web.client.get(
        f"/analyses/{task['analysis']}/propose", params={"target": "diagnosis"}, headers={"x-requested-with": "fetch"}
    )
    assert r.json() == {"target": "diagnosis", "prediction_type": "binary", "n_distinct": 2}


def test_a_csv_datasets_page_says_how_it_was_read(web: Web, task: dict[str, Any]) -> None:
    text = "nom;;montant\r\nZoé;1;1\u00a0234,5\r\nÅsa;2;12,25\r\n"
    r = web.api.upload_csv("P1", "francais", text.encode("cp1252"), filename="f.csv")
    assert r.status_code == 201, r.text
    page = web.get(f"/datasets/{r.json()['id']}").text
    read_as = page[page.index('id="read-as"') : page.index("</section>", page.index('id="read-as"'))]
    assert "delimiter <code>;</code>" in read_as and "encoding <code>cp1252</code>" in read_as
    assert "decimal <code>,</code>" in read_as and "thousands <code>no-break space</code>" in read_as
    assert "column_2" in read_as and "it was read as cp1252" in read_as  # the notes: the blank name, the encoding
    assert "left out" not in read_as
    report = "Sales report\r\nname;amount\r\nZoé;1,5\r\nÅsa;2,25\r\n".encode()
    r = web.api.upload_csv("P1", "report", report, filename="r.csv")
    assert r.status_code == 201, r.text
    page = web.get(f"/datasets/{r.json()['id']}").text
    assert "1 line(s) above it left out" in page and "Sales report" in page  # the count, and the note naming it
    from tests.server.api.support import parquet_bytes

    r = web.api.upload_csv("P1", "parquet", parquet_bytes({"a": [1, 2]}), filename="p.parquet")
    assert 'id="read-as"' not in web.get(f"/datasets/{r.json()['id']}").text  # nothing was read as a CSV


def test_members_are_managed_by_admins_only(web: Web, task: dict[str, Any]) -> None:
    reader_token = web.api.user("rita", "P1", "reader")
    assert reader_token
    assert location(web.post("/projects/P1/members", {"username": "rita", "role": "writer"})) == "/projects/P1#members"
    page = web.get("/projects/P1").text
    assert re.search(r"<td>rita</td><td>writer</td>", page)
    r = web.post("/projects/P1/members", {"username": "nobody-here", "role": "writer"})
    assert r.status_code == 404 and "nobody-here" in r.text
    other = Web(web.client.__class__(web.client.app), web.api)
    other.login("rita", "pw-rita")
    assert "Add a member" not in other.get("/projects/P1").text
    assert other.post("/projects/P1/members", {"username": "rita", "role": "admin"}).status_code == 403


def test_pages_of_other_projects_are_not_found(web: Web, task: dict[str, Any]) -> None:
    web.api.user("mallory")
    other = Web(web.client.__class__(web.client.app), web.api)
    other.login("mallory", "pw-mallory")
    for path in (
        "/projects/P1",
        f"/datasets/{task['dataset']}",
        f"/analyses/{task['analysis']}",
        f"/ml-tasks/{task['id']}/design",
        f"/ml-tasks/{task['id']}",
    ):
        r = other.get(path)
        assert r.status_code == 404 and "Not found" in r.text and "<html" in r.text, path
    assert "P1" not in other.get("/").text


def test_design_validate_flags_the_line_and_save_keeps_the_form(web: Web, task: dict[str, Any]) -> None:
    form = design_form(web, task["id"])
    assert form["metric"] == "ROC AUC" and form["training-epochs"] == "10"
    assert "def build_model" in form["code-architecture"]
    assert "def fit_model" in form["code-training"]
    broken = "def build_sequences(a, b):\n    return a(8), b(8)\n\ndef fit_model(model, t, v, cb)\n    pass\n"
    form.update({"training-advanced": "1", "code-training": broken})
    r = web.fetch(f"/ml-tasks/{task['id']}/design", {**form, "action": "validate"})
    assert r.status_code == 200
    assert r.json()["ok"] is False
    assert r.json()["errors"] == [{"cell": "training", "line": 4, "message": "SyntaxError: expected ':'"}]
    r = web.post(f"/ml-tasks/{task['id']}/design", {**form, "action": "save", "training-epochs": "3"})
    assert r.status_code == 422 and "training cell, line 4" in r.text
    assert 'value="3"' in r.text and "def fit_model(model, t, v, cb)\n" in r.text  # what was typed is kept
    form["code-training"] = broken.replace("cb)\n", "cb):\n")
    r = web.fetch(f"/ml-tasks/{task['id']}/design", {**form, "action": "validate"})
    assert r.json() == {"ok": True, "errors": [], "warnings": []}
    r = web.post(f"/ml-tasks/{task['id']}/design", {**form, "action": "save", "training-epochs": "3"})
    assert location(r) == f"/ml-tasks/{task['id']}/design?saved=1"
    settings = web.api.get(f"/api/v1/ml-tasks/{task['id']}/settings").json()
    assert settings["training"]["mode"] == "advanced" and settings["training"]["epochs"] == 3
    assert settings["code"]["training"] == form["code-training"]
    assert settings["gpu"]["gpu_list"] == [0] and settings["features"]["mean radius"] == {
        "role": "input",
        "type": "numeric",
    }


def test_design_field_errors_and_inputs(web: Web, task: dict[str, Any]) -> None:
    form = design_form(web, task["id"])
    r = web.fetch(f"/ml-tasks/{task['id']}/design", {**form, "action": "validate", "training-epochs": "many"})
    assert r.json()["errors"][0]["field"] == "training.epochs"
    r = web.fetch(f"/ml-tasks/{task['id']}/design", {**form, "action": "inputs"})
    assert r.json()["input_shapes"] == {"main": [30]}
    form["feature-0-role"] = "reject"
    form["feature-1-type"] = "categorical"
    r = web.fetch(f"/ml-tasks/{task['id']}/design", {**form, "action": "inputs"})
    from server.services.datasets import load_frame  # noqa: F401  (the count below is of the train split)

    shapes = r.json()["input_shapes"]["main"][0]
    assert 28 + 2 <= shapes <= 28 + 100  # 28 numeric + the dummies of one column (at most 100)


def test_train_shows_the_session_queued_then_abort(web: Web, task: dict[str, Any]) -> None:
    form = design_form(web, task["id"])
    r = web.post(f"/ml-tasks/{task['id']}/design", {**form, "action": "train", "gpu-use_gpu": ""})
    url = location(r)
    assert url.startswith(f"/ml-tasks/{task['id']}?session=")
    page = web.get(url).text
    assert '<span class="badge queued" data-status>queued</span>' in page and "owner" in page
    assert 'data-live="true"' in page and 'id="abort-button"' in page
    session_id = int(url.rsplit("=", 1)[1])
    assert location(web.post(f"/sessions/{session_id}/abort")) == url
    assert web.api.get(f"/api/v1/sessions/{session_id}").json()["status"] == "aborted"
    assert location(web.post(f"/sessions/{session_id}/abort")) == url  # already ended: back to the page


def test_dry_run_errors_come_back_with_their_cell_and_line(web: Web, task: dict[str, Any], monkeypatch: Any) -> None:
    from server.services import dry_run

    calls: list[dict[str, Any]] = []

    def fake_run(db: Any, settings: Any, user: Any, mltask: Any, doc: dict[str, Any]) -> dict[str, Any]:
        calls.append(doc)
        error = {"cell": "architecture", "line": 7, "message": "NameError: name 'Dense2' is not defined"}
        return {"errors": [error], "dry_run": {"ok": False}}

    monkeypatch.setattr(dry_run, "run", fake_run)
    form = design_form(web, task["id"])
    r = web.fetch(f"/ml-tasks/{task['id']}/design", {**form, "action": "dry_run"})
    assert r.json()["ok"] is False and r.json()["errors"][0]["line"] == 7
    assert calls and calls[0]["code"]["architecture"] == form["code-architecture"]
    monkeypatch.setattr(dry_run, "run", lambda *a: {"errors": [], "dry_run": {"summary": "Model: x", "loss": 0.5}})
    r = web.fetch(f"/ml-tasks/{task['id']}/design", {**form, "action": "dry_run"})
    assert r.json() == {"ok": True, "errors": [], "warnings": [], "dry_run": {"summary": "Model: x", "loss": 0.5}}
    web.api.user("rita", "P1", "reader")
    reader = Web(web.client.__class__(web.client.app), web.api)
    reader.login("rita", "pw-rita")
    assert reader.fetch(f"/ml-tasks/{task['id']}/design", {**form, "action": "dry_run"}).status_code == 403
    assert reader.fetch(f"/ml-tasks/{task['id']}/design", {**form, "action": "validate"}).json()["ok"] is True
    assert (
        "Train"
        not in re.sub(r"<script.*?</script>", "", reader.get(f"/ml-tasks/{task['id']}/design").text, flags=re.S)
        .split('class="action-bar"')[1]
        .split("</div>")[0]
    )


def test_a_bad_id_in_the_address_is_an_html_404(web: Web) -> None:
    r = web.get("/datasets/not-a-number")
    assert r.status_code == 404 and "<html" in r.text and "No such page" in r.text
    r = web.client.get("/datasets/not-a-number", headers={"accept": "application/json"})
    assert r.status_code == 404 and r.json()["code"] == "not_found"


def test_design_form_shows_and_keeps_feature_options_set_through_the_api(web: Web, task: dict[str, Any]) -> None:
    settings = web.api.get(f"/api/v1/ml-tasks/{task['id']}/settings").json()
    settings["features"]["mean radius"] = {"role": "input", "type": "numeric", "rescale": "minmax"}
    assert web.api.put(f"/api/v1/ml-tasks/{task['id']}/settings", json=settings).status_code == 200
    form = design_form(web, task["id"])
    index = next(k for k, v in form.items() if v == "mean radius").split("-")[1]
    assert form[f"feature-{index}-rescale"] == "minmax"  # the control shows the stored option
    assert location(web.post(f"/ml-tasks/{task['id']}/design", {**form, "action": "save"}))
    stored = web.api.get(f"/api/v1/ml-tasks/{task['id']}/settings").json()["features"]["mean radius"]
    assert stored == {"role": "input", "type": "numeric", "rescale": "minmax"}
    assert location(web.post(f"/ml-tasks/{task['id']}/design", {**form, f"feature-{index}-type": "categorical"}))
    stored = web.api.get(f"/api/v1/ml-tasks/{task['id']}/settings").json()["features"]["mean radius"]
    assert stored == {"role": "input", "type": "categorical"}  # another type: its options are dropped
