"""A trained model's layer summary (GET /trained-models/{tmid}/summary), read safely and cached by file digest."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from server.errors import ApiError
from server.models import TrainedModel
from server.services import model_files
from server.settings import Settings

CACHE_SIZE = 256  # summaries are small; keyed by the file's SHA-256, so a rewritten file is read again
_cache: OrderedDict[str, dict[str, Any] | ApiError] = OrderedDict()
_cache_lock = threading.Lock()
_load_lock = threading.Lock()  # one model loaded at a time: a page burst never holds several big models in memory
loads = 0  # how many times a model file was read for its summary (tests check the cache with it)


def of(settings: Settings, model: TrainedModel) -> dict[str, Any]:
    """{layers: [{name, type, output_shape, params, trainable, inbound}], params, trainable_params} of MODEL's file."""
    path = settings.artifacts / model.path
    digest = model_files.verify_digest(path, f"trained model {model.id}")
    answer = _cached(digest)
    if answer is None:
        with _load_lock:
            answer = _cached(digest) or _compute(path, model.id)
        with _cache_lock:
            _cache[digest] = answer
            while len(_cache) > CACHE_SIZE:
                _cache.popitem(last=False)
    if isinstance(answer, ApiError):
        raise answer
    return answer


def _compute(path: Path, model_id: str) -> dict[str, Any] | ApiError:
    """The summary, or the 409 to answer (remembered too: a model that cannot load is not read on every view)."""
    if not model_files.looks_like_keras(path):
        return ApiError(409, "model_not_loadable", f"Trained model {model_id}'s file is not a .keras archive.")
    try:
        return summarize(_load(path, model_id))
    except ApiError as exc:
        return exc


def _cached(digest: str) -> dict[str, Any] | ApiError | None:
    with _cache_lock:
        if digest in _cache:
            _cache.move_to_end(digest)
            return _cache[digest]
    return None


def _load(path: Path, model_id: str) -> Any:
    """The Keras model at PATH, loaded with safe_mode (no code from the file) and without its training config."""
    global loads
    import keras

    try:
        model = keras.models.load_model(path, compile=False, safe_mode=True)
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - every failure is the file's, answered as a 409 with its reason
        raise not_loadable(model_id, exc) from None
    loads += 1
    return model


def user_code_reason(exc: BaseException) -> str | None:
    """Why a safe load failed when the model needs code from its training (custom objects, Lambda), else None."""
    text = str(exc)
    found = re.search(r"Could not locate (class|function) '([^']+)'", text)
    if found:
        return f"it uses the custom {found.group(1)} {found.group(2)!r} defined in the training's code"
    if "Lambda" in text or "safe_mode" in text:
        return "it has a Lambda layer holding Python code"
    if "register_keras_serializable" in text or "could not be deserialized" in text:
        return "it uses custom layers or objects defined in the training's code"
    return None


def not_loadable(model_id: str, exc: BaseException) -> ApiError:
    """409 model_not_loadable: the API never runs user code, so a model that needs some cannot be read here."""
    text = str(exc)
    why = user_code_reason(exc)
    if why is None:
        first = text.strip().splitlines()[0] if text.strip() else ""
        why = f"Keras cannot load it ({type(exc).__name__}: {first[:200]})"
    return ApiError(
        409,
        "model_not_loadable",
        f"The summary of trained model {model_id} cannot be computed: {why}, and the API never runs user code. "
        "Load the model in a code cell (get_keras_model_from_trained_model) and call model.summary() there.",
    )


def summarize(model: Any) -> dict[str, Any]:
    """The summary of a loaded Keras model: its top-level layers, then the totals Keras counts."""
    layers = [_layer(layer) for layer in model.layers]
    for layer, edges in zip(layers, inbound_names(model), strict=True):
        layer["inbound"] = edges
    trainable = sum(_size(w) for w in model.trainable_weights)
    return {"layers": layers, "params": int(model.count_params()), "trainable_params": int(trainable)}


def _layer(layer: Any) -> dict[str, Any]:
    return {
        "name": layer.name,
        "type": type(layer).__name__,
        "output_shape": output_shape(layer),
        "params": int(layer.count_params()) if layer.built else 0,
        "trainable": bool(layer.trainable),
    }


def inbound_names(model: Any) -> list[list[str]]:
    """For each of MODEL's top-level layers, the layers whose outputs it reads (the edges of the model's graph)."""
    import keras

    layers = list(model.layers)
    if isinstance(model, keras.Sequential):  # its InputLayer is not in model.layers: each layer reads the previous
        return [[] if i == 0 else [layers[i - 1].name] for i in range(len(layers))]
    known = {layer.name for layer in layers}
    return [_inbound(layer, known) for layer in layers]


def _inbound(layer: Any, known: set[str]) -> list[str]:
    """The names of the layers feeding LAYER, in call order, once each; only those of this model (shared layers)."""
    names: list[str] = []
    for node in getattr(layer, "_inbound_nodes", None) or []:
        for tensor in getattr(node, "input_tensors", None) or []:
            history = getattr(tensor, "_keras_history", None)
            name = getattr(getattr(history, "operation", None), "name", None)
            if name in known and name not in names:
                names.append(name)
    return names


def _size(weight: Any) -> int:
    size = 1
    for dim in weight.shape:
        size *= int(dim)
    return size


def _dims(shape: Any) -> list[int | None]:
    return [None if d is None else int(d) for d in shape]


def output_shape(layer: Any) -> list[Any] | None:
    """The layer's output shape ([None, 64]), a list of shapes for several outputs, None when Keras cannot tell."""
    try:
        nodes = layer._inbound_nodes  # as keras.utils.summary_utils reads it: the shapes of the built graph
        if nodes:
            outputs = nodes[0].output_tensors
            shapes = [_dims(t.shape) for t in outputs]
        else:
            built = layer.compute_output_shape(**layer._build_shapes_dict)
            several = bool(built) and isinstance(built[0], (tuple, list))
            shapes = [_dims(s) for s in built] if several else [_dims(built)]
    except (AttributeError, TypeError, ValueError, NotImplementedError, IndexError, KeyError):
        return None
    return shapes[0] if len(shapes) == 1 else shapes
