"""Ordering classes: which timestamps a participant has, and their weak order (ties allowed).

A class is written earliest first, ties joined by ``=``:
``startTime < connectedTime = startHoldTime < endTime = startAcwTime``. The valid classes of an
edition are those that the ordering rules (`callbacksim.rules.ORDER`, restricted to the edition's
timestamps) and ``state.acw-after-end`` allow. They are enumerated here from that one declaration,
never listed by hand: `classes` yields each valid class exactly once, `walk` is the same procedure
driven by choices so that a generator can draw any valid class, and `relation` gives the pairwise
view that coverage reports use.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from functools import cache

import attrs

from callbacksim.model import Edition
from callbacksim.rules import Before, order, timestamps

__all__ = [
    "OrderingClass",
    "classes",
    "count_classes",
    "is_valid",
    "relation",
    "walk",
]

# Presence constraints: a timestamp that is present only if another is (state.acw-after-end).
_NEEDS: dict[str, str] = {"startAcwTime": "endTime"}


@attrs.frozen
class OrderingClass:
    """A participant's present timestamps, in levels of equal instants, earliest level first."""

    levels: tuple[tuple[str, ...], ...]

    @property
    def present(self) -> frozenset[str]:
        return frozenset(k for level in self.levels for k in level)

    def rank(self) -> dict[str, int]:
        """Each present timestamp's level index (equal for ties)."""
        return {k: i for i, level in enumerate(self.levels) for k in level}

    def __str__(self) -> str:
        if not self.levels:
            return "(no timestamps)"
        return " < ".join(" = ".join(level) for level in self.levels)

    @classmethod
    def parse(cls, text: str) -> OrderingClass:
        """The class written as by ``str()``."""
        text = text.strip()
        if text in ("", "(no timestamps)"):
            return cls(())
        return cls(tuple(tuple(k.strip() for k in lvl.split("=")) for lvl in text.split("<")))


def relation(ranks: dict[str, int], a: str, b: str) -> str:
    """``<``, ``=`` or ``>`` between two present timestamps, or ``absent`` if either is missing."""
    if a not in ranks or b not in ranks:
        return "absent"
    ra, rb = ranks[a], ranks[b]
    return "<" if ra < rb else "=" if ra == rb else ">"


@cache
def _constraints(edition: Edition) -> tuple[tuple[str, ...], dict[str, tuple[Before, ...]]]:
    keys = timestamps(edition)
    edges = order(edition)
    by_key = {k: tuple(b for b in edges if k in (b.earlier, b.later)) for k in keys}
    return keys, by_key


def _positions(
    levels: list[list[str]], key: str, edges: tuple[Before, ...]
) -> list[tuple[str, int]]:
    """Where ``key`` may go: ("tie", i) joins level i, ("new", j) inserts a new level before j.

    ``key`` must not come before any placed timestamp it follows (``low``, the highest such level)
    nor after any placed timestamp it precedes (``high``, the lowest such level).
    """
    rank = {k: i for i, level in enumerate(levels) for k in level}
    low = max((rank[b.earlier] for b in edges if b.later == key and b.earlier in rank), default=-1)
    high = min(
        (rank[b.later] for b in edges if b.earlier == key and b.later in rank),
        default=len(levels),
    )
    ties = [("tie", i) for i in range(max(low, 0), min(high, len(levels) - 1) + 1)]
    return ties + [("new", j) for j in range(low + 1, high + 1)]


def _place(levels: list[list[str]], key: str, where: tuple[str, int]) -> list[list[str]]:
    kind, i = where
    if kind == "tie":
        return [[*lvl, key] if n == i else lvl for n, lvl in enumerate(levels)]
    return [*levels[:i], [key], *levels[i:]]


def _freeze(levels: list[list[str]]) -> OrderingClass:
    return OrderingClass(tuple(tuple(level) for level in levels))


def classes(
    edition: Edition = Edition.SEED,
    *,
    require: Collection[str] = (),
    forbid: Collection[str] = (),
) -> Iterator[OrderingClass]:
    """Every valid ordering class of ``edition`` (``require`` present, ``forbid`` absent)."""
    keys, by_key = _constraints(edition)

    def rec(i: int, levels: list[list[str]], present: frozenset[str]) -> Iterator[OrderingClass]:
        if i == len(keys):
            yield _freeze(levels)
            return
        key = keys[i]
        if key not in require:
            yield from rec(i + 1, levels, present)
        if key in forbid or (key in _NEEDS and _NEEDS[key] not in present):
            return
        for where in _positions(levels, key, by_key[key]):
            yield from rec(i + 1, _place(levels, key, where), present | {key})

    yield from rec(0, [], frozenset())


def is_valid(cls: OrderingClass, edition: Edition = Edition.SEED) -> bool:
    """Whether ``cls`` is a valid class of ``edition`` (whose timestamps it must only name)."""
    keys, by_key = _constraints(edition)
    rank = cls.rank()
    if not set(rank) <= set(keys):
        return False
    if any(k in rank and need not in rank for k, need in _NEEDS.items()):
        return False
    return all(
        rank[b.earlier] <= rank[b.later]
        for edges in by_key.values()
        for b in edges
        if b.earlier in rank and b.later in rank
    )


@cache
def count_classes(edition: Edition = Edition.SEED) -> int:
    """How many valid ordering classes ``edition`` has."""
    return sum(1 for _ in classes(edition))


def walk(
    edition: Edition,
    present: Callable[[str], bool],
    choose: Callable[[str, int], int],
    *,
    require: Collection[str] = (),
    forbid: Collection[str] = (),
) -> OrderingClass:
    """One valid class, by the same steps as `classes`, with ``present(key)`` deciding whether an
    optional timestamp is there and ``choose(key, n)`` picking one of its ``n`` allowed positions:
    ties with existing levels first (earliest first), then new levels (earliest first).

    Every valid class can come out; a chooser that answers False and 0 gets the empty class, or
    the required timestamps all tied.
    """
    keys, by_key = _constraints(edition)
    levels: list[list[str]] = []
    placed: set[str] = set()
    for key in keys:
        if key in forbid or (key in _NEEDS and _NEEDS[key] not in placed):
            continue
        if key not in require and not present(key):
            continue
        # Ties come first: a chooser that shrinks toward 0 shrinks toward fewer distinct instants.
        options = _positions(levels, key, by_key[key])
        levels = _place(levels, key, options[choose(key, len(options))])
        placed.add(key)
    return _freeze(levels)
