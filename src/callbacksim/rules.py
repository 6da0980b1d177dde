"""The validity rules of a callback participant, each defined once and named by its stable id.

`check` is the one entry point. It takes either a raw payload (whatever ``json.loads`` gave:
possibly not an object, possibly ill-typed) or a `CallbackMediaParticipant`, and returns every
violation at once, each with its rule id, a JSON path (``$.wrapup.endTime``) and a message saying
what was expected and what came.

The rules, by group:

- structural: ``json.object``, ``type.<property>`` (one per property of the edition; a bad value
  inside a nested object is reported under the top-level property's id, with the exact path),
  ``datetime.format`` and ``id.matches-path``;
- ordering: derived from `ORDER`, the timestamp partial order declared as data below;
- state consistency: apply only while ``state`` holds a value the edition knows (the sentinel
  ``OutdatedSdkVersion`` counts as unknown), since the meaning of an unknown state is unknown;
- values: ``value.non-negative``.

Absent and ``null`` are the same and impose no constraint. Properties the edition does not define
(``parkTime`` in the ``seed`` edition, say) are unknown extras: valid, and not checked.
The ``structural`` rule set checks only the structural group; ``strict`` (the default) checks all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from functools import cache
from typing import Any

import attrs

from callbacksim.model import CallbackMediaParticipant, Edition, State, known_values
from callbacksim.schema import FieldSpec, Kind, fields_of, participant_fields
from callbacksim.wiretime import DatetimeFormatError, format_datetime, parse_datetime

__all__ = [
    "ORDER",
    "RULES",
    "TIMESTAMPS",
    "Before",
    "Rule",
    "RuleSet",
    "Timestamp",
    "Violation",
    "check",
    "facts",
    "facts_of",
    "rule_ids",
]


class RuleSet(StrEnum):
    STRICT = "strict"
    """Every rule (the default)."""
    STRUCTURAL = "structural"
    """Only ``json.object``, ``type.*``, ``datetime.format`` and ``id.matches-path``."""


@attrs.frozen
class Violation:
    """One broken rule: its id, where (a JSON path) and what was expected and what came."""

    rule: str
    path: str
    message: str


# --------------------------------------------------------------------------------------------
# The timestamp partial order, declared once. Ordering rules, the enumeration of ordering classes
# and the lifecycle simulator's timing all read it.


@attrs.frozen
class Timestamp:
    """A per-participant timestamp, named by its wire path (``wrapup.endTime`` for nested ones)."""

    key: str
    since: Edition | None = None


@attrs.frozen
class Before:
    """``earlier <= later`` whenever both are present; broken, it is reported as ``rule``."""

    rule: str
    earlier: str
    later: str


TIMESTAMPS: tuple[Timestamp, ...] = (
    Timestamp("startTime"),
    Timestamp("startAlertingTime", since=Edition.SDK_269),
    Timestamp("connectedTime"),
    Timestamp("startHoldTime"),
    Timestamp("parkTime", since=Edition.SDK_269),
    Timestamp("resumeTime", since=Edition.SDK_269),
    Timestamp("endTime"),
    Timestamp("startAcwTime"),
    Timestamp("endAcwTime"),
    Timestamp("wrapup.endTime"),
    # Free: may fall before, between or after any other timestamp.
    Timestamp("callbackScheduledTime"),
)

ORDER: tuple[Before, ...] = (
    Before("order.start<=alerting", "startTime", "startAlertingTime"),
    Before("order.start<=connected", "startTime", "connectedTime"),
    Before("order.alerting<=connected", "startAlertingTime", "connectedTime"),
    Before("order.connected<=end", "connectedTime", "endTime"),
    Before("order.start<=end", "startTime", "endTime"),
    Before("order.connected<=hold", "connectedTime", "startHoldTime"),
    Before("order.hold<=end", "startHoldTime", "endTime"),
    Before("order.end<=acw", "endTime", "startAcwTime"),
    Before("order.acw-start<=acw-end", "startAcwTime", "endAcwTime"),
    Before("order.connected<=park", "connectedTime", "parkTime"),
    Before("order.park<=resume", "parkTime", "resumeTime"),
    Before("order.acw-start<=wrapup-end", "startAcwTime", "wrapup.endTime"),
)


def timestamps(edition: Edition) -> tuple[str, ...]:
    """The timestamp keys ``edition`` defines, in declaration order."""
    return tuple(t.key for t in TIMESTAMPS if edition.includes(t.since))


def order(edition: Edition) -> tuple[Before, ...]:
    """The ordering constraints between timestamps that ``edition`` defines."""
    present = set(timestamps(edition))
    return tuple(b for b in ORDER if b.earlier in present and b.later in present)


# --------------------------------------------------------------------------------------------
# Facts: the well-typed values of a payload, keyed by wire path. Semantic rules read only facts,
# so they run unchanged on raw payloads and on model objects.

Facts = dict[str, Any]

_ENDED = frozenset({State.DISCONNECTED, State.TERMINATED})


def _path(parent: str, key: str) -> str:
    if key.isidentifier():
        return f"{parent}.{key}"
    escaped = key.replace("\\", "\\\\").replace('"', '\\"')
    return f'{parent}["{escaped}"]'


def _show(value: object) -> str:
    """A short description of a JSON value for messages: its JSON type and a clipped repr."""
    kind = {
        bool: "the boolean",
        int: "the integer",
        float: "the number",
        str: "the string",
        list: "an array",
        dict: "an object",
    }.get(type(value), type(value).__name__)
    if value is None:
        return "null"
    if isinstance(value, list | dict):
        return f"{kind} of {len(value)} item(s)"
    if isinstance(value, str):
        text = repr(value)
    else:
        text = str(value).lower() if isinstance(value, bool) else str(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{kind} {text}"


class _Walker:
    """Type-checks a raw payload against the schema, collecting violations and facts."""

    def __init__(self, edition: Edition) -> None:
        self.edition = edition
        self.violations: list[Violation] = []
        self.facts: Facts = {}

    def bad(self, rule: str, path: str, message: str) -> None:
        self.violations.append(Violation(rule, path, message))

    def object(
        self,
        obj: Mapping[str, Any],
        specs: Sequence[FieldSpec],
        path: str,
        top: str | None,
        prefix: str | None,
    ) -> None:
        for spec in specs:
            if spec.wire not in obj:
                continue
            value = obj[spec.wire]
            if value is None:
                continue
            rule = f"type.{top or spec.wire}"
            parsed = self.value(value, spec, _path(path, spec.wire), rule)
            if prefix is not None:
                # An ill-typed value is still present (for presence rules) but has no usable value.
                self.facts[prefix + spec.wire] = parsed

    def value(self, value: Any, spec: FieldSpec, path: str, rule: str) -> Any:
        kind = spec.kind
        if kind is Kind.STRING or kind is Kind.ENUM:
            if isinstance(value, str):
                return value
        elif kind is Kind.BOOLEAN:
            if value is True or value is False:
                return value
        elif kind is Kind.INTEGER:
            if type(value) is int:
                return value
        elif kind is Kind.DATETIME:
            if isinstance(value, str):
                try:
                    return parse_datetime(value)
                except DatetimeFormatError as exc:
                    self.bad("datetime.format", path, str(exc))
                    return _BAD
        elif kind is Kind.STRING_LIST:
            if isinstance(value, list):
                ok = True
                for i, item in enumerate(value):
                    if not isinstance(item, str):
                        ok = False
                        self.bad(rule, f"{path}[{i}]", f"expected a string, got {_show(item)}")
                return value if ok else _BAD
        elif kind is Kind.STRING_MAP:
            if isinstance(value, dict):
                ok = True
                for k, item in value.items():
                    if not isinstance(item, str):
                        ok = False
                        self.bad(
                            rule, _path(path, k), f"expected a string value, got {_show(item)}"
                        )
                return value if ok else _BAD
        elif kind is Kind.OBJECT:
            if isinstance(value, dict):
                assert spec.nested is not None
                before = len(self.violations)
                prefix = path[2:] + "." if path.count(".") == 1 else None
                self.object(value, fields_of(spec.nested), path, rule[5:], prefix)
                return value if len(self.violations) == before else _BAD
        elif kind is Kind.OBJECT_LIST and isinstance(value, list):
            assert spec.nested is not None
            before = len(self.violations)
            nested = fields_of(spec.nested)
            for i, item in enumerate(value):
                if isinstance(item, dict):
                    self.object(item, nested, f"{path}[{i}]", rule[5:], None)
                else:
                    self.bad(
                        rule,
                        f"{path}[{i}]",
                        f"expected a JSON object ({spec.nested.__name__}), got {_show(item)}",
                    )
            return value if len(self.violations) == before else _BAD
        self.bad(rule, path, f"expected {spec.describe()}, got {_show(value)}")
        return _BAD


_BAD = object()


def _raw_facts(
    payload: object, edition: Edition, path_id: str | None
) -> tuple[Facts, list[Violation]]:
    if not isinstance(payload, dict):
        message = f"expected a JSON object (one participant), got {_show(payload)}"
        return {}, [Violation("json.object", "$", message)]
    walker = _Walker(edition)
    walker.object(payload, tuple(participant_fields(edition).values()), "$", None, "")
    body_id = payload.get("id")
    if path_id is not None and isinstance(body_id, str) and body_id != path_id:
        walker.bad(
            "id.matches-path",
            "$.id",
            f"the body's id {body_id!r} differs from the participant id {path_id!r} of the "
            "request path; send the same id in both, or leave id out of the body",
        )
    return walker.facts, walker.violations


def facts(payload: object, edition: Edition = Edition.SEED) -> Facts:
    """The well-typed values of a raw payload or a model object, by wire path (``state``,
    ``wrapup.endTime``); datetimes parsed. An ill-typed value is present but holds no usable value
    (it is not a ``datetime``, ``str``, ...). Empty for a payload that is not an object."""
    if isinstance(payload, CallbackMediaParticipant):
        return facts_of(payload, edition)
    return _raw_facts(payload, edition, None)[0]


def facts_of(participant: CallbackMediaParticipant, edition: Edition) -> Facts:
    """The facts of a model object: present top-level values, and one level into nested objects."""
    facts: Facts = {}
    for spec in participant_fields(edition).values():
        value = getattr(participant, spec.attr)
        if value is None:
            continue
        facts[spec.wire] = value
        if spec.kind is Kind.OBJECT and spec.nested is not None:
            for inner in fields_of(spec.nested):
                inner_value = getattr(value, inner.attr)
                if inner_value is not None:
                    facts[f"{spec.wire}.{inner.wire}"] = inner_value
    return facts


# --------------------------------------------------------------------------------------------
# The semantic rules.

Finding = tuple[str, str]  # (path, message)
Checker = Callable[[Facts, Edition], Iterator[Finding]]


@attrs.frozen
class Rule:
    """A validity rule: its stable id, its group and one sentence saying what it demands."""

    id: str
    group: str
    summary: str
    since: Edition | None = None
    checker: Checker | None = attrs.field(default=None, eq=False, repr=False)


def _fmt(value: datetime) -> str:
    return format_datetime(value)


def _ordering(before: Before) -> Checker:
    def check(facts: Facts, _edition: Edition) -> Iterator[Finding]:
        earlier, later = facts.get(before.earlier), facts.get(before.later)
        if isinstance(earlier, datetime) and isinstance(later, datetime) and later < earlier:
            yield (
                f"$.{before.later}",
                f"{before.later} ({_fmt(later)}) is before {before.earlier} ({_fmt(earlier)}); "
                f"expected {before.earlier} <= {before.later}",
            )

    return check


def _known_state(facts: Facts, edition: Edition) -> State | None:
    state = facts.get("state")
    if isinstance(state, str) and state != State.OUTDATED_SDK_VERSION:
        for member in known_values(State, edition):
            if member == state:
                return State(member)
    return None


def _state_rule(
    body: Callable[[Facts, State], Iterator[Finding]],
) -> Checker:
    def check(facts: Facts, edition: Edition) -> Iterator[Finding]:
        state = _known_state(facts, edition)
        if state is not None:
            yield from body(facts, state)

    return check


def _ended_has_end(facts: Facts, state: State) -> Iterator[Finding]:
    if state in _ENDED and "endTime" not in facts:
        yield (
            "$.endTime",
            f"state is {state.value!r} but endTime is absent; an ended participant has an endTime",
        )


def _end_means_ended(facts: Facts, state: State) -> Iterator[Finding]:
    if "endTime" in facts and state not in _ENDED:
        yield (
            "$.state",
            (
                f"endTime is present but state is {state.value!r}; "
                "expected 'disconnected' or 'terminated' once a participant has ended"
            ),
        )


def _disconnect_type_when_ended(facts: Facts, state: State) -> Iterator[Finding]:
    if "disconnectType" in facts and state not in _ENDED:
        yield (
            "$.disconnectType",
            (
                f"disconnectType {facts['disconnectType']!s} is present but state is "
                f"{state.value!r}; "
                "a disconnect type is set only once the state is 'disconnected' or 'terminated'"
            ),
        )


def _connected_has_time(facts: Facts, state: State) -> Iterator[Finding]:
    if state is State.CONNECTED and "connectedTime" not in facts:
        yield "$.connectedTime", "state is 'connected' but connectedTime is absent"


def _held_is_connected(facts: Facts, state: State) -> Iterator[Finding]:
    if facts.get("held") is True:
        if state is not State.CONNECTED:
            yield (
                "$.held",
                f"held is true but state is {state.value!r}; "
                "only a connected participant is on hold",
            )
        if "startHoldTime" not in facts:
            yield "$.startHoldTime", "held is true but startHoldTime is absent"


def _acw_after_end(facts: Facts, state: State) -> Iterator[Finding]:
    if "startAcwTime" in facts and "endTime" not in facts:
        yield (
            "$.endTime",
            "startAcwTime is present but endTime is absent; after-call work starts after the end",
        )


def _parked_has_time(facts: Facts, state: State) -> Iterator[Finding]:
    if state is State.PARKED and "parkTime" not in facts:
        yield "$.parkTime", "state is 'parked' but parkTime is absent"


def _skipped_has_none(facts: Facts, state: State) -> Iterator[Finding]:
    if facts.get("wrapupSkipped") is True and "wrapup" in facts:
        yield (
            "$.wrapup",
            "wrapupSkipped is true but a wrapup is present; a skipped wrap-up has none",
        )


_NON_NEGATIVE = ("wrapupTimeoutMs", "alertingTimeoutMs", "timeoutSeconds", "wrapup.durationSeconds")


def _non_negative(facts: Facts, _edition: Edition) -> Iterator[Finding]:
    for key in _NON_NEGATIVE:
        value = facts.get(key)
        if isinstance(value, int) and value < 0:
            yield f"$.{key}", f"{key} is {value}; expected an integer >= 0"


def _structural_rules() -> list[Rule]:
    return [
        Rule("json.object", "structural", "the body is a JSON object"),
        Rule("datetime.format", "structural", "each datetime is an RFC 3339 date-time with a zone"),
        Rule(
            "id.matches-path",
            "structural",
            "the body's id, if present, equals the participant id of the request path",
        ),
    ] + [
        Rule(f"type.{f.wire}", "structural", f"{f.wire} is {f.describe()}", since=f.since)
        for f in participant_fields(Edition.latest()).values()
    ]


def _by_key(key: str) -> Edition | None:
    return next(t.since for t in TIMESTAMPS if t.key == key)


RULES: tuple[Rule, ...] = (
    *_structural_rules(),
    *(
        Rule(
            b.rule,
            "ordering",
            f"{b.earlier} <= {b.later}",
            since=_by_key(b.earlier) or _by_key(b.later),
            checker=_ordering(b),
        )
        for b in ORDER
    ),
    Rule(
        "state.ended-has-end",
        "state",
        "state disconnected or terminated => endTime present",
        checker=_state_rule(_ended_has_end),
    ),
    Rule(
        "state.end-means-ended",
        "state",
        "endTime present => state is disconnected or terminated",
        checker=_state_rule(_end_means_ended),
    ),
    Rule(
        "state.disconnect-type-when-ended",
        "state",
        "disconnectType present => state is disconnected or terminated",
        checker=_state_rule(_disconnect_type_when_ended),
    ),
    Rule(
        "state.connected-has-connected-time",
        "state",
        "state connected => connectedTime present",
        checker=_state_rule(_connected_has_time),
    ),
    Rule(
        "state.held-is-connected",
        "state",
        "held true => state connected and startHoldTime present",
        checker=_state_rule(_held_is_connected),
    ),
    Rule(
        "state.acw-after-end",
        "state",
        "startAcwTime present => endTime present",
        checker=_state_rule(_acw_after_end),
    ),
    Rule(
        "state.parked-has-park-time",
        "state",
        "state parked => parkTime present",
        since=Edition.SDK_269,
        checker=_state_rule(_parked_has_time),
    ),
    Rule(
        "wrapup.skipped-has-none",
        "state",
        "wrapupSkipped true => wrapup absent",
        checker=_state_rule(_skipped_has_none),
    ),
    Rule(
        "value.non-negative",
        "value",
        "wrapupTimeoutMs, alertingTimeoutMs, timeoutSeconds and wrapup.durationSeconds are >= 0",
        checker=_non_negative,
    ),
)


@cache
def _semantic(edition: Edition) -> tuple[Rule, ...]:
    return tuple(r for r in RULES if r.checker is not None and edition.includes(r.since))


@cache
def rule_ids(edition: Edition = Edition.SEED, rules: RuleSet = RuleSet.STRICT) -> tuple[str, ...]:
    """Every rule id that ``edition`` and ``rules`` check, in a stable order."""
    return tuple(
        r.id
        for r in RULES
        if edition.includes(r.since) and (rules is RuleSet.STRICT or r.group == "structural")
    )


def check(
    payload: object,
    *,
    edition: Edition = Edition.SEED,
    rules: RuleSet = RuleSet.STRICT,
    path_id: str | None = None,
) -> list[Violation]:
    """Every violation of ``payload``: a raw JSON value or a `CallbackMediaParticipant`.

    ``path_id`` is the participant id of the request path, if there is one: ``id.matches-path`` is
    checked only with it. An empty list means the payload is valid.
    """
    if isinstance(payload, CallbackMediaParticipant):
        facts = facts_of(payload, edition)
        violations: list[Violation] = []
        if path_id is not None and payload.id is not None and payload.id != path_id:
            _, violations = _raw_facts({"id": payload.id}, edition, path_id)
    else:
        facts, violations = _raw_facts(payload, edition, path_id)
    if rules is RuleSet.STRICT and facts:
        for rule in _semantic(edition):
            assert rule.checker is not None
            violations.extend(Violation(rule.id, p, m) for p, m in rule.checker(facts, edition))
    return violations
