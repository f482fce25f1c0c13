"""Exporting a manifest as split/class folders never touches the user's photos, and loses none of them."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from lab.data import build_manifest, scan
from lab.data.export import export_folders
from lab.errors import LabError
from tests import corpus
from tests.conftest import LabCli


def _fingerprints(root: Path) -> dict[str, tuple[str, int]]:
    """Every file under `root`: its bytes' digest and modification time."""
    return {str(p): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def colliding(tmp_path: Path) -> Path:
    """Class folders whose nested subfolders reuse file names: cats/a/1.jpg and cats/b/1.jpg differ,
    cats/c/1.jpg is an identical copy of cats/a/1.jpg."""
    root = tmp_path / "data" / "pets"
    for label, offset in (("cats", 0), ("dogs", 100)):
        for sub, seed in (("a", 1), ("b", 2), ("c", 1)):
            target = root / label / sub / "1.jpg"
            target.parent.mkdir(parents=True)
            target.write_bytes(corpus.jpeg_bytes(corpus.photo(offset + seed)))
        for index in range(6):
            (root / label / f"{index}.jpg").write_bytes(corpus.jpeg_bytes(corpus.photo(offset + 10 + index)))
    return root


def test_cli_export_with_colliding_names_keeps_every_photo_and_every_source_byte(
        colliding: Path, tmp_path: Path, lab_cli: LabCli) -> None:
    before = _fingerprints(colliding)
    out = tmp_path / "exported"
    result = lab_cli("manifest", str(colliding), "--name", "pets", "--validation", "0.25", "--keep-duplicates",
                     "--export", str(out), "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert _fingerprints(colliding) == before, "an export must never write to a source photo"
    exported = [p for p in out.rglob("*") if p.is_file()]
    total = sum(sum(counts.values()) for counts in summary["splits"].values())
    assert summary["export"]["files"] == len(exported) == total == len(before)
    assert sorted(hashlib.sha256(p.read_bytes()).hexdigest() for p in exported) == sorted(
        digest for digest, _ in before.values())
    renamed = summary["export"]["renamed"]
    assert renamed and all(Path(item["target"]).is_file() for item in renamed)


def test_export_refuses_a_folder_that_is_not_empty(colliding: Path, tmp_path: Path, workspace: Path) -> None:
    manifest = build_manifest(scan(colliding), name="pets", validation=0.25)
    out = tmp_path / "exported"
    (out / "train").mkdir(parents=True)
    (out / "train" / "keep.txt").write_text("mine")
    with pytest.raises(LabError, match="not empty"):
        export_folders(manifest, out)
    assert (out / "train" / "keep.txt").read_text() == "mine"


def test_export_counts_links_and_names_each_file_once(colliding: Path, tmp_path: Path, workspace: Path) -> None:
    manifest = build_manifest(scan(colliding), name="pets", validation=0.25, drop_duplicates=False)
    report = export_folders(manifest, tmp_path / "exported")
    records = sum(len(records) for records in manifest.splits.values())
    assert report.files == report.linked + report.copied == records
    assert len({target for _, target in report.renamed}) == len(report.renamed)
    assert "renamed because another file in the same folder had the same name" in report.summary()
