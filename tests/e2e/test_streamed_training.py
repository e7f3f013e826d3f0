"""Streamed inputs on a real worker (issue 17): with FITSTUDIO_TRAINING_STREAM_ABOVE_MB=0 every training reads its
inputs a batch at a time from memory-mapped files (worker/runtime/prepare.py); a standard tabular session, DSS's
augmentation sample over the image cache and a text model train as they do in memory."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import Runtime, started
from tests.e2e.test_data_types import digits_zip
from tests.e2e.test_runtime_dss_examples import dss_augmentation, long_reviews

IMAGE = {"height": 16, "width": 16, "channels": 1}


@pytest.fixture(scope="module")
def streamed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    """A worker that streams every training's inputs, small ones included."""
    home = tmp_path_factory.mktemp("streamed") / "home"
    values = {"training_memory_mb": "3000", "training_stream_above_mb": "0"}
    with started(home, "streamed", ["--concurrency", "2"], **values) as runtime:
        yield runtime


def _log(runtime: Runtime, session_id: int) -> str:
    return runtime.api.get(f"/api/v1/sessions/{session_id}/log").text


def _succeeded(runtime: Runtime, session_id: int) -> dict[str, Any]:
    final = runtime.wait(session_id, timeout=300)
    assert final["status"] == "succeeded", (final["error"], runtime.log_tail())
    return final


@pytest.mark.slow
def test_sessions_train_on_streamed_inputs(streamed: Runtime) -> None:
    from server.services.bootstrap import demo_bytes

    bc = streamed.dataset("bc", demo_bytes("breast_cancer").getvalue())
    digits = streamed.dataset("digits", digits_zip(n_per_class=20), "digits.zip")
    reviews = streamed.dataset("reviews", long_reviews(200))
    plans = {
        "table": streamed.task(bc, "diagnosis", patch={"training": {"epochs": 4}}),
        "images": streamed.task(
            digits,
            "label",
            patch={"image": IMAGE, "training": {"mode": "advanced"}, "code": {"training": dss_augmentation(2)}},
        ),
        "text": streamed.task(reviews, "label", patch={"training": {"epochs": 3}}),
    }
    sessions = {name: streamed.train(task["id"])["id"] for name, task in plans.items()}
    finals = {name: _succeeded(streamed, sid) for name, sid in sessions.items()}
    logs = {name: _log(streamed, sid) for name, sid in sessions.items()}
    for name, log in logs.items():
        assert "MB in memory, more than 0 MB: streamed" in log, (name, log[-3000:])
        assert "read a batch at a time" in log and "preprocessing fitted on" in log, name
    assert "read from the preprocessed cache, a batch at a time" in logs["images"]  # the cache is mapped, not copied
    line = next(x for x in logs["images"].splitlines() if "AUGMENTATION " in x)
    counts = dict(part.split("=") for part in line[line.index("AUGMENTATION ") :].split()[1:])
    assert int(counts["n"]) == 2 and int(counts["rows"]) > 0 and int(counts["calls"]) == int(counts["rows"])
    for name, floor in (("table", 0.95), ("text", 0.8)):  # they learn as in memory (text: the DSS samples' floor)
        details = streamed.api.get(f"/api/v1/trained-models/{finals[name]['trained_model_id']}").json()
        assert details["metrics"]["Test ROC AUC"] > floor, (name, finals[name]["history"])
        train_rows = {"table": round(569 * 0.8), "text": 160}[name]  # the demo's 569 rows, 200 reviews
        assert details["preprocessing_fitted_on"] == {"rows": train_rows, "train_rows": train_rows, "streamed": True}
