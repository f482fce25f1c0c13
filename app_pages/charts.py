"""Plotly figures the pages share: learning curves (one run or several overlaid), the evaluation views
(confusion matrix, ROC and precision-recall curves, the reliability diagram), the dataset-size study's chart and
the Dataset page's image-size map.

Figures only: each function takes plain data (histories, matrices, result rows) and returns a figure,
so the Train and Compare pages draw runs the same way; run and class names in them pass through `chart_text`.
Accuracies are drawn by the rules of `lab.evaluation.accuracy_axis` (an axis at least ten points tall; intervals
where the photos are known), which the report's SVG charts share. Not a page (no `st.` calls).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go
from plotly.colors import hex_to_rgb, qualitative

from app_pages.plain_text import chart_text
from lab.data.summary import SizeCell
from lab.evaluation.accuracy_axis import accuracy_interval, accuracy_range
from lab.evaluation.proportions import Interval

COLOURS = qualitative.Plotly
LAYOUT = {"height": 360, "margin": {"t": 40, "b": 10, "l": 10, "r": 10},
          "legend": {"orientation": "h", "yanchor": "top", "y": -0.25}}  # legends under the plot: names can be long
History = list[dict[str, Any]]


def colour(index: int) -> str:
    return COLOURS[index % len(COLOURS)]


def curves(histories: Mapping[str, History], metric: str, references: Mapping[str, float] | None = None) -> go.Figure:
    """`metric` per epoch for each run (one colour per run; training dashed, validation solid).

    A single run under the label "" keeps the plain trace names (`loss`, `val_loss`). `references` are
    published accuracies drawn as dotted lines. The switch to fine-tuning is marked for the first run with one.
    """
    figure = go.Figure()
    for index, (label, history) in enumerate(histories.items()):
        epochs = list(range(1, len(history) + 1))
        for name, dash, part in ((metric, "dash", "training"), (f"val_{metric}", "solid", "validation")):
            if any(row.get(name) is not None for row in history):
                figure.add_scatter(x=epochs, y=[row.get(name) for row in history], mode="lines+markers",
                                   name=f"{chart_text(label)} · {part}" if label else name,
                                   line={"color": colour(index), "dash": dash} if label else None)
    _mark_fine_tuning(figure, histories.values())
    for label, accuracy in (references or {}).items():
        figure.add_hline(y=accuracy, line_dash="dot", line_color="grey", annotation_text=f"published: {label}")
    figure.update_layout(title=metric, xaxis_title="epoch", **LAYOUT)
    longest = max((len(history) for history in histories.values()), default=0)
    figure.update_xaxes(dtick=1 if longest <= 20 else None)  # whole epochs, never "epoch 1.4"
    if metric == "accuracy":  # never an axis from 0.93 that makes a one-point gap fill the chart
        shown = [y for trace in figure.data for y in trace.y] + list((references or {}).values())
        figure.update_yaxes(range=accuracy_range(shown), tickformat=".0%")
    return figure


def _mark_fine_tuning(figure: go.Figure, histories: Any) -> None:
    for history in histories:
        phases = [row.get("phase") for row in history]
        if "fine-tune" in phases:
            figure.add_vline(x=phases.index("fine-tune") + 0.5, line_dash="dot", annotation_text="fine-tuning")
            return


def confusion_heatmap(matrix: Sequence[Sequence[float]], classes: Sequence[str], *, normalized: bool) -> go.Figure:
    """Rows are the true classes, columns what the model said; the diagonal is what it got right."""
    text = [[f"{value:.0%}" if normalized else f"{value:,.0f}" for value in row] for row in matrix]
    names = [chart_text(name) for name in classes]
    figure = go.Figure(go.Heatmap(z=matrix, x=names, y=names, text=text, texttemplate="%{text}",
                                  colorscale="Blues", showscale=False, zmin=0, zmax=1 if normalized else None))
    figure.update_layout(title="share of each true class" if normalized else "images",
                         xaxis_title="predicted", yaxis_title="true", yaxis_autorange="reversed",
                         **{**LAYOUT, "height": 300})
    return figure


def roc_figure(roc: Mapping[str, Any]) -> go.Figure:
    figure = go.Figure(go.Scatter(x=roc["fpr"], y=roc["tpr"], mode="lines", name=f"AUC {roc['auc']:.3f}"))
    figure.add_scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dot", "color": "grey"}, name="chance")
    figure.update_layout(title=f"ROC (AUC {roc['auc']:.3f})", xaxis_title="false positive rate",
                         yaxis_title="true positive rate", **LAYOUT)
    return figure


def pr_figure(pr: Mapping[str, Any]) -> go.Figure:
    figure = go.Figure(go.Scatter(x=pr["recall"], y=pr["precision"], mode="lines",
                                  name=f"AP {pr['average_precision']:.3f}"))
    figure.update_layout(title=f"Precision-recall (AP {pr['average_precision']:.3f})", xaxis_title="recall",
                         yaxis_title="precision", **LAYOUT)
    return figure


def reliability_figure(before: Sequence[Mapping[str, Any]], after: Sequence[Mapping[str, Any]] | None) -> go.Figure:
    """The reliability diagram: for each confidence bin (`lab.evaluation.calibration.reliability`), how often its
    answers were right against how sure they were, with the bin's 95% interval, before and (when the run is
    calibrated) after temperature scaling; the diagonal is "as sure as it is right". Under it, the photos in each
    bin, so a bin of three photos is read as the guess it is."""
    from plotly.subplots import make_subplots

    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.72, 0.28], vertical_spacing=0.06)
    filled = [row for bins in (before, after or []) for row in bins if row["count"]]
    low = min((row["low"] for row in filled), default=0.0)
    figure.add_scatter(x=[low, 1], y=[low, 1], mode="lines", line={"dash": "dot", "color": "grey"},
                       name="as sure as it is right", row=1, col=1)
    series = [("the model's own", before, colour(1))] + ([("after temperature scaling", after, colour(0))]
                                                         if after else [])
    for label, bins, shade in series:
        shown = [row for row in bins if row["count"]]
        figure.add_scatter(
            x=[row["confidence"] for row in shown], y=[row["accuracy"] for row in shown], mode="lines+markers",
            name=label, line={"color": shade}, marker={"size": 9},
            error_y={"type": "data", "symmetric": False, "color": shade, "thickness": 1.2, "width": 4,
                     "array": [row["interval"][1] - row["accuracy"] for row in shown],
                     "arrayminus": [row["accuracy"] - row["interval"][0] for row in shown]},
            customdata=[(100 * row["low"], 100 * row["high"], row["count"]) for row in shown],
            hovertemplate="%{customdata[0]:.0f}-%{customdata[1]:.0f}% sure, %{customdata[2]:,} photos: on average "
                          "%{x:.1%} sure, right %{y:.1%}<extra>" + label + "</extra>", row=1, col=1)
        figure.add_bar(x=[(row["low"] + row["high"]) / 2 for row in shown], y=[row["count"] for row in shown],
                       text=[f"{row['count']:,}" for row in shown], textposition="outside", textangle=0,
                       cliponaxis=False, marker_color=shade,
                       width=0.04, name=f"photos ({label})", showlegend=False, row=2, col=1)
    figure.update_layout(title="Is it as sure as it is right?", barmode="group",
                         **{**LAYOUT, "height": 460, "margin": {"t": 50, "b": 10, "l": 10, "r": 10}})
    figure.update_xaxes(range=[low - 0.01, 1.01], tickformat=".0%", dtick=0.1)
    figure.update_xaxes(title_text="how sure it was (mean confidence in each bin)", row=2, col=1)
    bottom = min([low, *(row["interval"][0] for row in filled)])
    figure.update_yaxes(title_text="right", tickformat=".0%", range=[bottom - 0.02, 1.02], row=1, col=1)
    figure.update_yaxes(title_text="photos", row=2, col=1)
    return figure


def study_figure(rows: Sequence[Mapping[str, Any]], references: Mapping[str, float],
                 curve: Mapping[str, Any] | None = None) -> go.Figure:
    """Test (else validation) accuracy against training images on a log axis: one point per run with its 95%
    interval where the photos it was measured on are known, and a band from the lowest to the highest repeat at
    each size when there are repeats. With a learning `curve` (`lab.evaluation.learning_curve`), its fit is
    drawn solid over the sizes measured and dashed beyond them, with the target accuracy as a dotted line. The
    x axis is marked at the sizes measured, and the accuracy axis follows `lab.evaluation.accuracy_axis`."""
    points = [_study_point(row) for row in rows if row.get("train_images")]
    points = [point for point in points if point[1] is not None]
    figure = go.Figure()
    by_size: dict[int, list[float]] = {}
    for x, y, _ in points:
        by_size.setdefault(x, []).append(y)
    sizes = sorted(by_size)
    if any(len(values) > 1 for values in by_size.values()):
        upper, lower = [max(by_size[s]) for s in sizes], [min(by_size[s]) for s in sizes]
        figure.add_scatter(x=sizes + sizes[::-1], y=upper + lower[::-1],
                           fill="toself", fillcolor="rgba(99,110,250,0.15)", line={"width": 0},
                           name="run-to-run spread", hoverinfo="skip")
    _add_runs(figure, points)
    figure.add_scatter(x=sizes, y=[sum(by_size[s]) / len(by_size[s]) for s in sizes], mode="lines",
                       name="mean", line={"color": colour(0)})
    for label, accuracy in references.items():
        figure.add_hline(y=accuracy, line_dash="dot", line_color="grey", annotation_text=f"published: {label}")
    if curve and curve.get("fit"):
        _add_fit(figure, curve)
    shown = [y for trace in figure.data for y in trace.y] + [v for _, _, i in points if i for v in i]
    figure.update_layout(title="accuracy against training images", xaxis_title="training images",
                         yaxis_title="accuracy", **LAYOUT)
    figure.update_xaxes(type="log", tickmode="array", tickvals=sizes, ticktext=[f"{s:,}" for s in sizes],
                        minor={"ticks": "", "showgrid": False})
    figure.update_yaxes(range=accuracy_range([*shown, *references.values()]), tickformat=".0%")
    return figure


def _study_point(row: Mapping[str, Any]) -> tuple[int, float | None, Interval | None]:
    """A run's (training images, accuracy, its interval): test accuracy on its test photos, else the best
    validation accuracy (whose photo count the row does not hold, so no interval)."""
    if row.get("test_accuracy") is not None:
        return row["train_images"], row["test_accuracy"], accuracy_interval(row["test_accuracy"],
                                                                            row.get("test_images"))
    return row["train_images"], row.get("best_val_accuracy"), None


def _add_runs(figure: go.Figure, points: Sequence[tuple[int, float, Interval | None]]) -> None:
    """One marker per run, with its interval as an error bar (none where it is unknown)."""
    above = [interval[1] - y if interval else 0.0 for _, y, interval in points]
    below = [y - interval[0] if interval else 0.0 for _, y, interval in points]
    figure.add_scatter(x=[x for x, _, _ in points], y=[y for _, y, _ in points], mode="markers", name="a run",
                       marker={"size": 10, "color": colour(0)},
                       error_y={"type": "data", "symmetric": False, "array": above, "arrayminus": below,
                                "color": colour(0), "thickness": 1.5, "width": 6},
                       hovertemplate="%{x:,} images: %{y:.1%}<extra>a run, with its 95% interval</extra>")


def _add_fit(figure: go.Figure, curve: Mapping[str, Any]) -> None:
    fit, target = curve["fit"], curve["images_for"]["target"]
    for part, dash, name in (("measured", "solid", f"fit: {fit['law']}"), ("extrapolated", "dash", "extrapolated")):
        figure.add_scatter(x=fit[part]["images"], y=fit[part]["accuracy"], mode="lines", name=name,
                           line={"color": colour(1), "dash": dash}, hovertemplate="%{x:,.0f} images: %{y:.1%}")
    figure.add_hline(y=target, line_dash="dot", line_color=colour(1), annotation_text=f"target {target:.0%}")


def size_map(cells: Sequence[SizeCell], cell_pixels: int) -> go.Figure:
    """One dot per class and `cell_pixels`-square cell of (width, height), its area in proportion to images.

    Each class is a trace of its own colour, the colours of `colour` in class order (as the class-balance
    bars use them). The classes' dots of one cell sit side by side, drawn as rings with a faint fill, so
    both classes stay readable where their sizes overlap; no dot is so small that a few images vanish.
    """
    largest = max((c.images for c in cells), default=1)
    labels = sorted({c.label for c in cells})
    figure = go.Figure()
    for index, label in enumerate(labels):
        mine, named = [c for c in cells if c.label == label], chart_text(label)
        shift = cell_pixels * (0.5 + (index - (len(labels) - 1) / 2) / (2 * len(labels)))
        figure.add_scatter(
            x=[c.width + shift for c in mine], y=[c.height + cell_pixels / 2 for c in mine], mode="markers",
            name=named, customdata=[(c.images, c.width, c.width + cell_pixels - 1, c.height,
                                     c.height + cell_pixels - 1) for c in mine],
            hovertemplate=f"{named}: %{{customdata[0]:,}} images of %{{customdata[1]}}-%{{customdata[2]}} x "
                          "%{customdata[3]}-%{customdata[4]} pixels<extra></extra>",
            marker={"size": [c.images for c in mine], "sizemode": "area", "sizeref": largest / 40**2,
                    "sizemin": 6, "color": _faint(colour(index)), "line": {"width": 2, "color": colour(index)}})
    figure.update_layout(title=f"Image sizes: one dot per {cell_pixels} x {cell_pixels}-pixel cell, sized by images",
                         xaxis_title="width (pixels)", yaxis_title="height (pixels)", legend_title_text="class",
                         **{**LAYOUT, "margin": {"t": 50, "b": 10, "l": 10, "r": 10}})
    return figure


def _faint(hex_colour: str, alpha: float = 0.25) -> str:
    red, green, blue = hex_to_rgb(hex_colour)
    return f"rgba({red},{green},{blue},{alpha})"


def probability_bars(probabilities: Mapping[str, float], threshold: float) -> go.Figure:
    """One horizontal bar per class (the answer highlighted), with the "not sure" threshold as a dotted line."""
    classes = list(probabilities)
    best = max(classes, key=probabilities.get)
    figure = go.Figure(go.Bar(x=[probabilities[c] for c in classes], y=[chart_text(c) for c in classes],
                              orientation="h",
                              marker_color=[colour(0) if c == best else "lightgrey" for c in classes],
                              text=[f"{probabilities[c]:.1%}" for c in classes], textposition="auto"))
    figure.add_vline(x=threshold, line_dash="dot", line_color="grey")
    figure.update_layout(xaxis={"range": [0, 1], "tickformat": ".0%"}, yaxis_autorange="reversed",
                         height=60 + 36 * len(classes), margin={"t": 24, "b": 10, "l": 10, "r": 10})
    return figure
