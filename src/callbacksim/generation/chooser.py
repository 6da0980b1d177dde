"""The small interface that generation logic draws through.

Generation is written once, against `Chooser`. Two backends answer it: `RandomChooser`, a seeded
``random.Random`` for bulk data (fixture files, replay, load), and the Hypothesis backend in
`callbacksim.strategies`, whose answers shrink. Every method's simplest answer is 0 / False / the
first item, so a shrinking backend shrinks toward absent properties, first vocabulary entries,
ties and the anchor time.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Protocol, TypeVar

__all__ = ["Chooser", "MinimalChooser", "RandomChooser"]

T = TypeVar("T")


class Chooser(Protocol):
    def below(self, n: int) -> int:
        """An integer in ``[0, n)``; ``n`` >= 1."""
        ...

    def between(self, lo: int, hi: int) -> int:
        """An integer in ``[lo, hi]``."""
        ...

    def chance(self, p: float) -> bool:
        """True with probability about ``p`` (a shrinking backend may ignore ``p``)."""
        ...

    def pick(self, items: Sequence[T]) -> T:
        """One of ``items`` (non-empty)."""
        ...

    def bits(self, k: int) -> int:
        """A ``k``-bit integer."""
        ...


class RandomChooser:
    """A `Chooser` over a seeded ``random.Random``: fast, and the same answers for the same seed."""

    __slots__ = ("_getrandbits", "_random", "rng")

    def __init__(self, seed: int | random.Random) -> None:
        self.rng = seed if isinstance(seed, random.Random) else random.Random(seed)
        self._random = self.rng.random
        self._getrandbits = self.rng.getrandbits

    def below(self, n: int) -> int:
        return int(self._random() * n)

    def between(self, lo: int, hi: int) -> int:
        return lo + int(self._random() * (hi - lo + 1))

    def chance(self, p: float) -> bool:
        return self._random() < p

    def pick(self, items: Sequence[T]) -> T:
        return items[int(self._random() * len(items))]

    def bits(self, k: int) -> int:
        return self._getrandbits(k)


class MinimalChooser:
    """A `Chooser` that gives every question its simplest answer (0, False, the first item): the
    smallest thing a generation function can make, the one a shrinking backend shrinks toward.
    ``chance(p)`` is True only for ``p >= 1`` (a part that is always there)."""

    __slots__ = ()

    def below(self, n: int) -> int:
        return 0

    def between(self, lo: int, hi: int) -> int:
        return lo

    def chance(self, p: float) -> bool:
        return p >= 1

    def pick(self, items: Sequence[T]) -> T:
        return items[0]

    def bits(self, k: int) -> int:
        return 0
