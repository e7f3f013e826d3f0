"""The model the user's build_model returned, checked on one tiny batch before any training."""

from __future__ import annotations

from typing import Any

import numpy as np

from core.cells import ARCHITECTURE
from core.sequences import FEEDS_ARRAY, as_model_input, input_count, inputs_for
from worker.runtime import cells
from worker.runtime.errors import TrainingError, say


def _check_input_names(model: Any, expected: set[str]) -> None:
    """Several inputs must be named after the keys of input_shapes (a single input gets the array anyway)."""
    names = {getattr(t, "name", None) for t in (getattr(model, "inputs", None) or [])}
    one_to_one = len(names) == 1 and len(expected) == 1
    if names and None not in names and names != expected and not one_to_one:
        raise TrainingError(
            f"build_model returned a model with inputs {sorted(names)}, but the data provides {sorted(expected)}; "
            "name each Input after a key of input_shapes."
        )


def _check_width(width: int, prediction_type: str, n_classes: int) -> None:
    """The output width PREDICTION_TYPE needs (regression 1, binary 1 or 2, multiclass one per class)."""
    if prediction_type == "regression" and width != 1:
        raise TrainingError(f"Regression needs an output of width 1; the model's last layer has width {width}.")
    if prediction_type == "binary" and width not in (1, 2):
        raise TrainingError(
            f"Binary classification needs an output of width 1 (sigmoid) or 2 (softmax); the model's is {width}."
        )
    if prediction_type == "multiclass" and width != n_classes:
        raise TrainingError(
            f"This target has {n_classes} classes; the model's output has width {width}. "
            "Use Dense(n_classes, activation='softmax')."
        )


def check_output(model: Any, inputs: dict[str, np.ndarray], prediction_type: str, n_classes: int) -> int:
    """Run one tiny batch and check the output fits the prediction type; returns the output width."""
    _check_input_names(model, set(inputs))
    sample = {k: as_model_input(v[:2]) for k, v in inputs.items()}
    if len(sample) == 1 and input_count(model) is None and getattr(model, FEEDS_ARRAY, None) is None:
        out = _probe(model, sample)
    else:
        out = cells.call(ARCHITECTURE, model.predict_on_batch, inputs_for(model, sample))
    if isinstance(out, (list, tuple, dict)):
        raise TrainingError("The model has several outputs; fitstudio trains models with one output.")
    out = np.asarray(out)
    if out.ndim != 2:
        raise TrainingError(f"The model's output has shape {out.shape[1:]}; it must be 2-D (batch, width).")
    width = out.shape[1]
    _check_width(width, prediction_type, n_classes)
    return width


def _probe(model: Any, sample: dict[str, np.ndarray]) -> Any:
    """MODEL's output on SAMPLE (one input) when Keras cannot tell how many inputs the model takes (a subclassed
    model): the bare array first, else the dict (code written for DSS); what worked is remembered on the model."""
    array = next(iter(sample.values()))
    for feeds_array, x in ((True, array), (False, sample)):
        try:
            model(x, training=False)  # eager: a failed try leaves no traced predict function behind
        except Exception:  # noqa: BLE001 - the other way may work; if neither does, the first error is reported
            continue
        setattr(model, FEEDS_ARRAY, feeds_array)
        return cells.call(ARCHITECTURE, model.predict_on_batch, x)
    return cells.call(ARCHITECTURE, model.predict_on_batch, array)


def _each_loss(loss: Any) -> list[Any]:
    """The losses of a compiled LOSS: itself, or those of its list or dict (one per output)."""
    if isinstance(loss, dict):
        return list(loss.values())
    return list(loss) if isinstance(loss, (list, tuple)) else [loss]


def _from_logits(loss: Any) -> bool:
    """Whether the compiled LOSS (an object, a partial, or a list/dict of them) was told from_logits=True."""
    if isinstance(loss, (dict, list, tuple)):
        return any(_from_logits(v) for v in _each_loss(loss))
    try:
        config = loss.get_config() if hasattr(loss, "get_config") else getattr(loss, "keywords", None) or {}
    except (TypeError, NotImplementedError):
        return False
    return bool(config.get("from_logits")) if isinstance(config, dict) else False


def _loss_name(loss: Any) -> str:
    """The name of a compiled LOSS: the string, the function's, a partial's or a loss wrapper's function's, or the
    class's (an instance of a Keras loss class)."""
    if isinstance(loss, str):
        return loss
    fn = getattr(loss, "fn", None) or getattr(loss, "func", None) or loss  # LossFunctionWrapper, functools.partial
    return str(getattr(fn, "__name__", None) or type(loss).__name__)


def takes_class_indices(model: Any) -> bool:
    """Whether MODEL's compiled loss wants class indices rather than one-hot vectors: Keras's sparse categorical
    crossentropy, by its string, function or class (keras.io code compiles most classifiers with it)."""
    losses = _each_loss(getattr(model, "loss", None))
    return any(x is not None and "sparse" in _loss_name(x).lower() for x in losses)


def _linear_last_layer(model: Any) -> bool:
    """Whether MODEL's last layer has an activation and it is linear (Dense(n) without softmax or sigmoid)."""
    layers = getattr(model, "layers", None) or []
    activation = getattr(layers[-1], "activation", None) if layers else None
    return activation is not None and getattr(activation, "__name__", "") == "linear"


def output_activation(model: Any, prediction_type: str, width: int) -> str | None:
    """The activation a classifier's logits need ("sigmoid" for width 1, "softmax" else), None for probabilities:
    logits are told by from_logits=True in the compiled loss, or a linear last layer (code-cells.md)."""
    if prediction_type == "regression":
        return None
    if _from_logits(getattr(model, "loss", None)):
        why = "the loss is compiled with from_logits=True"
    elif _linear_last_layer(model):
        why = "the last layer has no softmax/sigmoid"
    else:
        return None
    activation = "sigmoid" if width == 1 else "softmax"
    say(f"the model outputs logits ({why}): the metrics and predictions apply {activation} to its output")
    return activation


# Scales that turn 0-255 pixels into [0, 1] or [-1, 1]: keras.io's examples load images as 0-255 and put one of
# them in the model (`layers.Rescaling(1.0 / 255)`, `Rescaling(scale=1 / 127.5, offset=-1)`).
PIXEL_SCALES = (1 / 255, 1 / 127.5)


def _all_layers(model: Any) -> list[Any]:
    """MODEL's layers, those of the models inside it too (keras.io's augmentation is a Sequential in the model)."""
    found = []
    for layer in getattr(model, "layers", None) or []:
        found += [layer, *_all_layers(layer)]
    return found


def pixel_rescaling(model: Any, shapes: dict[str, tuple[int, ...]]) -> list[str]:
    """The names of MODEL's Rescaling layers that scale 0-255 pixels when it has image inputs (SHAPES of three
    axes), which fitstudio already gives in [0, 1] (code-cells.md): such a layer squeezes them into [0, 1/255]."""
    if not any(len(shape) == 3 for shape in shapes.values()):
        return []
    return [
        layer.name
        for layer in _all_layers(model)
        if type(layer).__name__ == "Rescaling"
        and isinstance(getattr(layer, "scale", None), (int, float))
        and any(abs(layer.scale - scale) < 1e-9 for scale in PIXEL_SCALES)
    ]
