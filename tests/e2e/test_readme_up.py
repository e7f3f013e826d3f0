"""The README's run command, as a newcomer runs it: fresh FITSTUDIO_HOME, the README's curl walkthrough and its
Python client version train the demo task, Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests import helpers

README = helpers.ROOT / "README.md"


def readme_command(marker: str, language: str = "bash") -> str:
    """The command in the fenced block right after MARKER in the README."""
    text = README.read_text()
    match = re.search(re.escape(marker) + r"\s*```" + language + r"\n(.+?)\n```", text, re.S)
    assert match, f"README has no command after {marker}"
    return match.group(1).strip()


def test_the_walkthrough_says_what_it_needs_and_waits_for_the_end() -> None:
    text = README.read_text()
    assert "needs `curl` and `jq`" in text
    script = readme_command("<!-- walkthrough -->")
    assert script.startswith("TOKEN=...") and "until curl" in script and "jq .metrics" in script
    python = readme_command("<!-- walkthrough-python -->", "python")
    body = [line for line in python.splitlines() if line and not line.startswith(("import ", "from "))]
    assert len(body) == 5, "the Python client's version is five lines"


def run_walkthrough(token: str, tmp_path: Path) -> tuple[str, str]:
    """Run the README's curl walkthrough (its TOKEN=... line given TOKEN) and then its Python version."""
    script = readme_command("<!-- walkthrough -->").replace("TOKEN=...", f"TOKEN={token}", 1)
    env = {**os.environ, "TOKEN": token}
    shell = subprocess.run(["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True, timeout=180)
    assert shell.returncode == 0, shell.stdout + shell.stderr
    program = tmp_path / "walkthrough.py"
    program.write_text(readme_command("<!-- walkthrough-python -->", "python"))
    python = subprocess.run(
        [sys.executable, str(program)], capture_output=True, text=True, timeout=180, env=env, cwd=tmp_path
    )
    assert python.returncode == 0, python.stdout + python.stderr
    return shell.stdout, python.stdout


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
            assert datasets["breast_cancer"]["id"] == 1, "the walkthrough names the breast cancer dataset as 1"
            started = time.monotonic()
            shell, python = run_walkthrough(tok, tmp_path)
            took = time.monotonic() - started
            decoder = json.JSONDecoder()
            first, end = decoder.raw_decode(shell)  # {status, progress} as the training is submitted
            assert first["status"] in ("queued", "running") and "progress" in first, shell
            metrics = decoder.raw_decode(shell[end:].lstrip())[0]  # printed once the session has ended
            assert 0.5 < metrics["Test ROC AUC"] <= 1, shell
            assert python.startswith("succeeded {") and "'Test ROC AUC':" in python, python
            analyses = c.get("/projects/DEMO/analyses").json()
            assert [a["name"] for a in analyses] == ["cancer", "cancer"]
            assert took < 240, f"a newcomer's two demo trainings took {took:.0f} s"  # a bound, not a target (bench/)
            task = c.get(f"/analyses/{analyses[0]['id']}/ml-tasks").json()[0]
            final = c.get(f"/ml-tasks/{task['id']}/sessions").json()[0]
            assert final["status"] == "succeeded" and task["prediction_type"] == "binary"
            assert c.get(f"/trained-models/{final['trained_model_id']}/download").status_code == 200
        text = log.read_text()
        assert f"API token: {tok}" in text and "log in as admin (works once, within 1 day" in text
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in the terminal signals the whole foreground group
        assert proc.wait(timeout=60) == 0, log.read_text()[-3000:]
        assert "fitstudio stopped" in log.read_text()
    finally:
        helpers.stop_process(proc)
    # The next start prints a fresh login link (not the first start's token, nor a bare token).
    again = tmp_path / "again.log"
    proc = helpers.start_up(tmp_path / "home", again, 8000)
    try:
        link = helpers.wait_for_up(proc, again, base)
        assert link != tok and "API token" not in again.read_text()
        browser = httpx.Client(base_url=base, timeout=30)
        assert browser.get(f"/login?token={link}").status_code == 303, "the printed link logs in"
        assert httpx.get(f"{base}/api/v1/projects", headers=h, timeout=30).status_code == 200, "the API token lives on"
    finally:
        helpers.stop_process(proc)
