"""What differs between runs picked to compare: the config fields that differ, and the metric changes.

Plain data in, plain data out, so the Compare page and a CLI say the same: `config_differences` keeps only
the fields whose values differ between the configs (a field one config lacks counts as differing), by the
label the Train page gives them ("Training images", not `train_size`), as text without "None" (`shown_value`),
and `points_change` says a metric's change against the first run picked in
percentage points.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

from lab.training.config import FIELDS

ALL_WHEN_UNSET = ("train_size", "validation_size")  # None there means every image of the split


def config_differences(configs: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, str]]:
    """Per run (by name), its value of each field that differs between `configs`, as text, by the field's
    label, in the Train page's order (fields it does not know after, sorted); an empty dict per run when the
    configurations are identical."""
    present = {field for config in configs.values() for field in config}
    fields = [field for field in FIELDS if field in present] + sorted(present - set(FIELDS))
    changed = [field for field in fields if len({repr(config.get(field)) for config in configs.values()}) > 1]
    return {name: {label(field): shown_value(field, config.get(field)) for field in changed}
            for name, config in configs.items()}


def label(field: str) -> str:
    """The words the Train page puts on a config field; a field it does not know goes by its name."""
    return FIELDS[field].label if field in FIELDS else field


def shown_value(field: str, value: Any) -> str:
    """A config value as people read it: an unset size is "all" (every image of its split), anything else
    unset "—" (never "None"), a flag "yes" or "no", the data by its folder's name (its path is under the
    run's technical details)."""
    if value is None:
        return "all" if field in ALL_WHEN_UNSET else "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return PurePath(str(value)).name if field == "data" else str(value)


def points_change(value: float | None, base: float | None) -> str | None:
    """`value` against `base` (fractions, such as accuracies) in percentage points: "+2.5 points"; None
    when either is unknown."""
    return f"{(value - base) * 100:+.1f} points" if None not in (value, base) else None
