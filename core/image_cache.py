"""The preprocessed image cache: one image column of a dataset decoded once at one size into a memory-mapped array.

A dataset's caches live in `<dataset folder>/image_cache/`, next to its `files/` folder, one pair per
(column, height, width, channels): `<key>.npy` (uint8, rows × height × width × channels, opened with
`numpy.load(mmap_mode="r")`) and `<key>.json` (the image paths in row order, the paths that could not be decoded,
the Parquet file's size and mtime it was built from). The worker builds them (worker/image_cache_build.py);
the training child only reads them. This module imports nothing of fitstudio's but core.row_views (NumPy only) and
core.image_formats, so that its decoding processes start fast.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core import image_formats, row_views

FOLDER = "image_cache"
FORMAT = 3  # 2: 16-bit grey scaled and EXIF turns; 3: 32-bit and float grey scaled (older caches are rebuilt)
ORIENTATION = 0x0112  # the EXIF tag


def folder_of(files_root: str | os.PathLike[str]) -> Path:
    """The cache folder of the dataset whose image files lie in FILES_ROOT (its sibling)."""
    return Path(files_root).parent / FOLDER


def key(column: str, spec: dict[str, Any]) -> str:
    """The file stem of COLUMN's cache at SPEC's size (column names may hold any character: hashed)."""
    digest = hashlib.sha256(str(column).encode()).hexdigest()[:16]
    return f"{digest}-{int(spec['height'])}x{int(spec['width'])}x{int(spec['channels'])}"


def paths_of(files_root: str | os.PathLike[str], column: str, spec: dict[str, Any]) -> tuple[Path, Path]:
    """(array file, index file) of COLUMN's cache at SPEC's size."""
    stem = folder_of(files_root) / key(column, spec)
    return stem.with_suffix(".npy"), stem.with_suffix(".json")


def source_stamp(parquet: str | os.PathLike[str]) -> list[int]:
    """What identifies the dataset's content: the Parquet file's size and mtime (ns)."""
    st = os.stat(parquet)
    return [st.st_size, st.st_mtime_ns]


def decode(path_or_bytes: Any, spec: dict[str, Any]) -> np.ndarray:
    """One image as uint8 (height, width, channels): what preprocessing.load_image and the cache build use."""
    from PIL import Image, ImageOps

    Image.MAX_IMAGE_PIXELS = 40_000_000
    mode = {1: "L", 3: "RGB", 4: "RGBA"}[spec["channels"]]
    with image_formats.open_image(path_or_bytes) as img:
        if img.getexif().get(ORIENTATION, 1) != 1:  # a phone's photo, stored sideways: trained on as it is seen
            img = ImageOps.exif_transpose(img)
        if img.mode.startswith("I") or img.mode == "F":  # convert() clips these at 255: nearly all white or black
            img = Image.fromarray(_grey_8_bits(np.asarray(img), img.mode), "L")
        img = img.convert(mode).resize((spec["width"], spec["height"]))
        arr = np.asarray(img, dtype="uint8")
    return arr.reshape(spec["height"], spec["width"], spec["channels"])


def _grey_8_bits(pixels: np.ndarray, mode: str) -> np.ndarray:
    """Grey PIXELS of more than 8 bits as 8 bits, each kind by a fixed rule (an image's own range would make one
    value mean different things in two images): 16-bit (I;16, and 32-bit integers, clipped to 16 bits) shifted
    by 8 (scans, microscopy); floats (F) read as 0-1, the usual range of float images."""
    if mode == "F":
        return np.clip(np.rint(np.nan_to_num(pixels.astype(np.float64)) * 255), 0, 255).astype(np.uint8)
    return (np.clip(pixels.astype(np.int64), 0, 65535) >> 8).astype(np.uint8)


def decode_rows(array_path: str, files_root: str, start: int, paths: list[str], spec: dict[str, Any]) -> dict:
    """Decode PATHS into rows START… of the array file being built; {path: why} for those that could not be read.

    A process pool's task: this module imports only numpy (and PIL here), so a pool process starts quickly."""
    array = np.load(array_path, mmap_mode="r+")
    root = Path(files_root).resolve()
    bad: dict[str, str] = {}
    for i, rel in enumerate(paths):
        path = (root / rel).resolve()
        if root not in path.parents:
            bad[rel] = "leaves the dataset's folder"
            continue
        try:
            array[start + i] = decode(path, spec)
        except (OSError, ValueError) as exc:
            bad[rel] = f"cannot be read: {exc}"
    array.flush()
    return bad


@dataclass
class Cache:
    """One opened cache: the memory-mapped pixels and the row of each image path."""

    array: np.ndarray
    rows: dict[str, int]
    bad: dict[str, str]
    path: Path

    def row_indices(self, values: Any) -> np.ndarray:
        """The cache rows of the image paths VALUES (KeyError for a path the cache does not hold)."""
        return np.fromiter((self.rows[str(v)] for v in values), dtype="int64", count=len(values))

    def take(self, indices: np.ndarray) -> np.ndarray:
        """The images at INDICES, read in file order (a sorted gather touches each page once), in INDICES' order."""
        return row_views.gather(self.array, indices)


def read_index(index_path: Path) -> dict[str, Any] | None:
    """The index file's object, or None when it is absent or not one of ours."""
    try:
        doc = json.loads(index_path.read_text())
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) and doc.get("format") == FORMAT else None


def is_current(array_path: Path, doc: dict[str, Any] | None, spec: dict[str, Any], stamp: list[int] | None) -> bool:
    """Whether the cache at ARRAY_PATH with index DOC is complete for SPEC and built from the data STAMP names."""
    if doc is None or not array_path.is_file():
        return False
    shape = [len(doc.get("paths") or []), int(spec["height"]), int(spec["width"]), int(spec["channels"])]
    if doc.get("shape") != shape or (stamp is not None and doc.get("source") != stamp):
        return False
    return array_path.stat().st_size == doc.get("bytes")


def open_cache(files_root: str | None, column: str, spec: dict[str, Any]) -> Cache | None:
    """COLUMN's cache at SPEC's size, memory-mapped read-only; None when there is none (or it is incomplete)."""
    if not files_root:
        return None
    array_path, index_path = paths_of(files_root, column, spec)
    doc = read_index(index_path)
    if not is_current(array_path, doc, spec, None):
        return None
    assert doc is not None
    try:
        array = np.load(array_path, mmap_mode="r")
    except (OSError, ValueError):
        return None
    rows = {p: i for i, p in enumerate(doc["paths"])}
    return Cache(array, rows, dict(doc.get("bad") or {}), array_path)


def size_bytes(dataset_folder: str | os.PathLike[str]) -> int:
    """Bytes the dataset's caches take on disk (0 without any)."""
    folder = Path(dataset_folder) / FOLDER
    if not folder.is_dir():
        return 0
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file() and p.suffix in (".npy", ".json"))


def serve(stdin: Any = sys.stdin, stdout: Any = sys.stdout) -> None:
    """A decoding process of the build's pool: a JSON header on STDIN ({array, root, spec}), then one line per chunk
    ([start, paths]) until EOF; one JSON line per chunk done on STDOUT ({done, bad})."""
    job = json.loads(stdin.readline())
    for line in stdin:
        start, paths = json.loads(line)
        bad = decode_rows(job["array"], job["root"], int(start), paths, job["spec"])
        stdout.write(json.dumps({"done": len(paths), "bad": bad}) + "\n")
        stdout.flush()


if __name__ == "__main__":
    serve()
