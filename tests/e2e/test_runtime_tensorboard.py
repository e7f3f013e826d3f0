"""TensorBoard end to end (code-cells.md "Where a cell may write, and TensorBoard"; issue 15): a real worker trains
code that writes relative paths with Keras's own callbacks, as keras.io publishes them; the base callbacks' scalars
and the user's TensorBoard logs end up in the session's TensorBoard folder, served behind the login."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Runtime

pytestmark = pytest.mark.slow

# The callbacks as keras.io prints them, in an advanced-mode training cell:
# - TensorBoard: https://keras.io/api/callbacks/tensorboard/ (`keras.callbacks.TensorBoard(log_dir="./logs")`;
#   the log folder named as in the report of issue 15)
# - ModelCheckpoint: https://keras.io/examples/vision/image_classification_from_scratch/
#   (`keras.callbacks.ModelCheckpoint("save_at_{epoch}.keras")`)
# - CSVLogger: https://keras.io/api/callbacks/csv_logger/ (`CSVLogger('training.log')`, here "training.csv")
KERAS_IO_CALLBACKS = """
import keras


def build_sequences(build_train_sequence_with_batch_size, build_validation_sequence_with_batch_size):
    return build_train_sequence_with_batch_size(32), build_validation_sequence_with_batch_size(32)


def fit_model(model, train_sequence, validation_sequence, base_callbacks):
    callbacks = [
        keras.callbacks.TensorBoard(log_dir="./tensorboard_logs"),
        keras.callbacks.ModelCheckpoint("save_at_{epoch}.keras"),
        keras.callbacks.CSVLogger("training.csv"),
    ]
    model.fit(train_sequence, epochs=2, validation_data=validation_sequence, callbacks=base_callbacks + callbacks)
"""


@pytest.fixture(scope="module")
def trained(runtime: Runtime) -> dict[str, Any]:
    from server.services.bootstrap import demo_bytes

    ds = runtime.dataset("bc", demo_bytes("breast_cancer").getvalue())
    task = runtime.task(
        ds, "diagnosis", patch={"training": {"mode": "advanced"}, "code": {"training": KERAS_IO_CALLBACKS}}
    )
    final = runtime.wait(runtime.train(task["id"])["id"])
    assert final["status"] == "succeeded", (final["error"], runtime.log_tail())
    return {"task": task, "session": final}


def test_base_scalars_and_the_users_tensorboard_logs_are_kept_with_the_session(
    runtime: Runtime, trained: dict[str, Any]
) -> None:
    from server.services import storage

    folder = storage.session_dir(runtime.api.settings, trained["session"]["id"]) / "tensorboard"
    files = sorted(str(p.relative_to(folder)) for p in folder.rglob("events.out.tfevents.*"))
    assert any(f.startswith("fitstudio/events.out.tfevents.") for f in files), files
    assert any(f.startswith("user/tensorboard_logs/train/events.out.tfevents.") for f in files), files
    assert any(f.startswith("user/tensorboard_logs/validation/events.out.tfevents.") for f in files), files
    assert all(p.is_file() and not p.is_symlink() for p in folder.rglob("*") if not p.is_dir())


def test_tensorboard_serves_the_session_to_its_readers_only(runtime: Runtime, trained: dict[str, Any]) -> None:
    api, sid, task_id = runtime.api, trained["session"]["id"], trained["task"]["id"]
    r = api.get(f"/sessions/{sid}/tensorboard/")
    assert r.status_code == 200 and "<tb-webapp>" in r.text, r.text[:500]
    runs = api.get(f"/sessions/{sid}/tensorboard/data/runs").json()
    assert {"fitstudio", "user/tensorboard_logs/train", "user/tensorboard_logs/validation"} <= set(runs), runs
    tags = api.get(f"/sessions/{sid}/tensorboard/data/plugin/scalars/tags").json()
    base = set(tags["fitstudio"])
    assert {"loss", "Test ROC AUC", "Train ROC AUC"} <= base, base
    points = api.get(
        f"/sessions/{sid}/tensorboard/data/plugin/scalars/scalars", params={"run": "fitstudio", "tag": "Test ROC AUC"}
    ).json()
    assert [step for _t, step, _v in points] == [1, 2]
    assert [round(v, 6) for *_s, v in points] == [round(h["Test ROC AUC"], 6) for h in trained["session"]["history"]]
    # Keras's own callback: its epoch scalars in the user's run.
    assert any(
        t.startswith("epoch_")
        for t in api.get(f"/sessions/{sid}/tensorboard/data/plugin/scalars/tags").json()["user/tensorboard_logs/train"]
    )
    runs = api.get(f"/ml-tasks/{task_id}/tensorboard/data/runs").json()
    n = trained["session"]["number"]
    assert {f"s{n}/fitstudio", f"s{n}/user/tensorboard_logs/train"} <= set(runs), runs

    outsider = api.user("tb-outsider")
    assert api.get(f"/sessions/{sid}/tensorboard/", token=outsider).status_code == 404
    assert api.get(f"/ml-tasks/{task_id}/tensorboard/", token=outsider).status_code == 404
    assert api.client.get(f"/sessions/{sid}/tensorboard/data/runs").status_code == 401
