"""`python -m lab runs`: list the runs (newest first); stop, delete, rename, tag or untag one; cancel a waiting
run or a whole replay or study (`--group NAME`), or run it next (a replay's or study's run with its group).

Listing first reconciles the queue, so a run whose worker died shows as failed and waiting runs
start even when no page is open; each waiting run says its place in line and when it should start.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

from lab.errors import LabError
from lab.runs import jobs, labels
from lab.runs.describe import shown_state, status_text
from lab.runs.queue import QueuePlan, place_text, queue_plan
from lab.runs.status import MEANINGS, RUNNING, UNKNOWN
from lab.runs.store import Run, RunStore
from lab.runs.tracking import URI_VARIABLE, track, tracking_uri
from lab.settings import Settings, load_settings
from lab.workspace import QueueGroup, group_of, moved_with, queue_groups

LABEL_EDITS = {"rename": labels.rename, "tag": labels.tag, "untag": labels.untag}
QUEUE_ACTIONS = ("cancel", "next")  # on a waiting run, or every run of a group (`--group`)
ACTIONS = ("stop", *QUEUE_ACTIONS, "delete", *LABEL_EDITS, "track")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    states = "\n".join(f"  {state:<9} {meaning}" for state, meaning in MEANINGS.items())
    parser = subparsers.add_parser(
        "runs", help="list, stop, cancel, run next, delete, rename, tag or track training runs",
        description=__doc__.split("\n\n")[0],
        epilog=f"states:\n{states}", formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("action", nargs="?", choices=("list", *ACTIONS), default="list")
    parser.add_argument("run_id", nargs="?", metavar="ID", help="the run to act on")
    parser.add_argument("words", nargs="*", metavar="NAME|TAG",
                        help="rename: the new name (several words are joined; '' removes it); tag/untag: the tags")
    parser.add_argument("--group", metavar="NAME",
                        help="cancel/next: every run of this replay or study (its record's name), in its order")
    parser.add_argument("--runs-dir", type=Path, help="the runs folder (default: the workspace's runs)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    runs_dir = args.runs_dir or settings.runs_dir
    if args.action in QUEUE_ACTIONS:
        return _queue_action(args, settings, runs_dir)
    if args.action != "list" and not args.run_id:
        raise LabError(f"`runs {args.action}` needs a run ID; `python -m lab runs` lists them.")
    if args.action in LABEL_EDITS:
        return _edit_labels(args, runs_dir)
    if args.action == "stop":
        status = jobs.stop(args.run_id, runs_dir, wait=True)
        answer = {"id": args.run_id, "status": status.state}
        print(json.dumps(answer) if args.json else f"{args.run_id}: {status.state}")
        return 0
    if args.action == "track":
        return _track(RunStore(runs_dir).get(args.run_id), args.json)
    if args.action == "delete":
        RunStore(runs_dir).delete(args.run_id)
        print(json.dumps({"id": args.run_id, "deleted": True}) if args.json else f"deleted {args.run_id}")
        return 0
    jobs.reconcile(runs_dir, settings)
    statuses = RunStore(runs_dir).statuses()
    plan, now, groups = queue_plan(statuses, settings), datetime.now().astimezone(), queue_groups(settings)
    if args.json:
        print(json.dumps([{**run.summary(), **_place(plan, run.id, now), "group": _group_name(groups, run.id)}
                          for run, _ in statuses], default=str))
    else:
        for listed, _ in statuses:
            print(_line(listed, plan, group_of(groups, listed.id)))
    return 0


def _group_name(groups: list[QueueGroup], run_id: str) -> str | None:
    """The replay or study a run belongs to, by the name `--group` takes; None for a run of its own."""
    group = group_of(groups, run_id)
    return group.name if group else None


def _place(plan: QueuePlan, run_id: str, now: datetime) -> dict[str, int | str | None]:
    """A run's `position` in line (1 = next) and `expected_start` (ISO time; None when it cannot be estimated,
    and both None for a run not waiting)."""
    place = plan.place(run_id)
    return {"position": place.position if place else None,
            "expected_start": place.expected_start(now) if place else None}


def _queue_action(args: argparse.Namespace, settings: Settings, runs_dir: Path) -> int:
    """cancel / next: one run (ID) or every run of a replay or study (`--group NAME`)."""
    if bool(args.run_id) == bool(args.group):
        raise LabError(f"`runs {args.action}` takes a run ID or --group NAME (a replay's or study's record name).")
    run_ids = [args.run_id] if args.run_id else _group_runs(args.group, settings)
    if args.action == "next":  # a replay's or study's run moves with its group, in the group's planned order
        moved = jobs.run_next(moved_with(queue_groups(settings), args.run_id) if args.run_id else run_ids, runs_dir)
        print(json.dumps({"moved": moved}) if args.json else
              "\n".join(f"{run_id}: moved to the front of the queue" for run_id in moved) or "nothing was waiting")
        return 0
    if args.run_id and RunStore(runs_dir).get(args.run_id).status().state == RUNNING:
        raise LabError(f"Run {args.run_id} is already running: `python -m lab runs stop {args.run_id}` stops it.")
    statuses = jobs.cancel(run_ids, runs_dir)
    answer = [{"id": run_id, "status": status.state, "error": status.error}
              for run_id, status in zip(run_ids, statuses)]
    print(json.dumps(answer) if args.json else
          "\n".join(f"{row['id']}: {row['error'] or row['status']}" for row in answer))
    return 0


def _group_runs(name: str, settings: Settings) -> list[str]:
    """The runs of the replay or study `name`, in their planned order."""
    groups = {group.name: group.run_ids for group in queue_groups(settings)}
    if name not in groups:
        raise LabError(f"No replay or study named {name!r}; those here: {', '.join(groups) or 'none'}.")
    return list(groups[name])


def _track(run: Run, as_json: bool) -> int:
    """Copy the run to MLflow; MLflow's own error (an unreachable server) is a one-line failure."""
    try:
        done = track(run.path)
    except Exception as error:  # noqa: BLE001  (an outside service's failure, reported in one line)
        raise LabError(f"could not copy {run.id} to MLflow at {tracking_uri()}: {type(error).__name__}") from error
    if done is None:
        raise LabError(f"tracking is off: set {URI_VARIABLE} to an MLflow tracking server or sqlite:///path.db")
    print(json.dumps({"id": run.id, **asdict(done)}) if as_json else
          f"{run.id}: MLflow run {done.run_id}" + (f" ({done.link})" if done.link else f" in {done.uri}"))
    return 0


def _edit_labels(args: argparse.Namespace, runs_dir: Path) -> int:
    """rename / tag / untag: change `labels.json` and print the run's labels."""
    run = RunStore(runs_dir).get(args.run_id)
    value = " ".join(args.words) if args.action == "rename" else args.words
    changed = LABEL_EDITS[args.action](run.path, value)
    print(json.dumps({"id": run.id, **changed.to_dict()}) if args.json else
          f"{run.id}: {changed.name or run.name() + ' (named by its config)'} [{', '.join(changed.tags)}]")
    return 0


def _line(listed: Run, plan: QueuePlan, group: QueueGroup | None) -> str:
    """A run as one line (and, while it is queued or training, a second one saying where it is: a waiting run's
    place in line and when it should start, and the replay or study it belongs to)."""
    summary, status = listed.summary(), listed.status()
    accuracy = summary["best_val_accuracy"]
    shown = f"{accuracy:.4f}" if isinstance(accuracy, (int, float)) else "-"
    named = f"  {summary['name']!r}" if summary["name"] != summary["id"] else ""
    tags = f"  [{', '.join(summary['tags'])}]" if summary["tags"] else ""
    damaged = f"  (damaged: {', '.join(summary['damaged_files'])})" if summary["damaged_files"] else ""
    line = f"{summary['id']}  {shown_state(status):<8}  {shown:>6}  {summary['config']}{named}{tags}{damaged}"
    place = plan.place(listed.id)
    where = f"queued: {place_text(place)}" if place else status_text(status)
    where += f" · {group.label} (--group {group.name})" if group else ""
    return f"{line}\n    {where}" if status.active or status.state == UNKNOWN else line
