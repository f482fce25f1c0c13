"""Done when of issue 28: after a replay, a study and a run of one's own, every page reads runs by their names:
no run id (a run folder's name) and no "None" anywhere in the text a person sees, the sidebar included."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from playwright.sync_api import expect

from lab.runs.store import Run
from tests.conftest import FinishedReplay, FinishedStudy

NONE_WORD = re.compile(r"\bNone\b")


def seen(app) -> str:
    """The visible text of the main area and the sidebar (collapsed expanders and hidden tabs are not seen)."""
    return app.main_text() + "\n" + app.page.get_by_test_id("stSidebar").inner_text()


def assert_readable(app, run_ids: list[str], where: str) -> None:
    text = seen(app)
    assert not [run_id for run_id in run_ids if run_id in text], f"{where} shows run ids:\n{text}"
    found = NONE_WORD.search(text)
    assert found is None, f"{where} shows None: ...{text[max(0, found.start() - 120):found.end() + 60]}..."


def pick(app, box: str, option: str) -> None:
    """Choose `option` in the multiselect labelled `box`."""
    app.page.get_by_test_id("stMultiSelect").filter(has_text=box).locator("input").click()
    app.page.get_by_role("option").filter(has_text=option).first.click()
    app.wait()
    app.page.get_by_test_id("stHeading").first.click()  # the list closed again


def test_no_page_shows_a_run_id_or_none_after_a_replay_a_study_and_a_run(
    fresh_app, keras_replay_tiny: FinishedReplay, tiny_study: FinishedStudy, tiny_run: Path, tmp_path: Path
) -> None:
    app = fresh_app  # a server of its own: its workspace holds exactly these runs
    workspace = app.server.workspace
    for folder in ("replays", "manifests", "runs"):
        shutil.copytree(keras_replay_tiny.workspace / folder, workspace / folder, dirs_exist_ok=True)
    tiny_study.copy_into(workspace)
    shutil.copytree(tiny_run, workspace / "runs" / tiny_run.name)
    run_ids = sorted(path.name for path in (workspace / "runs").iterdir() if path.is_dir())
    assert len(run_ids) == 5  # the replay's two rows, the study's two sizes, the run

    app.page.set_viewport_size({"width": 1440, "height": 3000})  # whole pages in the screenshots
    app.open()
    for path in [*app.nav_paths(), "predict?demo=1"]:
        app.open(path)
        app.assert_ok()
        app.screenshot(tmp_path / f"{path.replace('?', '-') or 'home'}.png")
        assert_readable(app, run_ids, f"/{path}")

    names = [Run(workspace / "runs" / run_id).name() for run_id in run_ids]
    assert any(f"Model: {name} (test " in seen(app) for name in names)  # the demo's model line: the best run's name
    app.open("train")  # the check sees ids where they are meant to be: the run's folder, under technical details
    app.open_expander("Technical details: the run's folder and log")
    expect(app.page.get_by_text("Run folder:", exact=False)).to_be_visible()
    assert [run_id for run_id in run_ids if run_id in seen(app)]

    app.open("compare")  # two runs picked: curves' legends, what differs, each run's evaluation
    pick(app, "Runs to compare", "Keras replay")
    pick(app, "Runs to compare", "MobileNet features · 40 photos")
    expect(app.page.get_by_text("What differs")).to_be_visible()
    app.assert_ok()
    app.screenshot(tmp_path / "compare-two.png")
    assert_readable(app, run_ids, "/compare with two runs picked")
    assert "Metric changes are against the first run picked, MobileNetV2, standing in for VGG16" in seen(app)
