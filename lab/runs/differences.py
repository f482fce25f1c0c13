"""What differs between runs picked to compare: the config fields that differ, and the metric changes.

Plain data in, plain data out, so the Compare page and a CLI say the same: `config_differences` keeps only
the fields whose values differ between the configs (a field one config lacks counts as differing), as text
without "None" (`shown_value`), and `points_change` says a metric's change against the first run picked in
percentage points.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ALL_WHEN_UNSET = ("train_size", "validation_size")  # None there means every image of the split


def config_differences(configs: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, str]]:
    """Per run (by name), its value of each field that differs between `configs`, as text, fields sorted;
    an empty dict per run when the configurations are identical."""
    fields = sorted({field for config in configs.values() for field in config})
    changed = [field for field in fields if len({repr(config.get(field)) for config in configs.values()}) > 1]
    return {name: {field: shown_value(field, config.get(field)) for field in changed}
            for name, config in configs.items()}


def shown_value(field: str, value: Any) -> str:
    """A config value as people read it: an unset size is "all" (every image of its split), anything else
    unset "—" (never "None")."""
    if value is None:
        return "all" if field in ALL_WHEN_UNSET else "—"
    return str(value)


def points_change(value: float | None, base: float | None) -> str | None:
    """`value` against `base` (fractions, such as accuracies) in percentage points: "+2.5 points"; None
    when either is unknown."""
    return f"{(value - base) * 100:+.1f} points" if None not in (value, base) else None
