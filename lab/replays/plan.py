"""Turn a replay into runs on this machine: shared splits, one config per row, a stand-in where weights are missing.

Every row trains on one saved manifest with a test split, made once from the replay's dataset (`study_manifest`),
so all rows are validated and tested on the same photos. Where a tutorial's backbone has no pretrained weights
here (VGG16 offline), the nearest backbone that has them stands in, and the row keeps the tutorial's head,
strategy, sizes and augmentation. The Keras tutorial's "try ResNet, MobileNet and EfficientNet" become extra
rows, one per backbone with weights here.

A planned replay is a JSON record in `<workspace>/replays/<name>.json`: the replay, the variant, the manifest,
what stood in, and each row's config and run id. The runs are ordinary runs, queued in the planned order
(`jobs.launch_in_order`) so that the first row needing a backbone's features computes them and the rest read
the cache; the table is read back from the runs, so it can be shown while they are still queued. A row may
start from an earlier row's trained head (the fine-tuned row from the bottleneck features, as the tutorial
does): its run is made with that row's run id in `start_from`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab.data.manifest import Manifest, load_manifest
from lab.data.run_data import resolve_data_path
from lab.errors import LabError
from lab.replays.catalog import REPLAYS, Experiment, Replay, Variant
from lab.runs import jobs
from lab.runs.describe import Event
from lab.runs.groups import Records
from lab.runs.names import repeat_words
from lab.runs.status import STOPPED
from lab.runs.store import RunStore
from lab.runs.study import study_manifest
from lab.settings import Settings
from lab.training.backbones import get_spec
from lab.training.config import TrainConfig
from lab.training.preflight import check_data_source, preflight
from lab.training.presets import PRESETS

# Backbones that may stand in for one without weights here, nearest to the tutorials' VGG16 in role first.
STAND_INS = ("mobilenet_v2", "resnet50", "efficientnet_b0", "mobilenet")


@dataclass(frozen=True)
class PlannedReplay:
    """A replay made concrete: its rows (label, published figure, config, run id once made) and what changed."""

    name: str
    replay: str
    title: str
    source: str
    variant: str
    manifest: str
    rows: tuple[dict[str, Any], ...]  # {"key", "experiment", "published", "config", "run_id", "repeat", "start_from"}
    notes: tuple[str, ...] = ()  # how the variant differs, what stands in for what, extra rows left out and why
    created: str = ""
    repeats: int = 1  # runs per experiment, with seeds seed, seed+1, ...

    def configs(self) -> list[TrainConfig]:
        return [TrainConfig.from_dict(row["config"]) for row in self.rows]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, value: dict[str, Any]) -> PlannedReplay:
        return cls(**{**value, "rows": tuple(value["rows"]), "notes": tuple(value["notes"])})


def replay_named(name: str) -> Replay:
    if name not in REPLAYS:
        raise LabError(f"No replay {name!r}; the replays are: {', '.join(REPLAYS)}.")
    return REPLAYS[name]


def plan_replay(replay: Replay, variant: str, settings: Settings, *, data: str | None = None,
                available: dict[str, list[str]] | None = None, repeats: int = 1) -> PlannedReplay:
    """Every row's config on shared splits of `data` (default: the replay's dataset), `repeats` runs each;
    `LabError` before any run is made if the data, a split or the weights are missing. `available` is
    `weights_available()`."""
    from lab.training.weights import weights_available

    if variant not in replay.variants:
        raise LabError(f"Replay {replay.name} has no variant {variant!r}; choose {' or '.join(replay.variants)}.")
    chosen = replay.variants[variant]
    available = weights_available(settings) if available is None else available
    shared = _shared_manifest(data or replay.data, replay.seed, chosen, settings)
    manifest, training_images = shared.name, len(shared.splits["train"])
    rows, notes = replay_rows(replay, chosen, manifest, available, repeats)
    for row in rows:
        config = TrainConfig.from_dict(row["config"])
        if (config.train_size or 0) > training_images:
            raise LabError(f"The row {row['experiment']!r} trains on {config.train_size:,} images, but {manifest} "
                           f"has {training_images:,} in its training split: use a larger dataset, or --quick.")
        preflight(config, settings)
    return PlannedReplay(time.strftime(f"{replay.name}-{variant}-%Y%m%d-%H%M%S"), replay.name, replay.title,
                         replay.source, variant, manifest, tuple(rows), (chosen.note, *notes),
                         created=time.strftime("%Y-%m-%dT%H:%M:%S"), repeats=repeats)


def replay_rows(replay: Replay, variant: Variant, manifest: str, available: dict[str, list[str]], repeats: int = 1
                ) -> tuple[list[dict[str, Any]], list[str]]:
    """The rows' configs on `manifest` with the weights `available`, each experiment `repeats` times (seeds
    seed, seed+1, ...; an experiment's repeats side by side, so the first computes any features the rest read),
    and notes on what stood in or was left out."""
    if repeats < 1:
        raise LabError(f"--repeats {repeats}: a replay needs at least one run per row.")
    rows, notes = [], []
    for experiment in replay.experiments:
        tutorial = _row_config(experiment, variant, manifest, replay.seed)
        config, note = stand_in(tutorial, available)
        rows.append(_row(experiment, config, row_label(experiment, tutorial, config)))
        notes += [note] if note and note not in notes else []
    extra_rows, extra_notes = _try_rows(replay, rows, available)
    return [_repeat(row, repeat) for row in rows + extra_rows for repeat in range(repeats)], notes + extra_notes


def _repeat(row: dict[str, Any], repeat: int) -> dict[str, Any]:
    return {**row, "repeat": repeat, "config": {**row["config"], "seed": row["config"]["seed"] + repeat}}


def row_label(experiment: Experiment, tutorial: TrainConfig, ran: TrainConfig) -> str:
    """What ran, in words: the tutorial's label where its backbone ran, else the stand-in named first."""
    if ran.backbone == tutorial.backbone or not experiment.method:
        return experiment.label
    return f"{backbone_name(ran.backbone)}, standing in for {backbone_name(tutorial.backbone)}: {experiment.method}"


def backbone_name(backbone: str) -> str:
    """"MobileNetV2" for mobilenet_v2: the name the backbone's authors gave it."""
    return get_spec(backbone).display_name


def _shared_manifest(data: str, seed: int, variant: Variant, settings: Settings) -> Manifest:
    check_data_source(data, settings)
    folder = resolve_data_path(data, settings)
    if folder is None:
        manifest = load_manifest(data, settings)
        if not manifest.splits.get("test"):
            raise LabError(f"Manifest {manifest.name} has no test split: a replay tests every row on the same "
                           "photos. Save one with a test share on the Dataset page, or name a folder.")
        return manifest
    try:
        return study_manifest(folder, seed, settings, validation=variant.validation, test=variant.test)
    except LabError as error:
        raise LabError(f"{folder.name} is too small for this replay ({variant.note}): {error}") from error


def _row_config(experiment: Experiment, variant: Variant, manifest: str, seed: int) -> TrainConfig:
    changes = {**experiment.changes, **variant.changes_for(experiment.key), "data": manifest, "seed": seed}
    return TrainConfig.from_dict({**PRESETS[experiment.preset].to_dict(), **changes})


def _row(experiment: Experiment, config: TrainConfig, label: str) -> dict[str, Any]:
    return {"key": experiment.key, "experiment": label, "published": experiment.published,
            "config": config.to_dict(), "run_id": None, "repeat": 0, "start_from": experiment.start_from}


def stand_in(config: TrainConfig, available: dict[str, list[str]]) -> tuple[TrainConfig, str | None]:
    """`config` as it can run here: unchanged if its weights are usable, else the first of `STAND_INS` with
    pretrained weights here, the rest of the row kept (a fine-tune boundary becomes the stand-in's default)."""
    if config.weights == "none" or config.weights in available.get(config.backbone, []):
        return config, None
    for backbone in STAND_INS:
        weights = pretrained_weights(backbone, available)
        if weights is not None:
            boundary = get_spec(backbone).default_boundary if config.fine_tune_at else ""
            replaced = dataclasses.replace(config, backbone=backbone, weights=weights, fine_tune_at=boundary)
            source = "from Keras" if weights == "imagenet" else "from this machine's weights folder"
            return replaced, (f"No ImageNet weights for {backbone_name(config.backbone)} on this machine, so "
                              f"{backbone_name(backbone)} (ImageNet weights {source}) stands in for it; the "
                              "tutorial's head, strategy, sizes and augmentation are kept.")
    raise LabError(f"{config.backbone} has no pretrained weights on this machine, and neither has any backbone "
                   f"that could stand in ({', '.join(STAND_INS)}): connect to the internet once, or put a weights "
                   "file in the weights folder.")


def pretrained_weights(backbone: str, available: dict[str, list[str]]) -> str | None:
    """ImageNet from Keras where it can be had, else the first local file; None when only random weights."""
    usable = [weights for weights in available.get(backbone, []) if weights != "none"]
    return "imagenet" if "imagenet" in usable else next(iter(usable), None)


def _try_rows(replay: Replay, rows: list[dict[str, Any]], available: dict[str, list[str]]
              ) -> tuple[list[dict[str, Any]], list[str]]:
    """The tutorial's "try these backbones too", on its last row's setup, for backbones with weights here."""
    if not replay.try_backbones:
        return [], []
    base = TrainConfig.from_dict(rows[-1]["config"])
    taken = {TrainConfig.from_dict(row["config"]).backbone for row in rows}
    extra, missing = [], []
    for backbone in replay.try_backbones:
        weights = pretrained_weights(backbone, available)
        if backbone in taken:
            continue
        if weights is None:
            missing.append(backbone)
            continue
        config = dataclasses.replace(base, backbone=backbone, weights=weights, fine_tune_at="")
        label = f"{backbone_name(backbone)}, as the tutorial suggests trying: {replay.experiments[-1].method}"
        extra.append(_row(Experiment(f"try-{backbone}", label, "", None), config, label))
    notes = [f"Also suggested by the tutorial, but without weights on this machine: {', '.join(missing)}."] \
        if missing else []
    return extra, notes


# ---- the record, and running it --------------------------------------------------------------------------


def replays_dir(settings: Settings) -> Path:
    return settings.workspace / "replays"


def _records(settings: Settings) -> Records:
    return Records(replays_dir(settings), "replay record")


def save_replay(planned: PlannedReplay, settings: Settings) -> Path:
    return _records(settings).save(planned.name, planned.to_dict())


def load_replay(name: str, settings: Settings) -> PlannedReplay:
    return PlannedReplay.from_dict(_records(settings).load(name))


def list_replays(settings: Settings) -> list[str]:
    """Replay records, newest first."""
    return _records(settings).names()


def row_name(planned: PlannedReplay, row: dict[str, Any]) -> str:
    """A row's run as people read it: "Basic CNN from scratch · five-model replay" (and its repeat)."""
    return f"{row['experiment']} · {short_name(planned)}{repeat_words(row.get('repeat', 0), planned.repeats)}"


def replay_references(settings: Settings) -> dict[str, tuple[str, float | None]]:
    """Each replay run's experiment and the figure its tutorial published (None where it gave none), by run id:
    what the runs table puts beside it, since a quick variant's run matches no preset's published experiment."""
    references = {}
    for name in list_replays(settings):
        try:
            planned = load_replay(name, settings)
        except (LabError, KeyError, TypeError, ValueError):  # hand-edited, or from an older lab: no figures
            continue
        references.update({row["run_id"]: (row["experiment"], row["published"]) for row in planned.rows
                           if row.get("run_id")})
    return references


def short_name(planned: PlannedReplay) -> str:
    """"five-model replay": what a teacher calls it (the title, for a replay no longer in the catalog)."""
    return REPLAYS[planned.replay].short if planned.replay in REPLAYS else planned.title


def linked_config(planned: PlannedReplay, number: int, run_ids: list[str]) -> TrainConfig:
    """Row `number`'s config as its run is made: a row that starts from another's trained head (the fine-tuned
    row from the bottleneck features) gets that row's run id, repeat r from repeat r; the runs are made in the
    planned order, so that row's run exists already."""
    row = planned.rows[number]
    config = TrainConfig.from_dict(row["config"])
    source = next((index for index, other in enumerate(planned.rows[:number]) if row.get("start_from")
                   and other["key"] == row["start_from"] and other.get("repeat", 0) == row.get("repeat", 0)), None)
    return config if source is None else dataclasses.replace(config, start_from=run_ids[source])


def with_run(planned: PlannedReplay, config: TrainConfig, run_id: str) -> PlannedReplay:
    """The record with the next row's run id and the config its run was made with."""
    number = sum(1 for row in planned.rows if row.get("run_id"))
    row = {**planned.rows[number], "run_id": run_id, "config": config.to_dict()}
    return dataclasses.replace(planned, rows=(*planned.rows[:number], row, *planned.rows[number + 1:]))


def launch_replay(planned: PlannedReplay, settings: Settings) -> PlannedReplay:
    """Queue every row for the background workers in the planned order, and save the record."""
    run_ids: list[str] = []
    for number in range(len(planned.rows)):
        config = linked_config(planned, number, run_ids)
        run_ids.append(jobs.launch_in_order(config, settings, name=row_name(planned, planned.rows[number])).id)
        planned = with_run(planned, config, run_ids[-1])
    save_replay(planned, settings)
    return planned


def run_replay(planned: PlannedReplay, settings: Settings, *, on_event: Callable[[Event], None] | None = None
               ) -> PlannedReplay:
    """Train every row in this process, one after another (the CLI's foreground mode), saving the record as
    each run is made, so the table can be read while the replay goes on. A stopped row ends the replay."""
    store = RunStore(settings.runs_dir)
    run_ids: list[str] = []
    for number, row in enumerate(planned.rows, 1):
        config = linked_config(planned, number - 1, run_ids)
        run = store.create(config, name=row_name(planned, row),
                           running_in=jobs.process_identity())  # not queued: no worker may take it
        run_ids.append(run.id)
        planned = with_run(planned, config, run.id)
        save_replay(planned, settings)
        if on_event:
            on_event({"type": "phase", "phase": "replay",
                      "message": f"row {number}/{len(planned.rows)}: {row['experiment']}"})
        if jobs.take_turn(run, settings, on_event=on_event).state == STOPPED:
            break  # the person stopped this row (Ctrl-C, SIGTERM, its stop file): the rows after it wait
    return planned
