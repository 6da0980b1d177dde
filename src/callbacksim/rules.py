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

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from functools import cache
from typing import Any, Protocol

import attrs

from callbacksim.compiled import FastCheck, Source
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
    "compiled_check",
    "facts",
    "facts_of",
    "known_states",
    "rule_ids",
    "walk_rules",
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
# The semantic rules. Each is data with two readings: `findings` gives its violations in a payload's
# facts (the general check), `broken` writes the condition under which it is broken as Python over
# the locals of the compiled check (`callbacksim.compiled`). The two read the same declaration, so
# they cannot drift apart; a differential test holds them to the same answers.

Finding = tuple[str, str]  # (path, message)


class Semantic(Protocol):
    """A semantic rule's behaviour, in both readings."""

    def findings(self, facts: Facts, edition: Edition) -> Iterator[Finding]:
        """Every violation of the rule in ``facts``: (path, message)."""
        ...

    def broken(self, src: Source) -> Iterator[str]:
        """Python conditions, each true when the rule is broken, over the compiled check's
        locals (`Source.var`, `Source.known`, `Source.const`)."""
        ...


@attrs.frozen
class Rule:
    """A validity rule: its stable id, its group and one sentence saying what it demands."""

    id: str
    group: str
    summary: str
    since: Edition | None = None
    checker: Semantic | None = attrs.field(default=None, eq=False, repr=False)


def _fmt(value: datetime) -> str:
    return format_datetime(value)


@attrs.frozen
class _Ordering:
    before: Before

    def findings(self, facts: Facts, _edition: Edition) -> Iterator[Finding]:
        b = self.before
        earlier, later = facts.get(b.earlier), facts.get(b.later)
        if isinstance(earlier, datetime) and isinstance(later, datetime) and later < earlier:
            yield (
                f"$.{b.later}",
                f"{b.later} ({_fmt(later)}) is before {b.earlier} ({_fmt(earlier)}); "
                f"expected {b.earlier} <= {b.later}",
            )

    def broken(self, src: Source) -> Iterator[str]:
        earlier, later = src.var(self.before.earlier), src.var(self.before.later)
        yield f"{earlier} is not None and {later} is not None and {later} < {earlier}"


@cache
def known_states(edition: Edition) -> frozenset[str]:
    """The ``state`` values under which the state rules apply: those ``edition`` knows, but the
    sentinel ``OutdatedSdkVersion``."""
    return frozenset(s.value for s in known_values(State, edition)) - {State.OUTDATED_SDK_VERSION}


def _known_state(facts: Facts, edition: Edition) -> State | None:
    state = facts.get("state")
    if isinstance(state, str) and state in known_states(edition):
        return State(state)
    return None


# Conditions of the state rules, on a payload's facts and its known state.


@attrs.frozen
class _Present:
    key: str

    def holds(self, facts: Facts, _state: State) -> bool:
        return self.key in facts

    def source(self, src: Source) -> str:
        return f"{src.var(self.key)} is not None"


@attrs.frozen
class _Absent:
    key: str

    def holds(self, facts: Facts, _state: State) -> bool:
        return self.key not in facts

    def source(self, src: Source) -> str:
        return f"{src.var(self.key)} is None"


@attrs.frozen
class _IsTrue:
    key: str

    def holds(self, facts: Facts, _state: State) -> bool:
        return facts.get(self.key) is True

    def source(self, src: Source) -> str:
        return f"{src.var(self.key)} is True"


@attrs.frozen
class _StateIn:
    states: frozenset[State]

    def holds(self, _facts: Facts, state: State) -> bool:
        return state in self.states

    def source(self, src: Source) -> str:
        values = frozenset(s.value for s in self.states)
        return f"{src.var('state')} in {src.const(values)}"


_Condition = _Present | _Absent | _IsTrue | _StateIn


@attrs.frozen
class _Requires:
    """When ``when`` holds, ``then`` must; broken, it is reported at ``path`` with ``message``
    (a template over the facts by name, and ``state``, the state's value)."""

    when: _Condition
    then: _Condition
    path: str
    message: str


@attrs.frozen
class _StateRule:
    """Requirements that apply only while ``state`` holds a state the edition knows."""

    requires: tuple[_Requires, ...]

    def findings(self, facts: Facts, edition: Edition) -> Iterator[Finding]:
        state = _known_state(facts, edition)
        if state is None:
            return
        for r in self.requires:
            if r.when.holds(facts, state) and not r.then.holds(facts, state):
                yield r.path, r.message.format_map({**facts, "state": state.value})

    def broken(self, src: Source) -> Iterator[str]:
        for r in self.requires:
            yield f"{src.known()} and {r.when.source(src)} and not ({r.then.source(src)})"


def _state_rule(*requires: _Requires) -> _StateRule:
    return _StateRule(requires)


_ENDED = frozenset({State.DISCONNECTED, State.TERMINATED})


@attrs.frozen
class _NonNegative:
    keys: tuple[str, ...]

    def findings(self, facts: Facts, _edition: Edition) -> Iterator[Finding]:
        for key in self.keys:
            value = facts.get(key)
            if isinstance(value, int) and value < 0:
                yield f"$.{key}", f"{key} is {value}; expected an integer >= 0"

    def broken(self, src: Source) -> Iterator[str]:
        for key in self.keys:
            name = src.var(key)
            yield f"{name} is not None and {name} < 0"


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
            checker=_Ordering(b),
        )
        for b in ORDER
    ),
    Rule(
        "state.ended-has-end",
        "state",
        "state disconnected or terminated => endTime present",
        checker=_state_rule(
            _Requires(
                _StateIn(_ENDED),
                _Present("endTime"),
                "$.endTime",
                "state is {state!r} but endTime is absent; an ended participant has an endTime",
            )
        ),
    ),
    Rule(
        "state.end-means-ended",
        "state",
        "endTime present => state is disconnected or terminated",
        checker=_state_rule(
            _Requires(
                _Present("endTime"),
                _StateIn(_ENDED),
                "$.state",
                "endTime is present but state is {state!r}; "
                "expected 'disconnected' or 'terminated' once a participant has ended",
            )
        ),
    ),
    Rule(
        "state.disconnect-type-when-ended",
        "state",
        "disconnectType present => state is disconnected or terminated",
        checker=_state_rule(
            _Requires(
                _Present("disconnectType"),
                _StateIn(_ENDED),
                "$.disconnectType",
                "disconnectType {disconnectType!s} is present but state is {state!r}; "
                "a disconnect type is set only once the state is 'disconnected' or 'terminated'",
            )
        ),
    ),
    Rule(
        "state.connected-has-connected-time",
        "state",
        "state connected => connectedTime present",
        checker=_state_rule(
            _Requires(
                _StateIn(frozenset({State.CONNECTED})),
                _Present("connectedTime"),
                "$.connectedTime",
                "state is 'connected' but connectedTime is absent",
            )
        ),
    ),
    Rule(
        "state.held-is-connected",
        "state",
        "held true => state connected and startHoldTime present",
        checker=_state_rule(
            _Requires(
                _IsTrue("held"),
                _StateIn(frozenset({State.CONNECTED})),
                "$.held",
                "held is true but state is {state!r}; only a connected participant is on hold",
            ),
            _Requires(
                _IsTrue("held"),
                _Present("startHoldTime"),
                "$.startHoldTime",
                "held is true but startHoldTime is absent",
            ),
        ),
    ),
    Rule(
        "state.acw-after-end",
        "state",
        "startAcwTime present => endTime present",
        checker=_state_rule(
            _Requires(
                _Present("startAcwTime"),
                _Present("endTime"),
                "$.endTime",
                "startAcwTime is present but endTime is absent; "
                "after-call work starts after the end",
            )
        ),
    ),
    Rule(
        "state.parked-has-park-time",
        "state",
        "state parked => parkTime present",
        since=Edition.SDK_269,
        checker=_state_rule(
            _Requires(
                _StateIn(frozenset({State.PARKED})),
                _Present("parkTime"),
                "$.parkTime",
                "state is 'parked' but parkTime is absent",
            )
        ),
    ),
    Rule(
        "wrapup.skipped-has-none",
        "state",
        "wrapupSkipped true => wrapup absent",
        checker=_state_rule(
            _Requires(
                _IsTrue("wrapupSkipped"),
                _Absent("wrapup"),
                "$.wrapup",
                "wrapupSkipped is true but a wrapup is present; a skipped wrap-up has none",
            )
        ),
    ),
    Rule(
        "value.non-negative",
        "value",
        "wrapupTimeoutMs, alertingTimeoutMs, timeoutSeconds and wrapup.durationSeconds are >= 0",
        checker=_NonNegative(
            ("wrapupTimeoutMs", "alertingTimeoutMs", "timeoutSeconds", "wrapup.durationSeconds")
        ),
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

    A raw payload is first put to the compiled check of ``edition`` and ``rules``
    (`compiled_check`); only one it cannot pass as valid is walked rule by rule (`walk_rules`).
    """
    if type(payload) is dict and compiled_check(edition, rules)(payload, path_id):
        return []
    return walk_rules(payload, edition=edition, rules=rules, path_id=path_id)


def walk_rules(
    payload: object,
    *,
    edition: Edition = Edition.SEED,
    rules: RuleSet = RuleSet.STRICT,
    path_id: str | None = None,
) -> list[Violation]:
    """`check` without the compiled fast path: every rule walked in turn. The same answer, slower;
    for comparisons."""
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
            violations.extend(
                Violation(rule.id, p, m) for p, m in rule.checker.findings(facts, edition)
            )
    return violations


@cache
def compiled_check(edition: Edition = Edition.SEED, rules: RuleSet = RuleSet.STRICT) -> FastCheck:
    """The compiled check of ``edition`` and ``rules``: ``fast(payload, path_id)`` is True when the
    raw ``payload`` is certainly valid, False when it must be walked rule by rule (it may still be
    valid). Generated from the schema and `RULES` (see `callbacksim.compiled`); its source is its
    docstring."""
    src = Source(edition, known_states(edition))
    semantic = _semantic(edition) if rules is RuleSet.STRICT else ()
    conditions = [c for rule in semantic if rule.checker for c in rule.checker.broken(src)]
    return src.build(conditions)
