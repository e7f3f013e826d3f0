"""text_numbers reads every text to the float pandas.to_numeric reads (the plain ones by Arrow's cast)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from core import preprocessing, text_numbers

FORMS = [
    "1.5", "1e5", "1E-5", ".5", "5.", "-0", "+1", "+.5", "-.5e-3", "00012", "1e+05", "0.", "9007199254740993",
    "123456789012345678901234567890", "0.1234567890123456789012345", "4.9e-324", "2.2250738585072011e-308",
    "1e400", "-1e400", "1e-400", " 1", "1 ", "\t1", "1\n", "inf", "-inf", "Infinity", "nan", "NaN", "0x10",
    "1_000", "１２", "1,5", "1.2.3", "", "  ", "1d5", "1.5f", "٣", "TRUE", "-", "+", "e5", "1e", "1.5e+", "½",
    "n/a", "<0.5", "3 kg",
]  # fmt: skip


def _pandas(texts: list[str | None]) -> np.ndarray:
    return pd.to_numeric(pd.Series(texts, dtype=object), errors="coerce").astype("float64").to_numpy()


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """The same floats, bit for bit but for a zero's sign: pandas reads "-0" as 0.0 alone and as -0.0 beside
    "1.5" (an integer column or not), so no reading can match it there."""
    return bool(np.array_equal(a, b, equal_nan=True))


def test_each_written_form_reads_as_pandas_reads_it() -> None:
    for form in FORMS:  # one at a time: a batch of plain numbers only takes Arrow's path whole
        assert _same(text_numbers.read(pa.array([form])), _pandas([form])), form
    mixed = FORMS + [None]
    assert _same(text_numbers.read(pa.array(mixed)), _pandas(mixed))


@pytest.mark.parametrize("form", ["{:.17g}", "{:.5f}", "{:.3e}", "{}", "{:.20f}", "{:.25g}"])
def test_random_numbers_read_to_the_same_floats(form: str) -> None:
    rng = np.random.default_rng(7)
    values = rng.normal(size=200_000) * 10.0 ** rng.integers(-300, 300, 200_000)
    texts = [form.format(v) for v in values]
    assert _same(text_numbers.read(pa.array(texts)), _pandas(texts))


def test_training_reads_arrow_text_as_it_reads_python_text() -> None:
    texts = ["1.25", None, "n/a", "-3e2", " 7", "inf"] * 1000
    arrow_backed = pa.array(texts).to_pandas()
    assert text_numbers.arrow_texts(arrow_backed) is not None  # pandas 3 keeps Parquet's text in Arrow
    expected = _pandas(texts).copy()
    expected[np.isinf(expected)] = np.nan
    assert _same(preprocessing.numbers(arrow_backed), expected)
    assert _same(preprocessing.numbers(pd.Series(texts, dtype=object)), expected)
