"""A run whose worker stopped answering, in a real browser: the sidebar and the Train page say "not responding",
and the page's Stop ends it (SIGTERM, then SIGKILL) and shows why it failed."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from lab.runs import jobs
from lab.runs.liveness import Timing
from lab.runs.store import RunStore
from lab.training.config import TrainConfig

KILLED_WITHIN_MS = (Timing().kill_grace + 20) * 1000  # SIGKILL a grace period after SIGTERM, then a poll


@pytest.fixture
def deaf():
    """A live process that ignores SIGTERM: a worker stuck where no signal handler runs."""
    ignore_sigterm = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(300)"
    process = subprocess.Popen([sys.executable, "-c", ignore_sigterm])
    yield process
    process.kill()
    process.wait()


def test_a_silent_run_reads_not_responding_and_stop_ends_it(fresh_app, deaf, tiny_config: TrainConfig,
                                                            tmp_path: Path) -> None:
    app = fresh_app  # a server of its own: the failed run it leaves must not show on the shared app's pages
    run = RunStore(app.server.workspace / "runs").create(tiny_config, running_in=jobs.process_identity(deaf.pid))
    two_minutes_ago = datetime.now().astimezone() - timedelta(minutes=2)
    run.update(heartbeat=two_minutes_ago.isoformat(timespec="milliseconds"))  # its last beat
    app.open("train")
    sidebar, main = app.page.get_by_test_id("stSidebar"), app.page.get_by_test_id("stMain")
    expect(sidebar.get_by_text(f"Training: {run.name()} (not responding)")).to_be_visible()
    expect(main.get_by_text("not responding: no sign of life from its worker", exact=False)).to_be_visible()
    main.get_by_text("not responding", exact=False).first.scroll_into_view_if_needed()
    app.screenshot(tmp_path / "not-responding.png")

    main.get_by_role("button", name="Stop training").click()
    failed = main.get_by_test_id("stAlertContentError")
    expect(failed.get_by_text("stopped with SIGKILL", exact=False)).to_be_visible(timeout=KILLED_WITHIN_MS)
    expect(failed).to_contain_text(re.compile(r"failed: not responding for 1\d\d s"))  # 2 min and the time since
    expect(sidebar.get_by_text("Training: nothing running")).to_be_visible()
    assert deaf.wait(timeout=5) < 0 and run.status().state == "failed"
    app.screenshot(tmp_path / "killed.png")
    assert app.page.get_by_test_id("stException").count() == 0  # the failure's red box is the run's, not the page's
