"""The Python client drives a full train → deploy → predict cycle against a running server (the docs' example)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests import helpers
from tests.e2e.conftest import Runtime

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_docs_client_example_runs_against_a_live_server(runtime: Runtime, tmp_path: Path) -> None:
    from server.services.bootstrap import demo_bytes

    port = _free_port()
    env = dict(os.environ)
    server = subprocess.Popen(
        [sys.executable, "-m", "fitstudio.cli", "api", "--port", str(port)],
        env=env,
        cwd=helpers.ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"

        def up() -> bool:
            try:
                return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        helpers.wait_for(up, 60, "the API server")
        text = (helpers.ROOT / "docs" / "client.md").read_text()
        example = re.search(r"<!-- client-example -->\s*```python\n(.+?)\n```", text, re.S)
        assert example, "docs/client.md lost its example"
        csv = tmp_path / "cancer.csv"
        csv.write_bytes(demo_bytes("breast_cancer").getvalue())
        script = tmp_path / "example.py"
        script.write_text(example.group(1))
        run = subprocess.run(
            [sys.executable, str(script)],
            capture_output=True,
            text=True,
            timeout=600,
            env={**env, "FITSTUDIO_URL": url, "FITSTUDIO_TOKEN": runtime.api.token, "FITSTUDIO_EXAMPLE_CSV": str(csv)},
        )
        assert run.returncode == 0, run.stderr[-3000:]
        out = run.stdout
        assert "trained: succeeded epochs: 3" in out
        auc = float(re.search(r"Test ROC AUC: ([0-9.]+)", out).group(1))
        assert auc > 0.9
        assert re.search(r"prediction: (benign|malignant) probabilities: \[", out)
        assert "typed error: not_found" in out
        location = re.search(r"location: (\S+)", out).group(1)
        assert Path(location).is_file()
    finally:
        helpers.stop_process(server)


def test_client_raises_typed_errors_with_detail(runtime: Runtime) -> None:
    from fitstudio.client import AuthenticationError, Client, Conflict, InvalidRequest, NotFound

    transport = runtime.api.client._transport  # the TestClient's in-process transport: no server needed
    bad = Client("http://testserver", "fst_wrong", transport=transport)
    with pytest.raises(AuthenticationError) as exc:
        bad.list_projects()
    assert exc.value.status == 401 and exc.value.code == "bad_token" and "token" in exc.value.detail
    client = Client("http://testserver", runtime.api.token, transport=transport)
    with pytest.raises(NotFound):
        client.get_project("NOPE_NOPE").get_summary()
    with pytest.raises(Conflict):
        client.create_project(runtime.project)
    with pytest.raises(InvalidRequest) as exc:
        client.create_project("lower")
    assert exc.value.status == 422 and exc.value.errors


def test_client_imports_a_keras_file_as_a_saved_model(runtime: Runtime, tmp_path: Path) -> None:
    import keras

    from fitstudio.client import Client, Conflict, InvalidRequest

    client = Client("http://testserver", runtime.api.token, transport=runtime.api.client._transport)
    project = client.get_project(runtime.project)
    inputs = keras.Input((3,), name="features")
    model = keras.Model(inputs, keras.layers.Dense(1, name="out")(keras.layers.Dense(4, name="hidden")(inputs)))
    model.save(tmp_path / "tiny.keras")

    saved = project.import_saved_model("client-import", tmp_path / "tiny.keras")
    assert saved["name"] == "client-import" and saved["active_version"] == "v1"
    (version,) = saved["versions"]
    assert version["id"] == "v1" and version["source"] == "imported"
    assert version["imported"]["filename"] == "tiny.keras" and version["imported"]["input_shapes"] == {"features": [3]}
    # The client's own listings show it.
    listed = {s["id"]: s for s in project.list_saved_models()}
    assert listed[saved["id"]]["name"] == "client-import"
    summary = client.get_saved_model(saved["id"]).get_summary()
    assert [v["id"] for v in summary["versions"]] == ["v1"] and summary["active_version"] == "v1"
    copy = client.get_saved_model(saved["id"]).download(tmp_path / "copy.keras")
    assert copy.read_bytes() == (tmp_path / "tiny.keras").read_bytes()

    with pytest.raises(Conflict) as exc:
        project.import_saved_model("client-import", tmp_path / "tiny.keras")
    assert exc.value.code == "saved_model_exists"
    corrupt = tmp_path / "corrupt.keras"
    corrupt.write_bytes(b"this is not a zip archive" * 10)
    with pytest.raises(InvalidRequest) as exc:
        project.import_saved_model("client-corrupt", corrupt)
    assert exc.value.status == 422 and exc.value.code == "invalid_model" and exc.value.errors
    assert "client-corrupt" not in [s["name"] for s in project.list_saved_models()]
