"""An accuracy in words, always with its 95% interval for the photos it was measured on.

97.0% on 500 photos could be anything from 95.1% to 98.2%; 96% on 50 photos, from 86.5% to 98.9%. A figure without
that range invites reading a one-point gap as a result, so every accuracy the pages, the CLI's JSON and the
model card show goes through here: "97.0% (95.1-98.2%)". The interval is Wilson's (`accuracy_axis`), for the
photos it was measured on (the test photos, the validation photos, one epoch's training photos). Where that count
is unknown the figure stands alone, never with a made-up range.
"""

from __future__ import annotations

from lab.evaluation.accuracy_axis import accuracy_interval

MISSING = "—"


def interval_bounds(accuracy: float | None, images: int | None) -> list[float] | None:
    """The 95% interval as [low, high] (what JSON carries); None when the accuracy or its photos are unknown."""
    if not isinstance(accuracy, (int, float)) or not images:
        return None
    return list(accuracy_interval(float(accuracy), int(images)))


def interval_text(accuracy: float | None, images: int | None) -> str | None:
    """"95.1-98.2%": the 95% interval alone, for a column of its own; None when it is unknown."""
    bounds = interval_bounds(accuracy, images)
    return None if bounds is None else f"{bounds[0]:.1%}".rstrip("%") + f"-{bounds[1]:.1%}"


def accuracy_text(accuracy: float | None, images: int | None) -> str:
    """"97.0% (95.1-98.2%)": the accuracy with its interval; the figure alone when the photos are unknown, a
    dash when there is no figure."""
    if not isinstance(accuracy, (int, float)):
        return MISSING
    interval = interval_text(accuracy, images)
    return f"{accuracy:.1%}" + (f" ({interval})" if interval else "")


def interval_sentence(accuracy: float | None, images: int | None) -> str | None:
    """"95% interval 95.1-98.2% on 500 photos": what a caption under a big figure says; None when unknown."""
    interval = interval_text(accuracy, images)
    return None if interval is None else f"95% interval {interval} on {int(images):,} photos"
