"""Export a finished run as a file you can ship, checked against the run's own model before it is offered.

Three formats: `keras` (the `.keras` file), `savedmodel` (a TensorFlow SavedModel for serving, written
with Keras 3's `model.export` and zipped into one `.zip`) and `tflite` (float32, or dynamic-range
quantised with `quantize="dynamic"`). Every export takes raw RGB 0..255 at the run's input size: the
backbone's preprocessing is inside the model, as it is in the run's `model.keras`. Its probabilities are the
model's own, not divided by the run's temperature: the card states T and how to apply it (`model_card` says why).

Parity comes before shipping: the export is loaded back in its own runtime (Keras, `tf.saved_model.load`,
the TFLite interpreter) and run on real photos — by default the run's own validation images — decoded by
the lab's decoder. Float formats must stay within `FLOAT_TOLERANCE` of Keras's probabilities, the
quantised one must pick the same top class on at least `MIN_AGREEMENT` of the images. The export is built
in a hidden folder beside its destination and moved into place only when it passes, with its model card
(`lab.evaluation.model_card`), so a failure leaves nothing half-written behind. Each format is a few named
build steps (TFLite: build a SavedModel, convert it), reported with the load, the check and the card to an
`on_progress` callback (`lab.progress.Steps`): a TFLite export takes a minute or two on a CPU. The caller words the
backbone's preprocessing for the card (`lab.training.backbones.preprocessing_words`): the registry sits
above evaluation.
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lab.errors import LabError
from lab.evaluation.evaluate import load_model, run_classes
from lab.evaluation.model_card import card_markdown, model_card
from lab.evaluation.predictions import Predictions
from lab.paths import within
from lab.progress import Progress, Steps, no_progress
from lab.run_files import RunFiles
from lab.settings import Settings, load_settings
from lab.storage import registered_staging, write_bytes_atomic, write_json_atomic

FLOAT_TOLERANCE = 1e-4  # the largest probability difference a float export may show against Keras
MIN_AGREEMENT = 0.98  # the share of images on which a quantised export must pick Keras's top class
DEFAULT_SAMPLES = 32  # validation images the parity check runs on when none are given
QUANTIZATIONS = ("dynamic",)
LOAD_STEP = "Load the run's model and decode the sample photos"
CHECK_STEP = "Check it against the run's model"
CARD_STEP = "Write its model card"
TFLITE_SOURCE = "savedmodel-for-tflite"  # the work folder's SavedModel the TFLite converter reads


@dataclass(frozen=True)
class Parity:
    """How an export's probabilities compare with the Keras model's on the same decoded images."""

    images: int
    max_abs_difference: float
    top_class_agreement: float
    criterion: str
    passed: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ExportResult:
    """A shipped export: the model file, its card (Markdown and JSON), and the check it passed."""

    path: Path
    card_markdown: Path
    card_json: Path
    format: str
    quantize: str | None
    size_bytes: int
    parity: Parity
    card: dict[str, Any]


Writer = Callable[[Any, Path, Path, "str | None"], None]
Runner = Callable[[Path, np.ndarray, Path], np.ndarray]


@dataclass(frozen=True)
class _Format:
    suffix: str
    build: tuple[tuple[str, Writer], ...]  # the named steps that write it: (model, path, work folder, quantize)
    run: Runner  # (path, images, work folder) -> probabilities from the export's own runtime


def _write_keras(model, path: Path, work: Path, quantize: str | None) -> None:
    model.save(path)


def _run_keras(path: Path, images: np.ndarray, work: Path) -> np.ndarray:
    import keras

    return keras.saving.load_model(path, compile=False, safe_mode=True).predict(images, verbose=0)


def _build_savedmodel(model, path: Path, work: Path, quantize: str | None) -> None:
    model.export(work / path.stem, format="tf_saved_model", verbose=False)


def _zip_savedmodel(model, path: Path, work: Path, quantize: str | None) -> None:
    """The SavedModel folder, zipped with one top folder named after the export."""
    shutil.make_archive(str(path.with_suffix("")), "zip", root_dir=work, base_dir=path.stem)


def _run_savedmodel(path: Path, images: np.ndarray, work: Path) -> np.ndarray:
    """Unzip the export as a user would and call its serving signature."""
    import tensorflow as tf

    unzipped = work / "unzipped"
    with zipfile.ZipFile(path) as archive:
        archive.extractall(unzipped)
    serve = tf.saved_model.load(str(unzipped / path.stem)).signatures["serving_default"]
    (outputs,) = serve(tf.constant(images)).values()
    return outputs.numpy()


def _savedmodel_for_tflite(model, path: Path, work: Path, quantize: str | None) -> None:
    """The SavedModel `model.export` writes: the converter's documented entry for Keras 3."""
    model.export(work / TFLITE_SOURCE, format="tf_saved_model", verbose=False)


def _convert_tflite(model, path: Path, work: Path, quantize: str | None) -> None:
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_saved_model(str(work / TFLITE_SOURCE))
    if quantize == "dynamic":  # weights to int8, activations float: no representative data needed
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    path.write_bytes(converter.convert())


def _run_tflite(path: Path, images: np.ndarray, work: Path) -> np.ndarray:
    interpreter = _tflite_interpreter(path)
    inputs, outputs = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    interpreter.resize_tensor_input(inputs["index"], images.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(inputs["index"], images.astype(np.float32))
    interpreter.invoke()
    return interpreter.get_tensor(outputs["index"])


def _tflite_interpreter(path: Path):
    """LiteRT's interpreter (`ai-edge-litert`) when installed, else TensorFlow's own `tf.lite.Interpreter`.

    TensorFlow 2.21 still ships `tf.lite.Interpreter` but warns that it moves to LiteRT; both run the same
    `.tflite` files with the same API, and requirements.txt installs only TensorFlow.
    """
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        import tensorflow as tf

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated")
            return tf.lite.Interpreter(model_path=str(path))
    return Interpreter(model_path=str(path))


FORMATS: dict[str, _Format] = {
    "keras": _Format(".keras", (("Save the .keras file", _write_keras),), _run_keras),
    "savedmodel": _Format(".zip", (("Build the SavedModel", _build_savedmodel), ("Zip it", _zip_savedmodel)),
                          _run_savedmodel),
    "tflite": _Format(".tflite", (("Build a SavedModel to convert", _savedmodel_for_tflite),
                                  ("Convert it to TFLite", _convert_tflite)), _run_tflite),
}


def export_run(run_dir: str | Path, format: str, out: str | Path, *, preprocessing: str, quantize: str | None = None,
               samples: Sequence[str | Path] | None = None, tolerance: float = FLOAT_TOLERANCE,
               on_progress: Progress = no_progress, overwrite: bool = False) -> ExportResult:
    """Export `run_dir`'s model as `format` to `out` (a file, or a folder to name it in), with its card.

    It never replaces a file unless `overwrite` (the Predict page's own exports folder, where a new export of
    a kind replaces the one the page made), and never writes into another run's folder or a data folder.

    `preprocessing` is what the model does to its raw pixels, in words, for the card
    (`lab.training.backbones.preprocessing_words` of the run's config).
    `samples` are the photos the parity check runs on (default: up to `DEFAULT_SAMPLES` of the run's
    validation images); `tolerance` may only tighten `FLOAT_TOLERANCE`. A failed check is a `LabError`.
    `on_progress` hears each step (`export_steps`) as it starts: a TFLite export takes minutes on a CPU.
    """
    spec = _check_options(format, quantize, tolerance)
    steps = Steps(on_progress, len(export_steps(format)))
    steps.start(LOAD_STEP)
    run_dir = Path(run_dir)
    run_classes(run_dir)  # a run that never finished says so before its model is looked for
    settings = load_settings()
    path = export_path(run_dir, format, quantize, Path(out))
    check_destination(path, run_dir, settings, overwrite=overwrite)
    model = load_model(run_dir)
    image_size = int(model.input_shape[1])
    paths = [str(p) for p in samples] if samples is not None else validation_samples(run_dir)
    images = _decode(paths, image_size)
    reference = model.predict(images, verbose=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    with registered_staging(path.parent, f".{path.stem}.", settings.staging_registry) as work:
        staged = work / path.name
        for name, write in spec.build:
            steps.start(name)
            write(model, staged, work, quantize)
        steps.start(f"{CHECK_STEP} on {len(images)} photos")
        parity = check_parity(reference, spec.run(staged, images, work), quantized=quantize is not None,
                              tolerance=tolerance)
        if not parity.passed:
            raise LabError(f"The {format} export of {run_dir.name} failed its parity check ({parity.criterion}: "
                           f"max difference {parity.max_abs_difference:.2e}, same top class on "
                           f"{parity.top_class_agreement:.1%} of {parity.images} images); nothing was written. "
                           "Try another format, or report it with the run's config.")
        steps.start(CARD_STEP)
        card = model_card(run_dir, preprocessing=preprocessing, image_size=image_size, format=format,
                          quantize=quantize, file=staged, parity=parity.as_dict())
        made = _publish(staged, path, card, format, quantize, parity)
    steps.finish("made and checked")
    return made


def check_destination(path: Path, run_dir: Path, settings: Settings, *, overwrite: bool) -> None:
    """Refuse an export that would replace a file (unless `overwrite`) or land inside another run's folder or a
    data folder (never, whatever `overwrite` says): one line naming the place and the way on."""
    own = RunFiles(run_dir).exports
    if within(path.parent, [settings.runs_dir]) and not within(path.parent, [own]):
        raise LabError(f"{path.parent} is inside the lab's runs folder: an export never writes into a run's "
                       f"folder (only into the run's own exports/). Choose a folder of your own for --out.")
    if within(path.parent, settings.data_dirs):
        raise LabError(f"{path.parent} is inside a data folder ({', '.join(map(str, settings.data_dirs))}): an "
                       "export never writes among the photos. Choose a folder of your own for --out.")
    existing = [target for target in card_paths(path) if target.exists()]
    if existing and not overwrite:
        raise LabError(f"{existing[0]} exists: an export never replaces a file unless told to. Choose another "
                       "--out, or add --overwrite to replace it (and its card).")


def card_paths(path: Path) -> tuple[Path, Path, Path]:
    """The files an export writes: the model and, beside it, its card as Markdown and as JSON."""
    return path, path.with_suffix(".md"), path.with_suffix(".json")


def export_steps(format: str) -> list[str]:
    """The steps an export of `format` reports, in order (the check's name gains its photo count as it starts)."""
    return [LOAD_STEP, *(name for name, _ in FORMATS[format].build), CHECK_STEP, CARD_STEP]


def _check_options(format: str, quantize: str | None, tolerance: float) -> _Format:
    if format not in FORMATS:
        raise LabError(f"format must be one of {', '.join(FORMATS)}, not {format!r}.")
    if quantize is not None and (format != "tflite" or quantize not in QUANTIZATIONS):
        raise LabError(f"quantize must be one of {', '.join(QUANTIZATIONS)}, and only with format tflite "
                       f"(got {quantize!r} with {format}).")
    if not 0 <= tolerance <= FLOAT_TOLERANCE:
        raise LabError(f"tolerance must be between 0 and {FLOAT_TOLERANCE} (it can only be tightened), "
                       f"not {tolerance}.")
    return FORMATS[format]


def export_path(run_dir: Path, format: str, quantize: str | None, out: Path) -> Path:
    """`out` itself, or `<out>/<run-id>-<format>[-<quantize>]<suffix>` when `out` is a folder (or has no suffix)."""
    suffix = FORMATS[format].suffix
    if out.is_dir() or not out.suffix:
        return out / f"{run_dir.name}-{format}{'-' + quantize if quantize else ''}{suffix}"
    if out.suffix != suffix:
        raise LabError(f"A {format} export is a {suffix} file; name it {out.with_suffix(suffix).name} "
                       "(or give a folder to name it in).")
    return out


def validation_samples(run_dir: Path, limit: int = DEFAULT_SAMPLES) -> list[str]:
    """Up to `limit` of the run's validation photos, spread evenly over its predictions table."""
    table = RunFiles(run_dir).predictions
    paths = Predictions.load(table).split("validation").paths if table.exists() else ()
    if not paths:
        raise LabError(f"{run_dir} has no validation predictions to check the export on; give sample images.")
    picks = np.unique(np.linspace(0, len(paths) - 1, min(limit, len(paths))).round().astype(int))
    return [paths[i] for i in picks]


def _decode(paths: Sequence[str], image_size: int) -> np.ndarray:
    """The sample photos exactly as training decoded them (raw 0..255, resized to the model's input)."""
    from lab.data.pipeline import load_image

    if not paths:
        raise LabError("The parity check needs at least one sample image.")
    return np.stack([load_image(path, image_size) for path in paths])


def check_parity(reference: np.ndarray, exported: np.ndarray, *, quantized: bool,
                 tolerance: float = FLOAT_TOLERANCE) -> Parity:
    """Float exports: every probability within `tolerance`; quantised: same top class on `MIN_AGREEMENT`."""
    difference = float(np.max(np.abs(np.asarray(exported, dtype=np.float64) - reference)))
    agreement = float(np.mean(np.argmax(exported, axis=1) == np.argmax(reference, axis=1)))
    if quantized:
        criterion, passed = f"same top class on >= {MIN_AGREEMENT:.0%} of images", agreement >= MIN_AGREEMENT
    else:
        criterion, passed = f"max abs difference <= {tolerance:g}", difference <= tolerance
    return Parity(len(reference), difference, agreement, criterion, passed)


def _publish(staged: Path, path: Path, card: dict[str, Any], format: str, quantize: str | None,
             parity: Parity) -> ExportResult:
    """Cards first, the model last: a model file in place always has its card beside it."""
    _, markdown, json_card = card_paths(path)
    write_bytes_atomic(markdown, card_markdown(card).encode())
    write_json_atomic(json_card, card)
    os.replace(staged, path)
    return ExportResult(path, markdown, json_card, format, quantize, path.stat().st_size, parity, card)


def shipped_exports(folder: str | Path) -> list[ExportResult]:
    """The exports already made in `folder` (a run's `exports/`), newest first, read back from their cards.

    A card whose model file is gone, or that cannot be read, is skipped: only what can still be downloaded
    with its card is listed.
    """
    found = []
    for card_json in Path(folder).glob("*.json"):
        try:
            card = json.loads(card_json.read_text())
            model = card["model"]
            path = card_json.with_name(model["file"])
            parity = Parity(**card["parity"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if path.is_file() and card_json.with_suffix(".md").is_file():
            found.append(ExportResult(path, card_json.with_suffix(".md"), card_json, model["format"],
                                      model.get("quantize"), path.stat().st_size, parity, card))
    return sorted(found, key=lambda made: made.path.stat().st_mtime, reverse=True)
