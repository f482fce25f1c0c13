"""The Tutorials page in AppTest: both replays offered with their time and what stands in on this machine, and a
finished replay's table (published beside measured), its curves and its findings paragraph."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.replays.catalog import EVERY_ROW, KERAS, Variant
from lab.replays.plan import plan_replay, run_replay
from lab.settings import load_settings
from tests import corpus
from tests.apptest import open_page
from tests.conftest import MOBILENET_V2, SHARED, WEIGHTS

OFFLINE = {"vgg16": ["none"], "mobilenet_v2": ["none", str(MOBILENET_V2)], "resnet50": ["none"],
           "efficientnet_b0": ["none"]}


@pytest.fixture(scope="module")
def finished_replay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A workspace holding the Keras tutorial replayed on 80 real photos (one epoch per row)."""
    root = tmp_path_factory.mktemp("replay-page")
    photos = corpus.copy_of_sample(root / "pets", 40)
    tiny = Variant("tiny", validation=12, test=12, note="tiny: a test's few photos, one epoch", changes={
        EVERY_ROW: {"epochs": 1, "batch_size": 8, "validation_size": None, "image_size": 96},
        "1k": {"train_size": 20}})
    replay = dataclasses.replace(KERAS, variants={"tiny": tiny})
    with pytest.MonkeyPatch.context() as patch:
        for name, value in (("WORKSPACE", root / "workspace"), ("DATA_DIRS", SHARED / "data"),
                            ("WEIGHTS_DIR", WEIGHTS)):
            patch.setenv(f"TRANSFER_LAB_{name}", str(value))
        settings = load_settings()
        run_replay(plan_replay(replay, "tiny", settings, data=str(photos), available=OFFLINE), settings)
    yield root / "workspace"


def test_both_tutorials_are_offered_with_their_time_and_what_stands_in(workspace: Path) -> None:
    app = open_page("replay")
    assert app.title[0].value == "Reproduce a tutorial"
    titles = [m.value for m in app.markdown if m.value.startswith("**") and "**Time:**" not in m.value]
    assert titles == [f"**{KERAS.title}**", "**Five ways to classify cats and dogs: from a small CNN to fine-tuned "
                                            "VGG16**"]
    assert len([m for m in app.markdown if m.value.startswith("**Time:** ")]) == 2
    assert [r.value for r in app.radio] == ["quick", "quick"]  # the variant that fits a lesson comes first
    notes = [c.value for c in app.caption if c.value.startswith("Quick: ")]
    assert len(notes) == 2 and all("mobilenet_v2" in note and "stands in" in note for note in notes), notes
    assert [b.label for b in app.button if b.label == "Start this replay"] == ["Start this replay"] * 2
    assert "No replay yet" in app.info[0].value


def test_a_finished_replay_shows_its_table_curves_and_findings(workspace: Path, finished_replay: Path) -> None:
    for folder in ("runs", "replays"):  # the table needs the runs and the record, nothing else
        shutil.copytree(finished_replay / folder, workspace / folder)
    app = open_page("replay")
    frame = app.dataframe[0].value
    assert list(frame["experiment"]) == [experiment.label for experiment in KERAS.experiments]
    assert list(frame["published (validation)"]) == ["93.0%", "93.0%"]
    assert list(frame["status"]) == ["finished", "finished"] and list(frame["training images"]) == ["56", "20"]
    assert frame["test here"].str.fullmatch(r"\d{1,3}\.\d%").all(), frame["test here"]
    paragraph = next(m.value for m in app.markdown if m.value.startswith("This replay reproduced "))
    assert frame["test here"][0] in paragraph and "McNemar p" in paragraph
    assert len(app.get("plotly_chart")) == 1  # every row's learning curves, overlaid
