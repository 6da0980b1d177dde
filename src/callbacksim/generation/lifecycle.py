"""Simulated callback conversations: participants and the timestamped snapshots Genesys would show.

A lifecycle is one callback conversation: a customer leg, a queue (``acd``) leg per queue visit,
one new agent leg per offer, optionally an ``ivr`` leg, and the stream of snapshot events for
them. Each event is (time, conversation id, participant id, sequence number of that participant
from 1, the participant's whole snapshot after the change). Every snapshot satisfies every
validity rule, and the last snapshot of each participant is its final state.

What happens is decided first, as a `Plan` (drawn from the realism `Profile`, or with chosen paths
forced), then played out step by step through the state machine (`callbacksim.generation.machine`),
which refuses any transition its table lacks. Timestamps follow the observed facts: the queue leg
ends with ``transfer`` at the very millisecond the agent connects; after-call work starts at the
agent's ``endTime``; a timed-out offer ends ``alertingTimeoutMs`` plus about 100 ms after alerting;
a scheduled callback is routed 1 to 60 s after its scheduled time.

The variants of a callback (see `PATHS`): scheduled for later, placed at once (a
``callbackScheduledTime`` at or before creation included), requested in a flow, from a preview
campaign (externally dialled or not), scheduled by an agent to themselves, owned by one agent
(kept, removed or re-queued when ownership expires), delivered Customer First (the customer
dialled, retried, perhaps reached on an answering machine, before any agent), served (holds, a
park, a transfer, a manual reschedule after no answer, auto-dial and auto-end, errors, each kind of
wrap-up), given up after the last offer, cancelled or abandoned. The wrap-up follows the agent
leg's ``wrapupPrompt``. Where the facts are silent (how some legs end, what a waiting leg shows as
its ``state``) the profile names the choice and says it is an assumption.

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
from callbacksim.generation.profile import DEFAULT, Profile, mix_weights
from callbacksim.model import Edition
from callbacksim.rules import timestamps
from callbacksim.wiretime import format_epoch_ms

__all__ = [
    "PATHS",
    "TIMED_PROMPTS",
    "WRAPUP_TIMEOUT_CODE",
    "AgentEnd",
    "Dial",
    "Ending",
    "Event",
    "Lifecycle",
    "LifecycleStream",
    "OfferOutcome",
    "Ownership",
    "Plan",
    "Routing",
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
    "scheduled-now": (
        "the callbackScheduledTime is at or before the callback's creation, so it is placed at once"
    ),
    "ivr": "the callback was requested in an IVR flow (an ivr participant hands over)",
    "preview": "a preview campaign callback (outboundPreview, skipEnabled, timeoutSeconds)",
    "external": (
        "a preview callback dialled externally: externalCampaign true, the customer's purpose "
        "external"
    ),
    "attributes": "the callback is created with data: attributes on its customer and queue legs",
    "script": "the callback is created with a script (script on its customer and queue legs)",
    "self-scheduled": (
        "an agent schedules the callback to themselves ('route to me'): it is offered to them "
        "first, then to the next available agent"
    ),
    "agent-owned": (
        "one agent owns the callback (scoredAgents: that agent, score 100) and is offered it alone"
    ),
    "ownership-expired": (
        "the owner stays unavailable until the ownership expires: the callback is removed"
    ),
    "ownership-requeued": (
        "the owner stays unavailable until the ownership expires: the callback is re-queued to "
        "any agent"
    ),
    "customer-first": (
        "Customer First delivery: the system dials the customer before an agent is offered the "
        "callback"
    ),
    "dial-retry": "a Customer First dial attempt goes unanswered and is tried again",
    "answering-machine": (
        "an answering machine answers a Customer First dial; the queue hangs up, sends the call "
        "to an agent or to a flow"
    ),
    "unreachable": (
        "every Customer First dial attempt goes unanswered; the system ends the callback"
    ),
    "accepted": "an agent accepts an offer and talks to the customer",
    "timeout": "an offer times out (system) and goes to a new agent participant",
    "decline": "an agent declines an offer (client)",
    "given-up": "every offer is missed, up to max_offers, and the system ends the callback",
    "hold": "the agent puts the call on hold and takes it off",
    "park": "the agent parks the call and it resumes (sdk-269 edition only)",
    "transfer": "the agent transfers the call to another queue, where a new agent takes it",
    "rescheduled": (
        "the customer does not answer the agent's call; the agent reschedules the callback, "
        "which is routed again at the new time"
    ),
    "auto-dial": (
        "the queue dials the customer after the agent connects and ends the callback after the "
        "call (auto-dial and auto-end)"
    ),
    "error": "the agent leg ends in an error (errorInfo, disconnectType error)",
    "transport-failure": "the agent leg ends in a transport failure (errorInfo)",
    "wrapup-applied": "the agent applies a wrap-up code after the call",
    "wrapup-skipped": "the agent skips wrap-up (an optional prompt)",
    "wrapup-timeout": "a time-boxed wrap-up runs out and the system applies its timeout code",
    "no-wrapup": "no after-call work (an agent-requested prompt the agent does not use)",
    "cancelled": "the scheduled callback is cancelled before it is routed",
    "abandoned": "the customer leaves while the callback waits for an agent",
}
"""Every path a lifecycle can take, by name; any of them can be required."""

Ending = Literal[
    "completed", "cancelled", "abandoned", "given-up", "expired", "unreachable", "machine"
]
"""How a callback ends: served by an agent; cancelled before it is routed; abandoned while it waits
for an agent; given up after its last offer; removed when its ownership expires; never reached (no
dial attempt answered); or ended by the queue after an answering machine picked up."""
OfferOutcome = Literal["accept", "decline", "timeout"]
"""What an agent does with an offer: accepts it, declines it, or lets it time out."""
AgentEnd = Literal["client", "error", "transport.failure"]
"""How a served agent leg ends, as its ``disconnectType``: the agent hangs up, or it fails."""
WrapupOutcome = Literal["applied", "skipped", "timeout", "none"]
"""What becomes of wrap-up: a code is applied, it is skipped, its timeout forces it, or there is
no after-call work."""
Dial = Literal["no-answer", "live", "machine"]
"""How a Customer First dial attempt goes: unanswered, answered by a person, or by a machine."""
Routing = Literal["queue", "self", "owned"]
"""Who the callback is for: the queue, the agent who scheduled it to themselves first, or the agent
who owns it."""
Ownership = Literal["kept", "expired", "requeued"]
"""What becomes of an agent-owned callback: its owner takes it, or the ownership expires and it is
removed or re-queued."""

_NORMAL = NormalDist()
WRAPUP_TIMEOUT_CODE = "ININ-WRAP-UP-TIMEOUT"
"""The wrap-up code the system applies when after-call work runs out of time."""
TIMED_PROMPTS = ("timeout", "forcedTimeout", "agentRequested")
"""The wrap-up prompts that give after-call work a time limit (``wrapupTimeoutMs``)."""
_WRAPUP_REQUIRED: dict[str, WrapupOutcome] = {
    "wrapup-applied": "applied",
    "wrapup-skipped": "skipped",
    "wrapup-timeout": "timeout",
    "no-wrapup": "none",
}
"""The wrap-up paths, each with the outcome it requires."""
_WRAPUP_PATHS = frozenset(_WRAPUP_REQUIRED)
_SERVED = frozenset(
    {"accepted", "hold", "park", "transfer", "error", "transport-failure", "rescheduled"}
    | {"auto-dial"}
    | _WRAPUP_PATHS
)
_ENDINGS = frozenset({"cancelled", "abandoned", "given-up", "ownership-expired", "unreachable"})
_OFFERED = frozenset({"timeout", "decline"})
_CUSTOMER_FIRST = frozenset({"customer-first", "dial-retry", "answering-machine", "unreachable"})
_OWNED = frozenset({"agent-owned", "ownership-expired", "ownership-requeued"})
_AGENT_MADE = _OWNED | {"self-scheduled"}
# Paths that need the callback to reach the agents (a Customer First call answered, say).
_REACHES_AGENTS = _SERVED | _OFFERED | {"abandoned", "given-up"}
# What a callback cancelled before routing can still show.
_CANCELLABLE_WITH = frozenset(
    {"scheduled", "ivr", "preview", "external", "attributes", "script", "cancelled"}
    | {"agent-owned", "self-scheduled"}
)


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
    """What happens in one lifecycle, decided before it is played out. The defaults are the
    simplest served callback: placed at once, accepted at the first offer, an optional wrap-up
    applied."""

    scheduled: bool = False
    elapsed_schedule: bool = False
    """Placed at once with a callbackScheduledTime at or before its creation."""
    ivr: bool = False
    preview: bool = False
    external: bool = False
    attributes: bool = False
    script: bool = False
    routing: Routing = "queue"
    ownership: Ownership = "kept"
    dials: tuple[Dial, ...] = ()
    """Customer First dial attempts, in order (none: Agent First delivery)."""
    machine_reaction: str = "transfer-to-queue"
    """What the queue does when the last dial reached a machine."""
    ending: Ending = "completed"
    offers: tuple[OfferOutcome, ...] = ("accept",)
    """The offers of the first queue visit; the last is "accept" when the callback is served."""
    holds: int = 0
    park: bool = False
    transfer: bool = False
    reschedule: bool = False
    auto_dial: bool = False
    agent_end: AgentEnd = "client"
    prompt: str = "optional"
    """The agent legs' wrapupPrompt."""
    wrapup: WrapupOutcome = "applied"

    @property
    def paths(self) -> frozenset[str]:
        """The names (`PATHS`) of what this plan does."""
        out = {"scheduled" if self.scheduled else "immediate"}
        flags = (
            ("scheduled-now", self.elapsed_schedule),
            ("ivr", self.ivr),
            ("preview", self.preview),
            ("external", self.external),
            ("attributes", self.attributes),
            ("script", self.script),
            ("self-scheduled", self.routing == "self"),
            ("agent-owned", self.routing == "owned"),
            ("ownership-expired", self.ownership == "expired"),
            ("ownership-requeued", self.ownership == "requeued"),
            ("customer-first", bool(self.dials)),
            ("dial-retry", len(self.dials) > 1),
            ("answering-machine", "machine" in self.dials),
            ("unreachable", self.ending == "unreachable"),
        )
        out |= {name for name, on in flags if on}
        if self.ending in ("cancelled", "abandoned", "given-up"):
            out.add(self.ending)
        out |= {"decline" for o in self.offers if o == "decline"}
        out |= {"timeout" for o in self.offers if o == "timeout"}
        if self.ending == "completed":
            served = (
                ("accepted", True),
                ("hold", self.holds > 0),
                ("park", self.park),
                ("transfer", self.transfer),
                ("rescheduled", self.reschedule),
                ("auto-dial", self.auto_dial),
                ("error", self.agent_end == "error"),
                ("transport-failure", self.agent_end == "transport.failure"),
            )
            out |= {name for name, on in served if on}
            out.add("no-wrapup" if self.wrapup == "none" else f"wrapup-{self.wrapup}")
        return frozenset(out)

    @property
    def unseen(self) -> frozenset[str]:
        """The paths of `paths` that no snapshot can show: an answering machine whose call the
        queue sends on to an agent looks, on the callback's participants, like a live answer."""
        if "machine" in self.dials and self.machine_reaction == "transfer-to-queue":
            return frozenset({"answering-machine"})
        return frozenset()


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
    wrapups = r & _WRAPUP_PATHS
    if len(wrapups) > 1:
        return f"only one wrap-up outcome per lifecycle, got {sorted(wrapups)}"
    if len(r & {"error", "transport-failure"}) > 1:
        return "an agent leg ends in an error or a transport failure, not both"
    ends = r & _ENDINGS
    served = r & _SERVED
    if len(ends) > 1 or (ends and served):
        return f"{sorted(ends)} cannot be combined with {sorted(served) or sorted(ends)}"
    if "cancelled" in r and r & {"immediate", "scheduled-now"}:
        return "only a scheduled callback can be cancelled before routing"
    if "cancelled" in r and r & _OFFERED:
        return "a cancelled callback is never offered to an agent"
    if "scheduled-now" in r and "scheduled" in r:
        return "scheduled-now is placed at once; it cannot also be scheduled for later"
    if "self-scheduled" in r and r & {"immediate", "scheduled-now"}:
        return "an agent schedules a callback to themselves for later (scheduled)"
    if "self-scheduled" in r and r & _OWNED:
        return "self-scheduled and agent-owned are two ways an agent keeps a callback; pick one"
    if {"ownership-expired", "ownership-requeued"} <= r:
        return "an expired ownership ends in a removal or a re-queue, not both"
    if "ownership-requeued" in r and "cancelled" in r:
        return "a callback cancelled before routing is never queued, so its ownership never expires"
    if "ownership-expired" in r and r & _OFFERED:
        return "an agent-owned callback removed at expiry was never offered"
    agent_made = r & _AGENT_MADE
    if agent_made and r & {"ivr", "preview", "external"}:
        return f"{sorted(agent_made)} callbacks come from an agent, not from a flow or a campaign"
    customer_first = r & _CUSTOMER_FIRST
    others = r & (_AGENT_MADE | {"preview", "external", "rescheduled", "auto-dial", "cancelled"})
    if customer_first and others:
        return (
            f"{sorted(customer_first)} (Customer First) cannot be combined with {sorted(others)}: "
            "the customer is dialled before any agent"
        )
    if "unreachable" in r and r & (_OFFERED | {"answering-machine"}):
        return "an unreachable customer never answers and is never offered to an agent"
    if "auto-dial" in r and r & {"error", "transport-failure"}:
        return "an auto-dialled callback ends by its auto-end, not by an error"
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
    simplest plan, `Plan()`: an immediate callback, accepted at the first offer, no hold, an
    optional wrap-up applied.
    """
    problem = path_conflicts(require, edition)
    if problem:
        raise UsageError(problem)
    r = set(require)
    # Every question of a stage is asked whatever the earlier answers, so that the choices keep
    # their meaning when a shrinking chooser turns one of them off: the simplest plan is then also
    # the one with the fewest and smallest choices.
    coin = _coins(
        ch,
        scheduled=profile.scheduled_share,
        elapsed=profile.elapsed_schedule_share,
        owned=profile.agent_owned_share,
        self=profile.self_scheduled_share,
        ivr=profile.ivr_share,
        preview=profile.preview_share,
        external=profile.external_dialing_share,
        attributes=profile.attributes_share,
        script=profile.script_share,
        cancel=profile.cancel_share,
        customer_first=profile.customer_first_share,
        owner_misses=profile.owner_misses_probability,
        requeue=profile.ownership_requeue_probability,
        abandon=profile.abandon_share,
    )
    scheduled = bool(r & {"scheduled", "cancelled", "self-scheduled"})
    if not scheduled and not r & {"immediate", "scheduled-now"}:
        scheduled = coin["scheduled"]
    elapsed = not scheduled and ("scheduled-now" in r or coin["elapsed"])
    routing: Routing = "queue"
    if r & _OWNED:
        routing = "owned"
    elif "self-scheduled" in r:
        routing = "self"
    elif not r & (_CUSTOMER_FIRST | {"ivr", "preview", "external"}):
        if coin["owned"]:
            routing = "owned"
        elif scheduled and coin["self"]:
            routing = "self"
    agent_made = routing != "queue"
    ivr = "ivr" in r or (not agent_made and coin["ivr"])
    preview = bool(r & {"preview", "external"}) or (
        not agent_made and not r & _CUSTOMER_FIRST and coin["preview"]
    )
    external = preview and ("external" in r or coin["external"])
    base: dict[str, Any] = {
        "scheduled": scheduled,
        "elapsed_schedule": elapsed,
        "ivr": ivr,
        "preview": preview,
        "external": external,
        "attributes": "attributes" in r or coin["attributes"],
        "script": "script" in r or coin["script"],
        "routing": routing,
    }
    if "cancelled" in r or (scheduled and r <= _CANCELLABLE_WITH and coin["cancel"]):
        return Plan(**base, ending="cancelled", offers=())
    customer_first = bool(r & _CUSTOMER_FIRST) or (
        not agent_made
        and not preview
        and not r & {"rescheduled", "auto-dial"}
        and coin["customer_first"]
    )
    if customer_first:
        dials = _dials(ch, profile, r)
        base["dials"] = dials
        if dials[-1] == "no-answer":
            return Plan(**base, ending="unreachable", offers=())
        if dials[-1] == "machine" and not r & _REACHES_AGENTS:
            reaction = _weighted(ch, profile.machine_reaction)
            base["machine_reaction"] = reaction
            if reaction != "transfer-to-queue":
                return Plan(**base, ending="machine", offers=())
    if routing == "owned":
        ownership: Ownership = "kept"
        if "ownership-requeued" in r:
            ownership = "requeued"
        elif "ownership-expired" in r:
            ownership = "expired"
        elif coin["owner_misses"]:
            removable = not r & _REACHES_AGENTS
            ownership = "requeued" if not removable or coin["requeue"] else "expired"
        base["ownership"] = ownership
        if ownership == "expired":
            return Plan(**base, ending="expired", offers=())
    ending: Ending = "completed"
    if "abandoned" in r or (not r & (_SERVED | {"given-up"}) and coin["abandon"]):
        ending = "abandoned"
    elif "given-up" in r:
        ending = "given-up"
    offers, ending = _offers(ch, profile, r, ending)
    if ending != "completed":
        return Plan(**base, ending=ending, offers=offers)
    coin = _coins(
        ch,
        hold=profile.hold_probability,
        park=profile.park_probability,
        transfer=profile.transfer_probability,
        reschedule=profile.reschedule_probability,
        auto_dial=profile.auto_dial_share,
        error=profile.error_probability,
    )
    holds_if_any = ch.between(1, max(1, int(profile.max_holds)))
    failure = ch.pick(_FAILURES)
    holds = holds_if_any if "hold" in r or coin["hold"] else 0
    park = "parkTime" in timestamps(edition) and ("park" in r or coin["park"])
    transfer = "transfer" in r or coin["transfer"]
    reschedule = not customer_first and ("rescheduled" in r or coin["reschedule"])
    failing = r & {"error", "transport-failure"}
    auto_dial = not customer_first and ("auto-dial" in r or (not failing and coin["auto_dial"]))
    agent_end: AgentEnd = "client"
    if "error" in r:
        agent_end = "error"
    elif "transport-failure" in r:
        agent_end = "transport.failure"
    elif not auto_dial and coin["error"]:
        agent_end = failure
    prompt, wrapup = _wrapup_plan(ch, profile, r)
    return Plan(
        **base,
        offers=offers,
        holds=holds,
        park=park,
        transfer=transfer,
        reschedule=reschedule,
        auto_dial=auto_dial,
        agent_end=agent_end,
        prompt=prompt,
        wrapup=wrapup,
    )


def _coins(ch: Chooser, **chances: float) -> dict[str, bool]:
    """One answer per named chance, every one asked, in the order given."""
    return {name: ch.chance(p) for name, p in chances.items()}


_FAILURES: tuple[AgentEnd, ...] = ("error", "transport.failure")
_MISSED: tuple[OfferOutcome, ...] = ("timeout", "decline")


def _weighted(ch: Chooser, value: str, allowed: tuple[str, ...] | None = None) -> str:
    """One option of a choice parameter's ``value``, by weight; only ``allowed`` ones if given
    (equally likely, should the profile weigh them all 0). A single option draws nothing."""
    pairs = mix_weights(value)
    if allowed is not None:
        pairs = tuple(p for p in pairs if p[0] in allowed) or tuple((a, 1.0) for a in allowed)
    if len(pairs) == 1:
        return pairs[0][0]
    x = _uniform(ch) * sum(w for _, w in pairs)
    for option, weight in pairs:
        if x < weight:
            return option
        x -= weight
    return pairs[-1][0]


def _dials(ch: Chooser, profile: Profile, r: set[str]) -> tuple[Dial, ...]:
    """Customer First dial attempts: unanswered ones, then (unless all are) the answer."""
    retries = int(profile.max_dial_retries)
    if "dial-retry" in r:
        retries = max(retries, 1)
    must_answer = bool(r & (_REACHES_AGENTS | {"answering-machine"}))
    out: list[Dial] = []
    for attempt in range(retries + 1):
        if "unreachable" in r or ("dial-retry" in r and attempt == 0):
            missed = True
        elif attempt == retries and must_answer:
            missed = False
        else:
            # "Unanswered" is the rarer branch, so a shrinking chooser (False) gets an answer.
            missed = ch.chance(1.0 - profile.dial_answer_probability)
        if missed:
            out.append("no-answer")
            continue
        machine = "answering-machine" in r or ch.chance(profile.answering_machine_probability)
        out.append("machine" if machine else "live")
        break
    return tuple(out)


def _offers(
    ch: Chooser, profile: Profile, r: set[str], ending: Ending
) -> tuple[tuple[OfferOutcome, ...], Ending]:
    """Outcomes of the offers, in order, and how the callback ends: the last offer is "accept"
    when it is served; after ``max_offers`` missed ones the system gives it up."""
    missed: list[OfferOutcome] = [m for m in _MISSED if m in r]
    limit = max(1, int(profile.max_offers))
    p_accept, p_decline = profile.accept_probability, profile.decline_probability

    def miss() -> OfferOutcome:
        return "decline" if ch.chance(p_decline / max(1e-9, 1 - p_accept)) else "timeout"

    if ending == "given-up":
        while len(missed) < limit:
            missed.append(miss())
        return tuple(missed), ending
    # "Missed again" is the rare branch, so a shrinking chooser (False) ends on an accepted offer.
    while len(missed) < limit - 1 and ch.chance(1.0 - p_accept):
        missed.append(miss())
    if ending == "abandoned":
        return tuple(missed), ending
    if len(missed) >= limit - 1 and not r & _SERVED and ch.chance(1.0 - p_accept):
        missed.append(miss())
        return tuple(missed), "given-up"
    return (*missed, "accept"), "completed"


def _wrapup_plan(ch: Chooser, profile: Profile, r: set[str]) -> tuple[str, WrapupOutcome]:
    """The agent legs' wrapupPrompt and what becomes of wrap-up, which follows it: an optional
    wrap-up may be skipped, a mandatory one never is, a time-boxed one may run out, and an
    agent-requested one happens only if the agent asks for it."""
    allowed: tuple[str, ...] | None = None
    if "wrapup-skipped" in r:
        allowed = ("optional",)
    elif "wrapup-timeout" in r:
        allowed = TIMED_PROMPTS
    elif "no-wrapup" in r:
        allowed = ("agentRequested",)
    prompt = _weighted(ch, profile.wrapup_prompt, allowed)
    coin = _coins(
        ch,
        skip=profile.wrapup_skip_probability,
        request=profile.acw_request_probability,
        timeout=profile.wrapup_timeout_probability,
    )
    for name, outcome in _WRAPUP_REQUIRED.items():
        if name in r:
            return prompt, outcome
    if prompt == "optional":
        return prompt, "skipped" if coin["skip"] else "applied"
    if prompt == "mandatory":
        return prompt, "applied"
    if prompt == "agentRequested" and not coin["request"]:
        return prompt, "none"
    return prompt, "timeout" if coin["timeout"] else "applied"


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
    def __init__(
        self, ch: Chooser, cid: str, edition: Edition, pop: Population, profile: Profile
    ) -> None:
        self.ch = ch
        self.pop = pop
        self.cid = cid
        self.profile = profile
        times = timestamps(edition)
        self.alerting_time = "startAlertingTime" in times
        self.can_park = "parkTime" in times
        self.events: list[tuple[int, int, Event]] = []
        self.ids = {cid}
        # What waiting legs show, one value for the whole conversation.
        self.waiting = _weighted(ch, profile.pre_routing_state)

    def new_id(self) -> str:
        """An id not yet used in this conversation: a shrinking chooser draws the same id every
        time, and two participants (or communications) must never share one."""
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
        snap["state"] = wire_state(leg.state, self.waiting)
        leg.snap = snap
        leg.seq += 1
        self.events.append((t, len(self.events), Event(t, self.cid, leg.pid, leg.seq, snap)))

    def finish(self, plan: Plan) -> Lifecycle:
        self.events.sort(key=lambda item: (item[0], item[1]))
        return Lifecycle(self.cid, plan, tuple(e for _, _, e in self.events))


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
    return _Play(_Run(ch, cid, edition, pop, profile), plan).play(start_ms)


class _Play:
    """One plan played out: the legs, in the order things happen."""

    def __init__(self, run: _Run, plan: Plan) -> None:
        self.run = run
        self.ch = run.ch
        self.pop = run.pop
        self.profile = run.profile
        self.plan = plan
        self.numbers: list[str] = []
        self.communication = ""

    def system_end(self) -> str:
        return _weighted(self.ch, self.profile.system_end_disconnect)

    def queue_leg(self, queue: dict[str, Any], fields: dict[str, Any], **routing: Any) -> _Leg:
        """A new queue leg for ``queue``; its ``peer`` is the customer's callback communication."""
        acd = _Leg("acd", self.run.new_id())
        acd.snap = {"id": acd.pid, "name": queue["name"], "purpose": "acd", "direction": "outbound"}
        acd.snap |= {"queue": queue, "peer": self.communication} | fields
        acd.snap["conversationRoutingData"] = {
            "queue": {"id": queue["id"], "selfUri": queue["selfUri"]},
            "priority": self.ch.between(0, 5),
            **routing,
        }
        return acd

    def play(self, start_ms: int) -> Lifecycle:
        ch, plan, profile, pop, run = self.ch, self.plan, self.profile, self.pop, self.run
        t = start = start_ms
        queue = ch.pick(pop.queues)
        customer_name = vocab.person_name(ch)
        self.numbers = numbers = [vocab.e164_number(ch) for _ in range(ch.between(1, 2))]
        preview = preview_payload(ch, pop) if plan.preview else None
        keeper = ch.below(len(pop.agents)) if plan.routing != "queue" else None

        if plan.ivr:
            ivr = _Leg("ivr", run.new_id())
            ivr.snap = {"id": ivr.pid, "name": ch.pick(vocab.FLOWS), "purpose": "ivr"}
            ivr.snap |= {"direction": "inbound", "address": numbers[0], "provider": "Edge"}
            # The conversation starts at start_ms in the flow; the callback is created when it
            # hands over, so no event falls before the injected start.
            t += _lognormal_ms(ch, profile.ivr_median_s, 0.5)
            run.change(ivr, "enter", start, start=start, connected=start)
            run.change(ivr, "transfer", t, end=t, disconnect="transfer")

        common: dict[str, Any] = {
            "provider": "PureCloud Callback",
            "callbackNumbers": numbers,
            "callbackUserName": customer_name,
            "externalCampaign": plan.external,
            "skipEnabled": plan.preview and ch.chance(0.5),
            "timeoutSeconds": ch.pick((0, 30, 60, 120)) if plan.preview else 0,
        }
        if preview is not None:
            common["outboundPreview"] = preview
        if plan.attributes:
            keys = vocab.pick_some(ch, vocab.ATTRIBUTE_KEYS, 3) or [vocab.ATTRIBUTE_KEYS[0]]
            common["attributes"] = {k: ch.pick(vocab.ATTRIBUTE_VALUES) for k in keys}
        if plan.script:
            common["script"] = ch.pick(pop.scripts)
        scheduled_at: int | None = None
        if plan.scheduled:
            scheduled_at = t + _log_uniform_ms(ch, profile.schedule_min_s, profile.schedule_max_s)
        elif plan.elapsed_schedule:
            scheduled_at = t - _ms_between(ch, 0, profile.elapsed_schedule_max_s * 1000)
        if scheduled_at is not None:
            common["callbackScheduledTime"] = format_epoch_ms(scheduled_at)
        # The customer's callback communication: the queue legs' peer.
        self.communication = run.new_id()
        customer = _Leg("customer", run.new_id())
        customer.snap = {"id": customer.pid, "name": customer_name, "address": numbers[0]}
        purpose = "external" if plan.external else "customer"
        customer.snap |= {"purpose": purpose, "direction": "outbound"} | common
        routing: dict[str, Any] = {}
        keeper_user: dict[str, Any] | None = None
        if keeper is not None:
            keeper_user = pop.agents[keeper]
            score = 100 if plan.routing == "owned" else int(profile.preferred_agent_score)
            routing["scoredAgents"] = [{"agent": pop.agent_refs[keeper], "score": score}]
        acd = self.queue_leg(queue, common, **routing)

        # The customer joined when the conversation started (in the flow, if there was one).
        if plan.scheduled:
            run.change(customer, "create", t, start=start)
            run.change(acd, "create", t, start=t)
            if plan.ending == "cancelled":
                assert scheduled_at is not None
                cancel_at = t + ch.between(1, max(1, scheduled_at - t - 1))
                kind = _weighted(ch, profile.cancel_customer_disconnect)
                run.change(customer, "cancel", cancel_at, end=cancel_at, disconnect=kind)
                kind = _weighted(ch, profile.cancel_queue_disconnect)
                run.change(acd, "cancel", cancel_at, end=cancel_at, disconnect=kind)
                return run.finish(plan)
            assert scheduled_at is not None
            t = scheduled_at + _ms_between(
                ch, profile.route_delay_min_ms, profile.route_delay_max_ms
            )
            if not plan.dials:
                run.change(customer, "route", t, connected=t)
            run.change(acd, "route", t, connected=t)
        else:
            if plan.dials:
                run.change(customer, "create-dialing", t, start=start)
            else:
                run.change(customer, "create-routed", t, start=start, connected=t)
            run.change(acd, "create-routed", t, start=t, connected=t)

        if plan.dials:
            t, done = self.dial(customer, acd, t)
            if done:
                return run.finish(plan)

        if plan.ownership != "kept":
            # The owner stayed unavailable: at expiry the callback is removed or re-queued.
            expiry = t + int(profile.ownership_expiry_s * 1000)
            if plan.ownership == "expired":
                kind = self.system_end()
                run.change(acd, "remove", expiry, end=expiry, disconnect=kind)
                run.change(customer, "remove", expiry, end=expiry, disconnect=kind)
                return run.finish(plan)
            rerouted = dict(acd.snap["conversationRoutingData"])
            del rerouted["scoredAgents"]
            run.change(acd, "requeue", expiry, conversationRoutingData=rerouted)
            t, keeper_user = expiry, None

        visits = ["first"] + ["rescheduled"] * plan.reschedule + ["transferred"] * plan.transfer
        for number, visit in enumerate(visits):
            offers = plan.offers if visit == "first" else ("accept",)
            t += _lognormal_ms(ch, profile.queue_wait_median_s, profile.queue_wait_sigma)
            agent = None
            for n, outcome in enumerate(offers):
                # An owned callback goes to its owner alone; a self-scheduled one to its agent
                # first, then to whoever is next available.
                user = keeper_user if plan.routing == "owned" or n == 0 else None
                agent, t = self.offer(queue, outcome, t, acd, user)
            if agent is None:
                if plan.ending == "given-up":
                    kind = self.system_end()
                    run.change(acd, "remove", t, end=t, disconnect=kind)
                    run.change(customer, "remove", t, end=t, disconnect=kind)
                else:
                    t += _lognormal_ms(ch, profile.queue_wait_median_s, profile.queue_wait_sigma)
                    kind = _weighted(ch, profile.abandon_queue_disconnect)
                    run.change(acd, "abandon", t, end=t, disconnect=kind)
                    kind = _weighted(ch, profile.abandon_customer_disconnect)
                    run.change(customer, "abandon", t, end=t, disconnect=kind)
                return run.finish(plan)
            keeper_user = None
            following = visits[number + 1] if number + 1 < len(visits) else None
            if following == "rescheduled":
                t = self.unanswered(agent, t)
                # The agent reschedules by hand: a new queue leg waits for the new time.
                again = t + _log_uniform_ms(ch, profile.schedule_min_s, profile.schedule_max_s)
                run.change(customer, "reschedule", t, scheduled=again)
                fields = common | {"callbackScheduledTime": format_epoch_ms(again)}
                acd = self.queue_leg(queue, fields)
                run.change(acd, "create", t, start=t)
                t = again + _ms_between(ch, profile.route_delay_min_ms, profile.route_delay_max_ms)
                run.change(acd, "route", t, connected=t)
            elif following == "transferred":
                t = self.talk(agent, t, last_visit=False)
                # Blind transfer to another queue: a new queue leg takes the customer at once.
                queue = ch.pick(pop.queues)
                fields = {k: v for k, v in common.items() if k != "callbackScheduledTime"}
                acd = self.queue_leg(queue, fields)
                run.change(acd, "create-routed", t, start=t, connected=t)
            else:
                t = self.talk(agent, t, last_visit=True)
        end = t + _ms_between(ch, 0, profile.customer_end_delay_max_ms)
        kind = _weighted(ch, profile.customer_end_disconnect)
        run.change(customer, "end", end, end=end, disconnect=kind)
        return run.finish(plan)

    def dial(self, customer: _Leg, acd: _Leg, t: int) -> tuple[int, bool]:
        """The Customer First dial attempts from ``t``: the time after them, and whether the
        callback ended there (nobody answered, or a machine did and the queue ended the call)."""
        ch, plan, profile, run = self.ch, self.plan, self.profile, self.run
        ring = int(profile.dial_ring_s * 1000)
        for attempt, outcome in enumerate(plan.dials):
            if attempt or plan.scheduled:  # an immediate callback is created dialling
                run.change(customer, "dial", t)
            if outcome == "no-answer":
                rang = t + _ms_between(ch, min(5_000, ring), ring)
                if attempt == len(plan.dials) - 1:
                    kind = self.system_end()
                    run.change(customer, "unreachable", rang, end=rang, disconnect=kind)
                    run.change(acd, "remove", rang, end=rang, disconnect=kind)
                    return rang, True
                run.change(customer, "no-answer", rang)
                t = rang + int(profile.dial_retry_delay_s * 1000)
                continue
            answer = t + _ms_between(ch, min(1_000, ring), ring)
            run.change(customer, "answer", answer, connected=answer)
            if outcome == "live" or plan.machine_reaction == "transfer-to-queue":
                return answer, False
            kind = self.system_end()
            if plan.machine_reaction == "hang-up":
                gone = answer + ch.between(1_000, 5_000)
                run.change(customer, "remove", gone, end=gone, disconnect=kind)
                run.change(acd, "remove", gone, end=gone, disconnect=kind)
                return gone, True
            # To a flow: it takes the call from the queue and ends it.
            run.change(acd, "transfer", answer, end=answer, disconnect="transfer")
            flow = _Leg("ivr", run.new_id())
            flow.snap = {"id": flow.pid, "name": ch.pick(vocab.FLOWS), "purpose": "ivr"}
            flow.snap |= {"direction": "outbound", "address": self.numbers[0], "provider": "Edge"}
            run.change(flow, "enter", answer, start=answer, connected=answer)
            done = answer + _lognormal_ms(ch, profile.ivr_median_s, 0.5)
            run.change(flow, "end", done, end=done, disconnect=kind)
            run.change(customer, "end", done, end=done, disconnect=kind)
            return done, True
        raise AssertionError("a Customer First plan has at least one dial")  # pragma: no cover

    def offer(
        self,
        queue: dict[str, Any],
        outcome: OfferOutcome,
        t: int,
        acd: _Leg,
        user: dict[str, Any] | None,
    ) -> tuple[_Leg | None, int]:
        """One offer to a new agent leg (of ``user``, or of any agent); the leg if it accepted,
        and the time after the offer."""
        ch, profile, run, plan = self.ch, self.profile, self.run, self.plan
        user = user if user is not None else ch.pick(self.pop.agents)
        agent = _Leg("agent", run.new_id())
        timeout = int(profile.alerting_timeout_ms)
        agent.snap = {"id": agent.pid, "name": user["name"], "purpose": "agent"}
        agent.snap |= {"direction": "outbound", "user": user, "queue": queue}
        agent.snap |= {"wrapupRequired": False, "wrapupPrompt": plan.prompt}
        if plan.prompt in TIMED_PROMPTS:
            agent.snap["wrapupTimeoutMs"] = int(profile.wrapup_timeout_ms)
        agent.snap |= {"alertingTimeoutMs": timeout, "provider": "PureCloud Callback"}
        alert = t + _ms_between(ch, profile.alert_start_min_ms, profile.alert_start_max_ms)
        run.change(agent, "offer", t, start=t, alerting=alert if run.alerting_time else None)
        if outcome == "timeout":
            overrun = _ms_between(
                ch, profile.timeout_overrun_min_ms, profile.timeout_overrun_max_ms
            )
            end = alert + timeout + overrun
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
        connected = alert + _ms_between(
            ch, min(profile.accept_min_s * 1000, answer_cap), answer_cap
        )
        run.change(agent, "accept", connected, connected=connected)
        # The queue leg ends at the very millisecond the agent connects.
        run.change(acd, "transfer", connected, end=connected, disconnect="transfer")
        return agent, connected

    def unanswered(self, agent: _Leg, t: int) -> int:
        """The agent calls, the customer does not answer, the agent reschedules and hangs up;
        returns when the agent hung up."""
        ring = int(self.profile.dial_ring_s * 1000)
        end = t + _ms_between(self.ch, min(5_000, ring), ring) + self.ch.between(5_000, 30_000)
        self.hang_up(agent, end, "end", "client")
        return end

    def talk(self, agent: _Leg, t: int, *, last_visit: bool) -> int:
        """The call from connect to the end of after-call work; returns when the agent hung
        up."""
        ch, profile, plan, run = self.ch, self.profile, self.plan, self.run
        auto = plan.auto_dial and last_visit
        # With auto-dial the call starts when the queue dials, autoDialDelaySeconds after connect.
        begin = t + int(profile.auto_dial_delay_s * 1000) if auto else t
        talk = _lognormal_ms(ch, profile.talk_median_s, profile.talk_sigma)
        end = begin + talk
        events = plan.holds + (1 if plan.park and last_visit else 0)
        slot = max(1, talk // (events + 1))
        cursor = begin
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
        if not last_visit:
            self.hang_up(agent, end, "transfer", "transfer")
        elif auto:
            # Auto-end: autoEndDelaySeconds after the call, the system ends the callback.
            end += int(profile.auto_end_delay_s * 1000)
            self.hang_up(agent, end, "auto-end", self.system_end())
        elif plan.agent_end == "client":
            self.hang_up(agent, end, "end", "client")
        else:
            message, code = vocab.ERRORS[0] if plan.agent_end == "error" else vocab.ERRORS[1]
            error = {"message": message, "code": code}
            self.hang_up(agent, end, "fail", plan.agent_end, errorInfo=error)
        return end

    def hang_up(self, agent: _Leg, end: int, event: str, kind: str, **fields: Any) -> None:
        """The agent leg ends at ``end``, its after-call work (if any) starting then."""
        required = self.plan.wrapup != "none"
        fields |= {"end": end, "wrapupRequired": required, "disconnect": kind}
        if required:
            # After-call work starts at the agent's endTime, to the millisecond.
            fields["acw_start"] = end
        self.run.change(agent, event, end, **fields)
        if required:
            self.after_call(agent, end)

    def after_call(self, agent: _Leg, end: int) -> None:
        ch, profile, plan, run = self.ch, self.profile, self.plan, self.run
        timeout = int(profile.wrapup_timeout_ms)
        # The same draws whatever the outcome (see plan_lifecycle on shrinking).
        length = _lognormal_ms(ch, profile.acw_median_s, profile.acw_sigma)
        code, name = ch.pick(run.pop.wrapup_codes)
        note = ch.pick(vocab.NOTES) if ch.chance(0.4) else None
        wrapup: dict[str, Any]
        if plan.wrapup == "timeout":
            # The system applies its own code when the wrap-up time runs out.
            done = end + timeout
            wrapup = {"code": WRAPUP_TIMEOUT_CODE, "name": WRAPUP_TIMEOUT_CODE}
            wrapup |= {"durationSeconds": timeout // 1000, "endTime": format_epoch_ms(done)}
            run.change(agent, "wrapup-timeout", done, acw_end=done, wrapup=wrapup)
        elif plan.wrapup == "skipped":
            done = end + min(max(length, 500), 5_000)  # skipped within a few seconds
            run.change(agent, "skip-wrapup", done, acw_end=done, wrapupSkipped=True)
        else:
            done = end + length
            if plan.prompt == "forcedTimeout":
                done = end + timeout  # after-call work lasts its whole time, code or not
            elif plan.prompt in TIMED_PROMPTS:
                done = min(done, end + max(0, timeout - 1))  # a code entered in time
            wrapup = {"code": code, "name": name}
            if note is not None:
                wrapup["notes"] = note
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
