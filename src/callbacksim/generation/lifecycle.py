"""Simulated callback conversations: participants and the timestamped snapshots Genesys would show.

A lifecycle is one callback conversation: a customer leg, a queue (``acd``) leg, one new agent leg
per offer, optionally an ``ivr`` leg, and the stream of snapshot events for them. Each event is
(time, conversation id, participant id, sequence number of that participant from 1, the
participant's whole snapshot after the change). Every snapshot satisfies every validity rule, and
the last snapshot of each participant is its final state.

What happens is decided first, as a `Plan` (drawn from the realism `Profile`, or with chosen paths
forced), then played out step by step through the state machine (`callbacksim.generation.machine`),
which refuses any transition its table lacks. Timestamps follow the observed facts: the queue leg
ends with ``transfer`` at the very millisecond the agent connects; after-call work starts at the
agent's ``endTime``; a timed-out offer ends ``alertingTimeoutMs`` plus about 100 ms after alerting.

Everything is drawn through a `Chooser`, so the same code makes seeded bulk streams and shrinking
Hypothesis examples. Time comes only from ``start_ms`` and the draws: the same seed, profile and
start give the same lifecycle, byte for byte.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Iterator
from statistics import NormalDist
from typing import Any, Literal

import attrs

from callbacksim.errors import UsageError
from callbacksim.generation import vocab
from callbacksim.generation.chooser import Chooser
from callbacksim.generation.machine import step, wire_state
from callbacksim.generation.participants import preview_payload
from callbacksim.generation.population import Population, default_population
from callbacksim.generation.profile import DEFAULT, Profile
from callbacksim.model import Edition
from callbacksim.rules import timestamps
from callbacksim.wiretime import format_epoch_ms

__all__ = [
    "PATHS",
    "AgentEnd",
    "Ending",
    "Event",
    "Lifecycle",
    "LifecycleStream",
    "OfferOutcome",
    "Plan",
    "WrapupOutcome",
    "lifecycles_from_events",
    "path_conflicts",
    "plan_lifecycle",
    "simulate",
    "stream_lifecycles",
]

PATHS: dict[str, str] = {
    "scheduled": "the callback is scheduled for later (callbackScheduledTime in the future)",
    "immediate": "the callback is placed at once",
    "ivr": "the callback was requested in an IVR flow (an ivr participant hands over)",
    "preview": "a preview campaign callback (outboundPreview, skipEnabled, timeoutSeconds)",
    "accepted": "an agent accepts an offer and talks to the customer",
    "timeout": "an offer times out (system) and goes to a new agent participant",
    "decline": "an agent declines an offer (client)",
    "hold": "the agent puts the call on hold and takes it off",
    "park": "the agent parks the call and it resumes (sdk-269 edition only)",
    "transfer": "the agent transfers the call to another queue, where a new agent takes it",
    "error": "the agent leg ends in an error (errorInfo, disconnectType error)",
    "transport-failure": "the agent leg ends in a transport failure (errorInfo)",
    "wrapup-applied": "the agent applies a wrap-up code after the call",
    "wrapup-skipped": "the agent skips wrap-up",
    "wrapup-timeout": "wrap-up is required and forced by its timeout",
    "no-wrapup": "no wrap-up is required",
    "cancelled": "the scheduled callback is cancelled before it is routed",
    "abandoned": "the customer leaves while the callback waits for an agent",
}
"""Every path a lifecycle can take, by name; any of them can be required."""

Ending = Literal["completed", "cancelled", "abandoned"]
"""How a callback ends: served by an agent, cancelled before it is routed, or abandoned while it
waits for an agent."""
OfferOutcome = Literal["accept", "decline", "timeout"]
"""What an agent does with an offer: accepts it, declines it, or lets it time out."""
AgentEnd = Literal["client", "error", "transport.failure"]
"""How a served agent leg ends, as its ``disconnectType``: the agent hangs up, or it fails."""
WrapupOutcome = Literal["applied", "skipped", "timeout", "none"]
"""What becomes of wrap-up: a code is applied, it is skipped, its timeout forces it, or none is
required."""

_NORMAL = NormalDist()
_WRAPUP_TIMEOUT_CODE = "ININ-WRAP-UP-TIMEOUT"


@attrs.frozen
class Event:
    """One snapshot: a participant's whole state after a change."""

    time_ms: int
    conversation_id: str
    participant_id: str
    sequence: int
    participant: dict[str, Any]

    def to_wire(self) -> dict[str, Any]:
        return {
            "time": format_epoch_ms(self.time_ms),
            "conversationId": self.conversation_id,
            "participantId": self.participant_id,
            "sequence": self.sequence,
            "participant": self.participant,
        }


@attrs.frozen
class Plan:
    """What happens in one lifecycle, decided before it is played out."""

    scheduled: bool = False
    ivr: bool = False
    preview: bool = False
    ending: Ending = "completed"
    offers: tuple[OfferOutcome, ...] = (
        "accept",
    )  # of the first queue visit; last "accept" if served
    holds: int = 0
    park: bool = False
    transfer: bool = False
    agent_end: AgentEnd = "client"
    wrapup: WrapupOutcome = "none"

    @property
    def paths(self) -> frozenset[str]:
        """The names (`PATHS`) of what this plan does."""
        out = {"scheduled" if self.scheduled else "immediate"}
        out |= {name for name, on in (("ivr", self.ivr), ("preview", self.preview)) if on}
        if self.ending != "completed":
            out.add(self.ending)
        out |= {"decline" for o in self.offers if o == "decline"}
        out |= {"timeout" for o in self.offers if o == "timeout"}
        if self.ending == "completed":
            out.add("accepted")
            out |= {"hold"} if self.holds else set()
            out |= {"park"} if self.park else set()
            out |= {"transfer"} if self.transfer else set()
            out |= {"error"} if self.agent_end == "error" else set()
            out |= {"transport-failure"} if self.agent_end == "transport.failure" else set()
            out.add("no-wrapup" if self.wrapup == "none" else f"wrapup-{self.wrapup}")
        return frozenset(out)


@attrs.frozen
class Lifecycle:
    """One simulated callback conversation and its snapshot events, in time order."""

    conversation_id: str
    plan: Plan
    events: tuple[Event, ...]

    def finals(self) -> dict[str, dict[str, Any]]:
        """Each participant's last snapshot, by participant id, in order of first appearance."""
        out: dict[str, dict[str, Any]] = {}
        for event in self.events:
            out[event.participant_id] = event.participant
        return out

    def to_wire(self) -> list[dict[str, Any]]:
        return [e.to_wire() for e in self.events]


def path_conflicts(required: Collection[str], edition: Edition) -> str | None:
    """Why the required paths cannot be played together in ``edition``, or None when they can."""
    r = set(required)
    unknown = r - set(PATHS)
    if unknown:
        return f"unknown path(s) {sorted(unknown)}; choose from {', '.join(PATHS)}"
    if {"scheduled", "immediate"} <= r:
        return "a callback is either scheduled or immediate"
    if "park" in r and "parkTime" not in timestamps(edition):
        return "park exists only in the sdk-269 edition (pass --edition sdk-269)"
    wrapups = r & {"wrapup-applied", "wrapup-skipped", "wrapup-timeout", "no-wrapup"}
    if len(wrapups) > 1:
        return f"only one wrap-up outcome per lifecycle, got {sorted(wrapups)}"
    if len(r & {"error", "transport-failure"}) > 1:
        return "an agent leg ends in an error or a transport failure, not both"
    ends = r & {"cancelled", "abandoned"}
    served = r & {"accepted", "hold", "park", "transfer", "error", "transport-failure"} | wrapups
    if len(ends) > 1 or (ends and served):
        return f"{sorted(ends)} cannot be combined with {sorted(served) or sorted(ends)}"
    if "cancelled" in r and "immediate" in r:
        return "only a scheduled callback can be cancelled before routing"
    if "cancelled" in r and r & {"timeout", "decline"}:
        return "a cancelled callback is never offered to an agent"
    return None


def plan_lifecycle(
    ch: Chooser,
    profile: Profile = DEFAULT,
    *,
    edition: Edition = Edition.SEED,
    require: Collection[str] = (),
) -> Plan:
    """A plan drawn from ``profile``, with every path in ``require`` (names of `PATHS`) taken.

    `UsageError` for paths that cannot go together. A chooser answering 0/False gives the
    simplest plan: an immediate callback, accepted at the first offer, no hold, no wrap-up.
    """
    problem = path_conflicts(require, edition)
    if problem:
        raise UsageError(problem)
    r = set(require)
    chance = ch.chance
    scheduled = "scheduled" in r or ("immediate" not in r and "cancelled" in r)
    if not scheduled and "immediate" not in r:
        scheduled = chance(profile.scheduled_share)
    ivr = "ivr" in r or chance(profile.ivr_share)
    preview = "preview" in r or chance(profile.preview_share)
    served = {"accepted", "hold", "park", "transfer", "error", "transport-failure"}
    served |= {"wrapup-applied", "wrapup-skipped", "wrapup-timeout", "no-wrapup"}
    # A required offer outcome or abandonment rules out a cancellation before routing.
    uncancellable = served | {"timeout", "decline", "abandoned"}
    ending: Ending = "completed"
    if "cancelled" in r or (scheduled and not r & uncancellable and chance(profile.cancel_share)):
        ending = "cancelled" if scheduled else "completed"
    if ending == "completed" and (
        "abandoned" in r or (not r & served and chance(profile.abandon_share))
    ):
        ending = "abandoned"
    if ending == "cancelled":
        return Plan(scheduled=True, ivr=ivr, preview=preview, ending="cancelled", offers=())
    offers = _offers(ch, profile, r, served=ending == "completed")
    if ending == "abandoned":
        return Plan(scheduled=scheduled, ivr=ivr, preview=preview, ending=ending, offers=offers)
    holds = 0
    if "hold" in r or chance(profile.hold_probability):
        holds = ch.between(1, max(1, int(profile.max_holds)))
    park = "parkTime" in timestamps(edition) and ("park" in r or chance(profile.park_probability))
    transfer = "transfer" in r or chance(profile.transfer_probability)
    agent_end: AgentEnd = "client"
    if "error" in r:
        agent_end = "error"
    elif "transport-failure" in r:
        agent_end = "transport.failure"
    elif chance(profile.error_probability):
        agent_end = ch.pick(_FAILURES)
    wrapup = _wrapup_plan(ch, profile, r)
    return Plan(
        scheduled=scheduled,
        ivr=ivr,
        preview=preview,
        offers=offers,
        holds=holds,
        park=park,
        transfer=transfer,
        agent_end=agent_end,
        wrapup=wrapup,
    )


_FAILURES: tuple[AgentEnd, ...] = ("error", "transport.failure")
_MISSED: tuple[OfferOutcome, ...] = ("timeout", "decline")
_WRAPUPS: tuple[WrapupOutcome, ...] = ("applied", "skipped", "timeout")


def _offers(
    ch: Chooser, profile: Profile, r: set[str], *, served: bool
) -> tuple[OfferOutcome, ...]:
    """Outcomes of the offers, in order; the last is "accept" when the callback is served."""
    missed: list[OfferOutcome] = [m for m in _MISSED if m in r]
    limit = max(1, int(profile.max_offers))
    p_accept, p_decline = profile.accept_probability, profile.decline_probability
    # "Missed again" is the rare branch, so a shrinking chooser (False) ends on an accepted offer.
    while len(missed) < limit - 1 and ch.chance(1.0 - p_accept):
        if ch.chance(p_decline / max(1e-9, 1 - p_accept)):
            missed.append("decline")
        else:
            missed.append("timeout")
    if served:
        return (*missed, "accept")
    return tuple(missed)


def _wrapup_plan(ch: Chooser, profile: Profile, r: set[str]) -> WrapupOutcome:
    for name in _WRAPUPS:
        if f"wrapup-{name}" in r:
            return name
    if "no-wrapup" in r or not ch.chance(profile.wrapup_required_probability):
        return "none"
    if ch.chance(profile.wrapup_skip_probability):
        return "skipped"
    if ch.chance(profile.wrapup_timeout_probability):
        return "timeout"
    return "applied"


# -- playing a plan out -------------------------------------------------------------------------


def _uniform(ch: Chooser) -> float:
    return ch.between(0, 1_000_000) / 1_000_000


def _ms_between(ch: Chooser, lo: float, hi: float) -> int:
    return ch.between(int(lo), max(int(lo), int(hi)))


def _lognormal_ms(ch: Chooser, median_s: float, sigma: float) -> int:
    """A log-normal duration in ms; the smallest draw (0) gives the shortest (0.1 percentile)."""
    u = min(max(_uniform(ch), 0.001), 0.999)
    return max(1, int(median_s * 1000 * math.exp(sigma * _NORMAL.inv_cdf(u))))


def _log_uniform_ms(ch: Chooser, lo_s: float, hi_s: float) -> int:
    lo, hi = max(lo_s, 0.001), max(hi_s, lo_s, 0.001)
    return int(1000 * lo * (hi / lo) ** _uniform(ch))


class _Leg:
    """A participant while it is simulated: its state, snapshot and sequence."""

    __slots__ = ("pid", "role", "seq", "snap", "state")

    def __init__(self, role: str, pid: str) -> None:
        self.role = role
        self.pid = pid
        self.state: str | None = None
        self.seq = 0
        self.snap: dict[str, Any] = {}


class _Run:
    def __init__(self, ch: Chooser, cid: str, edition: Edition, pop: Population) -> None:
        self.ch = ch
        self.pop = pop
        self.cid = cid
        times = timestamps(edition)
        self.alerting_time = "startAlertingTime" in times
        self.can_park = "parkTime" in times
        self.events: list[tuple[int, int, Event]] = []
        self.ids = {cid}

    def new_id(self) -> str:
        """A participant id not yet used in this conversation: a shrinking chooser draws the
        same id every time, and two participants must never share one."""
        ident = vocab.entity_id(self.ch)
        while ident in self.ids:
            ident = f"{ident[:-12]}{(int(ident[-12:], 16) + 1) % 16**12:012x}"
        self.ids.add(ident)
        return ident

    def change(self, leg: _Leg, event: str, t: int, **fields: Any) -> None:
        """Take ``event`` at ``t`` (epoch ms): check it, update the snapshot, emit it."""
        leg.state = step(leg.role, leg.pid, leg.state, event)
        snap = dict(leg.snap)
        for key, value in fields.items():
            wire = _WIRE.get(key, key)
            if value is None:
                snap.pop(wire, None)
            else:
                snap[wire] = format_epoch_ms(value) if wire in _TIMES else value
        snap["state"] = wire_state(leg.state)
        leg.snap = snap
        leg.seq += 1
        self.events.append((t, len(self.events), Event(t, self.cid, leg.pid, leg.seq, snap)))


_TIMES = frozenset(k for k in timestamps(Edition.latest()) if "." not in k)
_WIRE = {
    "start": "startTime",
    "alerting": "startAlertingTime",
    "connected": "connectedTime",
    "end": "endTime",
    "hold": "startHoldTime",
    "acw_start": "startAcwTime",
    "acw_end": "endAcwTime",
    "park": "parkTime",
    "resume": "resumeTime",
    "scheduled": "callbackScheduledTime",
    "disconnect": "disconnectType",
}


def simulate(
    ch: Chooser,
    *,
    plan: Plan | None = None,
    profile: Profile = DEFAULT,
    edition: Edition = Edition.SEED,
    start_ms: int,
    population: Population | None = None,
    require: Collection[str] = (),
) -> Lifecycle:
    """One lifecycle from ``start_ms`` (epoch ms): ``plan``, or one drawn with ``require``."""
    pop = population or default_population()
    if plan is None:
        plan = plan_lifecycle(ch, profile, edition=edition, require=require)
    cid = vocab.entity_id(ch)
    run = _Run(ch, cid, edition, pop)
    t = start_ms
    queue = ch.pick(pop.queues)
    customer_name = vocab.person_name(ch)
    numbers = [vocab.e164_number(ch) for _ in range(ch.between(1, 2))]
    preview = preview_payload(ch, pop) if plan.preview else None

    if plan.ivr:
        ivr = _Leg("ivr", run.new_id())
        ivr.snap = {"id": ivr.pid, "name": ch.pick(vocab.FLOWS), "purpose": "ivr"}
        ivr.snap |= {"direction": "inbound", "address": numbers[0], "provider": "Edge"}
        # The conversation starts at start_ms in the flow; the callback is created when it
        # hands over, so no event falls before the injected start.
        entered = t
        t += _lognormal_ms(ch, profile.ivr_median_s, 0.5)
        run.change(ivr, "enter", entered, start=entered, connected=entered)
        run.change(ivr, "transfer", t, end=t, disconnect="transfer")

    common: dict[str, Any] = {
        "provider": "PureCloud Callback",
        "callbackNumbers": numbers,
        "callbackUserName": customer_name,
        "externalCampaign": plan.preview,
        "skipEnabled": plan.preview and ch.chance(0.5),
        "timeoutSeconds": ch.pick((0, 30, 60, 120)) if plan.preview else 0,
    }
    if preview is not None:
        common["outboundPreview"] = preview
    scheduled_at = t + _log_uniform_ms(ch, profile.schedule_min_s, profile.schedule_max_s)
    if plan.scheduled:
        common["callbackScheduledTime"] = format_epoch_ms(scheduled_at)
    customer = _Leg("customer", run.new_id())
    customer.snap = {"id": customer.pid, "name": customer_name, "address": numbers[0]}
    customer.snap |= {"purpose": "customer", "direction": "outbound"} | common
    acd = _Leg("acd", run.new_id())
    acd.snap = {"id": acd.pid, "name": queue["name"], "purpose": "acd", "direction": "outbound"}
    acd.snap |= {"queue": queue, "peer": customer.pid} | common
    acd.snap["conversationRoutingData"] = {
        "queue": {"id": queue["id"], "selfUri": queue["selfUri"]},
        "priority": ch.between(0, 5),
    }

    if plan.scheduled:
        run.change(customer, "create", t, start=t)
        run.change(acd, "create", t, start=t)
        if plan.ending == "cancelled":
            cancel_at = t + ch.between(1, max(1, scheduled_at - t - 1))
            run.change(customer, "cancel", cancel_at, end=cancel_at, disconnect="client")
            run.change(acd, "cancel", cancel_at, end=cancel_at, disconnect="system")
            return _finish(run, cid, plan)
        t = scheduled_at + _ms_between(ch, profile.route_delay_min_ms, profile.route_delay_max_ms)
        run.change(customer, "route", t, connected=t)
        run.change(acd, "route", t, connected=t)
    else:
        run.change(customer, "create-routed", t, start=t, connected=t)
        run.change(acd, "create-routed", t, start=t, connected=t)

    visits = 2 if plan.transfer else 1
    for visit in range(visits):
        offers = plan.offers if visit == 0 else ("accept",)
        t += _lognormal_ms(ch, profile.queue_wait_median_s, profile.queue_wait_sigma)
        agent = None
        for outcome in offers:
            agent, t = _offer(run, ch, pop, profile, queue, outcome, t, acd)
        if agent is None or plan.ending == "abandoned":
            t += _lognormal_ms(ch, profile.queue_wait_median_s, profile.queue_wait_sigma)
            run.change(acd, "abandon", t, end=t, disconnect="system")
            run.change(customer, "abandon", t, end=t, disconnect="endpoint")
            return _finish(run, cid, plan)
        last_visit = visit == visits - 1
        t = _talk(run, ch, profile, plan, agent, t, last_visit=last_visit)
        if not last_visit:
            # Blind transfer to another queue: a new queue leg takes the customer.
            queue = ch.pick(pop.queues)
            acd = _Leg("acd", run.new_id())
            acd.snap = {"id": acd.pid, "name": queue["name"], "purpose": "acd"}
            acd.snap |= {"direction": "outbound", "queue": queue, "peer": customer.pid} | common
            run.change(acd, "create-routed", t, start=t, connected=t)
    end = t + _ms_between(ch, 0, profile.customer_end_delay_max_ms)
    kind = ch.pick(("endpoint", "peer", "client"))
    run.change(customer, "end", end, end=end, disconnect=kind)
    return _finish(run, cid, plan)


def _finish(run: _Run, cid: str, plan: Plan) -> Lifecycle:
    run.events.sort(key=lambda item: (item[0], item[1]))
    return Lifecycle(cid, plan, tuple(e for _, _, e in run.events))


def _offer(
    run: _Run,
    ch: Chooser,
    pop: Population,
    profile: Profile,
    queue: dict[str, Any],
    outcome: OfferOutcome,
    t: int,
    acd: _Leg,
) -> tuple[_Leg | None, int]:
    """One offer to a new agent leg; the leg if it accepted, and the time after the offer."""
    user = ch.pick(pop.agents)
    agent = _Leg("agent", run.new_id())
    timeout = int(profile.alerting_timeout_ms)
    agent.snap = {"id": agent.pid, "name": user["name"], "purpose": "agent"}
    agent.snap |= {"direction": "outbound", "user": user, "queue": queue, "wrapupRequired": False}
    agent.snap |= {"wrapupPrompt": "optional", "alertingTimeoutMs": timeout}
    agent.snap |= {"provider": "PureCloud Callback"}
    alert = t + _ms_between(ch, profile.alert_start_min_ms, profile.alert_start_max_ms)
    run.change(agent, "offer", t, start=t, alerting=alert if run.alerting_time else None)
    if outcome == "timeout":
        end = (
            alert
            + timeout
            + _ms_between(ch, profile.timeout_overrun_min_ms, profile.timeout_overrun_max_ms)
        )
        run.change(agent, "timeout", end, end=end, disconnect="system")
        return None, end + _ms_between(
            ch, profile.requeue_min_s * 1000, profile.requeue_max_s * 1000
        )
    if outcome == "decline":
        end = alert + _ms_between(ch, 1000, min(profile.decline_max_s * 1000, timeout - 1))
        run.change(agent, "decline", end, end=end, disconnect="client")
        return None, end + _ms_between(
            ch, profile.requeue_min_s * 1000, profile.requeue_max_s * 1000
        )
    # Never before alerting, even with alerting_timeout_ms 0.
    answer_cap = max(0, min(profile.accept_max_s * 1000, timeout - 1))
    connected = alert + _ms_between(ch, min(profile.accept_min_s * 1000, answer_cap), answer_cap)
    run.change(agent, "accept", connected, connected=connected)
    # The queue leg ends at the very millisecond the agent connects.
    run.change(acd, "transfer", connected, end=connected, disconnect="transfer")
    return agent, connected


def _talk(
    run: _Run,
    ch: Chooser,
    profile: Profile,
    plan: Plan,
    agent: _Leg,
    t: int,
    *,
    last_visit: bool,
) -> int:
    """The call from connect to the end of after-call work; returns when the agent hung up."""
    talk = _lognormal_ms(ch, profile.talk_median_s, profile.talk_sigma)
    end = t + talk
    events = plan.holds + (1 if plan.park and last_visit else 0)
    slot = max(1, talk // (events + 1))
    cursor = t
    for _ in range(plan.holds):
        start = cursor + ch.between(1, slot)
        length = min(_lognormal_ms(ch, profile.hold_median_s, profile.hold_sigma), slot)
        run.change(agent, "hold", start, hold=start, held=True)
        cursor = start + length
        run.change(agent, "unhold", cursor, hold=None, held=False)
    if plan.park and last_visit and run.can_park:
        parked = cursor + ch.between(1, slot)
        resume = parked + _lognormal_ms(ch, profile.park_median_s, 0.5)
        run.change(agent, "park", parked, park=parked, resume=resume)
        run.change(agent, "resume", resume)
        cursor = resume
    end = max(end, cursor + 1)
    required = plan.wrapup != "none"
    ending: dict[str, Any] = {"end": end, "wrapupRequired": required}
    if required:
        # After-call work starts at the agent's endTime, to the millisecond.
        ending["acw_start"] = end
    if plan.wrapup == "timeout":
        ending["wrapupTimeoutMs"] = int(profile.wrapup_timeout_ms)
    if not last_visit:
        run.change(agent, "transfer", end, disconnect="transfer", **ending)
    elif plan.agent_end == "client":
        run.change(agent, "end", end, disconnect="client", **ending)
    else:
        message, code = vocab.ERRORS[0] if plan.agent_end == "error" else vocab.ERRORS[1]
        run.change(
            agent,
            "fail",
            end,
            disconnect=plan.agent_end,
            errorInfo={"message": message, "code": code},
            **ending,
        )
    if required:
        _after_call(run, ch, profile, plan.wrapup, agent, end)
    return end


def _after_call(
    run: _Run, ch: Chooser, profile: Profile, mode: WrapupOutcome, agent: _Leg, end: int
) -> None:
    timeout = int(profile.wrapup_timeout_ms)
    wrapup: dict[str, Any]
    if mode == "timeout":
        # The system applies its own code when the wrap-up timeout runs out.
        done = end + timeout
        wrapup = {"code": _WRAPUP_TIMEOUT_CODE, "name": _WRAPUP_TIMEOUT_CODE}
        wrapup |= {"durationSeconds": timeout // 1000, "endTime": format_epoch_ms(done)}
        run.change(agent, "wrapup-timeout", done, acw_end=done, wrapup=wrapup)
    elif mode == "skipped":
        done = end + ch.between(500, 5_000)
        run.change(agent, "skip-wrapup", done, acw_end=done, wrapupSkipped=True)
    else:
        done = end + _lognormal_ms(ch, profile.acw_median_s, profile.acw_sigma)
        code, name = ch.pick(run.pop.wrapup_codes)
        wrapup = {"code": code, "name": name}
        if ch.chance(0.4):
            wrapup["notes"] = ch.pick(vocab.NOTES)
        wrapup |= {"durationSeconds": (done - end) // 1000, "endTime": format_epoch_ms(done)}
        run.change(agent, "wrapup", done, acw_end=done, wrapup=wrapup)


class LifecycleStream:
    """Seeded lifecycles one after another, conversations arriving as a Poisson stream.

    Conversation ``i`` starts an exponential gap (mean: 1 / ``profile.arrivals_per_hour``) after
    conversation ``i - 1``; the first at ``start_ms``. The same seed, profile, edition and start
    give the same lifecycles, byte for byte.
    """

    def __init__(
        self,
        seed: int,
        *,
        profile: Profile = DEFAULT,
        edition: Edition = Edition.SEED,
        start_ms: int,
        require: Collection[str] = (),
        population: Population | None = None,
    ) -> None:
        from callbacksim.generation.chooser import RandomChooser

        problem = path_conflicts(require, edition)
        if problem:
            raise UsageError(problem)
        self._ch = RandomChooser(seed)
        self._profile = profile
        self._edition = edition
        self._next_ms = start_ms
        self._require = tuple(require)
        self._population = population
        self._mean_gap_ms = 3_600_000 / max(profile.arrivals_per_hour, 1e-9)

    def __iter__(self) -> LifecycleStream:
        return self

    def __next__(self) -> Lifecycle:
        lifecycle = simulate(
            self._ch,
            profile=self._profile,
            edition=self._edition,
            start_ms=self._next_ms,
            population=self._population,
            require=self._require,
        )
        gap = -math.log(1.0 - self._ch.rng.random()) * self._mean_gap_ms
        self._next_ms += max(1, int(gap))
        return lifecycle


def lifecycles_from_events(events: Iterable[Any]) -> list[Lifecycle]:
    """Lifecycles from wire events (as `Event.to_wire` writes them), grouped by conversation in
    order of first appearance. The plans are not on the wire: each comes back as `Plan()`."""
    from callbacksim.wiretime import epoch_ms, parse_datetime

    grouped: dict[str, list[Event]] = {}
    for n, raw in enumerate(events):
        try:
            event = Event(
                epoch_ms(parse_datetime(raw["time"])),
                str(raw["conversationId"]),
                str(raw["participantId"]),
                int(raw["sequence"]),
                dict(raw["participant"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            msg = (
                f"event {n} is not a lifecycle event ({exc!s}); expected an object with time, "
                "conversationId, participantId, sequence and participant"
            )
            raise UsageError(msg) from None
        grouped.setdefault(event.conversation_id, []).append(event)
    return [
        Lifecycle(cid, Plan(), tuple(sorted(evs, key=lambda e: e.time_ms)))
        for cid, evs in grouped.items()
    ]


def stream_lifecycles(events: Iterable[Any]) -> Iterator[Lifecycle]:
    """Lifecycles from wire events grouped by conversation, as `callbacksim generate lifecycles`
    writes them, streamed: memory holds one conversation at a time. `UsageError` if a
    conversation's events are not contiguous (sort such a file by conversation first)."""
    seen: set[str] = set()
    current: list[Any] = []
    cid: str | None = None
    for raw in events:
        this = raw.get("conversationId") if isinstance(raw, dict) else None
        if this != cid and current:
            yield from lifecycles_from_events(current)
            current = []
        if this != cid and this in seen:
            msg = (
                f"the events of conversation {this} are not contiguous; group the file by "
                "conversation (as `callbacksim generate lifecycles` writes it)"
            )
            raise UsageError(msg)
        if isinstance(this, str):
            seen.add(this)
        cid = this
        current.append(raw)
    if current:
        yield from lifecycles_from_events(current)
