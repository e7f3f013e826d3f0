"""The README's run command, as a newcomer runs it: fresh FITSTUDIO_HOME, train the demo task, Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests import helpers

README = helpers.ROOT / "README.md"


def readme_command(marker: str) -> str:
    """The command in the fenced block right after MARKER in the README."""
    text = README.read_text()
    match = re.search(re.escape(marker) + r"\s*```bash\n(.+?)\n```", text, re.S)
    assert match, f"README has no command after {marker}"
    return match.group(1).strip()


def test_ci_runs_the_readme_test_command() -> None:
    command = readme_command("<!-- test-command -->")
    assert command in (helpers.ROOT / ".ci" / "run").read_text()


@pytest.mark.slow
def test_readme_run_command_trains_the_demo(tmp_path: Path) -> None:
    command = readme_command("<!-- run-command -->")
    log = tmp_path / "up.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            ["bash", "-c", command],
            cwd=helpers.ROOT,
            env=helpers.up_env(tmp_path / "home"),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        base = "http://127.0.0.1:8000"
        tok = helpers.wait_for_up(proc, log, base)
        h = {"Authorization": f"Bearer {tok}"}
        with httpx.Client(base_url=f"{base}/api/v1", headers=h, timeout=30) as c:
            datasets = {d["name"]: d for d in c.get("/projects/DEMO/datasets").json()}
            assert set(datasets) == {"breast_cancer", "iris", "diabetes"}
            analysis = c.post("/projects/DEMO/analyses", json={"dataset_id": datasets["breast_cancer"]["id"]}).json()
            task = c.post(f"/analyses/{analysis['id']}/ml-tasks", json={"target": "diagnosis"}).json()
            assert task["prediction_type"] == "binary"
            settings = task["settings"]
            settings["training"]["epochs"] = 2
            assert c.put(f"/ml-tasks/{task['id']}/settings", json=settings).status_code == 200
            started = time.monotonic()
            session = c.post(f"/ml-tasks/{task['id']}/train", json={}).json()

            def ended() -> dict | None:
                body = c.get(f"/sessions/{session['id']}").json()
                return body if body["status"] in ("succeeded", "failed", "aborted") else None

            final = helpers.wait_for(ended, 120, "the demo training", every=0.5)
            assert final["status"] == "succeeded", final["error"]
            assert time.monotonic() - started < 60, "a newcomer should train the demo within a minute"
            assert final["trained_model_id"]
            assert c.get(f"/trained-models/{final['trained_model_id']}/download").status_code == 200
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in the terminal signals the whole foreground group
        assert proc.wait(timeout=60) == 0, log.read_text()[-3000:]
        assert "fitstudio stopped" in log.read_text()
    finally:
        helpers.stop_process(proc)
