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
from callbacksim.rules import order, timestamps

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
def _predecessors(edition: Edition) -> tuple[tuple[str, ...], dict[str, tuple[str, ...]]]:
    """The edition's timestamps, and for each the timestamps it must not precede.

    `TIMESTAMPS` is declared in an order where every constraint points forward (checked below), so
    a timestamp placed in that order only ever has to follow earlier-placed ones: its allowed
    positions are every level from the latest such one on, tied or new.
    """
    keys = timestamps(edition)
    edges = order(edition)
    index = {k: i for i, k in enumerate(keys)}
    backward = [b for b in edges if index[b.earlier] > index[b.later]]
    if backward:  # pragma: no cover - guards the declaration in rules.py
        msg = f"TIMESTAMPS must list earlier timestamps first; these point backward: {backward}"
        raise AssertionError(msg)
    return keys, {k: tuple(b.earlier for b in edges if b.later == k) for k in keys}


def _low(rank: dict[str, int], preds: tuple[str, ...]) -> int:
    """The highest level among the placed timestamps that ``key`` must follow (-1: none)."""
    low = -1
    for p in preds:
        r = rank.get(p, -1)
        if r > low:
            low = r
    return low


def _count_positions(n: int, low: int) -> tuple[int, int]:
    """(first level a tie may join, number of ties) and so ``ties + n - low`` positions in all:
    ties with levels ``first..n-1`` come first (earliest first), then new levels inserted at gaps
    ``low+1..n`` (earliest first)."""
    first = low if low > 0 else 0
    return first, n - first


def _place(levels: list[list[str]], rank: dict[str, int], key: str, low: int, i: int) -> None:
    """Put ``key`` at position ``i`` of its allowed positions (see `_count_positions`), in place."""
    first, ties = _count_positions(len(levels), low)
    if i < ties:
        levels[first + i].append(key)
        rank[key] = first + i
        return
    j = low + 1 + (i - ties)
    levels.insert(j, [key])
    for k, r in rank.items():
        if r >= j:
            rank[k] = r + 1
    rank[key] = j


def _freeze(levels: list[list[str]]) -> OrderingClass:
    return OrderingClass(tuple(tuple(level) for level in levels))


def classes(
    edition: Edition = Edition.SEED,
    *,
    require: Collection[str] = (),
    forbid: Collection[str] = (),
) -> Iterator[OrderingClass]:
    """Every valid ordering class of ``edition`` (``require`` present, ``forbid`` absent)."""
    keys, preds = _predecessors(edition)

    def rec(i: int, levels: list[list[str]], rank: dict[str, int]) -> Iterator[OrderingClass]:
        if i == len(keys):
            yield _freeze(levels)
            return
        key = keys[i]
        if key not in require:
            yield from rec(i + 1, levels, rank)
        if key in forbid or (key in _NEEDS and _NEEDS[key] not in rank):
            return
        low = _low(rank, preds[key])
        _, ties = _count_positions(len(levels), low)
        for position in range(ties + len(levels) - low):
            new_levels, new_rank = [list(level) for level in levels], dict(rank)
            _place(new_levels, new_rank, key, low, position)
            yield from rec(i + 1, new_levels, new_rank)

    yield from rec(0, [], {})


def is_valid(cls: OrderingClass, edition: Edition = Edition.SEED) -> bool:
    """Whether ``cls`` is a valid class of ``edition`` (whose timestamps it must only name)."""
    keys, preds = _predecessors(edition)
    rank = cls.rank()
    if not set(rank) <= set(keys):
        return False
    if any(k in rank and need not in rank for k, need in _NEEDS.items()):
        return False
    return all(rank.get(p, -1) <= r for k, r in rank.items() for p in preds[k])


def count_classes(
    edition: Edition = Edition.SEED,
    *,
    require: Collection[str] = (),
    forbid: Collection[str] = (),
) -> int:
    """How many classes `classes` yields, counted without listing them (memoised on what the
    remaining timestamps can still see: the level count and the ranks of their predecessors)."""
    return _count(edition, frozenset(require), frozenset(forbid))


@cache
def _count(edition: Edition, require: frozenset[str], forbid: frozenset[str]) -> int:
    keys, preds = _predecessors(edition)
    # What a placed timestamp can still matter to: later timestamps that must follow it, or that
    # need it present.
    watched = [
        {p for later in keys[i:] for p in preds[later]}
        | {_NEEDS[k] for k in keys[i:] if k in _NEEDS}
        for i in range(len(keys) + 1)
    ]

    @cache
    def rec(i: int, n: int, ranks: tuple[tuple[str, int], ...]) -> int:
        if i == len(keys):
            return 1
        key, seen = keys[i], watched[i + 1]
        total = 0
        rank = dict(ranks)
        if key not in require:
            total += rec(i + 1, n, tuple((k, r) for k, r in ranks if k in seen))
        if key in forbid or (key in _NEEDS and _NEEDS[key] not in rank):
            return total
        low = _low(rank, preds[key])
        _, ties = _count_positions(n, low)
        for position in range(ties + n - low):
            # Only the number of levels and the watched ranks matter from here on.
            levels: list[list[str]] = [[] for _ in range(n)]
            new_rank = dict(rank)
            _place(levels, new_rank, key, low, position)
            kept = tuple(sorted((k, r) for k, r in new_rank.items() if k in seen))
            total += rec(i + 1, len(levels), kept)
        return total

    return rec(0, 0, ())


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
    keys, preds = _predecessors(edition)
    levels: list[list[str]] = []
    rank: dict[str, int] = {}
    for key in keys:
        if key in forbid or (key in _NEEDS and _NEEDS[key] not in rank):
            continue
        if key not in require and not present(key):
            continue
        low = _low(rank, preds[key])
        _, ties = _count_positions(len(levels), low)
        _place(levels, rank, key, low, choose(key, ties + len(levels) - low))
    return _freeze(levels)
