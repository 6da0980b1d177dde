"""The validity rules, table-driven.

For every rule id of each edition the tables hold at least one payload that breaks exactly that
rule and at least one boundary payload that does not; `test_tables_cover_every_rule` fails when a
rule is added without both. The ``type.<property>`` rows are generated from the schema, one wrong
JSON type per kind and per nested property, with the exact JSON path the violation must name.
The ordering and state rows are written by hand from the contract, and a property test compares
`check` against an independent reading of the same contract.
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callbacksim.codec import decode, encode
from callbacksim.model import (
    CallbackMediaParticipant,
    DisconnectType,
    Edition,
    State,
    Wrapup,
)
from callbacksim.rules import RuleSet, Violation, check, rule_ids
from callbacksim.schema import FieldSpec, Kind, fields_of, participant_fields
from callbacksim.wiretime import parse_datetime

SEED = Edition.SEED
SDK = Edition.SDK_269
BOTH = (SEED, SDK)

T = "2026-01-01T10:00:00Z"

STRUCTURAL_IDS = frozenset({"json.object", "datetime.format", "id.matches-path"})


def is_structural(rule: str) -> bool:
    return rule in STRUCTURAL_IDS or rule.startswith("type.")


def put(payload: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    """``payload`` with ``value`` at the dotted ``key`` (``wrapup.endTime``), nested dicts made."""
    head, _, rest = key.partition(".")
    if rest:
        inner = dict(payload.get(head) or {})
        payload[head] = put(inner, rest, value)
    else:
        payload[head] = value
    return payload


@dataclass(frozen=True)
class Case:
    """A payload and what `check` must say about it for one rule."""

    rule: str
    """The rule the case breaks (breaking tables) or sits on the boundary of (boundary tables)."""
    payload: Any
    editions: tuple[Edition, ...] = BOTH
    paths: frozenset[str] = frozenset()
    """Breaking cases: the exact set of paths the violations name."""
    path_id: str | None = None
    words: tuple[str, ...] = ()
    """Breaking cases: text the messages must contain (what was expected, what came)."""
    label: str = ""


def brk(
    rule: str,
    payload: Any,
    *paths: str,
    editions: tuple[Edition, ...] = BOTH,
    path_id: str | None = None,
    words: tuple[str, ...] = (),
) -> Case:
    return Case(rule, payload, editions, frozenset(paths), path_id, words)


def ok(
    rule: str, payload: Any, *, editions: tuple[Edition, ...] = BOTH, path_id: str | None = None
) -> Case:
    return Case(rule, payload, editions, path_id=path_id)


# --------------------------------------------------------------------------------------------
# type.<property>: generated from the schema.

WRONG: dict[Kind, list[Any]] = {
    Kind.STRING: [5, True, 1.5, ["a"], {"a": "b"}],
    Kind.ENUM: [7, False, ["connected"], {"value": "connected"}],
    Kind.BOOLEAN: ["yes", "true", 1, 0, 1.0, [True]],
    Kind.INTEGER: [2.0, 2e3, True, False, "2", 1.5, -0.0, [1]],
    Kind.DATETIME: [5, True, 1.5, [T], {"t": T}],
    Kind.STRING_LIST: ["a", 5, True, {"a": "b"}],
    Kind.STRING_MAP: ["a", 5, False, ["a"]],
    Kind.OBJECT: ["x", 5, True, [], [{}]],
    Kind.OBJECT_LIST: ["x", 5, {}, {"id": "a"}],
}

EXPECTED_WORDS: dict[Kind, str] = {
    Kind.STRING: "string",
    Kind.ENUM: "string",
    Kind.BOOLEAN: "boolean",
    Kind.INTEGER: "integer",
    Kind.DATETIME: "date-time",
    Kind.STRING_LIST: "array of strings",
    Kind.STRING_MAP: "values are strings",
    Kind.OBJECT: "object",
    Kind.OBJECT_LIST: "array",
}


def came(value: Any) -> tuple[str, ...]:
    """What a message must say about a bad value: its JSON type and the value itself."""
    if value is None:
        return ("null",)
    if isinstance(value, bool):
        return ("boolean", "true" if value else "false")
    if isinstance(value, str):
        return ("string", repr(value))
    if isinstance(value, int):
        return ("integer", str(value))
    if isinstance(value, float):
        return ("number", repr(value))
    if isinstance(value, list):
        return ("array",)
    assert isinstance(value, dict)
    return ("object",)


def expected(spec: FieldSpec) -> tuple[str, ...]:
    words = (EXPECTED_WORDS[spec.kind],)
    if spec.nested is not None:
        words += (spec.nested.__name__,)
    return words


def wrong_values(spec: FieldSpec, path: str) -> Iterator[tuple[Any, str, tuple[str, ...]]]:
    """(a wrong value for ``spec`` at ``path``, the path its violation names, message words)."""
    for bad in WRONG[spec.kind]:
        yield bad, path, expected(spec) + came(bad)
    if spec.kind is Kind.STRING_LIST:
        for bad in (1, True, ["b"], {"b": "c"}):
            yield ["a", bad], f"{path}[1]", ("string", *came(bad))
    elif spec.kind is Kind.STRING_MAP:
        for bad in (1, True, ["v"]):
            yield {"ok": "v", "k": bad}, f"{path}.k", ("string", *came(bad))
    elif spec.kind is Kind.OBJECT:
        assert spec.nested is not None
        for inner in fields_of(spec.nested):
            for bad, where, words in wrong_values(inner, f"{path}.{inner.wire}"):
                yield {inner.wire: bad}, where, words
    elif spec.kind is Kind.OBJECT_LIST:
        assert spec.nested is not None
        for bad in ("x", 5, [{}]):
            yield [{}, bad], f"{path}[1]", ("object", spec.nested.__name__, *came(bad))
        for inner in fields_of(spec.nested):
            for bad, where, words in wrong_values(inner, f"{path}[1].{inner.wire}"):
                yield [{}, {inner.wire: bad}], where, words


VALID: dict[Kind, list[Any]] = {
    # Enum strings outside the table are valid; "OutdatedSdkVersion" is the SDK's sentinel.
    Kind.STRING: ["", "x", "é"],
    Kind.ENUM: ["", "someFutureValue", "OutdatedSdkVersion"],
    Kind.BOOLEAN: [True, False],
    Kind.INTEGER: [0, 1, 2**63, 2**70],
    Kind.DATETIME: ["2026-01-01T10:00:00Z", "2026-01-01t12:00:00.123456789+02:00"],
    Kind.STRING_LIST: [[], ["a", ""]],
    Kind.STRING_MAP: [{}, {"k": "v", "": ""}],
    Kind.OBJECT: [{}, {"someUnknownExtra": 5}],
    Kind.OBJECT_LIST: [[], [{}], [{}, {"someUnknownExtra": [1]}]],
}


def valid_values(spec: FieldSpec) -> Iterator[Any]:
    yield from VALID[spec.kind]
    if spec.kind is Kind.OBJECT:
        assert spec.nested is not None
        for inner in fields_of(spec.nested):
            for good in valid_values(inner):
                yield {inner.wire: good}
            yield {inner.wire: None}
    elif spec.kind is Kind.OBJECT_LIST:
        assert spec.nested is not None
        for inner in fields_of(spec.nested):
            for good in valid_values(inner):
                yield [{inner.wire: good}]


def type_breaks(edition: Edition) -> list[Case]:
    cases = []
    for spec in participant_fields(edition).values():
        for bad, path, words in wrong_values(spec, f"$.{spec.wire}"):
            case = brk(f"type.{spec.wire}", {spec.wire: bad}, path, editions=(edition,))
            cases.append(dataclasses.replace(case, words=words))
    return cases


def type_boundaries(edition: Edition) -> list[Case]:
    cases = []
    for spec in participant_fields(edition).values():
        cases.append(ok(f"type.{spec.wire}", {spec.wire: None}, editions=(edition,)))
        for good in valid_values(spec):
            cases.append(ok(f"type.{spec.wire}", {spec.wire: good}, editions=(edition,)))
    return cases


# --------------------------------------------------------------------------------------------
# The ordering rules, from the contract: (rule, earlier, later, sdk-269 only).

ORDERING: list[tuple[str, str, str, bool]] = [
    ("order.start<=alerting", "startTime", "startAlertingTime", True),
    ("order.start<=connected", "startTime", "connectedTime", False),
    ("order.alerting<=connected", "startAlertingTime", "connectedTime", True),
    ("order.connected<=end", "connectedTime", "endTime", False),
    ("order.start<=end", "startTime", "endTime", False),
    ("order.connected<=hold", "connectedTime", "startHoldTime", False),
    ("order.hold<=end", "startHoldTime", "endTime", False),
    ("order.end<=acw", "endTime", "startAcwTime", False),
    ("order.acw-start<=acw-end", "startAcwTime", "endAcwTime", False),
    ("order.connected<=park", "connectedTime", "parkTime", True),
    ("order.park<=resume", "parkTime", "resumeTime", True),
    ("order.acw-start<=wrapup-end", "startAcwTime", "wrapup.endTime", False),
]

# (earlier value, later value): the later one is strictly before the earlier one as an instant.
OUT_OF_ORDER = [
    ("2026-01-01T10:00:00.001Z", "2026-01-01T10:00:00Z"),
    # In order as text, out of order as instants.
    ("2026-01-01T10:00:00-05:00", "2026-01-01T12:00:00Z"),
    ("2026-01-01T10:00:00Z", "2026-01-01T11:59:59.999+02:00"),
    ("2026-01-02T00:30:00+01:00", "2026-01-01T23:29:59.999999-00:00"),
]

# (earlier value, later value): equal instants (ties satisfy <=) or in order.
IN_ORDER = [
    (T, T),
    # Equal instants written with different offsets.
    ("2026-01-01T12:00:00+02:00", "2026-01-01T10:00:00Z"),
    ("2026-01-01T10:00:00Z", "2026-01-01T12:00:00+02:00"),
    ("2026-01-01t05:00:00-05:00", "2026-01-01T10:00:00.000000000z"),
    # The seventh fraction digit is dropped, so these are equal.
    ("2026-01-01T10:00:00.1234569Z", "2026-01-01T10:00:00.123456Z"),
    # One millisecond apart, in order, with an offset.
    ("2026-01-01T10:00:00Z", "2026-01-01T05:00:00.001-05:00"),
]


def ordering_cases() -> tuple[list[Case], list[Case], list[Case]]:
    """(breaking cases, boundary cases, sdk-269-only breaks that the seed edition ignores)."""
    breaks, bounds, ignored = [], [], []
    for rule, earlier, later, sdk_only in ORDERING:
        editions = (SDK,) if sdk_only else BOTH
        for e, lt in OUT_OF_ORDER:
            payload = put(put({}, earlier, e), later, lt)
            words = (earlier, later, "<=")
            breaks.append(brk(rule, payload, f"$.{later}", editions=editions, words=words))
            if sdk_only:
                ignored.append(ok(rule, payload, editions=(SEED,)))
        for e, lt in IN_ORDER:
            bounds.append(ok(rule, put(put({}, earlier, e), later, lt), editions=editions))
        # Only one of the two present (or the other null): nothing to compare.
        bounds.append(ok(rule, put({}, earlier, T), editions=editions))
        bounds.append(ok(rule, put({}, later, T), editions=editions))
        bounds.append(ok(rule, put(put({}, earlier, T), later, None), editions=editions))
        bounds.append(ok(rule, put(put({}, earlier, None), later, T), editions=editions))
        # callbackScheduledTime is free: before or after either end.
        for free in ("2000-01-01T00:00:00Z", "2100-01-01T00:00:00Z"):
            payload = put(put(put({}, earlier, T), later, T), "callbackScheduledTime", free)
            bounds.append(ok(rule, payload, editions=editions))
    return breaks, bounds, ignored


ORDER_BREAKS, ORDER_BOUNDS, ORDER_IGNORED_IN_SEED = ordering_cases()

# --------------------------------------------------------------------------------------------
# The state rules (only with a known state), value.non-negative and the remaining structural rules.

END = "2026-01-01T10:05:00Z"

STATE_BREAKS = [
    brk("state.ended-has-end", {"state": "disconnected"}, "$.endTime", words=("'disconnected'",)),
    brk("state.ended-has-end", {"state": "terminated", "disconnectType": "client"}, "$.endTime"),
    brk("state.ended-has-end", {"state": "disconnected", "endTime": None}, "$.endTime"),
    brk("state.end-means-ended", {"state": "alerting", "endTime": END}, "$.state"),
    brk(
        "state.end-means-ended",
        {"state": "connected", "connectedTime": T, "endTime": END},
        "$.state",
        words=("'connected'", "disconnected", "terminated"),
    ),
    brk("state.end-means-ended", {"state": "none", "endTime": END}, "$.state"),
    brk(
        "state.disconnect-type-when-ended",
        {"state": "alerting", "disconnectType": "client"},
        "$.disconnectType",
        words=("client", "'alerting'"),
    ),
    # An unknown disconnect type is still a disconnect type.
    brk(
        "state.disconnect-type-when-ended",
        {"state": "dialing", "disconnectType": "some.future.type"},
        "$.disconnectType",
    ),
    brk("state.connected-has-connected-time", {"state": "connected"}, "$.connectedTime"),
    brk(
        "state.held-is-connected",
        {"state": "alerting", "held": True, "startHoldTime": T},
        "$.held",
        words=("'alerting'",),
    ),
    brk(
        "state.held-is-connected",
        {"state": "connected", "connectedTime": T, "held": True},
        "$.startHoldTime",
    ),
    brk("state.held-is-connected", {"state": "dialing", "held": True}, "$.held", "$.startHoldTime"),
    brk("state.acw-after-end", {"state": "alerting", "startAcwTime": T}, "$.endTime"),
    brk(
        "state.parked-has-park-time",
        {"state": "parked"},
        "$.parkTime",
        editions=(SDK,),
        words=("parkTime",),
    ),
    brk(
        "wrapup.skipped-has-none",
        {"state": "alerting", "wrapupSkipped": True, "wrapup": {}},
        "$.wrapup",
    ),
    brk(
        "wrapup.skipped-has-none",
        {"state": "disconnected", "endTime": T, "wrapupSkipped": True, "wrapup": {"code": "x"}},
        "$.wrapup",
    ),
    brk("value.non-negative", {"wrapupTimeoutMs": -1}, "$.wrapupTimeoutMs", words=("-1", ">= 0")),
    brk("value.non-negative", {"alertingTimeoutMs": -1}, "$.alertingTimeoutMs"),
    brk("value.non-negative", {"timeoutSeconds": -(2**70)}, "$.timeoutSeconds"),
    brk(
        "value.non-negative",
        {"wrapup": {"durationSeconds": -5}},
        "$.wrapup.durationSeconds",
        words=("-5",),
    ),
]

STATE_BOUNDS = [
    ok("state.ended-has-end", {"state": "disconnected", "endTime": T}),
    ok("state.ended-has-end", {"state": "terminated", "endTime": T}),
    ok("state.ended-has-end", {"state": "OutdatedSdkVersion"}),
    ok("state.ended-has-end", {"state": "Disconnected"}),  # not the table's spelling: unknown
    ok("state.ended-has-end", {"state": "hungUp"}),
    ok("state.ended-has-end", {"state": None}),
    ok("state.end-means-ended", {"state": "disconnected", "endTime": T}),
    ok("state.end-means-ended", {"endTime": T}),
    ok("state.end-means-ended", {"state": None, "endTime": T}),
    ok("state.end-means-ended", {"state": "OutdatedSdkVersion", "endTime": T}),
    ok("state.end-means-ended", {"state": "wrappingUp", "endTime": T}),
    ok("state.end-means-ended", {"state": "alerting", "endTime": None}),
    ok(
        "state.disconnect-type-when-ended",
        {"state": "terminated", "endTime": T, "disconnectType": "peer"},
    ),
    ok("state.disconnect-type-when-ended", {"disconnectType": "client"}),
    ok("state.disconnect-type-when-ended", {"state": "alerting", "disconnectType": None}),
    ok("state.disconnect-type-when-ended", {"state": "futureState", "disconnectType": "client"}),
    ok("state.connected-has-connected-time", {"state": "connected", "connectedTime": T}),
    ok("state.connected-has-connected-time", {"state": "OutdatedSdkVersion"}),
    ok("state.connected-has-connected-time", {"state": "CONNECTED"}),
    ok("state.connected-has-connected-time", {"state": "alerting"}),
    ok(
        "state.held-is-connected",
        {"state": "connected", "connectedTime": T, "held": True, "startHoldTime": T},
    ),
    ok("state.held-is-connected", {"state": "alerting", "held": False}),
    ok("state.held-is-connected", {"state": "alerting", "held": None}),
    ok("state.held-is-connected", {"held": True}),
    ok("state.held-is-connected", {"state": "OutdatedSdkVersion", "held": True}),
    ok("state.acw-after-end", {"state": "disconnected", "endTime": T, "startAcwTime": T}),
    ok("state.acw-after-end", {"state": "alerting", "startAcwTime": None}),
    ok("state.acw-after-end", {"startAcwTime": T}),
    ok("state.parked-has-park-time", {"state": "parked", "parkTime": T}, editions=(SDK,)),
    ok(
        "state.parked-has-park-time",
        {"state": "parked", "parkTime": "2026-01-01t12:00:00+02:00"},
        editions=(SDK,),
    ),
    ok("wrapup.skipped-has-none", {"state": "alerting", "wrapupSkipped": True}),
    ok("wrapup.skipped-has-none", {"state": "alerting", "wrapupSkipped": True, "wrapup": None}),
    ok("wrapup.skipped-has-none", {"state": "alerting", "wrapupSkipped": False, "wrapup": {}}),
    ok("wrapup.skipped-has-none", {"state": "alerting", "wrapup": {}}),
    ok("value.non-negative", {"wrapupTimeoutMs": 0}),
    ok("value.non-negative", {"alertingTimeoutMs": 0}),
    ok("value.non-negative", {"timeoutSeconds": 0}),
    ok("value.non-negative", {"wrapup": {"durationSeconds": 0}}),
    # Integers the contract does not bound.
    ok("value.non-negative", {"conversationRoutingData": {"priority": -1}}),
    ok("value.non-negative", {"conversationRoutingData": {"scoredAgents": [{"score": -1}]}}),
]

STRUCTURAL_BREAKS = [
    *(
        brk("json.object", value, "$", words=("JSON object", *came(value)))
        for value in ([], [{}], "x", "", None, 0, 1.5, True, False)
    ),
    brk(
        "datetime.format",
        {"startTime": "2026-11-24T03:38:49"},
        "$.startTime",
        words=("zone", "'2026-11-24T03:38:49'"),
    ),
    brk("datetime.format", {"callbackScheduledTime": ""}, "$.callbackScheduledTime"),
    brk(
        "datetime.format",
        {"wrapup": {"endTime": "2026-02-30T00:00:00Z"}},
        "$.wrapup.endTime",
        words=("'2026-02-30T00:00:00Z'",),
    ),
    brk("datetime.format", {"parkTime": "20261124T033849Z"}, "$.parkTime", editions=(SDK,)),
    brk(
        "id.matches-path",
        {"id": "p-1"},
        "$.id",
        path_id="p-2",
        words=("'p-1'", "'p-2'"),
    ),
    brk("id.matches-path", {"id": "abc"}, "$.id", path_id="ABC"),
]

STRUCTURAL_BOUNDS = [
    ok("json.object", {}),
    ok("json.object", {"someUnknownProperty": [1, {"x": None}]}),
    ok("datetime.format", {"startTime": "2026-01-01t10:00:00.123456789z"}),
    ok("datetime.format", {"wrapup": {"endTime": "0001-01-01T00:00:00+23:59"}}),
    ok("datetime.format", {"callbackScheduledTime": "9999-12-31T23:59:59-23:59"}),
    ok("datetime.format", {"resumeTime": "2026-01-01T10:00:00-00:00"}, editions=(SDK,)),
    ok("id.matches-path", {"id": "p-1"}, path_id="p-1"),
    ok("id.matches-path", {"id": "p-1"}),
    ok("id.matches-path", {}, path_id="p-1"),
    ok("id.matches-path", {"id": None}, path_id="p-1"),
]


def for_editions(cases: list[Case]) -> list[tuple[Edition, Case]]:
    return [(edition, case) for case in cases for edition in case.editions]


BREAKS: list[tuple[Edition, Case]] = for_editions(
    [*type_breaks(SEED), *type_breaks(SDK), *ORDER_BREAKS, *STATE_BREAKS, *STRUCTURAL_BREAKS]
)
BOUNDS: list[tuple[Edition, Case]] = for_editions(
    [
        *type_boundaries(SEED),
        *type_boundaries(SDK),
        *ORDER_BOUNDS,
        *STATE_BOUNDS,
        *STRUCTURAL_BOUNDS,
    ]
)
# Payloads that break an sdk-269 ordering rule, checked in the seed edition: nothing to report.
# They are kept out of BOUNDS, whose rules per edition must be exactly that edition's rule ids.
IGNORED: list[tuple[Edition, Case]] = for_editions(ORDER_IGNORED_IN_SEED)


def case_id(item: tuple[Edition, Case]) -> str:
    edition, case = item
    paths = ",".join(sorted(case.paths))
    return f"{edition.value}|{case.rule}|{paths}|{str(case.payload)[:60]}"


def violations(case: Case, edition: Edition, **kwargs: Any) -> list[Violation]:
    return check(case.payload, edition=edition, path_id=case.path_id, **kwargs)


# --------------------------------------------------------------------------------------------
# The tables


@pytest.mark.parametrize(("edition", "case"), BREAKS, ids=[case_id(b) for b in BREAKS])
def test_breaks_exactly_one_rule(edition: Edition, case: Case) -> None:
    found = violations(case, edition)
    assert {v.rule for v in found} == {case.rule}, found
    assert {v.path for v in found} == case.paths, found
    assert len(found) == len(case.paths), found
    messages = "\n".join(v.message for v in found)
    for word in case.words:
        assert word in messages, (word, messages)


@pytest.mark.parametrize(
    ("edition", "case"), BOUNDS + IGNORED, ids=[case_id(b) for b in BOUNDS + IGNORED]
)
def test_boundary_breaks_nothing(edition: Edition, case: Case) -> None:
    assert violations(case, edition) == []


@pytest.mark.parametrize("edition", BOTH)
def test_tables_cover_every_rule(edition: Edition) -> None:
    hit = set()
    for e, case in BREAKS:
        if e is edition:
            hit |= {v.rule for v in violations(case, e)}
    assert hit == set(rule_ids(edition))
    bounded = {case.rule for e, case in BOUNDS if e is edition}
    assert bounded == set(rule_ids(edition))


def test_rule_ids_are_unique_and_editions_differ_as_documented() -> None:
    for edition in BOTH:
        ids = rule_ids(edition)
        assert len(ids) == len(set(ids))
    only_sdk = set(rule_ids(SDK)) - set(rule_ids(SEED))
    assert only_sdk == {
        "type.startAlertingTime",
        "type.parkTime",
        "type.resumeTime",
        "type.mediaRoles",
        "type.externalContactInitialDivisionId",
        "order.start<=alerting",
        "order.alerting<=connected",
        "order.connected<=park",
        "order.park<=resume",
        "state.parked-has-park-time",
    }
    assert set(rule_ids(SEED)) <= set(rule_ids(SDK))
    for edition in BOTH:
        types = {r for r in rule_ids(edition) if r.startswith("type.")}
        assert types == {f"type.{w}" for w in participant_fields(edition)}
    assert len(participant_fields(SEED)) == 42
    assert len(participant_fields(SDK)) == 47


def test_ordering_table_matches_the_rule_ids() -> None:
    for edition in BOTH:
        orders = {r for r in rule_ids(edition) if r.startswith("order.")}
        assert orders == {r for r, _, _, sdk in ORDERING if edition is SDK or not sdk}


# --------------------------------------------------------------------------------------------
# Structural rules only


@pytest.mark.parametrize("edition", BOTH)
def test_structural_rule_ids(edition: Edition) -> None:
    structural = rule_ids(edition, RuleSet.STRUCTURAL)
    assert set(structural) == {r for r in rule_ids(edition) if is_structural(r)}
    assert set(structural) >= STRUCTURAL_IDS


@pytest.mark.parametrize("edition", BOTH)
def test_structural_reports_only_structural_rules(edition: Edition) -> None:
    for e, case in BREAKS + BOUNDS:
        if e is edition:
            strict = violations(case, edition)
            structural = violations(case, edition, rules=RuleSet.STRUCTURAL)
            assert structural == [v for v in strict if is_structural(v.rule)], case


def test_structural_ignores_semantic_problems() -> None:
    payload = {
        "state": "disconnected",
        "held": True,
        "startTime": "2026-01-01T11:00:00Z",
        "connectedTime": T,
        "timeoutSeconds": -1,
        "wrapupSkipped": True,
        "wrapup": {"durationSeconds": -1},
        "name": 5,
    }
    strict = {v.rule for v in check(payload)}
    assert strict == {
        "type.name",
        "state.ended-has-end",
        "state.held-is-connected",
        "order.start<=connected",
        "value.non-negative",
        "wrapup.skipped-has-none",
    }
    assert [(v.rule, v.path) for v in check(payload, rules=RuleSet.STRUCTURAL)] == [
        ("type.name", "$.name")
    ]
    payload.pop("name")
    assert check(payload, rules=RuleSet.STRUCTURAL) == []


# --------------------------------------------------------------------------------------------
# Contract facts


@pytest.mark.parametrize("edition", BOTH)
@pytest.mark.parametrize("rules", list(RuleSet))
@pytest.mark.parametrize("payload", [[], [{"id": "x"}], "x", "{}", None, 0, -1.5, True, 2**70])
def test_non_object_payload(payload: Any, rules: RuleSet, edition: Edition) -> None:
    found = check(payload, edition=edition, rules=rules, path_id="p-1")
    assert [(v.rule, v.path) for v in found] == [("json.object", "$")]
    assert "JSON object" in found[0].message
    for word in came(payload):
        assert word in found[0].message


def fill_nulls(payload: Mapping[str, Any], specs: tuple[FieldSpec, ...]) -> dict[str, Any]:
    """``payload`` with an explicit null for every property it leaves out, at every depth."""
    filled: dict[str, Any] = dict(payload)
    for spec in specs:
        value = filled.get(spec.wire)
        if spec.wire not in filled:
            filled[spec.wire] = None
        elif spec.kind is Kind.OBJECT and isinstance(value, dict):
            assert spec.nested is not None
            filled[spec.wire] = fill_nulls(value, fields_of(spec.nested))
    return filled


@pytest.mark.parametrize("edition", BOTH)
def test_null_is_the_same_as_absent(edition: Edition) -> None:
    specs = tuple(participant_fields(SDK).values())  # in seed, the sdk-269 ones are unknown extras
    for e, case in BREAKS + BOUNDS + IGNORED:
        if e is edition and isinstance(case.payload, dict):
            with_nulls = fill_nulls(case.payload, specs)
            assert with_nulls != case.payload
            found = check(with_nulls, edition=edition, path_id=case.path_id)
            assert found == violations(case, edition), (case, with_nulls)


@pytest.mark.parametrize("edition", BOTH)
def test_every_property_null_is_valid(edition: Edition) -> None:
    assert check(dict.fromkeys(participant_fields(SDK)), edition=edition) == []
    assert check({"state": None, "endTime": T, "held": None}, edition=edition) == []


def test_seed_edition_treats_sdk_269_properties_as_unknown_extras() -> None:
    extras = {
        "parkTime": 5,
        "resumeTime": "not a date",
        "startAlertingTime": "2026-01-01T12:00:00Z",
        "mediaRoles": [1, 2],
        "externalContactInitialDivisionId": {"x": 1},
    }
    assert check(extras, edition=SEED) == []
    assert check({"state": "parked"}, edition=SEED) == []
    assert check({"state": "parked", "parkTime": 5}, edition=SEED) == []
    # Ordering against an extra is not checked either.
    assert check({"startTime": "2026-01-01T13:00:00Z", **extras}, edition=SEED) == []
    assert {v.rule for v in check(extras, edition=SDK)} == {
        "type.parkTime",
        "datetime.format",
        "type.mediaRoles",
        "type.externalContactInitialDivisionId",
    }
    found = check({"state": "parked"}, edition=SDK)
    assert [(v.rule, v.path) for v in found] == [("state.parked-has-park-time", "$.parkTime")]


@pytest.mark.parametrize("edition", BOTH)
def test_unknown_properties_are_valid_and_unchecked(edition: Edition) -> None:
    payload = {
        "someFutureProperty": {"deep": [1, 2.5, None]},
        "wrapup": {"someFutureNested": -1, "durationSeconds": 3},
        "conversationRoutingData": {"skills": [{"id": "s", "weight": 2.5}]},
        "voicemail": {"uploadStatus": "archived", "size": "big"},
    }
    assert check(payload, edition=edition) == []


@pytest.mark.parametrize("edition", BOTH)
@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("state", "someFutureState"),
        ("state", "OutdatedSdkVersion"),
        ("direction", "sideways"),
        ("disconnectType", "brand.new.reason"),
        ("flaggedReason", "suspicious"),
        ("voicemail", {"uploadStatus": "archived"}),
    ],
)
def test_unknown_enum_strings_are_valid(edition: Edition, key: str, value: Any) -> None:
    assert check({key: value}, edition=edition) == []


@pytest.mark.parametrize("edition", BOTH)
def test_every_known_enum_value_is_valid_structurally(edition: Edition) -> None:
    for spec in participant_fields(edition).values():
        if spec.kind is Kind.ENUM:
            assert spec.enum is not None
            for member in spec.enum:
                assert (
                    check({spec.wire: member.value}, edition=edition, rules=RuleSet.STRUCTURAL)
                    == []
                )


# The state-dependent breaking rows, with the state swapped for values the edition does not know.
STATE_DEPENDENT = [c for c in STATE_BREAKS if c.rule != "value.non-negative"]


@pytest.mark.parametrize("edition", BOTH)
@pytest.mark.parametrize(
    "unknown", ["OutdatedSdkVersion", "someFutureState", "Connected", "DISCONNECTED", "", None]
)
def test_state_rules_need_a_known_state(edition: Edition, unknown: str | None) -> None:
    for case in STATE_DEPENDENT:
        payload = {**case.payload, "state": unknown}
        assert check(payload, edition=edition) == [], payload
        without = {k: v for k, v in case.payload.items() if k != "state"}
        assert check(without, edition=edition) == [], without


def test_ill_typed_flags_are_not_true() -> None:
    payload = {"state": "alerting", "held": "true", "wrapupSkipped": 1, "wrapup": {}}
    assert {(v.rule, v.path) for v in check(payload)} == {
        ("type.held", "$.held"),
        ("type.wrapupSkipped", "$.wrapupSkipped"),
    }


def test_parked_is_unknown_to_the_seed_edition() -> None:
    payload = {"state": "parked", "held": True, "endTime": T, "disconnectType": "client"}
    assert check(payload, edition=SEED) == []
    assert {v.rule for v in check(payload, edition=SDK)} == {
        "state.parked-has-park-time",
        "state.held-is-connected",
        "state.end-means-ended",
        "state.disconnect-type-when-ended",
    }


@pytest.mark.parametrize("edition", BOTH)
def test_id_matches_path_only_with_a_path_id(edition: Edition) -> None:
    assert check({"id": "a"}, edition=edition) == []
    assert check({"id": "a"}, edition=edition, path_id="a") == []
    found = check({"id": "a"}, edition=edition, path_id="b")
    assert [(v.rule, v.path) for v in found] == [("id.matches-path", "$.id")]
    # An id that is not a string is a type error, not a mismatch.
    found = check({"id": 5}, edition=edition, path_id="5")
    assert [(v.rule, v.path) for v in found] == [("type.id", "$.id")]


def test_several_problems_reported_at_once() -> None:
    payload = {
        "id": "x",
        "held": "yes",
        "timeoutSeconds": 2.0,
        "startTime": "2026-01-01T11:00:00+00:00",
        "endTime": T,
        "connectedTime": "yesterday",
        "wrapup": {"durationSeconds": True, "tags": ["a", 1]},
        "conversationRoutingData": {"skills": [{"id": "s"}, "s2"]},
        "state": "alerting",
    }
    found = {(v.rule, v.path) for v in check(payload, path_id="y")}
    assert found == {
        ("id.matches-path", "$.id"),
        ("type.held", "$.held"),
        ("type.timeoutSeconds", "$.timeoutSeconds"),
        ("datetime.format", "$.connectedTime"),
        ("type.wrapup", "$.wrapup.durationSeconds"),
        ("type.wrapup", "$.wrapup.tags[1]"),
        ("type.conversationRoutingData", "$.conversationRoutingData.skills[1]"),
        ("order.start<=end", "$.endTime"),
        ("state.end-means-ended", "$.state"),
    }


# Explicit rows for the paths the generated table derives, as a check on the generator itself.
@pytest.mark.parametrize(
    ("payload", "rule", "path"),
    [
        ({"wrapup": {"durationSeconds": 1.5}}, "type.wrapup", "$.wrapup.durationSeconds"),
        ({"wrapup": {"endTime": 0}}, "type.wrapup", "$.wrapup.endTime"),
        ({"wrapup": {"tags": ["a", "b", 3]}}, "type.wrapup", "$.wrapup.tags[2]"),
        (
            {"conversationRoutingData": {"skills": [{}, "java"]}},
            "type.conversationRoutingData",
            "$.conversationRoutingData.skills[1]",
        ),
        (
            {"conversationRoutingData": {"scoredAgents": [{"agent": {"selfUri": 1}}]}},
            "type.conversationRoutingData",
            "$.conversationRoutingData.scoredAgents[0].agent.selfUri",
        ),
        (
            {"journeyContext": {"triggeringAction": {"actionMap": {"version": "2"}}}},
            "type.journeyContext",
            "$.journeyContext.triggeringAction.actionMap.version",
        ),
        (
            {"outboundPreview": {"phoneNumberColumns": [{"type": None}, {"columnName": 7}]}},
            "type.outboundPreview",
            "$.outboundPreview.phoneNumberColumns[1].columnName",
        ),
        ({"voicemail": {"uploadStatus": 3}}, "type.voicemail", "$.voicemail.uploadStatus"),
        ({"attributes": {"ok": "v", "k": 1}}, "type.attributes", "$.attributes.k"),
        ({"attributes": {"a key": 1}}, "type.attributes", '$.attributes["a key"]'),
        ({"callbackNumbers": ["+1", None]}, "type.callbackNumbers", "$.callbackNumbers[1]"),
    ],
)
def test_nested_errors_use_the_top_level_id_and_the_exact_path(
    payload: dict[str, Any], rule: str, path: str
) -> None:
    assert [(v.rule, v.path) for v in check(payload)] == [(rule, path)]


def test_messages_name_what_was_expected_and_what_came() -> None:
    (v,) = check({"held": "yes"})
    assert "boolean" in v.message
    assert "'yes'" in v.message
    (v,) = check({"timeoutSeconds": 2.0})
    assert "integer" in v.message
    assert "2.0" in v.message
    (v,) = check({"wrapupTimeoutMs": True})
    assert "integer" in v.message
    assert "true" in v.message
    (v,) = check({"conversationRoutingData": {"skills": [{}, "java"]}})
    assert "AddressableEntityRef" in v.message
    assert "'java'" in v.message
    (v,) = check({"startTime": "2026-11-24 03:38:49Z"})
    assert "'2026-11-24 03:38:49Z'" in v.message
    assert "T" in v.message
    (v,) = check({"startTime": "2026-01-01T11:00:00Z", "connectedTime": T})
    assert "startTime" in v.message
    assert "connectedTime" in v.message
    assert "2026-01-01T11:00:00.000Z" in v.message
    assert "2026-01-01T10:00:00.000Z" in v.message
    (v,) = check({"id": "body"}, path_id="path")
    assert "'body'" in v.message
    assert "'path'" in v.message


# --------------------------------------------------------------------------------------------
# Model objects give the same violations as their wire form.


@pytest.mark.parametrize("edition", BOTH)
def test_model_and_wire_form_agree(edition: Edition) -> None:
    compared = 0
    for e, case in BREAKS + BOUNDS + IGNORED:
        if e is not edition or not isinstance(case.payload, dict):
            continue
        expected = violations(case, edition)
        if any(is_structural(v.rule) and v.rule != "id.matches-path" for v in expected):
            continue  # not a participant
        participant = decode(case.payload, edition=edition)
        found = check(participant, edition=edition, path_id=case.path_id)
        assert found == expected, case
        assert check(encode(participant), edition=edition, path_id=case.path_id) == expected, case
        compared += 1
    assert compared > 500


def test_model_with_sdk_269_values_checked_in_the_seed_edition() -> None:
    p = CallbackMediaParticipant(
        state=State.PARKED,
        connected_time=parse_datetime("2026-01-01T11:00:00Z"),
        park_time=parse_datetime(T),
        start_alerting_time=parse_datetime("2026-01-01T12:00:00Z"),
    )
    assert check(p, edition=SEED) == check(encode(p), edition=SEED) == []
    assert {v.rule for v in check(p, edition=SDK)} == {
        "order.connected<=park",
        "order.alerting<=connected",
    }
    assert check(p, edition=SDK) == check(encode(p), edition=SDK)


def test_model_checks() -> None:
    p = CallbackMediaParticipant(
        id="a",
        state=State.DISCONNECTED,
        disconnect_type=DisconnectType.CLIENT,
        wrapup_skipped=True,
        wrapup=Wrapup(duration_seconds=-1, end_time=parse_datetime(T)),
        start_acw_time=parse_datetime("2026-01-01T10:00:01Z"),
    )
    found = check(p, path_id="b")
    assert found == check(encode(p), path_id="b")
    assert {(v.rule, v.path) for v in found} == {
        ("id.matches-path", "$.id"),
        ("state.ended-has-end", "$.endTime"),
        ("state.acw-after-end", "$.endTime"),
        ("wrapup.skipped-has-none", "$.wrapup"),
        ("value.non-negative", "$.wrapup.durationSeconds"),
        ("order.acw-start<=wrapup-end", "$.wrapup.endTime"),
    }
    assert [(v.rule, v.path) for v in check(p, path_id="b", rules=RuleSet.STRUCTURAL)] == [
        ("id.matches-path", "$.id")
    ]
    assert check(attrs.evolve(p, id=None), path_id="b", rules=RuleSet.STRUCTURAL) == []
    assert check(CallbackMediaParticipant()) == []


# --------------------------------------------------------------------------------------------
# A property: `check` against an independent reading of the contract's semantic rules.

# Instants as milliseconds after 2026-01-01T10:00:00Z, each written in a different way.
INSTANTS = {
    "2026-01-01T10:00:00Z": 0,
    "2026-01-01T12:00:00+02:00": 0,
    "2026-01-01t04:30:00-05:30": 0,
    "2026-01-01T10:00:00.001Z": 1,
    "2026-01-01T04:59:59.999-05:00": -1,
    "2026-01-01T10:00:01+00:00": 1000,
    "2026-01-01t09:59:59z": -1000,
    "2026-01-01T11:00:00.000000001+01:00": 0,
}

STATES = {
    SEED: {
        "alerting",
        "dialing",
        "contacting",
        "offering",
        "connected",
        "disconnected",
        "terminated",
        "converting",
        "uploading",
        "transmitting",
        "none",
    },
}
STATES[SDK] = STATES[SEED] | {"parked"}
TIMESTAMP_KEYS = [
    "startTime",
    "startAlertingTime",
    "connectedTime",
    "endTime",
    "startHoldTime",
    "startAcwTime",
    "endAcwTime",
    "parkTime",
    "resumeTime",
    "callbackScheduledTime",
]
SDK_ONLY = {"startAlertingTime", "parkTime", "resumeTime"}


def expected_rules(payload: dict[str, Any], edition: Edition) -> collections.Counter[str]:
    """The semantic rule ids the contract says ``payload`` breaks, counted per violation."""
    found: collections.Counter[str] = collections.Counter()

    def get(key: str) -> Any:
        head, _, rest = key.partition(".")
        if edition is SEED and head in SDK_ONLY:
            return None
        value = payload.get(head)
        if rest:
            return value.get(rest) if isinstance(value, dict) else None
        return value

    for rule, earlier, later, _ in ORDERING:
        e, lt = get(earlier), get(later)
        if e is not None and lt is not None and INSTANTS[lt] < INSTANTS[e]:
            found[rule] += 1
    state = payload.get("state")
    if state in STATES[edition]:
        ended = state in ("disconnected", "terminated")
        if ended and get("endTime") is None:
            found["state.ended-has-end"] += 1
        if get("endTime") is not None and not ended:
            found["state.end-means-ended"] += 1
        if get("disconnectType") is not None and not ended:
            found["state.disconnect-type-when-ended"] += 1
        if state == "connected" and get("connectedTime") is None:
            found["state.connected-has-connected-time"] += 1
        if get("held") is True:
            found["state.held-is-connected"] += (state != "connected") + (
                get("startHoldTime") is None
            )
        if get("startAcwTime") is not None and get("endTime") is None:
            found["state.acw-after-end"] += 1
        if state == "parked" and get("parkTime") is None:
            found["state.parked-has-park-time"] += 1
        if get("wrapupSkipped") is True and get("wrapup") is not None:
            found["wrapup.skipped-has-none"] += 1
    for key in ("wrapupTimeoutMs", "alertingTimeoutMs", "timeoutSeconds", "wrapup.durationSeconds"):
        value = get(key)
        if value is not None and value < 0:
            found["value.non-negative"] += 1
    return +found


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


times = maybe(st.sampled_from(sorted(INSTANTS)))
small_ints = maybe(st.integers(-2, 2))
payloads = st.fixed_dictionaries(
    {},
    optional={
        **dict.fromkeys(TIMESTAMP_KEYS, times),
        "state": maybe(st.sampled_from([*sorted(STATES[SDK]), "OutdatedSdkVersion", "future"])),
        "disconnectType": maybe(st.sampled_from(["client", "takeover", "future.reason"])),
        "held": maybe(st.booleans()),
        "wrapupSkipped": maybe(st.booleans()),
        "wrapupTimeoutMs": small_ints,
        "alertingTimeoutMs": small_ints,
        "timeoutSeconds": small_ints,
        "wrapup": maybe(
            st.fixed_dictionaries(
                {},
                optional={
                    "endTime": times,
                    "durationSeconds": small_ints,
                    "code": maybe(st.text()),
                },
            )
        ),
    },
)


@settings(max_examples=300, deadline=None)
@given(payload=payloads, edition=st.sampled_from(BOTH))
def test_semantic_rules_match_the_contract(payload: dict[str, Any], edition: Edition) -> None:
    found = check(payload, edition=edition)
    assert collections.Counter(v.rule for v in found) == expected_rules(payload, edition)
    participant = decode(payload, edition=edition)
    assert check(participant, edition=edition) == found
    assert check(encode(participant), edition=edition) == found
