"""What each property's covering phase tries: every class of its input, one example of each.

Before a property is explored at random, its covering phase tries one example of every class of
its input, in a fixed order, each drawn from a seed derived from the run's seed and the class's
name (so the same seed gives the same examples, whatever else ran before):

=================== ==============================================================================
property            classes
=================== ==============================================================================
not-found           a participant and conversation never written; a participant never written
                    beside a stored one
accepts-valid       the edge set (`callbacksim.generation.edge`): every enum value, every allowed
                    state x disconnectType pair, every pairwise timestamp relation and presence;
                    and every unusual feature
rejects-invalid     every rule id of the edition and rule set
no-server-errors    every kind of garbage body and header (`GARBAGE`)
tolerates-unknown   every unusual feature, and an unknown value at every enum property
round-trips,        every unusual feature, and every lifecycle path of the edition
idempotent,
converges
=================== ==============================================================================

A `Case` says which classes it covers and how to draw its example through a `Chooser`: a seeded
one for the covering example, and others to draw smaller examples of the same class when the
covering example fails.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import attrs

from callbacksim.coverage import ABSENT, Coverage
from callbacksim.generation.chooser import Chooser, RandomChooser
from callbacksim.generation.edge import EdgeRecipe, build_edge, edge_plan, recipe_items
from callbacksim.generation.invalid import build_invalid
from callbacksim.generation.lifecycle import PATHS, Event, Lifecycle, Plan, path_conflicts, simulate
from callbacksim.generation.participants import ANCHOR_MS, Shape, build_participant
from callbacksim.generation.unusual import FEATURES, build_unusual
from callbacksim.model import Edition
from callbacksim.rules import RuleSet, rule_ids
from callbacksim.schema import enum_paths
from callbacksim.simulator.faults import Faults

__all__ = [
    "GARBAGE",
    "Case",
    "CoveringPlan",
    "Garbage",
    "covering_plan",
    "draw_example",
    "example_seed",
]


@attrs.frozen
class Case:
    """One covering example: the classes it covers, by dimension, and how to draw it."""

    label: str
    """How a report names it: ``rule order.start<=end``, ``feature dollar-keys``."""
    classes: tuple[tuple[str, str], ...]
    """(dimension, class) pairs: ``("rules", "order.start<=end")``."""
    build: Callable[[Chooser], Any] = attrs.field(eq=False, repr=False)
    cost: float = 1.0
    """About how many requests it sends (to share the budget out before it is measured)."""


@attrs.frozen
class CoveringPlan:
    """Every class of a property's input by dimension (in report order), and the cases that
    cover them, in the order they are tried."""

    dimensions: dict[str, tuple[str, ...]]
    cases: tuple[Case, ...]

    @property
    def cost(self) -> float:
        """About how many requests the whole phase sends."""
        return sum(case.cost for case in self.cases)


def example_seed(seed: int, label: str) -> int:
    """The seed a covering example is drawn from: the run's seed and the case's label alone."""
    return zlib.crc32(f"{seed}:{label}".encode()) ^ (seed << 32)


# -- garbage ------------------------------------------------------------------------------------


@attrs.frozen
class Garbage:
    """A kind of request body and headers no store expects."""

    name: str
    build: Callable[[Chooser], tuple[bytes, dict[str, str]]] = attrs.field(eq=False, repr=False)


def _fixed(body: bytes, headers: dict[str, str] | None = None) -> Callable[[Chooser], Any]:
    return lambda _ch: (body, dict(headers or {}))


def _deep(lo: int, hi: int, ch: Chooser) -> tuple[bytes, dict[str, str]]:
    n = ch.between(lo, hi)
    return b"[" * n + b"]" * n, {}


def _deep_object(ch: Chooser) -> tuple[bytes, dict[str, str]]:
    n = ch.between(_GUARDED, _PARSED)
    return b'{"a":' * n + b"null" + b"}" * n, {}


_GUARDED = 33
"""Deeper than the shallowest depth guards (32 levels)..."""
_PARSED = 1000
"""...and shallow enough for parsers that stop at 1,024 levels to read it."""


def _not_utf8(ch: Chooser) -> tuple[bytes, dict[str, str]]:
    # A byte that never starts a UTF-8 sequence, inside an otherwise plain participant.
    bad = bytes([ch.pick((0x80, 0xC0, 0xFE, 0xFF))])
    return b'{"name": "' + bad + b'"}', {}


def _binary(ch: Chooser) -> tuple[bytes, dict[str, str]]:
    return bytes(ch.below(256) for _ in range(ch.between(1, 200))), {}


GARBAGE: tuple[Garbage, ...] = (
    Garbage("lone-surrogate", _fixed(b'{"id": "\\ud800"}')),
    Garbage("reversed-surrogates", _fixed(b'{"name": "\\udfff\\ud800"}')),
    Garbage("huge-integer", _fixed(b'{"wrapupTimeoutMs": 123456789012345678901234567890}')),
    Garbage("huge-exponent", _fixed(b'{"wrapupTimeoutMs": 1e999999}')),
    Garbage("impossible-date", _fixed(b'{"startTime": "2026-02-30T00:00:00Z"}')),
    Garbage("nan", _fixed(b'{"held": NaN}')),
    Garbage("nested-attributes", _fixed(b'{"attributes": {"a": {"b": {"c": [1, {"d": null}]}}}}')),
    Garbage("byte-order-mark", _fixed(b"\xef\xbb\xbf{}")),
    Garbage("empty-body", _fixed(b"")),
    Garbage("json-null", _fixed(b"null")),
    Garbage("json-string-nul", _fixed(b'"\\u0000"')),
    Garbage("truncated-json", _fixed(b'{"id": "p1", "name": "An')),
    Garbage("trailing-garbage", _fixed(b'{"id": "p1"} {"id": "p2"}')),
    Garbage("not-utf8", _not_utf8),
    Garbage("binary", _binary),
    Garbage("deep-arrays", partial(_deep, _GUARDED, _PARSED)),
    Garbage("very-deep-arrays", partial(_deep, 1025, 100_000)),
    Garbage("deep-objects", _deep_object),
    Garbage("sequence-zero", _fixed(b"{}", {"X-Sequence": "0"})),
    Garbage("sequence-negative", _fixed(b"{}", {"X-Sequence": "-1"})),
    Garbage("sequence-fraction", _fixed(b"{}", {"X-Sequence": "1.5"})),
    Garbage("sequence-text", _fixed(b"{}", {"X-Sequence": "abc"})),
    Garbage("sequence-empty", _fixed(b"{}", {"X-Sequence": ""})),
    Garbage("sequence-huge", _fixed(b"{}", {"X-Sequence": "99999999999999999999999"})),
    Garbage("content-type-text", _fixed(b"{}", {"Content-Type": "text/plain"})),
    Garbage("content-type-xml", _fixed(b"<participant/>", {"Content-Type": "application/xml"})),
    Garbage(
        "content-type-latin-1",
        _fixed(b'{"name": "Jos\xe9"}', {"Content-Type": "application/json; charset=latin-1"}),
    ),
)
"""Every kind of garbage ``no-server-errors`` covers (and explores, drawn by Hypothesis)."""


# -- the plans ----------------------------------------------------------------------------------


def _paths(edition: Edition) -> tuple[str, ...]:
    return tuple(p for p in PATHS if path_conflicts((p,), edition) is None)


def _lifecycle(edition: Edition, path: str, ch: Chooser) -> Lifecycle:
    return simulate(ch, edition=edition, start_ms=ANCHOR_MS, require=(path,))


def _unusual(edition: Edition, feature: str, ch: Chooser) -> tuple[dict[str, Any], tuple[str, ...]]:
    return build_unusual(ch, edition=edition, features=(feature,))


def _payload(edition: Edition, feature: str, ch: Chooser) -> dict[str, Any]:
    return build_unusual(ch, edition=edition, features=(feature,))[0]


def _with_sequence(
    edition: Edition, feature: str, ch: Chooser
) -> tuple[dict[str, Any], int | None]:
    """An unusual payload and its X-Sequence: none for every other feature (the last write wins
    then), so that repeating both kinds of write is covered."""
    sequence = ch.between(1, 1000) if list(FEATURES).index(feature) % 2 else None
    return _payload(edition, feature, ch), sequence


def _rewritten(edition: Edition, feature: str, ch: Chooser) -> Lifecycle:
    """A participant written plainly first, then rewritten with the unusual feature: its two
    snapshots as a lifecycle, so that convergence is judged on the unusual one."""
    unusual = _payload(edition, feature, ch)
    pid = str(unusual["id"])
    plain = {**build_participant(ch, Shape(edition=edition)), "id": pid}
    events = tuple(
        Event(ANCHOR_MS + i, "unusual", pid, i + 1, snapshot)
        for i, snapshot in enumerate((plain, unusual))
    )
    return Lifecycle("unusual", Plan(), events)


_EVERY_FAULT = Faults(duplicates=1.0, reorder=1.0)
"""A rewritten participant's two snapshots arrive newest first, each twice."""


def _features(
    edition: Edition, make: Callable[[Edition, str, Chooser], Any], cost: float
) -> Iterator[Case]:
    for feature in FEATURES:
        build = partial(make, edition, feature)
        yield Case(f"feature {feature}", (("features", feature),), build, cost)


def _lifecycle_paths(
    edition: Edition, wrap: Callable[[Lifecycle], Any], cost: float
) -> Iterator[Case]:
    for path in _paths(edition):
        build = partial(_wrapped, wrap, edition, path)
        yield Case(f"path {path}", (("paths", path),), build, cost)


def _wrapped(wrap: Callable[[Lifecycle], Any], edition: Edition, path: str, ch: Chooser) -> Any:
    return wrap(_lifecycle(edition, path, ch))


def _invalid(edition: Edition, rules: RuleSet, rule: str, ch: Chooser) -> Any:
    return build_invalid(ch, rule, edition=edition, rules=rules)


def _unknown_at(edition: Edition, path: str, ch: Chooser) -> Any:
    return build_unusual(ch, edition=edition, features=("unknown-enum",), unknown_enum=path)


def _features_and_paths(
    edition: Edition,
    make: Callable[[Edition, str, Chooser], Any],
    costs: tuple[float, float],
    wrap: Callable[[Lifecycle], Any] = lambda lc: lc,
) -> CoveringPlan:
    """Every feature and every path; ``costs`` are the requests of a feature case and of a path
    case (a lifecycle has a dozen snapshots or so)."""
    cases = (*_features(edition, make, costs[0]), *_lifecycle_paths(edition, wrap, costs[1]))
    return CoveringPlan({"features": tuple(FEATURES), "paths": _paths(edition)}, cases)


def _edge_case(edition: Edition, rules: RuleSet, n: int, recipe: EdgeRecipe) -> Case:
    items = recipe_items(recipe, edition)
    classes = tuple((section, item) for section, found in items.items() for item in found)
    what = [f"state {recipe.state}"] if recipe.state else []
    if recipe.disconnect_type not in (None, ABSENT):
        what.append(f"disconnectType {recipe.disconnect_type}")
    label = f"edge record {n + 1}" + (f" ({', '.join(what)})" if what else "")

    def build(ch: Chooser) -> tuple[dict[str, Any], tuple[str, ...]]:
        return build_edge(ch, recipe, edition=edition, rules=rules), ()

    return Case(label, classes, build)


def _edge_dimensions(edition: Edition) -> dict[str, tuple[str, ...]]:
    sections = Coverage(edition).sections()
    return {s.name: s.missing for s in sections if s.missing}


def _not_found(edition: Edition, rules: RuleSet) -> CoveringPlan:
    def payload(neighbour: bool, ch: Chooser) -> tuple[bool, dict[str, Any]]:
        return neighbour, build_participant(ch, Shape(edition=edition, rules=rules))

    alone, beside = "never-written participant", "never-written participant beside a stored one"
    cases = (
        Case(alone, (("cases", alone),), partial(payload, False), 2),
        Case(beside, (("cases", beside),), partial(payload, True), 2),
    )
    return CoveringPlan({"cases": (alone, beside)}, cases)


def covering_plan(pid: str, edition: Edition, rules: RuleSet) -> CoveringPlan:
    """The covering phase of property ``pid`` (empty for ``isolated``, which replays a crowd)."""
    if pid == "not-found":
        return _not_found(edition, rules)
    if pid == "accepts-valid":
        recipes = edge_plan(edition)
        edges = tuple(_edge_case(edition, rules, n, r) for n, r in enumerate(recipes))
        # Unusual payloads are valid participants too: a store must take every kind.
        features = tuple(_features(edition, _unusual, 1))
        dimensions = {**_edge_dimensions(edition), "features": tuple(FEATURES)}
        return CoveringPlan(dimensions, (*edges, *features))
    if pid == "rejects-invalid":
        ids = rule_ids(edition, rules)
        cases = tuple(
            Case(
                f"rule {rule}",
                (("rules", rule),),
                partial(_invalid, edition, rules, rule),
            )
            for rule in ids
        )
        return CoveringPlan({"rules": ids}, cases)
    if pid == "no-server-errors":
        cases = tuple(Case(f"garbage {g.name}", (("garbage", g.name),), g.build) for g in GARBAGE)
        return CoveringPlan({"garbage": tuple(g.name for g in GARBAGE)}, cases)
    if pid == "tolerates-unknown":
        paths = tuple(enum_paths(edition))
        enums = tuple(
            Case(
                f"unknown value at {path}",
                (("enum properties", path),),
                partial(_unknown_at, edition, path),
                2,
            )
            for path in paths
        )
        features = tuple(_features(edition, _unusual, 2))
        return CoveringPlan(
            {"features": tuple(FEATURES), "enum properties": paths}, (*features, *enums)
        )
    if pid == "round-trips":
        return _features_and_paths(edition, _payload, (2, 24))
    if pid == "idempotent":
        return _features_and_paths(edition, _with_sequence, (4, 22))
    if pid == "converges":
        return _features_and_paths(
            edition,
            lambda ed, f, ch: (_rewritten(ed, f, ch), _EVERY_FAULT, 0),
            (7, 18),
            lambda lc: (lc, True, 0),
        )
    return CoveringPlan({}, ())


def draw_example(case: Case, seed: int) -> Any:
    """The covering example of ``case`` for a run with ``seed``."""
    return case.build(RandomChooser(example_seed(seed, case.label)))
