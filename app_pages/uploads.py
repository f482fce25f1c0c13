"""Uploads as the settings allow them: in demo mode at most `DEMO_UPLOAD_MB` each.

The limit is given to the upload widget (the browser refuses a larger file at once) and checked again
here on the server, since a browser's checks are the visitor's to skip. Not a page.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from lab.settings import DEMO_UPLOAD_MB, Settings


def upload_mb(settings: Settings) -> int | None:
    """The upload widget's `max_upload_size`: None keeps the server's own limit."""
    return DEMO_UPLOAD_MB if settings.demo else None


def small_enough(files: list[Any], settings: Settings) -> list[Any]:
    """The uploaded files within the limit; each larger one is named in a warning and left out."""
    limit = settings.upload_limit_bytes
    if limit is None:
        return files
    for file in (f for f in files if f.size > limit):
        st.warning(f"{file.name} is larger than {DEMO_UPLOAD_MB} MB, the limit for uploads on this server: "
                   "choose a smaller file.", icon=":material/block:")
    return [file for file in files if file.size <= limit]


def one_small_enough(file: Any | None, settings: Settings) -> Any | None:
    """`small_enough` for an upload widget of one file: the file, or None when there is none or it is too large."""
    return next(iter(small_enough([file] if file is not None else [], settings)), None)
