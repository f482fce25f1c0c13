"""The report to hand out: built from the session's tiny Keras replay and from a tiny study run by `lab study
--report`, it holds the table, the curves, the findings and the photos the runs disagreed on, escapes names,
and fetches nothing (no http(s) address anywhere in the file)."""

from __future__ import annotations

import dataclasses
import json
import re
from html import escape
from pathlib import Path

import pytest

from lab.cli.train import flags_from_config
from lab.replays.report import replay_report, study_report, write_report
from lab.replays.svg_chart import Series, line_chart
from lab.replays.table import replay_table
from lab.training.config import TrainConfig

from . import corpus

URL = re.compile(r"https?://", re.IGNORECASE)


@pytest.fixture(scope="module")
def tiny_study(tmp_path_factory: pytest.TempPathFactory, tiny_config: TrainConfig, lab_cli_env) -> dict:
    """`lab study --sizes 20,48,all --json --report` on 120 real photos: its JSON summary and report path."""
    import os

    from .conftest import SHARED, WEIGHTS

    root = tmp_path_factory.mktemp("tiny-study")
    config = dataclasses.replace(tiny_config, data=str(corpus.copy_of_sample(root / "pets", 60)), train_size=None,
                                 validation_size=None)
    env = {**os.environ, "TRANSFER_LAB_WORKSPACE": str(root / "workspace"),
           "TRANSFER_LAB_DATA_DIRS": str(SHARED / "data"), "TRANSFER_LAB_WEIGHTS_DIR": str(WEIGHTS)}
    report = root / "study.html"
    done = lab_cli_env(env, "study", "--sizes", "20,48,all", *flags_from_config(config), "--target", "99",
                       "--json", "--report", str(report))
    assert done.returncode == 0, done.stderr
    return {"summary": json.loads(done.stdout.strip().splitlines()[-1]), "report": report}


def offline(html: str) -> None:
    assert html.startswith("<!DOCTYPE html>") and not URL.search(html)
    assert "<script" not in html and "<link" not in html


def test_the_study_json_holds_the_fit_and_the_photos_for_the_target(tiny_study: dict) -> None:
    curve = tiny_study["summary"]["learning_curve"]
    assert curve["fit"]["law"] == "power law" and curve["fit"]["sizes"] == [20, 48, 96]  # three sizes: no floor
    answer = curve["images_for"]
    assert answer["target"] == 0.99 and answer["status"] and answer["sentence"]
    assert answer["images"] is None or answer["images"] > 0


def test_the_study_report_holds_the_table_the_curve_and_the_findings(tiny_study: dict) -> None:
    html = tiny_study["report"].read_text()
    offline(html)
    summary = tiny_study["summary"]
    assert "<table>" in html and html.count("<tr>") == 1 + len(summary["runs"])
    for row in summary["runs"]:
        assert f"{row['test_accuracy']:.1%}" in html
    assert "test accuracy against training photos" in html and "<polyline" in html
    assert "target 99%" in html and summary["learning_curve"]["images_for"]["sentence"] in html
    assert summary["sentence"].split(":")[0] in html  # McNemar's finding
    assert "Test photos the sizes disagreed on" in html


def test_the_replay_report_holds_its_table_curves_findings_and_the_photos_the_rows_disagreed_on(
    keras_replay_tiny, tmp_path: Path
) -> None:
    table = replay_table(keras_replay_tiny.planned, keras_replay_tiny.workspace / "runs")
    path = write_report(replay_report(table), tmp_path / "replay.html")
    html = path.read_text()
    offline(html)
    for row in table["rows"]:
        assert f"<td>{escape(row['experiment'])}</td>" in html and "93.0%" in html  # beside the published figure
    assert "accuracy per epoch" in html and "test accuracy against training photos" in html
    for finding in table["findings"]:
        assert finding["claim"] in html
    disagreed = re.search(r"Of ([\d,]+) test photos, ([\d,]+) were right for some runs", html)
    assert disagreed and int(disagreed[1]) == 12
    assert html.count("data:image/jpeg;base64,") == min(int(disagreed[2]), 24)


def test_findings_show_verdict_and_evidence_where_given_and_names_are_escaped(keras_replay_tiny) -> None:
    table = replay_table(keras_replay_tiny.planned, keras_replay_tiny.workspace / "runs")
    table = {**table, "title": "<b>cats</b> & dogs",
             "rows": [{**row, "experiment": "<script>alert(1)</script>"} for row in table["rows"]],
             "findings": [{"claim": "A beats B", "verdict": "too close to call", "evidence": "p = 0.4 <i>"},
                          {"claim": "C", "observed": "older table", "reproduced": False}]}
    html = replay_report(table)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;cats&lt;/b&gt; &amp; dogs" in html
    assert "too close to call</span>: p = 0.4 &lt;i&gt;" in html and "not reproduced</span>: older table" in html


def test_a_report_into_a_missing_folder_or_an_impossible_target_is_refused_before_any_run(
    lab_cli, tmp_path: Path
) -> None:
    nowhere = str(tmp_path / "nowhere" / "r.html")
    for args, flag in ((("replay", "keras-tutorial", "--quick", "--report", nowhere), "--report"),
                       (("study", "--sizes", "20,all", "--report", nowhere), "--report"),
                       (("study", "--sizes", "20,all", "--target", "100"), "--target")):
        done = lab_cli(*args)
        assert done.returncode == 2 and flag in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert not (tmp_path / "workspace" / "runs").exists() or not any((tmp_path / "workspace" / "runs").iterdir())


def test_a_study_report_before_its_runs_finish_says_so() -> None:
    summary = {"name": "study-x", "manifest": "m", "sizes": [None, 20], "mcnemar_p": None, "sentence": None,
               "runs": [{"size": s, "repeat": 0, "seed": 1, "run_dir": None, "status": "queued", "train_images": None,
                         "best_val_accuracy": None, "test_accuracy": None, "test_images": None} for s in (None, 20)],
               "learning_curve": {"fit": None, "images_for": {"target": 0.95, "status": "too few sizes",
                                                              "sentence": "needs two sizes"}}}
    html = study_report(summary)
    offline(html)
    assert "waiting for its runs" in html and "needs two sizes" in html and "Fewer than two runs" in html


def test_a_chart_escapes_its_names_leaves_out_missing_values_and_draws_nothing_without_points() -> None:
    svg = line_chart([Series("<i>run</i> & co", [1, 2, 3], [0.5, None, 0.7]), Series("fit", [10, 1000], [0.6, 0.9],
                                                                                      1, dash="dash")],
                     title="a <chart>", x_label="photos", y_label="accuracy", log_x=True, references=[("t", 0.95)])
    assert "&lt;i&gt;run&lt;/i&gt; &amp; co" in svg and "<i>" not in svg and "a &lt;chart&gt;" in svg
    assert re.search(r'<polyline points="[\d.]+,[\d.]+ [\d.]+,[\d.]+" ', svg)  # 1 and 3: the None left out
    assert 'stroke-dasharray="6 4"' in svg and ">1,000<" in svg and ">100<" in svg  # log ticks at powers of ten
    assert line_chart([Series("empty", [], [])], title="t", x_label="x", y_label="y") == ""


def test_help_names_the_report_and_the_target(lab_cli) -> None:
    for command, flags in (("study", ("--report", "--target", "(default 95%)")), ("replay", ("--report",))):
        done = lab_cli(command, "--help")
        assert done.returncode == 0 and all(flag in done.stdout for flag in flags), done.stderr
