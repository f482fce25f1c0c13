"""The tutorials' published figures, and which runs reproduce which experiment.

The lab exists to reproduce two tutorials, so wherever a run repeats one of their experiments the Compare
page puts the published accuracy beside it: VGG16 on 20K and on 1K images in the Keras tutorial (about
93% validation accuracy each), and the five-model tutorial's steps (72%, 82%, 88%, 90%, 96%).

A run reproduces an experiment when it trains the same way: the same backbone, strategy, head, augmentation
and image size as the preset, and the same number of training images. The data folder, epochs and seed may
differ (a 1K run on another copy of the photos is still the 1K experiment).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lab.training.presets import PRESETS

# The fields that define an experiment; the rest (data path, epochs, seed, ...) may vary between reproductions.
SIGNATURE = ("backbone", "strategy", "head", "augment", "image_size", "train_size")


@dataclass(frozen=True)
class Reference:
    """One published result: which preset repeats it, what it reached, and where it was reported."""

    preset: str
    label: str
    accuracy: float
    source: str


KERAS_TUTORIAL = "Keras tutorial (VGG16 transfer learning on Kaggle cats vs dogs)"
FIVE_MODEL_TUTORIAL = "Five-model tutorial (hands-on transfer learning, 3,000 / 1,000 / 1,000 at 150px)"

REFERENCES: tuple[Reference, ...] = (
    Reference("keras-tutorial-vgg16-20k", "VGG16 frozen, 20K images", 0.93, KERAS_TUTORIAL),
    Reference("keras-tutorial-vgg16-1k", "VGG16 frozen, 1K images", 0.93, KERAS_TUTORIAL),
    Reference("basic-cnn", "Basic CNN from scratch", 0.72, FIVE_MODEL_TUTORIAL),
    Reference("basic-cnn-augmented", "CNN with augmentation", 0.82, FIVE_MODEL_TUTORIAL),
    Reference("vgg16-features", "VGG16 bottleneck features", 0.88, FIVE_MODEL_TUTORIAL),
    Reference("vgg16-frozen-augmented", "VGG16 frozen with augmentation", 0.90, FIVE_MODEL_TUTORIAL),
    Reference("vgg16-fine-tune", "VGG16 fine-tuned (blocks 4 and 5)", 0.96, FIVE_MODEL_TUTORIAL),
)


def study_reference() -> tuple[str, float]:
    """The published figure a dataset-size study is drawn against: the Keras tutorial's VGG16, which reached
    the same accuracy on 1K and on 20K photos. Its label and accuracy."""
    published = next(reference for reference in REFERENCES if reference.preset == "keras-tutorial-vgg16-20k")
    return f"Keras tutorial, VGG16 on 1K and on 20K: {published.accuracy:.0%}", published.accuracy


def signature(config: dict[str, Any]) -> tuple:
    """What makes two configs the same experiment (`head` as resolved, so "auto" matches its meaning)."""
    return tuple(config.get(name) for name in SIGNATURE)


def reference_for(config: dict[str, Any], resolved_head: str | None = None) -> Reference | None:
    """The published figure a run with this config reproduces, if any."""
    own = signature({**config, "head": resolved_head or config.get("head")})
    for reference in REFERENCES:
        preset = PRESETS[reference.preset]
        if signature({**preset.to_dict(), "head": preset.resolved_head}) == own:
            return reference
    return None
