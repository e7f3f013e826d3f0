"""Managed folders and the offline weights store in real trainings (data.md "Managed folders and pre-trained
weights"), on a real worker in its sandbox: a cell reads a folder through `dataiku.Folder(...).get_path()`; another
project's folder is refused (and not even in the sandbox); `keras.applications.*(weights="imagenet")` loads a file
imported with `fitstudio weights import`, and a file that is not there fails the session naming it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Runtime

pytestmark = pytest.mark.slow

API = "/api/v1"
# What keras/src/applications/mobilenet_v3.py asks get_file for with weights="imagenet", include_top=False.
IMPORTED = "weights_mobilenet_v3_small_224_1.0_float_no_top_v2.h5"
MISSING = "weights_mobilenet_v3_small_224_0.75_float_no_top_v2.h5"  # alpha=0.75: never imported

TAIL = """
    x = Dense(4, activation="relu")(main_input)
    return Model(inputs=main_input, outputs=Dense(2, activation="softmax")(x))


def compile_model(model):
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model
"""

# DSS's "pre-trained model from a managed folder" pattern: dataiku.Folder(name).get_path(), then plain file reads.
READS_FOLDER = (
    """import os

import dataiku
from fitstudio.folders import Folder
from keras.layers import Dense, Input
from keras.models import Model


def build_model(input_shapes, n_classes=None):
    folder_path = dataiku.Folder("resnet_weights").get_path()
    with open(os.path.join(folder_path, "sub", "units.txt")) as fh:
        assert fh.read() == "4", "wrong file content"
    same = Folder("resnet_weights")
    assert same.list_paths_in_partition() == ["/sub/units.txt"], same.list_paths_in_partition()
    with same.get_download_stream("/sub/units.txt") as stream:
        assert stream.read() == b"4"
    try:
        open(os.path.join(folder_path, "written.txt"), "w").close()
    except OSError:
        pass
    else:
        raise AssertionError("the folder is writable from a training")
    main_input = Input(shape=input_shapes["main"], name="main")
"""
    + TAIL
)

REFUSED_FOLDER = (
    """import os

import dataiku
from keras.layers import Dense, Input
from keras.models import Model


def build_model(input_shapes, n_classes=None):
    assert not os.path.exists({secret_path!r}), "another project's folder is visible in the sandbox"
    dataiku.Folder("OTHER.secret_weights")
    main_input = Input(shape=input_shapes["main"], name="main")
"""
    + TAIL
)

# The DSS troubleshooting page's ResNet50(weights="imagenet") pattern, with a small application.
PRETRAINED = (
    """import os

import keras
from keras.layers import Dense, Input
from keras.models import Model


def build_model(input_shapes, n_classes=None):
    base = keras.applications.MobileNetV3Small(weights="imagenet", input_shape=(32, 32, 3), include_top=False,
                                               alpha={alpha})
    total = float(base.weights[0].numpy().sum())
    assert abs(total - {expected}) < 1e-3, ("not the imported weights", total)
    store = os.path.realpath(os.path.join(os.environ["KERAS_HOME"], "models"))
    try:
        open(os.path.join(store, "written.h5"), "w").close()
    except OSError:
        pass
    else:
        raise AssertionError("the weights store is writable from a training")
    main_input = Input(shape=input_shapes["main"], name="main")
"""
    + TAIL
)

MAKE_WEIGHTS = f"""
import sys
import h5py
import keras
from keras.src.legacy.saving import legacy_h5_format

model = keras.applications.MobileNetV3Small(weights=None, input_shape=(32, 32, 3), include_top=False)
with h5py.File(sys.argv[1] + "/{IMPORTED}", "w") as f:
    legacy_h5_format.save_weights_to_hdf5_group(f, model)
print(float(model.weights[0].numpy().sum()))
"""


def _small_csv() -> bytes:
    rows = ["x1,x2,label"] + [f"{i % 7},{(i * 3) % 11},{'yes' if i % 2 else 'no'}" for i in range(60)]
    return ("\n".join(rows) + "\n").encode()


@pytest.fixture(scope="module")
def sessions(runtime: Runtime, tmp_path_factory: pytest.TempPathFactory) -> dict[str, int]:
    """Every training of this module, submitted at once: name -> session id."""
    api = runtime.api
    r = api.post(f"{API}/projects/RT/folders", json={"name": "resnet_weights"})
    assert r.status_code == 201, r.text
    folder = r.json()["id"]
    r = api.client.put(f"{API}/folders/{folder}/files/sub/units.txt", content=b"4", headers=api.headers())
    assert r.status_code == 201, r.text
    assert api.post(f"{API}/projects", json={"key": "OTHER", "name": "other"}).status_code == 201
    r = api.post(f"{API}/projects/OTHER/folders", json={"name": "secret_weights"})
    assert r.status_code == 201, r.text
    secret_path = runtime.home / "data" / "projects" / "OTHER" / "folders" / str(r.json()["id"])
    assert secret_path.is_dir()
    bob = api.user("bob", "RT", "writer")  # may read RT, not OTHER

    # The test makes its own weights file, named as Keras asks for it, and imports it with the CLI.
    made = tmp_path_factory.mktemp("weights")
    out = subprocess.run([sys.executable, "-c", MAKE_WEIGHTS, str(made)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    expected = float(out.stdout.strip().splitlines()[-1])
    imported = subprocess.run(
        [sys.executable, "-m", "fitstudio.cli", "weights", "import", str(made / IMPORTED)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert imported.returncode == 0, imported.stderr
    assert (runtime.home / "weights" / IMPORTED).is_file()

    ds = runtime.dataset("small", _small_csv())
    one_epoch = {"training": {"epochs": 1, "batch_size": 16}}
    codes = {
        "folder": READS_FOLDER,
        "refused": REFUSED_FOLDER.format(secret_path=str(secret_path)),
        "weights": PRETRAINED.format(alpha="1.0", expected=expected),
        "missing": PRETRAINED.format(alpha="0.75", expected=0.0),
    }
    out_ids = {}
    for name, code in codes.items():
        task = runtime.task(ds, "label", patch={**one_epoch, "code": {"architecture": code}})
        token = bob if name == "refused" else None
        r = api.post(f"{API}/ml-tasks/{task['id']}/train", json={}, token=token)
        assert r.status_code == 202, r.text
        out_ids[name] = r.json()["id"]
    return out_ids


def _final(runtime: Runtime, session_id: int) -> dict[str, Any]:
    return runtime.wait(session_id, timeout=300)


def test_a_cell_reads_a_managed_folder_through_dataiku_folder(runtime: Runtime, sessions: dict[str, int]) -> None:
    final = _final(runtime, sessions["folder"])
    assert final["status"] == "succeeded", (final["error"], runtime.log_tail())


def test_another_projects_folder_is_refused_by_name_and_absent_from_the_sandbox(
    runtime: Runtime, sessions: dict[str, int]
) -> None:
    final = _final(runtime, sessions["refused"])
    assert final["status"] == "failed", final
    error = final["error"]
    assert error["type"] == "FolderNotFound", error
    assert "OTHER.secret_weights" in error["message"] and error["cell"] == "architecture", error


def test_keras_application_weights_load_from_the_imported_store(runtime: Runtime, sessions: dict[str, int]) -> None:
    final = _final(runtime, sessions["weights"])
    assert final["status"] == "succeeded", (final["error"], runtime.log_tail())


def test_a_missing_weights_file_fails_naming_the_file_to_import(runtime: Runtime, sessions: dict[str, int]) -> None:
    final = _final(runtime, sessions["missing"])
    assert final["status"] == "failed", final
    message = final["error"]["message"]
    assert f"fitstudio weights import {MISSING}" in message, message
    assert "name resolution" not in message and "URL fetch failure" not in message, message
    assert final["error"]["type"] == "MissingWeights", final["error"]


def test_the_weights_store_is_read_only_in_the_sandbox(runtime: Runtime, sessions: dict[str, int]) -> None:
    # After the trainings, nothing was written into the store (only the imported file is there).
    _final(runtime, sessions["weights"])
    assert sorted(p.name for p in Path(runtime.home / "weights").iterdir()) == [IMPORTED]
