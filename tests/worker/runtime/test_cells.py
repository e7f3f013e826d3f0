"""worker/runtime/cells.py: loading cells, errors mapped to cell and line, the DSS aliases."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import numpy as np
import pytest

from worker.runtime import cells
from worker.runtime.cells import CellError

# ----------------------------------------------------------------------------- load / call errors


def test_syntax_error_gives_cell_and_line() -> None:
    source = "import math\n\ndef build_model(input_shapes, n_classes):\n    return [1, 2\n\nx = 3\n"
    with pytest.raises(CellError) as err:
        cells.load_cell("architecture", source)
    info = err.value.info
    assert info["type"] == "SyntaxError"
    assert info["cell"] == "architecture"
    assert info["line"] == 4
    assert info["message"]


def test_error_while_executing_the_module_gives_its_line() -> None:
    with pytest.raises(CellError) as err:
        cells.load_cell("training", "a = 1\nb = 2\nc = a / 0\n")
    info = err.value.info
    assert (info["type"], info["cell"], info["line"]) == ("ZeroDivisionError", "training", 3)


ARCH = """\
import json


def helper(value):
    if value > 1:
        raise RuntimeError(f"value {value} is too large")
    return value


def build_model(input_shapes, n_classes):
    x = 1
    return helper(n_classes)


def parse(text):
    return json.loads(text)
"""


def test_runtime_error_in_a_called_function_points_at_the_raise() -> None:
    module = cells.load_cell("architecture", ARCH)
    assert cells.call("architecture", module.build_model, {}, 1) == 1
    with pytest.raises(CellError) as err:
        cells.call("architecture", module.build_model, {}, 5)
    info = err.value.info
    assert info["type"] == "RuntimeError"
    assert info["message"] == "value 5 is too large"
    assert info["cell"] == "architecture"
    assert info["line"] == 6  # the raise inside helper()
    tb = info["traceback"]
    assert tb.startswith('  File "<cell:architecture>", line 12, in build_model')
    assert '"<cell:architecture>", line 6, in helper' in tb
    assert "raise RuntimeError" in tb  # the cell's source line is shown
    assert tb.rstrip().endswith("RuntimeError: value 5 is too large")
    assert "test_cells.py" not in tb.split("... in library code:")[0]


def test_error_inside_library_code_points_at_the_cells_calling_line() -> None:
    module = cells.load_cell("architecture", ARCH)
    with pytest.raises(CellError) as err:
        cells.call("architecture", module.parse, "{not json")
    info = err.value.info
    assert info["type"] == "JSONDecodeError"
    assert info["cell"] == "architecture"
    assert info["line"] == 16
    tb = info["traceback"]
    assert tb.startswith('  File "<cell:architecture>", line 16, in parse')
    assert "... in library code:" in tb
    assert tb.index("<cell:architecture>") < tb.index("json")


def test_error_in_another_cell_names_that_cell() -> None:
    arch = cells.load_cell("architecture", ARCH)
    training = cells.load_cell(
        "training",
        "def fit_model(model, train_sequence, validation_sequence, base_callbacks):\n"
        "    return model(train_sequence)\n",
    )
    with pytest.raises(CellError) as err:
        cells.call("training", training.fit_model, lambda n: arch.helper(n), 9, None, [])
    assert err.value.info["cell"] == "architecture"
    assert err.value.info["line"] == 6


def test_error_outside_any_cell_frame_keeps_the_default_cell() -> None:
    def not_user_code() -> None:
        raise ValueError("nope")

    with pytest.raises(CellError) as err:
        cells.call("custom_score", not_user_code)
    assert err.value.info["cell"] == "custom_score"
    assert err.value.info["line"] is None


def test_system_exit_in_a_cell_is_a_cell_error() -> None:
    module = cells.load_cell("training", "import sys\n\ndef fit_model(a, b, c, d):\n    sys.exit(3)\n")
    with pytest.raises(CellError) as err:
        cells.call("training", module.fit_model, 1, 2, 3, 4)
    assert err.value.info["type"] == "SystemExit"
    assert err.value.info["line"] == 4


def test_empty_message_falls_back_to_the_type() -> None:
    module = cells.load_cell("architecture", "def build_model(a, b):\n    raise KeyError\n")
    with pytest.raises(CellError) as err:
        cells.call("architecture", module.build_model, 1, 2)
    assert err.value.info["message"] == "KeyError"


def test_require() -> None:
    module = cells.load_cell("architecture", ARCH)
    assert cells.require(module, "architecture", ["build_model", "helper"]) == [module.build_model, module.helper]
    with pytest.raises(CellError) as err:
        cells.require(module, "architecture", ["build_model", "compile_model"])
    assert err.value.info["type"] == "MissingFunction"
    assert "compile_model" in err.value.info["message"]


def test_cells_are_separate_modules() -> None:
    one = cells.load_cell("architecture", "X = 1\n")
    two = cells.load_cell("training", "X = 2\n")
    assert (one.X, two.X) == (1, 2)


# ----------------------------------------------------------------------------- DSS aliases


@pytest.fixture
def aliases() -> Iterator[None]:
    """install_aliases() for one test, then undo it (it is meant for the child process only)."""
    import keras
    import keras.preprocessing.image as keras_image

    meta_path = list(sys.meta_path)
    had = {name: name in vars(keras.Model) for name in ("fit_generator", "evaluate_generator", "predict_generator")}
    had_generator = hasattr(keras_image, "ImageDataGenerator")
    cells.install_aliases()
    yield
    sys.meta_path[:] = meta_path
    for name, present in had.items():
        if not present and name in vars(keras.Model):
            delattr(keras.Model, name)
    if not had_generator and hasattr(keras_image, "ImageDataGenerator"):
        del keras_image.ImageDataGenerator
    for name in [m for m in sys.modules if m == "dataiku" or m.startswith("dataiku.")]:
        del sys.modules[name]


def test_dss_module_paths_import_inside_cells(aliases: None) -> None:
    from fitstudio.deep_learning import load_model, sequences, shared_variables

    module = cells.load_cell(
        "training",
        "from dataiku.doctor.deep_learning.shared_variables import get_variable\n"
        "from dataiku.doctor.deep_learning.sequences import DataAugmentationSequence\n"
        "from dataiku.doctor.deep_learning.load_model import get_keras_model_from_saved_model\n"
        "import dataiku.doctor.deep_learning.sequences as seqs\n",
    )
    assert module.get_variable is shared_variables.get_variable
    assert module.DataAugmentationSequence is sequences.DataAugmentationSequence
    assert module.get_keras_model_from_saved_model is load_model.get_keras_model_from_saved_model
    assert module.seqs is sequences


def test_install_aliases_twice_adds_one_finder(aliases: None) -> None:
    cells.install_aliases()
    finders = [f for f in sys.meta_path if type(f).__name__ == "_AliasFinder"]
    assert len(finders) == 1


def test_other_dataiku_modules_stay_unknown(aliases: None) -> None:
    with pytest.raises(CellError) as err:
        cells.load_cell("training", "x = 1\nimport dataiku.doctor.deep_learning.nothing_here\n")
    assert err.value.info["type"] == "ModuleNotFoundError"
    assert err.value.info["line"] == 2


def test_fit_generator_exists_and_trains(aliases: None) -> None:
    import keras

    assert hasattr(keras.Model, "fit_generator")
    assert hasattr(keras.Model, "predict_generator")
    assert hasattr(keras.Model, "evaluate_generator")

    from core.sequences import ArraySequence

    inputs = keras.Input(shape=(2,), name="main")
    model = keras.Model(inputs={"main": inputs}, outputs=keras.layers.Dense(1)(inputs))
    model.compile(optimizer="sgd", loss="mse")
    seq = ArraySequence({"main": np.ones((8, 2), "float32")}, np.zeros((8, 1), "float32"), 4)
    # DSS-era keyword arguments that keras 3's fit() no longer takes are dropped.
    history = model.fit_generator(seq, epochs=2, verbose=0, workers=2, use_multiprocessing=False, max_queue_size=4)
    assert len(history.history["loss"]) == 2
    assert model.predict_generator(seq, verbose=0, workers=1).shape == (8, 1)


def test_keras_image_data_generator_import_of_dss_examples(aliases: None) -> None:
    # DSS's "Advanced topics" examples import ImageDataGenerator from keras.preprocessing.image.
    module = cells.load_cell("training", "from keras.preprocessing.image import ImageDataGenerator\n")
    generator = module.ImageDataGenerator(horizontal_flip=True)
    image = np.arange(2 * 3 * 3, dtype="float32").reshape(2, 3, 3)
    assert generator.random_transform(image).shape == image.shape
