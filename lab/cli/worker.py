"""`python -m lab worker RUN_DIR`: the background worker process `lab.runs.jobs` starts for a queued run.

It takes the run's turn (`lab.runs.jobs.take_turn`): trains the run, then starts the next queued one, then copies
the run to MLflow when tracking is on.

Not meant to be typed by hand (though it works on a queued run): the Train page and
`lab train --background` start it, with its output going to the run's `log.txt`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from lab.runs import jobs
from lab.runs.status import FAILED
from lab.runs.store import Run


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("worker", help="(internal) train one queued run; started by lab.runs.jobs")
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    status = jobs.take_turn(Run(args.run_dir))
    return 1 if status.state == FAILED else 0
