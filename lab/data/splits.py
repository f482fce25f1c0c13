"""Deterministic, stratified splits and nested subsets.

Every class is shuffled once with a seed and then cut, so each split keeps the class balance of the
whole, the same seed always gives the same files, and a smaller subset is always a prefix of a larger
one: the tutorial's 1K subset lies inside its 20K training set, as it did there.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence

from lab.data.records import ImageRecord
from lab.errors import LabError


def by_class(records: Sequence[ImageRecord], *, seed: int, salt: str) -> dict[str, list[ImageRecord]]:
    """Records grouped by label, each group in a seeded order independent of the input order."""
    groups: dict[str, list[ImageRecord]] = defaultdict(list)
    for record in sorted(records, key=lambda r: r.path):
        groups[record.label].append(record)
    for label, group in groups.items():
        random.Random(f"{seed}:{salt}:{label}").shuffle(group)
    return dict(sorted(groups.items()))


def allocate(available: dict[str, int], wanted: int, *, what: str) -> dict[str, int]:
    """Split `wanted` across classes in proportion to `available` (largest remainder)."""
    total = sum(available.values())
    if wanted > total:
        raise LabError(f"{what} asks for {wanted:,} images but only {total:,} are available: "
                       f"choose at most {total:,}.")
    if wanted < len(available):
        raise LabError(f"{what} asks for {wanted:,} images, fewer than one per class "
                       f"({len(available)} classes): choose at least {len(available)}.")
    exact = {label: wanted * count / total for label, count in available.items()}
    shares = {label: max(1, int(value)) for label, value in exact.items()}
    by_remainder = sorted(exact, key=lambda label: exact[label] - int(exact[label]), reverse=True)
    for label in by_remainder[: max(0, wanted - sum(shares.values()))]:
        shares[label] += 1
    while sum(shares.values()) > wanted:  # the one-per-class floor overshot: take from the largest
        shares[max(shares, key=shares.get)] -= 1
    return shares


def resolve_count(amount: float | int, total: int, *, what: str) -> int:
    """A fraction in [0, 1) of `total`, or a whole count, as a count."""
    if isinstance(amount, float) and amount < 1:
        if amount < 0:
            raise LabError(f"{what} must be a fraction between 0 and 1 or a count, not {amount}.")
        return round(amount * total)
    count = int(amount)
    if count != amount or count < 0:
        raise LabError(f"{what} must be a fraction between 0 and 1 or a whole count, not {amount}.")
    return count


def stratified_subset(records: Sequence[ImageRecord], size: int | None, *, seed: int, what: str) -> list[ImageRecord]:
    """The first `size` records of each class's seeded order, in proportion: nested across sizes."""
    if size is None or size == len(records):
        return list(records)
    groups = by_class(records, seed=seed, salt="subset")
    shares = allocate({label: len(group) for label, group in groups.items()}, size, what=what)
    return [record for label, group in groups.items() for record in group[: shares[label]]]


def carve(records: Sequence[ImageRecord], sizes: dict[str, int], *, seed: int) -> dict[str, list[ImageRecord]]:
    """Cut `records` into named stratified parts of the given sizes; what is left is `train`."""
    groups = by_class(records, seed=seed, salt="carve")
    available = {label: len(group) for label, group in groups.items()}
    parts: dict[str, list[ImageRecord]] = {}
    offsets = dict.fromkeys(groups, 0)
    for name, size in sizes.items():
        if size == 0:
            continue
        shares = allocate(available, size, what=f"the {name} split")
        parts[name] = [r for label, group in groups.items()
                       for r in group[offsets[label]: offsets[label] + shares[label]]]
        for label, share in shares.items():
            offsets[label] += share
            available[label] -= share
    parts["train"] = [r for label, group in groups.items() for r in group[offsets[label]:]]
    return parts
