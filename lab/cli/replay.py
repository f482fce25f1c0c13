"""`python -m lab replay NAME [--quick]`: reproduce a whole tutorial, its published figures beside this lab's.

Replays: `keras-tutorial` (VGG16 on 20K images against 1K, then the backbones it suggests trying) and
`five-model-tutorial` (a small CNN, with dropout, with augmentation, bottleneck features, a frozen backbone with
augmentation, fine-tuning). Every row trains on the same splits and is tested on the same photos; where VGG16
has no weights on this machine, the nearest backbone with weights stands in (said in the output). `--quick`
trims images and epochs to fit about half an hour on two CPU cores. The runs go one after another in this
process (progress on stderr), or with `--background` to the queue of workers. `--repeats N` trains each row
with N seeds: the table shows each row's mean and its spread (min-max), and the findings pool every repeat.
With `--json` the last stdout line is one JSON object: `rows` (each with `experiment`, `published`,
`validation_accuracy`, `test_accuracy` (means), `spread`, `runs` (one per repeat, with its `run_dir`), ...),
`findings` (each with `verdict`: reproduced, not reproduced, too close to call or cut short; `p_value` and/or
`interval`; `evidence`), `paragraph` and `summary`. `--report FILE` writes the replay as one HTML file that opens
offline (the table, the curves, the findings, the test photos the rows disagreed on).

Exit codes: 0 every row finished (or all were queued with `--background`), 1 a row failed, 2 a mistake (an
unknown replay, missing data or weights: no run is made), 130 stopped.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from lab.cli.study import percent
from lab.cli.train import ProgressLines
from lab.replays.catalog import REPLAYS
from lab.replays.estimate import estimate_seconds, minutes_text
from lab.replays.plan import launch_replay, plan_replay, replay_named, run_replay
from lab.replays.report import replay_report, report_path, write_report
from lab.replays.table import replay_table
from lab.runs.status import FAILED, FINISHED
from lab.settings import load_settings


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("replay", help="reproduce a whole tutorial beside its published figures",
                                   description=__doc__.split("\n\n")[0])
    parser.add_argument("name", choices=list(REPLAYS), help="which tutorial")
    parser.add_argument("--quick", action="store_true", help="fewer images and epochs: about half an hour here")
    parser.add_argument("--data", help="another dataset (folder, zip or manifest) instead of the tutorial's")
    parser.add_argument("--repeats", type=int, default=1, help="runs per row, with seeds seed, seed+1, ... (default 1)")
    parser.add_argument("--background", action="store_true", help="queue the runs for background workers and return")
    parser.add_argument("--json", action="store_true", help="print the table as one JSON line")
    parser.add_argument("--report", metavar="FILE", help="also write the replay as one HTML file that opens offline")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    if args.report:
        report_path(args.report)
    planned = plan_replay(replay_named(args.name), "quick" if args.quick else "published", settings, data=args.data,
                          repeats=args.repeats)
    print(f"replay {planned.name}: {len(planned.rows)} runs on manifest {planned.manifest}, "
          f"{minutes_text(estimate_seconds(planned, settings, measure=True))}", file=sys.stderr)
    for note in planned.notes:
        print(f"  {note}", file=sys.stderr)
    if args.background:
        planned = launch_replay(planned, settings)
    else:
        planned = run_replay(planned, settings, on_event=ProgressLines())
    table = replay_table(planned, settings.runs_dir)
    if args.report:
        print(f"report: {write_report(replay_report(table), args.report)}", file=sys.stderr)
    _print_table(table, args.json)
    states = {row["status"] for row in table["rows"]}
    return 0 if args.background or states == {FINISHED} else 1 if FAILED in states else 130


def _print_table(table: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(table, default=str))
        return
    print(f"{table['title']} — {table['source']}; {table['notes'][0]}")
    print(f"What we found: {table['summary']}")
    for row in table["rows"]:
        print(f"  {row['experiment']}: published {percent(row['published'])}, here validation "
              f"{with_spread(row, 'validation_accuracy')}, test {with_spread(row, 'test_accuracy')} [{row['status']}]")
    for finding in table["findings"]:
        evidence = f": {finding['evidence']}" if finding["evidence"] else ""
        print(f"  [{finding['verdict']}] {finding['claim']}{evidence}")
    print(table["paragraph"])


def with_spread(row: dict[str, Any], measure: str) -> str:
    """"81.2% (80.4-82.0% over 3 repeats)": the mean, and the min-max where there are repeats."""
    if row["repeats"] < 2 or measure not in row["spread"]:
        return percent(row[measure])
    low, high = row["spread"][measure]
    return f"{percent(row[measure])} ({percent(low)}-{percent(high)} over {row['repeats']} repeats)"

