"""The photo map: a seeded projection of real photos' features, JSON rows with finite coordinates, a Plotly figure
whose points carry their index and escaped names, an HTML file that opens offline and shows each photo on hover,
and `lab map` end to end with the tiny MobileNet on a folder and on a run."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from lab.data.records import ImageRecord
from lab.data.scan import scan
from lab.errors import LabError
from lab.inspection.photo_features import photo_features
from lab.inspection.photo_map import MapPoint, hover_text, map_html, map_points, map_rows, photo_map_figure
from lab.inspection.projection import project
from lab.settings import load_settings
from tests import corpus
from tests.conftest import SHARED, TINY_MOBILENET, WEIGHTS

HOSTILE = '<img src=x onerror=alert(1)> "cat" & co.jpg'


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[ImageRecord], np.ndarray]:
    """The planted dataset's records (one file with a hostile name among them) and their tiny-MobileNet features."""
    root = tmp_path_factory.mktemp("map")
    pets = root / "pets"
    corpus.planted_copies(pets)
    (pets / "train" / "cats" / "cat.0.jpg").rename(pets / "train" / "cats" / HOSTILE)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TRANSFER_LAB_WORKSPACE", str(root / "workspace"))
        patch.setenv("TRANSFER_LAB_DATA_DIRS", str(SHARED / "data"))
        patch.setenv("TRANSFER_LAB_WEIGHTS_DIR", str(WEIGHTS))
        settings = load_settings()
        records = scan(pets, settings=settings).records
        return records, photo_features(records, "mobilenet", weights=str(TINY_MOBILENET), settings=settings,
                                       image_size=128)


def test_pca_gives_each_photo_a_point_the_same_for_the_same_seed(photos) -> None:
    records, features = photos
    first = project(features, method="pca", seed=0)
    assert first.shape == (len(records), 2) and np.isfinite(first).all()
    assert np.array_equal(first, project(features, method="pca", seed=0))
    assert first[:, 0].std() > 0 and first[:, 1].std() > 0


@pytest.mark.slow
def test_umap_gives_each_photo_a_point_the_same_for_the_same_seed(photos) -> None:
    records, features = photos
    first = project(features, seed=0)
    assert first.shape == (len(records), 2) and np.isfinite(first).all()
    assert np.array_equal(first, project(features, seed=0))
    assert not np.array_equal(first, project(features, seed=1))


def test_an_unknown_projection_is_refused() -> None:
    with pytest.raises(LabError, match="--projection"):
        project(np.ones((5, 3)), method="tsne")


def test_the_json_has_one_row_per_photo_with_finite_coordinates_and_the_answers_given(photos) -> None:
    records, features = photos
    answers = {records[0].digest: "dogs", records[1].digest: records[1].label}
    rows = map_rows(map_points(records, project(features, method="pca"), predictions=answers))
    assert len(rows) == len(records) and [row["path"] for row in rows] == [r.path for r in records]
    assert all(np.isfinite([row["x"], row["y"]]).all() for row in rows)
    assert {row["split"] for row in rows} == {"train", "validation"}
    assert (rows[0]["prediction"], rows[0]["mistake"]) == ("dogs", records[0].label != "dogs")
    assert (rows[1]["mistake"], rows[2]["prediction"], rows[2]["mistake"]) == (False, None, None)
    assert "prediction" not in map_rows(map_points(records, project(features, method="pca")))[0]


def test_each_point_carries_its_index_and_its_names_escaped(photos) -> None:
    records, features = photos
    points = map_points(records, project(features, method="pca"))
    figure = photo_map_figure(points, "class")
    indices = sorted(index for trace in figure.data for index in trace.customdata)
    assert indices == list(range(len(records)))
    for trace in figure.data:
        for index, text in zip(trace.customdata, trace.hovertext):
            assert records[index].label == trace.name and text == hover_text(points[index])
            assert points[index].path == records[index].path
    hostile = next(text for trace in figure.data for text in trace.hovertext if "onerror" in text)
    assert "<img" not in hostile and "&lt;img src=x onerror=alert(1)&gt; &#34;cat&#34; &amp; co.jpg" in hostile


def test_a_hostile_label_and_prediction_are_escaped_too() -> None:
    point = MapPoint(0, "a.jpg", "<b>cats</b>", "train", 0.0, 0.0, prediction="<a href='x'>dogs</a>")
    text = hover_text(point)
    assert "<b>cats" not in text and "<a " not in text and "&lt;a href=&#x27;x&#x27;&gt;dogs&lt;/a&gt;" in text


def test_colours_group_the_points_by_what_is_asked(photos) -> None:
    records, features = photos
    answers = {record.digest: "cats" for record in records}
    points = map_points(records, project(features, method="pca"), predictions=answers,
                        scores=np.linspace(0, 1, len(records)))
    assert {trace.name for trace in photo_map_figure(points, "split").data} == {"train", "validation"}
    assert {trace.name for trace in photo_map_figure(points, "mistake").data} == {"right", "wrong"}
    scored = photo_map_figure(points, "score", score_name="looks wrong").data
    assert len(scored) == 1 and len(scored[0].marker.color) == len(records)
    with pytest.raises(LabError, match="--colour"):
        photo_map_figure(points, "size")
    with pytest.raises(LabError, match="score"):
        photo_map_figure(map_points(records, project(features, method="pca")), "score")


def test_the_html_opens_offline_and_shows_each_photo_on_hover(photos) -> None:
    records, features = photos
    page = map_html(map_points(records, project(features, method="pca")), "split")
    assert not re.search(r"<script[^>]*\bsrc=", page)  # Plotly's script is inside, nothing fetched
    assert not re.search(r"<link[^>]*\bhref=", page)  # no stylesheet either
    assert "plotly_hover" in page and "plotly_click" in page
    assert page.count("data:image/jpeg;base64,") == len(records)
    assert "<img src=x" not in page and "onerror=alert(1)" in page  # the name only as escaped JSON text


@pytest.mark.slow
def test_the_command_writes_the_map_and_its_coordinates(lab_cli, tmp_path: Path) -> None:
    pets = tmp_path / "pets"
    corpus.planted_copies(pets)
    done = lab_cli("map", str(pets), "--backbone", "mobilenet", "--weights", str(TINY_MOBILENET), "--image-size",
                   "128", "--out", str(tmp_path / "map.html"), "--colour", "split", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert (result["photos"], result["backbone"], result["projection"]) == (103, "mobilenet", "umap")
    assert len(result["points"]) == 103 and all(np.isfinite([p["x"], p["y"]]).all() for p in result["points"])
    page = (tmp_path / "map.html").read_text()
    assert "plotly_hover" in page and page.count("data:image/jpeg;base64,") == 103


@pytest.mark.slow
def test_a_runs_map_brings_its_photos_backbone_and_answers(lab_cli, tiny_run: Path, tmp_path: Path) -> None:
    done = lab_cli("map", str(tiny_run), "--out", str(tmp_path / "run.html"), "--colour", "mistake",
                   "--projection", "pca", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert (result["photos"], result["backbone"]) == (60, "mobilenet")  # 40 training and 20 validation photos
    answered = [p for p in result["points"] if p["prediction"] is not None]
    assert len(answered) == 20 and {p["split"] for p in answered} == {"validation"}


def test_the_command_says_in_one_line_what_is_wrong(lab_cli, tmp_path: Path) -> None:
    pets = str(corpus.make_pets(tmp_path / "pets"))
    no_backbone = lab_cli("map", pets, "--out", str(tmp_path / "map.html"))
    no_folder = lab_cli("map", pets, "--backbone", "mobilenet", "--out", str(tmp_path / "nowhere" / "map.html"))
    for done, words in ((no_backbone, "--backbone"), (no_folder, "--out")):
        assert done.returncode == 2 and words in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
