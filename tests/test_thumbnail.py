"""Previews of image files: every file that decodes gets one, any other gets None instead of an exception."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from lab.data.thumbnail import square_thumbnail
from tests import corpus


def test_every_decodable_file_gets_a_square_rgb_preview(tmp_path: Path) -> None:
    for path in corpus.write(tmp_path, {**corpus.good_files(), "tiny.png": corpus.bad_files()["tiny.png"]}):
        preview = square_thumbnail(path, 48)
        assert preview is not None and preview.size == (48, 48) and preview.mode == "RGB", path.name


def test_files_that_do_not_decode_or_claim_too_many_pixels_get_none(tmp_path: Path) -> None:
    undecodable = {name: data for name, data in corpus.bad_files().items() if name != "tiny.png"}
    files = {**undecodable, "huge.png": corpus.huge_dimensions_png(), "large.png": _blank_png(9_000, 9_000)}
    assert {path.name: square_thumbnail(path, 48) for path in corpus.write(tmp_path, files)} == dict.fromkeys(files)


def _blank_png(width: int, height: int) -> bytes:
    """81 million pixels: under Pillow's own limit, so only the preview's limit keeps it from being decoded."""
    buffer = io.BytesIO()
    Image.new("1", (width, height)).save(buffer, "PNG")
    return buffer.getvalue()
