"""The Tutorials page in AppTest: both replays offered with their time and what stands in on this machine (the
cards drawn before a slow estimate arrives), the tutorial chosen on the home page first, and a finished replay's
table (published beside measured), its curves and its findings paragraph; a replay in the queue cancelled as one."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from lab.replays.catalog import FIVE_MODEL, KERAS
from lab.runs.jobs import CANCELLED
from lab.runs.status import QUEUED, STOPPED
from lab.runs.store import RunStore
from tests.apptest import open_page
from tests.conftest import FinishedReplay

ESTIMATE_TIMEOUT_S = 180  # a fresh look at the Keras tutorial's 20,000 photos, on two shared cores
PENDING = ":material/hourglass_top: Estimating the time on this machine"


def titles(app: AppTest) -> list[str]:
    return [m.value for m in app.markdown if m.value.startswith("**") and "**Time:**" not in m.value]


def times(app: AppTest) -> list[str]:
    return [m.value for m in app.markdown if m.value.startswith("**Time:** ")]


def with_times(app: AppTest) -> AppTest:
    """The page run again (as its one-second poll does) until both cards show their time."""
    deadline = time.monotonic() + ESTIMATE_TIMEOUT_S
    while len(times(app)) < 2 and time.monotonic() < deadline:
        time.sleep(1)
        app.run()
        assert not app.exception, app.exception
    return app


def test_both_tutorials_are_offered_with_their_time_and_what_stands_in(workspace: Path) -> None:
    app = with_times(open_page("replay"))
    assert app.title[0].value == "Reproduce a tutorial"
    assert titles(app) == [f"**{KERAS.title}**", f"**{FIVE_MODEL.title}**"]
    assert all(line.endswith(" on this machine") or "time unknown" in line for line in times(app)), times(app)
    assert [r.options for r in app.radio] == [["Quick", "As published"]] * 2  # no fixed time: the Time line says it
    assert [r.value for r in app.radio] == ["quick", "quick"]  # the variant that fits a lesson comes first
    notes = [c.value for c in app.caption if c.value.startswith("Quick: ")]
    assert len(notes) == 2 and all("MobileNetV2" in note and "stands in" in note for note in notes), notes
    assert [n.value for n in app.number_input] == [1, 1]  # repeats offered, one run per row by default
    assert [b.label for b in app.button if b.label == "Start this replay"] == ["Start this replay"] * 2
    assert "No replay yet" in app.info[0].value


def test_the_cards_show_before_a_slow_estimate_and_its_time_follows(workspace: Path) -> None:
    """A fresh scan cache: the Keras tutorial's estimate reads its 20,000 photos first, which no page may wait for."""
    (workspace / "cache" / "scan.sqlite").unlink()
    app = open_page("replay")
    assert titles(app) == [f"**{KERAS.title}**", f"**{FIVE_MODEL.title}**"]
    assert [b.label for b in app.button if b.label == "Start this replay"] == ["Start this replay"] * 2
    keras_card = app.columns[0]
    assert any(c.value.startswith(PENDING) for c in keras_card.caption), "the Keras card waits for its time"
    assert not [m for m in keras_card.markdown if m.value.startswith("**Time:** ")]

    with_times(app)

    assert not any(c.value.startswith(PENDING) for c in app.caption)
    assert len(times(app)) == 2


def test_the_tutorial_chosen_on_the_home_page_comes_first_and_is_marked(workspace: Path) -> None:
    app = open_page("replay", run=False)
    app.query_params["replay"] = FIVE_MODEL.name  # what the home page's "Reproduce it" of the five-model card sets
    app.run()
    assert not app.exception, app.exception
    assert titles(app)[:2] == [f"**{FIVE_MODEL.title}**", f"**{KERAS.title}**"]
    marks = [m.value for m in app.markdown if "The one you chose" in m.value]
    assert len(marks) == 1
    values = [m.value for m in app.markdown]
    assert values.index(marks[0]) == values.index(f"**{FIVE_MODEL.title}**") + 1  # inside the chosen card


def test_a_link_naming_no_tutorial_says_so_and_offers_both(workspace: Path) -> None:
    app = open_page("replay", run=False)
    app.query_params["replay"] = "*vgg*"
    app.run()
    assert not app.exception, app.exception
    assert [w.value for w in app.warning][0].startswith('There is no tutorial called "\\*vgg\\*"')  # shown as text
    assert titles(app) == [f"**{KERAS.title}**", f"**{FIVE_MODEL.title}**"]
    assert not any("The one you chose" in m.value for m in app.markdown)


def test_a_finished_replay_shows_its_table_curves_and_findings(workspace: Path,
                                                              keras_replay_tiny: FinishedReplay) -> None:
    for folder in ("runs", "replays"):  # the table needs the runs and the record, nothing else
        shutil.copytree(keras_replay_tiny.workspace / folder, workspace / folder)
    app = open_page("replay")
    frame = app.dataframe[0].value
    assert list(frame["experiment"]) == [f"MobileNetV2, standing in for VGG16: {experiment.method}"
                                         for experiment in KERAS.experiments]  # what ran, never only the tutorial's
    assert list(frame["published (validation)"]) == ["93.0%", "93.0%"]
    assert list(frame["status"]) == ["finished", "finished"] and list(frame["training images"]) == ["56", "20"]
    # each accuracy with its 95% interval for the 12 test photos: "91.7% (64.6-98.5%)"
    assert frame["test here"].str.fullmatch(r"\d{1,3}\.\d% \(\d{1,3}\.\d-\d{1,3}\.\d%\)").all(), frame["test here"]
    assert app.expander[0].label.startswith("Keras replay · tiny · started ")  # no record name, no run id
    found = [m.value for m in app.markdown if m.value.startswith("**What we found:** ")]
    assert found == ["**What we found:** Of the tutorial's 1 findings, 0 held on these photos, 0 did not and 1 is "
                     "too close to call with 12 test photos."]
    verdict = next(m.value for m in app.markdown if m.value.startswith("⚖️ **Too close to call:** "))
    assert frame["test here"][1].split(" (")[0] in verdict and "McNemar's exact test, two-sided" in verdict
    shown = " ".join(m.value for m in app.markdown) + " ".join(c.value for c in app.caption)
    assert not any(row["run_id"] in shown for row in keras_replay_tiny.planned.rows)
    assert len(app.get("plotly_chart")) == 1  # every row's learning curves, overlaid
    assert [b.proto.label for b in app.get("download_button")] == ["Download the report (HTML, opens offline)"]


def test_a_replay_in_the_queue_is_cancelled_as_one(workspace: Path, keras_replay_tiny: FinishedReplay) -> None:
    for folder in ("runs", "replays"):
        shutil.copytree(keras_replay_tiny.workspace / folder, workspace / folder)
    store = RunStore(workspace / "runs")
    runs = [store.get(row["run_id"]) for row in keras_replay_tiny.planned.rows]
    for run in runs:  # back in the queue, as just after "Start this replay" (this page starts no worker)
        run.update(state=QUEUED, started=None, ended=None)
    app = open_page("replay")
    assert any(c.value.startswith("In the queue: the Keras replay \\(2 runs waiting") for c in app.caption), \
        [c.value for c in app.caption]

    next(b for b in app.button if b.label == "Cancel the whole Keras replay").click().run()

    assert [(run.status().state, run.status().error) for run in runs] == [(STOPPED, CANCELLED)] * 2
    assert not any(c.value.startswith("In the queue:") for c in app.caption)
