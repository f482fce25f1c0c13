"""A scan report in words: the headline, how the data is laid out, the folder tree and the duplicates.

The Dataset page shows these sentences; they live here so every door says the same thing in the same words
("4 extra copies" in a tab title, a warning and a metric alike) and a test reads them without a browser.
Names from files stay plain text in them: a caller shows them as text, never as Markdown or HTML.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from lab.data.scan import ScanReport
from lab.data.summary import relative_path

LAYOUTS = {
    "split_folders": "split folders (train / validation / test, one folder per class inside each)",
    "class_folders": "one folder per class",
    "flat_names": "one folder, the class in each file name (cat.1.jpg, dog.1.jpg)",
}


def summary_sentence(report: ScanReport) -> str:
    """The one line a first-time visitor reads: how many images, which classes, how many are bad."""
    classes = ", ".join(f"{name} {count:,}" for name, count in report.classes.items())
    bad = len(report.invalid)
    return (f"{report.valid:,} images of {len(report.classes)} classes: {classes}; "
            f"{bad:,} bad file{'' if bad == 1 else 's'}.")


def scan_facts(report: ScanReport) -> str:
    """How the data is laid out, its split folders' sizes and how long the check took, joined by " · "."""
    layout = LAYOUTS.get(report.layout, report.layout)
    splits = " · ".join(f"{split} {sum(counts.values()):,}" for split, counts in report.splits.items())
    remembered = f", {report.from_cache:,} remembered from an earlier scan" if report.from_cache else ""
    return (f"laid out as {layout}" + (f" · {splits}" if splits else "")
            + f" · checked in {report.seconds:.1f} s{remembered}")


def folder_tree(report: ScanReport) -> str:
    """`ls -R`, summarised: each folder with the number of image files under it (and how many are bad)."""
    lines = []
    for folder, count in report.folders.items():
        parts = Path(folder).parts
        name = parts[-1] if parts else report.root.name
        broken = f"  ({count.bad:,} bad)" if count.bad else ""
        lines.append(f"{'    ' * len(parts)}{name}/  {count.images:,} images{broken}")
    return "\n".join(lines)


def unreadable_sentence(report: ScanReport) -> str:
    """Which folders the scan could not open and skipped, and what to check ("" when it opened them all)."""
    if not report.unreadable:
        return ""
    count = len(report.unreadable)
    return (("1 folder could not be opened and was skipped" if count == 1 else
             f"{count:,} folders could not be opened and were skipped") + " (check their "
            "permissions, or whether they are links leading outside the dataset): "
            + ", ".join(relative_name(folder, report.root) for folder in report.unreadable))


def extra_copies(groups: Sequence[Sequence[str]]) -> int:
    """Files beyond the first of each group of identical files: what leaving out duplicates removes."""
    return sum(len(group) - 1 for group in groups)


def copies_phrase(groups: Sequence[Sequence[str]]) -> str:
    """"4 extra copies": the one wording of the duplicates count, in the tab, its warning and the metric."""
    extra = extra_copies(groups)
    return f"{extra:,} extra cop{'y' if extra == 1 else 'ies'}"


def duplicates_sentence(groups: Sequence[Sequence[str]]) -> str:
    """The warning over groups of identical files: how many copies, of how many images."""
    images = len(groups)
    return (f"{copies_phrase(groups).capitalize()}: {images:,} "
            f"{'image appears' if images == 1 else 'images appear'} more than once, byte for byte. "
            "Saving a split can leave the extra copies out.")


def group_rows(groups: Sequence[Sequence[str]], root: Path) -> list[dict[str, object]]:
    """One row per group of identical files: how many copies, and their paths inside the dataset."""
    return [{"copies": len(group), "files": ", ".join(relative_name(path, root) for path in group)}
            for group in groups]


def relative_name(path: str, root: Path) -> str:
    """A file's path inside the dataset (the full path for one outside it), as people read it."""
    return str(relative_path(Path(path), root))
