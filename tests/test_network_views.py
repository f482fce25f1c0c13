"""The Dataset page's views through a network (AppTest, a 60-photo dataset, the tiny MobileNet, PCA): the photo map,
the photos a selection holds, the labels that look wrong and the clean manifest, near-duplicates across splits.
Class folder names are hostile ("<u>cats"): they must read as text."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lab.data import list_manifests, load_manifest
from lab.settings import load_settings
from tests.apptest import open_page, shown
from tests.conftest import FILTERED, TINY_MOBILENET

CATS = "<u>cats"
NETWORK = ("mobilenet", str(TINY_MOBILENET))
MISLABELLED = 3  # dog photos put in the cats' training folder


def small_dataset(root: Path) -> Path:
    """train: 20 cats (3 of them dogs) and 20 dogs; validation: 10 each; a copy of a training dog in validation."""
    folder = root / "pets"
    for split, count in (("train", 20), ("validation", 10)):
        for source, target in (("cats", CATS), ("dogs", "dogs")):
            (folder / split / target).mkdir(parents=True)
            for path in sorted((FILTERED / split / source).iterdir())[:count]:
                shutil.copy(path, folder / split / target / path.name)
    for path in sorted((FILTERED / "train" / "dogs").iterdir())[40:40 + MISLABELLED]:
        shutil.copy(path, folder / "train" / CATS / path.name)
    leaked = sorted((FILTERED / "train" / "dogs").iterdir())[0]
    shutil.copy(leaked, folder / "validation" / "dogs" / f"copy_{leaked.name}")
    return folder


@pytest.fixture
def dataset(workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("TRANSFER_LAB_DATA_DIRS", str(data))
    return small_dataset(data)


def scanned(folder: Path) -> AppTest:
    app = open_page("dataset", timeout=300)
    app.text_input[0].input(str(folder)).run()
    button(app, "Scan").click().run()
    assert not app.exception, app.exception
    return app


def button(app: AppTest, label: str):
    matches = [b for b in app.button if b.label == label]
    assert matches, f"no button {label!r}; buttons: {[b.label for b in app.button]}"
    return matches[0]


def page_text(app: AppTest) -> str:
    parts = [e.value for kind in ("markdown", "caption", "warning", "success", "info", "error", "text")
             for e in getattr(app, kind)]
    parts += [c.label for c in app.checkbox]
    return "\n".join(map(str, parts))


@pytest.mark.slow
def test_the_map_draws_one_point_per_photo(dataset: Path) -> None:
    app = scanned(dataset)
    app.selectbox(key="map_network").set_value(NETWORK)
    app.radio(key="map_method").set_value("pca").run()
    button(app, "Draw the map").click().run()
    assert not app.exception and not app.error, (app.exception, [e.value for e in app.error])
    [chart] = [c for c in app.get("plotly_chart") if "scattergl" in c.proto.spec]
    figure = json.loads(chart.proto.spec)
    points = [i for trace in figure["data"] for i in trace["customdata"]]
    assert sorted(points) == list(range(64))  # 60 photos, 3 moved dogs, 1 leaked copy
    names = [trace["name"] for trace in figure["data"]]
    assert names == ["&lt;u&gt;cats", "dogs"]  # shown by Plotly as "<u>cats", never underlined
    assert [b for b in app.get("download_button") if "Download the map" in b.proto.label]
    app.radio(key="map_colour").set_value("split").run()  # the same map, from the cache, by split
    figure = json.loads([c for c in app.get("plotly_chart") if "scattergl" in c.proto.spec][0].proto.spec)
    assert [trace["name"] for trace in figure["data"]] == ["train", "validation"]


def test_a_selection_shows_its_photos_captioned_as_text(tmp_path: Path) -> None:
    def gallery() -> None:
        from app_pages.photo_map_views import selected_gallery, selected_indices
        from lab.inspection.photo_map import MapPoint
        from tests.conftest import FILTERED

        photos = sorted((FILTERED / "train" / "cats").iterdir())[:30]
        points = [MapPoint(i, str(p), "<u>cats", "train", 0.0, 0.0) for i, p in enumerate(photos)]
        event = {"selection": {"points": [{"customdata": 2}, {"customdata": [5]}, *[{"customdata": i} for i in
                                                                                    range(30)]]}}
        selected_gallery(points, selected_indices(event))

    app = AppTest.from_function(gallery, default_timeout=60).run()
    assert not app.exception, app.exception
    assert "30 photos selected" in app.markdown[0].value and "first 24" in app.markdown[0].value
    captions = [caption for image in app.get("image") for caption in image.captions]
    assert len(captions) == 24
    assert captions[0] == f"{sorted((FILTERED / 'train' / 'cats').iterdir())[2].name} · <u>cats"


@pytest.mark.slow
def test_the_wrong_labels_are_listed_and_a_clean_manifest_leaves_the_ticked_ones_out(dataset: Path) -> None:
    app = scanned(dataset)
    app.selectbox(key="labels_network").set_value(NETWORK).run()
    button(app, "Check the labels").click().run()
    assert not app.exception and not app.error, (app.exception, [e.value for e in app.error])
    leave = [box for box in app.checkbox if box.key and box.key.startswith("label_leave_")]
    assert leave and all(box.value for box in leave)
    text = shown(page_text(app))
    assert "look mislabelled" in text and "labelled **<u>cats** → looks like **dogs**" in text
    leave[0].uncheck().run()  # keep the first: only the others are left out
    left_out = len(leave) - 1
    [name] = [box for box in app.text_input if box.label == "Clean manifest name"]
    assert name.value == f"pets-without-{left_out}-label-issues"
    button(app, "Save a clean manifest").click().run()
    assert not app.exception and not app.error
    settings = load_settings()
    assert list_manifests(settings) == [name.value]
    clean = load_manifest(name.value, settings)
    assert sum(len(records) for records in clean.splits.values()) == 63 - left_out  # one of the exact copies dropped, as a run drops it
    assert len(list((dataset / "train" / CATS).iterdir())) == 20 + MISLABELLED  # the photos untouched
    assert "Compare's paired test" in page_text(app)
    button(app, "Train the same on it").click().run()
    assert app.session_state["train_data"] == name.value
    train = open_page("train", timeout=300, run=False)  # AppTest does not follow switch_page: open it as it would
    train.session_state["train_data"] = name.value
    train.run()
    assert not train.exception, train.exception
    assert train.selectbox(key="train_form_data").value == name.value


@pytest.mark.slow
def test_near_duplicates_across_splits_are_named_as_leakage(dataset: Path) -> None:
    app = scanned(dataset)
    app.selectbox(key="near_network").set_value(NETWORK).run()
    button(app, "Find near-duplicates").click().run()
    assert not app.exception and not app.error, (app.exception, [e.value for e in app.error])
    warnings = shown("\n".join(w.value for w in app.warning))
    assert "near-duplicate pair across splits" in warnings or "near-duplicate pairs across splits" in warnings
    leaked = sorted((FILTERED / "train" / "dogs").iterdir())[0].name
    assert f"copy_{leaked}\ndogs · validation" in page_text(app)


@pytest.mark.slow
def test_compare_maps_a_runs_photos_coloured_by_its_mistakes(run_pair: Path, workspace: Path) -> None:
    shutil.copytree(run_pair, load_settings().runs_dir)
    shutil.copytree(run_pair.parent / "manifests", load_settings().manifests_dir, dirs_exist_ok=True)
    run_id = sorted(p.name for p in load_settings().runs_dir.iterdir() if not p.name.startswith("."))[-1]
    app = open_page("compare", timeout=300)
    app.multiselect(key="compare_selected").set_value([run_id]).run()
    app.radio(key="run_map_method").set_value("pca").run()
    button(app, "Draw the run's map").click().run()
    assert not app.exception and not app.error, (app.exception, [e.value for e in app.error])
    [chart] = [c for c in app.get("plotly_chart") if "scattergl" in c.proto.spec]
    names = {trace["name"] for trace in json.loads(chart.proto.spec)["data"]}
    assert "no answer" in names and names <= {"no answer", "right", "wrong"}
    assert "answered by the run" in page_text(app)
