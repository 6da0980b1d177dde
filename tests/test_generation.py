"""The generators driven by a seeded `RandomChooser`: valid records, honest invalid ones, coverage.

Coverage targets are derived from the rules, never listed by hand: the enum values an edition knows
(`known_values`), the (state, disconnectType) pairs the state rules allow, and the pairwise
timestamp relations some valid ordering class allows (`orderings.classes`). Plain random generation
must reach every one of them; the coverage streams stop as soon as everything is seen, and fail
naming what was not.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterator
from enum import StrEnum
from typing import Any

import attrs
import orjson
import pytest

from callbacksim.generation.bulk import BulkParticipants
from callbacksim.generation.chooser import RandomChooser
from callbacksim.generation.invalid import build_invalid
from callbacksim.generation.participants import Shape, build_participant, states
from callbacksim.generation.unusual import (
    FEATURES,
    ON_REQUEST,
    UNKNOWN_ENUM_VALUES,
    build_unusual,
)
from callbacksim.model import (
    Direction,
    DisconnectType,
    Edition,
    FlaggedReason,
    State,
    UploadStatus,
    known_values,
)
from callbacksim.orderings import classes, relation
from callbacksim.rules import RuleSet, check, rule_ids, timestamps

SEED = Edition.SEED
SDK = Edition.SDK_269
COMBOS = [(e, r) for e in Edition for r in RuleSet]
COMBO_IDS = [f"{e.value}-{r.value}" for e, r in COMBOS]

ENDED = {State.DISCONNECTED.value, State.TERMINATED.value}
SENTINEL = "OutdatedSdkVersion"
RELATIONS = ("<", "=", ">", "absent")

# Plain random generation reaches every target well before this many records (the rarest, pairs
# of startHoldTime with after-call work tied at one instant, take some tens of thousands).
COVERAGE_CAP = 200_000


# -- validity of bulk and constructive records ---------------------------------------------


@pytest.mark.parametrize(("edition", "rules"), COMBOS, ids=COMBO_IDS)
def test_bulk_and_constructive_records_are_valid(edition: Edition, rules: RuleSet) -> None:
    shape = Shape(edition=edition, rules=rules)
    bulk = list(itertools.islice(BulkParticipants(11, shape), 3000))
    ch = RandomChooser(12)
    built = [build_participant(ch, shape) for _ in range(3000)]
    bad = [
        (p, violations)
        for p in bulk + built
        if (violations := check(p, edition=edition, rules=rules))
    ]
    assert not bad, bad[:3]


@pytest.mark.parametrize(("edition", "rules"), COMBOS, ids=COMBO_IDS)
def test_bulk_is_deterministic(edition: Edition, rules: RuleSet) -> None:
    def first(seed: int) -> bytes:
        # A small pool, so that most records are shifted copies of pool members.
        stream = BulkParticipants(seed, Shape(edition=edition, rules=rules), pool_size=64)
        return orjson.dumps(list(itertools.islice(stream, 600)))

    assert first(5) == first(5)
    assert first(5) != first(6)


@pytest.mark.parametrize(("edition", "rules"), COMBOS, ids=COMBO_IDS)
def test_build_participant_is_deterministic(edition: Edition, rules: RuleSet) -> None:
    def first(seed: int) -> bytes:
        ch = RandomChooser(seed)
        shape = Shape(edition=edition, rules=rules)
        return orjson.dumps([build_participant(ch, shape) for _ in range(200)])

    assert first(5) == first(5)
    assert first(5) != first(6)


def test_invalid_and_unusual_are_deterministic() -> None:
    def first(seed: int) -> bytes:
        ch = RandomChooser(seed)
        out: list[Any] = []
        for rule in rule_ids(SDK):
            inv = build_invalid(ch, rule, edition=SDK)
            out.append([inv.payload, inv.rule, inv.path_id])
        out += [build_unusual(ch, edition=SDK) for _ in range(50)]
        return orjson.dumps(out)

    assert first(3) == first(3)
    assert first(3) != first(4)


# -- invalid payloads --------------------------------------------------------------------------


@pytest.mark.parametrize(("edition", "rules"), COMBOS, ids=COMBO_IDS)
def test_every_rule_is_broken_alone(edition: Edition, rules: RuleSet) -> None:
    ch = RandomChooser(21)
    for rule in rule_ids(edition, rules):
        for _ in range(50):
            inv = build_invalid(ch, rule, edition=edition, rules=rules)
            assert inv.rule == rule
            broken = {
                v.rule
                for v in check(inv.payload, edition=edition, rules=rules, path_id=inv.path_id)
            }
            assert broken == {rule}, inv


def test_rule_sets_differ_as_documented() -> None:
    for edition in Edition:
        strict, structural = (
            rule_ids(edition, RuleSet.STRICT),
            rule_ids(edition, RuleSet.STRUCTURAL),
        )
        assert set(structural) < set(strict)
        assert all(
            r in ("json.object", "datetime.format", "id.matches-path") or r.startswith("type.")
            for r in structural
        )
    assert set(rule_ids(SEED)) < set(rule_ids(SDK))
    assert "state.parked-has-park-time" in set(rule_ids(SDK)) - set(rule_ids(SEED))


def test_a_mismatched_path_id_is_the_only_fault() -> None:
    ch = RandomChooser(22)
    for _ in range(50):
        inv = build_invalid(ch, "id.matches-path")
        assert inv.path_id != inv.payload["id"]
        assert check(inv.payload) == []  # no path: nothing to mismatch


def test_build_invalid_refuses_rules_outside_the_set() -> None:
    ch = RandomChooser(0)
    with pytest.raises(ValueError, match=re.escape("state.parked-has-park-time")):
        build_invalid(ch, "state.parked-has-park-time", edition=SEED)
    with pytest.raises(ValueError, match=re.escape("order.start<=end")):
        build_invalid(ch, "order.start<=end", rules=RuleSet.STRUCTURAL)


# -- unusual payloads --------------------------------------------------------------------------


@pytest.mark.parametrize("edition", list(Edition))
def test_each_unusual_feature_alone_stays_valid_and_is_reported(edition: Edition) -> None:
    ch = RandomChooser(31)
    for feature in FEATURES:
        for _ in range(50):
            payload, applied = build_unusual(ch, edition=edition, features=(feature,))
            assert applied == (feature,)
            assert check(payload, edition=edition) == [], (feature, payload)


@pytest.mark.parametrize("edition", list(Edition))
def test_default_unusual_payloads_are_valid(edition: Edition) -> None:
    ch = RandomChooser(32)
    seen: set[str] = set()
    for _ in range(500):
        payload, applied = build_unusual(ch, edition=edition)
        assert 1 <= len(applied) <= 3
        assert set(applied) <= set(FEATURES)
        assert check(payload, edition=edition) == [], (applied, payload)
        seen |= set(applied)
    assert seen == set(FEATURES) - set(ON_REQUEST)


def _later(edition: Edition) -> list[Edition]:
    return [e for e in Edition if e.includes(edition)]


def test_unknown_enum_values_are_unknown_to_every_edition() -> None:
    enums = {"state": State, "direction": Direction, "disconnectType": DisconnectType}
    enums |= {"flaggedReason": FlaggedReason, "voicemail.uploadStatus": UploadStatus}
    assert set(UNKNOWN_ENUM_VALUES) == set(enums)
    for key, values in UNKNOWN_ENUM_VALUES.items():
        for edition in Edition:
            known = {m.value for m in known_values(enums[key], edition)}
            assert not known & set(values), (key, edition, known & set(values))


@pytest.mark.parametrize("edition", list(Edition))
def test_unusual_payloads_are_valid_in_every_later_edition(edition: Edition) -> None:
    """A target built on a newer edition must accept what an older edition's check sends."""
    ch = RandomChooser(33)
    for feature in FEATURES:
        for _ in range(30):
            payload, _ = build_unusual(ch, edition=edition, features=(feature,))
            for later in _later(edition):
                assert check(payload, edition=later) == [], (feature, later, payload)


def test_newer_values_reach_an_older_edition_only_in_a_form_the_newer_accepts() -> None:
    ch = RandomChooser(34)
    parked = later_disconnects = later_properties = 0
    for _ in range(3000):
        payload, _ = build_unusual(ch, edition=SEED, features=("unknown-enum", "unknown-property"))
        if payload.get("state") == "parked":
            parked += 1
            assert isinstance(payload.get("parkTime"), str), payload
            assert not {"endTime", "disconnectType"} & set(payload), payload
        if payload.get("disconnectType") in ("inactivity", "session.expired", "takeover"):
            later_disconnects += 1
        if {"parkTime", "resumeTime", "startAlertingTime", "mediaRoles"} & set(payload):
            later_properties += 1
        assert check(payload, edition=SDK) == [], payload
    # The newer edition's values and properties are still sent, in their valid form.
    assert parked
    assert later_disconnects
    assert later_properties


@pytest.mark.parametrize("edition", list(Edition))
@pytest.mark.parametrize("path", ["state", "direction", "disconnectType", "flaggedReason"])
def test_unknown_enum_can_be_put_at_each_enum_property(edition: Edition, path: str) -> None:
    ch = RandomChooser(35)
    for _ in range(40):
        payload, applied = build_unusual(
            ch, edition=edition, features=("unknown-enum",), unknown_enum=path
        )
        assert applied == ("unknown-enum",)
        value = payload[path]
        assert all(value not in _known(path, e) for e in Edition if e.includes(edition)) or (
            value in _known(path, Edition.latest()) and value not in _known(path, edition)
        ), value
    payload, _ = build_unusual(
        ch, edition=edition, features=("unknown-enum",), unknown_enum="voicemail.uploadStatus"
    )
    assert payload["voicemail"]["uploadStatus"] not in {u.value for u in UploadStatus}


def _known(path: str, edition: Edition) -> set[str]:
    enums: dict[str, type[StrEnum]] = {
        "state": State,
        "direction": Direction,
        "disconnectType": DisconnectType,
        "flaggedReason": FlaggedReason,
    }
    return {m.value for m in known_values(enums[path], edition)}


# -- coverage: targets derived from the rules -------------------------------------------------

ENUM_PATHS: dict[str, type[StrEnum]] = {
    "state": State,
    "direction": Direction,
    "disconnectType": DisconnectType,
    "flaggedReason": FlaggedReason,
    "voicemail.uploadStatus": UploadStatus,
}


def _enum_value(payload: dict[str, Any], path: str) -> Any:
    if path == "voicemail.uploadStatus":
        return (payload.get("voicemail") or {}).get("uploadStatus")
    return payload.get(path)


def allowed_pairs(edition: Edition, rules: RuleSet) -> set[tuple[str, str | None]]:
    """(state, disconnectType or None for absent) that the rules allow: a disconnect type only once
    ended, except under an unknown state (the sentinel), which the state rules do not judge."""
    types: list[str | None] = [d.value for d in known_values(DisconnectType, edition)]
    types.append(None)
    out: set[tuple[str, str | None]] = set()
    for state in states(edition):
        free = rules is RuleSet.STRUCTURAL or state.value in ENDED or state.value == SENTINEL
        out |= {(state.value, t) for t in (types if free else [None])}
    return out


def _pairs(edition: Edition) -> list[tuple[str, str]]:
    return list(itertools.combinations(timestamps(edition), 2))


@functools.cache
def allowed_relations(edition: Edition, rules: RuleSet) -> frozenset[tuple[str, str, str]]:
    """(a, b, relation) for every pair of timestamps and every relation some valid class allows.

    The seed edition's classes are few enough to list. For sdk-269 (millions of classes) each pair
    is enumerated alone: a relation is allowed if a valid class with just that pair present (and
    endTime, which startAcwTime needs) has it, since the rules only relate present timestamps.
    """
    if rules is RuleSet.STRUCTURAL:
        return frozenset((a, b, r) for a, b in _pairs(edition) for r in RELATIONS)
    if edition is SEED:
        out = set()
        for cls in classes(SEED):
            rank = cls.rank()
            out |= {(a, b, relation(rank, a, b)) for a, b in _pairs(SEED)}
        return frozenset(out)
    return frozenset(_pairwise_relations(edition))


def _pairwise_relations(edition: Edition) -> set[tuple[str, str, str]]:
    keys = set(timestamps(edition))
    out = set()
    for a, b in _pairs(edition):
        out.add((a, b, "absent"))
        keep = {a, b} | ({"endTime"} if "startAcwTime" in (a, b) else set())
        for cls in classes(edition, require={a, b}, forbid=keys - keep):
            out.add((a, b, relation(cls.rank(), a, b)))
    return out


def test_pairwise_derivation_agrees_with_the_full_enumeration() -> None:
    assert _pairwise_relations(SEED) == allowed_relations(SEED, RuleSet.STRICT)


def _instant_texts(payload: dict[str, Any], edition: Edition) -> dict[str, str]:
    # Generated instants are canonical (UTC, milliseconds, four-digit years), so their texts
    # compare as the instants do.
    out = {}
    for key in timestamps(edition):
        if key == "wrapup.endTime":
            text = (payload.get("wrapup") or {}).get("endTime")
        else:
            text = payload.get(key)
        if text is not None:
            out[key] = text
    return out


@attrs.define
class Coverage:
    records: int = 0
    enums: dict[str, set[Any]] = attrs.field(factory=dict)
    pairs: set[tuple[str, str | None]] = attrs.field(factory=set)
    relations: set[tuple[str, str, str]] = attrs.field(factory=set)
    present: set[str] = attrs.field(factory=set)
    absent: set[str] = attrs.field(factory=set)


def _targets(edition: Edition) -> dict[str, set[str]]:
    return {path: {m.value for m in known_values(e, edition)} for path, e in ENUM_PATHS.items()}


def _covered(cov: Coverage, edition: Edition, rules: RuleSet) -> bool:
    keys = set(timestamps(edition))
    return (
        all(want <= cov.enums[path] for path, want in _targets(edition).items())
        and allowed_pairs(edition, rules) <= cov.pairs
        and allowed_relations(edition, rules) <= cov.relations
        and cov.present == keys
        and cov.absent == keys
    )


def _stream(edition: Edition, rules: RuleSet, seed: int) -> Iterator[dict[str, Any]]:
    ch, shape = RandomChooser(seed), Shape(edition=edition, rules=rules)
    while True:
        yield build_participant(ch, shape)


@functools.cache
def coverage(edition: Edition, rules: RuleSet) -> Coverage:
    """What plain random generation reaches, streaming until every target is seen (or the cap)."""
    cov = Coverage(enums={path: set() for path in ENUM_PATHS})
    keys, pairs = timestamps(edition), _pairs(edition)
    for payload in itertools.islice(_stream(edition, rules, 0), COVERAGE_CAP):
        cov.records += 1
        for path in ENUM_PATHS:
            cov.enums[path].add(_enum_value(payload, path))
        cov.pairs.add((payload["state"], payload.get("disconnectType")))
        texts = _instant_texts(payload, edition)
        cov.present |= texts.keys()
        cov.absent |= {k for k in keys if k not in texts}
        for a, b in pairs:
            ta, tb = texts.get(a), texts.get(b)
            if ta is None or tb is None:
                cov.relations.add((a, b, "absent"))
            else:
                cov.relations.add((a, b, "<" if ta < tb else "=" if ta == tb else ">"))
        if cov.records % 500 == 0 and _covered(cov, edition, rules):
            break
    return cov


@pytest.mark.parametrize(("edition", "rules"), COMBOS, ids=COMBO_IDS)
def test_every_known_enum_value_appears(edition: Edition, rules: RuleSet) -> None:
    cov = coverage(edition, rules)
    for path, want in _targets(edition).items():
        seen = cov.enums[path] - {None}
        assert want - seen == set(), f"{path}: never generated"
        assert seen <= want, f"{path}: values the edition does not know in valid data"
    assert SENTINEL in cov.enums["state"]
    assert SENTINEL in cov.enums["disconnectType"]
    if edition is SDK:
        assert "parked" in cov.enums["state"]


@pytest.mark.parametrize(("edition", "rules"), COMBOS, ids=COMBO_IDS)
def test_every_allowed_state_disconnect_type_pair_appears(edition: Edition, rules: RuleSet) -> None:
    cov, allowed = coverage(edition, rules), allowed_pairs(edition, rules)
    assert sorted(allowed - cov.pairs, key=str) == [], "allowed but never generated"
    assert sorted(cov.pairs - allowed, key=str) == [], "generated but not allowed"


@pytest.mark.parametrize(("edition", "rules"), COMBOS, ids=COMBO_IDS)
def test_every_allowed_timestamp_relation_appears(edition: Edition, rules: RuleSet) -> None:
    cov, allowed = coverage(edition, rules), allowed_relations(edition, rules)
    assert sorted(allowed - cov.relations) == [], "allowed but never generated"
    assert sorted(cov.relations - allowed) == [], "generated but not allowed"
    keys = set(timestamps(edition))
    assert cov.present == keys
    assert cov.absent == keys


def test_allowed_sets_are_what_the_rules_say() -> None:
    # Spot checks of the derived targets against the rules as written.
    strict = allowed_pairs(SEED, RuleSet.STRICT)
    assert ("connected", None) in strict
    assert ("connected", "client") not in strict
    assert ("terminated", "transfer.noanswer") in strict
    assert (SENTINEL, SENTINEL) in strict
    assert ("parked", None) in allowed_pairs(SDK, RuleSet.STRICT)
    assert ("parked", "takeover") not in allowed_pairs(SDK, RuleSet.STRICT)
    assert ("disconnected", "takeover") not in strict  # an sdk-269 value
    relations = allowed_relations(SEED, RuleSet.STRICT)
    assert ("startTime", "endTime", ">") not in relations
    assert ("startTime", "endTime", "=") in relations
    assert ("startTime", "startHoldTime", ">") in relations  # no connectedTime between them
    assert ("startTime", "callbackScheduledTime", ">") in relations
    sdk = allowed_relations(SDK, RuleSet.STRICT)
    assert ("parkTime", "resumeTime", ">") not in sdk
    assert ("startAlertingTime", "parkTime", ">") in sdk


@pytest.mark.parametrize("edition", list(Edition))
def test_a_fixed_state_is_kept_and_reaches_its_pairs(edition: Edition) -> None:
    allowed = allowed_pairs(edition, RuleSet.STRICT)
    for state in states(edition):
        ch, shape = RandomChooser(41), Shape(edition=edition, state=state.value)
        want = {pair for pair in allowed if pair[0] == state.value}
        seen: set[tuple[str, str | None]] = set()
        for n in itertools.count(1):
            payload = build_participant(ch, shape)
            assert payload["state"] == state.value
            assert check(payload, edition=edition) == [], payload
            seen.add((state.value, payload.get("disconnectType")))
            if (n >= 300 and want <= seen) or n == 5000:
                break
        assert sorted(want - seen, key=str) == [], state
        assert seen <= want
