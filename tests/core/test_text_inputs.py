"""core/text_inputs.py: Chinese and Japanese texts, written without spaces between words, are read a character at a
time; other texts, and the vocabularies of models fitted before, read as they did."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core import text_inputs

JAPANESE = pd.Series(["東京の天気は良い", "大阪の料理は美味しい", "iPhoneを買った", "東京は大きい"] * 5)
ENGLISH = pd.Series(["the weather is good", "the food was great", "bought a phone", "a big city"] * 5)
SETTINGS = {"max_tokens": 200, "sequence_length": 8}


def _tokens(spec: dict, text: str) -> list[str]:
    ids = text_inputs.text_ids(pd.Series([text]), spec)[0]
    return [spec["vocabulary"][i] for i in ids if i]


def test_japanese_is_read_a_character_at_a_time() -> None:
    spec = text_inputs.fit_text(JAPANESE, SETTINGS)
    assert spec["cjk_characters"] is True
    assert {"東", "京", "の", "は"} <= set(spec["vocabulary"]) and "東京は大きい" not in spec["vocabulary"]
    assert _tokens(spec, "東京は大きい") == ["東", "京", "は", "大", "き", "い"]
    assert _tokens(spec, "iPhoneを買った") == ["iphone", "を", "買", "っ", "た"]  # Latin words stay words


def test_chinese_characters_in_a_few_texts_are_enough() -> None:
    texts = pd.Series(["北京很大"] + ["plain words here"] * 60)
    assert text_inputs.fit_text(texts, SETTINGS)["cjk_characters"] is True
    assert text_inputs.fit_text(pd.Series(["plain words here"] * 60), SETTINGS)["cjk_characters"] is False


def test_other_texts_read_as_keras_reads_them() -> None:
    from keras.layers import TextVectorization

    spec = text_inputs.fit_text(ENGLISH, SETTINGS)
    plain = TextVectorization(max_tokens=200, output_mode="int", output_sequence_length=8)
    plain.adapt(ENGLISH.to_numpy())
    assert spec["cjk_characters"] is False and spec["vocabulary"] == plain.get_vocabulary()


def test_a_vocabulary_fitted_before_reads_its_texts_as_before() -> None:
    spec = text_inputs.fit_text(JAPANESE, SETTINGS)
    before = {k: v for k, v in spec.items() if k != "cjk_characters"}  # models trained before 2026-12-05
    before["vocabulary"] = ["", "[UNK]", "東京の天気は良い", "東京は大きい"]
    ids = text_inputs.text_ids(pd.Series(["東京は大きい", "東京の天気は良い"]), before)
    assert [int(row[row > 0][0]) for row in ids] == [3, 2]  # whole sentences, one token each, as they were fitted
    assert np.count_nonzero(ids) == 2
