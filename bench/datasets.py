"""Synthetic datasets for the benchmarks: a tabular table (numeric + categorical, binary label), class images and
their ZIP."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def tabular_frame(rows: int, n_numeric: int = 24, n_categorical: int = 6, seed: int = 0) -> Any:
    """ROWS × (N_NUMERIC + N_CATEGORICAL) features and a learnable binary 'label' (numeric + categorical)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    num = rng.normal(size=(rows, n_numeric)).astype("float32")
    cats = rng.integers(0, 8, size=(rows, n_categorical))
    frame = pd.DataFrame(num, columns=[f"x{i}" for i in range(n_numeric)])
    for j in range(n_categorical):
        frame[f"c{j}"] = np.array([f"v{k}" for k in range(8)])[cats[:, j]]
    score = num[:, :4].sum(axis=1) + (cats[:, 0] % 3) - 1 + rng.normal(scale=0.5, size=rows)
    frame["label"] = np.where(score > 0, "yes", "no")
    return frame


def tabular_csv(path: Path, rows: int, **kw: Any) -> Path:
    """Write tabular_frame(ROWS) as CSV (via Arrow: fast) and return PATH."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    pacsv.write_csv(pa.Table.from_pandas(tabular_frame(rows, **kw), preserve_index=False), path)
    return path


def class_images(n_images: int, size: int = 64, n_classes: int = 4, seed: int = 0) -> Iterator[tuple[int, Any]]:
    """N_IMAGES (class, SIZE×SIZE×3 uint8 pixels), classes in turn; each class has its own colour pattern + noise."""
    import numpy as np

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    for i in range(n_images):
        cls = i % n_classes
        base = np.stack([(xx * (cls + 1) * 4) % 256, (yy * (cls + 2) * 3) % 256, np.full_like(xx, cls * 60)], -1)
        noise = rng.integers(0, 64, size=(size, size, 3))
        yield cls, ((base + noise) % 256).astype("uint8")


def image_zip(path: Path, n_images: int, size: int = 64, n_classes: int = 4, seed: int = 0) -> Path:
    """A ZIP of N_IMAGES PNGs (class_images) in one folder per class."""
    from PIL import Image

    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for i, (cls, pixels) in enumerate(class_images(n_images, size, n_classes, seed)):
            buf = io.BytesIO()
            Image.fromarray(pixels).save(buf, format="PNG", compress_level=1)
            zf.writestr(f"class_{cls}/img_{i:06d}.png", buf.getvalue())
    return path
