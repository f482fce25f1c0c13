"""What `lab map` and `lab near-duplicates` share: the photos to look at (a run folder, a data folder or zip, a
saved manifest), the backbone to see them through, and their pooled features from the feature cache."""

from __future__ import annotations

import argparse

import numpy as np

from lab.cli.progress_line import progress_reporter
from lab.errors import LabError
from lab.inspection.photo_features import photo_features
from lab.inspection.photo_source import PhotoSource, photo_source
from lab.settings import load_settings


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", metavar="DATA_OR_RUN",
                        help="a run folder (its data, backbone, weights and answers), a data folder, a .zip or a "
                             "saved manifest name")
    parser.add_argument("--backbone", help="the backbone to see the photos through (required for data; default "
                                           "for a run: its own)")
    parser.add_argument("--weights", help="imagenet, none, or a weights file or its name in the weights folder "
                                          "(default: the run's, or imagenet)")
    parser.add_argument("--image-size", type=int, help="pixels (default: the run's, or the backbone's native size)")


def source_features(args: argparse.Namespace) -> tuple[PhotoSource, np.ndarray]:
    """The photos `args` name and one row of pooled features each."""
    if args.image_size is not None and args.image_size < 1:
        raise LabError(f"--image-size must be a positive number of pixels, not {args.image_size}.")
    settings = load_settings()
    progress = progress_reporter()
    source = photo_source(args.source, backbone=args.backbone, weights=args.weights, image_size=args.image_size,
                          settings=settings, on_progress=progress)
    features = photo_features(source.records, source.backbone, weights=source.weights, settings=settings,
                              image_size=source.image_size, on_progress=progress)
    return source, features
