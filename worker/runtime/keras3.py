"""Keras 2 → Keras 3: for DSS-era code that Keras 3 rejects, a sentence naming the fix (docs/keras3-migration.md);
and for code written for arrays (keras.io's) that a fitstudio sequence cannot take, the same.

Each hint matches the exception Keras 3 (or Python's import system) raises on such code, by its type and message;
the error keeps its own message, cell and line, and the hint is added after it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

PREFIX = "Keras 2 → Keras 3: "
SEQUENCES_PREFIX = "fitstudio: "

_REMOVED_MODULES = "core|convolutional|recurrent|embeddings|pooling|normalization|advanced_activations|wrappers|noise"


@dataclass(frozen=True)
class Hint:
    """An exception type and message pattern, and the fix it calls for (the match's groups may fill it in)."""

    types: tuple[str, ...]
    pattern: re.Pattern[str]
    fix: Callable[[re.Match[str]], str]


def _h(types: str, pattern: str, fix: str | Callable[[re.Match[str]], str]) -> Hint:
    return Hint(tuple(types.split()), re.compile(pattern), fix if callable(fix) else (lambda _m, text=fix: text))


HINTS: tuple[Hint, ...] = (
    _h(
        "ValueError",
        r"Cannot convert '(\d+)' to a shape",
        lambda m: f"a shape is a tuple: write `shape=({m.group(1)},)` (with the comma), not `shape=({m.group(1)})`.",
    ),
    _h(
        "AttributeError ImportError ModuleNotFoundError",
        r"no attribute 'merge'|import name '[Mm]erge'|No module named 'keras\.layers\.merge'",
        "`keras.layers.merge` is gone: use the merge layers of `keras.layers`, e.g. `Concatenate()([a, b])` or "
        "`concatenate([a, b])` (also `Add`, `Multiply`, `Average`, `Maximum`, `Dot`).",
    ),
    _h(
        "ValueError",
        r"Argument\(s\) not recognized: \{'lr'",
        "optimizers take `learning_rate=`: write e.g. `Adam(learning_rate=0.001)`, not `lr=`.",
    ),
    _h(
        "ModuleNotFoundError",
        rf"No module named 'keras\.layers\.({_REMOVED_MODULES})'",
        lambda m: (
            f"`keras.layers.{m.group(1)}` is gone: import the layer from `keras.layers` "
            "(e.g. `from keras.layers import Dense, Conv2D, LSTM`)."
        ),
    ),
    _h(
        "AttributeError",
        r"has no attribute 'predict_classes'",
        "`predict_classes` is gone: write `np.argmax(model.predict(x), axis=-1)` "
        "(a sigmoid output: `(model.predict(x) > 0.5).astype(int)`).",
    ),
    _h(
        "AttributeError",
        r"has no attribute 'predict_proba'",
        "`predict_proba` is gone: `model.predict(x)` returns the probabilities.",
    ),
    _h(
        "ImportError ModuleNotFoundError",
        r"import name 'np_utils'|No module named 'keras\.utils\.np_utils'",
        "`keras.utils.np_utils` is gone: write `from keras.utils import to_categorical`.",
    ),
    _h("TypeError", r"unexpected keyword argument 'nb_epoch'", "write `epochs=`, not `nb_epoch=`."),
    _h(
        "TypeError",
        r"(fit|evaluate|predict)\(\) got an unexpected keyword argument '(workers|use_multiprocessing|max_queue_size)'",
        lambda m: (
            f"`{m.group(1)}()` takes no `workers`, `use_multiprocessing` or `max_queue_size` any more: remove them "
            "(a `keras.utils.PyDataset` takes them in its constructor; fitstudio's sequences need none)."
        ),
    ),
    _h(
        "ValueError",
        r"Unrecognized keyword arguments passed to \w+: \{'border_mode'",
        "write `padding=`, not `border_mode=`.",
    ),
    _h(
        "ValueError",
        r"Unrecognized keyword arguments passed to \w+: \{'init'",
        "write `kernel_initializer=`, not `init=`.",
    ),
    _h(
        "AttributeError ImportError",
        r"'Deconvolution2D'",
        "`Deconvolution2D` is `keras.layers.Conv2DTranspose` in Keras 3.",
    ),
    _h(
        "AttributeError ImportError",
        r"'AtrousConvolution2D'",
        "`AtrousConvolution2D` is `keras.layers.Conv2D(..., dilation_rate=...)` in Keras 3.",
    ),
    _h(
        "AttributeError ImportError",
        r"'CuDNN(LSTM|GRU)'",
        lambda m: f"`CuDNN{m.group(1)}` is gone: write `{m.group(1)}(...)`, which uses cuDNN on a GPU by itself.",
    ),
    _h(
        "AttributeError",
        r"keras\.backend' has no attribute '(get_session|set_session|clear_session_graph)'",
        lambda m: f"Keras 3 has no TensorFlow session: remove the `{m.group(1)}` call.",
    ),
    _h(
        "AttributeError",
        r"keras\.backend' has no attribute '(set_)?image_dim_ordering'",
        '`image_dim_ordering` is gone: read `keras.backend.image_data_format()` ("channels_last" by default).',
    ),
    _h(
        "ImportError",
        r"import name 'multi_gpu_model'",
        '`multi_gpu_model` is gone: remove it and tick "use GPU" with several GPUs in the task\'s settings; '
        "fitstudio builds the model under a `tf.distribute.MirroredStrategy` then.",
    ),
    _h(
        "ImportError",
        r"import name '(adam|sgd|rmsprop|adagrad|adadelta|adamax|nadam)' from 'keras\.optimizers'",
        lambda m: f"optimizer classes are capitalised: import `{_capitalised(m.group(1))}`.",
    ),
)


# Code written for arrays, given fitstudio's sequences (advanced mode's train_sequence is a keras.utils.PyDataset).
SEQUENCE_HINTS: tuple[Hint, ...] = (
    _h(
        "ValueError",
        r"`validation_split` is only supported for tensors or NumPy arrays",
        "the data is already split: write `validation_data=validation_sequence` instead of `validation_split=`, "
        "or change the split in the ML task's settings.",
    ),
)


def _capitalised(name: str) -> str:
    """Keras 3's class name of a Keras 2 lower-case optimizer alias."""
    return {"sgd": "SGD", "rmsprop": "RMSprop"}.get(name, name.capitalize())


def hint(exc: BaseException) -> str | None:
    """The fix for EXC, after the prefix of its kind (Keras 2 → Keras 3, or array code given a sequence), or None
    when it is not one of the known idioms."""
    kinds = {cls.__name__ for cls in type(exc).__mro__}
    message = str(exc)
    for prefix, hints in ((PREFIX, HINTS), (SEQUENCES_PREFIX, SEQUENCE_HINTS)):
        for entry in hints:
            if kinds.intersection(entry.types):
                match = entry.pattern.search(message)
                if match:
                    return prefix + entry.fix(match)
    return None
