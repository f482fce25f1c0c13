"""The model card shipped beside every export: what the model takes, what it says, how good it is, what for.

One dictionary (`model_card`) is written twice: as JSON for tools and as Markdown for people
(`card_markdown`), and read on the Predict page as a table of plain words (`card_fields`). It records what someone receiving only the file needs: the class order (sorted names,
as Keras's directory loaders use), the input (raw RGB 0..255 at the run's size, the backbone's
preprocessing inside the model), the run's config and dataset manifest hash, its validation and test
metrics (each accuracy with its 95% interval), its temperature, the library versions that wrote it, the parity
check the export passed, its intended use, and the run's out-of-distribution check (`novelty`: score, threshold,
what it was fitted on): the lab answers "none of these" above that threshold, but the exported file holds only
the classifier, which always picks a class.

The exported model does not divide by the temperature: it is the run's own model, the one the parity check holds
it to, built only of stock layers that load in safe mode and convert to TFLite, and its answers (the largest
probability) are the same either way. The card states T and how to apply it to the probabilities, so whoever
shows a confidence can make it mean what it says.

The card is made from plain data: the run folder's files (named by `lab.run_files`) and the words for the
backbone's preprocessing, which the export's caller takes from the backbone registry
(`lab.training.backbones.preprocessing_words`, a layer above evaluation).
"""

from __future__ import annotations

import platform
from datetime import datetime, timezone
from pathlib import Path, PurePath
from typing import Any

from lab.evaluation.accuracy_text import accuracy_text, interval_bounds
from lab.evaluation.calibration import load_calibration
from lab.evaluation.novelty import check_words
from lab.evaluation.predictions import Predictions
from lab.paths import absolute
from lab.run_files import NOVELTY_ARRAYS, RunFiles
from lab.storage import file_digest, read_json

INTENDED_USE = (
    "An educational image classifier trained in Transfer Lab to learn transfer learning, typically on "
    "cats-vs-dogs-style photos. Use it to explore, demo and compare models, and to try shipping one."
)
NOT_FOR = (
    "Decisions about people, animals' health or safety, or anything with consequences.",
    ("Images unlike its training photos: it always answers with one of its classes, even for an image "
     "showing none of them."),
    "Claims of accuracy beyond the validation and test figures below, which come from small datasets.",
)

PATH_FIELDS = ("data", "weights")  # config fields that may hold a path on the machine that trained the run
CALLING = {
    "keras": "keras.saving.load_model(path, safe_mode=True)(images)",
    "savedmodel": "unzip, then tf.saved_model.load(folder).signatures['serving_default'](image=images)",
    "tflite": "tf.lite.Interpreter or ai_edge_litert.interpreter.Interpreter: set the input tensor, invoke, "
              "read the output",
}


def model_card(run_dir: Path, *, preprocessing: str, image_size: int, format: str, quantize: str | None,
               file: Path, parity: dict[str, Any]) -> dict[str, Any]:
    """The card of `file`, an export of `run_dir`'s model (`image_size` pixels square in), which passed `parity`.

    `preprocessing` says in words what the model does to its raw pixels (`preprocessing_words`).
    """
    files = RunFiles(absolute(run_dir))
    metrics, config = read_json(files.metrics, {}), read_json(files.config, {})
    classes = list(metrics["classes"])
    return {
        "model": {"file": file.name, "format": format, "quantize": quantize, "bytes": file.stat().st_size,
                  "sha256": file_digest(file), "run": files.root.name,
                  "exported": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                  "how_to_call": CALLING[format]},
        "classes": classes,
        "class_order": "sorted class names, as Keras's directory loaders use; output i is classes[i]",
        "input": {"shape": [None, image_size, image_size, 3], "dtype": "float32", "values": "raw RGB pixels, 0..255",
                  "image_size": image_size,
                  "preprocessing": f"inside the model: {preprocessing}; do not preprocess before calling it"},
        "output": {"shape": [None, len(classes)], "values": "one probability per class, in the order of classes"},
        "config": portable(config),
        "dataset_manifest_hash": metrics.get("manifest_hash"),
        "metrics": _metrics(files, metrics),
        "calibration": _calibration(files.root),
        "libraries": _versions(),
        "parity": parity,
        "intended_use": INTENDED_USE,
        "not_for": list(NOT_FOR),
        "novelty": read_json(files.novelty, None),
    }


def portable(config: dict[str, Any]) -> dict[str, Any]:
    """The run's config as it may leave the machine: its data and weights by name, never by the server's path
    (a card is downloaded, in demo mode too); the manifest hash beside it names the photos exactly."""
    return {field: PurePath(str(value)).name if field in PATH_FIELDS and value else value
            for field, value in config.items()}


def _metrics(files: RunFiles, metrics: dict[str, Any]) -> dict[str, Any]:
    """Validation and test accuracy with its 95% interval, and per class where the run stored predictions."""
    test = metrics.get("test") or {}
    validation, tested = metrics.get("best_val_accuracy"), metrics.get("test_accuracy")
    return {"validation": {"accuracy": validation, "images": metrics.get("validation_images"),
                           "accuracy_interval": interval_bounds(validation, metrics.get("validation_images")),
                           "per_class": _validation_per_class(files.predictions)},
            "test": {"accuracy": tested, "images": metrics.get("test_images", 0),
                     "accuracy_interval": interval_bounds(tested, metrics.get("test_images")),
                     "per_class": test.get("per_class")}}


def _calibration(run_dir: Path) -> dict[str, Any]:
    """The run's temperature, and that the exported model leaves it to the caller (see the module docstring)."""
    calibration = load_calibration(run_dir)
    return {"temperature": calibration.temperature, "calibrated": calibration.fitted, "words": calibration.words(),
            "in_the_model": False,
            "how_to_apply": "p_calibrated = softmax(log(p) / temperature), p the model's output; the largest "
                            "probability stays the largest"}


def _validation_per_class(table: Path) -> dict[str, Any] | None:
    from lab.evaluation.interpretation import Interpretation

    validation = Predictions.load(table).split("validation") if table.exists() else None
    return Interpretation(validation).summary()["per_class"] if validation is not None and len(validation) else None


def _versions() -> dict[str, str]:
    import keras
    import tensorflow as tf

    return {"tensorflow": tf.__version__, "keras": keras.__version__, "python": platform.python_version()}


def card_markdown(card: dict[str, Any]) -> str:
    """The card for people: the same facts as the JSON, in plain words."""
    model, source, parity = card["model"], card["input"], card["parity"]
    lines = [
        f"# Model card: {model['file']}",
        "",
        (f"Exported from run `{model['run']}` as {model['format']}"
         f"{' (dynamic-range quantised)' if model['quantize'] else ''}, {model['bytes']:,} bytes, "
         f"sha256 `{model['sha256']}`, on {model['exported']}."),
        "",
        "## Intended use",
        "",
        card["intended_use"],
        "",
        "Not for:",
        *[f"- {reason}" for reason in card["not_for"]],
        "",
        "## Input and output",
        "",
        f"- Input: {source['values']}, shape (batch, {source['image_size']}, {source['image_size']}, 3), float32.",
        f"- Preprocessing: {source['preprocessing']}.",
        f"- Output: {card['output']['values']}.",
        f"- Classes, in output order ({card['class_order']}): {', '.join(card['classes'])}.",
        f"- How to call it: `{model['how_to_call']}`.",
        "",
        "## Metrics",
        "",
        *_metric_lines(card["metrics"]),
        "",
        "## Confidence",
        "",
        (f"Temperature {card['calibration']['temperature']:.3f} ({card['calibration']['words']}). The model "
         "outputs its own probabilities, not divided by it; for a confidence that means what it says, compute "
         f"{card['calibration']['how_to_apply']}."),
        "## Out-of-distribution check",
        "",
        _novelty_words(card),
        "",
        "## Parity check",
        "",
        (f"Before it was offered, the export was run on {parity['images']} real photos beside the Keras model: "
         f"largest probability difference {parity['max_abs_difference']:.2e}, same top class on "
         f"{parity['top_class_agreement']:.1%}; criterion: {parity['criterion']} ("
         f"{'passed' if parity['passed'] else 'failed'})."),
        "",
        "## Provenance",
        "",
        f"- Dataset manifest hash: `{card['dataset_manifest_hash']}`.",
        "- Libraries: " + ", ".join(f"{name} {version}" for name, version in card["libraries"].items()) + ".",
        "- Run config: " + ", ".join(f"{key}={value}" for key, value in sorted(card["config"].items())) + ".",
        "",
    ]
    return "\n".join(lines)


def card_fields(card: dict[str, Any]) -> dict[str, str]:
    """The card as field -> plain words (no Markdown), for a two-column table on a page: what a person
    reads before downloading the model. Class names and the config come from files: show them as text."""
    model, source, parity = card["model"], card["input"], card["parity"]
    metrics = {split: _accuracy_words(figures) for split, figures in card["metrics"].items()}
    return {
        "file": f"{model['file']} ({model['bytes']:,} bytes)",
        "format": model["format"] + (" (dynamic-range quantised)" if model["quantize"] else ""),
        "classes, in output order": ", ".join(card["classes"]),
        "input": f"{source['values']}, {source['image_size']} x {source['image_size']} pixels, float32",
        "preprocessing": source["preprocessing"],
        "output": card["output"]["values"],
        **{f"{split} accuracy": words for split, words in metrics.items()},
        "temperature": _temperature_words(card.get("calibration")),
        "parity check": (f"{'passed' if parity['passed'] else 'failed'} on {parity['images']} photos: largest "
                         f"difference {parity['max_abs_difference']:.1e}, same answer on "
                         f"{parity['top_class_agreement']:.0%} ({parity['criterion']})"),
        "how to call it": model["how_to_call"],
        "intended use": card["intended_use"],
        "not for": " ".join(card["not_for"]),
        "out-of-distribution check": _novelty_words(card),
        "run": model["run"],
        "exported": model["exported"],
        "sha256": model["sha256"],
        "libraries": ", ".join(f"{name} {version}" for name, version in card["libraries"].items()),
    }


def _temperature_words(calibration: dict[str, Any] | None) -> str:
    if calibration is None:  # a card written before the lab calibrated its runs
        return "not recorded: exported before the lab calibrated its runs"
    return (f"{calibration['temperature']:.3f}, {calibration['words']}; not inside the model: "
            f"{calibration['how_to_apply']}")
def _novelty_words(card: dict[str, Any]) -> str:
    """The run's check in words, and that the exported file does not hold it (cards written before the check
    existed have no `novelty` key: they say there is none)."""
    summary = card.get("novelty")
    if not summary:
        return check_words(None)
    return (check_words(summary, card["classes"]) + " The check runs in Transfer Lab (`lab predict`, the Predict "
            f"page; its statistics are the run's {NOVELTY_ARRAYS}); this file holds only the classifier.")


def _accuracy_words(figures: dict[str, Any]) -> str:
    if figures["accuracy"] is None:
        return "not measured (the run had no such split)"
    return accuracy_text(figures["accuracy"], figures["images"]) + (f" on {figures['images']:,} images"
                                                                       if figures["images"] else "")


def _metric_lines(metrics: dict[str, Any]) -> list[str]:
    lines = []
    for split, figures in metrics.items():
        if figures["accuracy"] is None:
            lines.append(f"- {split}: not measured (the run had no {split} split).")
            continue
        lines.append(f"- {split}: accuracy {figures['accuracy']:.4f} on {figures['images']} images "
                     f"({accuracy_text(figures['accuracy'], figures['images'])} with its 95% interval).")
        for label, row in (figures["per_class"] or {}).items():
            lines.append(f"  - {label}: precision {row['precision']:.3f}, recall {row['recall']:.3f}, "
                         f"f1 {row['f1']:.3f} ({row['support']} images)")
    return lines
