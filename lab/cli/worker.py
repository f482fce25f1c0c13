"""`python -m lab worker RUN_DIR`: the background worker process `lab.runs.jobs` starts for a queued run.

It takes the run's turn (`lab.runs.jobs.take_turn`): trains the run, then starts the next queued one, then copies
the run to MLflow when tracking is on.

Not meant to be typed by hand (though it works on a queued run): the Train page and
`lab train --background` start it, with its output going to the run's `log.txt`.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from lab.runs import jobs
from lab.runs.status import FAILED
from lab.runs.store import Run

# A worker trains at a lower CPU priority than the app: on a machine of few cores, a training that takes every
# core left the page half a second to two seconds behind each click (Stop training took 1.7 s to answer on two
# cores, 0.35 s with the worker at this niceness); the training loses only the time the page actually uses.
WORKER_NICENESS = 10


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("worker", help="(internal) train one queued run; started by lab.runs.jobs")
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    yield_to_the_app()
    status = jobs.take_turn(Run(args.run_dir))
    return 1 if status.state == FAILED else 0


def yield_to_the_app() -> None:
    """Lower this process's CPU priority to `WORKER_NICENESS`, never raise it: the next run's worker, started by
    this one, inherits the niceness. POSIX only: elsewhere the default priority is kept."""
    if hasattr(os, "setpriority"):
        current = os.getpriority(os.PRIO_PROCESS, 0)
        os.setpriority(os.PRIO_PROCESS, 0, max(current, WORKER_NICENESS))
