"""Run the user's code cells: load them as modules, map errors to cell and line, provide DSS aliases."""

from __future__ import annotations

import errno
import importlib
import importlib.abc
import importlib.util
import linecache
import sys
import traceback
import types
from collections.abc import Sequence
from typing import Any

from core.contracts import ErrorInfo
from fitstudio.folders import Folder
from worker.runtime import keras3, layer_configs

CELL_PREFIX = "<cell:"

# Inside code cells only: DSS's module paths resolve to ours.
ALIASES = {
    "dataiku.doctor.deep_learning.sequences": "fitstudio.deep_learning.sequences",
    "dataiku.doctor.deep_learning.load_model": "fitstudio.deep_learning.load_model",
    "dataiku.doctor.deep_learning.shared_variables": "fitstudio.deep_learning.shared_variables",
}
_PACKAGES = ("dataiku", "dataiku.doctor", "dataiku.doctor.deep_learning")


class CellError(Exception):
    """An error raised by (or while loading) user code, with where it happened in which cell."""

    def __init__(self, error: ErrorInfo):
        super().__init__(error.message)
        self.error = error

    @property
    def info(self) -> dict[str, Any]:
        """The error as the JSON object error.json holds."""
        return self.error.as_dict()


def _filename(cell: str) -> str:
    return f"{CELL_PREFIX}{cell}>"


class _AliasFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Resolves the dataiku.* aliases to fitstudio modules."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname in ALIASES or fullname in _PACKAGES:
            return importlib.util.spec_from_loader(fullname, self, is_package=fullname in _PACKAGES)
        return None

    def create_module(self, spec: Any) -> types.ModuleType:
        if spec.name in ALIASES:
            return importlib.import_module(ALIASES[spec.name])
        module = types.ModuleType(spec.name)
        module.__path__ = []  # a namespace for the aliases below it
        if spec.name == "dataiku":  # dataiku.Folder("resnet_weights").get_path() runs unchanged (data.md)
            module.Folder = Folder  # type: ignore[attr-defined]
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        return None


def install_aliases() -> None:
    """Make the dataiku.* paths importable and Keras 2's *_generator methods available (child only)."""
    if not any(isinstance(f, _AliasFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _AliasFinder())
    import keras

    # DSS's examples import the legacy ImageDataGenerator from keras.preprocessing.image, which keras 3
    # no longer exports there (only tensorflow.keras does): put it back for code cells.
    try:
        import keras.preprocessing.image as keras_image

        if not hasattr(keras_image, "ImageDataGenerator"):
            from keras.src.legacy.preprocessing.image import ImageDataGenerator

            keras_image.ImageDataGenerator = ImageDataGenerator
    except ImportError:
        pass

    _GEN_ONLY = ("max_queue_size", "workers", "use_multiprocessing")

    def _drop(kwargs: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in kwargs.items() if k not in _GEN_ONLY}

    def fit_generator(self: Any, generator: Any, *args: Any, **kwargs: Any) -> Any:
        return self.fit(generator, *args, **_drop(kwargs))

    def evaluate_generator(self: Any, generator: Any, *args: Any, **kwargs: Any) -> Any:
        return self.evaluate(generator, *args, **_drop(kwargs))

    def predict_generator(self: Any, generator: Any, *args: Any, **kwargs: Any) -> Any:
        return self.predict(generator, *args, **_drop(kwargs))

    for name, fn in (
        ("fit_generator", fit_generator),
        ("evaluate_generator", evaluate_generator),
        ("predict_generator", predict_generator),
    ):
        if not hasattr(keras.Model, name):
            setattr(keras.Model, name, fn)


def load_cell(cell: str, source: str) -> types.ModuleType:
    """Execute SOURCE as the module of CELL; errors become CellError with the line."""
    filename = _filename(cell)
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    module = types.ModuleType(f"fitstudio_cell_{cell}")
    module.__file__ = filename
    try:
        code = compile(source, filename, "exec")
    except SyntaxError as exc:
        raise CellError(ErrorInfo("SyntaxError", exc.msg, cell, exc.lineno)) from None
    try:
        exec(code, module.__dict__)
        # Its layers without **kwargs load from the saved file (layer_configs.py). Inside the try: the cell's
        # classes may answer inspection with any exception, which is the cell's error.
        layer_configs.make_loadable(module)
    except BaseException as exc:
        raise CellError(describe(exc, default_cell=cell)) from None
    return module


def call(cell: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Call a function of a cell; its exceptions become CellError pointing into the cell."""
    try:
        return fn(*args, **kwargs)
    except CellError:
        raise
    except BaseException as exc:  # SystemExit from user code is a failure of the cell too
        raise CellError(describe(exc, default_cell=cell)) from None


def require(module: types.ModuleType, cell: str, names: Sequence[str]) -> list[Any]:
    """The named functions of a cell module; CellError naming the first one missing."""
    out = []
    for name in names:
        fn = getattr(module, name, None)
        if not callable(fn):
            raise CellError(ErrorInfo("MissingFunction", f"The {cell} cell must define {name}().", cell, 1))
        out.append(fn)
    return out


def describe(exc: BaseException, default_cell: str | None = None) -> ErrorInfo:
    """Type, message, cell, line (in that cell) and a traceback with the user's frames first."""
    frames = traceback.extract_tb(exc.__traceback__)
    user = [f for f in frames if f.filename.startswith(CELL_PREFIX)]
    cell, line = default_cell, None
    if user:
        last = user[-1]
        cell = last.filename[len(CELL_PREFIX) : -1]
        line = last.lineno
    elif isinstance(exc, SyntaxError) and exc.filename and exc.filename.startswith(CELL_PREFIX):
        cell, line = exc.filename[len(CELL_PREFIX) : -1], exc.lineno
    user_lines = traceback.format_list(user)
    other = traceback.format_list([f for f in frames if not f.filename.startswith(CELL_PREFIX)][-8:])
    text = "".join(user_lines)
    if other:
        text += "  ... in library code:\n" + "".join(other)
    text += "".join(traceback.format_exception_only(type(exc), exc))
    message = _disk_full_hint(exc) + (str(exc)[:2000] or type(exc).__name__)
    fix = keras3.hint(exc)  # DSS-era Keras 2 code: the sentence that names the fix
    if fix:
        message, text = f"{message}\n{fix}", f"{text}{fix}\n"
    return ErrorInfo(type(exc).__name__, message, cell, line, text[-6000:])


def _disk_full_hint(exc: BaseException) -> str:
    """A sentence naming the full disk before the system's own message (ENOSPC reads like a code bug otherwise)."""
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        where = f" while writing {exc.filename}" if exc.filename else ""
        return f"The disk is full{where}: free space where fitstudio keeps its files, or write less. "
    return ""
