"""Every path a browser gives goes through the allow-lists of `lab.access`, by where it really leads, and a
refusal reads the same whether the path exists or not."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from lab.access import (
    TRAINING_OFF,
    allowed_data_path,
    allowed_data_source,
    allowed_weights,
    browser_config,
    shown_config,
    shown_path,
)
from lab.data import build_manifest, scan
from lab.errors import LabError
from lab.paths import within
from lab.runs.store import RunStore
from lab.settings import Settings, load_settings
from lab.training.config import TrainConfig
from lab.workspace import dataset_folders, dataset_names
from tests.apptest import open_page
from tests.conftest import FILTERED, TINY_MOBILENET


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data folder with one dataset, a weights folder, and beside them a secret folder and file, reached
    from inside by a link, by `..` and by its own path."""
    data, weights, secret = tmp_path / "data", tmp_path / "weights", tmp_path / "secret"
    for label in ("cats", "dogs"):
        (data / "pets" / label).mkdir(parents=True)
        (secret / "photos" / label).mkdir(parents=True)
        photo = next((FILTERED / "train" / label).iterdir())
        (data / "pets" / label / photo.name).write_bytes(photo.read_bytes())
        (secret / "photos" / label / photo.name).write_bytes(photo.read_bytes())
    weights.mkdir()
    (weights / "mine.weights.h5").write_bytes(b"not really weights")
    (secret / "key.weights.h5").write_bytes(b"a secret")
    (data / "escape").symlink_to(secret / "photos")
    (weights / "escape.weights.h5").symlink_to(secret / "key.weights.h5")
    monkeypatch.setenv("TRANSFER_LAB_WORKSPACE", str(tmp_path / "workspace"))
    monkeypatch.setenv("TRANSFER_LAB_DATA_DIRS", str(data))
    monkeypatch.setenv("TRANSFER_LAB_WEIGHTS_DIR", str(weights))
    monkeypatch.delenv("TRANSFER_LAB_DEMO", raising=False)
    return tmp_path


def refusal_of(check, settings: Settings, raw: str) -> str:
    with pytest.raises(LabError) as refused:
        check(settings, raw)
    return str(refused.value).replace(raw, "X", 1)


def test_data_inside_the_data_folders_is_allowed_by_name_or_path(server: Path) -> None:
    settings = load_settings()
    pets = server / "data" / "pets"
    assert allowed_data_path(settings, "pets") == pets
    assert allowed_data_path(settings, str(pets)) == pets
    assert allowed_data_source(settings, "pets") == str(pets)  # training reads exactly what was checked


@pytest.mark.parametrize("escape", ["escape", "../secret/photos", "pets/../../secret/photos", "{root}/secret/photos",
                                    "/etc", "~"])
def test_data_outside_is_refused_through_links_and_dots(server: Path, escape: str) -> None:
    settings = load_settings()
    raw = escape.format(root=server)
    for check in (allowed_data_path, allowed_data_source):
        assert "is not a dataset folder this lab can read" in refusal_of(check, settings, raw)


def test_a_link_leading_out_of_a_data_folder_is_not_offered_on_any_page(server: Path) -> None:
    settings = load_settings()
    assert dataset_folders(settings) == [server / "data" / "pets"]
    assert list(dataset_names(settings).values()) == ["pets"]


def test_outside_and_missing_get_the_same_answer(server: Path) -> None:
    settings = load_settings()
    existing, missing = str(server / "secret" / "photos"), str(server / "secret" / "nothing_here")
    assert refusal_of(allowed_data_path, settings, existing) == refusal_of(allowed_data_path, settings, missing)
    assert refusal_of(allowed_data_path, settings, "escape") == refusal_of(allowed_data_path, settings, "no_such")
    assert refusal_of(allowed_weights, settings, str(server / "secret" / "key.weights.h5")) == \
        refusal_of(allowed_weights, settings, str(server / "secret" / "gone.weights.h5"))


def test_weights_must_lie_in_the_weights_folders(server: Path) -> None:
    settings = load_settings()
    assert allowed_weights(settings, "imagenet") == "imagenet" and allowed_weights(settings, "none") == "none"
    assert allowed_weights(settings, "mine.weights.h5") == str(server / "weights" / "mine.weights.h5")
    for outside in ("escape.weights.h5", str(server / "secret" / "key.weights.h5"), "../secret/key.weights.h5",
                    "/etc/passwd"):
        assert "is not a weights file this lab can read" in refusal_of(allowed_weights, settings, outside)


def test_a_manifest_must_be_one_saved_in_the_workspace(workspace: Path, tmp_path: Path) -> None:
    settings = load_settings()
    manifest = build_manifest(scan(FILTERED, settings=settings), name="filtered", validation=0.0)
    saved = manifest.save(settings)
    assert allowed_data_source(settings, "filtered") == "filtered"
    assert allowed_data_source(settings, str(saved)) == str(saved)
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text(saved.read_text())  # a manifest can list any file: only the lab's own are trusted
    with pytest.raises(LabError, match="is not a saved manifest"):
        allowed_data_source(settings, str(elsewhere))


@hypothesis_settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.one_of(st.text(max_size=40), st.lists(st.sampled_from(["..", ".", "pets", "escape", "secret", "~", ""]),
                                                     max_size=6).map("/".join)))
def test_whatever_is_typed_the_answer_is_inside_or_a_lab_error(server: Path, raw: str) -> None:
    settings = load_settings()
    for check, folders in ((allowed_data_path, settings.data_dirs), (allowed_weights, settings.weights_dirs)):
        try:
            allowed = check(settings, raw)
        except LabError:
            continue
        assert str(allowed) in ("imagenet", "none") or within(allowed, folders)


def test_demo_mode_launches_nothing_and_shows_names_not_paths(server: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRANSFER_LAB_DEMO", "1")
    settings = load_settings()
    assert settings.demo
    config = TrainConfig(data="pets", backbone="mobilenet", weights="none")
    with pytest.raises(LabError, match=TRAINING_OFF):
        browser_config(config, settings)
    assert shown_path(server / "data" / "pets" / "cats", settings) == "pets/cats"
    assert shown_path(settings.runs_dir / "0101-run", settings) == "run 0101-run"
    assert shown_path(server / "secret" / "key.weights.h5", settings) == "key.weights.h5"
    config = {"data": str(server / "data" / "pets"), "weights": str(server / "weights" / "mine.weights.h5"),
              "epochs": 3, "fine_tune_at": ""}
    assert shown_config(config, settings) == {"data": "pets", "weights": "mine.weights.h5", "epochs": 3,
                                              "fine_tune_at": ""}
    message = refusal_of(allowed_data_path, settings, "nowhere")
    assert str(server) not in message and "the data folder" in message


def test_outside_demo_mode_the_checked_config_is_what_launches(server: Path) -> None:
    settings = load_settings()
    config = browser_config(TrainConfig(data="pets", backbone="mobilenet", weights="mine.weights.h5"), settings)
    assert config.data == str(server / "data" / "pets")
    assert shown_config(config.to_dict(), settings) == config.to_dict()  # paths as they are outside demo mode
    assert config.weights == str(server / "weights" / "mine.weights.h5")


# ---- the Train page ----------------------------------------------------------------------------


def train_page(**typed: str) -> AppTest:
    """The Train page opened on a tiny config with `typed` as if typed into its boxes (they accept new options)."""
    app = open_page("train", timeout=60, run=False)
    config = TrainConfig(data=str(FILTERED), backbone="mobilenet", weights=str(TINY_MOBILENET), image_size=128,
                         strategy="feature-extractor", epochs=1, train_size=40, validation_size=20)
    for field, value in {**config.to_dict(), "augment_overrides": "", **typed}.items():
        app.session_state[f"train_form_{field}"] = value
    app.run()
    assert not app.exception, app.exception
    return app


def form_widget(app: AppTest, field: str):
    return next(w for w in app.selectbox if w.key == f"train_form_{field}")


def test_a_typed_data_path_outside_is_refused_before_any_scan(workspace: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    scanned = []
    monkeypatch.setattr("lab.training.preflight.problems", lambda *args: scanned.append(args) or {})
    outside = tmp_path / "private"
    (outside / "cats").mkdir(parents=True)
    app = train_page(data=str(outside))

    [said] = [e.value for e in app.error if "**Data**" in e.value]
    assert f"{outside} is not a dataset folder this lab can read" in said
    assert [b.disabled for b in app.button if b.label == "Launch"] == [True]
    assert not scanned  # not scanned for an estimate, not checked, not launched
    assert RunStore(load_settings().runs_dir).list() == []


def test_a_typed_weights_path_outside_is_refused(workspace: Path, tmp_path: Path) -> None:
    secret = tmp_path / "mobilenet_1_0_224_tf_no_top.h5"
    secret.write_bytes(TINY_MOBILENET.read_bytes())  # real weights, but not in a weights folder
    app = train_page(weights=str(secret))

    [said] = [e.value for e in app.error if "**Weights**" in e.value]
    assert f"{secret} is not a weights file this lab can read" in said
    assert [b.disabled for b in app.button if b.label == "Launch"] == [True]


def test_weights_and_data_from_the_lists_still_pass(workspace: Path) -> None:
    app = train_page()
    assert form_widget(app, "data").value == str(FILTERED) and form_widget(app, "weights").value == str(TINY_MOBILENET)
    assert not [e for e in app.error if "this lab can read" in e.value]  # the lists' choices are never refused
    assert [b.disabled for b in app.button if b.label == "Launch"] == [False]
