"""Ordering classes: the enumeration is exactly the set of valid classes, checked by brute force."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from hypothesis import given, settings

from callbacksim.generation.chooser import RandomChooser
from callbacksim.model import Edition
from callbacksim.orderings import OrderingClass, classes, count_classes, is_valid, relation, walk
from callbacksim.rules import order, timestamps
from callbacksim.strategies import ordering_classes


def _weak_orders(items: list[str]) -> Iterator[tuple[frozenset[str], ...]]:
    """Every ordered set partition of ``items`` (independent of the code under test)."""
    if not items:
        yield ()
        return
    first, rest = items[0], items[1:]
    for wo in _weak_orders(rest):
        for i in range(len(wo)):
            yield (*wo[:i], wo[i] | {first}, *wo[i + 1 :])
        for i in range(len(wo) + 1):
            yield (*wo[:i], frozenset({first}), *wo[i:])


def _brute_force(edition: Edition) -> set[tuple[frozenset[str], ...]]:
    keys, edges = timestamps(edition), order(edition)
    found = set()
    for r in range(len(keys) + 1):
        for subset in itertools.combinations(keys, r):
            if "startAcwTime" in subset and "endTime" not in subset:
                continue
            for wo in _weak_orders(list(subset)):
                rank = {k: i for i, level in enumerate(wo) for k in level}
                if all(
                    rank[b.earlier] <= rank[b.later]
                    for b in edges
                    if b.earlier in rank and b.later in rank
                ):
                    found.add(wo)
    return found


def _frozen(cls: OrderingClass) -> tuple[frozenset[str], ...]:
    return tuple(frozenset(level) for level in cls.levels)


@pytest.mark.slow
def test_seed_enumeration_is_exactly_the_brute_force_set() -> None:
    enumerated = [_frozen(c) for c in classes(Edition.SEED)]
    assert len(enumerated) == len(set(enumerated)), "a class was enumerated twice"
    assert set(enumerated) == _brute_force(Edition.SEED)
    assert count_classes(Edition.SEED) == len(enumerated) == 21092


def test_require_and_forbid_restrict_the_enumeration() -> None:
    all_classes = list(classes(Edition.SEED))
    restricted = set(
        map(_frozen, classes(Edition.SEED, require={"endTime"}, forbid={"connectedTime"}))
    )
    expected = {
        _frozen(c)
        for c in all_classes
        if "endTime" in c.present and "connectedTime" not in c.present
    }
    assert restricted == expected


def test_every_enumerated_class_is_valid_and_invalid_ones_are_not() -> None:
    for cls in itertools.islice(classes(Edition.SDK_269), 5000):
        assert is_valid(cls, Edition.SDK_269)
    assert not is_valid(OrderingClass((("endTime",), ("startTime",))), Edition.SEED)
    assert not is_valid(OrderingClass((("startAcwTime",),)), Edition.SEED)
    assert not is_valid(OrderingClass((("parkTime",),)), Edition.SEED), "not a seed timestamp"
    assert is_valid(OrderingClass((("endTime", "startTime"),)), Edition.SEED), "ties are allowed"


@pytest.mark.parametrize("edition", list(Edition))
def test_walk_only_produces_valid_classes(edition: Edition) -> None:
    ch = RandomChooser(11)
    for _ in range(3000):
        cls = walk(edition, lambda _k: ch.chance(0.6), lambda _k, n: ch.below(n))
        assert is_valid(cls, edition), str(cls)


def _every_walk(edition: Edition) -> Iterator[OrderingClass]:
    """Run `walk` down every branch of its choice tree (an odometer over the recorded choices)."""
    tape: list[int] = []
    while True:
        sizes: list[int] = []

        def next_choice(n: int, sizes: list[int] = sizes) -> int:
            i = len(sizes)
            sizes.append(n)
            if i == len(tape):
                tape.append(0)
            return tape[i]

        yield walk(edition, lambda _k: bool(next_choice(2)), lambda _k, n: next_choice(n))
        del tape[len(sizes) :]
        while tape and tape[-1] == sizes[len(tape) - 1] - 1:
            tape.pop()
        if not tape:
            return
        tape[-1] += 1


def test_walk_reaches_every_seed_class_and_nothing_else() -> None:
    walked = [_frozen(c) for c in _every_walk(Edition.SEED)]
    assert len(walked) == len(set(walked)), "two choice sequences gave one class"
    assert set(walked) == {_frozen(c) for c in classes(Edition.SEED)}


def test_walk_with_all_no_and_zero_gives_the_required_timestamps_tied() -> None:
    cls = walk(Edition.SEED, lambda _k: False, lambda _k, _n: 0, require={"startTime", "endTime"})
    assert cls.levels == (("startTime", "endTime"),)


def test_text_form_round_trips_and_relation() -> None:
    cls = OrderingClass((("startTime",), ("connectedTime", "startHoldTime"), ("endTime",)))
    assert str(cls) == "startTime < connectedTime = startHoldTime < endTime"
    assert OrderingClass.parse(str(cls)) == cls
    assert OrderingClass.parse("(no timestamps)") == OrderingClass(())
    ranks = cls.rank()
    assert relation(ranks, "startTime", "endTime") == "<"
    assert relation(ranks, "connectedTime", "startHoldTime") == "="
    assert relation(ranks, "endTime", "startTime") == ">"
    assert relation(ranks, "endTime", "startAcwTime") == "absent"


@settings(max_examples=200)
@given(ordering_classes(edition=Edition.SDK_269, require={"endTime"}, forbid={"parkTime"}))
def test_ordering_class_strategy_respects_its_arguments(cls: OrderingClass) -> None:
    assert is_valid(cls, Edition.SDK_269)
    assert "endTime" in cls.present
    assert "parkTime" not in cls.present


@pytest.mark.parametrize(
    ("require", "forbid"),
    [
        ((), ("startHoldTime", "parkTime", "resumeTime", "endAcwTime")),
        (("endTime", "parkTime"), ("startAlertingTime", "wrapup.endTime", "callbackScheduledTime")),
        (("startAcwTime",), ("connectedTime", "resumeTime", "callbackScheduledTime", "startTime")),
    ],
)
def test_counting_agrees_with_enumeration_in_the_larger_edition(
    require: tuple[str, ...], forbid: tuple[str, ...]
) -> None:
    listed = sum(1 for _ in classes(Edition.SDK_269, require=require, forbid=forbid))
    assert count_classes(Edition.SDK_269, require=require, forbid=forbid) == listed


def test_class_counts_of_both_editions() -> None:
    # The seed figure is checked by brute force above; sdk-269 by counting (too many to list here).
    assert count_classes(Edition.SEED) == 21092
    assert count_classes(Edition.SDK_269) == 6716466
