"""The Tutorials page in AppTest: both replays offered with their time and what stands in on this machine, and a
finished replay's table (published beside measured), its curves and its findings paragraph; a replay in the
queue cancelled as one."""

from __future__ import annotations

import shutil
from pathlib import Path

from lab.replays.catalog import KERAS
from lab.runs.jobs import CANCELLED
from lab.runs.status import QUEUED, STOPPED
from lab.runs.store import RunStore
from tests.apptest import open_page
from tests.conftest import FinishedReplay


def test_both_tutorials_are_offered_with_their_time_and_what_stands_in(workspace: Path) -> None:
    app = open_page("replay")
    assert app.title[0].value == "Reproduce a tutorial"
    titles = [m.value for m in app.markdown if m.value.startswith("**") and "**Time:**" not in m.value]
    assert titles == [f"**{KERAS.title}**", "**Five ways to classify cats and dogs: from a small CNN to fine-tuned "
                                            "VGG16**"]
    assert len([m for m in app.markdown if m.value.startswith("**Time:** ")]) == 2
    assert [r.value for r in app.radio] == ["quick", "quick"]  # the variant that fits a lesson comes first
    notes = [c.value for c in app.caption if c.value.startswith("Quick: ")]
    assert len(notes) == 2 and all("MobileNetV2" in note and "stands in" in note for note in notes), notes
    assert [n.value for n in app.number_input] == [1, 1]  # repeats offered, one run per row by default
    assert [b.label for b in app.button if b.label == "Start this replay"] == ["Start this replay"] * 2
    assert "No replay yet" in app.info[0].value


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
    assert frame["test here"].str.fullmatch(r"\d{1,3}\.\d%").all(), frame["test here"]
    assert app.expander[0].label.startswith("Keras replay · tiny · started ")  # no record name, no run id
    found = [m.value for m in app.markdown if m.value.startswith("**What we found:** ")]
    assert found == ["**What we found:** Of the tutorial's 1 findings, 0 held on these photos, 0 did not and 1 is "
                     "too close to call with 12 test photos."]
    verdict = next(m.value for m in app.markdown if m.value.startswith("⚖️ **Too close to call:** "))
    assert frame["test here"][1] in verdict and "McNemar's exact test, two-sided" in verdict
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
