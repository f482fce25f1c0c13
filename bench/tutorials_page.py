"""How soon the Tutorials page shows its first card when a teacher opens it first, in a real browser.

A fresh `streamlit run` server on a fresh workspace (an empty scan cache: the Keras tutorial's 20,000 photos not
yet read) and Debian's Chromium opening `/replay` directly; prints the seconds from the request until the first
tutorial card's title is visible, until every card's is, until every card shows its time, and until the script is
idle (no "Stop" in the header).
`--repo` serves another checkout (an export of an older commit, to compare before and after).

    python bench/tutorials_page.py [--repo .] [--runs 1]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from augment_page import IDLE, serve
from paths import ROOT

from lab.replays.catalog import REPLAYS

TIMEOUT_MS = 300_000


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=ROOT, help="the checkout whose app to serve")
    parser.add_argument("--runs", type=int, default=1, help="fresh servers, one after another")
    return parser.parse_args()


def first_open(browser, url: str) -> tuple[float, float, float, float]:
    """Seconds until the first card's title is visible, until every card's is, until every card says its time,
    until the page is idle."""
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.set_default_timeout(TIMEOUT_MS)
    began = time.perf_counter()
    page.goto(f"{url}/replay")
    seen = []
    for replay in REPLAYS.values():
        page.get_by_text(replay.title, exact=True).first.wait_for(state="visible")
        seen.append(time.perf_counter() - began)
    page.wait_for_function(f"document.body.innerText.split('Time:').length > {len(REPLAYS)}", polling=250)
    timed = time.perf_counter() - began
    page.wait_for_function(IDLE)
    idle = time.perf_counter() - began
    page.close()
    return seen[0], seen[-1], timed, idle


def main() -> None:
    from playwright.sync_api import sync_playwright

    args = arguments()
    print(os.popen("uptime").read().strip())
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        for number in range(1, args.runs + 1):
            with tempfile.TemporaryDirectory(prefix="bench-tutorials-page-") as workspace:
                server, url = serve(args.repo, Path(workspace))
                try:
                    first, every, timed, idle = first_open(browser, url)
                finally:
                    server.terminate()
                    server.wait(10)
            print(f"run {number}: first card visible {first:.1f} s, every card {every:.1f} s, every card's time "
                  f"{timed:.1f} s, idle {idle:.1f} s", flush=True)
        browser.close()
    print(os.popen("uptime").read().strip())


if __name__ == "__main__":
    main()
