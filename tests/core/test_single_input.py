"""A model with exactly one input receives that input's array whatever it is named (code-cells.md); multi-input
models keep the dict of named inputs. One helper (core.sequences.inputs_for) decides for the fit data, the
sequences, the metrics, the dry run and scoring."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import pytest

from core.sequences import FEEDS_ARRAY, ArraySequence, input_count, inputs_for, takes_array
from fitstudio.deep_learning.sequences import DataAugmentationSequence
from worker.runtime import model_check
from worker.runtime.callbacks import EvalSet
from worker.runtime.fit import fast_training_data, gathered_batches

MAIN = {"main": np.random.default_rng(0).random((12, 4)).astype("float32")}


def _unbuilt_sequential() -> keras.Model:
    # keras.io "Writing your own callbacks" (https://keras.io/guides/writing_your_own_callbacks/): no Input.
    model = keras.Sequential()
    model.add(keras.layers.Dense(1))
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=0.1), loss="mean_squared_error")
    return model


def _functional(*names: str) -> keras.Model:
    inputs = [keras.Input((4,), name=n) for n in names]
    x = inputs[0] if len(inputs) == 1 else keras.layers.Concatenate()(inputs)
    model = keras.Model(inputs[0] if len(inputs) == 1 else inputs, keras.layers.Dense(1)(x))
    model.compile(optimizer="adam", loss="mse")
    return model


class DictModel(keras.Model):
    """A subclassed model written for DSS: it indexes its inputs by name."""

    def __init__(self) -> None:
        super().__init__()
        self.dense = keras.layers.Dense(1)

    def call(self, inputs: Any) -> Any:
        return self.dense(inputs["main"])


class ArrayModel(keras.Model):
    """A subclassed model written as keras.io does: it takes a tensor."""

    def __init__(self) -> None:
        super().__init__()
        self.dense = keras.layers.Dense(1)

    def call(self, inputs: Any) -> Any:
        return self.dense(inputs)


def test_input_count() -> None:
    assert input_count(_unbuilt_sequential()) == 1  # no model.inputs yet: a Sequential has one input anyway
    assert input_count(_functional("main")) == 1
    assert input_count(_functional("a", "b")) == 2
    assert input_count(ArrayModel()) is None


def test_one_input_gets_the_array_whatever_its_name_several_keep_the_dict() -> None:
    for model in (_unbuilt_sequential(), _functional("anything"), ArrayModel()):
        assert takes_array(model, MAIN)
        assert inputs_for(model, MAIN) is MAIN["main"]
    # An input named as the data's keeps code-cells.md's (inputs_dict, targets): DSS cells read batch[0]["main"].
    assert not takes_array(_functional("main"), MAIN)
    assert inputs_for(_functional("main"), MAIN) is MAIN
    two = {"a": MAIN["main"], "b": MAIN["main"]}
    model = _functional("a", "b")
    assert not takes_array(model, two)
    assert inputs_for(model, two) is two
    assert not takes_array(_unbuilt_sequential(), two)  # the data has two inputs: Keras says what is wrong


@pytest.mark.parametrize("build", [_unbuilt_sequential, lambda: _functional("input_layer")])
def test_check_output_accepts_a_single_input_of_any_name(build: Any) -> None:
    model = build()
    assert model_check.check_output(model, MAIN, "regression", 1) == 1


def test_check_output_still_names_a_mismatch_between_several_inputs() -> None:
    data = {"main": MAIN["main"], "text_preprocessed": MAIN["main"]}
    with pytest.raises(model_check.TrainingError, match="name each Input"):
        model_check.check_output(_functional("a", "b"), data, "regression", 1)


def test_a_subclassed_model_is_probed_once_and_fed_the_way_that_works() -> None:
    dict_model, array_model = DictModel(), ArrayModel()
    assert model_check.check_output(dict_model, MAIN, "regression", 1) == 1
    assert getattr(dict_model, FEEDS_ARRAY) is False
    assert inputs_for(dict_model, MAIN) is MAIN
    assert model_check.check_output(array_model, MAIN, "regression", 1) == 1
    assert getattr(array_model, FEEDS_ARRAY) is True
    for model in (dict_model, array_model):
        out = EvalSet(MAIN, np.zeros(12)).predict(model)
        assert out.shape == (12, 1)


def test_sequences_fit_and_metrics_with_an_unbuilt_sequential() -> None:
    model = _unbuilt_sequential()
    single = takes_array(model, MAIN)
    y = np.ones((12, 1), "float32")
    seq = ArraySequence(MAIN, y, 5, single_input=single)
    x0, y0 = seq[0]
    assert isinstance(x0, np.ndarray) and x0.shape == (5, 4) and y0.shape == (5, 1)
    model.fit(seq, epochs=1, verbose=0)  # the KeyError of issue 15 came from here
    assert EvalSet(MAIN, np.zeros(12)).predict(model).shape == (12, 1)
    fit = fast_training_data(MAIN, y, {"batch_size": 4, "shuffle": True, "steps_per_epoch": None}, 0, single)
    x0, y0 = next(iter(fit["x"]))  # Keras's own feed of the arrays: the one input bare
    assert tuple(x0.shape) == (4, 4) and tuple(y0.shape) == (4, 1)
    model.fit(**fit, epochs=1, verbose=0)


def test_gathered_batches_of_images_for_a_single_input_model() -> None:
    images = {"image_preprocessed": np.full((6, 2, 2, 1), 255, "uint8")}
    ds = gathered_batches(images, np.zeros((6, 1), "float32"), 4, False, 0, single_input=True)
    x, _y = next(iter(ds))
    assert tuple(x.shape) == (4, 2, 2, 1) and float(np.max(x)) == 1.0


def test_a_multi_input_sequence_keeps_named_inputs() -> None:
    data = {"a": MAIN["main"], "b": MAIN["main"]}
    x, _ = ArraySequence(data, np.zeros(12), 4, single_input=True)[0]  # two inputs: never bare
    assert set(x) == {"a", "b"}


def test_augmentation_wraps_a_single_input_sequence() -> None:
    class Flip:
        def random_transform(self, x: np.ndarray, seed: Any = None) -> np.ndarray:
            return x[::-1]

    seq = ArraySequence(MAIN, np.zeros((12, 1)), 4, single_input=True)
    x, y = DataAugmentationSequence(seq, "main", Flip(), n_augmentation=2)[0]
    assert isinstance(x, np.ndarray) and len(x) == len(y)
    with pytest.raises(KeyError, match="not one of the sequence's inputs"):
        DataAugmentationSequence(seq, "image", Flip())[0]
