"""keras.io's "Text classification with Transformer", its code pasted as published, on a real worker; and the
training code of its "Imbalanced classification: credit card fraud detection" and "Timeseries classification from
scratch" examples (class weights, Keras's own metrics, ModelCheckpoint, ReduceLROnPlateau, EarlyStopping, CSVLogger,
BackupAndRestore into `/tmp/backup`, which failed with a PermissionError before the sandbox had a /tmp of its own).

Two things it does failed before: it compiles with `sparse_categorical_crossentropy` (Keras refused the one-hot
targets: "Argument `output` must have rank (ndim) `target.ndim - 1`"), and its two custom layers take no
`**kwargs`, so the trained model could not be loaded for …/predict, export or another training (keras.io's
layers give Keras a config their `__init__` refuses). Both are fixed in the child (model_check.takes_class_indices,
worker/runtime/layer_configs.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.e2e.conftest import Runtime, csv_bytes
from tests.e2e.test_data_types import text_corpus
from tests.worker.runtime.test_layer_configs import KERAS_IO_LAYERS

pytestmark = pytest.mark.slow

# keras.io's model, in build_model: vocab_size, embed_dim, num_heads and ff_dim as the example sets them.
TRANSFORMER = (
    KERAS_IO_LAYERS
    + """
vocab_size = 20000  # Only consider the top 20k words
embed_dim = 32  # Embedding size for each token
num_heads = 2  # Number of attention heads
ff_dim = 32  # Hidden layer size in feed forward network inside transformer


def build_model(input_shapes, n_classes):
    maxlen = input_shapes["review_preprocessed"][0]
    inputs = layers.Input(shape=(maxlen,))
    embedding_layer = TokenAndPositionEmbedding(maxlen, vocab_size, embed_dim)
    x = embedding_layer(inputs)
    transformer_block = TransformerBlock(embed_dim, num_heads, ff_dim)
    x = transformer_block(x)
    x = layers.GlobalAveragePooling1D()(x)
    x = layers.Dropout(0.1)(x)
    x = layers.Dense(20, activation="relu")(x)
    x = layers.Dropout(0.1)(x)
    outputs = layers.Dense(2, activation="softmax")(x)
    return keras.Model(inputs=inputs, outputs=outputs)


def compile_model(model):
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
"""
)

# Another training starts from the first one's model (its transformer block frozen) with the same classes.
ON_TOP = """
from fitstudio.deep_learning.load_model import get_keras_model_from_trained_model


OBJECTS = {"TransformerBlock": TransformerBlock, "TokenAndPositionEmbedding": TokenAndPositionEmbedding}


def build_model(input_shapes, n_classes):
    model = get_keras_model_from_trained_model(
        session_id="s<NUMBER>", mltask_id="<MLTASK>", custom_objects=OBJECTS
    )
    for layer in model.layers:
        layer.trainable = not isinstance(layer, TransformerBlock)
    return model


def compile_model(model):
    model.compile(optimizer=keras.optimizers.Adam(1e-4), loss="sparse_categorical_crossentropy")
    return model
"""

TEXT = {"text": {"max_tokens": 200, "sequence_length": 16}}


@pytest.fixture(scope="module")
def first(runtime: Runtime) -> dict[str, Any]:
    """The keras.io example trained on short reviews: the dataset, its task and its finished session."""
    ds = runtime.dataset("reviews", csv_bytes(text_corpus()))
    patch = {**TEXT, "training": {"epochs": 6, "batch_size": 16}, "code": {"architecture": TRANSFORMER}}
    task = runtime.task(ds, "label", patch=patch)
    final = runtime.train_and_wait(task["id"])
    assert final["status"] == "succeeded", (final["error"], runtime.log_tail())
    return {"dataset": ds, "task": task, "session": final}


def test_the_keras_io_transformer_trains_on_class_indices(runtime: Runtime, first: dict[str, Any]) -> None:
    final = first["session"]
    log = runtime.api.get(f"/api/v1/sessions/{final['id']}/log").text
    assert "the loss is a sparse categorical crossentropy: the targets are class indices" in log
    assert "TokenAndPositionEmbedding, TransformerBlock: __init__ takes no **kwargs" in log
    assert final["history"][-1]["Test Accuracy"] >= 0.9  # the reviews' words give their label away
    assert "accuracy" in final["history"][-1]  # Keras's own metric (sparse_categorical_accuracy) kept beside


def test_its_model_predicts_through_the_api(runtime: Runtime, first: dict[str, Any]) -> None:
    tmid = first["session"]["trained_model_id"]
    rows = [{"review": "the film was great and really excellent plot"}, {"review": "the plot was awful and terrible"}]
    r = runtime.api.post(f"/api/v1/trained-models/{tmid}/predict", json={"rows": rows})
    assert r.status_code == 200, (r.text, runtime.log_tail())
    body = r.json()
    assert body["predictions"] == ["pos", "neg"] and body["class_labels"] == ["neg", "pos"]


def test_another_training_starts_from_it(runtime: Runtime, first: dict[str, Any]) -> None:
    number = int(first["session"]["trained_model_id"].rsplit("-s", 1)[1].split("-")[0])
    cell = KERAS_IO_LAYERS + ON_TOP.replace("<NUMBER>", str(number)).replace("<MLTASK>", first["task"]["id"])
    patch = {**TEXT, "training": {"epochs": 1, "batch_size": 16}, "code": {"architecture": cell}}
    task = runtime.task(first["dataset"], "label", patch=patch)
    final = runtime.train_and_wait(task["id"])
    assert final["status"] == "succeeded", (final["error"], runtime.log_tail())
    # One epoch at a small learning rate from the trained model: it already knows the reviews.
    assert final["history"][0]["Test Accuracy"] >= 0.9


# keras.io's "Imbalanced classification: credit card fraud detection": its model and compile as published, and its
# fit with the class weights it computes, its checkpoint callback and its batch of 2048 (sequences in advanced mode)
FRAUD_ARCH = """
import keras


def build_model(input_shapes, n_classes):
    model = keras.Sequential(
        [
            keras.Input(shape=input_shapes["main"]),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dropout(0.3),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dropout(0.3),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    return model


def compile_model(model):
    metrics = [
        keras.metrics.FalseNegatives(name="fn"),
        keras.metrics.FalsePositives(name="fp"),
        keras.metrics.TrueNegatives(name="tn"),
        keras.metrics.TruePositives(name="tp"),
        keras.metrics.Precision(name="precision"),
        keras.metrics.Recall(name="recall"),
    ]
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy", metrics=metrics)
    return model
"""

FRAUD_TRAINING = """
import keras


def build_sequences(build_train_sequence_with_batch_size, build_validation_sequence_with_batch_size):
    return build_train_sequence_with_batch_size(2048), build_validation_sequence_with_batch_size(2048)


def fit_model(model, train_sequence, validation_sequence, base_callbacks):
    counts = [90, 10]
    weight_for_0 = 1.0 / counts[0]
    weight_for_1 = 1.0 / counts[1]
    callbacks = [keras.callbacks.ModelCheckpoint("fraud_model_at_epoch_{epoch}.keras")]
    class_weight = {0: weight_for_0, 1: weight_for_1}
    model.fit(
        train_sequence,
        epochs=3,
        verbose=2,
        callbacks=callbacks + base_callbacks,
        validation_data=validation_sequence,
        class_weight=class_weight,
    )
"""

# keras.io's "Timeseries classification from scratch": its callbacks and fit as published (sequences for its arrays,
# fewer epochs), then its reload of the best checkpoint
TIMESERIES_TRAINING = """
import keras


def build_sequences(build_train_sequence_with_batch_size, build_validation_sequence_with_batch_size):
    batch_size = 32
    return build_train_sequence_with_batch_size(batch_size), build_validation_sequence_with_batch_size(batch_size)


def fit_model(model, train_sequence, validation_sequence, base_callbacks):
    epochs = 3
    callbacks = [
        keras.callbacks.ModelCheckpoint("best_model.keras", save_best_only=True, monitor="val_loss"),
        keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=20, min_lr=0.0001),
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=50, verbose=1),
        keras.callbacks.CSVLogger("training.log"),
        keras.callbacks.BackupAndRestore(backup_dir="/tmp/backup"),
        keras.callbacks.TerminateOnNaN(),
    ]
    model.fit(
        train_sequence,
        epochs=epochs,
        callbacks=base_callbacks + callbacks,
        validation_data=validation_sequence,
        verbose=1,
    )
    model = keras.models.load_model("best_model.keras")
"""


def transactions(n: int = 600) -> pd.DataFrame:
    """Card transactions, about one in eight a fraud, told apart by two of their four features."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=(n, 4))
    fraud = (x[:, 0] + x[:, 1] > 1.6).astype(int)
    return pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "d": x[:, 3], "Class": fraud})


@pytest.mark.parametrize("example", ["fraud", "timeseries"])
def test_keras_io_training_code_with_its_callbacks_trains(runtime: Runtime, example: str) -> None:
    ds = runtime.dataset(f"transactions-{example}", csv_bytes(transactions()))
    code = {"training": FRAUD_TRAINING if example == "fraud" else TIMESERIES_TRAINING}
    if example == "fraud":
        code["architecture"] = FRAUD_ARCH
    task = runtime.task(ds, "Class", patch={"training": {"mode": "advanced"}, "code": code})
    final = runtime.train_and_wait(task["id"])
    assert final["status"] == "succeeded", (final["error"], runtime.log_tail())
    last = final["history"][-1]
    assert len(final["history"]) == 3 and "val_loss" in last and last["Test ROC AUC"] > 0.9
    if example == "fraud":  # Keras's own metrics beside the service's, on the one sigmoid output
        assert {"precision", "recall", "tp", "val_fn"} <= set(last)
