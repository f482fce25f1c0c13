"""The queue in sight and in hand: each waiting run's place and expected start, run next, cancel (one run or a
group), with real run folders held behind a run marked running by a live process."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from lab.runs import jobs
from lab.runs.queue import estimated_seconds, launch_text, place_text, plan_queue, queue_order, queue_plan
from lab.runs.status import QUEUED, RUNNING, STOPPED, now_iso
from lab.runs.store import Run, RunStore
from lab.runs.study import Study, save_study
from lab.settings import load_settings
from lab.training.config import TrainConfig
from lab.training.cost import time_in_words
from lab.workspace import moved_with, queue_groups
from tests import test_jobs
from tests.test_jobs import wait_for

runs_dir, sleeper = test_jobs.runs_dir, test_jobs.sleeper  # the fixtures: the workspace's runs, a live process


@pytest.fixture
def busy(runs_dir: Path, sleeper: subprocess.Popen, tiny_config: TrainConfig) -> Run:
    """A run marked running in the sleeper: nothing else starts while it lives (one worker by default)."""
    run = RunStore(runs_dir).create(tiny_config)
    run.mark_running(*jobs.process_identity(sleeper.pid))
    return run


def queued(runs_dir: Path, config: TrainConfig, count: int) -> list[Run]:
    """`count` runs queued one after the other, as `launch_in_order` would (strictly later each)."""
    runs = []
    for _ in range(count):
        runs.append(RunStore(runs_dir).create(config))
        created = runs[-1].status().created
        while now_iso() <= created:
            pass
    return runs


def line(runs_dir: Path) -> list[str]:
    return [run.id for run, _ in queue_order(RunStore(runs_dir).statuses())]


def test_the_line_is_oldest_first_and_run_next_moves_runs_to_the_front_keeping_their_order(
    runs_dir: Path, busy: Run, tiny_config: TrainConfig
) -> None:
    first, second, third, fourth = queued(runs_dir, tiny_config, 4)
    assert line(runs_dir) == [first.id, second.id, third.id, fourth.id]

    assert jobs.run_next([fourth.id], runs_dir) == [fourth.id]
    assert line(runs_dir) == [fourth.id, first.id, second.id, third.id]

    assert jobs.run_next([second.id, third.id], runs_dir) == [second.id, third.id]  # a group moved as one
    assert line(runs_dir) == [second.id, third.id, fourth.id, first.id]
    assert jobs.run_next([busy.id], runs_dir) == []  # a running run has no place in line
    assert "moved to the front of the queue" in third.log_tail()


def test_reconcile_starts_the_run_moved_to_the_front(
    runs_dir: Path, busy: Run, sleeper: subprocess.Popen, tiny_config: TrainConfig
) -> None:
    older, newer = queued(runs_dir, tiny_config, 2)
    jobs.run_next([newer.id], runs_dir)
    jobs.cancel([older.id], runs_dir)  # so that only the moved run trains once the worker is free
    sleeper.kill()
    sleeper.wait()

    assert jobs.reconcile(runs_dir) == [newer]
    assert wait_for(newer, lambda status: not status.active).state != QUEUED


def test_a_cancelled_run_never_starts_and_says_so(
    runs_dir: Path, busy: Run, sleeper: subprocess.Popen, tiny_config: TrainConfig
) -> None:
    (waiting,) = queued(runs_dir, tiny_config, 1)
    (status,) = jobs.cancel([waiting.id], runs_dir)
    sleeper.kill()
    sleeper.wait()

    assert jobs.reconcile(runs_dir) == []
    assert (status.state, status.error, status.started) == (STOPPED, jobs.CANCELLED, None)
    assert waiting.status().state == STOPPED and jobs.CANCELLED in waiting.log_tail()


def test_each_waiting_run_starts_when_the_runs_ahead_of_it_end(
    runs_dir: Path, busy: Run, tiny_config: TrainConfig, tiny_run: Path
) -> None:
    shutil.copytree(tiny_run, runs_dir / tiny_run.name)  # an earlier run: its speed makes estimates possible
    first, second = queued(runs_dir, tiny_config, 2)
    estimate = estimated_seconds(load_settings())
    seconds = estimate(first)
    assert seconds is not None and seconds > 0
    now = datetime.fromisoformat(busy.status().started) + timedelta(seconds=seconds / 4)
    statuses = RunStore(runs_dir).statuses()

    plan = plan_queue(statuses, 1, estimate, now)
    assert [(place.run_id, place.position) for place in plan.places] == [(first.id, 1), (second.id, 2)]
    assert plan.place(first.id).wait == pytest.approx(seconds * 3 / 4)  # what the running run has left
    assert plan.place(second.id).wait == pytest.approx(seconds * 7 / 4)
    assert plan.next_start == pytest.approx(seconds * 11 / 4) and plan.ahead == 3  # one running, two waiting
    assert plan.group_end([first.id, second.id]) == pytest.approx(seconds * 11 / 4)
    assert launch_text(plan) == f"starting in {time_in_words(plan.next_start)} (3 runs ahead)"
    assert plan.place(second.id).expected_start(now) == (now + timedelta(seconds=round(seconds * 7 / 4))).isoformat(
        timespec="seconds")

    two_workers = plan_queue(statuses, 2, estimate, now)
    assert two_workers.place(first.id).wait == 0.0  # a free worker takes it at once
    assert two_workers.place(second.id).wait == pytest.approx(seconds * 3 / 4)

    busy.update(progress={"eta_seconds": seconds * 10})  # slower than estimated: its own ETA wins
    slow = plan_queue(RunStore(runs_dir).statuses(), 1, estimate, now)
    assert slow.place(first.id).wait == pytest.approx(seconds * 10)


def test_a_run_that_cannot_be_estimated_makes_the_starts_after_it_unknown(
    runs_dir: Path, busy: Run, tiny_config: TrainConfig, tiny_run: Path
) -> None:
    shutil.copytree(tiny_run, runs_dir / tiny_run.name)
    (known,) = queued(runs_dir, tiny_config, 1)
    (unknown,) = queued(runs_dir, replace(tiny_config, image_size=96), 1)  # no earlier run at this size
    (after,) = queued(runs_dir, tiny_config, 1)
    held = RunStore(runs_dir).create(tiny_config)
    held.update(held="features-study-x")

    plan = queue_plan(RunStore(runs_dir).statuses(), load_settings())

    assert [place.run_id for place in plan.places] == [known.id, unknown.id, after.id, held.id]
    assert plan.place(unknown.id).wait is not None  # its own start is known: it waits for the runs ahead
    assert plan.place(after.id).wait is None and plan.next_start is None
    assert place_text(plan.place(after.id)).startswith("3rd in line, start time not known yet")
    assert place_text(plan.place(held.id)) == "4th in line, waiting for its study's features (features-study-x)"


def test_the_cli_gives_places_moves_and_cancels_runs_and_groups(
    runs_dir: Path, busy: Run, tiny_config: TrainConfig, tiny_run: Path, lab_cli
) -> None:
    shutil.copytree(tiny_run, runs_dir / tiny_run.name)
    alone, first, second = queued(runs_dir, tiny_config, 3)
    study = Study("study-lesson", tiny_config, (40, 20), runs=({"size": 40, "repeat": 0, "run_id": first.id},
                                                                {"size": 20, "repeat": 0, "run_id": second.id}))
    save_study(study, load_settings())

    listed = lab_cli("runs", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = {row["id"]: row for row in json.loads(listed.stdout)}
    assert [rows[run.id]["position"] for run in (alone, first, second)] == [1, 2, 3]
    starts = [datetime.fromisoformat(rows[run.id]["expected_start"]) for run in (alone, first, second)]
    assert starts == sorted(starts) and starts[0] < starts[2]
    assert rows[busy.id]["position"] is None and rows[busy.id]["expected_start"] is None
    assert [rows[run.id]["group"] for run in (alone, first, second)] == [None, "study-lesson", "study-lesson"]
    text = lab_cli("runs").stdout
    assert "queued: next in line, starts " in text
    assert "queued: 2nd in line, starts in" in text and "dataset-size study study-lesson (--group study-lesson)" in text

    moved = lab_cli("runs", "next", "--group", "study-lesson", "--json")
    assert json.loads(moved.stdout) == {"moved": [first.id, second.id]}
    assert line(runs_dir) == [first.id, second.id, alone.id]

    cancelled = lab_cli("runs", "cancel", "--group", "study-lesson")
    assert cancelled.returncode == 0, cancelled.stderr
    assert cancelled.stdout.splitlines() == [f"{first.id}: {jobs.CANCELLED}", f"{second.id}: {jobs.CANCELLED}"]
    assert lab_cli("runs", "cancel", alone.id).returncode == 0
    assert line(runs_dir) == []

    running = lab_cli("runs", "cancel", busy.id)
    assert running.returncode != 0 and "runs stop" in running.stderr and busy.status().state == RUNNING
    unknown = lab_cli("runs", "cancel", "--group", "no-such-study")
    assert unknown.returncode != 0 and "study-lesson" in unknown.stderr


def test_a_start_time_edited_by_hand_leaves_the_running_runs_eta(
    runs_dir: Path, busy: Run, tiny_config: TrainConfig, tiny_run: Path
) -> None:
    shutil.copytree(tiny_run, runs_dir / tiny_run.name)
    (waiting,) = queued(runs_dir, tiny_config, 1)
    busy.update(started="yesterday", progress={"eta_seconds": 600})

    plan = queue_plan(RunStore(runs_dir).statuses(), load_settings())

    assert plan.place(waiting.id).wait == pytest.approx(600)


def test_a_run_of_a_study_moves_with_its_whole_study_in_its_order(runs_dir: Path, tiny_config: TrainConfig) -> None:
    alone, first, second = queued(runs_dir, tiny_config, 3)
    settings = load_settings()
    save_study(Study("study-lesson", tiny_config, (40, 20), runs=({"size": 40, "repeat": 0, "run_id": first.id},
                                                                  {"size": 20, "repeat": 0, "run_id": second.id})),
               settings)
    groups = queue_groups(settings)
    assert [(group.name, group.label) for group in groups] == [("study-lesson", "dataset-size study study-lesson")]
    assert moved_with(groups, second.id) == [first.id, second.id]
    assert moved_with(groups, alone.id) == [alone.id]
