"""An image ZIP's upload with every image decoded before it is stored, against reading only its header (before).

    .venv/bin/python bench/image_checks.py [--quick] [--sizes 2000,10000] [--repeats 3] [--photo 500x375]

For each size, the script writes a ZIP of that many JPEG photos (smooth gradients with noise, quality 90, stored as
phones and cameras leave them: JPEGs do not deflate) in two class folders, then extracts it with
`image_zip.ingest`, interleaved, REPEATS times each:

- `header`: each image's header read (Pillow's `Image.open` and its size): the check before;
- `decoded`: each image decoded (image_checks.check_image: a JPEG at 1/8 scale) on CHECK_THREADS threads (the
  cores, up to 4): now;
- `decoded, 1 thread`: the same on one thread, to show what the threads buy.

It reports the seconds, images per second and the ratio to `header`, and one 12-megapixel photo's check (an
iPhone's size), whole against at 1/8 scale.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import median, show, write_result  # noqa: E402
from server.services import image_checks, image_zip  # noqa: E402


def photo(width: int, height: int, seed: int) -> bytes:
    """A JPEG that compresses as a photo does: gradients and sensor-like noise."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 255 // width, y * 255 // height, (x + y) * 127 // (width + height)], -1)
    pixels = np.clip(base + rng.integers(-20, 20, (height, width, 3)), 0, 255).astype("uint8")
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def header_only(source: Path) -> image_checks.Unreadable | None:
    """The check before: the header read, the pixel limit applied."""
    from PIL import Image

    try:
        with Image.open(source) as img:
            width, height = img.size
    except Exception:
        return image_checks.Unreadable("bad_image", "is not a readable image")
    return image_checks._too_many_pixels((width, height)) if width * height > image_checks.MAX_PIXELS else None


def write_zip(path: Path, n: int, size: tuple[int, int]) -> None:
    """N photos in cat/ and dog/, a few distinct ones repeated (the encoding is not what is measured)."""
    distinct = [photo(*size, seed) for seed in range(16)]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for i in range(n):
            archive.writestr(f"photos/{'cat' if i % 2 else 'dog'}/{i:06d}.jpg", distinct[i % len(distinct)])


def timed_ingest(upload: Path, scratch: Path, variant: str) -> float:
    """Seconds of one ingest of UPLOAD with the check of VARIANT."""
    dest = scratch / "dest"
    shutil.rmtree(dest, ignore_errors=True)
    saved = image_checks.check_image, image_checks.CHECK_THREADS
    if variant == "header":
        image_checks.check_image = header_only
    elif variant == "decoded, 1 thread":
        image_checks.CHECK_THREADS = 1
    try:
        start = time.perf_counter()
        got = image_zip.ingest(upload, dest)
        elapsed = time.perf_counter() - start
    finally:
        image_checks.check_image, image_checks.CHECK_THREADS = saved
    assert got.left_out is None, got.left_out
    return elapsed


def measure(n: int, repeats: int, size: tuple[int, int]) -> dict[str, Any]:
    """The interleaved timings of the three variants at N photos."""
    scratch = Path(tempfile.mkdtemp(prefix="fitstudio-bench-checks-"))
    try:
        upload = scratch / "photos.zip"
        write_zip(upload, n, size)
        variants = ("header", "decoded", "decoded, 1 thread")
        runs: dict[str, list[float]] = {v: [] for v in variants}
        timed_ingest(upload, scratch, "header")  # the page cache warm for all
        for _ in range(repeats):
            for variant in variants:
                runs[variant].append(timed_ingest(upload, scratch, variant))
        out: dict[str, Any] = {"zip_mb": upload.stat().st_size / 2**20, "runs_s": runs}
        for variant in variants:
            out[variant] = median(runs[variant])
            out[f"{variant} images/s"] = n / out[variant]
            out[f"{variant} / header"] = out[variant] / out["header"]
        return out
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def big_photo(repeats: int) -> dict[str, float]:
    """One 4032×3024 photo: the check's seconds at 1/8 scale, and a whole decode's."""
    from PIL import Image

    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "IMG_0001.jpg"
        path.write_bytes(photo(4032, 3024, 0))
        checks, whole = [], []
        for _ in range(repeats):
            start = time.perf_counter()
            assert image_checks.check_image(path) is None
            checks.append(time.perf_counter() - start)
            start = time.perf_counter()
            with Image.open(path) as img:
                img.load()
            whole.append(time.perf_counter() - start)
    return {"check_s": median(checks), "whole_decode_s": median(whole)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="500 photos, 1 repeat")
    parser.add_argument("--sizes", default="2000,10000")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--photo", default="500x375", help="each photo's width x height")
    args = parser.parse_args()
    sizes = [500] if args.quick else [int(s) for s in args.sizes.split(",")]
    repeats = 1 if args.quick else args.repeats
    size = tuple(int(v) for v in args.photo.split("x"))
    load = list(os.getloadavg())
    figures: dict[str, Any] = {"repeats": repeats, "photo": args.photo, "check_threads": image_checks.CHECK_THREADS}
    for n in sizes:
        got = measure(n, repeats, size)  # type: ignore[arg-type]
        figures[str(n)] = got
        show(
            f"{n} photos of {args.photo} ({got['zip_mb']:.0f} MB), median of {repeats}",
            [(f"{v} (s)", got[v]) for v in ("header", "decoded", "decoded, 1 thread")]
            + [(f"{v} images/s", got[f"{v} images/s"]) for v in ("header", "decoded")]
            + [("decoded / header", got["decoded / header"])],
        )
    figures["12mp"] = big_photo(1 if args.quick else 3)
    show("one 4032x3024 photo (s)", list(figures["12mp"].items()))
    write_result("image_checks", args.quick, figures, load)


if __name__ == "__main__":
    main()
