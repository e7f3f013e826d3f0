"""worker/runtime/layer_configs.py: keras.io's custom layers (no **kwargs in __init__) load from the saved file."""

from __future__ import annotations

import types
from pathlib import Path

import keras
import numpy as np
import pytest

from worker.runtime import cells, layer_configs

# keras.io, "Text classification with Transformer" (its two layers as published: no **kwargs, no get_config).
KERAS_IO_LAYERS = """
import keras
from keras import layers, ops


class TransformerBlock(layers.Layer):
    def __init__(self, embed_dim, num_heads, ff_dim, rate=0.1):
        super().__init__()
        self.att = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)
        self.ffn = keras.Sequential([layers.Dense(ff_dim, activation="relu"), layers.Dense(embed_dim)])
        self.layernorm1 = layers.LayerNormalization(epsilon=1e-6)
        self.layernorm2 = layers.LayerNormalization(epsilon=1e-6)
        self.dropout1 = layers.Dropout(rate)
        self.dropout2 = layers.Dropout(rate)

    def call(self, inputs):
        attn_output = self.att(inputs, inputs)
        attn_output = self.dropout1(attn_output)
        out1 = self.layernorm1(inputs + attn_output)
        ffn_output = self.ffn(out1)
        ffn_output = self.dropout2(ffn_output)
        return self.layernorm2(out1 + ffn_output)


class TokenAndPositionEmbedding(layers.Layer):
    def __init__(self, maxlen, vocab_size, embed_dim):
        super().__init__()
        self.token_emb = layers.Embedding(input_dim=vocab_size, output_dim=embed_dim)
        self.pos_emb = layers.Embedding(input_dim=maxlen, output_dim=embed_dim)

    def call(self, x):
        maxlen = ops.shape(x)[-1]
        positions = ops.arange(start=0, stop=maxlen, step=1)
        positions = self.pos_emb(positions)
        x = self.token_emb(x)
        return x + positions


class Scaled(layers.Layer):
    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return x * self.factor


class OwnConfig(layers.Layer):
    def __init__(self, factor):
        super().__init__()
        self.factor = factor

    def call(self, x):
        return x * self.factor

    def get_config(self):
        return {"factor": self.factor}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class Tripled(OwnConfig):
    def __init__(self):
        super().__init__(3.0)
"""

NAMES = ("TransformerBlock", "TokenAndPositionEmbedding", "Scaled", "OwnConfig", "Tripled")


def _model(module: types.ModuleType) -> keras.Model:
    inputs = keras.layers.Input(shape=(8,))
    x = module.TokenAndPositionEmbedding(8, 50, 16)(inputs)
    block = module.TransformerBlock(16, 2, 16)
    x = block(x)
    block.trainable = False  # a frozen block stays frozen in the loaded model
    x = module.OwnConfig(0.5)(module.Scaled(3.0)(keras.layers.GlobalAveragePooling1D()(x)))
    return keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(x))


def _save(model: keras.Model, tmp_path: Path) -> Path:
    path = tmp_path / "model.keras"
    model.save(path)
    return path


def test_keras_io_layers_load_from_the_saved_file(tmp_path: Path) -> None:
    module = cells.load_cell("architecture", KERAS_IO_LAYERS)
    model = _model(module)
    objects = {name: getattr(module, name) for name in NAMES}
    loaded = keras.models.load_model(_save(model, tmp_path), custom_objects=objects)
    tokens = np.random.default_rng(0).integers(0, 50, (5, 8))
    np.testing.assert_allclose(loaded.predict(tokens, verbose=0), model.predict(tokens, verbose=0), rtol=1e-6)
    block = next(layer for layer in loaded.layers if type(layer).__name__ == "TransformerBlock")
    assert block.trainable is False
    assert next(layer for layer in loaded.layers if type(layer).__name__ == "Scaled").factor == 3.0


def test_without_the_lenient_config_keras_cannot_load_them(tmp_path: Path) -> None:
    """The failure fixed above, as Keras alone gives it (the same classes, executed without load_cell)."""
    module = types.ModuleType("plain_cell")
    exec(compile(KERAS_IO_LAYERS, "plain_cell", "exec"), module.__dict__)
    objects = {name: getattr(module, name) for name in NAMES}
    path = _save(_model(module), tmp_path)
    with pytest.raises(TypeError, match="could not be deserialized"):
        keras.models.load_model(path, custom_objects=objects)


def test_only_classes_without_kwargs_or_own_from_config_are_changed() -> None:
    module = cells.load_cell("architecture", KERAS_IO_LAYERS)
    lenient = {name for name in NAMES if getattr(getattr(module, name).from_config.__func__, "_fitstudio_lenient", 0)}
    # Scaled takes **kwargs; Tripled inherits the user's own from_config, kept as OwnConfig's is.
    assert lenient == {"TransformerBlock", "TokenAndPositionEmbedding"}
    assert module.OwnConfig.from_config.__func__.__qualname__ == "OwnConfig.from_config"  # the user's own, kept
    assert layer_configs.make_loadable(module) == []  # a second pass changes nothing


def test_the_training_names_the_layers_keras_alone_cannot_load() -> None:
    module = cells.load_cell("architecture", KERAS_IO_LAYERS)
    # OwnConfig's config holds only what its __init__ takes: Keras loads it as it is.
    assert layer_configs.unloadable_by_keras(_model(module)) == ["TokenAndPositionEmbedding", "TransformerBlock"]
    plain = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    assert layer_configs.unloadable_by_keras(plain) == []


def test_a_class_that_breaks_inspection_fails_as_the_cells_error() -> None:
    source = (
        "import keras\n\n\nclass Slippery:\n    @property\n    def __signature__(self):\n"
        "        raise RuntimeError('no signature for you')\n\n    def __call__(self, *args, **kwargs):\n"
        "        pass\n\n\nclass Sly(keras.layers.Layer):\n    __init__ = Slippery()\n"
    )
    with pytest.raises(cells.CellError) as caught:
        cells.load_cell("architecture", source)
    assert caught.value.info["cell"] == "architecture" and "no signature for you" in caught.value.info["message"]
