"""Small square previews of image files, for pages that show photos (samples, bad files, duplicates).

A preview must never cost more than the page it sits on: JPEGs are decoded at a fraction of their size,
and a file that does not decode, or whose header claims more pixels than is safe to decode, gets no
preview (None) instead of an exception, since showing bad files is part of the point.
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageOps

MAX_PIXELS = 50_000_000  # a header claiming more is not decoded for a preview


def square_thumbnail(path: str | Path, side: int) -> Image.Image | None:
    """An upright RGB `side` x `side` crop of the image's middle, so a grid lines up whatever the shapes;
    None where the file does not decode."""
    try:
        with Image.open(path) as image:
            if image.width * image.height > MAX_PIXELS:
                return None
            image.draft("RGB", (side, side))  # JPEG: decode at 1/2, 1/4 or 1/8 of the size, much faster
            return ImageOps.fit(ImageOps.exif_transpose(image).convert("RGB"), (side, side))
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def preview_jpeg(path: str | Path, side: int) -> bytes | None:
    """A JPEG of the whole image at most `side` pixels on its longer edge, for a table's photo column; None
    where the file does not decode."""
    try:
        with Image.open(path) as image:
            if image.width * image.height > MAX_PIXELS:
                return None
            image.draft("RGB", (side, side))
            shown = ImageOps.exif_transpose(image).convert("RGB")
            shown.thumbnail((side, side))
            buffer = io.BytesIO()
            shown.save(buffer, "JPEG", quality=70)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    return buffer.getvalue()
