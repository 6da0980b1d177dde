"""Invalid payloads, each breaking exactly one named rule.

`build_invalid` makes a payload that breaks ``rule`` and nothing else, constructively: it starts
from a valid participant shaped so that the one change cannot disturb any other rule (a wrong type
replaces a value that is already present, so no presence rule moves; an ordering rule is broken on
a participant that has only the two timestamps involved, so no other ordering rule applies), then
checks the result against the rules and raises `GenerationBug` if anything but ``rule`` broke: the
label is verified, never assumed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import attrs

from callbacksim.generation import vocab
from callbacksim.generation.chooser import Chooser
from callbacksim.generation.participants import (
    ANCHOR_MS,
    Shape,
    build_participant,
    copy_payload,
    state_bounds,
    states,
)
from callbacksim.model import DisconnectType, Edition, State, known_values
from callbacksim.orderings import OrderingClass, walk
from callbacksim.rules import ORDER, RuleSet, check, rule_ids
from callbacksim.schema import FieldSpec, Kind, fields_of, participant_fields
from callbacksim.wiretime import format_epoch_ms

__all__ = ["GenerationBug", "Invalid", "build_invalid", "full_payload"]


class GenerationBug(AssertionError):
    """A generated payload is not what its label says: a bug in callbacksim, please report it."""


@attrs.frozen
class Invalid:
    """An invalid payload, the one rule it breaks, and the participant id its request path uses."""

    payload: Any
    rule: str
    path_id: str


class _Eager:
    """A chooser that says yes to every optional part: the most complete participant it can."""

    __slots__ = ("_inner",)

    def __init__(self, inner: Chooser) -> None:
        self._inner = inner

    def below(self, n: int) -> int:
        return self._inner.below(n)

    def between(self, lo: int, hi: int) -> int:
        return self._inner.between(lo, hi)

    def chance(self, p: float) -> bool:
        return p > 0

    def pick(self, items: Any) -> Any:
        return self._inner.pick(items)

    def bits(self, k: int) -> int:
        return self._inner.bits(k)


def full_payload(
    ch: Chooser, edition: Edition, *, state: str = State.DISCONNECTED
) -> dict[str, Any]:
    """A valid payload with (nearly) every property present: an agent leg, topped up with the
    customer-only properties, which no rule constrains."""
    eager = _Eager(ch)
    shape = Shape(edition=edition, purpose="agent", state=state)
    payload = build_participant(eager, shape)
    customer = build_participant(eager, Shape(edition=edition, purpose="customer", state=state))
    for key in (
        "address",
        "externalContact",
        "externalContactInitialDivisionId",
        "externalOrganization",
        "journeyContext",
        "attributes",
        "peer",
        "voicemail",
    ):
        if key in customer and key not in payload:
            payload[key] = customer[key]
    if "peer" not in payload:
        payload["peer"] = vocab.entity_id(ch)
    return payload


# -- wrong JSON values, by kind --------------------------------------------------------------

_WRONG: dict[Kind, tuple[Any, ...]] = {
    Kind.STRING: (5, True, ["text"], {"value": "text"}, 1.5),
    Kind.ENUM: (3, False, ["connected"], {"value": "connected"}),
    Kind.BOOLEAN: ("true", 1, 0, "false", [True]),
    Kind.INTEGER: (2.0, "5", True, 2000.0, 1.5, [1]),
    Kind.DATETIME: (ANCHOR_MS, True, [format_epoch_ms(ANCHOR_MS)], {"time": "x"}),
    Kind.STRING_LIST: ("+15551234567", {"0": "x"}, [1], [None], ["ok", 2]),
    Kind.STRING_MAP: (["k", "v"], "k=v", {"k": 1}, {"k": None}, {"k": ["v"]}),
    Kind.OBJECT: ("object", ["object"], 5, True),
    Kind.OBJECT_LIST: ("list", {"0": {}}, [5], ["x"]),
}


def _wrong_value(ch: Chooser, spec: FieldSpec, current: Any) -> Any:
    """A value of the wrong JSON type for ``spec``; for objects, sometimes a bad nested property."""
    if (
        spec.kind is Kind.OBJECT
        and spec.nested is not None
        and isinstance(current, dict)
        and ch.chance(0.5)
    ):
        inner = ch.pick(fields_of(spec.nested))
        return {**current, inner.wire: _wrong_value(ch, inner, current.get(inner.wire))}
    if spec.kind is Kind.OBJECT_LIST and spec.nested is not None and current and ch.chance(0.5):
        items = list(current)
        i = ch.below(len(items))
        if isinstance(items[i], dict):
            inner = ch.pick(fields_of(spec.nested))
            items[i] = {**items[i], inner.wire: _wrong_value(ch, inner, items[i].get(inner.wire))}
            return items
    return ch.pick(_WRONG[spec.kind])


def _break_type(ch: Chooser, edition: Edition, rule: str) -> tuple[Any, str]:
    wire = rule.removeprefix("type.")
    spec = participant_fields(edition)[wire]
    payload = full_payload(ch, edition)
    payload[wire] = _wrong_value(ch, spec, payload.get(wire))
    return payload, payload["id"]


_BAD_DATETIMES: tuple[Callable[[str], str], ...] = (
    lambda s: s[:-1],  # no zone designator
    lambda s: s.replace("T", " "),  # a space for T
    lambda s: s.replace("T", ""),  # nothing for T
    lambda s: s[:19].replace("-", "").replace(":", "") + "Z",  # basic format
    lambda s: s[:5] + "02-30" + s[10:],  # an impossible date
    lambda s: s[:5] + "13" + s[7:],  # month 13
    lambda s: s[:11] + "24" + s[13:],  # hour 24
    lambda s: s[:17] + "60" + s[19:],  # a leap second
    lambda s: s[:19] + ".1234567891Z",  # ten fraction digits
    lambda s: s[:19] + ".Z",  # a point and no digits
    lambda s: s[:19] + "+24:00",  # an offset out of range
    lambda s: s[:19] + "+0200",  # an offset without its colon
    lambda s: "0000" + s[4:],  # year zero
    lambda s: s[:10],  # a date alone
    lambda _s: "",  # empty
    lambda _s: "tomorrow at noon",
)


def _break_datetime(ch: Chooser, edition: Edition, rule: str) -> tuple[Any, str]:
    payload = full_payload(ch, edition)
    candidates = [f.wire for f in participant_fields(edition).values() if f.kind is Kind.DATETIME]
    key = ch.pick(candidates)
    if key in payload and ch.chance(0.8):
        payload[key] = ch.pick(_BAD_DATETIMES)(payload[key])
    else:
        wrapup = payload["wrapup"]
        wrapup["endTime"] = ch.pick(_BAD_DATETIMES)(wrapup["endTime"])
    return payload, payload["id"]


def _break_id(ch: Chooser, edition: Edition, rule: str) -> tuple[Any, str]:
    payload = build_participant(ch, Shape(edition=edition))
    other = vocab.entity_id(ch)
    if ch.chance(0.3):
        # Case or whitespace differences are differences too.
        other = ch.pick((payload["id"].upper(), " " + payload["id"], payload["id"] + "0"))
    if other == payload["id"]:
        # Drawn alike (a shrinking chooser draws zeros for both ids), or upper() of an id without
        # letters: change the last hex digit, so that the path names another well-formed id.
        other = other[:-1] + ("1" if other[-1] == "0" else "0")
    return payload, other


def _break_object(ch: Chooser, edition: Edition, rule: str) -> tuple[Any, str]:
    payload = build_participant(ch, Shape(edition=edition))
    choice = ch.below(7)
    body: Any = (
        [payload],
        [],
        "participant",
        42,
        None,
        True,
        json.dumps(payload),  # a participant, but as a JSON string
    )[choice]
    return body, payload["id"]


def _known_states(edition: Edition, *, ended: bool | None = None) -> list[str]:
    out = []
    for s in states(edition):
        if s is State.OUTDATED_SDK_VERSION:
            continue
        is_ended = s in (State.DISCONNECTED, State.TERMINATED)
        if ended is None or ended == is_ended:
            out.append(s.value)
    return out


def _shaped(
    ch: Chooser,
    edition: Edition,
    state: str,
    *,
    require: set[str] | frozenset[str] = frozenset(),
    forbid: set[str] | frozenset[str] = frozenset(),
    relax: set[str] | frozenset[str] = frozenset(),
    ordering: OrderingClass | None = None,
) -> dict[str, Any]:
    """A valid participant in ``state``, except that the timestamps in ``relax`` ignore the
    state's own presence bounds (that is how a state rule gets broken)."""
    need, ban = state_bounds(state, edition)
    need, ban = (need - relax) | set(require), (ban - relax) | set(forbid)
    if ordering is None:
        ordering = walk(
            edition,
            lambda _k: ch.chance(0.5),
            lambda _k, n: ch.below(n),
            require=need,
            forbid=ban,
        )
    return build_participant(ch, Shape(edition=edition, state=state, ordering=ordering))


def _break_order(ch: Chooser, edition: Edition, rule: str) -> tuple[Any, str]:
    before = next(b for b in ORDER if b.rule == rule)
    keys = {before.earlier, before.later}
    # The later one comes first, strictly; nothing else that an ordering rule relates is present,
    # except endTime where after-call work needs it (tied with startAcwTime, which it precedes).
    levels: list[tuple[str, ...]] = [(before.later,), (before.earlier,)]
    if "startAcwTime" in keys and "endTime" not in keys:
        levels = [
            tuple(sorted({*lvl, "endTime"})) if "startAcwTime" in lvl else lvl for lvl in levels
        ]
        keys.add("endTime")
    if ch.chance(0.5):
        levels.insert(ch.below(len(levels) + 1), ("callbackScheduledTime",))
        keys.add("callbackScheduledTime")
    fitting = []
    for s in states(edition):
        need, ban = state_bounds(s, edition)
        if need <= keys and not ban & keys:
            fitting.append(s.value)
    state = ch.pick(fitting)
    payload = build_participant(
        ch, Shape(edition=edition, state=state, ordering=OrderingClass(tuple(levels)))
    )
    return payload, payload["id"]


def _break_state(ch: Chooser, edition: Edition, rule: str) -> tuple[Any, str]:
    ended = _known_states(edition, ended=True)
    live = _known_states(edition, ended=False)
    payload: dict[str, Any]
    if rule == "state.ended-has-end":
        payload = _shaped(
            ch, edition, ch.pick(ended), relax={"endTime"}, forbid={"endTime", "startAcwTime"}
        )
    elif rule == "state.end-means-ended":
        payload = _shaped(
            ch, edition, ch.pick(live), relax={"endTime", "startAcwTime"}, require={"endTime"}
        )
    elif rule == "state.disconnect-type-when-ended":
        payload = _shaped(ch, edition, ch.pick(live))
        payload["disconnectType"] = ch.pick(
            (*(v.value for v in known_values(DisconnectType, edition)), "timeout", "uncallable")
        )
    elif rule == "state.connected-has-connected-time":
        payload = _shaped(
            ch, edition, State.CONNECTED, relax={"connectedTime"}, forbid={"connectedTime"}
        )
    elif rule == "state.held-is-connected":
        if ch.chance(0.5):
            payload = _shaped(
                ch, edition, ch.pick([s for s in _known_states(edition) if s != "connected"])
            )
        else:
            payload = _shaped(ch, edition, State.CONNECTED, forbid={"startHoldTime"})
        payload["held"] = True
    elif rule == "state.acw-after-end":
        state = ch.pick(live)
        need, ban = state_bounds(state, edition)
        drawn = walk(
            edition,
            lambda _k: ch.chance(0.5),
            lambda _k, n: ch.below(n),
            require=need,
            forbid=ban | {"endTime", "startAcwTime"},
        )
        # After-call work first of all: it precedes everything it must precede, and endTime,
        # the one thing it must follow, is absent.
        ordering = OrderingClass((("startAcwTime",), *drawn.levels))
        payload = _shaped(ch, edition, state, ordering=ordering)
    elif rule == "state.parked-has-park-time":
        payload = _shaped(ch, edition, State.PARKED, relax={"parkTime"}, forbid={"parkTime"})
    elif rule == "wrapup.skipped-has-none":
        payload = _shaped(ch, edition, ch.pick(_known_states(edition)))
        payload["wrapupSkipped"] = True
        payload.setdefault(
            "wrapup", {"code": vocab.entity_id(ch), "name": ch.pick(vocab.WRAPUP_CODES)}
        )
    else:  # pragma: no cover - every state rule has a branch; a test enumerates them
        msg = f"no way to break {rule}"
        raise GenerationBug(msg)
    return payload, payload["id"]


def _break_value(ch: Chooser, edition: Edition, rule: str) -> tuple[Any, str]:
    payload = build_participant(ch, Shape(edition=edition))
    choices = ["wrapupTimeoutMs", "alertingTimeoutMs", "timeoutSeconds"]
    if payload.get("wrapupSkipped") is not True:
        choices.append("wrapup.durationSeconds")
    key = ch.pick(choices)
    negative = -ch.between(1, 100_000)
    if key == "wrapup.durationSeconds":
        payload.setdefault("wrapup", {"code": vocab.entity_id(ch)})["durationSeconds"] = negative
    else:
        payload[key] = negative
    return payload, payload["id"]


def _breaker(rule: str) -> Callable[[Chooser, Edition, str], tuple[Any, str]]:
    if rule.startswith("type."):
        return _break_type
    if rule.startswith("order."):
        return _break_order
    if rule.startswith(("state.", "wrapup.")):
        return _break_state
    return {
        "json.object": _break_object,
        "datetime.format": _break_datetime,
        "id.matches-path": _break_id,
        "value.non-negative": _break_value,
    }[rule]


def build_invalid(
    ch: Chooser,
    rule: str,
    *,
    edition: Edition = Edition.SEED,
    rules: RuleSet = RuleSet.STRICT,
) -> Invalid:
    """A payload that breaks ``rule`` and no other rule of ``edition`` and ``rules``."""
    if rule not in rule_ids(edition, rules):
        msg = (
            f"{rule!r} is not a rule of the {edition.value} edition under {rules.value} rules; "
            f"choose one of: {', '.join(rule_ids(edition, rules))}"
        )
        raise ValueError(msg)
    payload, body_id = _breaker(rule)(ch, edition, rule)
    # Where the body's own id is what was broken (type.id), the request path needs a real one.
    given: object = body_id
    path_id = given if isinstance(given, str) else vocab.entity_id(ch)
    if isinstance(payload, dict):
        payload = copy_payload(payload)  # unshare the population's entity references
    broken = {v.rule for v in check(payload, edition=edition, rules=rules, path_id=path_id)}
    if broken != {rule}:
        msg = f"meant to break only {rule}, but the payload breaks {sorted(broken)}: {payload!r}"
        raise GenerationBug(msg)
    return Invalid(payload, rule, path_id)
