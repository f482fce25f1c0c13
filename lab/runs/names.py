"""A run's human name: what people read in tables, pickers, captions, legends and the sidebar, never its id.

A run is named when it is made (`RunStore.create`): from its config ("MobileNetV2 features · 1,000 photos"), or by
what made it (a replay's row, a study's size: their makers pass the name). The name is kept in `labels.json` like
one a person gives, so renaming overrides it. A run made before runs had names, or whose name was cleared, gets
the same name from its config when read. The id stays where machines read: folder names, the CLI's `--json`,
technical details.

Plain data in, text out: the config as a dict (a damaged or older config still gets a name), no Streamlit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from lab.errors import LabError
from lab.training.backbones import get_spec

STRATEGY_WORDS = {"scratch": "from scratch", "feature-extractor": "features", "frozen": "frozen",
                  "fine-tune": "fine-tuned"}
UNREADABLE = "Run with an unreadable config"  # a damaged config.json still names its run, never by its id


def run_name(config: Mapping[str, Any]) -> str:
    """"MobileNetV2 features · 1,000 photos": what trained, then on how many photos."""
    if not config.get("backbone"):
        return UNREADABLE
    return f"{model_words(config)} · {photos_words(config)}"


def study_run_name(config: Mapping[str, Any], size: int | None, repeat: int = 0, repeats: int = 1) -> str:
    """"MobileNetV2 features · study, 250 photos": one size of a dataset-size study (and its repeat)."""
    photos = "all photos" if size is None else f"{size:,} photos"
    return f"{model_words(config)} · study, {photos}{repeat_words(repeat, repeats)}"


def study_title(config: Mapping[str, Any], sizes: list[int | None], created: str = "") -> str:
    """"MobileNetV2 features · study of 1,000 and all photos · 5 Dec 12:01": a dataset-size study as people
    read it (its record's name, "study-20261205-120100", is for machines)."""
    shown = [("all" if size is None else f"{size:,}") for size in sorted(sizes, key=lambda size: size or 1e18)]
    listed = " and ".join(shown) if len(shown) < 3 else ", ".join(shown[:-1]) + " and " + shown[-1]
    try:
        made = datetime.fromisoformat(created)
        when = f" · {made.day} {made:%b %H:%M}"
    except ValueError:  # an older record without its time
        when = ""
    return f"{model_words(config)} · study of {listed} photos{when}"


def repeat_words(repeat: int, repeats: int) -> str:
    """" (repeat 2 of 3)" for the second of three runs of one experiment; "" when it runs once."""
    return f" (repeat {repeat + 1} of {repeats})" if repeats > 1 else ""


def model_words(config: Mapping[str, Any]) -> str:
    """"MobileNetV2 features", "VGG16 frozen, augmented", "Basic CNN from scratch": the backbone by its authors'
    name, the strategy in plain words."""
    backbone = str(config.get("backbone") or "")
    try:
        shown = get_spec(backbone).display_name
    except LabError:  # a backbone this version of the lab no longer knows: its registry name
        shown = backbone
    strategy = STRATEGY_WORDS.get(str(config.get("strategy")), str(config.get("strategy") or ""))
    augmented = ", augmented" if config.get("augment") not in (None, "", "none") else ""
    return f"{shown} {strategy}".strip() + augmented


def photos_words(config: Mapping[str, Any]) -> str:
    """"1,000 photos" (the training images asked for), "all photos", or the manifest's subset trained on."""
    size, split = config.get("train_size"), config.get("train_split") or "train"
    if isinstance(size, int):
        return f"{size:,} photos"
    return "all photos" if split == "train" else f"all of {split}"


def file_stem(name: str) -> str:
    """A run's name as the start of a downloaded file's name ("MobileNetV2-features-1000-photos"): letters,
    digits, dots and dashes only, so no browser or file system rewrites it and no path hides in it."""
    return re.sub(r"[^A-Za-z0-9.]+", "-", name.replace(",", "")).strip("-.")[:80] or "model"


def unique_names(names: Mapping[str, str]) -> dict[str, str]:
    """Run id -> its name, for every run newest first (as the run store lists them), where two runs share a
    name the later ones numbered: "... · 1,000 photos (2)".

    A picker shows names, and two runs of one config (or two replays) share theirs; numbered in the order they
    were made, the oldest keeps the plain name and a new run never renumbers the others, so a picker's labels
    stay put while runs are added.
    """
    seen: dict[str, int] = {}
    numbered = {}
    for run_id in reversed(list(names)):  # oldest first
        name = names[run_id]
        seen[name] = seen.get(name, 0) + 1
        numbered[run_id] = name if seen[name] == 1 else f"{name} ({seen[name]})"
    return {run_id: numbered[run_id] for run_id in names}
