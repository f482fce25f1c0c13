"""Scan speed and memory on the 20,000-image Kaggle set: cold (nothing remembered) and warm.

Each measurement runs `python -m lab scan` in a fresh process, so its peak RSS is the scan's own.
"Cold" means an empty scan cache; the operating system's file cache is warm either way, as it is for a
user who scans a folder twice. Targets on 2-core machines: cold >= 500 files/s, warm >= 20x cold,
peak RSS < 1 GB.

    python bench/scan.py [PATH] [--repeats N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from paths import FLAT_20K as DEFAULT_DATA
from paths import ROOT


def timed_scan(data: Path, workspace: Path) -> tuple[float, int, float]:
    """(seconds the scan reported, files, peak RSS in MB) for one scan in a child process."""
    env = {**os.environ, "TRANSFER_LAB_WORKSPACE": str(workspace)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result = subprocess.run([sys.executable, "-m", "lab", "scan", str(data), "--json"], cwd=ROOT, env=env,
                            capture_output=True, text=True, check=True)
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    report = json.loads(result.stdout)
    return report["seconds"], report["total"], max(peak_kb, before) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    cold, warm, peaks = [], [], []
    for _ in range(args.repeats):
        workspace = Path(tempfile.mkdtemp(prefix="bench-scan-"))
        try:
            seconds, files, peak = timed_scan(args.data, workspace)
            cold.append(files / seconds)
            peaks.append(peak)
            for _ in range(3):
                seconds, files, peak = timed_scan(args.data, workspace)
                warm.append(files / seconds)
                peaks.append(peak)
        finally:
            shutil.rmtree(workspace)
    cold_rate, warm_rate = statistics.median(cold), statistics.median(warm)
    print(f"data: {args.data} ({files:,} files), {os.cpu_count()} CPUs, {args.repeats} cold + "
          f"{3 * args.repeats} warm scans")
    print(f"cold scan: median {cold_rate:,.0f} files/s (runs: {', '.join(f'{r:,.0f}' for r in cold)})  target >= 500")
    print(f"warm scan: median {warm_rate:,.0f} files/s = {warm_rate / cold_rate:.1f}x cold  target >= 20x")
    print(f"peak RSS of a scan process (max over all runs): {max(peaks):,.0f} MB  target < 1,024 MB")


if __name__ == "__main__":
    main()
