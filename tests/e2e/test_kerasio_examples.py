"""keras.io's "Text classification with Transformer", its code pasted as published, on a real worker.

Two things it does failed before: it compiles with `sparse_categorical_crossentropy` (Keras refused the one-hot
targets: "Argument `output` must have rank (ndim) `target.ndim - 1`"), and its two custom layers take no
`**kwargs`, so the trained model could not be loaded for …/predict, export or another training (keras.io's
layers give Keras a config their `__init__` refuses). Both are fixed in the child (model_check.takes_class_indices,
worker/runtime/layer_configs.py).
"""

from __future__ import annotations

from typing import Any

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
