"""The Hypothesis backend of the `Chooser` interface: every answer is a draw, so it shrinks."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from hypothesis import strategies as st

__all__ = ["HypothesisChooser"]

T = TypeVar("T")

_BOOLEANS = st.booleans()


class HypothesisChooser:
    """Answers a `Chooser`'s questions with draws. ``chance(p)`` is a fair coin for any
    ``0 < p < 1``: Hypothesis explores both branches of every rare case instead of seldom reaching
    them."""

    __slots__ = ("_draw", "_ints")

    def __init__(self, draw: Callable[[st.SearchStrategy[Any]], Any]) -> None:
        self._draw = draw
        self._ints: dict[tuple[int, int], st.SearchStrategy[int]] = {}

    def _integers(self, lo: int, hi: int) -> int:
        strategy = self._ints.get((lo, hi))
        if strategy is None:
            strategy = self._ints[(lo, hi)] = st.integers(lo, hi)
        result: int = self._draw(strategy)
        return result

    def below(self, n: int) -> int:
        return self._integers(0, n - 1) if n > 1 else 0

    def between(self, lo: int, hi: int) -> int:
        return self._integers(lo, hi) if hi > lo else lo

    def chance(self, p: float) -> bool:
        if p <= 0:
            return False
        if p >= 1:
            return True
        result: bool = self._draw(_BOOLEANS)
        return result

    def pick(self, items: Sequence[T]) -> T:
        return items[self.below(len(items))]

    def bits(self, k: int) -> int:
        return self._integers(0, (1 << k) - 1)
