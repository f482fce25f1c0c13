"""A run's status and training events in words: one line each, and how far a run has come.

The Train page's progress bar, `lab runs`, `lab train`'s progress lines and the run's `log.txt` say
the same things in the same words because they all call these functions. Events are the dicts
`lab.training.train.train` passes to `on_event` (`phase`, `batch` and `epoch`). `estimate_text` puts the
time expected at launch beside the time taken.
"""

from __future__ import annotations

import re
from typing import Any

from lab.runs.liveness import not_responding_for
from lab.runs.status import MEANINGS, QUEUED, RUNNING, STOPPED, Status
from lab.training.cost import duration_text, time_in_words

Event = dict[str, Any]
# TensorFlow's start-up chatter that every worker prints (absl-formatted lines: "I0000 00:00:...", the CUDA
# probe on a CPU machine, oneDNN's notice): kept in log.txt, left out of what a person reads.
_TENSORFLOW_NOISE = re.compile(r"^(?:[IWEF]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ \S+:\d+\]|"
                               r"WARNING: All log messages before absl::InitializeLog\(\) is called)")


NOT_RESPONDING = "not responding"  # a running run whose worker gave no sign of life within the limit


def meanings_text() -> str:
    """Every state and what it means, on one line (a status column's help)."""
    return "; ".join(f"{state}: {meaning}" for state, meaning in MEANINGS.items())


def shown_state(status: Status) -> str:
    """The state a person sees: the state on disk, or "not responding" for a silent running run."""
    return NOT_RESPONDING if not_responding_for(status) is not None else status.state


def state_word(status: Status, *, stopping: bool = False) -> str:
    """A run's state in a word or two, for a picker: "stopping" once a stop was asked for, "cancelled (never
    started)" for a run stopped while it waited, else `shown_state`."""
    if stopping and status.state == RUNNING:
        return "stopping"
    if status.state == STOPPED and status.started is None:
        return "cancelled (never started)"
    return shown_state(status)


def status_text(status: Status, *, stopping: bool = False) -> str:
    """One line for where a run is: its last batch while it trains, its state and error once it ended.
    `stopping`: a stop was asked for and the worker has not ended yet (it finishes the current batch)."""
    quiet = not_responding_for(status)
    if quiet is not None:
        ending = "ending it (SIGTERM, then SIGKILL)" if stopping else "Stop ends it (SIGTERM, then SIGKILL)"
        return (f"{NOT_RESPONDING}: no sign of life from its worker (process {status.pid}) for {quiet:.0f} s; "
                f"{ending}, its history kept")
    if stopping and status.active:
        return "stopping… (the current batch finishes first; history and best checkpoint are kept)"
    if not status.active:
        return status.state + (f": {status.error}" if status.error else "")
    if status.state == QUEUED:
        if status.held:
            return f"{QUEUED}: waiting for its study's features, computed once for all its runs ({status.held})"
        if status.task:
            return f"{QUEUED}: handed to the Ray cluster, waiting for room there (task {status.task[:12]})"
        return f"{QUEUED}: {MEANINGS[QUEUED]}"
    if status.progress:
        return progress_text(status.progress)
    return (status.phase or {}).get("message") or "starting the worker..."


def estimate_text(estimate: dict[str, Any], taken: float | None) -> str | None:
    """The time a run was expected to take at launch beside the time it took, once it ended (`taken`, from
    its metrics): "Took 2 min 5 s; expected about 2 minutes at launch (from 3 earlier runs)". None when no
    estimate was kept with the run."""
    seconds = estimate.get("seconds")
    if not isinstance(seconds, (int, float)):
        return None
    source = f" (from {estimate['rate_source']})" if estimate.get("rate_source") else ""
    if taken:
        return f"Took {duration_text(taken)}; expected {time_in_words(seconds)} at launch{source}."
    return f"Expected to take {time_in_words(seconds)}, as estimated at launch{source}."


def status_fraction(status: Status) -> float:
    """How far a run is, 0..1: a run that ended is complete, whether it finished or not."""
    if not status.active:
        return 1.0
    return progress_fraction(status.progress) if status.progress else 0.0


def event_text(event: Event) -> str:
    """One line for any training event."""
    kind = event.get("type")
    if kind == "batch":
        return progress_text(event)
    if kind == "epoch":
        return f"epoch {event.get('epoch')}/{event.get('epochs')}: {logs_text(event.get('logs') or {})}"
    return f"{event.get('phase')}: {event.get('message')}"


def progress_fraction(event: Event) -> float:
    """How far a batch event is through its phase, 0..1 (feature extraction has no epochs)."""
    batches = max(1, event.get("batches") or 1)
    within = (event.get("batch") or 0) / batches
    if not event.get("epochs"):
        return min(1.0, within)
    return min(1.0, max(0.0, ((event.get("epoch") or 1) - 1 + within) / event["epochs"]))


def progress_text(event: Event) -> str:
    """One line describing a batch event: `fine-tune · epoch 2/5 · batch 3/63 · loss 0.4123 · ...`."""
    parts = [str(event.get("phase") or "training")]
    if event.get("epochs"):
        parts.append(f"epoch {event.get('epoch')}/{event['epochs']}")
    parts.append(f"batch {event.get('batch')}/{event.get('batches')}")
    for name in ("loss", "accuracy"):
        if isinstance(event.get(name), (int, float)):
            parts.append(f"{name} {event[name]:.4f}")
    if event.get("images_per_second"):
        parts.append(f"{event['images_per_second']:.0f} images/s")
    if event.get("eta_seconds") is not None:
        parts.append(f"{time_in_words(event['eta_seconds'])} left")
    return " · ".join(parts)


def logs_text(logs: dict[str, Any]) -> str:
    """An epoch's logs on one line: `loss 0.4123 · val_accuracy 0.9100`."""
    return " · ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in logs.items())


def readable_log(text: str, lines: int = 30) -> str:
    """The last `lines` lines of a run's log without TensorFlow's start-up chatter."""
    kept = [line for line in text.splitlines() if not _TENSORFLOW_NOISE.match(line)]
    return "\n".join(kept[-lines:])
