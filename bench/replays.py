"""Both quick replays as a teacher starts them: the estimate shown before Start, the time they take, what they find.

Each replay runs in a fresh workspace (cold scan and feature caches, no earlier runs: a first lesson on a new
machine) the way the Tutorials page's Start runs it: `python -m lab replay NAME --quick --background --json`
queues its rows for background workers (one process per row, as the page's queue starts them), and the clock
stops when the last row has ended. `--in-process` times `python -m lab replay NAME --quick --json` instead (every
row in one process: no worker start-ups after the first). The estimate is taken the way the Tutorials page takes
it before Start (`preview_replay(..., measure=True)`: the backbones timed now, nothing calibrated yet). Printed
per replay: estimated and actual minutes and their ratio, each row's test accuracy, epochs run and seconds, and
each finding's verdict and evidence. Targets (issue 24): both quick replays together under 20 minutes on two CPU
cores; each estimate within 1.3x.

    python bench/replays.py [--in-process] [keras-tutorial five-model-tutorial]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from paths import ROOT, SHARED

NAMES = ("keras-tutorial", "five-model-tutorial")


def estimate(name: str, workspace: Path) -> float | None:
    """The seconds the Tutorials page would show before Start, in a workspace with no earlier runs."""
    os.environ.update(TRANSFER_LAB_WORKSPACE=str(workspace), TRANSFER_LAB_DATA_DIRS=str(SHARED / "data"),
                      TRANSFER_LAB_WEIGHTS_DIR=str(SHARED / "weights"))
    from lab.replays.catalog import REPLAYS
    from lab.replays.estimate import preview_replay
    from lab.settings import load_settings

    seconds, _ = preview_replay(REPLAYS[name], "quick", load_settings(), measure=True)
    return seconds


def replay(name: str, in_process: bool) -> tuple[float, dict]:
    """Wall seconds from `python -m lab replay NAME --quick` starting to its last row ending, and its table."""
    command = [sys.executable, "-m", "lab", "replay", name, "--quick", "--json"]
    began = time.perf_counter()
    done = subprocess.run(command + ([] if in_process else ["--background"]), cwd=ROOT, capture_output=True,
                          text=True, env=dict(os.environ), check=False)
    if done.returncode:
        raise SystemExit(f"{name} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    table = json.loads(done.stdout.strip().splitlines()[-1])
    if not in_process:
        table = wait_for_rows(table["name"])
    return time.perf_counter() - began, table


def wait_for_rows(planned_name: str) -> dict:
    """The replay's table once every row has ended, polling as the Train page does (which also starts the next
    queued row should a worker have died)."""
    from lab.replays.plan import load_replay
    from lab.replays.table import replay_table
    from lab.runs import jobs
    from lab.runs.status import ACTIVE_STATES
    from lab.settings import load_settings

    settings = load_settings()
    while True:
        jobs.reconcile(settings.runs_dir, settings)
        table = replay_table(load_replay(planned_name, settings), settings.runs_dir)
        if not {row["status"] for row in table["rows"]} & set(ACTIVE_STATES):
            return table
        time.sleep(2.0)


def print_table(table: dict) -> None:
    for row in table["rows"]:
        run = row["runs"][0] if row["runs"] else {}
        print(f"    {row['experiment'][:70]:<72}test {row['test_accuracy'] or 0:.3f}  epochs {run.get('epochs')}"
              f"  {run.get('seconds') or 0:.0f} s" + ("  still improving" if run.get("still_improving") else ""))
    for finding in table["findings"]:
        print(f"    [{finding['verdict']}] {finding['claim']}: {finding['evidence']}")


def main(names: list[str], in_process: bool) -> None:
    print(os.popen("uptime").read().strip())
    total = 0.0
    for name in names:
        workspace = Path(tempfile.mkdtemp(prefix=f"bench-replay-{name}-"))
        expected = estimate(name, workspace)
        seconds, table = replay(name, in_process)
        total += seconds
        ratio = f"{expected / seconds:.2f}" if expected else "unknown"
        path = "in one process" if in_process else "queued, a worker per row"
        print(f"{name} --quick ({path}): estimated {expected / 60 if expected else float('nan'):.1f} min, took "
              f"{seconds / 60:.1f} min, ratio {ratio} (workspace {workspace})")
        print_table(table)
    print(f"together: {total / 60:.1f} min ({os.cpu_count()} cores)")
    print(os.popen("uptime").read().strip())


if __name__ == "__main__":
    arguments = sys.argv[1:]
    main([name for name in arguments if name in NAMES] or list(NAMES), "--in-process" in arguments)
