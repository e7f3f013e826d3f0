"""A regression target's standard scaling: fitted on the train split, stored with the model, undone at prediction.

The model is trained on (y - mean) / std; its outputs are put back on the target's scale with output * std + mean.
The scaling lives in the trained model's preprocessing, under `target.scaling`; a model without it (trained
before target scaling existed) predicts on the original scale already, and is used as it is. The saved model file
ends with a Keras `Rescaling` layer that undoes the scaling itself, so a downloaded model predicts the real target;
the scaling then says so with `in_model: true`, and scoring does not undo it twice. A model saved before that
(no `in_model`) still outputs the scaled target, and scoring undoes it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

KEY = "scaling"
IN_MODEL = "in_model"  # the saved model's last layer undoes the scaling: its outputs are on the target's scale


def fit(values: Any) -> dict[str, Any]:
    """The standard scaling of the regression target VALUES (non-numbers ignored; std 1 when constant)."""
    y = np.asarray(values, dtype="float64").reshape(-1)
    y = y[np.isfinite(y)]
    mean = float(y.mean()) if y.size else 0.0
    std = float(y.std()) if y.size > 1 else 0.0
    return {"method": "standard", "mean": mean, "std": std if std > 1e-12 else 1.0}


def of(prep: dict[str, Any] | None) -> dict[str, Any] | None:
    """The target scaling stored in the preprocessing PREP, or None (classification, or an older model)."""
    target = (prep or {}).get("target") or {}
    scaling = target.get(KEY)
    return scaling if isinstance(scaling, dict) else None


def scale(y: np.ndarray, scaling: dict[str, Any] | None) -> np.ndarray:
    """Targets Y as the model is trained on them."""
    if scaling is None:
        return y
    return ((np.asarray(y, dtype="float64") - scaling["mean"]) / scaling["std"]).astype(np.asarray(y).dtype)


def unscale(output: np.ndarray, scaling: dict[str, Any] | None) -> np.ndarray:
    """A model's OUTPUT back on the target's original scale."""
    if scaling is None:
        return output
    return np.asarray(output, dtype="float64") * scaling["std"] + scaling["mean"]


def saved_output_to_target(output: np.ndarray, prep: dict[str, Any] | None) -> np.ndarray:
    """A saved model's OUTPUT on the target's scale: unscaled unless the model does it itself (IN_MODEL)."""
    scaling = of(prep)
    if scaling is None or scaling.get(IN_MODEL):
        return np.asarray(output, dtype="float64")
    return unscale(output, scaling)
