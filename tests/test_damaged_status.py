"""A damaged `status.json` (truncated, empty, not an object, fields of the wrong type, an unknown state) lists its
run as unknown with the reason, in `lab runs --json`, on the home page and on the Train page, and every other run
keeps working: listed, reconciled, deletable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lab.runs.status import FINISHED, UNKNOWN
from lab.runs.store import Run, RunStore, run_names
from lab.settings import load_settings
from lab.training.config import TrainConfig
from tests.apptest import open_page, shown, train_run_picker
from tests.conftest import FILTERED, LabCli

DAMAGE = {  # what a hand edit, a full disk or a crash of another tool leaves -> the reason shown
    "truncated": ('{"state": "runn', "status.json is damaged (Unterminated string"),
    "empty": ("", "status.json is damaged (it is empty)"),
    "a list": ("[1, 2]", "status.json is damaged (it holds list, not an object)"),
    "a number state": ('{"state": 5, "created": "x", "updated": "x"}', "its state is 5, not str"),
    "a text pid": ('{"state": "running", "created": "x", "updated": "x", "pid": "12"}', "its pid is '12', not int"),
    "no created": ('{"state": "finished", "updated": "x"}', "status.json is damaged (it lacks created)"),
    "an unknown state": ('{"state": "paused", "created": "x", "updated": "x"}', "its state 'paused' is not one of"),
}


@pytest.fixture
def runs(workspace: Path) -> tuple[Run, dict[str, Run]]:
    """One good finished run, and one run for each kind of damage."""
    store = RunStore(load_settings().runs_dir)
    good = store.create(TrainConfig(data=str(FILTERED)))
    good.update(state=FINISHED)
    damaged = {}
    for kind, (text, _) in DAMAGE.items():
        damaged[kind] = store.create(TrainConfig(data=str(FILTERED)))
        (damaged[kind].path / "status.json").write_text(text)
    return good, damaged


def test_lab_runs_lists_each_damaged_run_with_its_reason(runs: tuple[Run, dict[str, Run]], lab_cli: LabCli) -> None:
    good, damaged = runs
    listed = lab_cli("runs", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = {row["id"]: row for row in json.loads(listed.stdout)}
    assert rows[good.id]["status"] == FINISHED and rows[good.id]["error"] is None
    for kind, run in damaged.items():
        assert rows[run.id]["status"] == UNKNOWN, kind
        assert DAMAGE[kind][1] in rows[run.id]["error"], (kind, rows[run.id]["error"])

    text = lab_cli("runs")
    assert text.returncode == 0 and f"{good.id}  finished" in text.stdout
    assert "its pid is '12', not int | None" in text.stdout  # the reason, under the run's line

    assert lab_cli("runs", "delete", damaged["empty"].id).returncode == 0 and not damaged["empty"].path.exists()


def test_the_home_page_names_each_damaged_run_and_counts_the_rest(runs: tuple[Run, dict[str, Run]]) -> None:
    good, damaged = runs
    app = open_page("home")
    assert {metric.label: metric.value for metric in app.metric}["Training runs"] == str(1 + len(DAMAGE))
    warnings = [shown(warning.value) for warning in app.warning]
    for kind, run in damaged.items():
        assert any(run.id in warning and DAMAGE[kind][1] in warning for warning in warnings), kind
    assert not any(good.id in warning for warning in warnings)


def test_the_train_page_shows_a_damaged_run_and_lists_the_others(runs: tuple[Run, dict[str, Run]]) -> None:
    good, damaged = runs
    app = open_page("train")
    chosen = train_run_picker(app)
    names = run_names(RunStore(load_settings().runs_dir).list())  # runs go by their names, each one once
    assert set(chosen.options) >= {f"{names[good.id]} · {FINISHED}", f"{names[damaged['a list'].id]} · {UNKNOWN}"}
    chosen.set_value(damaged["a list"].id).run()
    assert not app.exception
    assert any(DAMAGE["a list"][1] in box.value for box in app.info), [box.value for box in app.info]


def test_a_damaged_config_or_metrics_file_is_named_and_the_pages_carry_on(runs: tuple[Run, dict[str, Run]],
                                                                          lab_cli: LabCli) -> None:
    good, damaged = runs
    (good.path / "config.json").write_text('{"backbone": ')
    (good.path / "metrics.json").write_text("[1, 2")
    listed = {run["id"]: run for run in json.loads(lab_cli("runs", "--json").stdout)}
    assert listed[good.id]["damaged_files"] == ["config.json", "metrics.json"]
    assert lab_cli("runs").returncode == 0
    for page in ("home", "train", "compare"):
        open_page(page)  # raises nothing
