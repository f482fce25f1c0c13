"""Image files and small datasets the tests make themselves: bad files that must be caught, odd good ones
that must be read correctly, and class folders of cats and dogs. Every image is a real encoded file written
with Pillow. Plain functions, imported by any test module (tests never import from one another)."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

SIDE = 64


def photo(seed: int = 0, size: tuple[int, int] = (SIDE, SIDE)) -> Image.Image:
    """A smooth, noisy RGB picture: compressible like a photo, different for each seed."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0 : size[1], 0 : size[0]]
    base = np.stack([x * 255 / size[0], y * 255 / size[1], (x + y) * 127 / sum(size)], axis=-1)
    noise = rng.normal(0, 20, base.shape)
    return Image.fromarray(np.clip(base + noise + rng.integers(0, 60), 0, 255).astype(np.uint8))


def jpeg_bytes(image: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90, **options)
    return buffer.getvalue()


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def bad_files() -> dict[str, bytes]:
    """Name -> bytes of files a scan must reject, each for its own reason."""
    jpeg = jpeg_bytes(photo(1))
    png = png_bytes(photo(2))
    return {
        "truncated.jpg": jpeg[: len(jpeg) // 2],
        "empty.jpg": b"",
        "text.jpg": b"this is a text file that pretends to be a JPEG\n" * 20,
        "half.png": png[: len(png) // 2],
        "tiny.png": png_bytes(photo(3, size=(4, 4))),
    }


def good_files() -> dict[str, bytes]:
    """Name -> bytes of unusual but valid images a scan must accept and the pipeline must read."""
    rgb = photo(4)
    files = {
        "png-named.jpg": png_bytes(photo(5)),
        "cmyk.jpg": jpeg_bytes(rgb.convert("CMYK")),
        "gray.png": png_bytes(rgb.convert("L")),
        "rgba.png": png_bytes(rgb.convert("RGBA")),
        "sixteen-bit.png": png_bytes(Image.fromarray((np.asarray(rgb.convert("L"), dtype=np.uint16) * 257))),
        "rotated.jpg": _exif_rotated(photo(6, size=(80, 48))),
        "plain.bmp": _encoded(photo(7), "BMP"),
        "still.webp": _encoded(photo(8), "WEBP"),
        "animated.gif": _animated_gif(),
    }
    return files


def huge_dimensions_png() -> bytes:
    """A PNG whose header claims 20,000 x 20,000 pixels: flagged from the header, never decoded."""
    return _encoded(Image.new("1", (20_000, 20_000)), "PNG")


def _encoded(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _exif_rotated(image: Image.Image) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 clockwise to display"
    return jpeg_bytes(image, exif=exif.tobytes())


def _animated_gif() -> bytes:
    frames = [photo(10 + i).convert("P") for i in range(3)]
    return _encoded(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


def write(folder: Path, files: dict[str, bytes]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, data in files.items():
        (folder / name).write_bytes(data)
        paths.append(folder / name)
    return paths


def class_folders(root: Path, per_class: int = 6, classes: tuple[str, ...] = ("cats", "dogs"),
                  seed: int = 0) -> Path:
    """A small class-folder dataset of distinct JPEGs (distinct across calls with different seeds)."""
    for c, label in enumerate(classes):
        write(root / label, {f"{label}.{i}.jpg": jpeg_bytes(photo(seed + 100 * c + i)) for i in range(per_class)})
    return root


def make_pets(folder: Path, per_class: int = 6, *, truncated: bool = False, duplicate: bool = False) -> Path:
    """A class-folders dataset of small real JPEGs; optionally one cat cut in half, as a failed copy leaves
    it, and one cat saved twice (`cat.0.jpg` again as `cat.copy.jpg`)."""
    for index, label in enumerate(("cats", "dogs")):
        (folder / label).mkdir(parents=True)
        for n in range(per_class):
            (folder / label / f"{label[:-1]}.{n}.jpg").write_bytes(jpeg_bytes(photo(100 * index + n)))
    if truncated:
        whole = jpeg_bytes(photo(999))
        (folder / "cats" / "cat.broken.jpg").write_bytes(whole[: len(whole) // 2])
    if duplicate:
        (folder / "cats" / "cat.copy.jpg").write_bytes((folder / "cats" / "cat.0.jpg").read_bytes())
    return folder


def copy_of_sample(folder: Path, per_class: int) -> Path:
    """A plain class-folders dataset (no split folders) of `per_class` real photos per class, copied from the
    shared sample's training photos: small enough to train on in seconds."""
    from tests.conftest import FILTERED

    for label in ("cats", "dogs"):
        (folder / label).mkdir(parents=True)
        for source in sorted((FILTERED / "train" / label).glob("*.jpg"))[:per_class]:
            shutil.copy(source, folder / label / source.name)
    return folder


PLANTED_PER_CLASS = 25  # real photos per class and split in `planted_copies`


def planted_copies(folder: Path) -> dict[str, tuple[str, bool]]:
    """Split folders (train, validation) of PLANTED_PER_CLASS real photos per class each, copied from the shared
    sample, plus copies of three of its training photos: half size and JPEG quality 40 in validation (leakage), a
    mirror image beside its original in train. Returns each copy's path -> (its original's path, crosses splits)."""
    from PIL import ImageOps

    from tests.conftest import FILTERED

    for split in ("train", "validation"):
        for label in ("cats", "dogs"):
            (folder / split / label).mkdir(parents=True)
            for source in sorted((FILTERED / split / label).glob("*.jpg"))[:PLANTED_PER_CLASS]:
                shutil.copy(source, folder / split / label / source.name)
    planted = {"validation/cats/copy-half.jpg": ("train/cats/cat.1.jpg", True),
               "validation/dogs/copy-q40.jpg": ("train/dogs/dog.11.jpg", True),
               "train/dogs/copy-mirror.jpg": ("train/dogs/dog.10.jpg", False)}
    with Image.open(folder / "train/cats/cat.1.jpg") as cat:
        cat.convert("RGB").resize((cat.width // 2, cat.height // 2), Image.LANCZOS).save(
            folder / "validation/cats/copy-half.jpg", quality=90)
    with Image.open(folder / "train/dogs/dog.11.jpg") as dog:
        dog.convert("RGB").save(folder / "validation/dogs/copy-q40.jpg", quality=40)
    with Image.open(folder / "train/dogs/dog.10.jpg") as dog:
        ImageOps.mirror(dog.convert("RGB")).save(folder / "train/dogs/copy-mirror.jpg", quality=90)
    return {str(folder / copy): (str(folder / original), crosses) for copy, (original, crosses) in planted.items()}
