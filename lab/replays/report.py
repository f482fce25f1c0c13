"""A replay or a dataset-size study as one HTML file to hand out: it opens offline, from a USB stick or an email.

One file, nothing fetched: the styles are inline, the charts are inline SVG (`lab.replays.svg_chart`) and the
photos are small base64 JPEG thumbnails. It holds the question, the table beside the published figures, the
learning curves (accuracy per epoch for each row; accuracy against training photos, fitted, for a study and
the Keras replay), each finding with its verdict and evidence, and the test photos the models disagreed on.
Every name that comes from a file or a person is escaped.

The findings are read as `lab.replays.table.replay_table` gives them: `verdict` and `evidence` where the table
has them, else `reproduced` and `observed`.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

import numpy as np

from lab.data.thumbnail import square_thumbnail
from lab.errors import LabError
from lab.evaluation.accuracy_axis import accuracy_interval
from lab.evaluation.evaluate import evaluations
from lab.evaluation.learning_curve import DEFAULT_TARGET, learning_curve
from lab.evaluation.predictions import Predictions
from lab.replays.svg_chart import Series, line_chart
from lab.runs.store import Run
from lab.runs.study import curve_points
from lab.storage import write_bytes_atomic
from lab.training.references import study_reference

SIZE_ROWS = {"keras-tutorial": ("20k", "1k")}  # a replay's rows that differ only in training photos
THUMBNAIL_SIDE = 96
MOST_PHOTOS = 24  # disagreements shown; the rest are counted
VERDICTS = {True: "reproduced", False: "not reproduced", None: "waiting for its runs"}
STYLE = """
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222;line-height:1.45}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:1rem 0}th,td{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}
th{background:#f3f3f3}td.number{text-align:right}.muted{color:#666;font-size:.9rem}
.finding{margin:.8rem 0;padding:.6rem .8rem;border-left:4px solid #999;background:#fafafa}
.verdict{font-weight:600}.reproduced{border-color:#2a9d4b}.not-reproduced{border-color:#d1495b}.cut-short{border-color:#e9a23b}
.photos{display:flex;flex-wrap:wrap;gap:.6rem}.photo{width:96px;font-size:.75rem}.photo img{display:block}
svg.chart{max-width:100%;height:auto;font-size:12px}svg .grid{stroke:#eee}svg .title{font-weight:600}
svg .tick,svg .note{fill:#666;font-size:11px}
"""


# ---- the two reports -----------------------------------------------------------------------------------


def replay_report(table: Mapping[str, Any], *, target: float = DEFAULT_TARGET) -> str:
    """The replay `table` (from `replay_table`) as a self-contained HTML page."""
    rows = table["rows"]
    sections = [_section("What the tutorial asked", f"<p>{escape(table['title'])}</p><p class=\"muted\">"
                         f"{escape(_sentences([table['source'], *table['notes']]))}</p>"
                         f"<p>{escape(table['paragraph'])}</p>"),
                _section("The table beside the published figures", _replay_table(rows)),
                _section("Learning curves", _epoch_chart(rows) + _replay_size_curve(table, target)),
                _section("Findings", "".join(_finding(finding) for finding in table["findings"])),
                _section("Test photos the models disagreed on", _disagreements(_tests(
                    {row["experiment"]: row["run_dir"] for row in rows if row["run_dir"]})))]
    return _page(f"Replay: {table['title']}", sections)


def study_report(summary: Mapping[str, Any]) -> str:
    """The dataset-size study `summary` (from `lab.runs.study.results`) as a self-contained HTML page."""
    rows = summary["runs"]
    label, published = study_reference()
    curve = summary["learning_curve"]
    findings = [{"claim": "The Keras tutorial found 1K photos about as good as 20K (about 93% each)",
                 "verdict": "measured" if summary["sentence"] else "waiting for its runs",
                 "evidence": summary["sentence"] or ""},
                {"claim": f"Training photos needed for {curve['images_for']['target']:.0%} test accuracy",
                 "verdict": curve["images_for"]["status"], "evidence": curve["images_for"]["sentence"]}]
    sections = [_section("What the study asked", f"<p>Does more data help? One configuration trained on "
                         f"{len(summary['sizes'])} training-set sizes, every run judged on the same test photos "
                         f"(manifest {escape(str(summary['manifest']))}).</p>"),
                _section("The table beside the published figure", f"<p class=\"muted\">Published: "
                         f"{escape(label)}</p>" + _study_table(rows)),
                _section("Learning curve", _size_curve(rows, curve, [(f"published: {label}", published)])),
                _section("Findings", "".join(_finding(finding) for finding in findings)),
                _section("Test photos the sizes disagreed on", _disagreements(_tests(
                    {_run_name(row): row["run_dir"] for row in rows if row["run_dir"]})))]
    return _page(f"Study: {summary.get('title', summary['name'])}", sections)


def report_path(path: str | Path) -> Path:
    """`path` checked before any run starts: its folder must exist (a typo should not make folders, nor be
    found out after an hour of training)."""
    path = Path(path)
    if not path.parent.is_dir() or path.is_dir():
        raise LabError(f"--report {path}: give a file in a folder that exists, e.g. --report report.html.")
    return path


def write_report(html: str, path: str | Path) -> Path:
    """The report written atomically to `path`."""
    path = report_path(path)
    write_bytes_atomic(path, html.encode())
    return path


# ---- parts -----------------------------------------------------------------------------------------


def _page(title: str, sections: Sequence[str]) -> str:
    return (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{escape(title)}</title>"
            f"<style>{STYLE}</style></head><body><h1>{escape(title)}</h1>{''.join(sections)}</body></html>")


def _section(heading: str, body: str) -> str:
    return f"<section><h2>{escape(heading)}</h2>{body}</section>"


def _sentences(parts: Sequence[str]) -> str:
    return " ".join(part.rstrip(".") + "." for part in parts if part)


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(_cell(value) for value in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"<td class=\"number\">{value:.1%}</td>"
    if isinstance(value, int):
        return f"<td class=\"number\">{value:,}</td>"
    return f"<td>{escape('–' if value is None else str(value))}</td>"


def _replay_table(rows: Sequence[Mapping[str, Any]]) -> str:
    return _table(("experiment", "published (validation)", "validation here", "test here", "training (last epoch)",
                   "training images", "backbone", "status"),
                  [(r["experiment"], r["published"], r["validation_accuracy"], r["test_accuracy"],
                    r["train_accuracy"], r["train_images"], r["backbone"], r["status"]) for r in rows])


def _study_table(rows: Sequence[Mapping[str, Any]]) -> str:
    return _table(("training images", "seed", "validation", "test", "test photos", "status"),
                  [(r["train_images"] or r["size"] or "all", r["seed"], r["best_val_accuracy"], r["test_accuracy"],
                    r["test_images"], r["status"]) for r in rows])


def _finding(finding: Mapping[str, Any]) -> str:
    verdict = str(finding.get("verdict") or VERDICTS[finding.get("reproduced")])
    evidence = finding.get("evidence") or finding.get("observed") or ""
    kind = verdict.replace(" ", "-") if verdict in ("reproduced", "not reproduced", "cut short") else ""
    return (f"<div class=\"finding {kind}\"><div>{escape(str(finding['claim']))}</div><div><span class=\"verdict\">"
            f"{escape(verdict)}</span>{': ' + escape(str(evidence)) if evidence else ''}</div></div>")


def _epoch_chart(rows: Sequence[Mapping[str, Any]]) -> str:
    """Accuracy per epoch for each row: validation solid, training dashed, one colour per row."""
    series = []
    for index, row in enumerate(r for r in rows if r["run_dir"]):
        history = Run(Path(row["run_dir"])).history()
        epochs = list(range(1, len(history) + 1))
        for key, dash, part in (("val_accuracy", "solid", "validation"), ("accuracy", "dash", "training")):
            if any(epoch.get(key) is not None for epoch in history):
                series.append(Series(f"{row['experiment']} · {part}", epochs, [e.get(key) for e in history],
                                     colour=index, dash=dash, legend=part == "validation"))
    chart = line_chart(series, title="accuracy per epoch", x_label="epoch", y_label="accuracy")
    return (chart + "<p class=\"muted\">Solid: validation; dashed: training. A validation curve that stops rising "
            "while the training curve climbs means the model memorises its training photos.</p>") if chart else \
        "<p class=\"muted\">No epoch has finished yet.</p>"


def _replay_size_curve(table: Mapping[str, Any], target: float) -> str:
    keys = SIZE_ROWS.get(table["replay"])
    if not keys:
        return ""
    rows = [row for row in table["rows"] if row["key"] in keys]
    return _size_curve(rows, learning_curve(curve_points(rows), target), ())


def _size_curve(rows: Sequence[Mapping[str, Any]], curve: Mapping[str, Any],
                references: Sequence[tuple[str, float]]) -> str:
    """Test accuracy against training photos (log axis): the runs, the fitted law over the measured sizes, and
    dashed beyond them where it extrapolates; the target as a dotted line."""
    measured = [(r["train_images"], r["test_accuracy"]) for r in rows
                if r.get("train_images") and r.get("test_accuracy") is not None]
    intervals = [accuracy_interval(r["test_accuracy"], r.get("test_images")) for r in rows
                 if r.get("train_images") and r.get("test_accuracy") is not None]
    series = [Series("a run, with its 95% interval", [x for x, _ in measured], [y for _, y in measured], line=False,
                     intervals=intervals)]
    fit, answer = curve["fit"], curve["images_for"]
    if fit:
        series += [Series(f"fit: {fit['law']}", fit["measured"]["images"], fit["measured"]["accuracy"], 1,
                          markers=False),
                   Series("fit, extrapolated", fit["extrapolated"]["images"], fit["extrapolated"]["accuracy"], 1,
                          dash="dash", markers=False)]
    chart = line_chart(series, title="test accuracy against training photos", x_label="training photos (log)",
                       y_label="test accuracy", log_x=True,
                       references=[*references, (f"target {answer['target']:.0%}", answer["target"])])
    formula = f" Fitted {escape(fit['law'])}: {escape(fit['formula'])}, n in photos." if fit else ""
    return f"{chart}<p>{escape(answer['sentence'])}{formula}</p>"


def _run_name(row: Mapping[str, Any]) -> str:
    return f"{row['train_images'] or row['size'] or 'all'} photos, seed {row['seed']}"


def _tests(run_dirs: Mapping[str, str]) -> dict[str, Predictions]:
    """Each named run's test predictions, ordered by photo digest; runs without them are left out."""
    found = {}
    for name, run_dir in run_dirs.items():
        test = evaluations(Path(run_dir)).get("test")
        if test is not None and len(test):
            found[name] = test.take(list(np.argsort(test.digests)))
    return found


def _disagreements(tests: Mapping[str, Predictions]) -> str:
    """The photos some runs got right and others wrong (runs judged on other photos than the first are left
    out), each a thumbnail with its true class and who got it right."""
    first = next(iter(tests.values()), None)
    tests = {name: test for name, test in tests.items() if first is not None and test.digests == first.digests}
    if len(tests) < 2:
        return "<p class=\"muted\">Fewer than two runs have test predictions on the same photos yet.</p>"
    correct = np.array([test.correct for test in tests.values()])
    split = np.flatnonzero(correct.any(axis=0) & ~correct.all(axis=0))
    names = list(tests)
    cards = [_photo(first.paths[i], first.classes[first.true[i]],
                    [name for name, right in zip(names, correct[:, i]) if right]) for i in split[:MOST_PHOTOS]]
    more = f" The first {MOST_PHOTOS} are shown." if len(split) > MOST_PHOTOS else ""
    return (f"<p>Of {len(first):,} test photos, {len(split):,} were right for some runs and wrong for others.{more}"
            f"</p><div class=\"photos\">{''.join(cards)}</div>")


def _photo(path: str, true: str, right: Sequence[str]) -> str:
    thumbnail = square_thumbnail(path, THUMBNAIL_SIDE) if Path(path).is_file() else None
    image = ""
    if thumbnail is not None:
        buffer = io.BytesIO()
        thumbnail.save(buffer, format="JPEG", quality=70)
        image = (f"<img alt=\"{escape(true)}\" width=\"{THUMBNAIL_SIDE}\" height=\"{THUMBNAIL_SIDE}\" "
                 f"src=\"data:image/jpeg;base64,{base64.b64encode(buffer.getvalue()).decode()}\">")
    return (f"<div class=\"photo\">{image}<div>true: {escape(true)}</div>"
            f"<div>right: {escape(', '.join(right))}</div></div>")
