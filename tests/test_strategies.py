"""The Hypothesis strategies: valid by construction, healthy at default settings, honest labels.

Every public strategy runs once under ``@given`` with Hypothesis' default settings (no health check
suppressed, default deadline): a strategy that filtered or assumed its way to validity would trip
``filter_too_much`` there. Labels of invalid payloads are checked against the rules, not trusted,
and again after Hypothesis has shrunk an example. Impossible argument combinations must raise
`InvalidArgument` at once, with a message that names the argument.
"""

from __future__ import annotations

import importlib.metadata
import json
import random
import re
import unicodedata
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import attrs
import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from callbacksim.codec import decode
from callbacksim.generation.participants import state_bounds, states
from callbacksim.generation.unusual import _UNICODE
from callbacksim.model import (
    CallbackMediaParticipant,
    Direction,
    DisconnectType,
    DomainEntityRef,
    Edition,
    FlaggedReason,
    State,
    UploadStatus,
    known_values,
)
from callbacksim.orderings import OrderingClass, is_valid
from callbacksim.rules import RuleSet, check, rule_ids, timestamps
from callbacksim.schema import participant_fields
from callbacksim.strategies import (
    FEATURES,
    Invalid,
    Unusual,
    callback_numbers,
    entity_refs,
    invalid_payloads,
    ordering_classes,
    participants,
    timestamps_in_order,
    unusual_payloads,
    valid_payloads,
)
from callbacksim.wiretime import parse_datetime

SEED = Edition.SEED
SDK = Edition.SDK_269
ANCHOR = "2026-01-01T00:00:00.000Z"

# find() with no database: its database key is a digest of the condition alone, so two finds with
# the same lambda would replay each other's examples.
FIND = settings(database=None)

UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


# -- helpers ---------------------------------------------------------------------------------


def _instants(payload: dict[str, Any], edition: Edition) -> dict[str, datetime]:
    """Each timestamp of ``edition`` that ``payload`` holds, parsed."""
    out = {}
    for key in timestamps(edition):
        if key == "wrapup.endTime":
            wrapup = payload.get("wrapup")
            text = wrapup.get("endTime") if isinstance(wrapup, dict) else None
        else:
            text = payload.get(key)
        if isinstance(text, str):
            out[key] = parse_datetime(text)
    return out


def _levels(times: dict[str, datetime]) -> tuple[frozenset[str], ...]:
    """The weak order of ``times``: sets of equal instants, earliest first."""
    return tuple(
        frozenset(k for k, v in times.items() if v == instant)
        for instant in sorted(set(times.values()))
    )


def _frozen(cls: OrderingClass) -> tuple[frozenset[str], ...]:
    return tuple(frozenset(level) for level in cls.levels)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _collections(value: Any) -> Iterator[dict[str, Any] | list[Any]]:
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from _collections(item)
    elif isinstance(value, list):
        yield value
        for item in value:
            yield from _collections(item)


_ENUMS: dict[str, Any] = {
    "state": State,
    "direction": Direction,
    "disconnectType": DisconnectType,
    "flaggedReason": FlaggedReason,
}


def _has_unknown_enum(p: dict[str, Any], ed: Edition) -> bool:
    for key, enum in _ENUMS.items():
        value = p.get(key)
        if isinstance(value, str) and value not in {m.value for m in known_values(enum, ed)}:
            return True
    voicemail = p.get("voicemail")
    return isinstance(voicemail, dict) and voicemail.get("uploadStatus") not in set(UploadStatus)


def _fraction_digits(text: str) -> int:
    match = re.match(r"\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(?:\.(\d*))?", text)
    assert match is not None, text
    return len(match.group(1) or "")


def _datetime_texts(p: dict[str, Any], ed: Edition) -> list[str]:
    texts = [p[k] for k in timestamps(ed) if "." not in k and isinstance(p.get(k), str)]
    wrapup = p.get("wrapup")
    if isinstance(wrapup, dict) and isinstance(wrapup.get("endTime"), str):
        texts.append(wrapup["endTime"])
    return texts


# For each feature, what a payload that carries it must show (an independent reading of FEATURES).
WITNESS: dict[str, Callable[[dict[str, Any], Edition], bool]] = {
    "unknown-enum": _has_unknown_enum,
    "outdated-sdk-version": lambda p, _ed: "OutdatedSdkVersion" in [p.get(k) for k in _ENUMS],
    "unknown-property": lambda p, ed: bool(set(p) - set(participant_fields(ed))),
    "explicit-null": lambda p, _ed: None in p.values(),
    "datetime-offset": lambda p, ed: any(
        not t.upper().endswith("Z") for t in _datetime_texts(p, ed)
    ),
    "fraction-digits": lambda p, ed: any(_fraction_digits(t) != 3 for t in _datetime_texts(p, ed)),
    # With datetime-offset as well there is no z: then the lower-case t alone.
    "lowercase-t-z": lambda p, ed: any(
        t[10] == "t" and not t.endswith("Z") for t in _datetime_texts(p, ed)
    ),
    "tied-timestamps": lambda p, ed: (
        len(_instants(p, ed)) >= 2 and len(set(_instants(p, ed).values())) == 1
    ),
    "extreme-year": lambda p, ed: any(v.year in (1, 9999) for v in _instants(p, ed).values()),
    "empty-string": lambda p, _ed: "" in _strings(p),
    "long-string": lambda p, _ed: any(len(s) >= 10_000 for s in _strings(p)),
    "unicode": lambda p, _ed: any(u in s for s in _strings(p) for u in _UNICODE),
    "padded-string": lambda p, _ed: any(s != s.strip() for s in _strings(p)),
    "empty-collection": lambda p, _ed: any(len(c) == 0 for c in _collections(p)),
    "large-collection": lambda p, _ed: any(len(c) >= 200 for c in _collections(p)),
    "odd-attribute-keys": lambda p, _ed: any(
        not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", k) for k in p.get("attributes") or {}
    ),
    "dollar-keys": lambda p, _ed: any("$" in k for k in _keys(p)),
    "dotted-keys": lambda p, _ed: any("." in k for k in _keys(p)),
    "nul-keys": lambda p, _ed: any("\x00" in k for k in _keys(p)),
    "empty-key": lambda p, _ed: "" in _keys(p),
    "underscore-keys": lambda p, _ed: any(
        k.startswith("_") and not k.startswith("__") for k in _keys(p)
    ),
    "dunder-keys": lambda p, _ed: any(re.fullmatch(r"__.*__", k) for k in _keys(p)),
    "prototype-keys": lambda p, _ed: bool(
        {"__proto__", "constructor", "prototype", "toString", "valueOf"} & set(_keys(p))
    ),
    "case-only-keys": lambda p, _ed: _collide(p, str.casefold),
    "normalisation-only-keys": lambda p, _ed: _collide(
        p, lambda k: unicodedata.normalize("NFKC", k)
    ),
    "numeric-keys": lambda p, _ed: any(_is_number(k) for k in _keys(p)),
    "long-keys": lambda p, _ed: any(len(k) > 1024 for k in _keys(p)),
    "control-keys": lambda p, _ed: any(_control(k) for k in _keys(p)),
    "whitespace-keys": lambda p, _ed: any(k != k.strip() for k in _keys(p)),
    "glob-keys": lambda p, _ed: any(set(k) & set("*?[]{}:") for k in _keys(p)),
    "nul-values": lambda p, _ed: any("\x00" in s for s in _strings(p)),
    "control-values": lambda p, _ed: any(_control(s) for s in _strings(p)),
    "noncharacters": lambda p, _ed: any(
        set(s) & {"\ufffe", "\uffff", "\U0010ffff", "\ufdd0", "\U0001fffe", "\ufffd"}
        for s in _strings(p)
    ),
    "number-limits": lambda p, _ed: any(n >= 2**31 - 1 for n in _integers(p)),
    "near-size-limit": lambda p, _ed: len(json.dumps(p).encode()) > 400_000,
}


def _keys(p: dict[str, Any]) -> list[str]:
    attributes = p.get("attributes")
    return list(attributes) if isinstance(attributes, dict) else []


def _collide(p: dict[str, Any], fold: Callable[[str], str]) -> bool:
    keys = _keys(p)
    return len({fold(k) for k in keys}) < len(keys)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _control(text: str) -> bool:
    return any(unicodedata.category(c) == "Cc" or c in "\u2028\u2029" for c in text)


def _integers(value: Any) -> Iterator[int]:
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _integers(item)
    elif isinstance(value, list):
        for item in value:
            yield from _integers(item)


def _set_properties(p: CallbackMediaParticipant) -> list[str]:
    return [
        a.name for a in attrs.fields(CallbackMediaParticipant) if getattr(p, a.name) is not None
    ]


def test_witnesses_cover_every_feature() -> None:
    assert set(WITNESS) == set(FEATURES)


# -- every public strategy at default settings -----------------------------------------------


@given(participants())
def test_participants_default_settings(p: CallbackMediaParticipant) -> None:
    assert isinstance(p, CallbackMediaParticipant)
    assert check(p) == []


@pytest.mark.parametrize("edition", list(Edition))
@pytest.mark.parametrize("rules", list(RuleSet))
def test_participants_of_each_edition_and_rule_set(edition: Edition, rules: RuleSet) -> None:
    @given(participants(edition=edition, rules=rules))
    def inner(p: CallbackMediaParticipant) -> None:
        assert check(p, edition=edition, rules=rules) == []

    inner()


@given(valid_payloads())
def test_valid_payloads_default_settings(payload: dict[str, Any]) -> None:
    assert check(payload) == []
    assert check(decode(payload)) == []


@given(valid_payloads(edition=SDK))
def test_valid_payloads_decode_in_the_larger_edition(payload: dict[str, Any]) -> None:
    assert check(payload, edition=SDK) == []
    participant = decode(payload, edition=SDK)
    assert check(participant, edition=SDK) == []
    assert participant.state == payload["state"]


@given(unusual_payloads())
def test_unusual_payloads_default_settings(u: Unusual) -> None:
    assert check(u.payload) == []
    assert u.features, "every unusual payload has at least one feature"
    for feature in u.features:
        assert feature in FEATURES
        assert WITNESS[feature](u.payload, SEED), f"{feature} reported but not carried"


@given(invalid_payloads())
def test_invalid_payloads_default_settings(i: Invalid) -> None:
    assert {v.rule for v in check(i.payload, path_id=i.path_id)} == {i.rule}


@given(ordering_classes())
def test_ordering_classes_default_settings(cls: OrderingClass) -> None:
    assert is_valid(cls, SEED)


_SOME_CLASS = OrderingClass.parse(
    "startTime < connectedTime = startHoldTime < endTime = startAcwTime < endAcwTime"
)


@given(timestamps_in_order(_SOME_CLASS))
def test_timestamps_in_order_default_settings(times: dict[str, datetime]) -> None:
    assert set(times) == _SOME_CLASS.present
    assert _levels(times) == _frozen(_SOME_CLASS)


@given(callback_numbers())
def test_callback_numbers_default_settings(number: str) -> None:
    assert re.fullmatch(r"\+[1-9]\d{6,14}", number), number


@given(entity_refs())
def test_entity_refs_default_settings(ref: DomainEntityRef) -> None:
    assert ref.id is not None
    assert UUID4.fullmatch(ref.id)
    assert ref.name
    assert ref.self_uri == f"/api/v2/routing/queues/{ref.id}"


@given(st.from_type(CallbackMediaParticipant))
def test_from_type_draws_valid_participants(p: CallbackMediaParticipant) -> None:
    assert isinstance(p, CallbackMediaParticipant)
    assert check(p) == []


def test_from_type_hook_is_an_installed_entry_point() -> None:
    hooks = importlib.metadata.entry_points(group="hypothesis")
    assert any(ep.value == "callbacksim.strategies._hypothesis_hook:_register" for ep in hooks), (
        sorted(ep.value for ep in hooks)
    )


# -- arguments shape the output ----------------------------------------------------------------


@pytest.mark.parametrize("edition", list(Edition))
def test_state_and_ordering_are_realized_exactly(edition: Edition) -> None:
    @given(st.data())
    def inner(data: st.DataObject) -> None:
        state = data.draw(st.sampled_from([s.value for s in states(edition)]), label="state")
        need, ban = state_bounds(state, edition)
        cls = data.draw(ordering_classes(edition=edition, require=need, forbid=ban), label="cls")
        payload = data.draw(valid_payloads(edition=edition, state=state, ordering=cls))
        assert check(payload, edition=edition) == []
        assert payload["state"] == state
        assert _levels(_instants(payload, edition)) == _frozen(cls)

    inner()


@given(
    valid_payloads(
        rules="structural", ordering=OrderingClass.parse("endTime < connectedTime < startTime")
    )
)
def test_structural_rules_allow_any_order(payload: dict[str, Any]) -> None:
    assert check(payload, rules=RuleSet.STRUCTURAL) == []
    assert payload["startTime"] > payload["connectedTime"] > payload["endTime"]


@given(participants(edition=SDK, state="parked"))
def test_parked_in_the_larger_edition(p: CallbackMediaParticipant) -> None:
    assert p.state is State.PARKED
    assert p.park_time is not None
    assert check(p, edition=SDK) == []


@given(st.data())
def test_ordering_classes_respect_require_and_forbid(data: st.DataObject) -> None:
    edition = data.draw(st.sampled_from(list(Edition)), label="edition")
    keys = timestamps(edition)
    require = data.draw(st.sets(st.sampled_from(keys)), label="require")
    # startAcwTime needs endTime: forbidding it then is a conflict (tested below), not a case.
    rest = [
        k for k in keys if k not in require and not (k == "endTime" and "startAcwTime" in require)
    ]
    forbid = data.draw(st.sets(st.sampled_from(rest)) if rest else st.just(set()), label="forbid")
    cls = data.draw(ordering_classes(edition=edition, require=require, forbid=forbid))
    assert is_valid(cls, edition)
    assert require <= cls.present
    assert not forbid & cls.present


@given(
    ordering_classes(edition=SDK).flatmap(lambda c: st.tuples(st.just(c), timestamps_in_order(c)))
)
def test_timestamps_in_order_realize_the_class_exactly(
    drawn: tuple[OrderingClass, dict[str, datetime]],
) -> None:
    cls, times = drawn
    assert set(times) == cls.present
    assert all(t.tzinfo is not None for t in times.values())
    assert _levels(times) == _frozen(cls)


@given(st.data())
def test_each_unusual_feature_alone_is_valid_reported_and_carried(data: st.DataObject) -> None:
    edition = data.draw(st.sampled_from(list(Edition)), label="edition")
    feature = data.draw(st.sampled_from(list(FEATURES)), label="feature")
    u = data.draw(unusual_payloads(edition=edition, features=[feature]))
    assert check(u.payload, edition=edition) == []
    assert u.features == (feature,)
    assert WITNESS[feature](u.payload, edition), f"{feature} reported but not carried"


@given(st.data())
def test_combined_unusual_features_do_not_undo_each_other(data: st.DataObject) -> None:
    edition = data.draw(st.sampled_from(list(Edition)), label="edition")
    wanted = data.draw(st.sets(st.sampled_from(list(FEATURES)), min_size=2), label="wanted")
    u = data.draw(unusual_payloads(edition=edition, features=wanted))
    assert check(u.payload, edition=edition) == []
    assert set(u.features) <= wanted
    for feature in u.features:
        assert WITNESS[feature](u.payload, edition), f"{feature} reported but not carried"


@pytest.mark.slow
@pytest.mark.parametrize("feature", ["tied-timestamps", "extreme-year"])
def test_shrunk_unusual_payloads_still_carry_their_feature(feature: str) -> None:
    # The smallest participant has the fewest timestamps: the build features must still show.
    u = find(
        unusual_payloads(features=[feature]),
        lambda _u: True,
        settings=FIND,
        random=random.Random(0),
    )
    assert u.features == (feature,)
    assert WITNESS[feature](u.payload, SEED)


@pytest.mark.parametrize(("edition", "rules"), [(SDK, RuleSet.STRICT), (SEED, RuleSet.STRUCTURAL)])
def test_invalid_payloads_of_other_editions_and_rule_sets(edition: Edition, rules: RuleSet) -> None:
    @given(invalid_payloads(edition=edition, rules=rules))
    def inner(i: Invalid) -> None:
        broken = {v.rule for v in check(i.payload, edition=edition, rules=rules, path_id=i.path_id)}
        assert broken == {i.rule}
        assert i.rule in rule_ids(edition, rules)

    inner()


# -- labels survive shrinking ------------------------------------------------------------------

# One rule of each kind; find() shrinks a full example, so every draw along the way is re-labelled.
SHRUNK_RULES = [
    (SEED, "json.object"),
    (SEED, "datetime.format"),
    (SEED, "id.matches-path"),
    (SEED, "type.wrapup"),
    (SEED, "order.end<=acw"),
    (SEED, "state.acw-after-end"),
    (SEED, "value.non-negative"),
    (SDK, "state.parked-has-park-time"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("edition", "rule"), SHRUNK_RULES)
def test_label_still_true_after_shrinking(edition: Edition, rule: str) -> None:
    i = find(
        invalid_payloads(edition=edition, rule_ids=[rule]),
        lambda _i: True,
        settings=FIND,
        random=random.Random(0),
    )
    assert i.rule == rule
    assert {v.rule for v in check(i.payload, edition=edition, path_id=i.path_id)} == {rule}


# -- shrinking toward small, readable participants -----------------------------------------


@pytest.mark.slow
def test_shrinks_to_a_small_participant() -> None:
    p = find(participants(), lambda _p: True, settings=FIND, random=random.Random(0))
    assert check(p) == []
    assert len(_set_properties(p)) <= 14, _set_properties(p)


@pytest.mark.slow
def test_shrinks_to_a_minimal_ended_participant() -> None:
    payload = find(
        valid_payloads(),
        lambda p: p["state"] == "disconnected",
        settings=FIND,
        random=random.Random(0),
    )
    assert check(payload) == []
    assert _instants(payload, SEED) == {"endTime": parse_datetime(ANCHOR)}
    assert "disconnectType" not in payload
    assert len(payload) <= 14, payload


@pytest.mark.slow
def test_shrinks_to_a_minimal_held_participant() -> None:
    p = find(participants(), lambda p: p.held is True, settings=FIND, random=random.Random(0))
    assert p.state is State.CONNECTED
    assert p.connected_time == p.start_hold_time == parse_datetime(ANCHOR)
    assert p.end_time is None
    assert len(_set_properties(p)) <= 16, _set_properties(p)


def test_ordering_classes_shrink_to_fewest_timestamps_and_ties() -> None:
    assert find(ordering_classes(), lambda _c: True, settings=FIND) == OrderingClass(())
    two = find(ordering_classes(), lambda c: len(c.present) >= 2, settings=FIND)
    assert len(two.present) == 2
    assert len(two.levels) == 1
    acw = find(ordering_classes(require=["startAcwTime"]), lambda _c: True, settings=FIND)
    assert acw == OrderingClass.parse("endTime = startAcwTime")


def test_entity_refs_shrink_to_the_first_entry() -> None:
    ref = find(entity_refs(), lambda _r: True, settings=FIND)
    assert ref.id == "00000000-0000-4000-8000-000000000000"
    assert ref.name == "Support"


# -- impossible combinations -----------------------------------------------------------------

BAD_ARGUMENTS: list[tuple[str, Callable[[], object], str]] = [
    ("edition", lambda: participants(edition="seed-2"), "edition="),
    ("edition-type", lambda: valid_payloads(edition=3), "edition="),  # type: ignore[arg-type]
    ("edition-unusual", lambda: unusual_payloads(edition="latest"), "edition="),
    ("edition-invalid", lambda: invalid_payloads(edition="latest"), "edition="),
    ("edition-orderings", lambda: ordering_classes(edition="x"), "edition="),
    ("rules", lambda: participants(rules="lenient"), "rules="),
    ("rules-invalid", lambda: invalid_payloads(rules="none"), "rules="),
    ("parked-in-seed", lambda: participants(state="parked"), "state='parked'"),
    ("unknown-state", lambda: valid_payloads(state="queued"), "state='queued'"),
    ("purpose", lambda: valid_payloads(purpose=5), "purpose="),  # type: ignore[arg-type]
    (
        "connected-without-connectedTime",
        lambda: valid_payloads(state="connected", ordering=OrderingClass.parse("startTime")),
        "ordering=",
    ),
    (
        "live-state-with-endTime",
        lambda: valid_payloads(
            state="alerting", ordering=OrderingClass.parse("startTime < endTime")
        ),
        "state='alerting'",
    ),
    (
        "ended-state-without-endTime",
        lambda: participants(state="terminated", ordering=OrderingClass.parse("startTime")),
        "state='terminated'",
    ),
    (
        "ordering-breaks-rules",
        lambda: valid_payloads(ordering=OrderingClass.parse("endTime < startTime")),
        "ordering=",
    ),
    (
        "ordering-acw-without-end",
        lambda: valid_payloads(ordering=OrderingClass.parse("startAcwTime")),
        "ordering=",
    ),
    (
        "ordering-names-newer-timestamp",
        lambda: valid_payloads(ordering=OrderingClass.parse("startTime < parkTime")),
        "ordering=",
    ),
    ("ordering-type", lambda: valid_payloads(ordering="startTime"), "ordering="),  # type: ignore[arg-type]
    ("unknown-feature", lambda: unusual_payloads(features=["sparkly"]), "features="),
    ("no-features", lambda: unusual_payloads(features=[]), "features="),
    ("unknown-rule", lambda: invalid_payloads(rule_ids=["no.such.rule"]), "rule_ids="),
    (
        "newer-rule-in-seed",
        lambda: invalid_payloads(rule_ids=["state.parked-has-park-time"]),
        "rule_ids=",
    ),
    (
        "strict-rule-under-structural",
        lambda: invalid_payloads(rules="structural", rule_ids=["order.start<=end"]),
        "rule_ids=",
    ),
    ("no-rules", lambda: invalid_payloads(rule_ids=[]), "rule_ids="),
    (
        "require-forbid-overlap",
        lambda: ordering_classes(require=["endTime"], forbid=["endTime"]),
        "require",
    ),
    (
        "require-acw-forbid-end",
        lambda: ordering_classes(require=["startAcwTime"], forbid=["endTime"]),
        "require=",
    ),
    ("require-unknown", lambda: ordering_classes(require=["parkTime"]), "require="),
    ("forbid-unknown", lambda: ordering_classes(forbid=["lunchTime"]), "forbid="),
    ("country", lambda: callback_numbers(country="XX"), "country="),
    ("kind", lambda: entity_refs(kind="planet"), "kind="),
]


@pytest.mark.parametrize(
    ("make", "named"), [(m, n) for _, m, n in BAD_ARGUMENTS], ids=[i for i, _, _ in BAD_ARGUMENTS]
)
def test_impossible_arguments_raise_at_once(make: Callable[[], object], named: str) -> None:
    with pytest.raises(InvalidArgument) as excinfo:
        make()
    assert named in str(excinfo.value)


def test_valid_arguments_do_not_raise() -> None:
    # The boundary of the cases above: each is possible.
    valid_payloads(edition="sdk-269", state="parked")
    valid_payloads(state="connected", ordering=OrderingClass.parse("startTime < connectedTime"))
    valid_payloads(rules="structural", ordering=OrderingClass.parse("endTime < startTime"))
    valid_payloads(state="OutdatedSdkVersion", ordering=OrderingClass.parse("endTime"))
    ordering_classes(require=["startAcwTime"], forbid=["startTime"])
    invalid_payloads(edition=SDK, rule_ids=["state.parked-has-park-time"])
    unusual_payloads(features=list(FEATURES))
