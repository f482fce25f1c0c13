"""`python -m lab augment IMAGE --preset NAME [--set key=value ...] --n N --seed S --out DIR`: write augmented
variants of one image as PNG files, decoded, resized and augmented exactly as training would."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np
from PIL import Image

from lab.augment import (
    DEFAULT_PRESET,
    PARAMETERS,
    PRESETS,
    AugmentSpec,
    parse_assignments,
    preview,
    spec_from,
    to_uint8,
)
from lab.errors import LabError
from lab.storage import write_bytes_atomic


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("augment", help="write augmented variants of an image, as training sees them")
    parser.add_argument("image", help="an image file")
    parser.add_argument("--preset", default=DEFAULT_PRESET, help=f"one of: {', '.join(PRESETS)} "
                        f"(default: {DEFAULT_PRESET})")
    parser.add_argument("--set", dest="assignments", action="append", default=[], metavar="KEY=VALUE",
                        help="change one parameter of the preset (repeatable); parameters: "
                        f"{', '.join(PARAMETERS)}")
    parser.add_argument("--n", type=int, default=9, help="how many variants (default: 9)")
    parser.add_argument("--seed", type=int, default=0, help="random seed; the same seed writes the same files")
    parser.add_argument("--out", required=True, type=Path, help="folder to write the PNG files into")
    parser.add_argument("--image-size", type=int, default=224,
                        help="training input size in pixels, images are squashed to it (default: 224)")
    parser.set_defaults(func=run)


def requested_spec(args: argparse.Namespace) -> AugmentSpec:
    """The spec the arguments ask for: the preset, changed by each `--set`."""
    return spec_from(args.preset, parse_assignments(args.assignments))


def run(args: argparse.Namespace) -> int:
    spec = requested_spec(args)
    if args.image_size < 1:
        raise LabError(f"--image-size must be a positive number of pixels; got {args.image_size}.")
    if not Path(args.image).is_file():
        raise LabError(f"No image file at {args.image}: check the path.")
    from lab.data.pipeline import load_image  # imports TensorFlow: only once the arguments are known good

    variants = preview(load_image(args.image, args.image_size), spec, args.n, args.seed)
    for i, variant in enumerate(variants):
        path = args.out / f"{Path(args.image).stem}-{i:03d}.png"
        write_bytes_atomic(path, _png(variant))
        print(path)
    return 0


def _png(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(to_uint8(image)).save(buffer, format="PNG")
    return buffer.getvalue()
