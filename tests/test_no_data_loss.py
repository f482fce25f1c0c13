"""No action of the lab writes to a user's photos: every source file keeps its bytes and modification time.

CI runs as root, where read-only bits stop nothing, so this checks what actually happened to the files. A copy
of real photos (split folders, one zip of them) goes through every action that writes: scan, manifest with
an export (then again into the same folder, which must be refused: the export hard-links where it can, and a
second export over those links once overwrote the originals), unpacking the zip, training, evaluation, prediction with Grad-CAM and a
model export. After each action every source file is compared with a snapshot taken before, and the source
folder must hold exactly the files it held.

The actions run through `lab.cli.main` in this process: the same code as `python -m lab`, without paying
TensorFlow's import once per action.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from lab.cli import main
from lab.data.archive import extract_zip, store_upload
from tests.conftest import FILTERED

Snapshot = dict[str, tuple[str, int, int]]  # relative path -> (sha256, size, mtime_ns)
PER_CLASS = {"train": 24, "validation": 10}  # the tiny run takes 40 + 20


def snapshot(root: Path) -> Snapshot:
    return {str(path.relative_to(root)): (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_size,
                                          path.stat().st_mtime_ns)
            for path in sorted(root.rglob("*")) if path.is_file()}


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A copy of real photos in split folders, plus a zip of them beside it, as a user would have them."""
    root = tmp_path / "my-photos"
    for split, count in PER_CLASS.items():
        for label in ("cats", "dogs"):
            (root / split / label).mkdir(parents=True)
            for photo in sorted((FILTERED / split / label).glob("*.jpg"))[:count]:
                shutil.copy2(photo, root / split / label / photo.name)
    with zipfile.ZipFile(root / "my-photos.zip", "w") as bundle:
        for photo in sorted(root.rglob("*.jpg")):
            bundle.write(photo, photo.relative_to(root))
    return root


def cli(*args: str) -> None:
    """`python -m lab ARGS --json`, run here, which must succeed."""
    assert main([*args, "--json"]) == 0, f"lab {' '.join(args)} failed"


@pytest.mark.slow  # trains, evaluates, predicts and exports
def test_no_action_changes_a_source_file(source: Path, workspace: Path, tiny_flags: list[str],
                                         capsys: pytest.CaptureFixture[str]) -> None:
    before = snapshot(source)
    exported = workspace / "exported"
    state: dict[str, Path | int] = {}

    def last_json() -> dict:
        return json.loads(capsys.readouterr().out.strip().splitlines()[-1])

    def train() -> None:
        cli("train", *tiny_flags, "--data", str(source))
        state["run"] = Path(last_json()["run_dir"])

    actions: list[tuple[str, Callable[[], object]]] = [
        ("scan", lambda: cli("scan", str(source))),
        ("manifest with an export", lambda: cli("manifest", str(source), "--name", "mine", "--export", str(exported))),
        ("the same export again, over its hard links",
         lambda: state.update(again=main(["manifest", str(source), "--name", "mine", "--export", str(exported)]))),
        ("an upload of the zip", lambda: store_upload((source / "my-photos.zip").read_bytes(), "my-photos.zip",
                                                      workspace / "datasets")),
        ("unpacking the zip", lambda: extract_zip(source / "my-photos.zip", workspace / "datasets")),
        ("training", train),
        ("evaluation", lambda: cli("evaluate", str(state["run"]), "--data", str(source), "--split", "validation")),
        ("prediction with Grad-CAM", lambda: cli("predict", str(state["run"]), str(source / "validation"),
                                                 "--gradcam", str(workspace / "gradcam"))),
        ("a model export", lambda: cli("export", str(state["run"]), "--format", "keras", "--out",
                                       str(workspace / "exports"), "--samples",
                                       *map(str, sorted((source / "validation" / "cats").glob("*.jpg"))[:2]))),
    ]
    for name, action in actions:
        action()
        after = snapshot(source)
        assert after.keys() == before.keys(), f"{name} added or removed files in the source folder"
        changed = [path for path in before if after[path] != before[path]]
        assert not changed, f"{name} changed {len(changed)} source files, e.g. {changed[:3]}"
    assert state["again"] == 2  # refused: "is not empty: export into a new folder"
    assert any(exported.rglob("*.jpg")) and (workspace / "gradcam").is_dir()  # the actions did write elsewhere


def test_an_upload_never_replaces_an_earlier_one(tmp_path: Path) -> None:
    first = store_upload(b"the first pets.zip", "pets.zip", tmp_path)
    again = store_upload(b"the first pets.zip", "pets.zip", tmp_path)
    other = store_upload(b"another pets.zip", "../pets.zip", tmp_path)
    assert first == again == tmp_path / "pets.zip" and other == tmp_path / "pets-2.zip"
    assert first.read_bytes() == b"the first pets.zip" and other.read_bytes() == b"another pets.zip"
