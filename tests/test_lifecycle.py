"""Simulated callback lifecycles: the promises of `callbacksim.generation.lifecycle`.

Every lifecycle, seeded or drawn by Hypothesis, is checked by `assert_lifecycle`: event order and
sequence numbers, every snapshot valid in both editions, final states at the end, every state
change a row of the state machine, the cross-participant timing facts, and the paths the plan
names read back from the events themselves (`observed_paths`), in both directions.
"""

from __future__ import annotations

import collections
import itertools
import math
import statistics
import time
from collections.abc import Sequence
from typing import Any, TypeVar

import hypothesis  # noqa: F401  (before callbacksim.strategies; see the pytest plugin's note)
import orjson
import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from callbacksim.errors import UsageError
from callbacksim.generation.chooser import RandomChooser
from callbacksim.generation.lifecycle import (
    PATHS,
    Event,
    Lifecycle,
    LifecycleStream,
    Plan,
    plan_lifecycle,
    simulate,
)
from callbacksim.generation.machine import FINAL, allowed, wire_state
from callbacksim.generation.profile import DEFAULT, Profile
from callbacksim.model import Edition
from callbacksim.rules import check
from callbacksim.strategies import lifecycles
from callbacksim.wiretime import epoch_ms, format_epoch_ms, parse_datetime

T = TypeVar("T")

SEED = Edition.SEED
SDK = Edition.SDK_269
BOTH = (SEED, SDK)
START_MS = epoch_ms(parse_datetime("2026-02-03T10:00:00Z"))
TIMEOUT_CODE = "ININ-WRAP-UP-TIMEOUT"


def ms(value: str) -> int:
    return epoch_ms(parse_datetime(value))


def by_purpose(lc: Lifecycle, purpose: str) -> list[dict[str, Any]]:
    """The final snapshots of ``purpose`` participants, in order of first appearance."""
    return [snap for snap in lc.finals().values() if snap["purpose"] == purpose]


def snapshots(lc: Lifecycle) -> list[dict[str, Any]]:
    return [e.participant for e in lc.events]


def observed_paths(lc: Lifecycle) -> set[str]:
    """The names of `PATHS` that the events show, read without looking at the plan."""
    (customer,) = by_purpose(lc, "customer")
    agents = by_purpose(lc, "agent")
    acds = by_purpose(lc, "acd")
    connected = [a for a in agents if "connectedTime" in a]
    missed = [a for a in agents if "connectedTime" not in a]
    out = {"scheduled" if "callbackScheduledTime" in customer else "immediate"}
    if by_purpose(lc, "ivr"):
        out.add("ivr")
    if "outboundPreview" in customer:
        out.add("preview")
    if "connectedTime" not in customer:
        out.add("cancelled")
    elif not connected:
        out.add("abandoned")
    if connected:
        out.add("accepted")
    if any(a["disconnectType"] == "system" for a in missed):
        out.add("timeout")
    if any(a["disconnectType"] == "client" for a in missed):
        out.add("decline")
    if any(s.get("held") is True for s in snapshots(lc)):
        out.add("hold")
    if any(s["state"] == "parked" for s in snapshots(lc)):
        out.add("park")
    if any(a["disconnectType"] == "transfer" for a in connected) and len(acds) >= 2:
        out.add("transfer")
    for kind, path in (("error", "error"), ("transport.failure", "transport-failure")):
        if any(a["disconnectType"] == kind and "errorInfo" in a for a in connected):
            out.add(path)
    for a in connected:
        wrapup = a.get("wrapup")
        if "startAcwTime" not in a:
            out.add("no-wrapup")
        elif a.get("wrapupSkipped") is True and wrapup is None:
            out.add("wrapup-skipped")
        elif (
            a.get("wrapupTimeoutMs") is not None
            and ms(a["endAcwTime"]) - ms(a["startAcwTime"]) == a["wrapupTimeoutMs"]
        ):
            out.add("wrapup-timeout")
        elif wrapup and wrapup.get("code") and wrapup["endTime"] == a["endAcwTime"]:
            out.add("wrapup-applied")
    return out


def assert_lifecycle(lc: Lifecycle, edition: Edition, profile: Profile = DEFAULT) -> None:
    events = lc.events
    assert events
    # Time order, one conversation, per-participant sequences 1..n.
    assert [e.time_ms for e in events] == sorted(e.time_ms for e in events)
    seqs: dict[str, list[int]] = collections.defaultdict(list)
    for e in events:
        assert e.conversation_id == lc.conversation_id
        assert e.participant["id"] == e.participant_id
        seqs[e.participant_id].append(e.sequence)
    for pid, seq in seqs.items():
        assert seq == list(range(1, len(seq) + 1)), pid
    # Every snapshot satisfies every rule of both editions.
    for e in events:
        for ed in BOTH:
            assert check(e.participant, edition=ed, path_id=e.participant_id) == [], (ed, e)
    # Every change is a row of the state machine; every participant ends in a final state.
    # The machine's states are finer than the wire's; each wire change leads to exactly one.
    states: dict[str, str | None] = {}
    for e in events:
        role, before = e.participant["purpose"], states.get(e.participant_id)
        after = e.participant["state"]
        targets = {t for t in allowed(role, before).values() if wire_state(t) == after}
        assert len(targets) == 1, (role, before, after)
        states[e.participant_id] = targets.pop()
    assert set(states.values()) <= FINAL
    assert list(lc.finals()) == list(dict.fromkeys(e.participant_id for e in events))
    # The cast: one customer, a queue leg per visit, an agent leg per offer, at most one flow.
    finals = lc.finals().values()
    purposes = collections.Counter(s["purpose"] for s in finals)
    assert set(purposes) <= {"customer", "acd", "agent", "ivr"}
    assert purposes["customer"] == 1
    assert 1 <= purposes["acd"] <= 2
    assert purposes["ivr"] <= 1
    # Each offer is a new agent participant (the plan's offers, and one more after a transfer).
    assert purposes["agent"] == len(lc.plan.offers) + lc.plan.transfer
    assert lc.conversation_id not in lc.finals()
    assert_timing(lc, edition, profile)
    # The plan's paths are exactly what the events show.
    assert observed_paths(lc) == lc.plan.paths
    # The wire form is JSON and carries the same time.
    wire = orjson.loads(orjson.dumps(lc.to_wire()))
    assert [w["time"] for w in wire] == [format_epoch_ms(e.time_ms) for e in events]
    assert [w["sequence"] for w in wire] == [e.sequence for e in events]


def assert_timing(lc: Lifecycle, edition: Edition, profile: Profile) -> None:
    (customer,) = by_purpose(lc, "customer")
    agents = by_purpose(lc, "agent")
    acds = by_purpose(lc, "acd")
    timeout = int(profile.alerting_timeout_ms)
    # Each offer is a new agent participant: it alerts once, at its first snapshot.
    first: dict[str, Event] = {}
    for e in lc.events:
        first.setdefault(e.participant_id, e)
        if e.participant["purpose"] == "agent" and e.sequence > 1:
            assert e.participant["state"] != "alerting"
    for agent in agents:
        assert first[agent["id"]].participant["state"] == "alerting"
        assert ("startAlertingTime" in agent) is (edition is SDK)
    # The queue leg ends "transfer" at the very millisecond its agent connects.
    connected = [a for a in agents if "connectedTime" in a]
    transferred = [q for q in acds if q.get("disconnectType") == "transfer"]
    assert len(transferred) == len(connected)
    for acd, agent in zip(transferred, connected, strict=True):
        assert acd["endTime"] == agent["connectedTime"]
        assert acd["queue"]["id"] == agent["queue"]["id"]
    # After-call work starts at the agent's endTime.
    for snap in snapshots(lc):
        if "startAcwTime" in snap:
            assert snap["startAcwTime"] == snap["endTime"]
    # Missed offers: a timeout ends "system" alertingTimeoutMs + 100..120 ms after alerting; a
    # decline ends "client" before the timeout.
    lo, hi = profile.timeout_overrun_min_ms, profile.timeout_overrun_max_ms
    if edition is SEED:  # no startAlertingTime: alerting starts 9..36 ms after the leg
        lo, hi = lo + profile.alert_start_min_ms, hi + profile.alert_start_max_ms
    for agent in agents:
        if "connectedTime" in agent:
            continue
        assert agent["alertingTimeoutMs"] == timeout
        alerting = agent.get("startAlertingTime", agent["startTime"])
        waited = ms(agent["endTime"]) - ms(alerting)
        if agent["disconnectType"] == "system":
            assert lo <= waited - timeout <= hi, waited
        else:
            assert agent["disconnectType"] == "client"
            assert 0 < waited < timeout
    # A flow hands over at the moment the callback is created.
    for ivr in by_purpose(lc, "ivr"):
        assert ivr["disconnectType"] == "transfer"
        assert ivr["endTime"] == customer["startTime"]
    # The conversation starts at the injected start; the customer's leg ends last of the calls.
    assert lc.events[0].time_ms == START_MS
    for snap in lc.finals().values():
        assert ms(snap["startTime"]) >= START_MS
        if snap["purpose"] != "customer":
            assert ms(snap["endTime"]) <= ms(customer["endTime"])
    # A scheduled callback connects no earlier than its scheduled time.
    if "callbackScheduledTime" in customer:
        scheduled = ms(customer["callbackScheduledTime"])
        assert scheduled >= ms(customer["startTime"]) + profile.schedule_min_s * 1000
        if "connectedTime" in customer:
            assert ms(customer["connectedTime"]) >= scheduled
        else:
            assert ms(customer["endTime"]) < scheduled
    # Wrap-up: the wrapup ends with the after-call work.
    for agent in connected:
        if "wrapup" in agent:
            assert agent["wrapup"]["endTime"] == agent["endAcwTime"]
        if agent.get("wrapupTimeoutMs") is not None:
            assert agent["wrapup"]["code"] == TIMEOUT_CODE


def run(seed: int, edition: Edition = SEED, **kwargs: Any) -> Lifecycle:
    kwargs.setdefault("start_ms", START_MS)
    return simulate(RandomChooser(seed), edition=edition, **kwargs)


def wire_bytes(lc: Lifecycle) -> bytes:
    return orjson.dumps(lc.to_wire())


# -- seeded lifecycles ---------------------------------------------------------------------------


@pytest.mark.parametrize("edition", BOTH)
def test_seeded_lifecycles_keep_every_promise(edition: Edition) -> None:
    seen: set[str] = set()
    for seed in range(300):
        lc = run(seed, edition)
        assert_lifecycle(lc, edition)
        seen |= lc.plan.paths
    # The default profile reaches almost every path by itself.
    expected = set(PATHS) - ({"park"} if edition is SEED else set())
    assert len(expected - seen) <= 3, sorted(expected - seen)


def _requirable(edition: Edition) -> list[Any]:
    return [
        pytest.param(edition, path, id=f"{edition.value}-{path}")
        for path in PATHS
        if not (path == "park" and edition is SEED)
    ]


@pytest.mark.parametrize(("edition", "path"), [*_requirable(SEED), *_requirable(SDK)])
def test_every_path_can_be_required(edition: Edition, path: str) -> None:
    for seed in range(25):
        lc = run(seed, edition, require=[path])
        assert path in lc.plan.paths
        assert path in observed_paths(lc)
        assert_lifecycle(lc, edition)


def _compatible_pairs() -> list[tuple[str, str]]:
    pairs = []
    names = list(PATHS)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            try:
                plan_lifecycle(RandomChooser(0), edition=SDK, require=[a, b])
            except UsageError:
                continue
            pairs.append((a, b))
    return pairs


def test_every_compatible_pair_of_paths_can_be_required_together() -> None:
    pairs = _compatible_pairs()
    assert len(pairs) > 100
    for a, b in pairs:
        for seed in range(3):
            lc = run(seed, SDK, require=[a, b])
            assert {a, b} <= observed_paths(lc), (a, b, seed)
            assert_lifecycle(lc, SDK)


def test_a_busy_conversation() -> None:
    """Everything at once: a flow, a schedule, missed offers, holds, a park, a transfer."""
    require = ["ivr", "scheduled", "preview", "timeout", "decline", "hold", "park", "transfer"]
    for seed in range(10):
        lc = run(seed, SDK, require=[*require, "wrapup-applied", "transport-failure"])
        assert_lifecycle(lc, SDK)
        assert len(by_purpose(lc, "acd")) == 2
        assert len(by_purpose(lc, "agent")) >= 4
        first, *_, last = [a for a in by_purpose(lc, "agent") if "connectedTime" in a]
        assert first["disconnectType"] == "transfer"
        assert last["disconnectType"] == "transport.failure"
        assert last["errorInfo"]["code"]


def test_path_details() -> None:
    """Particular facts of some paths, beyond `observed_paths`."""
    lc = run(1, SDK, require=["cancelled"])
    customer, acd = by_purpose(lc, "customer")[0], by_purpose(lc, "acd")[0]
    assert (customer["disconnectType"], acd["disconnectType"]) == ("client", "system")
    assert not by_purpose(lc, "agent")
    states = {e.participant["state"] for e in lc.events if e.participant["purpose"] != "ivr"}
    assert states == {"scheduled", "disconnected"}

    lc = run(2, SDK, require=["abandoned"])
    assert by_purpose(lc, "customer")[0]["endTime"] == by_purpose(lc, "acd")[0]["endTime"]

    lc = run(3, SDK, require=["preview"])
    preview = by_purpose(lc, "customer")[0]["outboundPreview"]
    assert {"campaignId", "contactListId", "contactId"} <= set(preview)
    assert by_purpose(lc, "customer")[0]["externalCampaign"] is True

    lc = run(4, SDK, require=["immediate"])
    assert all("callbackScheduledTime" not in s for s in snapshots(lc))

    lc = run(5, SDK, require=["hold"])
    holds = [s for s in snapshots(lc) if s.get("held") is True]
    assert holds
    assert all("startHoldTime" in s for s in holds)
    assert all(s.get("held") is not True for s in by_purpose(lc, "agent"))  # released at the end

    lc = run(6, SDK, require=["park"])
    parked = [s for s in snapshots(lc) if s["state"] == "parked"]
    assert parked
    assert all(ms(s["parkTime"]) <= ms(s["resumeTime"]) for s in parked)

    lc = run(7, SDK, require=["wrapup-skipped"])
    for agent in (a for a in by_purpose(lc, "agent") if "connectedTime" in a):
        assert agent["wrapupSkipped"] is True
        assert agent["wrapupRequired"] is True
        assert "wrapup" not in agent
        assert agent["state"] == "terminated"

    lc = run(8, SDK, require=["no-wrapup"])
    for agent in (a for a in by_purpose(lc, "agent") if "connectedTime" in a):
        assert agent["wrapupRequired"] is False
        assert agent["state"] == "disconnected"


# -- conflicting requirements ---------------------------------------------------------------------


CONFLICTS = [
    (["park"], SEED, "park exists only in the sdk-269 edition"),
    (["scheduled", "immediate"], SDK, "either scheduled or immediate"),
    (["cancelled", "hold"], SDK, r"\['cancelled'\] cannot be combined with \['hold'\]"),
    (["abandoned", "accepted"], SDK, "cannot be combined"),
    (["abandoned", "wrapup-applied"], SDK, "cannot be combined"),
    (["cancelled", "abandoned"], SDK, "cannot be combined"),
    (["cancelled", "immediate"], SDK, "only a scheduled callback can be cancelled"),
    (["cancelled", "timeout"], SDK, "a cancelled callback is never offered"),
    (["wrapup-applied", "no-wrapup"], SDK, "only one wrap-up outcome"),
    (["error", "transport-failure"], SDK, "error or a transport failure, not both"),
    (["vacation"], SDK, r"unknown path\(s\) \['vacation'\]; choose from scheduled, immediate"),
]


@pytest.mark.parametrize(("require", "edition", "message"), CONFLICTS)
def test_conflicting_requirements_raise_usage_errors(
    require: list[str], edition: Edition, message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        plan_lifecycle(RandomChooser(0), edition=edition, require=require)
    with pytest.raises(UsageError, match=message):
        run(0, edition, require=require)
    with pytest.raises(UsageError, match=message):
        LifecycleStream(0, edition=edition, start_ms=START_MS, require=require)


@pytest.mark.parametrize(("require", "edition", "message"), CONFLICTS)
def test_conflicting_paths_are_invalid_strategy_arguments(
    require: list[str], edition: Edition, message: str
) -> None:
    with pytest.raises(InvalidArgument, match=message):
        lifecycles(edition=edition, paths=require)


def test_an_unknown_edition_is_an_invalid_strategy_argument() -> None:
    with pytest.raises(InvalidArgument, match="edition"):
        lifecycles(edition="sdk-1")


# -- plans ----------------------------------------------------------------------------------------


class ZeroChooser:
    """The simplest answer to every question."""

    def below(self, n: int) -> int:
        return 0

    def between(self, lo: int, hi: int) -> int:
        return lo

    def chance(self, p: float) -> bool:
        return p >= 1

    def pick(self, items: Sequence[T]) -> T:
        return items[0]

    def bits(self, k: int) -> int:
        return 0


def test_the_simplest_chooser_gives_the_simplest_plan() -> None:
    assert plan_lifecycle(ZeroChooser()) == Plan()
    assert Plan().paths == {"immediate", "accepted", "no-wrapup"}
    lc = simulate(ZeroChooser(), start_ms=START_MS)
    assert_lifecycle(lc, SEED)
    assert [(e.participant["purpose"], e.participant["state"]) for e in lc.events] == [
        ("customer", "connected"),
        ("acd", "connected"),
        ("agent", "alerting"),
        ("agent", "connected"),
        ("acd", "disconnected"),
        ("agent", "disconnected"),
        ("customer", "disconnected"),
    ]


def test_participant_ids_are_distinct_even_when_every_draw_is_the_same() -> None:
    plan = Plan(ivr=True, offers=("timeout", "decline", "accept"), transfer=True)
    lc = simulate(ZeroChooser(), plan=plan, edition=SDK, start_ms=START_MS)
    assert_lifecycle(lc, SDK)
    ids = [snap["id"] for snap in lc.finals().values()]
    assert len(ids) == len(set(ids)) == 1 + 2 + 4 + 1  # customer, 2 queues, 4 agents, ivr
    (customer,) = by_purpose(lc, "customer")
    assert all(acd["peer"] == customer["id"] for acd in by_purpose(lc, "acd"))


def test_a_given_plan_is_played_out() -> None:
    plan = Plan(scheduled=True, offers=("decline", "timeout", "accept"), holds=2, wrapup="skipped")
    lc = simulate(RandomChooser(5), plan=plan, start_ms=START_MS)
    assert lc.plan is plan
    assert_lifecycle(lc, SEED)
    agents = by_purpose(lc, "agent")
    assert [a.get("disconnectType") for a in agents] == ["client", "system", "client"]
    holds = [e for e in lc.events if e.participant.get("held") is True]
    assert len(holds) == 2


def test_the_plans_paths_name_only_known_paths() -> None:
    for seed in range(200):
        plan = plan_lifecycle(RandomChooser(seed), edition=SDK)
        assert plan.paths <= set(PATHS)
        assert len(plan.paths & {"scheduled", "immediate"}) == 1


# -- determinism ----------------------------------------------------------------------------------


def test_same_seed_profile_and_start_give_the_same_bytes() -> None:
    for seed in range(20):
        for edition in BOTH:
            assert wire_bytes(run(seed, edition)) == wire_bytes(run(seed, edition))


def test_different_seeds_give_different_lifecycles() -> None:
    outputs = {wire_bytes(run(seed)) for seed in range(50)}
    assert len(outputs) == 50
    assert len({run(seed).conversation_id for seed in range(50)}) == 50


def test_the_profile_and_edition_are_part_of_the_input() -> None:
    slow = DEFAULT.with_overrides(["queue_wait_median_s=600"])
    assert wire_bytes(run(3, profile=slow)) != wire_bytes(run(3))
    assert wire_bytes(run(3, SDK)) != wire_bytes(run(3, SEED))


def test_time_comes_only_from_the_injected_start() -> None:
    """Moving the start moves every timestamp by the same amount and changes nothing else."""
    shift = 86_400_000 * 40 + 1234
    for seed in range(30):
        moved = _rebase(run(seed, SDK), shift)
        assert moved.events == run(seed, SDK, start_ms=START_MS + shift).events


def test_nothing_reads_the_wall_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    before = [wire_bytes(run(seed, SDK)) for seed in range(10)]

    def no_clock(*_args: Any) -> Any:
        raise AssertionError("the simulator read the wall clock")

    monkeypatch.setattr(time, "time", no_clock)
    monkeypatch.setattr(time, "time_ns", no_clock)
    monkeypatch.setattr(time, "localtime", no_clock)
    monkeypatch.setattr(time, "monotonic", no_clock)
    after = [wire_bytes(run(seed, SDK)) for seed in range(10)]
    stream = LifecycleStream(4, edition=SDK, start_ms=START_MS)
    streamed = [wire_bytes(next(stream)) for _ in range(5)]
    monkeypatch.undo()
    assert after == before
    again = LifecycleStream(4, edition=SDK, start_ms=START_MS)
    assert streamed == [wire_bytes(next(again)) for _ in range(5)]


def test_event_wire_form() -> None:
    lc = run(0, SDK)
    event = lc.events[0]
    assert event.to_wire() == {
        "time": format_epoch_ms(START_MS),
        "conversationId": lc.conversation_id,
        "participantId": event.participant_id,
        "sequence": 1,
        "participant": event.participant,
    }
    assert lc.to_wire() == [e.to_wire() for e in lc.events]


# -- the Hypothesis strategy ----------------------------------------------------------------------


@given(lifecycles())
def test_strategy_passes_health_checks_at_default_settings(lc: Lifecycle) -> None:
    """Default settings, nothing suppressed; the checks below drop only the deadline, which
    measures their own (heavier) assertions, not the strategy."""
    assert isinstance(lc, Lifecycle)
    assert lc.events


@given(lifecycles(edition="sdk-269", paths=["transfer", "hold", "park", "timeout", "ivr"]))
def test_strategy_passes_health_checks_for_busy_conversations(lc: Lifecycle) -> None:
    assert len(lc.events) >= 15


@settings(deadline=None)
@given(lifecycles())
def test_strategy_lifecycles_keep_every_promise(lc: Lifecycle) -> None:
    assert_lifecycle_from_strategy(lc, SEED)


@settings(deadline=None)
@given(lifecycles(edition="sdk-269"))
def test_strategy_lifecycles_keep_every_promise_sdk_269(lc: Lifecycle) -> None:
    assert_lifecycle_from_strategy(lc, SDK)


@settings(deadline=None)
@given(st.data())
def test_strategy_takes_required_paths(data: st.DataObject) -> None:
    path = data.draw(st.sampled_from(sorted(PATHS)), label="path")
    lc = data.draw(lifecycles(edition=SDK, paths=[path]), label="lifecycle")
    assert path in lc.plan.paths
    assert path in observed_paths(lc)
    assert_lifecycle_from_strategy(lc, SDK)


def assert_lifecycle_from_strategy(lc: Lifecycle, edition: Edition) -> None:
    # The strategy draws its own start (the 2026-01-01 anchor plus up to a year).
    start = lc.events[0].time_ms
    assert epoch_ms(parse_datetime("2026-01-01T00:00:00Z")) <= start
    rebased = _rebase(lc, START_MS - start)
    assert_lifecycle(rebased, edition)


def _rebase(lc: Lifecycle, shift: int) -> Lifecycle:
    """``lc`` moved in time by ``shift`` ms (so that it starts at START_MS)."""

    def move(value: Any, key: str) -> Any:
        if isinstance(value, dict):
            return {k: move(v, k) for k, v in value.items()}
        if key.endswith("Time") and isinstance(value, str):
            return format_epoch_ms(ms(value) + shift)
        return value

    events = tuple(
        Event(
            e.time_ms + shift,
            e.conversation_id,
            e.participant_id,
            e.sequence,
            move(e.participant, ""),
        )
        for e in lc.events
    )
    return Lifecycle(lc.conversation_id, lc.plan, events)


@pytest.mark.slow
def test_strategy_shrinks_to_a_short_simple_conversation() -> None:
    smallest = find(lifecycles(), lambda lc: True)
    assert len(smallest.events) <= 6
    assert len(smallest.finals()) <= 2
    assert not {"hold", "park", "transfer", "timeout", "decline", "ivr"} & smallest.plan.paths


@pytest.mark.slow
def test_strategy_shrinks_a_served_conversation_to_the_simplest_one() -> None:
    smallest = find(lifecycles(), lambda lc: "accepted" in lc.plan.paths)
    assert smallest.plan == Plan()
    assert len(smallest.events) == 7


@pytest.mark.slow
def test_strategy_shrinks_a_hold_to_one_hold() -> None:
    smallest = find(lifecycles(paths=["hold"]), lambda lc: True)
    assert smallest.plan.holds == 1
    assert smallest.plan.paths == {"immediate", "accepted", "hold", "no-wrapup"}


# -- the stream ------------------------------------------------------------------------------------


def _starts(stream: LifecycleStream, n: int) -> list[int]:
    return [next(stream).events[0].time_ms for _ in range(n)]


def test_stream_conversations_start_in_order_from_the_start() -> None:
    stream = LifecycleStream(7, edition=SDK, start_ms=START_MS)
    lcs = [next(stream) for _ in range(200)]
    starts = [lc.events[0].time_ms for lc in lcs]
    assert starts[0] == START_MS
    assert all(b > a for a, b in itertools.pairwise(starts))
    assert len({lc.conversation_id for lc in lcs}) == 200
    for lc in lcs:
        assert_lifecycle(_rebase(lc, START_MS - lc.events[0].time_ms), SDK)


def test_stream_gaps_are_exponential_with_the_profiles_rate() -> None:
    profile = DEFAULT.with_overrides(["arrivals_per_hour=3600"])  # a mean gap of 1 s
    starts = _starts(LifecycleStream(11, profile=profile, start_ms=START_MS), 1500)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    mean = statistics.fmean(gaps)
    assert 900 < mean < 1100
    assert 0.85 < statistics.pstdev(gaps) / mean < 1.15  # exponential: sd == mean
    # P(gap > mean) = 1/e for an exponential distribution.
    above = sum(g > 1000 for g in gaps) / len(gaps)
    assert abs(above - math.exp(-1)) < 0.05


def test_stream_rate_follows_the_profile() -> None:
    slow = DEFAULT.with_overrides(["arrivals_per_hour=60"])
    fast = DEFAULT.with_overrides(["arrivals_per_hour=6000"])
    slow_span = _starts(LifecycleStream(3, profile=slow, start_ms=START_MS), 100)[-1] - START_MS
    fast_span = _starts(LifecycleStream(3, profile=fast, start_ms=START_MS), 100)[-1] - START_MS
    assert slow_span > 20 * fast_span


def test_stream_is_deterministic_per_seed() -> None:
    def first(seed: int, n: int = 20) -> list[bytes]:
        stream = LifecycleStream(seed, start_ms=START_MS)
        return [wire_bytes(next(stream)) for _ in range(n)]

    assert first(1) == first(1)
    assert first(1) != first(2)
    stream = LifecycleStream(1, start_ms=START_MS)
    assert iter(stream) is stream


def test_stream_takes_required_paths() -> None:
    stream = LifecycleStream(5, edition=SDK, start_ms=START_MS, require=["park", "scheduled"])
    for _ in range(20):
        lc = next(stream)
        assert {"park", "scheduled"} <= observed_paths(lc)
