"""Line charts as inline SVG, for a report that must open offline and stay small.

Plotly would need its 3.5 MB script inlined in every file; a chart of a few dozen points is a few kilobytes
of SVG that any browser draws with no script at all. Lines, markers, error bars, dashes, a log axis, a dotted
reference line and a legend are all a report's charts need; accuracies keep the pages' axis rule
(`lab.evaluation.accuracy_axis`). Every text is escaped: series names come from files.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from lab.evaluation.accuracy_axis import accuracy_range

COLOURS = ("#636efa", "#ef553b", "#00cc96", "#ab63fa", "#ffa15a", "#19d3f3", "#ff6692", "#b6e880")
WIDTH, HEIGHT = 640, 320
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 32, 44
LEGEND_ROW, LEGEND_COLUMNS = 18, 2
DASHES = {"solid": "", "dash": "6 4", "dot": "2 3"}


@dataclass(frozen=True)
class Series:
    """One line: its points, colour index, dash ("solid", "dash", "dot"), whether points get markers and
    whether they are joined (`line`)."""

    name: str
    xs: Sequence[float]
    ys: Sequence[float | None]
    colour: int = 0
    dash: str = "solid"
    markers: bool = True
    legend: bool = True
    line: bool = True
    intervals: Sequence[tuple[float, float] | None] = ()  # each point's interval, drawn as an error bar


@dataclass(frozen=True)
class Axes:
    """The data ranges mapped to the plot area; x on a log scale where asked."""

    x: tuple[float, float]
    y: tuple[float, float]
    log_x: bool
    whole_x: bool = False

    def px(self, value: float) -> float:
        low, high = (math.log10(v) for v in self.x) if self.log_x else self.x
        value = math.log10(value) if self.log_x else value
        return LEFT + (value - low) / ((high - low) or 1) * (WIDTH - LEFT - RIGHT)

    def py(self, value: float) -> float:
        low, high = self.y
        return TOP + (high - value) / ((high - low) or 1) * (HEIGHT - TOP - BOTTOM)


def line_chart(series: Sequence[Series], *, title: str, x_label: str, y_label: str, log_x: bool = False,
               references: Sequence[tuple[str, float]] = (), percent: bool = True) -> str:
    """An `<svg>` of the series (None values break nothing: they are left out), with `references` as dotted
    horizontal lines; y as percentages where `percent`, which are accuracies on the axis every accuracy chart
    shares (`lab.evaluation.accuracy_axis.accuracy_range`)."""
    points = [(x, y) for s in series for x, y in zip(s.xs, s.ys) if y is not None and (x > 0 or not log_x)]
    if not points:
        return ""
    ys = [y for _, y in points] + [value for _, value in references] + \
        [end for s in series for interval in s.intervals if interval for end in interval]
    axes = Axes(_span([x for x, _ in points]), accuracy_range(ys) if percent else _span(ys, pad=0.05), log_x,
                whole_x=all(float(x).is_integer() for x, _ in points))
    legend = [s for s in series if s.legend]
    height = HEIGHT + LEGEND_ROW * math.ceil(len(legend) / LEGEND_COLUMNS)
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" '
             f'width="{WIDTH}" height="{height}" role="img" aria-label="{escape(title)}">',
             f'<text x="{LEFT}" y="18" class="title">{escape(title)}</text>',
             *_grid(axes, percent), *_axis_labels(x_label, y_label)]
    for label, value in references:
        y = axes.py(value)
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="grey" '
                     f'stroke-dasharray="{DASHES["dot"]}"/><text x="{WIDTH - RIGHT}" y="{y - 4:.1f}" '
                     f'text-anchor="end" class="note">{escape(label)}</text>')
    parts += [_line(s, axes) for s in series]
    parts += _legend(legend)
    return "".join(parts) + "</svg>"


def _span(values: Sequence[float], pad: float = 0.0) -> tuple[float, float]:
    low, high = min(values), max(values)
    margin = (high - low) * pad or 0.01
    return (low - margin, high + margin) if pad else (low, high if high > low else low + 1)


def _ticks(low: float, high: float, log: bool, whole: bool = False) -> list[float]:
    """Round values to mark: powers of ten on a log axis, else steps of 1, 2 or 5 times a power of ten (whole
    numbers only where `whole`: never "epoch 1.2")."""
    if log:
        decades = range(math.floor(math.log10(low)), math.floor(math.log10(high)) + 1)
        steps = (1,) if len(decades) > 3 else (1, 2, 5)  # under three decades, 20 and 50 too
        return [m * 10.0 ** k for k in decades for m in steps if low <= m * 10.0 ** k <= high] or [low, high]
    step = 10 ** math.floor(math.log10((high - low) / 4 or 1))
    step = max(step, 1) if whole else step
    step *= next(m for m in (1, 2, 5, 10) if (high - low) / (step * m) <= 6)
    return [k * step for k in range(math.ceil(low / step), math.floor(high / step) + 1)]


def _grid(axes: Axes, percent: bool) -> list[str]:
    parts = []
    for x in _ticks(*axes.x, axes.log_x, whole=axes.whole_x):
        parts.append(f'<line x1="{axes.px(x):.1f}" x2="{axes.px(x):.1f}" y1="{TOP}" y2="{HEIGHT - BOTTOM}" '
                     f'class="grid"/><text x="{axes.px(x):.1f}" y="{HEIGHT - BOTTOM + 14}" text-anchor="middle" '
                     f'class="tick">{x:,.0f}</text>' if float(x).is_integer() else f'class="tick">{x:g}</text>')
    for y in _ticks(*axes.y, False):
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{axes.py(y):.1f}" y2="{axes.py(y):.1f}" '
                     f'class="grid"/><text x="{LEFT - 4}" y="{axes.py(y) + 4:.1f}" text-anchor="end" '
                     f'class="tick">{f"{y:.0%}" if percent else f"{y:g}"}</text>')
    return parts


def _axis_labels(x_label: str, y_label: str) -> list[str]:
    middle = (TOP + HEIGHT - BOTTOM) / 2
    return [f'<text x="{(LEFT + WIDTH - RIGHT) / 2}" y="{HEIGHT - 8}" text-anchor="middle" class="axis">'
            f'{escape(x_label)}</text>',
            f'<text transform="translate(14 {middle}) rotate(-90)" text-anchor="middle" class="axis">'
            f'{escape(y_label)}</text>']


def _line(series: Series, axes: Axes) -> str:
    colour = COLOURS[series.colour % len(COLOURS)]
    points = [(axes.px(x), axes.py(y)) for x, y in zip(series.xs, series.ys)
              if y is not None and (x > 0 or not axes.log_x)]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    dash = f' stroke-dasharray="{DASHES[series.dash]}"' if DASHES[series.dash] else ""
    marks = "".join(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}"/>' for x, y in points) \
        if series.markers else ""
    marks += "".join(_error_bar(axes.px(x), axes.py(low), axes.py(high), colour)
                     for x, y, (low, high) in _with_intervals(series, axes))
    line = f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>' if series.line else ""
    return f'<g class="series"><title>{escape(series.name)}</title>{line}{marks}</g>'


def _with_intervals(series: Series, axes: Axes) -> list[tuple[float, float, tuple[float, float]]]:
    return [(x, y, interval) for x, y, interval in zip(series.xs, series.ys, series.intervals)
            if y is not None and interval and (x > 0 or not axes.log_x)]


def _error_bar(x: float, bottom: float, top: float, colour: str) -> str:
    """A vertical line from the interval's low end to its high end, with short caps."""
    return (f'<path d="M{x:.1f},{bottom:.1f}V{top:.1f}M{x - 3:.1f},{bottom:.1f}H{x + 3:.1f}M{x - 3:.1f},{top:.1f}'
            f'H{x + 3:.1f}" stroke="{colour}" stroke-width="1.5" fill="none"/>')


def _legend(series: Sequence[Series]) -> list[str]:
    parts = []
    for index, s in enumerate(series):
        x = LEFT + (index % LEGEND_COLUMNS) * (WIDTH - LEFT) // LEGEND_COLUMNS
        y = HEIGHT + LEGEND_ROW * (index // LEGEND_COLUMNS) + 4
        colour = COLOURS[s.colour % len(COLOURS)]
        dash = f' stroke-dasharray="{DASHES[s.dash]}"' if DASHES[s.dash] else ""
        key = (f'<line x1="{x}" x2="{x + 22}" y1="{y}" y2="{y}" stroke="{colour}" stroke-width="2"{dash}/>'
               if s.line else f'<circle cx="{x + 11}" cy="{y}" r="3.5" fill="{colour}"/>')
        parts.append(f'{key}<text x="{x + 28}" y="{y + 4}" class="legend">{escape(_short(s.name))}</text>')
    return parts


def _short(name: str, limit: int = 44) -> str:
    return name if len(name) <= limit else name[:limit - 1] + "…"
