"""The small value types that flow between scanning, manifests, pipelines and training."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp"})
SPLITS = ("train", "validation", "test")
SPLIT_ALIASES = {
    "train": "train",
    "training": "train",
    "validation": "validation",
    "val": "validation",
    "valid": "validation",
    "test": "test",
    "testing": "test",
}


@dataclass(frozen=True)
class FoundImage:
    """A file that looks like an image by its name, with the label and split its place implies."""

    path: str
    label: str
    split: str | None


@dataclass(frozen=True)
class FileCheck:
    """What fully decoding one file found. `reason` says why a bad file is bad."""

    size: int
    mtime_ns: int
    ok: bool
    reason: str | None = None
    digest: str = ""
    width: int = 0
    height: int = 0
    format: str = ""
    mode: str = ""
    needs_pil: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ImageRecord:
    """A valid image: where it is, its class, its split, and its content digest.

    `needs_pil` marks files TensorFlow's decoders would get wrong (WebP, CMYK, 16-bit, EXIF-rotated,
    palette GIFs): the tf.data pipeline decodes those with Pillow and all others natively.
    """

    path: str
    label: str
    split: str | None
    digest: str
    width: int
    height: int
    needs_pil: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, value: dict[str, Any]) -> ImageRecord:
        return cls(**value)
