"""Where a backbone's weights come from, decided before anything is built or any data is read.

Three sources: "imagenet" (Keras's own download and cache; offline, fail at once naming the file and
the folder to put it in), a local weights file (a path, or a file name found in `settings.weights_dirs`;
the MobileNet width multiplier is read from names like `mobilenet_0.25_128...`), or "none" (random
initialisation, marked so in the run). The answer is a `WeightsSource`, recorded in every run so a
result can be traced to the exact file (its SHA-256) it started from.

Functions take the registry row (`BackboneSpec`), not a name: by the time weights are resolved the
backbone name has been validated, once, by the config. This module reads the registry
(`lab.training.backbones`, data only); the factory (`lab.training.backbone_factory`) imports this one to
build, never the reverse.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab.errors import LabError
from lab.paths import absolute
from lab.settings import Settings, load_settings
from lab.storage import file_digest
from lab.training.backbones import BACKBONES, BackboneSpec

WEIGHTS_HOST = ("storage.googleapis.com", 443)


@dataclass(frozen=True)
class WeightsSource:
    """Which weights a backbone got: recorded in every run so a result can be traced to its weights.

    kind: "imagenet" (Keras's download/cache), "file" (a local weights file) or "none" (random).
    sha256 is None only for ImageNet weights Keras has still to download; `with_digest` fills it in after.
    """

    kind: str
    path: str | None = None
    sha256: str | None = None
    alpha: float | None = None

    def with_digest(self) -> WeightsSource:
        """The same source with its file's SHA-256, once the file exists (after Keras downloaded it)."""
        if self.path is None or self.sha256 is not None:
            return self
        return dataclasses.replace(self, sha256=file_sha256(self.path))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def resolve_weights(spec: BackboneSpec, weights: str, *, image_size: int | None = None, alpha: float | None = None,
                    settings: Settings | None = None) -> WeightsSource:
    """Decide where `spec`'s weights come from, before anything is built or loaded.

    Fails at once, with what to do, when the weights cannot be had: ImageNet weights neither cached
    nor downloadable, a file that does not exist in any weights folder, pretrained weights for the
    tutorial's own CNNs.
    """
    if weights == "none":
        return WeightsSource("none", alpha=alpha if spec.width_multiplier else None)
    if spec.from_scratch_only:
        raise LabError(f"{spec.name} is the tutorial's own CNN and has no pretrained weights; use weights 'none'.")
    settings = settings or load_settings()
    if weights == "imagenet":
        return _imagenet(spec, image_size, alpha if alpha is not None else 1.0, settings)
    path = find_weights_file(weights, settings)
    if spec.width_multiplier and alpha is None:
        alpha = alpha_from_file_name(path.name) or 1.0
    return WeightsSource("file", str(path), file_sha256(path), alpha if spec.width_multiplier else None)


def _imagenet(spec: BackboneSpec, image_size: int | None, alpha: float, settings: Settings) -> WeightsSource:
    file_name = imagenet_file_name(spec, image_size, alpha)
    cached = keras_cache_dir() / file_name
    keep_alpha = alpha if spec.width_multiplier else None
    if cached.exists():
        return WeightsSource("imagenet", str(cached), file_sha256(cached), keep_alpha)
    if online():
        return WeightsSource("imagenet", str(cached), None, keep_alpha)  # Keras downloads it when built
    local = weights_available(settings).get(spec.name, [])
    hint = f" This machine has local weights for {spec.name}: use weights {Path(local[-1]).name!r}." if (
        local and local[-1] not in ("none", "imagenet")) else ""
    folders = ", ".join(map(str, settings.weights_dirs)) or "a weights folder"
    raise LabError(
        f"ImageNet weights for {spec.name} are not in Keras's cache and there is no network to download them: "
        f"place the file {file_name!r} in {keras_cache_dir()} (or run once where there is internet), or use a "
        f"local weights file (a path, or a file name in {folders}), or weights 'none'.{hint}"
    )


def imagenet_file_name(spec: BackboneSpec, image_size: int | None = None, alpha: float = 1.0) -> str:
    """The file Keras downloads for `spec`'s no-top ImageNet weights.

    The MobileNets publish one file per input size and width multiplier (their row lists both); at any
    other size Keras loads the native size's file.
    """
    if not spec.imagenet_file:
        raise LabError(f"{spec.name} is the tutorial's own CNN: it has no ImageNet weights; use weights 'none'.")
    rows = image_size if image_size in spec.imagenet_sizes else spec.native_size
    if spec.width_multiplier and alpha not in spec.alphas:
        published = ", ".join(map(str, sorted(spec.alphas)))
        raise LabError(f"ImageNet weights for {spec.name} exist for alpha {published} only; choose one of those, "
                       "or use a local weights file or weights 'none'.")
    return spec.imagenet_file.format(alpha=spec.alphas.get(alpha, ""), rows=rows)


def alpha_from_file_name(file_name: str) -> float | None:
    """The MobileNet width multiplier a weights file name states: `mobilenet_0.25_128...` -> 0.25,
    Keras's `mobilenet_2_5_128_tf_no_top.h5` -> 0.25; None when the name states none."""
    decimal = re.search(r"(?<![\d.])(\d\.\d+)_\d+", file_name)
    if decimal:
        return float(decimal.group(1))
    keras_style = re.search(r"_(\d)_(\d)_\d+_tf", file_name)
    if keras_style:
        return {"1_0": 1.0}.get(f"{keras_style.group(1)}_{keras_style.group(2)}",
                                float(f"0.{keras_style.group(1)}{keras_style.group(2)}"))
    return None


def find_weights_file(weights: str, settings: Settings) -> Path:
    """A weights value that is a path to an existing file, or a file name inside one of the weights folders."""
    candidate = Path(weights).expanduser()
    if candidate.is_file():
        return absolute(candidate)
    for folder in settings.weights_dirs:
        if (folder / weights).is_file():
            return absolute(folder / weights)
    folders = ", ".join(map(str, settings.weights_dirs)) or "none configured (set TRANSFER_LAB_WEIGHTS_DIR)"
    raise LabError(
        f"weights={weights!r} is neither 'imagenet', 'none', an existing file, nor a file in the weights "
        f"folders ({folders}); check the name or put the file in one of those folders."
    )


def weights_available(settings: Settings | None = None) -> dict[str, list[str]]:
    """Per backbone, the `weights` values usable on this machine: "none", "imagenet" when Keras's file
    is cached (or the network is up), and every matching local file (full paths)."""
    settings = settings or load_settings()
    files = sorted(_weight_files(settings.weights_dirs))
    available: dict[str, list[str]] = {}
    for spec in BACKBONES.values():
        choices = ["none"]
        if spec.imagenet_file and (online() or _any_imagenet_cached(spec)):
            choices.append("imagenet")
        if spec.file_pattern:
            choices += [str(p) for p in files if re.search(spec.file_pattern, p.name)]
        available[spec.name] = choices
    return available


def _weight_files(folders: Sequence[Path]) -> list[Path]:
    """The .h5 files in the weights folders as the folders name them, each real file once (links folded)."""
    found: dict[Path, Path] = {}
    for folder in (f for f in folders if f.is_dir()):
        for path in sorted(folder.iterdir()):
            if path.is_file() and path.name.endswith(".h5"):
                found.setdefault(path.resolve(), absolute(path))
    return list(found.values())


def _any_imagenet_cached(spec: BackboneSpec) -> bool:
    """Whether Keras's cache holds any of the ImageNet files `spec` comes in (every size and alpha)."""
    sizes = spec.imagenet_sizes or (spec.native_size,)
    names = {imagenet_file_name(spec, size, alpha) for size in sizes for alpha in spec.alphas or (1.0,)}
    return any((keras_cache_dir() / name).exists() for name in names)


def keras_cache_dir() -> Path:
    """Where Keras caches downloaded weights (`$KERAS_HOME/models`, default `~/.keras/models`)."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "models"


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file, remembered per (path, size, mtime) so large weight files hash once per process."""
    stat = os.stat(path)
    return _sha256_cached(str(path), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _sha256_cached(path: str, size: int, mtime_ns: int) -> str:
    return file_digest(path)


@functools.lru_cache(maxsize=1)
def online() -> bool:
    """Whether Keras's weights host answers (checked once per process, 3-second timeout)."""
    try:
        socket.create_connection(WEIGHTS_HOST, timeout=3).close()
        return True
    except OSError:
        return False


Layout = list[tuple[str, list[tuple[int, ...]]]]  # (layer name, its tensors' shapes) for layers with weights


def weights_mismatch(model: Any, path: str | Path, spec: BackboneSpec) -> str:
    """Why the weights file at `path` does not fit `model` (a `spec` backbone), in one line ("the file has...").

    Keras's own error prints tensor values (6.8 KB for a MobileNet). This compares the file's layers with
    the model's, by kind (the name without its number) and then by shape, read with h5py, and names the
    catalogue backbone whose weight files are named like this one; no other model is built.
    """
    try:
        found, legacy = read_layout(path)
    except (OSError, KeyError, ValueError) as error:  # not HDF5 at all, or not laid out as Keras writes
        return f"the file cannot be read as Keras weights ({error}); save the weights again."
    return _difference(found, _model_layout(model, legacy), spec.name) + _named_for(path, spec)


def read_layout(path: str | Path) -> tuple[Layout, bool]:
    """The layers with weights in a Keras weights file, with their tensors' shapes, and whether the file
    is in the legacy `.h5` format (which keeps the model's layer names; Keras 3's `.weights.h5` names
    layers by kind and number, `conv2d_7`)."""
    import h5py

    with h5py.File(path, "r") as handle:
        if "layers" in handle:
            layers = sorted(handle["layers"].items(), key=lambda item: _order(item[0]))
            return [(name, _shapes(group["vars"])) for name, group in layers if len(group.get("vars", ()))], False
        root = handle.get("model_weights", handle)
        return [(name, [tuple(root[name][w].shape) for w in _decoded(root[name].attrs.get("weight_names", []))])
                for name in _decoded(root.attrs.get("layer_names", []))
                if len(root[name].attrs.get("weight_names", []))], True


def _model_layout(model: Any, legacy: bool) -> Layout:
    """`model`'s layout as a weights file of that format would have it (Keras 3's: saved and read back)."""
    if legacy:
        return [(layer.name, [tuple(w.shape) for w in layer.weights]) for layer in model.layers if layer.weights]
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        saved = Path(folder) / "model.weights.h5"
        model.save_weights(saved)
        return read_layout(saved)[0]


def _difference(found: Layout, wanted: Layout, name: str) -> str:
    """The first way the file's layers differ from the model's: their kinds and counts, else a shape."""
    found_kinds, wanted_kinds = _kind_counts(found), _kind_counts(wanted)
    if found_kinds != wanted_kinds:
        return f"the file has {_counted(found_kinds)} where {name} has {_counted(wanted_kinds)}"
    for (layer, shapes), (_, model_shapes) in zip(found, wanted):
        if shapes != model_shapes:
            return (f"the same layers, but {layer}'s weights are {_shape_text(shapes)} in the file and "
                    f"{_shape_text(model_shapes)} in the model (another width multiplier or input?)")
    return "its layers match by kind and shape, yet Keras could not load it (a damaged file?)"


def _named_for(path: str | Path, spec: BackboneSpec) -> str:
    """What the file's name says it is for, when that is another backbone."""
    name = Path(path).name
    others = [other.name for other in BACKBONES.values()
              if other.file_pattern and re.search(other.file_pattern, name) and other is not spec]
    if others:
        return f"; by its name the file is for {others[0]}: choose that backbone, or weights made for {spec.name}."
    return f"; use a weights file made for {spec.name} (for MobileNets, with the same width multiplier alpha)."


def _kind_counts(layout: Layout) -> dict[str, int]:
    counts: dict[str, int] = {}
    for layer, _ in layout:
        kind = re.sub(r"_\d+$", "", layer)
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def _counted(counts: dict[str, int]) -> str:
    """"54 layers with weights (27 batch_normalization, 14 conv2d, ...)": the three commonest kinds."""
    common = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:3]
    more = ", ..." if len(counts) > 3 else ""
    return f"{sum(counts.values())} layers with weights ({', '.join(f'{n} {k}' for k, n in common)}{more})"


def _shape_text(shapes: list[tuple[int, ...]]) -> str:
    return "x".join(map(str, shapes[0])) if shapes else "none"


def _order(name: str) -> tuple[str, int]:
    """`conv2d_10` after `conv2d_9`, `conv2d` first: the order Keras numbered them in."""
    kind, _, number = name.rpartition("_")
    return (kind, int(number)) if number.isdigit() else (name, -1)


def _shapes(group: Any) -> list[tuple[int, ...]]:
    return [tuple(group[key].shape) for key in sorted(group, key=int)]


def _decoded(names: Any) -> list[str]:
    return [name.decode() if isinstance(name, bytes) else str(name) for name in names]
