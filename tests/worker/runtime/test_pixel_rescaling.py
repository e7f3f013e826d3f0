"""keras.io's image models rescale 0-255 pixels inside the model (`layers.Rescaling(1.0 / 255)`); fitstudio's images
come already in [0, 1], so such a layer is named in the training's log (model_check.pixel_rescaling)."""

from __future__ import annotations

import keras
import pytest

from worker.runtime.model_check import pixel_rescaling

IMAGES = {"image_preprocessed": (16, 16, 3)}


def _keras_io_model(rescaling: keras.layers.Layer, shapes: dict[str, tuple[int, ...]] = IMAGES) -> keras.Model:
    """keras.io's "Image classification from scratch" head: augmentation as a Sequential in the model, then the
    rescaling, then a convolution."""
    augmentation = keras.Sequential([keras.layers.RandomFlip("horizontal"), keras.layers.RandomRotation(0.1)])
    inputs = keras.Input(shape=next(iter(shapes.values())))
    x = augmentation(inputs)
    x = rescaling(x)
    if len(x.shape) == 4:
        x = keras.layers.Conv2D(4, 3, strides=2, padding="same")(x)
    x = keras.layers.Flatten()(x)
    return keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(x))


@pytest.mark.parametrize(
    "rescaling",
    [
        keras.layers.Rescaling(1.0 / 255, name="to_unit"),
        keras.layers.Rescaling(scale=1 / 127.5, offset=-1, name="to_unit"),
    ],
)
def test_a_rescaling_of_pixels_in_an_image_model_is_named(rescaling: keras.layers.Layer) -> None:
    assert pixel_rescaling(_keras_io_model(rescaling), IMAGES) == ["to_unit"]


def test_one_inside_a_nested_model_is_found_too() -> None:
    inner = keras.Sequential([keras.layers.RandomFlip("horizontal"), keras.layers.Rescaling(1.0 / 255, name="inner")])
    assert pixel_rescaling(_keras_io_model(inner), IMAGES) == ["inner"]


def test_other_scales_and_models_without_images_are_left_alone() -> None:
    assert pixel_rescaling(_keras_io_model(keras.layers.Rescaling(2.0)), IMAGES) == []
    assert pixel_rescaling(_keras_io_model(keras.layers.Rescaling(1.0 / 255), {"main": (12,)}), {"main": (12,)}) == []
