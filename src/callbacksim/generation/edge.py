"""The edge set: a compact covering set of valid participants.

Greedy over the ordering classes: each record covers as many not-yet-covered pairwise timestamp
relations as it can, while the allowed state x disconnectType pairs and every enum value are
walked through in turn.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from callbacksim.coverage import ABSENT, allowed_pairs, allowed_relations
from callbacksim.generation.chooser import RandomChooser
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

__all__ = ["edge_cover"]


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


def edge_cover(
    ch: RandomChooser, edition: Edition, rules: RuleSet, anchor_ms: int | None = None
) -> Iterator[dict[str, Any]]:
    """A compact set of valid payloads covering every enum value, every allowed state x
    disconnectType pair and every pairwise timestamp relation and presence (greedy).

    Deterministic for the chooser's seed; the same set serves fixtures (``--mode edge``) and the
    covering phase of the ``accepts-valid`` check."""
    keys = timestamps(edition)
    wanted = {f"{a} {r} {b}" for a, b, r in allowed_relations(edition)}
    wanted |= {f"{k} {p}" for k in keys for p in ("present", "absent")}
    candidates = [(cls, _items(cls, keys)) for cls in _candidate_classes(edition)]
    enums: list[tuple[str, list[str]]] = [
        ("direction", [v.value for v in known_values(Direction, edition)]),
        ("flaggedReason", [v.value for v in known_values(FlaggedReason, edition)]),
        ("voicemail", [v.value for v in known_values(UploadStatus, edition)]),
    ]
    pairs = sorted(allowed_pairs(edition))
    n = 0
    while pairs or wanted:
        state, dt = pairs.pop(0) if pairs else (None, None)
        cls = _best(candidates, wanted, edition, state)
        if state is None:
            state = ch.pick(states_for(cls, edition)).value
        shape = Shape(edition=edition, rules=rules, state=state, ordering=cls, anchor_ms=anchor_ms)
        payload = copy_payload(build_participant(ch, shape))
        if dt is not None:
            if dt == ABSENT:
                payload.pop("disconnectType", None)
            else:
                payload["disconnectType"] = dt
        for field, values in enums:
            value = values[n % len(values)]
            if field == "voicemail":
                payload["voicemail"] = {"id": payload["id"], "uploadStatus": value}
            else:
                payload[field] = value
        wanted -= _items(cls, keys)
        n += 1
        yield payload
    # The loop above ran at least once per enum value only if there were enough pairs; top up.
    longest = max(len(values) for _, values in enums)
    while n < longest:
        shape = Shape(edition=edition, rules=rules, anchor_ms=anchor_ms)
        payload = copy_payload(build_participant(ch, shape))
        for field, values in enums:
            value = values[n % len(values)]
            payload[field] = (
                {"id": payload["id"], "uploadStatus": value} if field == "voicemail" else value
            )
        n += 1
        yield payload


def _best(
    candidates: list[tuple[OrderingClass, set[str]]],
    wanted: set[str],
    edition: Edition,
    state: str | None,
) -> OrderingClass:
    require, forbid = state_bounds(state, edition) if state is not None else (set(), set())
    best, best_gain = None, -1
    for cls, items in candidates:
        present = cls.present
        if not require <= present or forbid & present:
            continue
        gain = len(items & wanted)
        if gain > best_gain:
            best, best_gain = cls, gain
    assert best is not None, f"no ordering class fits state {state!r}"
    return best
