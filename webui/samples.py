"""The "Code samples" the design page can insert: each is a whole, working code cell."""

from __future__ import annotations

from typing import Any

AUGMENTATION = """\
from keras.layers import RandomFlip, RandomRotation, RandomZoom
from keras.models import Sequential

from fitstudio.deep_learning.sequences import DataAugmentationSequence


def build_sequences(build_train_sequence_with_batch_size, build_validation_sequence_with_batch_size):
    batch_size = 16
    # Random flips, rotations and zooms of the images; each batch holds two augmented copies (as in DSS).
    augmentator = Sequential([RandomFlip("horizontal"), RandomRotation(0.1), RandomZoom(0.1)])
    train_sequence = DataAugmentationSequence(
        build_train_sequence_with_batch_size(batch_size), "{image_input}", augmentator, n_augmentation=2
    )
    validation_sequence = build_validation_sequence_with_batch_size(batch_size)
    return train_sequence, validation_sequence


def fit_model(model, train_sequence, validation_sequence, base_callbacks):
    model.fit(train_sequence, epochs=10, callbacks=base_callbacks, validation_data=validation_sequence)
"""

EARLY_STOPPING = """\
from keras.callbacks import EarlyStopping

from fitstudio.deep_learning.shared_variables import get_variable


def build_sequences(build_train_sequence_with_batch_size, build_validation_sequence_with_batch_size):
    batch_size = 32
    train_sequence = build_train_sequence_with_batch_size(batch_size)
    validation_sequence = build_validation_sequence_with_batch_size(batch_size)
    return train_sequence, validation_sequence


def fit_model(model, train_sequence, validation_sequence, base_callbacks):
    # Stop when the optimisation metric (e.g. "Test ROC AUC") has not improved for 3 epochs.
    early_stopping = EarlyStopping(
        monitor=get_variable("DKU_MODEL_METRIC"),
        mode="max" if get_variable("DKU_MODEL_METRIC_GREATER_IS_BETTER") else "min",
        patience=3,
    )
    model.fit(
        train_sequence,
        epochs=50,
        callbacks=base_callbacks + [early_stopping],  # custom callbacks after the base ones
        validation_data=validation_sequence,
    )
"""

FINE_TUNING = """\
from keras.layers import Dense
from keras.models import Model

from fitstudio.deep_learning.load_model import get_keras_model_from_saved_model

SAVED_MODEL_ID = {saved_model_id}  # {saved_model_note}


def build_model(input_shapes, n_classes=None):
    base = get_keras_model_from_saved_model(SAVED_MODEL_ID)  # its active version
    for layer in base.layers:
        layer.trainable = False  # freeze what was learnt; only the new head trains
    features = base.layers[-2].output
    predictions = {head}
    return Model(inputs=base.inputs, outputs=predictions)


def compile_model(model):
    model.compile(optimizer="adam", loss="{loss}")
    return model
"""


def code_samples(prediction_type: str, image_inputs: list[str], saved_models: list[Any]) -> list[dict[str, str]]:
    """[{id, title, cell, code}] for a task of PREDICTION_TYPE with IMAGE_INPUTS, in a project with SAVED_MODELS."""
    if prediction_type == "regression":
        head, loss = 'Dense(1, activation="linear", name="new_head")(features)', "mean_squared_error"
    else:
        head, loss = 'Dense(n_classes, activation="softmax", name="new_head")(features)', "categorical_crossentropy"
    if saved_models:
        saved_id, note = saved_models[0].id, f"saved model {saved_models[0].name!r} of this project"
    else:
        saved_id, note = 1, "deploy a trained model first, then put its saved model id here"
    image_input = image_inputs[0] if image_inputs else "image_preprocessed"
    return [
        {
            "id": "augmentation",
            "title": "Image augmentation (DataAugmentationSequence)",
            "cell": "training",
            "code": AUGMENTATION.replace("{image_input}", image_input),
        },
        {
            "id": "early_stopping",
            "title": "Early stopping on DKU_MODEL_METRIC",
            "cell": "training",
            "code": EARLY_STOPPING,
        },
        {
            "id": "fine_tuning",
            "title": "Fine-tune a saved model",
            "cell": "architecture",
            "code": FINE_TUNING.format(saved_model_id=saved_id, saved_model_note=note, head=head, loss=loss),
        },
    ]
