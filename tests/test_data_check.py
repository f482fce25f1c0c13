"""Every file is decoded fully: bad files are caught with their reason, odd good files are accepted."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.data.check import check_file
from tests import corpus

EXPECTED_REASONS = {
    "truncated.jpg": "truncated",
    "empty.jpg": "empty",
    "text.jpg": "not an image",
    "half.png": "truncated",
    "tiny.png": "too small",
}


@pytest.mark.parametrize("name", sorted(EXPECTED_REASONS))
def test_bad_files_are_rejected_with_their_reason(tmp_path: Path, name: str) -> None:
    (path,) = corpus.write(tmp_path, {name: corpus.bad_files()[name]})
    check = check_file(path)
    assert not check.ok
    assert EXPECTED_REASONS[name] in check.reason


@pytest.mark.parametrize("name", sorted(corpus.good_files()))
def test_awkward_but_valid_files_are_accepted(tmp_path: Path, name: str) -> None:
    (path,) = corpus.write(tmp_path, {name: corpus.good_files()[name]})
    check = check_file(path)
    assert check.ok, check.reason
    assert check.width >= 16 and check.height >= 16 and len(check.digest) == 32


def test_files_tensorflow_would_misread_are_routed_through_pillow(tmp_path: Path) -> None:
    paths = corpus.write(tmp_path, corpus.good_files())
    routed = {p.name for p in paths if check_file(p).needs_pil}
    assert {"cmyk.jpg", "sixteen-bit.png", "rotated.jpg", "still.webp", "animated.gif"} <= routed
    assert "png-named.jpg" not in routed and "gray.png" not in routed


def test_a_decompression_bomb_is_flagged_without_decoding(tmp_path: Path) -> None:
    (path,) = corpus.write(tmp_path, {"huge.png": corpus.huge_dimensions_png()})
    check = check_file(path)
    assert not check.ok
    assert "too many pixels" in check.reason and "not decoded" in check.reason


def test_identical_bytes_share_a_digest_and_different_bytes_do_not(tmp_path: Path) -> None:
    jpeg = corpus.jpeg_bytes(corpus.photo(1))
    a, b, c = corpus.write(tmp_path, {"a.jpg": jpeg, "b.jpg": jpeg, "c.jpg": corpus.jpeg_bytes(corpus.photo(2))})
    assert check_file(a).digest == check_file(b).digest != check_file(c).digest
