"""Rebuilding lifecycles from exports: every snapshot valid, the last one the exported participant,
the states in the order the simulator played them, and every assumption named."""

from __future__ import annotations

import itertools
from collections import defaultdict
from typing import Any

import pytest
from export_shapes import export, generated
from hypothesis import given, settings

from callbacksim.generation.lifecycle import Lifecycle, lifecycles_from_events
from callbacksim.model import Edition
from callbacksim.reconstruct import ASSUMPTIONS, Rebuilt, rebuild
from callbacksim.rules import check
from callbacksim.strategies import lifecycles
from callbacksim.wiretime import epoch_ms, parse_datetime

EDITIONS = [Edition.SEED, Edition.SDK_269]


def rebuilt_of(lc: Lifecycle, edition: Edition) -> Rebuilt:
    return rebuild(export(lc), edition=edition, fallback_id="x", fallback_ms=0)


def by_participant(events: Any) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in events:
        out[e["participantId"]].append(e)
    return out


def collapsed_states(snapshots: list[dict[str, Any]]) -> list[Any]:
    return [state for state, _ in itertools.groupby(s.get("state") for s in snapshots)]


def as_final_timestamps_tell(snapshots: list[dict[str, Any]]) -> list[Any]:
    """The simulator's states as the final timestamps can tell them: a Customer First dial
    attempt ('dialing') leaves no timestamp once over, so it reads as the wait it interrupts
    ('none'); the rebuild states that assumption (``no-dialing``)."""
    return collapsed_states(
        [s | {"state": "none"} if s.get("state") == "dialing" else s for s in snapshots]
    )


def assert_faithful(lc: Lifecycle, edition: Edition) -> Rebuilt:
    """The laws of a rebuild, checked against the lifecycle the export came from.

    Every variant is rebuilt valid, its last snapshot the exported participant. The states follow
    the simulator's wherever the final timestamps tell them; they do not tell Customer First dial
    attempts (customer-first, dial-retry, answering-machine, unreachable: the 'dialing' spells
    read as waiting, see `as_final_timestamps_tell`). A reschedule, an ownership expiry or an
    auto-dial changes no state the final timestamps hide, so those are rebuilt exactly."""
    rebuilt = rebuilt_of(lc, edition)
    assert rebuilt.conversation_id == lc.conversation_id
    assert not rebuilt.invalid
    assert not rebuilt.problems
    assert set(rebuilt.assumptions) <= set(ASSUMPTIONS)
    times = [epoch_ms(parse_datetime(e["time"])) for e in rebuilt.events]
    assert times == sorted(times)
    original = by_participant(e.to_wire() for e in lc.events)
    mine = by_participant(rebuilt.events)
    assert list(mine) == list(lc.finals())
    for pid, events in mine.items():
        assert [e["sequence"] for e in events] == list(range(1, len(events) + 1))
        assert all(e["conversationId"] == lc.conversation_id for e in events)
        assert events[-1]["participant"] is lc.finals()[pid]  # the exported participant itself
        snaps = [e["participant"] for e in events]
        for event in events:
            assert check(event["participant"], edition=edition) == [], event
        own = [epoch_ms(parse_datetime(e["time"])) for e in events]
        assert own == sorted(set(own)), "one snapshot per instant"
        # The states follow the simulator's: the same sequence once repeats are collapsed.
        assert collapsed_states(snaps) == as_final_timestamps_tell(
            [e["participant"] for e in original[pid]]
        )
    if "dialing" in _states(lc):
        assert "no-dialing" in rebuilt.assumptions
    return rebuilt


def _states(lc: Lifecycle) -> list[str]:
    return [str(e.participant.get("state")) for e in lc.events]


@pytest.mark.parametrize("edition", EDITIONS)
def test_rebuilt_lifecycles_are_faithful_to_the_simulated_ones(edition: Edition) -> None:
    """Hundreds of conversations, every path of the simulator represented."""
    seen: set[str] = set()
    for lc in generated(
        400,
        seed=7,
        edition=edition,
        hold_probability=0.4,
        park_probability=0.3,
        transfer_probability=0.2,
        error_probability=0.1,
        cancel_share=0.2,
        abandon_share=0.1,
        wrapup_timeout_probability=0.2,
    ):
        assert_faithful(lc, edition)
        seen |= lc.plan.paths
    expected = {"cancelled", "abandoned", "hold", "transfer", "timeout", "decline", "ivr"}
    expected |= {"wrapup-timeout", "wrapup-skipped", "error", "transport-failure"}
    expected |= {"customer-first", "dial-retry", "answering-machine", "rescheduled", "auto-dial"}
    expected |= {"self-scheduled", "agent-owned", "ownership-expired", "ownership-requeued"}
    expected |= {"external", "scheduled-now"}
    assert expected <= seen
    if edition is Edition.SDK_269:
        assert "park" in seen


@settings(max_examples=60)
@given(lifecycles(edition="sdk-269"))
def test_rebuilt_hypothesis_lifecycles_are_faithful(lc: Lifecycle) -> None:
    """Shrinking lifecycles bring ties: timestamps at one millisecond, zero waits."""
    assert_faithful(lc, Edition.SDK_269)


def test_what_appears_when_on_a_served_agent_leg() -> None:
    agent = {
        "id": "a1",
        "purpose": "agent",
        "state": "terminated",
        "startTime": "2026-01-01T00:00:00.000Z",
        "startAlertingTime": "2026-01-01T00:00:00.020Z",
        "connectedTime": "2026-01-01T00:00:05.000Z",
        "endTime": "2026-01-01T00:05:00.000Z",
        "startAcwTime": "2026-01-01T00:05:00.000Z",
        "endAcwTime": "2026-01-01T00:05:30.000Z",
        "disconnectType": "client",
        "wrapupRequired": True,
        "wrapup": {"code": "c", "endTime": "2026-01-01T00:05:30.000Z"},
        "alertingTimeoutMs": 30000,
    }
    rebuilt = rebuild(
        {"id": "c1", "participants": [agent]},
        edition=Edition.SDK_269,
        fallback_id="x",
        fallback_ms=0,
    )
    got = [(e["time"][11:23], e["participant"]) for e in rebuilt.events]
    assert [(t, s["state"]) for t, s in got] == [
        ("00:00:00.000", "alerting"),
        ("00:00:00.020", "alerting"),
        ("00:00:05.000", "connected"),
        ("00:05:00.000", "disconnected"),
        ("00:05:30.000", "terminated"),
    ]
    first, alerting, connected, ended, last = (s for _, s in got)
    assert "startAlertingTime" not in first
    assert first["wrapupRequired"] is False
    assert first["alertingTimeoutMs"] == 30000
    assert "startAlertingTime" in alerting
    assert "connectedTime" not in alerting
    assert "endTime" not in connected
    assert "disconnectType" not in connected
    assert ended["disconnectType"] == "client"
    assert ended["startAcwTime"] == ended["endTime"]
    assert ended["wrapupRequired"] is True
    assert "wrapup" not in ended
    assert "endAcwTime" not in ended
    assert last is agent
    assert list(first) == [k for k in agent if k in first], "properties keep the export's order"
    assert set(rebuilt.assumptions) == {
        "alerting-from-start",
        "wrapup-required-at-end",
        "disconnected-until-acw-end",
    }


def one(participant: dict[str, Any], edition: Edition = Edition.SDK_269) -> Rebuilt:
    return rebuild(
        {"id": "c", "participants": [participant]},
        edition=edition,
        fallback_id="x",
        fallback_ms=0,
    )


T = "2026-01-01T00:00:{:02d}.000Z"


def states(rebuilt: Rebuilt) -> list[Any]:
    return [e["participant"].get("state") for e in rebuilt.events]


def test_a_terminated_leg_without_after_call_work_is_terminated_from_its_end() -> None:
    r = one(
        {
            "id": "p",
            "purpose": "agent",
            "state": "terminated",
            "startTime": T.format(0),
            "connectedTime": T.format(1),
            "endTime": T.format(2),
        }
    )
    assert states(r) == ["alerting", "connected", "terminated"]
    assert set(r.assumptions) == {"alerting-from-start", "terminated-at-end"}


def test_a_leg_parked_at_the_export_stays_parked_and_its_resume_is_only_scheduled() -> None:
    r = one(
        {
            "id": "p",
            "purpose": "agent",
            "state": "parked",
            "startTime": T.format(0),
            "connectedTime": T.format(1),
            "parkTime": T.format(3),
            "resumeTime": T.format(50),
        }
    )
    assert states(r) == ["alerting", "connected", "parked"]
    parked = r.events[-1]["participant"]
    assert parked["resumeTime"] == T.format(50)
    assert "resumed-at-resume-time" not in r.assumptions


def test_a_park_with_no_resume_before_the_end_lasts_until_the_end() -> None:
    r = one(
        {
            "id": "p",
            "purpose": "agent",
            "state": "disconnected",
            "startTime": T.format(0),
            "connectedTime": T.format(1),
            "parkTime": T.format(3),
            "endTime": T.format(9),
        }
    )
    assert states(r) == ["alerting", "connected", "parked", "disconnected"]
    assert "parked-until-end" in r.assumptions


def test_a_snapshot_that_would_break_a_rule_is_merged_and_said_so() -> None:
    """Held at the export, parked before: a parked snapshot with held true would break
    state.held-is-connected, so it is merged into the next."""
    r = one(
        {
            "id": "p",
            "purpose": "agent",
            "state": "connected",
            "held": True,
            "startTime": T.format(0),
            "connectedTime": T.format(1),
            "startHoldTime": T.format(2),
            "parkTime": T.format(3),
            "resumeTime": T.format(4),
        }
    )
    assert "merged" in r.assumptions
    assert "parked" not in states(r)
    assert all(check(e["participant"], edition=Edition.SDK_269) == [] for e in r.events)


def test_legs_without_a_start_or_any_timestamp() -> None:
    r = one(
        {
            "id": "p",
            "purpose": "customer",
            "state": "disconnected",
            "connectedTime": T.format(4),
            "endTime": T.format(9),
        }
    )
    assert states(r) == ["connected", "disconnected"]
    assert r.events[0]["time"] == T.format(4)
    assert "no-start" in r.assumptions
    bare = rebuild(
        {
            "id": "c",
            "participants": [{"id": "q", "purpose": "acd"}, {"id": "r", "startTime": T.format(7)}],
        },
        edition=Edition.SEED,
        fallback_id="x",
        fallback_ms=0,
    )
    assert [e["time"] for e in bare.events] == [T.format(7), T.format(7)]
    assert bare.assumptions["no-timestamps"] == 1
    nothing = one({"id": "q"})
    assert nothing.events[0]["time"] == "1970-01-01T00:00:00.000Z"  # the fallback instant


def test_a_timestamp_before_the_start_shows_from_the_first_snapshot() -> None:
    """endAcwTime has nothing ordering it without startAcwTime, so it may come first."""
    r = one(
        {
            "id": "p",
            "purpose": "agent",
            "state": "disconnected",
            "startTime": T.format(5),
            "endAcwTime": T.format(1),
            "endTime": T.format(9),
        }
    )
    assert r.events[0]["time"] == T.format(5)
    assert r.events[0]["participant"]["endAcwTime"] == T.format(1)
    assert "early-timestamps" in r.assumptions


def test_invalid_participants_are_kept_marked_and_the_rest_rebuilt() -> None:
    good = {
        "id": "g",
        "purpose": "customer",
        "state": "disconnected",
        "startTime": T.format(0),
        "connectedTime": T.format(0),
        "endTime": T.format(8),
    }
    bad = {
        "id": "b",
        "purpose": "agent",
        "state": "connected",
        "startTime": T.format(3),
        "endTime": T.format(2),
        "held": "yes",
    }
    r = rebuild(
        {"id": "c", "participants": [good, bad]},
        edition=Edition.SEED,
        fallback_id="x",
        fallback_ms=0,
    )
    (invalid,) = r.invalid
    assert invalid.participant_id == "b"
    assert {v.rule for v in invalid.violations} == {
        "type.held",
        "order.start<=end",
        "state.end-means-ended",
        "state.connected-has-connected-time",
    }
    marked = [e for e in r.events if "invalid" in e]
    assert len(marked) == 1
    assert marked[0]["participant"] is bad
    assert marked[0]["invalid"] == sorted({v.rule for v in invalid.violations})
    assert marked[0]["time"] == T.format(3)  # its latest timestamp
    assert [e["participantId"] for e in r.events if "invalid" not in e] == ["g", "g"]


def test_ids_given_duplicates_and_non_objects_are_reported() -> None:
    p = {"purpose": "customer", "startTime": T.format(1)}
    r = rebuild(
        {"participants": [p, dict(p, id="d"), dict(p, id="d"), "junk"]},
        edition=Edition.SEED,
        fallback_id="fallback-cid",
        fallback_ms=0,
    )
    assert r.conversation_id == "fallback-cid"
    assert r.participants == 4
    given_id = r.events[0]["participantId"]
    assert len(given_id) == 36
    assert [e["participantId"] for e in r.events] == [given_id, "d"]
    assert "the conversation has no id: given fallback-cid" in r.problems
    assert f"participants[0] has no id: its events use {given_id}" in r.problems
    assert "participants[2] repeats the id d and is left out" in r.problems
    assert any(p.startswith("participants[3] is not a JSON object") for p in r.problems)
    assert [i.index for i in r.invalid] == [3]
    again = rebuild({"participants": [p]}, edition=Edition.SEED, fallback_id="f", fallback_ms=0)
    assert again.events[0]["participantId"] != given_id  # derived from the conversation id


def test_a_rebuilt_file_reads_back_as_lifecycles() -> None:
    lcs = generated(5, seed=9)
    events = [e for lc in lcs for e in rebuilt_of(lc, Edition.SEED).events]
    back = lifecycles_from_events(events)
    assert [lc.finals() for lc in back] == [lc.finals() for lc in lcs]
