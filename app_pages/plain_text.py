"""Names from files and people shown as text: the one helper every page uses where a name meets Markdown.

Class folders, run names, tags, dataset and file names are never Markdown or HTML. Where Streamlit renders a
string as Markdown (a header, an expander's label, a metric's label, `st.markdown` beside bold words of the
lab's own), `as_text` escapes every mark in the name, so "![x](http://...)" reads as those characters and no
browser fetches the address. Where no Markdown is needed, `st.text` and dataframes show names as they are.
A message (a `LabError`'s) names files and folders too: `error_text` shows it as text, without the server's
paths in demo mode. Plotly draws a few HTML tags in labels, legends and hover text: `chart_text` keeps a name
out of them.
"""

from __future__ import annotations

import html
import re

from lab.access import shown_message
from lab.settings import Settings, load_settings

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>$:])")


def as_text(name: str) -> str:
    """A name from a file or a person as literal text in Markdown: every mark escaped."""
    return _MARKDOWN.sub(r"\\\1", name)


def error_text(error: Exception | str, settings: Settings | None = None) -> str:
    """A message for `st.error` or `st.warning`: in demo mode every server path in it by name (`shown_message`),
    and the names in it (files, folders, runs) as text."""
    return as_text(shown_message(str(error), settings or load_settings()))


def chart_text(name: str) -> str:
    """A name for a Plotly label, legend, axis category or hover text. Plotly draws `<b>`, `<u>`, `<a href>` and
    `<br>` there, so `<`, `>` and `&` become entities, which it shows as the characters themselves."""
    return html.escape(name, quote=False)
