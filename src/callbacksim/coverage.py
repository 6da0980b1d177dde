"""How much of the space of participants a set of payloads covers.

Four views, each with what the rules allow as its denominator (derived from the rules and the
ordering declaration, never listed by hand):

- **enum values**: every value of ``state``, ``direction``, ``disconnectType``, ``flaggedReason``
  and ``voicemail.uploadStatus`` that the edition knows (the sentinel included);
- **state x disconnectType**: every pair the rules allow, ``disconnectType`` absent included (a
  known live state allows only "absent"; an ended state or the sentinel allows every value);
- **pairwise ordering**: for every two timestamps, each relation (``<``, ``=``, ``>``) that some
  valid ordering class allows, and for every timestamp, present and absent;
- **ordering classes**: distinct valid classes seen, out of all valid classes of the edition.
"""

from __future__ import annotations

import contextlib
import itertools
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime
from enum import StrEnum
from functools import cache
from typing import Any

import attrs

from callbacksim.model import DisconnectType, Edition, State, known_values
from callbacksim.orderings import OrderingClass, count_classes, is_valid, relation
from callbacksim.rules import facts, timestamps
from callbacksim.schema import enum_paths, value_at
from callbacksim.wiretime import DatetimeFormatError, parse_datetime

__all__ = ["Coverage", "Section", "allowed_pairs", "allowed_relations"]

ENUM_FIELDS: Mapping[str, type[StrEnum]] = enum_paths(Edition.latest())
"""Every enum-valued property of any edition, by wire path."""
ABSENT = "(absent)"
_ENDED = {State.DISCONNECTED.value, State.TERMINATED.value, State.OUTDATED_SDK_VERSION.value}


@attrs.frozen
class Section:
    """One view: how many of its items were seen, out of how many the rules allow."""

    name: str
    covered: int
    total: int
    missing: tuple[str, ...]

    @property
    def percent(self) -> float:
        return 100.0 * self.covered / self.total if self.total else 100.0

    def to_json(self) -> dict[str, Any]:
        return {
            "covered": self.covered,
            "total": self.total,
            "percent": round(self.percent, 2),
            "missing": list(self.missing),
        }


@cache
def allowed_pairs(edition: Edition) -> frozenset[tuple[str, str]]:
    """Every (state, disconnectType or "(absent)") pair a valid participant can have."""
    types = [d.value for d in known_values(DisconnectType, edition)] + [ABSENT]
    pairs = set()
    for state in known_values(State, edition):
        for dt in types:
            if state.value in _ENDED or dt == ABSENT:
                pairs.add((state.value, dt))
    return frozenset(pairs)


@cache
def allowed_relations(edition: Edition) -> frozenset[tuple[str, str, str]]:
    """Every (a, b, relation) between two timestamps that some valid class has (a before b in
    declaration order). Adding timestamps only adds constraints, so the smallest classes holding
    ``a`` and ``b`` (and what they need present) decide it."""
    keys = timestamps(edition)
    out = set()
    for a, b in itertools.combinations(keys, 2):
        extra = [k for k in ("endTime",) if "startAcwTime" in (a, b) and k not in (a, b)]
        for rel, levels in (("<", [[a], [b]]), ("=", [[a, b]]), (">", [[b], [a]])):
            candidates = [levels] if not extra else _with(levels, extra[0])
            if any(is_valid(OrderingClass(tuple(map(tuple, c))), edition) for c in candidates):
                out.add((a, b, rel))
    return frozenset(out)


def _with(levels: list[list[str]], key: str) -> list[list[list[str]]]:
    """Every way to add ``key`` to ``levels``: tied with a level or in a new one at any gap."""
    out = [
        [[*lvl, key] if i == j else lvl for j, lvl in enumerate(levels)] for i in range(len(levels))
    ]
    out += [[*levels[:i], [key], *levels[i:]] for i in range(len(levels) + 1)]
    return out


class Coverage:
    """Accumulates the four views over payloads (raw dicts or model objects)."""

    def __init__(self, edition: Edition = Edition.SEED) -> None:
        self.edition = edition
        self.records = 0
        self.enum_values: dict[str, Counter[str]] = {f: Counter() for f in ENUM_FIELDS}
        self.pairs: Counter[tuple[str, str]] = Counter()
        self.relations: Counter[tuple[str, str, str]] = Counter()
        self.presence: Counter[tuple[str, bool]] = Counter()
        self.classes: set[OrderingClass] = set()
        self.invalid_classes = 0

    def add(self, payload: object) -> None:
        self.records += 1
        f = (
            _light_facts(payload, self.edition)
            if isinstance(payload, dict)
            else facts(payload, self.edition)
        )
        for field in ENUM_FIELDS:
            value = f.get(field)
            if isinstance(value, str):
                self.enum_values[field][str(value)] += 1
        state = f.get("state")
        if isinstance(state, str):
            dt = f.get("disconnectType")
            self.pairs[(str(state), str(dt) if isinstance(dt, str) else ABSENT)] += 1
        instants = {k: v for k in timestamps(self.edition) if isinstance(v := f.get(k), datetime)}
        for key in timestamps(self.edition):
            self.presence[(key, key in instants)] += 1
        levels: dict[datetime, list[str]] = {}
        for key, value in instants.items():
            levels.setdefault(value, []).append(key)
        cls = OrderingClass(tuple(tuple(levels[t]) for t in sorted(levels)))
        ranks = cls.rank()
        present = [k for k in timestamps(self.edition) if k in ranks]  # declaration order
        for a, b in itertools.combinations(present, 2):
            self.relations[(a, b, relation(ranks, a, b))] += 1
        if is_valid(cls, self.edition):
            self.classes.add(cls)
        else:
            self.invalid_classes += 1

    def add_all(self, payloads: Iterable[object]) -> Coverage:
        for payload in payloads:
            self.add(payload)
        return self

    def sections(self) -> list[Section]:
        ed = self.edition
        enum_items = [
            f"{field}={value.value}"
            for field, enum in ENUM_FIELDS.items()
            for value in known_values(enum, ed)
        ]
        seen_enums = {
            f"{field}={value}" for field, counter in self.enum_values.items() for value in counter
        }
        pair_items = sorted(allowed_pairs(ed))
        relation_items = sorted(allowed_relations(ed))
        presence_items = [(k, p) for k in timestamps(ed) for p in (True, False)]
        return [
            _section("enum values", enum_items, seen_enums),
            _section(
                "state x disconnectType",
                [f"{s} x {d}" for s, d in pair_items],
                {f"{s} x {d}" for s, d in self.pairs},
            ),
            _section(
                "pairwise ordering",
                [f"{a} {r} {b}" for a, b, r in relation_items]
                + [f"{k} {'present' if p else 'absent'}" for k, p in presence_items],
                {f"{a} {r} {b}" for a, b, r in self.relations}
                | {f"{k} {'present' if p else 'absent'}" for k, p in self.presence},
            ),
            Section(
                "ordering classes",
                len(self.classes),
                count_classes(ed),
                (),
            ),
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "edition": self.edition.value,
            "sections": {s.name: s.to_json() for s in self.sections()},
            "invalidOrderings": self.invalid_classes,
            "unknownEnumValues": {
                field: sorted(v for v in counter if v not in _known(field, self.edition))
                for field, counter in self.enum_values.items()
            },
        }


def _light_facts(payload: dict[str, Any], edition: Edition) -> dict[str, Any]:
    """Just what coverage needs from a raw payload: enum strings and parsed timestamps (a value
    that is not a string, or not a datetime, is left out, as the rules would not use it)."""
    out: dict[str, Any] = {}
    for field in ENUM_FIELDS:
        value = value_at(payload, field)
        if isinstance(value, str):
            out[field] = value
    for key in timestamps(edition):
        value = value_at(payload, key)
        if isinstance(value, str):
            with contextlib.suppress(DatetimeFormatError):
                out[key] = parse_datetime(value)
    return out


def _known(field: str, edition: Edition) -> set[str]:
    return {v.value for v in known_values(ENUM_FIELDS[field], edition)}


def _section(name: str, items: list[str], seen: set[str]) -> Section:
    missing = tuple(i for i in items if i not in seen)
    return Section(name, len(items) - len(missing), len(items), missing)
