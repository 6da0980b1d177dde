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
from typing import Any, TypeVar

import hypothesis  # noqa: F401  (before callbacksim.strategies; see the pytest plugin's note)
import orjson
import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from callbacksim.errors import UsageError
from callbacksim.generation.chooser import MinimalChooser, RandomChooser
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
from callbacksim.generation.profile import DEFAULT, Profile, mix_weights
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


CUSTOMER = {"customer", "external"}
ROLE = {"external": "customer"}  # the machine's role of a participant, by purpose
PROMPTS = {"optional", "mandatory", "timeout", "forcedTimeout", "agentRequested"}
TIMED = {"timeout", "forcedTimeout", "agentRequested"}


def legs(lc: Lifecycle, *purposes: str) -> list[list[dict[str, Any]]]:
    """The snapshots of each ``purposes`` participant, in order, participants in order of first
    appearance."""
    out: dict[str, list[dict[str, Any]]] = {}
    for e in lc.events:
        out.setdefault(e.participant_id, []).append(e.participant)
    return [snaps for snaps in out.values() if snaps[0]["purpose"] in purposes]


def by_purpose(lc: Lifecycle, *purposes: str) -> list[dict[str, Any]]:
    """The final snapshots of ``purposes`` participants, in order of first appearance."""
    return [snap for snap in lc.finals().values() if snap["purpose"] in purposes]


def customer_of(lc: Lifecycle) -> list[dict[str, Any]]:
    (customer,) = legs(lc, *CUSTOMER)
    return customer


def snapshots(lc: Lifecycle) -> list[dict[str, Any]]:
    return [e.participant for e in lc.events]


def observed_paths(lc: Lifecycle) -> set[str]:
    """The names of `PATHS` that the events show, read without looking at the plan. How a leg
    ends is read with the default profile's choices (the system ends legs with "system", a
    customer who leaves with "endpoint")."""
    customer = customer_of(lc)
    first, final = customer[0], customer[-1]
    acds = legs(lc, "acd")
    agents = legs(lc, "agent")
    flows = legs(lc, "ivr")
    connected = [a[-1] for a in agents if "connectedTime" in a[-1]]
    missed = [a[-1] for a in agents if "connectedTime" not in a[-1]]
    created = ms(acds[0][0]["startTime"])
    out = set()
    scheduled = first.get("callbackScheduledTime")
    out.add("scheduled" if scheduled and ms(scheduled) > created else "immediate")
    if scheduled and ms(scheduled) <= created:
        out.add("scheduled-now")
    if any(f[-1]["disconnectType"] == "transfer" for f in flows):
        out.add("ivr")  # the flow the callback was requested in hands over
    if "outboundPreview" in first:
        out.add("preview")
    if first["purpose"] == "external" and first["externalCampaign"] is True:
        out.add("external")
    for name in ("attributes", "script"):
        if name in first and name in acds[0][0]:
            out.add(name)
    scored = acds[0][0]["conversationRoutingData"].get("scoredAgents")
    if scored:
        (entry,) = scored
        out.add("agent-owned" if entry["score"] == 100 else "self-scheduled")
    dialled = [s for s in customer if s["state"] == "dialing"]
    answered = "connectedTime" in final
    if dialled:
        out.add("customer-first")
    if len(dialled) > 1:
        out.add("dial-retry")
    if dialled and not answered:
        out.add("unreachable")
    if dialled and answered and not agents and final["disconnectType"] == "system":
        out.add("answering-machine")  # hung up on, or sent to a flow
    if "agent-owned" in out:
        if any("scoredAgents" not in s["conversationRoutingData"] for s in acds[0]):
            out.add("ownership-requeued")
        elif not agents and final["disconnectType"] == "system":
            out.add("ownership-expired")
    if not answered and not dialled:
        out.add("cancelled")
    elif answered and not connected and agents and final["disconnectType"] == "system":
        out.add("given-up")
    elif answered and not connected and final["disconnectType"] == "endpoint":
        out.add("abandoned")
    if any(a["disconnectType"] == "system" for a in missed):
        out.add("timeout")
    if any(a["disconnectType"] == "client" for a in missed):
        out.add("decline")
    if connected:
        out.add("accepted")
    if any(s.get("held") is True for s in snapshots(lc)):
        out.add("hold")
    if any(s["state"] == "parked" for s in snapshots(lc)):
        out.add("park")
    if any(a["disconnectType"] == "transfer" for a in connected):
        out.add("transfer")
    if len({s.get("callbackScheduledTime") for s in customer}) > 1:
        out.add("rescheduled")
    if connected and connected[-1]["disconnectType"] == "system":
        out.add("auto-dial")
    for kind, path in (("error", "error"), ("transport.failure", "transport-failure")):
        if any(a["disconnectType"] == kind and "errorInfo" in a for a in connected):
            out.add(path)
    for a in connected:
        wrapup = a.get("wrapup")
        if "startAcwTime" not in a:
            out.add("no-wrapup")
        elif a.get("wrapupSkipped") is True and wrapup is None:
            out.add("wrapup-skipped")
        elif wrapup and wrapup["code"] == TIMEOUT_CODE:
            out.add("wrapup-timeout")
        elif wrapup and wrapup.get("code") and wrapup["endTime"] == a["endAcwTime"]:
            out.add("wrapup-applied")
    return out


def visible(plan: Plan) -> frozenset[str]:
    """The plan's paths that its snapshots can show."""
    return plan.paths - plan.unseen


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
        purpose = e.participant["purpose"]
        role, before = ROLE.get(purpose, purpose), states.get(e.participant_id)
        after = e.participant["state"]
        targets = {
            t
            for t in allowed(role, before).values()
            if wire_state(t, profile.pre_routing_state) == after
        }
        assert len(targets) == 1, (role, before, after)
        states[e.participant_id] = targets.pop()
    assert set(states.values()) <= FINAL
    assert list(lc.finals()) == list(dict.fromkeys(e.participant_id for e in events))
    # The cast: one customer, a queue leg per visit, an agent leg per offer, a flow or two.
    finals = lc.finals().values()
    purposes = collections.Counter(s["purpose"] for s in finals)
    assert set(purposes) <= {*CUSTOMER, "acd", "agent", "ivr"}
    assert purposes["customer"] + purposes["external"] == 1
    assert 1 <= purposes["acd"] <= 3
    assert purposes["ivr"] <= 2
    # Each offer is a new agent participant: the plan's offers, and one per later queue visit.
    plan = lc.plan
    extra = plan.transfer + plan.reschedule if plan.ending == "completed" else 0
    assert purposes["agent"] == len(plan.offers) + extra
    assert lc.conversation_id not in lc.finals()
    assert_timing(lc, edition, profile)
    assert_variants(lc, profile)
    # The plan's paths are exactly what the events show (bar what no snapshot can show).
    assert observed_paths(lc) == visible(plan)
    # The wire form is JSON and carries the same time.
    wire = orjson.loads(orjson.dumps(lc.to_wire()))
    assert [w["time"] for w in wire] == [format_epoch_ms(e.time_ms) for e in events]
    assert [w["sequence"] for w in wire] == [e.sequence for e in events]


def assert_timing(lc: Lifecycle, edition: Edition, profile: Profile) -> None:
    customer = customer_of(lc)[-1]
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
    # The queue leg ends "transfer" at the very millisecond its agent connects (or a flow takes
    # the call from it).
    connected = [a for a in agents if "connectedTime" in a]
    transferred = [q for q in acds if q.get("disconnectType") == "transfer"]
    flows = by_purpose(lc, "ivr")
    to_flow = [f for f in flows if f["startTime"] == customer.get("connectedTime")]
    assert len(transferred) == len(connected) + len(to_flow)
    for agent in connected:
        (acd,) = [q for q in transferred if q["endTime"] == agent["connectedTime"]]
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
    # The customer joined when the conversation started: in the flow, if the callback was
    # requested in one, which hands over at the moment the callback is created.
    assert lc.events[0].time_ms == START_MS
    assert ms(customer["startTime"]) == START_MS
    for flow in flows:
        if flow in to_flow:  # an answering machine sent to a flow, which ends the call
            assert flow["endTime"] == customer["endTime"]
        else:
            assert flow["startTime"] == customer["startTime"]
            assert (flow["disconnectType"], flow["endTime"]) == ("transfer", acds[0]["startTime"])
    # The customer's leg ends last of the calls.
    for snap in lc.finals().values():
        assert ms(snap["startTime"]) >= START_MS
        if snap["purpose"] not in CUSTOMER:
            assert ms(snap["endTime"]) <= ms(customer["endTime"])
    # Every queue leg of a callback scheduled for later is routed 1..60 s after its scheduled
    # time (or cancelled before it); one scheduled at or before its creation is routed at once.
    for acd in acds:
        scheduled = acd.get("callbackScheduledTime")
        if scheduled is None:
            continue
        if ms(scheduled) > ms(acd["startTime"]):
            if "connectedTime" in acd:
                delay = ms(acd["connectedTime"]) - ms(scheduled)
                assert profile.route_delay_min_ms <= delay <= profile.route_delay_max_ms
            else:
                assert ms(acd["endTime"]) < ms(scheduled)
        else:
            assert acd["connectedTime"] == acd["startTime"]
    first_scheduled = customer_of(lc)[0].get("callbackScheduledTime")
    if first_scheduled and ms(first_scheduled) > ms(acds[0]["startTime"]):
        assert ms(first_scheduled) >= ms(acds[0]["startTime"]) + profile.schedule_min_s * 1000


def assert_variants(lc: Lifecycle, profile: Profile) -> None:
    """The facts of each variant that its snapshots show, beyond `observed_paths`."""
    plan = lc.plan
    customer_legs = customer_of(lc)
    customer = customer_legs[-1]
    acd_legs = legs(lc, "acd")
    agents = by_purpose(lc, "agent")
    connected = [a for a in agents if "connectedTime" in a]
    ids = set(lc.finals())
    # The queue legs' peer is the customer's callback communication: one id, no participant's.
    peers = {acd[0]["peer"] for acd in acd_legs}
    assert len(peers) == 1
    assert not peers & ids
    assert lc.conversation_id not in peers
    # Every queue leg has its own routing data, for its own queue.
    for acd in acd_legs:
        routing = acd[0]["conversationRoutingData"]
        assert routing["queue"]["id"] == acd[0]["queue"]["id"]
    # A leg created at a transfer is placed at once (no callbackScheduledTime); one created at a
    # manual reschedule waits for its own, later, scheduled time.
    for acd in acd_legs[1:]:
        scheduled = acd[0].get("callbackScheduledTime")
        if acd[0]["state"] == "connected":
            assert scheduled is None
        else:
            assert ms(scheduled) > ms(acd[0]["startTime"])
    # externalCampaign: only an externally dialled preview, whose customer's purpose is external.
    assert customer["externalCampaign"] is (customer["purpose"] == "external")
    if customer["externalCampaign"]:
        assert "outboundPreview" in customer
    # Attributes and script are set at creation, on the customer and queue legs alike.
    for name in ("attributes", "script"):
        assert (name in customer_legs[0]) is (name in acd_legs[0][0])
        assert all(s.get(name) == customer_legs[0].get(name) for s in customer_legs)
    # The agent who keeps the callback: an owner is offered it alone (until a re-queue), a
    # self-scheduled callback goes to its agent first.
    scored = acd_legs[0][0]["conversationRoutingData"].get("scoredAgents")
    if plan.routing == "owned":
        assert scored is not None
        (entry,) = scored
        assert entry["score"] == 100
        requeued = [
            e.time_ms
            for e in lc.events
            if e.participant["purpose"] == "acd"
            and "scoredAgents" not in e.participant["conversationRoutingData"]
        ]
        routed = ms(acd_legs[0][-1].get("connectedTime") or acd_legs[0][0]["startTime"])
        expiry = routed + int(profile.ownership_expiry_s * 1000)
        if plan.ownership == "requeued":
            assert requeued[0] == expiry
        if plan.ownership == "expired":
            assert ms(acd_legs[0][-1]["endTime"]) == expiry
        for agent in agents[: len(plan.offers)]:  # the first queue visit's offers
            if not requeued or ms(agent["startTime"]) < requeued[0]:
                assert agent["user"]["id"] == entry["agent"]["id"]
    elif plan.routing == "self":
        (entry,) = scored
        assert entry["score"] == profile.preferred_agent_score
        if agents:  # not cancelled
            assert agents[0]["user"]["id"] == entry["agent"]["id"]
    else:
        assert scored is None
    # Customer First: dialled before any agent; attempts a retry delay apart, no more than allowed.
    dials = [e for e in lc.events if e.participant["id"] == customer["id"]]
    dialled = [e.time_ms for e in dials if e.participant["state"] == "dialing"]
    assert len(dialled) <= max(int(profile.max_dial_retries), 1) + 1
    for a, b in itertools.pairwise(dialled):
        assert b - a >= profile.dial_retry_delay_s * 1000
    if dialled and agents:
        assert min(ms(a["startTime"]) for a in agents) >= ms(customer["connectedTime"])
    # Given up: the system ends the callback after max_offers missed offers.
    if plan.ending == "given-up":
        assert len(agents) >= int(profile.max_offers)
        assert not connected
    # Auto-dial: the call starts autoDialDelaySeconds after the agent connects, and the system
    # ends the callback autoEndDelaySeconds after it.
    if plan.auto_dial:
        last = connected[-1]
        delays = (profile.auto_dial_delay_s + profile.auto_end_delay_s) * 1000
        assert ms(last["endTime"]) - ms(last["connectedTime"]) >= delays
    # A manual reschedule: the customer's callbackScheduledTime moves to the new queue leg's.
    times = [s.get("callbackScheduledTime") for s in customer_legs]
    if plan.reschedule:
        assert times[-1] == acd_legs[1][0]["callbackScheduledTime"]
    # Wrap-up follows the prompt, the same on every agent leg of the conversation.
    assert {a["wrapupPrompt"] for a in agents} <= {plan.prompt}
    for agent in agents:
        prompt = agent["wrapupPrompt"]
        assert prompt in PROMPTS
        assert ("wrapupTimeoutMs" in agent) is (prompt in TIMED)
    for agent in connected:
        prompt, wrapup = agent["wrapupPrompt"], agent.get("wrapup")
        if "startAcwTime" not in agent:
            assert agent["wrapupRequired"] is False
            assert prompt == "agentRequested"
            continue
        assert agent["wrapupRequired"] is True
        acw = ms(agent["endAcwTime"]) - ms(agent["startAcwTime"])
        if agent.get("wrapupSkipped"):
            assert prompt == "optional"
            continue
        assert wrapup is not None
        assert wrapup["endTime"] == agent["endAcwTime"]
        if wrapup["code"] == TIMEOUT_CODE or prompt == "forcedTimeout":
            assert prompt in TIMED
            assert acw == agent["wrapupTimeoutMs"]
        elif prompt in TIMED:
            assert acw < agent["wrapupTimeoutMs"]


def run(seed: int, edition: Edition = SEED, **kwargs: Any) -> Lifecycle:
    kwargs.setdefault("start_ms", START_MS)
    return simulate(RandomChooser(seed), edition=edition, **kwargs)


def wire_bytes(lc: Lifecycle) -> bytes:
    return orjson.dumps(lc.to_wire())


@pytest.mark.parametrize("edition", BOTH)
def test_seeded_lifecycles_keep_every_promise(edition: Edition) -> None:
    seen: set[str] = set()
    for seed in range(300):
        lc = run(seed, edition)
        assert_lifecycle(lc, edition)
        seen |= lc.plan.paths
    # The default profile reaches every path by itself but the rarest (each a fraction of a
    # percent: see test_each_variant_comes_at_its_profile_rate).
    expected = set(PATHS) - ({"park"} if edition is SEED else set())
    rare = {"given-up", "unreachable", "ownership-expired", "ownership-requeued", "external"}
    assert expected - rare <= seen, sorted(expected - seen)


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
        assert path in observed_paths(lc) | lc.plan.unseen
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


@pytest.mark.slow
def test_every_compatible_pair_of_paths_can_be_required_together() -> None:
    pairs = _compatible_pairs()
    assert len(pairs) > 300
    for a, b in pairs:
        for seed in range(2):
            lc = run(seed, SDK, require=[a, b])
            assert {a, b} <= observed_paths(lc) | lc.plan.unseen, (a, b, seed)
            assert_lifecycle(lc, SDK)


def test_a_busy_conversation() -> None:
    """Everything at once: a flow, a schedule, missed offers, holds, a park, a reschedule and a
    transfer."""
    require = ["ivr", "scheduled", "preview", "timeout", "decline", "hold", "park", "transfer"]
    require += ["rescheduled", "attributes", "script"]
    for seed in range(10):
        lc = run(seed, SDK, require=[*require, "wrapup-applied", "transport-failure"])
        assert_lifecycle(lc, SDK)
        assert len(by_purpose(lc, "acd")) == 3
        assert len(by_purpose(lc, "agent")) >= 5
        first, second, last = [a for a in by_purpose(lc, "agent") if "connectedTime" in a]
        assert first["disconnectType"] == "client"  # and rescheduled the callback
        assert second["disconnectType"] == "transfer"
        assert last["disconnectType"] == "transport.failure"
        assert last["errorInfo"]["code"]


# -- each variant ----------------------------------------------------------------------------------


def test_cancelled_and_abandoned_callbacks() -> None:
    lc = run(1, SDK, require=["cancelled"])
    customer, acd = customer_of(lc)[-1], by_purpose(lc, "acd")[0]
    assert (customer["disconnectType"], acd["disconnectType"]) == ("client", "system")
    assert not by_purpose(lc, "agent")
    states = {e.participant["state"] for e in lc.events if e.participant["purpose"] != "ivr"}
    assert states == {"none", "disconnected"}  # "none": the default pre_routing_state

    lc = run(2, SDK, require=["abandoned"])
    customer, acd = customer_of(lc)[-1], by_purpose(lc, "acd")[0]
    assert customer["endTime"] == acd["endTime"]
    assert (customer["disconnectType"], acd["disconnectType"]) == ("endpoint", "system")


def test_preview_and_external_dialing() -> None:
    previews = [run(seed, SDK, require=["preview"]) for seed in range(40)]
    for lc in previews:
        customer = customer_of(lc)[-1]
        assert {"campaignId", "contactListId", "contactId"} <= set(customer["outboundPreview"])
    # externalCampaign marks external dialing, not every preview.
    external = [customer_of(lc)[-1]["externalCampaign"] for lc in previews]
    assert True in external
    assert False in external
    for lc in (run(seed, SDK, require=["external"]) for seed in range(5)):
        customer = customer_of(lc)[-1]
        assert (customer["purpose"], customer["externalCampaign"]) == ("external", True)
        assert "outboundPreview" in customer


def test_immediate_and_scheduled_now() -> None:
    lc = run(
        4, SDK, require=["immediate"], profile=DEFAULT.with_overrides({"elapsed_schedule_share": 0})
    )
    assert all("callbackScheduledTime" not in s for s in snapshots(lc))
    for seed in range(10):
        lc = run(seed, SDK, require=["scheduled-now"])
        customer, acd = customer_of(lc)[0], by_purpose(lc, "acd")[0]
        scheduled = ms(customer["callbackScheduledTime"])
        created = ms(acd["startTime"])
        assert created - DEFAULT.elapsed_schedule_max_s * 1000 <= scheduled <= created
        assert acd["connectedTime"] == acd["startTime"]  # placed at once


def test_ivr_callbacks_start_the_customer_with_the_conversation() -> None:
    for seed in range(10):
        lc = run(seed, SDK, require=["ivr"])
        (flow,) = by_purpose(lc, "ivr")
        customer = customer_of(lc)
        assert customer[0]["startTime"] == flow["startTime"] == format_epoch_ms(START_MS)
        # ... while its first snapshot comes when the flow hands over.
        first = next(e for e in lc.events if e.participant_id == customer[0]["id"])
        assert first.time_ms == ms(flow["endTime"])


def test_agent_owned_callbacks() -> None:
    kept = DEFAULT.with_overrides({"owner_misses_probability": 0})
    for seed in range(10):
        lc = run(seed, SDK, require=["agent-owned", "accepted"], profile=kept)
        acd = legs(lc, "acd")[0][0]
        (entry,) = acd["conversationRoutingData"]["scoredAgents"]
        assert entry["score"] == 100
        assert set(entry["agent"]) == {"id", "selfUri"}
        offered = by_purpose(lc, "agent")[: len(lc.plan.offers)]  # later queue visits aside
        assert {a["user"]["id"] for a in offered} == {entry["agent"]["id"]}
    day = 86_400_000
    lc = run(1, SDK, require=["ownership-expired"])
    acd, customer = by_purpose(lc, "acd")[0], customer_of(lc)[-1]
    assert not by_purpose(lc, "agent")
    assert ms(acd["endTime"]) - ms(acd["connectedTime"]) == day
    assert (acd["disconnectType"], customer["disconnectType"]) == ("system", "system")
    assert customer["endTime"] == acd["endTime"]
    lc = run(2, SDK, require=["ownership-requeued", "accepted"])
    (acd,) = legs(lc, "acd")[:1]
    requeued = [s for s in acd if "scoredAgents" not in s["conversationRoutingData"]]
    assert requeued
    assert requeued[0]["state"] == "connected"
    requeue_at = next(e.time_ms for e in lc.events if e.participant is requeued[0])
    assert requeue_at - ms(acd[-1]["connectedTime"]) == day
    assert all(ms(a["startTime"]) > requeue_at for a in by_purpose(lc, "agent"))


def test_self_scheduled_callbacks_go_to_their_agent_first() -> None:
    for seed in range(10):
        lc = run(seed, SDK, require=["self-scheduled", "timeout", "accepted"])
        assert "scheduled" in lc.plan.paths
        (entry,) = legs(lc, "acd")[0][0]["conversationRoutingData"]["scoredAgents"]
        assert entry["score"] == DEFAULT.preferred_agent_score
        first, *others = by_purpose(lc, "agent")
        assert first["user"]["id"] == entry["agent"]["id"]
        assert others  # missed: the next available agent gets it


def test_customer_first_dials_retries_and_meets_machines() -> None:
    for seed in range(10):
        lc = run(seed, SDK, require=["dial-retry", "accepted"])
        customer = customer_of(lc)
        states = [s["state"] for s in customer]
        assert states[: states.index("connected")].count("dialing") >= 2
        assert "none" in states[: states.index("connected")]  # waiting between attempts
    reactions = collections.Counter()
    for seed in range(30):
        lc = run(seed, SDK, require=["answering-machine"])
        reactions[lc.plan.machine_reaction] += 1
        customer = customer_of(lc)[-1]
        flows = [f for f in by_purpose(lc, "ivr") if f["startTime"] == customer["connectedTime"]]
        if lc.plan.machine_reaction == "hang-up":
            assert not by_purpose(lc, "agent")
            assert 1_000 <= ms(customer["endTime"]) - ms(customer["connectedTime"]) <= 5_000
        elif lc.plan.machine_reaction == "transfer-to-flow":
            (flow,) = flows
            assert flow["endTime"] == customer["endTime"]
        else:  # sent on to an agent, like a live answer
            assert by_purpose(lc, "agent")
            assert not flows
    assert set(reactions) == {"hang-up", "transfer-to-queue", "transfer-to-flow"}
    lc = run(3, SDK, require=["unreachable"])
    customer = customer_of(lc)
    assert [s["state"] for s in customer].count("dialing") == 3  # max_dial_retries 2, + 1
    assert "connectedTime" not in customer[-1]
    assert customer[-1]["disconnectType"] == "system"


def test_given_up_after_the_last_offer() -> None:
    for seed in range(5):
        lc = run(seed, SDK, require=["given-up"])
        agents = by_purpose(lc, "agent")
        assert len(agents) == DEFAULT.max_offers
        assert all("connectedTime" not in a for a in agents)
        customer, acd = customer_of(lc)[-1], by_purpose(lc, "acd")[0]
        assert (customer["disconnectType"], acd["disconnectType"]) == ("system", "system")
        assert ms(customer["endTime"]) >= max(ms(a["endTime"]) for a in agents)


def test_a_manual_reschedule_after_no_answer() -> None:
    for seed in range(10):
        lc = run(seed, SDK, require=["rescheduled"])
        first, second = legs(lc, "acd")[:2]
        agent = by_purpose(lc, "agent")[len(lc.plan.offers) - 1]
        # The agent hangs up, and a new queue leg waits for the new time from that moment.
        assert second[0]["startTime"] == agent["endTime"]
        assert second[0]["state"] == "none"
        new_time = second[0]["callbackScheduledTime"]
        assert ms(new_time) >= ms(agent["endTime"]) + DEFAULT.schedule_min_s * 1000
        times = [s.get("callbackScheduledTime") for s in customer_of(lc)]
        assert times[-1] == new_time
        assert first[-1]["disconnectType"] == "transfer"


def test_auto_dial_and_auto_end() -> None:
    for seed in range(10):
        lc = run(seed, SDK, require=["auto-dial", "hold"])
        last = [a for a in by_purpose(lc, "agent") if "connectedTime" in a][-1]
        assert last["disconnectType"] == "system"
        # Holds fall in the call, which starts when the queue dials.
        holds = [ms(s["startHoldTime"]) for s in snapshots(lc) if s.get("held") is True]
        assert min(holds) > ms(last["connectedTime"]) + DEFAULT.auto_dial_delay_s * 1000


def test_attributes_and_script_are_set_at_creation() -> None:
    for seed in range(5):
        lc = run(seed, SDK, require=["attributes", "script", "transfer"])
        customer = customer_of(lc)[0]
        assert customer["attributes"]
        assert set(customer["attributes"]) <= {
            "reason",
            "crmCaseId",
            "language",
            "customerTier",
            "orderNumber",
            "preferredTime",
        }
        assert {"id", "name", "selfUri"} <= set(customer["script"])
        for acd in by_purpose(lc, "acd"):
            assert acd["attributes"] == customer["attributes"]


def test_wrapup_follows_the_prompt() -> None:
    for path, prompts in (
        ("wrapup-skipped", {"optional"}),
        ("wrapup-timeout", TIMED),
        ("no-wrapup", {"agentRequested"}),
    ):
        for seed in range(10):
            lc = run(seed, SDK, require=[path])
            assert {a["wrapupPrompt"] for a in by_purpose(lc, "agent")} <= prompts
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


def test_hold_and_park_details() -> None:
    lc = run(5, SDK, require=["hold"])
    holds = [s for s in snapshots(lc) if s.get("held") is True]
    assert holds
    assert all("startHoldTime" in s for s in holds)
    assert all(s.get("held") is not True for s in by_purpose(lc, "agent"))  # released at the end
    lc = run(6, SDK, require=["park"])
    parked = [s for s in snapshots(lc) if s["state"] == "parked"]
    assert parked
    assert all(ms(s["parkTime"]) <= ms(s["resumeTime"]) for s in parked)


# -- rates: each variant at its profile rate ------------------------------------------------------


def _share(plans: list[Plan], test: Any, given: Any = lambda p: True) -> tuple[float, int]:
    among = [p for p in plans if given(p)]
    return sum(bool(test(p)) for p in among) / max(1, len(among)), len(among)


def test_each_variant_comes_at_its_profile_rate() -> None:
    """Each variant's share, among the plans it can happen in, is its parameter (within four
    standard errors of 12,000 draws)."""
    pr = DEFAULT
    plans = [plan_lifecycle(RandomChooser(seed), pr, edition=SDK) for seed in range(12_000)]
    cf = lambda p: bool(p.dials)  # noqa: E731
    queue_routed = lambda p: p.routing == "queue" and not p.preview  # noqa: E731
    served = lambda p: p.ending == "completed"  # noqa: E731
    weights = dict(mix_weights(pr.wrapup_prompt))
    unanswered = (1 - pr.dial_answer_probability) ** (int(pr.max_dial_retries) + 1)
    cases = [
        ("scheduled", lambda p: p.scheduled, lambda p: True, pr.scheduled_share),
        ("agent-owned", lambda p: p.routing == "owned", lambda p: True, pr.agent_owned_share),
        (
            "self-scheduled",
            lambda p: p.routing == "self",
            lambda p: p.scheduled and p.routing != "owned",
            pr.self_scheduled_share,
        ),
        (
            "scheduled-now",
            lambda p: p.elapsed_schedule,
            lambda p: not p.scheduled,
            pr.elapsed_schedule_share,
        ),
        ("ivr", lambda p: p.ivr, lambda p: p.routing == "queue", pr.ivr_share),
        ("preview", lambda p: p.preview, lambda p: p.routing == "queue", pr.preview_share),
        ("external", lambda p: p.external, lambda p: p.preview, pr.external_dialing_share),
        ("attributes", lambda p: p.attributes, lambda p: True, pr.attributes_share),
        ("script", lambda p: p.script, lambda p: True, pr.script_share),
        (
            "customer-first",
            cf,
            lambda p: queue_routed(p) and p.ending != "cancelled",
            pr.customer_first_share,
        ),
        ("dial-retry", lambda p: len(p.dials) > 1, cf, 1 - pr.dial_answer_probability),
        ("unreachable", lambda p: p.ending == "unreachable", cf, unanswered),
        (
            "answering-machine",
            lambda p: "machine" in p.dials,
            lambda p: cf(p) and p.dials[-1] != "no-answer",
            pr.answering_machine_probability,
        ),
        (
            "ownership missed",
            lambda p: p.ownership != "kept",
            lambda p: p.routing == "owned" and p.ending != "cancelled",
            pr.owner_misses_probability,
        ),
        (
            "ownership-requeued",
            lambda p: p.ownership == "requeued",
            lambda p: p.ownership != "kept",
            pr.ownership_requeue_probability,
        ),
        (
            "given-up",
            lambda p: p.ending == "given-up",
            lambda p: p.ending in ("completed", "given-up"),
            (1 - pr.accept_probability) ** int(pr.max_offers),
        ),
        (
            "rescheduled",
            lambda p: p.reschedule,
            lambda p: served(p) and not cf(p),
            pr.reschedule_probability,
        ),
        ("auto-dial", lambda p: p.auto_dial, lambda p: served(p) and not cf(p), pr.auto_dial_share),
        *[
            (
                f"prompt {prompt}",
                lambda p, prompt=prompt: p.prompt == prompt,
                served,
                weight / sum(weights.values()),
            )
            for prompt, weight in weights.items()
        ],
        (
            "no-wrapup",
            lambda p: p.wrapup == "none",
            lambda p: served(p) and p.prompt == "agentRequested",
            1 - pr.acw_request_probability,
        ),
        (
            "wrapup-skipped",
            lambda p: p.wrapup == "skipped",
            lambda p: served(p) and p.prompt == "optional",
            pr.wrapup_skip_probability,
        ),
        (
            "wrapup-timeout",
            lambda p: p.wrapup == "timeout",
            lambda p: served(p) and p.prompt in ("timeout", "forcedTimeout"),
            pr.wrapup_timeout_probability,
        ),
    ]
    for name, test, among, rate in cases:
        share, n = _share(plans, test, among)
        assert n > 100, name
        error = math.sqrt(rate * (1 - rate) / n)
        assert abs(share - rate) <= 4 * error + 1e-9, (name, share, rate, n)
    # Mandatory wrap-up is never skipped nor timed out; optional never times out.
    for plan in plans:
        if plan.ending == "completed":
            assert (plan.prompt, plan.wrapup) not in {
                ("mandatory", "skipped"),
                ("mandatory", "timeout"),
                ("mandatory", "none"),
                ("optional", "timeout"),
                ("optional", "none"),
            }


# -- conflicting requirements ---------------------------------------------------------------------


CONFLICTS = [
    (["park"], SEED, "park exists only in the sdk-269 edition"),
    (["scheduled", "immediate"], SDK, "either scheduled or immediate"),
    (["cancelled", "hold"], SDK, r"\['cancelled'\] cannot be combined with \['hold'\]"),
    (["abandoned", "accepted"], SDK, "cannot be combined"),
    (["abandoned", "wrapup-applied"], SDK, "cannot be combined"),
    (["cancelled", "abandoned"], SDK, "cannot be combined"),
    (["given-up", "accepted"], SDK, "cannot be combined"),
    (["unreachable", "ownership-expired"], SDK, "cannot be combined"),
    (["cancelled", "immediate"], SDK, "only a scheduled callback can be cancelled"),
    (["cancelled", "timeout"], SDK, "a cancelled callback is never offered"),
    (["wrapup-applied", "no-wrapup"], SDK, "only one wrap-up outcome"),
    (["error", "transport-failure"], SDK, "error or a transport failure, not both"),
    (["scheduled-now", "scheduled"], SDK, "scheduled-now is placed at once"),
    (["self-scheduled", "immediate"], SDK, "to themselves for later"),
    (["self-scheduled", "agent-owned"], SDK, "two ways an agent keeps a callback"),
    (["ownership-expired", "ownership-requeued"], SDK, "a removal or a re-queue, not both"),
    (["ownership-expired", "decline"], SDK, "was never offered"),
    (["ownership-requeued", "cancelled"], SDK, "its ownership never expires"),
    (["agent-owned", "ivr"], SDK, "come from an agent, not from a flow"),
    (["customer-first", "preview"], SDK, r"Customer First\) cannot be combined with \['preview'\]"),
    (["dial-retry", "rescheduled"], SDK, "the customer is dialled before any agent"),
    (["unreachable", "timeout"], SDK, "never answers"),
    (["auto-dial", "error"], SDK, "ends by its auto-end"),
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


def test_the_simplest_chooser_gives_the_simplest_plan() -> None:
    assert plan_lifecycle(MinimalChooser()) == Plan()
    # Wrap-up as observed: the optional prompt, wrapupRequired on the accepted leg, a code.
    assert Plan().paths == {"immediate", "accepted", "wrapup-applied"}
    lc = simulate(MinimalChooser(), start_ms=START_MS)
    assert_lifecycle(lc, SEED)
    assert [(e.participant["purpose"], e.participant["state"]) for e in lc.events] == [
        ("customer", "connected"),
        ("acd", "connected"),
        ("agent", "alerting"),
        ("agent", "connected"),
        ("acd", "disconnected"),
        ("agent", "disconnected"),
        ("customer", "disconnected"),
        ("agent", "terminated"),
    ]
    agent = by_purpose(lc, "agent")[0]
    assert (agent["wrapupPrompt"], agent["wrapupRequired"]) == ("optional", True)


def test_participant_ids_are_distinct_even_when_every_draw_is_the_same() -> None:
    plan = Plan(ivr=True, offers=("timeout", "decline", "accept"), transfer=True)
    lc = simulate(MinimalChooser(), plan=plan, edition=SDK, start_ms=START_MS)
    assert_lifecycle(lc, SDK)
    ids = [snap["id"] for snap in lc.finals().values()]
    assert len(ids) == len(set(ids)) == 1 + 2 + 4 + 1  # customer, 2 queues, 4 agents, ivr
    # The queue legs' peer: the customer's callback communication, an id of its own.
    peers = {acd["peer"] for acd in by_purpose(lc, "acd")}
    assert len(peers) == 1
    assert not peers & {*ids, lc.conversation_id}


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
    assert path in observed_paths(lc) | lc.plan.unseen
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
        if key == "attributes":  # free text, whatever its keys are called
            return value
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
    assert len(smallest.events) <= 8
    assert len(smallest.finals()) <= 3
    assert smallest.plan.paths <= {"immediate", "scheduled", "accepted", "wrapup-applied"} | {
        "cancelled"
    }


@pytest.mark.slow
def test_strategy_shrinks_a_served_conversation_to_the_simplest_one() -> None:
    smallest = find(lifecycles(), lambda lc: "accepted" in lc.plan.paths)
    assert smallest.plan == Plan()
    assert len(smallest.events) == 8


@pytest.mark.slow
def test_strategy_shrinks_a_hold_to_one_hold() -> None:
    smallest = find(lifecycles(paths=["hold"]), lambda lc: True)
    assert smallest.plan.holds == 1
    assert smallest.plan.paths == {"immediate", "accepted", "hold", "wrapup-applied"}


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
