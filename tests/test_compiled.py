"""The compiled check against the rule walk, and the structural rules against a JSON Schema.

`check` answers from the compiled check when it passes a payload, and from the rule walk
otherwise; so the compiled check must pass exactly the payloads the walk finds nothing in. Here
they are put side by side on generated valid, unusual and invalid payloads, on random damage to
full participants, in both editions and both rule sets; and each semantic rule is shown to carry
weight in the compiled check (leave its condition out, and an invalid payload passes).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import fastjsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callbacksim.codec import decode
from callbacksim.compiled import FastCheck, Source
from callbacksim.generation.bulk import BulkParticipants
from callbacksim.generation.chooser import RandomChooser
from callbacksim.generation.invalid import build_invalid, full_payload
from callbacksim.generation.participants import Shape, build_participant
from callbacksim.generation.unusual import FEATURES, build_unusual
from callbacksim.model import Edition
from callbacksim.rules import (
    RULES,
    RuleSet,
    check,
    compiled_check,
    known_states,
    rule_ids,
    walk_rules,
)
from callbacksim.schema import Kind, json_schema, participant_fields
from callbacksim.wiretime import DatetimeFormatError, parse_datetime

EDITIONS = tuple(Edition)
COMBINATIONS = [(e, r) for e in EDITIONS for r in RuleSet]


def disagreements(
    fast: FastCheck,
    payloads: Iterator[tuple[Any, str | None]],
    edition: Edition,
    rules: RuleSet,
) -> list[tuple[Any, bool, list[Any]]]:
    """The payloads on which ``fast`` and the rule walk disagree (passed vs nothing found)."""
    out = []
    for payload, path_id in payloads:
        walked = walk_rules(payload, edition=edition, rules=rules, path_id=path_id)
        passed = fast(payload, path_id)
        if passed != (not walked):
            out.append((payload, passed, walked))
        assert check(payload, edition=edition, rules=rules, path_id=path_id) == walked
    return out


def valid(edition: Edition, rules: RuleSet, n: int) -> Iterator[tuple[Any, str | None]]:
    ch = RandomChooser(11)
    for _ in range(n):
        p = build_participant(ch, Shape(edition=edition, rules=rules))
        yield p, p["id"] if ch.chance(0.5) else None
    bulk = BulkParticipants(12, Shape(edition=edition, rules=rules), pool_size=64)
    yield from ((p, p["id"]) for p in itertools.islice(bulk, n))


def unusual(edition: Edition, n: int) -> Iterator[tuple[Any, str | None]]:
    ch = RandomChooser(13)
    for name in FEATURES:
        for _ in range(5):
            yield build_unusual(ch, edition=edition, features=(name,))[0], None
    for _ in range(n):
        yield build_unusual(ch, edition=edition)[0], None


def invalid(edition: Edition, rules: RuleSet, per_rule: int) -> Iterator[tuple[Any, str | None]]:
    ch = RandomChooser(17)
    for rule in rule_ids(edition, rules):
        for _ in range(per_rule):
            bad = build_invalid(ch, rule, edition=edition, rules=rules)
            yield bad.payload, bad.path_id


@pytest.mark.parametrize(("edition", "rules"), COMBINATIONS)
def test_valid_payloads_pass_the_compiled_check(edition: Edition, rules: RuleSet) -> None:
    fast = compiled_check(edition, rules)
    payloads = list(valid(edition, rules, 300)) + list(unusual(edition, 200))
    assert not disagreements(fast, iter(payloads), edition, rules)
    # Valid payloads are answered by the compiled check itself, not by the walk behind it.
    assert all(fast(p, pid) for p, pid in payloads)


@pytest.mark.parametrize(("edition", "rules"), COMBINATIONS)
def test_invalid_payloads_fail_the_compiled_check(edition: Edition, rules: RuleSet) -> None:
    payloads = list(invalid(edition, rules, 8))
    assert len(payloads) == 8 * len(rule_ids(edition, rules))
    assert not disagreements(compiled_check(edition, rules), iter(payloads), edition, rules)
    # Payloads that break a strict-only rule are valid under structural rules, and pass.
    if rules is RuleSet.STRICT:
        structural = compiled_check(edition, RuleSet.STRUCTURAL)
        more = iter(payloads)
        assert not disagreements(structural, more, edition, RuleSet.STRUCTURAL)


@pytest.mark.parametrize("edition", EDITIONS)
def test_payloads_that_are_not_objects(edition: Edition) -> None:
    payloads = [[], [{}], "x", 0, 1.5, None, True, 2**70]
    for rules in RuleSet:
        fast = compiled_check(edition, rules)
        assert not disagreements(fast, ((p, None) for p in payloads), edition, rules)


class _Text(str):
    """A ``str`` subclass, as enum members are."""


class _Map(dict[str, Any]):
    """A ``dict`` subclass."""


def test_subclasses_of_str_and_dict() -> None:
    """A ``str`` subclass is a string to both checks; a ``dict`` subclass is left to the walk."""
    payload = {"id": _Text("a"), "name": _Text("b"), "startTime": _Text("2026-01-01T10:00:00Z")}
    assert compiled_check()(payload, "a")
    assert check(payload, path_id="a") == walk_rules(payload, path_id="a") == []
    assert check({**payload, "held": _Text("x")}) == walk_rules({**payload, "held": _Text("x")})
    mapped = _Map(payload)
    assert not compiled_check()(mapped, None)
    assert check(mapped) == walk_rules(mapped) == []


def test_model_objects_give_the_walks_answer() -> None:
    ch = RandomChooser(19)
    for edition in EDITIONS:
        for _ in range(50):
            bad = build_invalid(ch, ch.pick(rule_ids(edition)), edition=edition)
            if not isinstance(bad.payload, dict) or not bad.rule.startswith(("order.", "state.")):
                continue
            participant = decode(bad.payload, edition=edition)
            found = check(participant, edition=edition, path_id=bad.path_id)
            assert found == walk_rules(participant, edition=edition, path_id=bad.path_id)
            assert {v.rule for v in found} == {bad.rule}


# -- random damage -----------------------------------------------------------------------------

_DATETIMES = (
    "2026-01-01T10:00:00.000Z",
    "2026-01-01T10:00:00Z",
    "2026-01-01t10:00:00.5+02:00",
    "2026-02-29T10:00:00.000Z",
    "2024-02-29T10:00:00.000Z",
    "2026-01-01T24:00:00.000Z",
    "2026-01-01T23:59:60.000Z",
    "0000-01-01T00:00:00.000Z",
    "0001-01-01T00:00:00.000+01:00",
    "9999-12-31T23:59:59.999-01:00",
    "2026-W01-4T10:00:00.000Z",
    "2026-01-01T10:00:00.000000001Z",
    "2026-01-01 10:00:00.000Z",
    "２０２６-01-01T10:00:00.000Z",
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(_DATETIMES)
    | st.sampled_from(("connected", "disconnected", "parked", "OutdatedSdkVersion", "client"))
    | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=6,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield (*prefix, k)
            yield from _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield (*prefix, i)
            yield from _paths(v, (*prefix, i))


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, *rest = path
    copy: Any = dict(value) if isinstance(value, dict) else list(value)
    copy[head] = _replace(copy[head], tuple(rest), new)
    return copy


@settings(max_examples=250, deadline=None)
@given(
    seed=st.integers(0, 50),
    edition=st.sampled_from(EDITIONS),
    rules=st.sampled_from(list(RuleSet)),
    data=st.data(),
)
def test_random_damage(seed: int, edition: Edition, rules: RuleSet, data: st.DataObject) -> None:
    """A full participant with a few values (top-level, nested or inside arrays) replaced by
    arbitrary JSON, or timestamps swapped: the two checks agree."""
    payload: Any = full_payload(RandomChooser(seed), edition)
    for _ in range(data.draw(st.integers(1, 3))):
        where = data.draw(st.sampled_from(sorted(_paths(payload), key=repr)))
        payload = _replace(payload, where, data.draw(json_values))
    if data.draw(st.booleans()):
        keys = [f.wire for f in participant_fields(edition).values() if f.kind is Kind.DATETIME]
        a, b = data.draw(st.permutations(keys))[:2]
        payload[a], payload[b] = payload.get(b), payload.get(a)
    path_id = data.draw(st.none() | st.just(payload.get("id")) | st.just("other"))
    fast = compiled_check(edition, rules)
    assert not disagreements(fast, iter([(payload, path_id)]), edition, rules)


# -- every semantic rule carries weight ---------------------------------------------------------


def _without(edition: Edition, rule: str) -> FastCheck:
    """The compiled check of ``edition`` with ``rule``'s conditions left out: a seeded bug."""
    src = Source(edition, known_states(edition))
    conditions = [
        c
        for r in RULES
        if r.checker is not None and r.id != rule and edition.includes(r.since)
        for c in r.checker.broken(src)
    ]
    return src.build(conditions)


@pytest.mark.parametrize("edition", EDITIONS)
def test_each_semantic_rule_carries_weight(edition: Edition) -> None:
    """Leave one rule's condition out of the compiled check and the comparison above finds a
    payload breaking that rule which it passes: the comparison can fail, rule by rule."""
    semantic = [r.id for r in RULES if r.checker is not None and edition.includes(r.since)]
    assert semantic
    for rule in semantic:
        ch = RandomChooser(23)
        payloads = []
        for _ in range(3):
            bad = build_invalid(ch, rule, edition=edition)
            payloads.append((bad.payload, bad.path_id))
        missed = disagreements(_without(edition, rule), iter(payloads), edition, RuleSet.STRICT)
        assert len(missed) == len(payloads), rule


def test_a_condition_on_a_property_the_edition_lacks_is_refused() -> None:
    src = Source(Edition.SEED, known_states(Edition.SEED))
    with pytest.raises(ValueError, match="parkTime"):
        src.var("parkTime")
    with pytest.raises(ValueError, match=r"wrapup\.nothing"):
        src.var("wrapup.nothing")


# -- the structural rules against a JSON Schema of the same model ------------------------------


def _wire_datetime(text: str) -> bool:
    try:
        parse_datetime(text)
    except DatetimeFormatError:
        return False
    return True


def _schema_verdict(validate: Any, payload: Any) -> bool:
    try:
        validate(payload)
    except fastjsonschema.JsonSchemaException:
        return False
    return True


@pytest.mark.parametrize("edition", EDITIONS)
def test_json_schema_agrees_on_types_and_formats(edition: Edition) -> None:
    """fastjsonschema, given `json_schema` and the wire format's date-time, gives the structural
    rules' verdicts: valid and unusual payloads pass, each type and format breakage fails."""
    schema = json_schema(edition)
    assert set(schema["properties"]) == set(participant_fields(edition))
    validate = fastjsonschema.compile(schema, formats={"date-time": _wire_datetime})
    for payload, _ in itertools.chain(
        valid(edition, RuleSet.STRUCTURAL, 100), unusual(edition, 100)
    ):
        assert _schema_verdict(validate, payload), payload
    ch = RandomChooser(29)
    rules = [r for r in rule_ids(edition, RuleSet.STRUCTURAL) if r != "id.matches-path"]
    for rule in rules:
        for _ in range(10):
            bad = build_invalid(ch, rule, edition=edition, rules=RuleSet.STRUCTURAL)
            assert not _schema_verdict(validate, bad.payload), (rule, bad.payload)


@pytest.mark.parametrize("edition", EDITIONS)
def test_fastjsonschemas_own_date_time_is_never_stricter(edition: Edition) -> None:
    """With its own date-time format (what the validation benchmark runs), fastjsonschema passes
    every valid and unusual payload (other offsets, 0 to 9 fraction digits, lower-case t and z,
    years 0001 and 9999); it only lets more through (a leap second, an offset without its colon)."""
    validate = fastjsonschema.compile(json_schema(edition))
    for payload, _ in itertools.chain(valid(edition, RuleSet.STRICT, 100), unusual(edition, 200)):
        assert _schema_verdict(validate, payload), payload
    lax = {"callbackScheduledTime": "2026-01-01T23:59:60+0200"}
    assert _schema_verdict(validate, lax)
    assert [v.rule for v in check(lax, edition=edition)] == ["datetime.format"]


def test_json_schema_integers_have_no_fraction() -> None:
    validate = fastjsonschema.compile(json_schema(Edition.SEED))
    assert _schema_verdict(validate, {"timeoutSeconds": 2})
    for value in (2.0, True, "2"):
        assert not _schema_verdict(validate, {"timeoutSeconds": value})
        assert check({"timeoutSeconds": value}, rules=RuleSet.STRUCTURAL)
