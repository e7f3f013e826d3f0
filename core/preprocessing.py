"""Features → named model inputs, fitted on the train split and saved as JSON with the model.

numeric: mean imputation + standard scaling; categorical: dummies of the most frequent values; both
concatenated into `main`. text: token ids (Keras TextVectorization vocabulary) into `<col>_preprocessed`.
image: uint8 pixels at the task's size into `<col>_preprocessed` (scaled to [0, 1] when batched).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

MAX_DUMMIES = 100


class PreprocessingError(ValueError):
    """A row cannot be preprocessed (missing column, unreadable image, …)."""


def fit(train: pd.DataFrame, design: dict[str, Any]) -> dict[str, Any]:
    """Fit the preprocessing on the TRAIN split; returns its JSON-able description."""
    settings = design["settings"]
    main: list[dict[str, Any]] = []
    text: dict[str, Any] = {}
    image: dict[str, Any] = {}
    for col, spec in settings["features"].items():
        if spec["role"] != "input":
            continue
        kind = spec["type"]
        if kind == "numeric":
            values = pd.to_numeric(train[col], errors="coerce").astype("float64")
            mean = float(values.mean()) if values.notna().any() else 0.0
            std = float(values.std(ddof=0)) if values.notna().sum() > 1 else 0.0
            main.append({"column": col, "kind": "numeric", "mean": mean, "std": std if std > 1e-12 else 1.0})
        elif kind == "categorical":
            counts = train[col].dropna().astype(str).value_counts()
            main.append({"column": col, "kind": "categorical", "values": list(counts.index[:MAX_DUMMIES])})
        elif kind == "text":
            text[col] = _fit_text(train[col], settings["text"])
        elif kind == "image":
            image[col] = {k: int(settings["image"][k]) for k in ("height", "width", "channels")}
    prep: dict[str, Any] = {"main": main, "text": text, "image": image}
    prep["input_shapes"] = input_shapes(prep)
    prep["target"] = fit_target(train[design["target"]], design["prediction_type"])
    return prep


def _fit_text(series: pd.Series, text_settings: dict[str, Any]) -> dict[str, Any]:
    from keras.layers import TextVectorization

    layer = TextVectorization(
        max_tokens=int(text_settings["max_tokens"]),
        output_mode="int",
        output_sequence_length=int(text_settings["sequence_length"]),
    )
    layer.adapt(series.fillna("").astype(str).to_numpy())
    return {
        "vocabulary": [str(t) for t in layer.get_vocabulary()],
        "sequence_length": int(text_settings["sequence_length"]),
        "max_tokens": int(text_settings["max_tokens"]),
    }


def _sorted_labels(values: pd.Series) -> list[Any]:
    uniques = values.dropna().unique().tolist()
    try:
        return sorted(uniques)
    except TypeError:
        return sorted(uniques, key=str)


def fit_target(series: pd.Series, prediction_type: str) -> dict[str, Any]:
    if prediction_type == "regression":
        return {"kind": "regression"}
    labels = [v.item() if hasattr(v, "item") else v for v in _sorted_labels(series)]
    return {"kind": "classification", "classes": labels}


def input_shapes(prep: dict[str, Any]) -> dict[str, list[int]]:
    """Model input name → shape without the batch axis."""
    shapes: dict[str, list[int]] = {}
    if prep["main"]:
        shapes["main"] = [sum(1 if m["kind"] == "numeric" else len(m["values"]) for m in prep["main"])]
    for col, spec in prep["text"].items():
        shapes[f"{col}_preprocessed"] = [spec["sequence_length"]]
    for col, spec in prep["image"].items():
        shapes[f"{col}_preprocessed"] = [spec["height"], spec["width"], spec["channels"]]
    return shapes


def _require(frame: pd.DataFrame, col: str) -> pd.Series:
    if col not in frame.columns:
        raise PreprocessingError(f"column {col!r} is missing from the rows")
    return frame[col]


def transform(frame: pd.DataFrame, prep: dict[str, Any], files_root: str | None = None) -> dict[str, np.ndarray]:
    """The model inputs for FRAME (vectorised; images as uint8)."""
    n = len(frame)
    out: dict[str, np.ndarray] = {}
    if prep["main"]:
        blocks: list[np.ndarray] = []
        for m in prep["main"]:
            series = _require(frame, m["column"])
            if m["kind"] == "numeric":
                values = pd.to_numeric(series, errors="coerce").astype("float64").to_numpy()
                values = np.where(np.isnan(values), m["mean"], values)
                blocks.append(((values - m["mean"]) / m["std"]).astype("float32")[:, None])
            else:
                codes = pd.Categorical(
                    series.astype("string").astype(object).where(series.notna(), None), categories=m["values"]
                ).codes
                onehot = np.zeros((n, len(m["values"])), dtype="float32")
                known = codes >= 0
                onehot[np.nonzero(known)[0], codes[known]] = 1.0
                blocks.append(onehot)
        out["main"] = np.concatenate(blocks, axis=1) if blocks else np.zeros((n, 0), "float32")
    for col, spec in prep["text"].items():
        out[f"{col}_preprocessed"] = _text_ids(_require(frame, col), spec)
    for col, spec in prep["image"].items():
        out[f"{col}_preprocessed"] = load_images(_require(frame, col), spec, files_root)
    return out


def _text_ids(series: pd.Series, spec: dict[str, Any]) -> np.ndarray:
    from keras.layers import TextVectorization

    layer = TextVectorization(
        output_mode="int",
        output_sequence_length=spec["sequence_length"],
        vocabulary=spec["vocabulary"][2:] if spec["vocabulary"][:2] == ["", "[UNK]"] else spec["vocabulary"],
    )
    ids = layer(series.fillna("").astype(str).to_numpy())
    return np.asarray(ids, dtype="int32")


def load_image(path_or_bytes: Any, spec: dict[str, Any]) -> np.ndarray:
    """One image as uint8 (height, width, channels)."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = 40_000_000
    mode = {1: "L", 3: "RGB", 4: "RGBA"}[spec["channels"]]
    with Image.open(path_or_bytes) as img:
        img = img.convert(mode).resize((spec["width"], spec["height"]))
        arr = np.asarray(img, dtype="uint8")
    return arr.reshape(spec["height"], spec["width"], spec["channels"])


def load_images(series: pd.Series, spec: dict[str, Any], files_root: str | None) -> np.ndarray:
    """Images named by SERIES (paths relative to FILES_ROOT, which they may not leave) as uint8."""
    root = Path(files_root or ".").resolve()
    out = np.zeros((len(series), spec["height"], spec["width"], spec["channels"]), dtype="uint8")
    for i, rel in enumerate(series.astype(str)):
        path = (root / rel).resolve()
        if root not in path.parents:
            raise PreprocessingError(f"image path {rel!r} leaves the dataset's folder")
        try:
            out[i] = load_image(path, spec)
        except (OSError, ValueError) as exc:
            raise PreprocessingError(f"image {rel!r} cannot be read: {exc}") from None
    return out


def encode_targets(series: pd.Series, target: dict[str, Any], width: int) -> np.ndarray:
    """Targets as the model's output wants them: floats, one-hot, or (for a 1-wide sigmoid) 0/1."""
    if target["kind"] == "regression":
        return pd.to_numeric(series, errors="coerce").to_numpy(dtype="float32")[:, None]
    index = class_indices(series, target)
    if width == 1:
        return index.astype("float32")[:, None]
    onehot = np.zeros((len(series), len(target["classes"])), dtype="float32")
    onehot[np.arange(len(series)), index] = 1.0
    return onehot


def class_indices(series: pd.Series, target: dict[str, Any]) -> np.ndarray:
    """Each row's class index (-1 for a class unseen in training)."""
    lookup = {str(c): i for i, c in enumerate(target["classes"])}
    return np.array([lookup.get(str(v), -1) for v in series.tolist()], dtype="int64")
