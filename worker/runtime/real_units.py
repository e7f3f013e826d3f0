"""The saved regression model predicts the real target: a final Rescaling layer undoes the target's scaling."""

from __future__ import annotations

from typing import Any

from core import target_scaling
from worker.runtime.errors import say

LAYER_NAME = "fitstudio_target_rescaling"


def in_real_units(model: Any, prep: dict[str, Any]) -> Any:
    """MODEL ending with Rescaling(std, mean) when PREP scales the target, recorded in PREP; else MODEL itself.

    Rescaling is a built-in, serialisable layer (no Lambda), so the file loads with safe_mode=True; a model whose
    graph cannot be extended (a subclassed model, several outputs) is saved as it is and scored as before."""
    scaling = target_scaling.of(prep)
    if scaling is None:
        return model
    import keras

    # float32 whatever the model's dtype policy: the target's mean and std need the precision.
    rescale = keras.layers.Rescaling(scale=scaling["std"], offset=scaling["mean"], dtype="float32", name=LAYER_NAME)
    try:
        inputs, outputs = model.inputs, model.outputs
        if not inputs or not outputs or len(outputs) != 1:
            raise ValueError("not one output")
        # A Sequential has inputs but no `input`; a functional model's `input` keeps its structure (names, dict).
        structure = inputs[0] if len(inputs) == 1 else model.input
        wrapped = keras.Model(structure, rescale(outputs[0]), name=model.name)
    except Exception as exc:  # noqa: BLE001 - a subclassed model has no graph to extend: saved as it is
        say(f"the saved model outputs the standardised target ({type(exc).__name__}); scoring undoes the scaling")
        return model
    scaling[target_scaling.IN_MODEL] = True
    return wrapped
