"""The photo map: every photo a point where the backbone places it, coloured by what the reader asks about.

`photo_map_figure` is the Plotly figure a page draws (each point's index in `customdata`, so a selection maps
back to its photos); `map_html` the same map as one offline HTML file to hand out, where hovering a point shows
its photo and clicking it shows it larger with its label and the run's answer; `map_rows` the coordinates as
JSON rows.

File and class names are data, not markup: Plotly renders a subset of HTML in hover text (`<b>`, `<a href>`),
so they are escaped there (`hover_text`), and the HTML file's script sets them as text, never as HTML.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lab.data.records import ImageRecord
from lab.data.thumbnail import square_thumbnail
from lab.errors import LabError
from lab.progress import Progress, no_progress

COLOURS = ("class", "split", "prediction", "mistake", "score")
THUMBNAIL_SIDE = 96  # px: about 5 KB a photo as a data URI, so 3,000 photos make a 15 MB file
LARGER = 3  # a click shows the thumbnail this many times larger
NO_VALUE = "none"  # a photo with no split or no answer


@dataclass(frozen=True)
class MapPoint:
    """One photo on the map. `prediction`: the run's answer, where it has one; `score`: the caller's ("looks
    wrong", say)."""

    index: int
    path: str
    label: str
    split: str | None
    x: float
    y: float
    prediction: str | None = None
    score: float | None = None

    @property
    def name(self) -> str:
        return Path(self.path).name

    @property
    def mistake(self) -> bool | None:
        return None if self.prediction is None else self.prediction != self.label


def map_points(records: Sequence[ImageRecord], coordinates: np.ndarray, *,
               predictions: Mapping[str, str] | None = None, scores: Sequence[float] | None = None) -> list[MapPoint]:
    """A point per record at its row of `coordinates`; `predictions` by digest, `scores` one per record."""
    if len(coordinates) != len(records) or (scores is not None and len(scores) != len(records)):
        raise ValueError("records, coordinates and scores must have one row per photo")
    answers = predictions or {}
    return [MapPoint(i, record.path, record.label, record.split, float(x), float(y), answers.get(record.digest),
                     None if scores is None else float(scores[i]))
            for i, (record, (x, y)) in enumerate(zip(records, coordinates))]


def map_rows(points: Sequence[MapPoint]) -> list[dict[str, Any]]:
    """The `--json` rows: path, label, split, x, y; prediction and mistake when the map has answers, score
    when it has scores (null for a photo without)."""
    answered = any(point.prediction is not None for point in points)
    scored = any(point.score is not None for point in points)
    return [{"path": p.path, "label": p.label, "split": p.split, "x": p.x, "y": p.y,
             **({"prediction": p.prediction, "mistake": p.mistake} if answered else {}),
             **({"score": p.score} if scored else {})} for p in points]


def hover_text(point: MapPoint) -> str:
    """The point's hover lines, every name escaped for Plotly's HTML subset."""
    lines = [f"<b>{_escape(point.name)}</b>", f"label: {_escape(point.label)}", f"split: {_escape(point.split or NO_VALUE)}"]
    if point.prediction is not None:
        lines.append(f"answer: {_escape(point.prediction)}" + (" (wrong)" if point.mistake else ""))
    if point.score is not None:
        lines.append(f"score: {point.score:.3g}")
    return "<br>".join(lines)


def _escape(text: str) -> str:
    """`html.escape`, with the double quote as a numeric entity (Plotly decodes those, not `&quot;`)."""
    return html.escape(text).replace("&quot;", "&#34;")


def photo_map_figure(points: Sequence[MapPoint], colour: str = "class", *, score_name: str = "score",
                     title: str = ""):
    """Plotly figure: a trace per value of `colour` (or one coloured by the score), each point's index in
    `customdata`."""
    import plotly.graph_objects as go

    if colour not in COLOURS:
        raise LabError(f"--colour must be one of {', '.join(COLOURS)}, not {colour!r}.")
    figure = go.Figure()
    if colour == "score":
        _check_scores(points)
        figure.add_trace(_trace(points, score_name, marker={"color": [p.score for p in points], "colorscale": "Viridis",
                                                           "colorbar": {"title": {"text": _escape(score_name)}}}))
    else:
        groups: dict[str, list[MapPoint]] = {}
        for point in points:
            groups.setdefault(_category(point, colour), []).append(point)
        for name, members in sorted(groups.items()):
            figure.add_trace(_trace(members, name))
    figure.update_layout(title=_escape(title), legend_title_text=colour, xaxis={"visible": False},
                         yaxis={"visible": False, "scaleanchor": "x"}, plot_bgcolor="white", dragmode="pan",
                         margin={"l": 10, "r": 10, "t": 50 if title else 10, "b": 10})
    return figure


def _trace(points: Sequence[MapPoint], name: str, marker: dict | None = None):
    import plotly.graph_objects as go

    return go.Scattergl(x=[p.x for p in points], y=[p.y for p in points], mode="markers", name=_escape(name),
                        customdata=[p.index for p in points], hovertext=[hover_text(p) for p in points],
                        hovertemplate="%{hovertext}<extra></extra>", marker={"size": 6, "opacity": 0.8, **(marker or {})})


def _category(point: MapPoint, colour: str) -> str:
    if colour == "class":
        return point.label
    if colour == "split":
        return point.split or NO_VALUE
    if point.prediction is None:
        return "no answer"
    if colour == "prediction":
        return point.prediction
    return "wrong" if point.mistake else "right"


def _check_scores(points: Sequence[MapPoint]) -> None:
    if any(point.score is None or not np.isfinite(point.score) for point in points):
        raise LabError("Colouring by score needs a finite score for every photo.")


def map_html(points: Sequence[MapPoint], colour: str = "class", *, title: str = "Photo map",
             score_name: str = "score", thumbnail_side: int = THUMBNAIL_SIDE,
             on_progress: Progress = no_progress) -> str:
    """One self-contained HTML file (Plotly's script inside, photos as JPEG data URIs): hover a point to see its
    photo, click it to see it larger with its label and the run's answer."""
    figure = photo_map_figure(points, colour, score_name=score_name, title=title)
    photos = [{"src": src, "name": p.name, "label": p.label, "split": p.split or NO_VALUE,
               "prediction": p.prediction} for p, src in zip(points, thumbnails(points, thumbnail_side, on_progress))]
    script = HOVER_SCRIPT.replace("__LARGE_SIDE__", str(LARGER * thumbnail_side))  # before the photos' names
    script = script.replace("__PHOTOS__", _script_json(photos))
    return figure.to_html(full_html=True, include_plotlyjs=True, div_id="photo-map", post_script=script,
                          config={"scrollZoom": True, "displaylogo": False}, default_height="90vh")


def thumbnails(points: Sequence[MapPoint], side: int, on_progress: Progress = no_progress) -> list[str | None]:
    """A JPEG data URI per point (None where the file does not decode), decoded in threads."""
    def one(path: str) -> str | None:
        image = square_thumbnail(path, side)
        if image is None:
            return None
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=70)
        return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()

    made: list[str | None] = []
    with ThreadPoolExecutor(max_workers=4) as pool:
        for uri in pool.map(one, [point.path for point in points]):
            made.append(uri)
            if len(made) % 100 == 0 or len(made) == len(points):
                on_progress(len(made), len(points), "making thumbnails")
    return made


def _script_json(value: Any) -> str:
    """JSON safe inside a <script>: no `</script>` or `<!--` can close or confuse it."""
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


# Runs once the plot exists (`post_script`; `{plot_id}` is the plot's div). Names are set with textContent.
HOVER_SCRIPT = """
const plot = document.getElementById('{plot_id}');
const photos = __PHOTOS__;
const tip = document.createElement('img');
tip.id = 'photo-map-hover';
tip.style.cssText = 'position:fixed;display:none;pointer-events:none;z-index:10;border:2px solid #fff;' +
  'box-shadow:0 2px 8px rgba(0,0,0,.4);background:#fff';
document.body.appendChild(tip);
const panel = document.createElement('div');
panel.id = 'photo-map-panel';
panel.style.cssText = 'position:fixed;display:none;top:20px;right:20px;z-index:20;background:#fff;padding:12px;' +
  'border-radius:6px;box-shadow:0 4px 16px rgba(0,0,0,.4);font:14px sans-serif;max-width:45vw';
const large = document.createElement('img');
large.style.cssText = 'display:block;width:__LARGE_SIDE__px;max-width:100%';
const caption = document.createElement('div');
const close = document.createElement('button');
close.textContent = 'Close';
close.onclick = () => { panel.style.display = 'none'; };
panel.append(large, caption, close);
document.body.appendChild(panel);
plot.on('plotly_hover', (event) => {
  const photo = photos[event.points[0].customdata];
  if (!photo || !photo.src) { return; }
  tip.src = photo.src;
  tip.style.display = 'block';
  const mouse = event.event || {clientX: 20, clientY: 20};
  const left = mouse.clientX - tip.width - 20;  // left of the pointer: Plotly's label is on its right
  tip.style.left = (left > 0 ? left : mouse.clientX + 20) + 'px';
  tip.style.top = Math.max(8, Math.min(mouse.clientY - tip.height / 2, window.innerHeight - tip.height - 8)) + 'px';
});
plot.on('plotly_unhover', () => { tip.style.display = 'none'; });
plot.on('plotly_click', (event) => {
  const photo = photos[event.points[0].customdata];
  if (!photo) { return; }
  large.src = photo.src || '';
  const lines = [photo.name, 'label: ' + photo.label, 'split: ' + photo.split];
  if (photo.prediction !== null) {
    lines.push('answer: ' + photo.prediction + (photo.prediction === photo.label ? '' : ' (wrong)'));
  }
  caption.textContent = '';
  lines.forEach((line) => { const row = document.createElement('div'); row.textContent = line; caption.append(row); });
  panel.style.display = 'block';
});
document.addEventListener('keydown', (event) => { if (event.key === 'Escape') { panel.style.display = 'none'; } });
"""
