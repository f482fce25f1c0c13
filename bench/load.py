"""Load: N browser sessions at once on the Predict page of one server, 200 interactions in all (choose a run,
predict a photo, move the threshold); p50/p95 latency per kind and the server's memory as it goes.

Two tiny runs (MobileNet 0.25 at 128 px on the shared weights, 40 photos, one epoch: seconds each) are trained
first with `python -m lab train` in a fresh workspace; then a fresh `streamlit run` server on a free port, and
Debian's Chromium with one tab per session, each tab driven by its own asyncio task so the sessions really
overlap. An interaction's latency runs from the click, key or upload to the page being idle with its answer
shown (a photo refused with a message naming it is answered too). One not answered within `ANSWER_SECONDS` is
counted unanswered, its tab's page saved as a screenshot and reopened; the script fails if any is. The server's
resident memory is printed at the start, every 50 interactions and at the end.

Growth bound: memory after all interactions within `--growth-mib` (default 64 MiB) of memory after the first
50. Everything the Predict page keeps across sessions is a bounded cache: the predictors (`max_entries=4`; two
runs here) and the answers (`max_entries=256`; here `--photos` x 2 runs entries of about 3 MB each: the photo
and its overlay at display size, the model's input). With the default 6 photos that is 12 answers, 36 MB,
mostly made within the first 50 interactions (about 17 uploads, alternating runs), as are TensorFlow's import
and both models; per session only a few ids and the images of its last rerun. So after 50 the figure must
stay flat, and 64 MiB is the rest of the answer cache plus allocator noise; a leak per interaction (a model,
an image, a session's copy) would cross it within the 150 interactions after. More photos fill the cache
later: raise the bound by 6 MB per photo beyond the default.

    python bench/load.py [--sessions 4] [--interactions 200] [--photos 6] [--repo .]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from augment_page import rss_mib, serve
from paths import FILTERED, ROOT, SHARED
from playwright.async_api import Error as PlaywrightError

TINY = SHARED / "weights" / "mobilenet_0.25_128_imagenet_no_top.weights.h5"
APP = "[data-testid='stApp']"
KINDS = ("run", "photo", "threshold")
ANSWER_SECONDS = 120  # an interaction not answered by then counts as unanswered (the measure)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=4, help="browser tabs working at once")
    parser.add_argument("--interactions", type=int, default=200, help="in total, over all sessions")
    parser.add_argument("--photos", type=int, default=6, help="distinct validation photos the sessions upload")
    parser.add_argument("--growth-mib", type=float, default=64.0, help="allowed growth after the first 50")
    parser.add_argument("--repo", type=Path, default=ROOT, help="the app to serve")
    return parser.parse_args()


def train_runs(workspace: Path, seeds: tuple[int, ...] = (1, 2)) -> None:
    """Two finished tiny runs in `workspace`, so a session has a run to choose."""
    env = {**os.environ, "TRANSFER_LAB_WORKSPACE": str(workspace)}
    for seed in seeds:
        done = subprocess.run(
            [sys.executable, "-m", "lab", "train", "--data", str(FILTERED), "--backbone", "mobilenet", "--weights",
             str(TINY), "--strategy", "feature-extractor", "--image-size", "128", "--epochs", "1", "--batch-size",
             "10", "--train-size", "40", "--validation-size", "20", "--seed", str(seed), "--json"],
            cwd=ROOT, env=env, capture_output=True, text=True, check=True)
        print("trained", json.loads(done.stdout.splitlines()[-1])["run_dir"].rsplit("/", 1)[-1], flush=True)


async def idle(page) -> None:
    """The rerun an action caused has begun and ended (as the browser tests wait)."""
    await page.wait_for_timeout(150)
    await page.locator(f"{APP}[data-test-script-state='notRunning']").wait_for(state="attached")


async def choose_run(page, step: int) -> None:
    await page.get_by_test_id("stSelectbox").filter(has_text="Run").first.click()
    options = page.get_by_role("option")
    await options.nth(step % await options.count()).click()
    await idle(page)


async def predict_photo(page, photo: Path) -> None:
    """The previous photo removed, this one uploaded, and its answer shown (its caption under the picture)."""
    remove = page.get_by_test_id("stFileChipDeleteBtn")
    if await remove.count():
        await remove.first.locator("button").click()
        await remove.first.wait_for(state="detached")  # the removal reached the page before the next upload
        await idle(page)
    await page.get_by_test_id("stFileUploaderDropzoneInput").first.set_input_files(str(photo))
    await page.get_by_test_id("stFileChip").filter(has_text=photo.name).wait_for(state="attached")
    answered = page.get_by_test_id("stImage").filter(has_text=photo.name).first
    refused = page.get_by_test_id("stAlert").filter(has_text=photo.name).first  # a message is an answer too
    await answered.or_(refused).wait_for(state="visible")
    await idle(page)


async def move_threshold(page, step: int) -> None:
    await page.get_by_role("slider").first.focus()
    await page.keyboard.press("ArrowRight" if step % 4 < 2 else "ArrowLeft")
    await idle(page)


INTERACTIONS = {  # (page, step, photo) -> the interaction, done
    "run": lambda page, step, photo: choose_run(page, step),
    "photo": lambda page, step, photo: predict_photo(page, photo),
    "threshold": lambda page, step, photo: move_threshold(page, step),
}


class Load:
    """Hands out the interactions, records their latencies, and prints the server's memory every 50."""

    def __init__(self, total: int, server_pid: int) -> None:
        self.left, self.done, self.server_pid = total, 0, server_pid
        self.latencies: dict[str, list[float]] = {kind: [] for kind in KINDS}
        self.unanswered: dict[str, int] = {kind: 0 for kind in KINDS}
        self.memory: dict[int, float] = {0: rss_mib(server_pid)}
        print(f"server memory at the start: {self.memory[0]:.0f} MiB", flush=True)

    def take(self) -> bool:
        if self.left <= 0:
            return False
        self.left -= 1
        return True

    def record(self, kind: str, seconds: float) -> None:
        self.latencies[kind].append(seconds)
        self.done += 1
        if self.done % 50 == 0:
            self.memory[self.done] = rss_mib(self.server_pid)
            print(f"after {self.done:3d} interactions: server memory {self.memory[self.done]:.0f} MiB", flush=True)


async def session(browser, url: str, number: int, photos: list[Path], load: Load) -> None:
    page = await browser.new_page(viewport={"width": 1440, "height": 1000})
    page.set_default_timeout(180_000)
    await page.goto(f"{url}/predict")
    await idle(page)
    step = number  # sessions start at different points of the cycle
    while load.take():
        kind = KINDS[step % len(KINDS)]
        began = time.perf_counter()
        try:
            await asyncio.wait_for(INTERACTIONS[kind](page, step, photos[(step * 7 + number) % len(photos)]),
                                   ANSWER_SECONDS)
        except (asyncio.TimeoutError, PlaywrightError) as error:  # unanswered: counted, and the tab starts again
            shot = Path(tempfile.gettempdir()) / f"bench-load-session-{number}-{step}.png"
            await page.screenshot(path=str(shot))
            print(f"session {number}: its {kind} interaction (step {step - number}) got no answer within "
                  f"{ANSWER_SECONDS} s ({type(error).__name__}); the page as it was: {shot}", flush=True)
            load.unanswered[kind] += 1
            await page.goto(f"{url}/predict")
            await idle(page)
        else:
            load.record(kind, time.perf_counter() - began)
        step += 1
    await page.close()


async def drive(url: str, args: argparse.Namespace, server_pid: int) -> Load:
    from playwright.async_api import async_playwright

    validation = sorted((FILTERED / "validation").glob("*/*.jpg"))
    photos = validation[:: len(validation) // args.photos][: args.photos]
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                                   args=["--no-sandbox", "--disable-gpu"])
        load = Load(args.interactions, server_pid)
        await asyncio.gather(*(session(browser, url, n, photos, load) for n in range(args.sessions)))
        await browser.close()
    load.memory[load.done] = rss_mib(server_pid)
    return load


def report(load: Load, sessions: int, growth_mib: float) -> bool:
    everything = [seconds for kind in KINDS for seconds in load.latencies[kind]]
    for label, values in [*load.latencies.items(), ("all", everything)]:
        if len(values) >= 2:
            p95 = statistics.quantiles(values, n=20, method="inclusive")[18]  # never beyond the largest
            print(f"{label:9s} {len(values):4d} interactions: p50 {statistics.median(values):.3f} s, "
                  f"p95 {p95:.3f} s, max {max(values):.3f} s")
    missed = sum(load.unanswered.values())
    print(f"unanswered within {ANSWER_SECONDS} s: {missed} of {load.done + missed} interactions ("
          + ", ".join(f"{kind} {count}" for kind, count in load.unanswered.items()) + ")")
    if load.done < 100:
        print(f"{load.done} interactions: too few to judge growth after the first 50 (run 100 or more)")
        return not missed
    baseline = load.memory[50]
    growth = load.memory[load.done] - baseline
    within = growth <= growth_mib
    print(f"{sessions} sessions, {load.done} interactions: server memory {load.memory[0]:.0f} MiB at the start, "
          f"{baseline:.0f} MiB after 50, {load.memory[load.done]:.0f} MiB at the end: {growth:+.0f} MiB "
          f"({'within' if within else 'OVER'} the {growth_mib:.0f} MiB bound)")
    return within and not missed


def main() -> None:
    args = arguments()
    print(os.popen("uptime").read().strip())
    with tempfile.TemporaryDirectory(prefix="bench-load-") as folder:
        workspace = Path(folder)
        train_runs(workspace)
        server, url = serve(args.repo, workspace)
        try:
            load = asyncio.run(drive(url, args, server.pid))
        finally:
            server.terminate()
            server.wait(10)
    within = report(load, args.sessions, args.growth_mib)
    print(os.popen("uptime").read().strip())
    sys.exit(0 if within else 1)


if __name__ == "__main__":
    main()
