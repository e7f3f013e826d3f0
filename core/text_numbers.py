"""Numbers written as text, read as training reads them (`pandas.to_numeric`), the plain ones by Arrow's cast.

pandas reads each text in Python, holding the GIL: 0.3 s a column of a million texts, twice in an upload's
statistics (docs/benchmarks.md, "Columns of many distinct texts"). Arrow's cast reads a plain decimal number
(`-1.5`, `.5`, `2e-3`, `00012`) to the same float64 as pandas, correctly rounded; only a zero's sign can differ,
which pandas itself gives `-0` by the column's other values. `tests/core/test_text_numbers.py` compares both on
written forms and on random values. Anything else (spaces, `inf`, `n/a`) is left to pandas.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

PLAIN = r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"


def read(texts: pa.Array) -> np.ndarray:
    """TEXTS as float64, as `pandas.to_numeric(errors="coerce")` reads them: NaN where missing or not a number."""
    plain = pc.fill_null(pc.match_substring_regex(texts, PLAIN), False)
    if pc.all(plain).as_py():
        return _cast(texts)
    numbers = np.full(len(texts), np.nan)
    mask = plain.to_numpy(zero_copy_only=False)
    if mask.any():
        numbers[mask] = _cast(texts.filter(plain))
    rest = ~mask & texts.is_valid().to_numpy(zero_copy_only=False)
    if rest.any():
        others = pd.Series(texts.filter(pa.array(rest)).to_pylist(), dtype=object)
        numbers[rest] = pd.to_numeric(others, errors="coerce").astype("float64").to_numpy()
    return numbers


def _cast(texts: pa.Array) -> np.ndarray:
    return pc.cast(texts, pa.float64()).to_numpy(zero_copy_only=False)


def arrow_texts(series: pd.Series) -> pa.Array | None:
    """SERIES's values as an Arrow array when pandas already holds them as Arrow text (no copy); else None."""
    dtype = series.dtype
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        values = pa.array(series.array)
        return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    return None
