"""Decide whether one file is a usable image by decoding it fully, and say why when it is not.

Pillow's `verify()` passes truncated JPEGs, so every file is decoded with `load()`; the tutorials had to
delete such files by hand after training crashed on them. Dimensions are read from the header first, so
a decompression bomb is flagged without ever being decoded.

Memory stays bounded: a file is hashed in `CHUNK`-sized reads and decoded by Pillow from the open file
(never read whole into memory), and files over `MAX_FILE_BYTES` are reported as too large without being
read at all. A check therefore holds one chunk (1 MiB) plus Pillow's decoded pixels, which `MAX_PIXELS`
caps: a scan in T threads holds at most T x 1 MiB of file bytes.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import warnings
from pathlib import Path
from typing import BinaryIO

from PIL import Image, UnidentifiedImageError

from lab.data.records import FileCheck
from lab.storage import CHUNK

SUPPORTED_FORMATS = frozenset({"JPEG", "PNG", "BMP", "GIF", "WEBP", "MPO"})
MIN_SIDE = 16
MAX_PIXELS = 89_478_485  # Pillow's own decompression-bomb threshold
# No photo a model trains on is this big (a 50-megapixel camera's JPEG is about 25 MB); a larger file is
# a video, a disk image or a sparse file named .jpg, and hashing it would only cost time.
MAX_FILE_BYTES = 64 * 2**20
_EXIF_ORIENTATION = 0x0112
# What TensorFlow's native decoders read exactly as Pillow does; anything else goes through Pillow.
_TF_NATIVE = {("JPEG", "RGB"), ("JPEG", "L"), ("PNG", "RGB"), ("PNG", "RGBA"), ("PNG", "L"), ("BMP", "RGB")}


def digest_stream(handle: BinaryIO) -> str:
    """The content digest that identifies an image everywhere (duplicates, manifests, feature caches),
    read in chunks from the start of `handle`."""
    digest = hashlib.blake2b(digest_size=16)
    for chunk in iter(lambda: handle.read(CHUNK), b""):
        digest.update(chunk)
    return digest.hexdigest()


def check_file(path: str | Path) -> FileCheck:
    """Read and decode `path`; never raises for a bad file, returns a `FileCheck` with the reason."""
    try:
        stat = os.stat(path)
        if (wrong_size := _size_problem(stat.st_size, stat.st_mtime_ns)) is not None:
            return wrong_size
        with open(path, "rb") as handle:
            return check_stream(handle, size=stat.st_size, mtime_ns=stat.st_mtime_ns)
    except OSError as error:  # gone since it was listed, unreadable, a link loop, or a folder named like an image
        return FileCheck(size=0, mtime_ns=0, ok=False, reason=_unreadable(error))


def check_bytes(data: bytes) -> FileCheck:
    """`check_file` for a file's content already in memory (an upload), with the same reasons."""
    return _size_problem(len(data), 0) or check_stream(io.BytesIO(data), size=len(data), mtime_ns=0)


def _size_problem(size: int, mtime_ns: int) -> FileCheck | None:
    """A file that is empty, or too large to be a photo, is bad before it is read."""
    if size == 0:
        return FileCheck(size=0, mtime_ns=mtime_ns, ok=False, reason="empty file (0 bytes)")
    if size > MAX_FILE_BYTES:
        return FileCheck(size=size, mtime_ns=mtime_ns, ok=False,
                         reason=f"too large ({size / 2**20:,.0f} MiB; the limit for a photo is "
                                f"{MAX_FILE_BYTES // 2**20} MiB): not read")
    return None


def _unreadable(error: OSError) -> str:
    if error.errno == errno.ELOOP:
        return "a symbolic link that loops (it leads back to itself): not followed"
    return f"cannot be read ({error.strerror or error})"


def check_stream(handle: BinaryIO, *, size: int, mtime_ns: int) -> FileCheck:
    """Decode the file open in `handle` and describe it; the digest is filled in for bad files too
    (duplicate detection)."""
    bad = {"size": size, "mtime_ns": mtime_ns, "ok": False, "digest": digest_stream(handle)}
    handle.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(handle)
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        return FileCheck(**bad, reason=_open_failure(error))
    except (OSError, ValueError, SyntaxError, EOFError) as error:  # a header cut short or garbled
        return FileCheck(**bad, reason=_decode_failure(error))
    header = {"width": image.width, "height": image.height, "format": image.format or "", "mode": image.mode}
    reason = _header_problem(image)
    if reason is None:
        reason = _decode_problem(image)
    if reason is not None:
        return FileCheck(**bad, **header, reason=reason)
    needs_pil = (image.format, image.mode) not in _TF_NATIVE or _rotated(image) or image.format == "MPO"
    return FileCheck(**{**bad, "ok": True}, **header, needs_pil=needs_pil)


def _open_failure(error: Exception) -> str:
    if isinstance(error, UnidentifiedImageError):
        return "not an image (no image format recognised in its bytes)"
    return f"too many pixels: a possible decompression bomb, not decoded ({error})"


def _header_problem(image: Image.Image) -> str | None:
    if image.format not in SUPPORTED_FORMATS:
        return f"unsupported format {image.format} (use JPEG, PNG, BMP, GIF or WebP)"
    pixels = image.width * image.height
    if pixels > MAX_PIXELS:
        return (f"too many pixels ({image.width}x{image.height} = {pixels:,}): a possible decompression "
                f"bomb, not decoded (limit {MAX_PIXELS:,})")
    if min(image.width, image.height) < MIN_SIDE:
        return f"too small ({image.width}x{image.height}; at least {MIN_SIDE} pixels a side)"
    return None


def _decode_problem(image: Image.Image) -> str | None:
    try:
        image.load()
    except (OSError, ValueError, SyntaxError, EOFError) as error:
        return _decode_failure(error)
    return None


def _decode_failure(error: Exception) -> str:
    message = str(error)
    if "runcated" in message or "broken data stream" in message or isinstance(error, EOFError):
        return f"truncated: the file ends before the image does ({message})"
    return f"corrupt: the image data cannot be decoded ({message})"


def _rotated(image: Image.Image) -> bool:
    try:
        return image.getexif().get(_EXIF_ORIENTATION, 1) not in (1, None)
    except Exception:  # a broken EXIF block must not make a decodable image unusable
        return False
