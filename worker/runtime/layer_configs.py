"""Custom layers and models whose `__init__` takes no `**kwargs`, as keras.io's examples write them, loaded anyway.

Keras 3 builds such a class's config by itself (its `__init__` arguments) and adds the base layer's `trainable` and
`dtype`; loading the saved file then calls `__init__(**config)`, which refuses those two keys. So a model with the
keras.io transformer block trained, and then could not be scored, exported or fine-tuned. A class a cell defines
gets a `from_config` that passes `__init__` only the keys it takes, and puts `trainable` back itself.
"""

from __future__ import annotations

import inspect
import sys
import types
from typing import Any

_MARK = "_fitstudio_lenient"


def _init_parameters(cls: type) -> dict[str, inspect.Parameter] | None:
    """The parameters of CLS.__init__ beyond self; None when it takes **kwargs (or cannot be read)."""
    try:
        params = dict(inspect.signature(cls.__init__).parameters)
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return None
    params.pop("self", None)
    return params


def _needs_leniency(obj: Any, module_name: str) -> bool:
    """Whether OBJ is a Keras layer (or model) class MODULE_NAME defines, with no from_config of its own or from a
    user's parent class, and an __init__ without **kwargs."""
    keras = sys.modules.get("keras")
    if keras is None or not inspect.isclass(obj) or obj.__module__ != module_name:
        return False
    if not issubclass(obj, keras.layers.Layer) or "from_config" in vars(obj):
        return False
    # A from_config the user wrote in a parent class is theirs to keep: only Keras's own is replaced.
    inherited = getattr(_original_from_config(obj), "__module__", "") or ""
    return inherited.startswith("keras") and _init_parameters(obj) is not None


def _original_from_config(cls: type) -> Any:
    """The first from_config above CLS in its MRO that is not a lenient one (Keras's own, or the user's)."""
    for base in cls.__mro__[1:]:
        method = vars(base).get("from_config")
        if method is not None and not getattr(method.__func__, _MARK, False):
            return method.__func__
    raise TypeError(f"{cls.__name__} has no from_config")  # every Keras layer inherits Operation's


def _lenient_from_config(cls: type, config: dict[str, Any], custom_objects: Any = None) -> Any:
    """CLS built from CONFIG with only the keys its __init__ takes; `trainable` set afterwards."""
    params = _init_parameters(cls) or {}
    kept = {k: v for k, v in config.items() if k in params}
    original = _original_from_config(cls)
    takes_objects = "custom_objects" in inspect.signature(original).parameters
    built = original(cls, kept, custom_objects=custom_objects) if takes_objects else original(cls, kept)
    if "trainable" in config and "trainable" not in params:
        built.trainable = bool(config["trainable"])
    return built


setattr(_lenient_from_config, _MARK, True)


def make_loadable(module: types.ModuleType) -> list[str]:
    """Give every class of MODULE that needs it the lenient from_config; the names of those classes."""
    names = []
    for obj in list(vars(module).values()):
        if _needs_leniency(obj, module.__name__):
            obj.from_config = classmethod(_lenient_from_config)
            names.append(obj.__name__)
    return names


def unloadable_by_keras(model: Any) -> list[str]:
    """The classes of MODEL's layers whose saved config Keras alone could not load (keys __init__ does not take)."""
    names: set[str] = set()
    for layer in _layers(model):
        method = vars(type(layer)).get("from_config")
        if method is None or not getattr(method.__func__, _MARK, False):
            continue
        try:
            extra = set(layer.get_config()) - set(_init_parameters(type(layer)) or {})
        except Exception:  # noqa: BLE001 - a config Keras cannot make fails the save itself, with its own message
            continue
        if extra:
            names.add(type(layer).__name__)
    return sorted(names)


def _layers(model: Any) -> list[Any]:
    """MODEL and every layer inside it, nested ones included."""
    flatten = getattr(model, "_flatten_layers", None)
    return list(flatten(include_self=True, recursive=True)) if flatten else [model]
