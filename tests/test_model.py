"""Editions: one ordering (`Edition.includes`) decides what each edition has, and every table asks
it: the properties, the timestamps, the rules and the enum values. A later edition has everything
an earlier one has, and the sdk-269 edition adds exactly what the SDK 269.0.0 model added."""

from __future__ import annotations

import itertools

import pytest

from callbacksim.model import DisconnectType, Edition, State, known_values
from callbacksim.rules import rule_ids, timestamps
from callbacksim.schema import participant_fields

EDITIONS = list(Edition)
SDK_269_PROPERTIES = {
    "startAlertingTime",
    "mediaRoles",
    "externalContactInitialDivisionId",
    "parkTime",
    "resumeTime",
}


def test_each_edition_includes_what_it_and_the_editions_before_it_introduced() -> None:
    for (i, edition), (j, since) in itertools.product(enumerate(EDITIONS), repeat=2):
        assert edition.includes(since) is (j <= i), (edition, since)
    assert all(edition.includes(None) for edition in EDITIONS)


def test_the_seed_edition_lacks_what_sdk_269_introduced() -> None:
    assert not Edition.SEED.includes(Edition.SDK_269)
    assert Edition.SDK_269.includes(Edition.SEED)


@pytest.mark.parametrize(("older", "newer"), list(itertools.combinations(EDITIONS, 2)))
def test_a_later_edition_has_everything_an_earlier_one_has(older: Edition, newer: Edition) -> None:
    assert set(participant_fields(older)) < set(participant_fields(newer))
    assert set(timestamps(older)) < set(timestamps(newer))
    assert set(rule_ids(older)) < set(rule_ids(newer))
    for enum in (State, DisconnectType):
        assert set(known_values(enum, older)) < set(known_values(enum, newer))


def test_sdk_269_adds_its_properties_values_and_rules() -> None:
    seed, sdk = Edition.SEED, Edition.SDK_269
    assert len(participant_fields(seed)) == 42
    assert set(participant_fields(sdk)) - set(participant_fields(seed)) == SDK_269_PROPERTIES
    assert set(timestamps(sdk)) - set(timestamps(seed)) == {
        "startAlertingTime",
        "parkTime",
        "resumeTime",
    }
    assert set(known_values(State, sdk)) - set(known_values(State, seed)) == {State.PARKED}
    assert set(known_values(DisconnectType, sdk)) - set(known_values(DisconnectType, seed)) == {
        DisconnectType.ENDPOINT_DONOTDISTURB,
        DisconnectType.TRANSFER_DONOTDISTURB,
        DisconnectType.INACTIVITY,
        DisconnectType.SESSION_EXPIRED,
        DisconnectType.TAKEOVER,
    }
    added = set(rule_ids(sdk)) - set(rule_ids(seed))
    assert {r for r in added if r.startswith("type.")} == {f"type.{p}" for p in SDK_269_PROPERTIES}
    assert "state.parked-has-park-time" in added


def test_the_latest_edition_has_everything() -> None:
    latest = Edition.latest()
    assert all(latest.includes(edition) for edition in EDITIONS)
    for edition in EDITIONS:
        assert set(participant_fields(edition)) <= set(participant_fields(latest))
