"""Every image of an upload decoded once before it is stored, on a few threads: one that cannot be read (an empty
file, a truncated download, a file that only bears an image's name) is left out and named, not met mid-training."""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from core import image_formats
from server.errors import invalid

MAX_PIXELS = 40_000_000
CHECK_THREADS = max(1, min(4, os.cpu_count() or 1))  # Pillow's decoders release the GIL; 4 bound the memory
LISTED = 100  # left-out images named in a dataset's source; its count covers them all


@dataclass(frozen=True)
class Unreadable:
    """Why an image is left out: the error code a refusal would carry, and a clause saying why."""

    code: str
    why: str


def check_image(source: Path) -> Unreadable | None:
    """Why SOURCE cannot be trained on, or None: it must decode within the pixel limit. A JPEG is decoded at 1/8
    scale (every byte is still read and checked, in half the time), a PNG by its chunks' checksums (no pixels
    inflated), any other whole."""
    from PIL import Image, UnidentifiedImageError

    if source.stat().st_size == 0:
        return Unreadable("bad_image", "is an empty file")
    try:
        with image_formats.open_image(source) as img:
            width, height = img.size
            if width * height > MAX_PIXELS:
                return _too_many_pixels((width, height))
            if img.format == "PNG":
                img.verify()
            else:
                img.draft(img.mode, (max(1, width // 8), max(1, height // 8)))  # a no-op but for JPEG
                img.load()
    except Image.DecompressionBombError:  # Pillow's own guard, for sizes far above ours
        return _too_many_pixels(None)
    except UnidentifiedImageError:  # its message holds the server's path
        return Unreadable("bad_image", "is not a readable image")
    except Exception as exc:  # Pillow's plugins raise OSError, SyntaxError, struct.error, ... on damaged data
        reason = str(exc).replace(str(source), "the file")[:150] or type(exc).__name__
        return Unreadable("bad_image", f"is a damaged image ({reason})")
    return None


def _too_many_pixels(size: tuple[int, int] | None) -> Unreadable:
    declared = f"{size[0]}x{size[1]} pixels" if size else f"far more than {MAX_PIXELS} pixels"
    return Unreadable("image_too_large", f"declares {declared}; the limit is {MAX_PIXELS} pixels")


def _check_or_remove(path: Path) -> Unreadable | None:
    found = check_image(path)
    if found is not None:
        path.unlink(missing_ok=True)  # never stored
    return found


class Checks:
    """The checks of an upload's images, run while its archive is still being extracted."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(CHECK_THREADS, thread_name_prefix="image-check")
        self._pending: dict[str, tuple[str, Future[Unreadable | None]]] = {}

    def __enter__(self) -> Checks:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def submit(self, path: Path, rel: str, name: str) -> None:
        """Check the extracted image PATH, stored as REL, entry NAME of the archive (its file removed if bad)."""
        self._pending[rel] = (name, self._pool.submit(_check_or_remove, path))

    def failed(self) -> dict[str, tuple[str, Unreadable]]:
        """Wait for every check: {stored path: (entry name, why)} of the images that cannot be read."""
        out = {}
        for rel, (name, future) in self._pending.items():
            if (found := future.result()) is not None:
                out[rel] = (name, found)
        return out


def left_out_source(failed: dict[str, tuple[str, Unreadable]]) -> dict[str, Any] | None:
    """What a dataset's `source` says of the images FAILED left out (None when none was)."""
    if not failed:
        return None
    listed = [{"path": name, "why": why.why} for name, why in list(failed.values())[:LISTED]]
    return {"images_left_out": len(failed), "left_out": listed}


def refuse_when_none_readable(kept: int, failed: dict[str, tuple[str, Unreadable]]) -> None:
    """422 with the first image's reason when no image of the upload could be read."""
    if kept or not failed:
        return
    name, why = next(iter(failed.values()))
    whole = f"None of the archive's {len(failed)} images can be read: " if len(failed) > 1 else ""
    raise invalid(f"{whole}Archive entry {name!r} {why.why}.", code=why.code)
