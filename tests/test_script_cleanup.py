"""Streamlit's clean-up between script runs keeps Keras's state, and skips its full garbage collection."""

from __future__ import annotations

from pathlib import Path

import keras
import pytest
from streamlit.runtime.scriptrunner import script_runner

from tests.apptest import open_page
from tests.conftest import REPO


def test_running_the_app_no_longer_resets_keras(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Streamlit's own clean-up, as an earlier test in this session may have replaced it already
    monkeypatch.setattr(script_runner, "_clean_problem_modules", lambda: keras.backend.clear_session())
    before = keras.backend.get_uid("cleanup-probe")
    open_page("home")  # installs the lab's clean-up, which Streamlit calls after the run
    assert keras.backend.get_uid("cleanup-probe") == before + 1  # clear_session would restart the count at 1


def test_the_app_switches_off_the_collection_after_each_run() -> None:
    sections = (REPO / ".streamlit" / "config.toml").read_text().split("\n[")  # tomllib needs Python 3.11
    runner = next(section for section in sections if section.startswith("runner]"))
    assert "\npostScriptGC = false" in runner
