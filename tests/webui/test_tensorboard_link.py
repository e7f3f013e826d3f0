"""The results page links to TensorBoard (the session's and the ML task's), and the link opens it with the web
login alone."""

from __future__ import annotations

from typing import Any

from tests.webui.conftest import Web, location
from tests.webui.support import design_form


def test_results_page_links_to_tensorboard_which_opens_with_the_web_login(web: Web, task: dict[str, Any]) -> None:
    form = design_form(web, task["id"])
    url = location(web.post(f"/ml-tasks/{task['id']}/design", {**form, "action": "train", "gpu-use_gpu": ""}))
    session_id = int(url.rsplit("=", 1)[1])
    page = web.get(url).text
    assert f'id="tensorboard-link" href="/sessions/{session_id}/tensorboard/"' in page  # while queued/training
    assert f'href="/ml-tasks/{task["id"]}/tensorboard/"' in page
    r = web.get(f"/sessions/{session_id}/tensorboard/")
    assert r.status_code == 200 and "<tb-webapp>" in r.text
    assert web.client.get(f"/ml-tasks/{task['id']}/tensorboard/data/runs").status_code == 200
    web.post(f"/sessions/{session_id}/abort")
    assert f'id="tensorboard-link" href="/sessions/{session_id}/tensorboard/"' in web.get(url).text  # and after
