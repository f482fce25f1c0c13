"""Uploads as the settings allow them: in demo mode at most `DEMO_UPLOAD_MB` each, and a photo at most
`PHOTO_UPLOAD_MB` anywhere (the server's own limit, 1 GB for a dataset's zip, says nothing useful under a
photo uploader).

The limit is given to the upload widget (the browser refuses a larger file at once) and checked again
here on the server, since a browser's checks are the visitor's to skip. Not a page.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from lab.settings import DEMO_UPLOAD_MB, PHOTO_UPLOAD_MB, Settings

PHOTO_TYPES = "JPEG, PNG, WebP, BMP or GIF"  # `app_pages.answers.UPLOAD_TYPES` in words


def upload_mb(settings: Settings) -> int | None:
    """The upload widget's `max_upload_size`: None keeps the server's own limit."""
    return DEMO_UPLOAD_MB if settings.demo else None


def photo_upload_mb(settings: Settings) -> int:
    """A photo uploader's `max_upload_size`, the limit the widget shows and the browser enforces."""
    return DEMO_UPLOAD_MB if settings.demo else PHOTO_UPLOAD_MB


def photo_words(settings: Settings) -> str:
    """What a photo uploader takes, in words: "JPEG, PNG, WebP, BMP or GIF, up to 25 MB each"."""
    return f"{PHOTO_TYPES}, up to {photo_upload_mb(settings)} MB each"


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
