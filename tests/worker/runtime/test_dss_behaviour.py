"""Issue 22, unit level with real Keras: text padding at the start, logits detected and activated, the user's
validation sequence read for the metrics, and the Keras 2 → Keras 3 hints with their cell and line."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from core import metrics, text_inputs
from core.sequences import ArraySequence
from worker.runtime import cells, keras3
from worker.runtime.callbacks import BaseCallback, EvalSet, RunState, Scoring
from worker.runtime.eval_sequence import SequenceEvalSet, user_validation
from worker.runtime.model_check import output_activation

TEXTS = pd.Series(["a b c d e f", "b c", None, "z z z a", "f e d c b a z"])


def test_text_ids_are_padded_and_truncated_at_the_start_as_pad_sequences() -> None:
    spec = text_inputs.fit_text(TEXTS, {"max_tokens": 100, "sequence_length": 4})
    assert spec["padding"] == "pre"
    ids = text_inputs.text_ids(TEXTS, spec)
    # The same ids unpadded (TextVectorization without a length pads the batch at the end with 0, never an id).
    ragged = text_inputs.text_ids(TEXTS, {**spec, "padding": "post", "sequence_length": 10})
    unpadded = [[int(t) for t in row if t] for row in ragged]
    expected = keras.utils.pad_sequences(unpadded, maxlen=4, padding="pre", truncating="pre", dtype="int32")
    np.testing.assert_array_equal(ids, expected)
    assert ids.dtype == np.int32 and ids[2].tolist() == [0, 0, 0, 0]


def test_a_model_trained_before_keeps_end_padding() -> None:
    spec = text_inputs.fit_text(TEXTS, {"max_tokens": 100, "sequence_length": 4})
    old = {k: v for k, v in spec.items() if k != "padding"}  # a record stored before issue 22
    ids = text_inputs.text_ids(TEXTS, old)
    assert ids[1].tolist()[2:] == [0, 0] and ids[1][0] != 0  # "b c" then padding at the end
    new = text_inputs.text_ids(TEXTS, spec)
    assert new[1].tolist()[:2] == [0, 0] and new[1].tolist()[2:] == ids[1].tolist()[:2]


def test_text_ids_in_chunks_match_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = text_inputs.fit_text(TEXTS, {"max_tokens": 100, "sequence_length": 3})
    whole = text_inputs.text_ids(TEXTS, spec)
    monkeypatch.setattr(text_inputs, "TEXT_CHUNK_ROWS", 2)
    np.testing.assert_array_equal(text_inputs.text_ids(TEXTS, spec), whole)


def test_activated() -> None:
    soft = metrics.activated(np.array([[1000.0, -1000.0], [0.0, 0.0], [1.0, 2.0]]), "softmax")
    np.testing.assert_allclose(soft.sum(axis=1), 1.0)
    np.testing.assert_allclose(soft[1], [0.5, 0.5])
    sig = metrics.activated(np.array([[-1000.0], [0.0], [2.0]]), "sigmoid")
    np.testing.assert_allclose(sig[:, 0], [0.0, 0.5, 1 / (1 + np.exp(-2.0))])
    raw = np.array([[0.2, 0.8]])
    assert metrics.activated(raw, None) is raw


def _model(last_activation: str | None, loss: Any, width: int = 2) -> keras.Model:
    inputs = keras.Input(shape=(3,), name="main")
    model = keras.Model(inputs, keras.layers.Dense(width, activation=last_activation)(inputs))
    model.compile(optimizer="adam", loss=loss)
    return model


@pytest.mark.parametrize(
    ("last", "loss", "width", "prediction_type", "expected"),
    [
        ("softmax", "categorical_crossentropy", 2, "binary", None),
        (None, keras.losses.CategoricalCrossentropy(from_logits=True), 3, "multiclass", "softmax"),
        (None, keras.losses.BinaryCrossentropy(from_logits=True), 1, "binary", "sigmoid"),
        (None, "categorical_crossentropy", 2, "binary", "softmax"),  # a linear last layer on a classification
        ("softmax", keras.losses.CategoricalCrossentropy(from_logits=True), 2, "binary", "softmax"),
        (None, "mse", 1, "regression", None),
    ],
)
def test_logits_are_detected(
    last: str | None, loss: Any, width: int, prediction_type: str, expected: str | None, capsys: Any
) -> None:
    model = _model(last, loss, width)
    assert output_activation(model, prediction_type, width) == expected
    if expected:
        assert f"apply {expected}" in capsys.readouterr().out


def _counting_sequence(inputs: dict[str, np.ndarray], targets: np.ndarray, batch_size: int) -> Any:
    class Counting(ArraySequence):
        reads = 0

        def __getitem__(self, index: int) -> Any:
            Counting.reads += 1
            return super().__getitem__(index)

    return Counting(inputs, targets, batch_size)


def test_metrics_are_computed_on_the_users_validation_sequence() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(50, 3)).astype("float32")
    labels = (x[:, 0] > 0).astype(int)
    model = _model("softmax", "categorical_crossentropy")
    user = _counting_sequence({"main": x}, np.eye(2, dtype="float32")[labels], 16)
    service = EvalSet({"main": x[:5]}, labels[:5])
    chosen = user_validation(user, service, "binary")
    assert isinstance(chosen, SequenceEvalSet)
    base = BaseCallback(Scoring("binary", "ROC AUC", True), chosen, None, lambda e: None, 1, RunState())  # type: ignore[arg-type]
    scores = base.scores(model)
    assert type(user).reads == 4  # every batch of 16 read once: 50 rows
    expected = roc_auc_score(labels, model.predict(x, verbose=0)[:, 1])
    assert scores["Test ROC AUC"] == pytest.approx(expected, abs=1e-6)


def test_a_sequence_that_cannot_be_indexed_falls_back_to_the_service_split(capsys: Any) -> None:
    service = EvalSet({"main": np.zeros((2, 3), "float32")}, np.zeros(2))
    assert user_validation(None, service, "binary") is service
    assert "service's validation split" in capsys.readouterr().out


def test_losses_told_from_logits_in_any_form() -> None:
    import functools

    from worker.runtime.model_check import _from_logits

    logits = keras.losses.CategoricalCrossentropy(from_logits=True)
    assert _from_logits(functools.partial(keras.losses.categorical_crossentropy, from_logits=True))
    assert _from_logits({"out": logits}) and _from_logits(["mse", logits])
    assert not _from_logits("categorical_crossentropy") and not _from_logits(None)
    assert not _from_logits(keras.losses.CategoricalCrossentropy())


def test_binary_targets_of_width_one_are_read_as_classes() -> None:
    seq = SequenceEvalSet([], "binary")
    np.testing.assert_array_equal(seq._true(np.array([[1.0], [0.0], [1.0]])), [1, 0, 1])
    np.testing.assert_array_equal(seq._true(np.array([[0.0, 1.0], [1.0, 0.0]])), [1, 0])


def test_a_regression_sequence_is_unscaled() -> None:
    batches = [({"main": np.zeros((2, 1))}, np.array([[1.0], [-1.0]]))]
    seq = SequenceEvalSet(batches, "regression", {"mean": 10.0, "std": 2.0})
    np.testing.assert_allclose(seq._true(np.array([[1.0], [-1.0]])), [12.0, 8.0])


# (snippet, the hint's words): each is real Keras 2 code that Keras 3 rejects, run as a cell.
KERAS2 = [
    ("import keras\nkeras.Input(shape=(32))\n", "write `shape=(32,)`"),
    ("import keras\nkeras.layers.merge.concatenate([])\n", "`keras.layers.merge` is gone"),
    ("from keras.layers import merge\n", "`keras.layers.merge` is gone"),
    ("from keras.layers.merge import concatenate\n", "`keras.layers.merge` is gone"),
    ("import keras\nkeras.optimizers.Adam(lr=0.01)\n", "`learning_rate=`"),
    ("from keras.layers.core import Dense\n", "`keras.layers.core` is gone"),
    ("from keras.layers.convolutional import Conv2D\n", "`keras.layers.convolutional` is gone"),
    ("from keras.layers.recurrent import LSTM\n", "`keras.layers.recurrent` is gone"),
    (
        "import keras\nm = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])\nm.predict_classes([[1, 2]])\n",
        "np.argmax(model.predict(x), axis=-1)",
    ),
    ("from keras.utils import np_utils\n", "from keras.utils import to_categorical"),
    ("from keras.utils.np_utils import to_categorical\n", "from keras.utils import to_categorical"),
    (
        "import keras\nm = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])\nm.compile('adam', 'mse')\n"
        "m.fit([[1, 2]], [[1, 2]], nb_epoch=1, verbose=0)\n",
        "`epochs=`",
    ),
    (
        "import keras\nm = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])\nm.compile('adam', 'mse')\n"
        "m.fit([[1, 2]], [[1, 2]], epochs=1, verbose=0, workers=4, use_multiprocessing=True)\n",
        "`fit()` takes no `workers`",
    ),
    (
        "import keras\nm = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])\n"
        "m.predict([[1, 2]], verbose=0, max_queue_size=10)\n",
        "`predict()` takes no `workers`",
    ),
    ("import keras\nkeras.layers.Conv2D(3, 3, border_mode='same')\n", "`padding=`"),
    ("import keras\nkeras.layers.Dense(3, init='normal')\n", "`kernel_initializer=`"),
    ("import keras\nkeras.layers.Deconvolution2D(3, 3)\n", "Conv2DTranspose"),
    ("import keras\nkeras.layers.AtrousConvolution2D(3, 3)\n", "dilation_rate"),
    ("from keras.layers import CuDNNLSTM\n", "write `LSTM(...)`"),
    ("import keras\nkeras.backend.get_session()\n", "remove the `get_session` call"),
    ("import keras\nkeras.backend.image_dim_ordering()\n", "image_data_format()"),
    ("from keras.utils import multi_gpu_model\n", "MirroredStrategy"),
    ("from keras.optimizers import adam\n", "import `Adam`"),
    ("from keras.layers import Merge\n", "`keras.layers.merge` is gone"),
    ("from keras.layers.embeddings import Embedding\n", "`keras.layers.embeddings` is gone"),
    ("from keras.layers.pooling import MaxPooling2D\n", "`keras.layers.pooling` is gone"),
    (
        "import keras\nm = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])\nm.predict_proba([[1, 2]])\n",
        "`model.predict(x)` returns the probabilities",
    ),
    ("from keras.layers import CuDNNGRU\n", "write `GRU(...)`"),
    ("import keras\nkeras.backend.set_session(None)\n", "remove the `set_session` call"),
    ("from keras.optimizers import rmsprop\n", "import `RMSprop`"),
]


@pytest.mark.parametrize(("source", "words"), KERAS2)
def test_keras2_code_gets_a_hint_with_its_cell_and_line(source: str, words: str) -> None:
    with pytest.raises(cells.CellError) as caught:
        cells.load_cell("architecture", source)
    info = caught.value.info
    assert info["cell"] == "architecture"
    assert info["line"] == len(source.splitlines())  # the last line of each snippet is the one Keras 3 rejects
    assert keras3.PREFIX in info["message"] and words in info["message"], info["message"]
    assert words in info["traceback"]


def test_keras_io_array_code_given_a_sequence_gets_a_hint() -> None:
    source = (
        "import keras\nimport numpy as np\nfrom core.sequences import ArraySequence\n"
        "m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])\nm.compile('adam', 'mse')\n"
        "seq = ArraySequence({'main': np.zeros((64, 4), 'float32')}, np.zeros((64, 1), 'float32'), 16)\n"
        "m.fit(seq, epochs=1, validation_split=0.2, verbose=0)\n"
    )
    with pytest.raises(cells.CellError) as caught:
        cells.load_cell("training", source)
    info = caught.value.info
    assert info["line"] == 7 and keras3.PREFIX not in info["message"]
    assert "fitstudio: the data is already split: write `validation_data=validation_sequence`" in info["message"]


def test_other_errors_get_no_hint() -> None:
    with pytest.raises(cells.CellError) as caught:
        cells.load_cell("architecture", "import keras\nkeras.layers.Dense(units='x')(keras.Input((2,)))\n")
    assert keras3.PREFIX not in caught.value.info["message"]
    assert keras3.hint(KeyError("lr")) is None


KERAS2_STILL_RUNS = """import keras
import numpy as np
from keras.preprocessing.image import ImageDataGenerator

keras.layers.Convolution2D(3, 3)
keras.layers.Embedding(10, 4, input_length=5)
keras.optimizers.SGD(learning_rate=0.01, decay=1e-6)
m = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
m.compile("adam", "mse")


def batches():
    while True:
        yield np.array([[1.0, 2.0]]), np.array([[1.0]])


m.fit_generator(batches(), steps_per_epoch=1, epochs=1, verbose=0)
"""


@pytest.mark.slow  # fit_generator trains one step
def test_keras2_code_that_keras3_still_runs_needs_no_change() -> None:
    cells.install_aliases()
    module = cells.load_cell("architecture", KERAS2_STILL_RUNS)
    assert module.ImageDataGenerator is not None


def test_the_vocabulary_fitted_in_chunks_is_the_whole_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    from keras.layers import TextVectorization

    rng = np.random.default_rng(0)
    words = np.array([f"w{i}" for i in range(300)])
    texts = pd.Series([" ".join(words[np.minimum(rng.zipf(1.4, size=12), 300) - 1]) for _ in range(500)])
    whole = TextVectorization(max_tokens=80, output_mode="int", output_sequence_length=4)
    whole.adapt(texts.to_numpy())  # every text at once: what the fit did before it went a chunk at a time
    monkeypatch.setattr(text_inputs, "TEXT_CHUNK_ROWS", 37)
    spec = text_inputs.fit_text(texts, {"max_tokens": 80, "sequence_length": 4})
    assert spec["vocabulary"] == [str(t) for t in whole.get_vocabulary()] and len(spec["vocabulary"]) == 80
