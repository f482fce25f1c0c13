"""Both quick replays as a teacher starts them: the estimate shown before Start, the time they take, what they find.

Each replay runs in a fresh workspace (cold scan and feature caches, no earlier runs: a first lesson on a new
machine) as `python -m lab replay NAME --quick --json` in its own process, timed from process start to exit.
Its estimate is taken the way the Tutorials page takes it before Start (`preview_replay(..., measure=True)`:
the backbones timed now, nothing calibrated yet). Printed per replay: estimated and actual minutes and their
ratio, each row's test accuracy, epochs run and seconds, and each finding's verdict and evidence.
Targets (issue 24): both quick replays together under 20 minutes on two CPU cores; each estimate within 1.3x.

    python bench/replays.py [keras-tutorial five-model-tutorial]
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


def replay(name: str, workspace: Path) -> tuple[float, dict]:
    """Wall seconds of `python -m lab replay NAME --quick --json`, and its table."""
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "lab", "replay", name, "--quick", "--json"], cwd=ROOT,
                          capture_output=True, text=True, env=dict(os.environ), check=False)
    seconds = time.perf_counter() - began
    if done.returncode:
        raise SystemExit(f"{name} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return seconds, json.loads(done.stdout.strip().splitlines()[-1])


def print_table(table: dict) -> None:
    for row in table["rows"]:
        run = row["runs"][0] if row["runs"] else {}
        print(f"    {row['experiment'][:70]:<72}test {row['test_accuracy'] or 0:.3f}  epochs {run.get('epochs')}"
              f"  {run.get('seconds') or 0:.0f} s" + ("  still improving" if run.get("still_improving") else ""))
    for finding in table["findings"]:
        print(f"    [{finding['verdict']}] {finding['claim']}: {finding['evidence']}")


def main(names: list[str]) -> None:
    print(os.popen("uptime").read().strip())
    total = 0.0
    for name in names:
        workspace = Path(tempfile.mkdtemp(prefix=f"bench-replay-{name}-"))
        expected = estimate(name, workspace)
        seconds, table = replay(name, workspace)
        total += seconds
        ratio = f"{expected / seconds:.2f}" if expected else "unknown"
        print(f"{name} --quick: estimated {expected / 60 if expected else float('nan'):.1f} min, took "
              f"{seconds / 60:.1f} min, ratio {ratio} (workspace {workspace})")
        print_table(table)
    print(f"together: {total / 60:.1f} min ({os.cpu_count()} cores)")
    print(os.popen("uptime").read().strip())


if __name__ == "__main__":
    main(sys.argv[1:] or list(NAMES))
