"""The edge set: a compact covering set of valid participants.

Greedy over the ordering classes: each record covers as many not-yet-covered pairwise timestamp
relations as it can, while the allowed state x disconnectType pairs and every enum value are
walked through in turn.

The plan of the set (`edge_plan`: each record's state, disconnectType, ordering class and enum
values) depends on the edition alone and is worked out once per process; `build_edge` draws one
record of a plan through any chooser, so the same record can be drawn again smaller (by a
shrinking chooser) when a target refuses it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from functools import cache
from typing import Any

import attrs

from callbacksim.coverage import ABSENT, allowed_pairs, allowed_relations
from callbacksim.generation.chooser import Chooser, RandomChooser
from callbacksim.generation.participants import (
    Shape,
    build_participant,
    copy_payload,
    state_bounds,
    states_for,
)
from callbacksim.model import Direction, Edition, FlaggedReason, UploadStatus, known_values
from callbacksim.orderings import OrderingClass, classes, relation, walk
from callbacksim.rules import RuleSet, timestamps

__all__ = ["EdgeRecipe", "build_edge", "edge_cover", "edge_plan", "recipe_items"]


@attrs.frozen
class EdgeRecipe:
    """One record of the edge set: what is fixed about it (the rest is drawn)."""

    state: str | None
    """None: drawn."""
    disconnect_type: str | None
    """None: as drawn; `ABSENT`: left out; otherwise this value."""
    ordering: OrderingClass | None
    """None: drawn."""
    direction: str
    flagged_reason: str
    upload_status: str


def _candidate_classes(edition: Edition) -> list[OrderingClass]:
    if edition is Edition.SEED:
        return list(classes(edition))
    ch = RandomChooser(7)
    seen = {
        walk(edition, lambda _k: ch.chance(0.5), lambda _k, n: ch.below(n)) for _ in range(20_000)
    }
    return sorted(seen, key=str)


def _items(cls: OrderingClass, keys: tuple[str, ...]) -> set[str]:
    ranks = cls.rank()
    out = {f"{k} {'present' if k in ranks else 'absent'}" for k in keys}
    for a, b in itertools.combinations(keys, 2):
        rel = relation(ranks, a, b)
        if rel != "absent":
            out.add(f"{a} {rel} {b}")
    return out


@cache
def edge_plan(edition: Edition) -> tuple[EdgeRecipe, ...]:
    """The records of the edge set of ``edition``: together they have every enum value, every
    allowed state x disconnectType pair and every pairwise timestamp relation and presence."""
    keys = timestamps(edition)
    bit: dict[str, int] = {}

    def mask(items: set[str]) -> int:
        out = 0
        for item in items:
            out |= 1 << bit.setdefault(item, len(bit))
        return out

    wanted = mask({f"{a} {r} {b}" for a, b, r in allowed_relations(edition)})
    wanted |= mask({f"{k} {p}" for k in keys for p in ("present", "absent")})
    candidates = [
        (cls, cls.present, mask(_items(cls, keys))) for cls in _candidate_classes(edition)
    ]
    enums = (
        [v.value for v in known_values(Direction, edition)],
        [v.value for v in known_values(FlaggedReason, edition)],
        [v.value for v in known_values(UploadStatus, edition)],
    )
    pairs = sorted(allowed_pairs(edition))
    out: list[EdgeRecipe] = []
    while pairs or wanted:
        state, dt = pairs.pop(0) if pairs else (None, None)
        cls, items = _best(candidates, wanted, edition, state)
        if state is None:
            fitting = states_for(cls, edition)
            state = fitting[len(out) % len(fitting)].value
        wanted &= ~items
        out.append(_recipe(len(out), state, dt, cls, enums))
    # The loop above ran at least once per enum value only if there were enough pairs; top up.
    while len(out) < max(len(values) for values in enums):
        out.append(_recipe(len(out), None, None, None, enums))
    return tuple(out)


def _recipe(
    n: int,
    state: str | None,
    dt: str | None,
    cls: OrderingClass | None,
    enums: tuple[list[str], list[str], list[str]],
) -> EdgeRecipe:
    direction, flagged, upload = (values[n % len(values)] for values in enums)
    return EdgeRecipe(state, dt, cls, direction, flagged, upload)


def _best(
    candidates: list[tuple[OrderingClass, frozenset[str], int]],
    wanted: int,
    edition: Edition,
    state: str | None,
) -> tuple[OrderingClass, int]:
    require, forbid = state_bounds(state, edition) if state is not None else (set(), set())
    best: tuple[OrderingClass, int] | None = None
    best_gain = -1
    for cls, present, items in candidates:
        if not require <= present or forbid & present:
            continue
        gain = (items & wanted).bit_count()
        if gain > best_gain:
            best, best_gain = (cls, items), gain
    assert best is not None, f"no ordering class fits state {state!r}"
    return best


def recipe_items(recipe: EdgeRecipe, edition: Edition) -> dict[str, tuple[str, ...]]:
    """What every record drawn from ``recipe`` covers, by section of `callbacksim.coverage`
    (named as that module names its items)."""
    enums = [
        f"direction={recipe.direction}",
        f"flaggedReason={recipe.flagged_reason}",
        f"voicemail.uploadStatus={recipe.upload_status}",
    ]
    pairs = []
    if recipe.state is not None:
        enums.insert(0, f"state={recipe.state}")
    if recipe.disconnect_type is not None:
        if recipe.disconnect_type != ABSENT:
            enums.insert(1, f"disconnectType={recipe.disconnect_type}")
        if recipe.state is not None:
            pairs.append(f"{recipe.state} x {recipe.disconnect_type}")
    ordering = (
        sorted(_items(recipe.ordering, timestamps(edition))) if recipe.ordering is not None else []
    )
    return {
        "enum values": tuple(enums),
        "state x disconnectType": tuple(pairs),
        "pairwise ordering": tuple(ordering),
    }


def build_edge(
    ch: Chooser,
    recipe: EdgeRecipe,
    *,
    edition: Edition,
    rules: RuleSet,
    anchor_ms: int | None = None,
) -> dict[str, Any]:
    """One record of the edge set: a valid payload with what ``recipe`` fixes, the rest drawn."""
    shape = Shape(
        edition=edition,
        rules=rules,
        state=recipe.state,
        ordering=recipe.ordering,
        anchor_ms=anchor_ms,
    )
    payload = copy_payload(build_participant(ch, shape))
    if recipe.disconnect_type == ABSENT:
        payload.pop("disconnectType", None)
    elif recipe.disconnect_type is not None:
        payload["disconnectType"] = recipe.disconnect_type
    payload["direction"] = recipe.direction
    payload["flaggedReason"] = recipe.flagged_reason
    payload["voicemail"] = {"id": payload["id"], "uploadStatus": recipe.upload_status}
    return payload


def edge_cover(
    ch: Chooser, edition: Edition, rules: RuleSet, anchor_ms: int | None = None
) -> Iterator[dict[str, Any]]:
    """A compact set of valid payloads covering every enum value, every allowed state x
    disconnectType pair and every pairwise timestamp relation and presence (greedy).

    Deterministic for the chooser's seed; the same set serves fixtures (``--mode edge``) and the
    covering phase of the ``accepts-valid`` check."""
    for recipe in edge_plan(edition):
        yield build_edge(ch, recipe, edition=edition, rules=rules, anchor_ms=anchor_ms)
