"""A run's trained head as the start of another run's head (`TrainConfig.start_from`).

The five-model tutorial fine-tunes the way Chollet's post does: it loads the top model it trained on
bottleneck features, then unfreezes the top blocks at a low rate, so fine-tuning starts where the features
model ended. Here the earlier run is named by its id. A run saves one end-to-end model (preprocessing,
backbone, pooling, then its head as a nested model named "head", `lab.training.models`), so a feature-extractor
run's head is read out of that model and copied layer by layer, by name.

`check_start` is cheap (the run's config.json only) and runs before any data is read, also in `preflight`,
so a run that differs in backbone, head or image size is refused with what differs and what to do;
`start_head` needs the run finished (its model saved).
"""

from __future__ import annotations

import json
from pathlib import Path

from lab.errors import LabError
from lab.run_files import RunFiles
from lab.settings import Settings
from lab.training.config import TrainConfig

HEAD = "head"  # the nested head model's name in every saved model (`lab.training.models.build_head`)


def check_start(config: TrainConfig, settings: Settings) -> RunFiles:
    """The files of the run `config.start_from` names; `LabError` when there is none or it differs from
    `config` in backbone, head or image size (its head would not fit, or would have learnt other features)."""
    run_id = config.start_from
    files = RunFiles(settings.runs_dir / run_id)
    if Path(run_id).name != run_id or not files.config.is_file():
        raise LabError(f"start_from={run_id!r} names no run in {settings.runs_dir}; give the id of a run there "
                       "(`lab runs` lists them), or clear start_from to start with a new head.")
    source = TrainConfig.from_dict(json.loads(files.config.read_text()))
    differs = [f"{name} {theirs} (this run: {ours})" for name, theirs, ours in (
        ("backbone", source.backbone, config.backbone), ("head", source.resolved_head, config.resolved_head),
        ("image size", source.image_size, config.image_size)) if theirs != ours]
    if differs:
        raise LabError(f"start_from={run_id!r}: that run's head cannot start this one, it has {', '.join(differs)}; "
                       "start from a run with the same backbone, head and image size, or change this run's to match.")
    return files


def start_head(head_model, config: TrainConfig, settings: Settings) -> int:
    """Copy the trained head of the run `config.start_from` into `head_model`, layer by layer; return how many
    layers were set. `LabError` when that run has no saved model yet or its layers do not fit."""
    import keras

    files = check_start(config, settings)
    if not files.model.is_file():
        raise LabError(f"start_from={config.start_from!r} has no trained model yet ({files.model.name}): wait "
                       "until that run has finished, or start from another.")
    source = keras.saving.load_model(files.model, compile=False, safe_mode=True).get_layer(HEAD)
    copied = 0
    for layer in head_model.layers:
        if not layer.weights:
            continue
        try:
            layer.set_weights(source.get_layer(layer.name).get_weights())
        except ValueError as error:
            raise LabError(f"start_from={config.start_from!r}: its head's layer {layer.name} does not fit this "
                           f"run's ({error}); do both runs have the same classes?") from error
        copied += 1
    return copied
