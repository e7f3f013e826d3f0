"""In the child: the site-wide weights store is the Keras cache, and a missing file names what to import.

Keras looks for application weights with `keras.utils.get_file(fname, origin, cache_subdir="models")`, in
`$KERAS_HOME/models/<fname>`, and downloads them when they are not there. `KERAS_HOME` is the training's own
writable `.keras` folder (Keras also keeps its `keras.json` there); its `models` entry is a link to the store,
which the sandbox shows read-only. `get_file` is wrapped so that a file of the store is used as it is (the store
holds what the operator imported: a hash that differs is reported in the log, not a reason to download) and a
file that is not there raises MissingWeights naming the file to import, instead of a download attempt that fails
with a DNS error in the sandbox's empty network.
"""

from __future__ import annotations

import inspect
import os
import sys
import urllib.parse
from pathlib import Path
from typing import Any


class MissingWeights(FileNotFoundError):
    """A Keras weights file is not in the site's weights store."""


_store: Path | None = None


def message(fname: str, origin: str | None) -> str:
    """What a user (or the operator) must do to provide FNAME."""
    where = f" (Keras downloads it from {origin})" if origin else ""
    return (
        f"The pre-trained weights file {fname!r} is not in this site's weights store, and trainings cannot "
        f"download it{where}. Ask an administrator to download it on a machine with internet access and run: "
        f"fitstudio weights import {fname} (or upload it on the Weights admin page); then train again."
    )


def _wrap(original: Any) -> Any:
    signature = inspect.signature(original)

    def get_file(*args: Any, **kwargs: Any) -> Any:
        store = _store
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError:
            return original(*args, **kwargs)
        bound.apply_defaults()
        params = bound.arguments
        if (
            store is None
            or params.get("cache_dir") is not None
            or params.get("cache_subdir") != "models"
            or params.get("extract")
            or params.get("untar")
            or params.get("force_download")
        ):
            return original(*args, **kwargs)
        origin = params.get("origin")
        fname = os.fspath(params.get("fname") or "") or os.path.basename(urllib.parse.urlsplit(origin or "").path)
        if not fname or os.sep in fname:
            return original(*args, **kwargs)
        path = store / fname
        if not path.is_file():
            raise MissingWeights(message(fname, origin))
        expected = params.get("file_hash") or params.get("md5_hash")
        if expected:
            _check_hash(path, str(expected), params.get("hash_algorithm") or "auto")
        return str(path)

    get_file.__wrapped__ = original  # type: ignore[attr-defined]
    get_file.__doc__ = original.__doc__
    return get_file


def _check_hash(path: Path, expected: str, algorithm: str) -> None:
    """Warn in the log when PATH's hash is not Keras's published one (the file is used anyway)."""
    try:
        from keras.src.utils.file_utils import validate_file

        if not validate_file(str(path), expected, algorithm=algorithm):
            print(
                f"[fitstudio] warning: weights file {path.name} from the weights store does not have the hash Keras "
                "publishes for it; using it as imported.",
                flush=True,
            )
    except Exception:  # noqa: BLE001 - a check that cannot run is no reason to fail the training
        pass


def install(store: str | None) -> None:
    """Make STORE the Keras cache of this process (`$KERAS_HOME/models`) and wrap `get_file` (child only)."""
    global _store
    if not store:
        return
    _store = Path(store)
    home = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras")
    try:
        home.mkdir(parents=True, exist_ok=True)
        models = home / "models"
        if not models.exists() and not models.is_symlink():
            models.symlink_to(_store, target_is_directory=True)
    except OSError as exc:
        print(f"[fitstudio] warning: cannot link the weights store into {home}: {exc}", flush=True)
    from keras.src.utils import file_utils

    original = getattr(file_utils.get_file, "__wrapped__", file_utils.get_file)
    wrapped = _wrap(original)
    # Every module that imported get_file by name (keras.utils, keras.src.utils, tf.keras's re-exports …).
    for name, module in list(sys.modules.items()):
        if not (name == "keras" or name.startswith(("keras.", "tensorflow", "tf_keras"))):
            continue
        namespace = getattr(module, "__dict__", None)  # never getattr on the module: lazy loaders would import
        if isinstance(namespace, dict) and namespace.get("get_file") is original:
            namespace["get_file"] = wrapped
    file_utils.get_file = wrapped
