"""Text inputs: the vocabulary fitted on the train split and the token ids a model gets (Keras TextVectorization),
with Chinese and Japanese, written without spaces between words, taken a character at a time."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

# Text token ids are padded and truncated at the start, as DSS's tokenizer processor (keras pad_sequences) does.
# Models trained before recorded no side: they were padded at the end (TextVectorization) and still are.
TEXT_PADDING = "pre"
TEXT_PADDING_BEFORE = "post"
TEXT_CHUNK_ROWS = 8192  # rows tokenised at once: a ragged batch's memory grows with its longest text

# Kana and CJK ideographs (with the compatibility ones and half-width katakana): Chinese and Japanese put no spaces
# between words, so a whole sentence was one token. Each such character becomes a token of its own (Korean puts
# spaces between words: it splits as it is). The class is read alike by Python's re, RE2 (pyarrow) and TensorFlow.
CJK = "[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f]"
CJK_MIN_SHARE = 0.01  # the share of a column's texts holding one for its vocabulary to be fitted on characters


def cjk_share(texts: np.ndarray) -> float:
    """The share of TEXTS (str) holding a Chinese or Japanese character."""
    import tensorflow as tf

    if not len(texts):
        return 0.0
    found = tf.strings.regex_full_match(tf.constant(texts, dtype=tf.string), f"(?s).*{CJK}.*")
    return float(np.mean(found.numpy()))


def _spaced(texts: np.ndarray, spec: dict[str, Any]) -> Any:
    """TEXTS as the vocabulary of SPEC reads them: each Chinese or Japanese character apart when SPEC says so."""
    if not spec.get("cjk_characters"):
        return texts
    import tensorflow as tf

    return tf.strings.regex_replace(tf.constant(texts, dtype=tf.string), f"({CJK})", r" \1 ")


def fit_text(series: pd.Series, text_settings: dict[str, int]) -> dict[str, Any]:
    """The vocabulary (most frequent tokens first) of the texts of SERIES, with the settings that read them."""
    from keras.layers import TextVectorization

    layer = TextVectorization(
        max_tokens=int(text_settings["max_tokens"]),
        output_mode="int",
        output_sequence_length=int(text_settings["sequence_length"]),
    )
    import tensorflow as tf

    texts = series.fillna("").astype(str).to_numpy()
    spec: dict[str, Any] = {"cjk_characters": cjk_share(texts[: TEXT_CHUNK_ROWS * 4]) >= CJK_MIN_SHARE}
    # Adapted a chunk at a time: the same vocabulary as adapting the whole column at once (a test compares them),
    # which tokenised every text together: +3 GB for a 1 M-row sample (bench/text_vocab.py).
    chunks = tf.data.Dataset.from_generator(
        lambda: (_spaced(texts[i : i + TEXT_CHUNK_ROWS], spec) for i in range(0, len(texts), TEXT_CHUNK_ROWS)),
        output_signature=tf.TensorSpec((None,), tf.string),
    )
    layer.adapt(chunks)
    return {
        "vocabulary": [str(t) for t in layer.get_vocabulary()],
        "sequence_length": int(text_settings["sequence_length"]),
        "max_tokens": int(text_settings["max_tokens"]),
        "padding": TEXT_PADDING,
        **spec,
    }


def text_ids(series: pd.Series, spec: dict[str, Any]) -> np.ndarray:
    """Token ids of SERIES, SEQUENCE_LENGTH wide: padded and truncated on the side the fitted SPEC records."""
    from keras.layers import TextVectorization

    vocabulary = spec["vocabulary"][2:] if spec["vocabulary"][:2] == ["", "[UNK]"] else spec["vocabulary"]
    length = int(spec["sequence_length"])
    texts = series.fillna("").astype(str).to_numpy()
    side = spec.get("padding", TEXT_PADDING_BEFORE)
    if side == TEXT_PADDING_BEFORE:
        layer = TextVectorization(output_mode="int", output_sequence_length=length, vocabulary=vocabulary)
        return np.asarray(layer(_spaced(texts, spec)), dtype="int32")
    layer = TextVectorization(output_mode="int", ragged=True, vocabulary=vocabulary)
    out = np.zeros((len(texts), length), dtype="int32")
    for start in range(0, len(texts), TEXT_CHUNK_ROWS):
        ragged = layer(_spaced(texts[start : start + TEXT_CHUNK_ROWS], spec))
        flat, ends = np.asarray(ragged.flat_values), np.asarray(ragged.row_limits())
        for i, (end, size) in enumerate(zip(ends, np.asarray(ragged.row_lengths()), strict=True)):
            kept = flat[end - min(int(size), length) : end]  # truncated at the start: the last tokens stay
            out[start + i, length - len(kept) :] = kept  # padded at the start
    return out
