"""Web UI pages of results and models (server-side): trained and saved models, images, SQL per page, assets."""

from __future__ import annotations

import re
from typing import Any

from tests.helpers import count_queries
from tests.webui.conftest import Web, location
from tests.webui.support import design_form, fake_trained_model, image_zip

# "No page needs more than a few SQL queries", whatever its rows: the saved model page is the largest (its versions,
# trained models, jobs with their datasets' names, evaluations).
MAX_QUERIES = 12


def test_trained_model_deploy_and_saved_model_pages(web: Web, task: dict[str, Any]) -> None:
    evaluation = {
        "kind": "classification",
        "n_rows": 114,
        "labels": ["benign", "malignant"],
        "confusion_matrix": [[70, 2], [3, 39]],
        "roc": [{"label": "malignant", "fpr": [0, 0.1, 1], "tpr": [0, 0.9, 1], "auc": 0.97}],
    }
    tmid = fake_trained_model(web, task, evaluation)
    page = web.get(f"/trained-models/{tmid}").text
    assert 'id="confusion-matrix"' in page and ">39</td>" in page and 'id="roc-chart"' in page
    assert (
        "get_keras_model_from_trained_model(session_id=&#34;s1&#34;, "
        f"analysis_id=&#34;{task['analysis']}&#34;, mltask_id=&#34;{task['id']}&#34;)" in page
    )
    assert f"/api/v1/trained-models/{tmid}/download" in page and "kept epoch <b>2</b>" in page
    assert "Submitted by</dt><dd>owner" in page and 'data-readonly="true"' in page
    details = web.api.get(f"/api/v1/trained-models/{tmid}").json()
    assert details["evaluation"] == evaluation
    results = web.get(f"/ml-tasks/{task['id']}").text
    assert "0.95" in results and f"/trained-models/{tmid}" in results

    url = location(web.post(f"/trained-models/{tmid}/deploy", {"saved_model_name": "cancer", "activate": "1"}))
    saved_id = int(re.match(r"/saved-models/(\d+)\?deployed=v1", url).group(1))
    url2 = location(web.post(f"/trained-models/{tmid}/deploy", {"saved_model_id": str(saved_id)}))
    assert url2 == f"/saved-models/{saved_id}?deployed=v2"
    page = web.get(url2).text
    assert "Deployed as version v2" in page
    assert re.search(r'data-version="v1" class="selected">\s*<td><b>v1</b> <span class="badge active">', page)
    assert f"get_keras_model_from_saved_model(saved_model_id={saved_id}, version_id=&#34;v2&#34;)" in page
    assert 'id="score-form"' in page and 'name="mean radius"' in page
    assert location(web.post(f"/saved-models/{saved_id}/active-version", {"version_id": "v2"}))
    assert web.api.get(f"/api/v1/saved-models/{saved_id}").json()["active_version"] == "v2"
    r = web.post(f"/trained-models/{tmid}/deploy", {"saved_model_id": str(saved_id), "version_id": "v1"})
    assert r.status_code == 409 and "immutable" in r.text


def test_regression_evaluation_is_drawn_as_a_scatter(web: Web, task: dict[str, Any]) -> None:
    tmid = fake_trained_model(
        web, task, {"kind": "regression", "n_rows": 3, "actual": [1, 2, 3], "predicted": [1.1, 1.9, 3.2]}
    )
    page = web.get(f"/trained-models/{tmid}").text
    assert 'id="scatter-chart"' in page and "Predicted vs actual" in page


def test_every_page_runs_few_sql_queries(web: Web, task: dict[str, Any]) -> None:
    from server.db import session_scope
    from server.models import WorkerRecord

    with session_scope() as db:
        db.add(WorkerRecord(name="w1@host", hostname="host", queues=["cpu"], gpus=[], current_sessions=[]))
    tmid = fake_trained_model(web, task, {"kind": "regression", "n_rows": 1, "actual": [1], "predicted": [1]})
    saved_url = location(web.post(f"/trained-models/{tmid}/deploy", {"saved_model_name": "m", "activate": "1"}))
    for _ in range(3):  # jobs listed on the saved model's page and the project's jobs page, with their names
        location(web.post(saved_url.split("?")[0] + "/score", {"dataset_id": str(task["dataset"])}))
    pages = [
        "/",
        "/projects/P1",
        f"/datasets/{task['dataset']}",
        f"/analyses/{task['analysis']}",
        f"/ml-tasks/{task['id']}/design",
        f"/ml-tasks/{task['id']}",
        f"/trained-models/{tmid}",
        saved_url,
        "/workers",
        "/projects/P1/jobs",
    ]
    for path in pages:
        with count_queries() as statements:
            r = web.get(path)
        assert r.status_code == 200, (path, r.text[:500])
        assert len(statements) <= MAX_QUERIES, (path, len(statements), statements)
    assert "w1@host" in web.get("/workers").text


def test_static_assets_are_vendored() -> None:
    from webui.web import HERE

    bundle = (HERE / "static" / "vendor" / "codemirror.bundle.js").read_text()
    for name in ("EditorView", "EditorState", "basicSetup", "python", "setDiagnostics", "lintGutter", "indentWithTab"):
        assert re.search(rf"\b{name}\b", bundle.rsplit("export{", 1)[1]), name
    assert "Chart.js v4" in (HERE / "static" / "vendor" / "chart.umd.js").read_text()[:200]
    readme = (HERE / "static" / "vendor" / "README.md").read_text()
    assert "esbuild" in readme and "chart.js" in readme


def test_code_samples_pass_the_static_checks() -> None:
    from server.services.code_check import check_cell
    from webui.samples import code_samples

    class Saved:
        id, name = 7, "base"

    for ptype in ("binary", "regression"):
        for sample in code_samples(ptype, ["img_preprocessed"], [Saved()]):
            assert check_cell(sample["cell"], sample["code"], True) == [], sample["id"]
    assert "img_preprocessed" in code_samples("binary", ["img_preprocessed"], [])[0]["code"]


def test_image_dataset_shows_thumbnails_and_image_samples(web: Web) -> None:
    assert location(web.post("/projects", {"key": "IMG"}))
    r = web.client.post(
        "/api/v1/projects/IMG/datasets",
        data={"name": "pets"},
        files={"file": ("pets.zip", image_zip(), "application/zip")},
        headers={"x-csrf-token": web.csrf},
    )
    assert r.status_code == 201, r.text
    ds = r.json()["id"]
    page = web.get(f"/datasets/{ds}").text
    thumbs = re.findall(rf'src="(/datasets/{ds}/thumbnails/[^"]+)"', page)
    assert len(thumbs) >= 6 and 'class="gallery"' in page
    r = web.client.get(thumbs[0])
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    import io

    from PIL import Image

    assert max(Image.open(io.BytesIO(r.content)).size) <= 160
    assert web.client.get(f"/datasets/{ds}/thumbnails/../../../../etc/passwd").status_code == 404
    assert web.client.get(f"/datasets/{ds}/thumbnails/%2E%2E/%2E%2E/data.parquet").status_code == 404
    analysis = location(web.post("/projects/IMG/analyses", {"dataset_id": str(ds)})).rsplit("/", 1)[1]
    design = location(web.post(f"/analyses/{analysis}/ml-tasks", {"target": "label"}))
    page = web.get(design).text
    assert "DataAugmentationSequence(" in page and "&#34;image_preprocessed&#34;" in page
    r = web.fetch(design, {**design_form(web, design.split("/")[2]), "action": "inputs"})
    assert r.json()["input_shapes"] == {"image_preprocessed": [64, 64, 3]}


def test_a_failed_session_shows_its_error_in_the_frozen_cell(web: Web, task: dict[str, Any]) -> None:
    from server.db import session_scope
    from server.models import TrainingSession

    form = design_form(web, task["id"])
    url = location(web.post(f"/ml-tasks/{task['id']}/design", {**form, "action": "train"}))
    session_id = int(url.rsplit("=", 1)[1])
    with session_scope() as db:
        row = db.get(TrainingSession, session_id)
        row.status = "failed"
        row.error = {
            "type": "NameError",
            "message": "name 'Dense2' is not defined",
            "cell": "architecture",
            "line": 9,
            "traceback": "Traceback (most recent call last): ...",
        }
    page = web.get(url).text
    assert '<span class="badge failed" data-status>failed</span>' in page
    assert "in the architecture cell, line 9" in page and 'data-error-line="9"' in page
    assert 'data-live="false"' in page and 'id="abort-button"' not in page and "Traceback" in page


def test_trained_model_page_shows_the_preprocessing_report(web: Web, task: dict[str, Any]) -> None:
    from server.db import session_scope
    from server.models import TrainedModel

    tmid = fake_trained_model(web, task, {"kind": "regression", "n_rows": 1, "actual": [1], "predicted": [1]})
    assert 'id="preprocessing-report"' not in web.get(f"/trained-models/{tmid}").text  # trained before the report
    report = {"mean radius": {"type": "numeric", "missing": 2, "unparseable": 17, "imputed": 19}}
    with session_scope() as db:
        row = db.get(TrainedModel, tmid)
        row.preprocessing = {**row.preprocessing, "report": report}
    page = web.get(f"/trained-models/{tmid}").text
    assert 'id="preprocessing-report"' in page and '<td class="num warn">17</td>' in page and ">19</td>" in page
