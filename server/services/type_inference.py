"""Column type inference for datasets, and prediction type inference for ML targets."""

from __future__ import annotations

from typing import Any

import pandas as pd

from core.dates import DATE_RE
from core.text_inputs import CJK
from server.errors import invalid
from server.services.column_stats import DATE_LIKE_RATIO
from server.services.csv_numbers import are_codes

_NOT_SCALAR = (dict, list, tuple, set, bytes, bytearray, memoryview)

CATEGORICAL_MAX_DISTINCT = 100
TEXT_MIN_MEAN_TOKENS = 4.0
MULTICLASS_MAX_INT_CLASSES = 20
MAX_CLASSES = 1000


def infer_column_type(series: pd.Series) -> str:
    """numeric, categorical, date or text, from the values (image columns are set by the image ingester)."""
    if pd.api.types.is_bool_dtype(series):
        return "categorical"
    if pd.api.types.is_numeric_dtype(series):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "date"
    values = series.dropna().astype(str)
    if values.empty:
        return "categorical"
    sample = values.head(5000)
    if sample.str.match(DATE_RE).mean() >= DATE_LIKE_RATIO:
        return "date"
    # Chinese and Japanese put no spaces between words: each of their characters counts as one (core/text_inputs.py)
    mean_tokens = float((sample.str.split().str.len() + sample.str.count(CJK)).mean())
    distinct = sample.nunique()
    if mean_tokens >= TEXT_MIN_MEAN_TOKENS and distinct > CATEGORICAL_MAX_DISTINCT / 4:
        return "text"
    if are_codes(sample.str.strip()):  # postcodes, ids with leading zeros: labels, not quantities
        return "categorical"
    numeric = pd.to_numeric(sample, errors="coerce")
    if numeric.notna().mean() > 0.98:
        return "numeric"
    return "categorical"


def infer_schema(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """[{name, type}] for every column of FRAME."""
    return [{"name": str(col), "type": infer_column_type(frame[col])} for col in frame.columns]


def check_scalar_target(target: pd.Series) -> None:
    """422 when TARGET holds nested or binary values (a struct, list or bytes column) that cannot be a target."""
    if target.dtype != object:
        return
    odd = next((v for v in target.dropna() if isinstance(v, _NOT_SCALAR) or hasattr(v, "shape")), None)
    if odd is not None:
        raise invalid(
            f"Target column {target.name!r} holds {type(odd).__name__} values, not numbers or labels; "
            "pick another target.",
            code="bad_target",
        )


def infer_prediction_type(target: pd.Series, column_type: str) -> str:
    """binary, multiclass or regression from the target's values; 422 when it cannot be a target."""
    check_scalar_target(target)
    values = target.dropna()
    name = target.name
    if values.empty:
        raise invalid(f"Target column {name!r} has no values; pick another target.", code="bad_target")
    distinct = values.nunique()
    if distinct < 2:
        raise invalid(f"Target column {name!r} has a single value; there is nothing to predict.", code="bad_target")
    if distinct == 2:
        return "binary"
    if column_type == "numeric":
        numeric = pd.to_numeric(values, errors="coerce")
        integral = bool(((numeric % 1) == 0).all())
        if integral and distinct <= MULTICLASS_MAX_INT_CLASSES:
            return "multiclass"
        return "regression"
    if distinct > MAX_CLASSES:
        raise invalid(
            f"Target column {name!r} has {distinct} distinct values; at most {MAX_CLASSES} classes are supported.",
            code="bad_target",
        )
    return "multiclass"


def check_prediction_type(target: pd.Series, column_type: str, prediction_type: str) -> None:
    """422 when PREDICTION_TYPE cannot work with the target's values."""
    check_scalar_target(target)
    values = target.dropna()
    distinct = values.nunique()
    name = target.name
    if prediction_type == "regression":
        if pd.to_numeric(values, errors="coerce").isna().any():
            raise invalid(f"Target column {name!r} is not numeric; regression needs numbers.", code="bad_target")
    elif prediction_type == "binary" and distinct != 2:
        raise invalid(
            f"Target column {name!r} has {distinct} distinct values; binary needs exactly 2. Use multiclass.",
            code="bad_target",
        )
    elif prediction_type == "multiclass" and not 2 <= distinct <= MAX_CLASSES:
        raise invalid(
            f"Target column {name!r} has {distinct} distinct values; multiclass needs 2 to {MAX_CLASSES}.",
            code="bad_target",
        )
