"""The image files fitstudio reads: Pillow's formats and HEIC/HEIF (an iPhone's photos, through pillow-heif)."""

from __future__ import annotations

import functools
from typing import Any

# What an image ZIP's entries may be; `.jfif`/`.jpe` are JPEGs as Windows saves some, `.heic`/`.heif` an iPhone's.
SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".jfif", ".jpe", ".bmp", ".gif", ".webp", ".avif", ".tif", ".tiff", ".heic", ".heif"}
)


@functools.cache
def register() -> None:
    """Teach this process's Pillow to open HEIC/HEIF files (once: pillow-heif adds an opener to Pillow's registry)."""
    from pillow_heif import register_heif_opener

    register_heif_opener()


def open_image(source: Any) -> Any:
    """SOURCE (a path or a binary file) opened by Pillow, HEIC/HEIF included; Pillow's errors as Image.open's."""
    from PIL import Image

    register()
    return Image.open(source)
