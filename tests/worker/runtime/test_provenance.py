"""worker/runtime/provenance.py: training.seed seeds Keras (the same seed, the same weights); null draws one."""

from __future__ import annotations

import platform
from typing import Any

import numpy as np

from core.contracts import Design
from worker.runtime import provenance


def _design(seed: Any) -> Design:
    settings = {"split": {"train_ratio": 0.8, "seed": 42}, "training": {"seed": seed}}
    return Design(settings=settings, target="y", prediction_type="binary")


def _initial_weights() -> np.ndarray:
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    return np.asarray(model.get_weights()[0])


def test_the_seed_fixes_the_initial_weights() -> None:
    seeds = provenance.apply_seeds(_design(7))
    first = _initial_weights()
    provenance.apply_seeds(_design(7))
    again = _initial_weights()
    provenance.apply_seeds(_design(8))
    other = _initial_weights()
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)  # another seed, other weights: the check above can fail
    assert seeds == {"split": 42, "tensorflow": 7, "tensorflow_drawn": False}


def test_a_null_seed_is_drawn_and_recorded() -> None:
    drawn = [provenance.apply_seeds(_design(None)) for _ in range(3)]
    assert all(d["tensorflow_drawn"] and d["split"] == 42 for d in drawn)
    assert len({d["tensorflow"] for d in drawn}) > 1  # drawn from 2**31 values each time
    first = _initial_weights()
    provenance.apply_seeds(_design(drawn[-1]["tensorflow"]))  # the recorded seed repeats the run
    np.testing.assert_array_equal(first, _initial_weights())


def test_environment_names_the_versions_in_use() -> None:
    import keras
    import pandas as pd
    import sklearn
    import tensorflow as tf

    env = provenance.environment()
    assert env["python"] == platform.python_version()
    assert (env["tensorflow"], env["keras"], env["numpy"]) == (tf.__version__, keras.__version__, np.__version__)
    assert (env["pandas"], env["scikit-learn"]) == (pd.__version__, sklearn.__version__)
    assert env["fitstudio"]
