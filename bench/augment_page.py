"""How fast the Augment page answers in a real browser: from a change (a re-roll, or one step of the rotation
slider) to all nine variants of the grid showing new, loaded images. Target: p95 under 1 s on two cores.

A fresh `streamlit run` server on a free port, Debian's Chromium, two warm-up changes, then `--changes` changes
alternating re-roll and rotation +1; prints each, p50/p95/max, the server's CPU seconds per change and its
memory before and after.

    python bench/augment_page.py [--changes 20] [--repo .]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from paths import ROOT, SHARED

GRID = 9
IDLE = "document.querySelector(\"[data-testid='stApp']\")?.getAttribute('data-test-script-state') === 'notRunning'"
SOURCES = f"[...Array({GRID}).keys()].map(i => document.querySelector(`img[alt='augmented ${{i + 1}}']`)?.src)"
ALL_NEW = f"""old => {{ const images = [...Array({GRID}).keys()].map(
    i => document.querySelector(`img[alt='augmented ${{i + 1}}']`));
    return images.every(image => image && image.complete && image.naturalWidth > 0 && !old.includes(image.src)); }}"""


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--repo", type=Path, default=ROOT, help="the checkout whose app to serve")
    return parser.parse_args()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(repo: Path, workspace: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "TRANSFER_LAB_WORKSPACE": str(workspace), "TRANSFER_LAB_DATA_DIRS": str(SHARED / "data"),
           "TRANSFER_LAB_WEIGHTS_DIR": str(SHARED / "weights")}
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.headless",
                               "true", "--server.port", str(port), "--server.address", "127.0.0.1",
                               "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
                              cwd=repo, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
            return server, url
        except OSError:
            time.sleep(0.3)
    server.terminate()
    raise SystemExit("the app did not start")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    """The server's resident memory: with Streamlit's full collection after each run switched off, it must stay flat."""
    line = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("VmRSS"))
    return int(line.split()[1]) / 1024


def timed_changes(page, changes: int, server_pid: int) -> tuple[list[float], float]:
    """Seconds per change after two warm-ups, and the server's CPU seconds per change."""
    slider = page.get_by_role("slider", name="Rotation (degrees)")
    times, cpu_before = [], 0.0
    for index in range(changes + 2):
        old = page.evaluate(SOURCES)
        began = time.perf_counter()
        if index % 2 == 0:
            page.get_by_role("button", name="Re-roll").click()
        else:
            slider.focus()
            page.keyboard.press("ArrowRight")
        page.wait_for_function(ALL_NEW, arg=old, polling="raf")
        took = time.perf_counter() - began
        page.wait_for_function(IDLE)
        page.wait_for_timeout(300)
        if index == 1:
            cpu_before = cpu_seconds(server_pid)
        if index >= 2:
            times.append(took)
        print(f"{index:2d} {'re-roll' if index % 2 == 0 else 'rotation +1':12s} {took:6.3f} s"
              + ("  (warm-up)" if index < 2 else ""), flush=True)
    return times, (cpu_seconds(server_pid) - cpu_before) / len(times)


def main() -> None:
    from playwright.sync_api import sync_playwright

    args = arguments()
    print(os.popen("uptime").read().strip())
    with tempfile.TemporaryDirectory(prefix="bench-augment-page-") as workspace:
        server, url = serve(args.repo, Path(workspace))
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                                     args=["--no-sandbox", "--disable-gpu"])
                page = browser.new_page(viewport={"width": 1440, "height": 1000})
                page.set_default_timeout(120_000)
                page.goto(f"{url}/augment")
                page.wait_for_function(f"document.querySelectorAll(\"img[alt^='augmented']\").length >= {GRID}")
                page.wait_for_function(IDLE)
                memory_before = rss_mib(server.pid)
                times, cpu = timed_changes(page, args.changes, server.pid)
                memory_after = rss_mib(server.pid)
                browser.close()
        finally:
            server.terminate()
            server.wait(10)
    p95 = statistics.quantiles(times, n=20)[18]
    print(f"{len(times)} changes: p50 {statistics.median(times):.3f} s, p95 {p95:.3f} s, max {max(times):.3f} s "
          f"(target p95 < 1 s); server CPU {cpu:.3f} s per change; "
          f"server memory {memory_before:.0f} MiB before, {memory_after:.0f} MiB after")
    print(os.popen("uptime").read().strip())


if __name__ == "__main__":
    main()
