"""Valid participants, built constructively as wire payloads (dicts of JSON values).

`build_participant` is the one definition of "a valid participant": every backend (seeded bulk,
Hypothesis, Faker) calls it. Validity comes by construction, never by filtering: the state is chosen
first, it fixes which timestamps must be present or absent, an ordering class is walked from the
rules' own partial order, and instants are laid out level by level with positive gaps (ties are
levels, so a class comes out exactly as drawn). The other properties follow the participant's
purpose the way Genesys Cloud fills them (customer and acd legs carry the callback request, agent
legs carry alerting, wrap-up and user data).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import Any

import orjson

from callbacksim.generation import vocab
from callbacksim.generation.chooser import Chooser
from callbacksim.generation.population import Population, default_population
from callbacksim.model import DisconnectType, Edition, State, known_values
from callbacksim.orderings import OrderingClass, walk
from callbacksim.rules import RuleSet, timestamps
from callbacksim.schema import participant_fields
from callbacksim.wiretime import epoch_ms, format_epoch_ms

__all__ = [
    "ANCHOR",
    "ANCHOR_MS",
    "PURPOSES",
    "Shape",
    "build_participant",
    "copy_payload",
    "layout",
    "preview_payload",
    "state_bounds",
    "states",
    "states_for",
]

ANCHOR = datetime(2026, 1, 1, tzinfo=UTC)
"""Default anchor: generated instants fall within a year after it. Never the wall clock."""

ANCHOR_MS = epoch_ms(ANCHOR)
"""`ANCHOR` in epoch milliseconds."""
_YEAR_MS = 365 * 86_400_000

PURPOSES: tuple[str, ...] = ("customer", "agent", "acd", "ivr", "user", "external")
"""Documented purposes; the first three are the legs of a callback and drawn most often."""
_PURPOSE_WEIGHTS: tuple[str, ...] = ("customer", "agent", "acd") * 5 + ("ivr", "user", "external")

_ENDED = (State.DISCONNECTED, State.TERMINATED)

# The states a generator draws, plainest first (what a shrinking backend ends on).
_STATE_ORDER: tuple[State, ...] = (
    State.CONNECTED,
    State.DISCONNECTED,
    State.ALERTING,
    State.TERMINATED,
    State.DIALING,
    State.CONTACTING,
    State.OFFERING,
    State.CONVERTING,
    State.UPLOADING,
    State.TRANSMITTING,
    State.NONE,
    State.PARKED,
    State.OUTDATED_SDK_VERSION,
)


# How often each state is drawn in bulk: the live and ended states of a callback leg dominate.
_STATE_WEIGHT: dict[State, int] = {
    State.CONNECTED: 6,
    State.DISCONNECTED: 8,
    State.ALERTING: 3,
    State.TERMINATED: 3,
}


@cache
def _weighted_states(edition: Edition) -> tuple[State, ...]:
    return tuple(s for s in states(edition) for _ in range(_STATE_WEIGHT.get(s, 1)))


@cache
def states(edition: Edition) -> tuple[State, ...]:
    """Every state value of ``edition`` (the sentinel included), plainest first."""
    known = set(known_values(State, edition))
    return tuple(s for s in _STATE_ORDER if s in known)


def state_bounds(state: str | None, edition: Edition) -> tuple[set[str], set[str]]:
    """The timestamps a valid participant in ``state`` must have, and those it must not have."""
    require: set[str] = set()
    forbid: set[str] = set()
    known = state in set(known_values(State, edition)) and state != State.OUTDATED_SDK_VERSION
    if not known:
        return require, forbid
    if state in _ENDED:
        require.add("endTime")
    else:
        forbid.update(("endTime", "startAcwTime"))
    if state == State.CONNECTED:
        require.add("connectedTime")
    if state == State.PARKED:
        require.add("parkTime")
    return require, forbid


def states_for(cls: OrderingClass, edition: Edition) -> tuple[State, ...]:
    """The states a valid participant with ordering class ``cls`` can be in (never empty: the
    sentinel ``OutdatedSdkVersion`` fits any class)."""
    present = cls.present
    out = []
    for state in states(edition):
        require, forbid = state_bounds(state, edition)
        if require <= present and not forbid & present:
            out.append(state)
    return tuple(out)


# How likely each optional timestamp is, by purpose group (agent legs or customer/acd legs).
_PRESENCE: dict[str, tuple[float, float]] = {
    #                      agent, other
    "startTime": (0.97, 0.97),
    "startAlertingTime": (0.9, 0.05),
    "connectedTime": (0.8, 0.8),
    "startHoldTime": (0.15, 0.03),
    "parkTime": (0.05, 0.01),
    "resumeTime": (0.6, 0.3),
    "endTime": (0.5, 0.5),
    "startAcwTime": (0.8, 0.05),
    "endAcwTime": (0.6, 0.1),
    "wrapup.endTime": (0.4, 0.02),
    "callbackScheduledTime": (0.3, 0.7),
}

# Timestamps that rarely appear without another one (realism only: the rules allow it).
_FOLLOWS: dict[str, str] = {
    "endAcwTime": "startAcwTime",
    "wrapup.endTime": "startAcwTime",
    "resumeTime": "parkTime",
    "startHoldTime": "connectedTime",
}

# Largest gap (ms) before a level that a timestamp opens: alerting follows start within
# milliseconds, talk time runs to half an hour, callbacks are scheduled up to a few days out.
_GAP_MS: dict[str, int] = {
    "startTime": 60_000,
    "startAlertingTime": 40,
    "connectedTime": 120_000,
    "startHoldTime": 300_000,
    "parkTime": 600_000,
    "resumeTime": 3_600_000,
    "endTime": 1_800_000,
    "startAcwTime": 1_000,
    "endAcwTime": 300_000,
    "wrapup.endTime": 5_000,
    "callbackScheduledTime": 3 * 86_400_000,
}


def layout(ch: Chooser, cls: OrderingClass, base_ms: int) -> dict[str, int]:
    """Instants (epoch ms) realizing ``cls``: the first level at ``base_ms``, then positive gaps."""
    out: dict[str, int] = {}
    t = base_ms
    for i, level in enumerate(cls.levels):
        if i:
            t += ch.between(1, _GAP_MS[level[0]])
        for key in level:
            out[key] = t
    return out


class Shape:
    """What to build: the edition, rule set, any fixed purpose, state or ordering class, and the
    anchor instant (epoch ms; default `ANCHOR`) whose following year the instants fall in."""

    __slots__ = ("anchor_ms", "edition", "ordering", "purpose", "rules", "state", "strict")

    def __init__(
        self,
        *,
        edition: Edition = Edition.SEED,
        rules: RuleSet = RuleSet.STRICT,
        purpose: str | None = None,
        state: str | None = None,
        ordering: OrderingClass | None = None,
        anchor_ms: int | None = None,
    ) -> None:
        self.anchor_ms = ANCHOR_MS if anchor_ms is None else anchor_ms
        self.edition = edition
        self.rules = rules
        self.purpose = purpose
        self.state = state
        self.ordering = ordering
        self.strict = rules is RuleSet.STRICT


def _ordering(ch: Chooser, shape: Shape, agent: bool, state: str) -> OrderingClass:
    if shape.ordering is not None:
        return shape.ordering
    require, forbid = state_bounds(state, shape.edition) if shape.strict else (set(), set())
    col = 0 if agent else 1
    seen: set[str] = set(require)

    def present(key: str) -> bool:
        p = _PRESENCE[key][col]
        if key in _FOLLOWS and _FOLLOWS[key] not in seen:
            p = 0.02
        if ch.chance(p):
            seen.add(key)
            return True
        return False

    def choose(key: str, n: int) -> int:
        # Mostly chronological (a new level at the end, the last option); after-call work mostly
        # starts at the very millisecond the leg ends (option 0: tied with endTime).
        if key == "startAcwTime" and ch.chance(0.8):
            return 0
        if n > 1 and ch.chance(0.75):
            return n - 1
        return ch.below(n)

    if not shape.strict:
        return _unordered(ch, shape.edition, present)
    return walk(shape.edition, present, choose, require=require, forbid=forbid)


def _unordered(ch: Chooser, edition: Edition, present: Callable[[str], bool]) -> OrderingClass:
    """Any order at all (structural rule set): each present timestamp gets a random level."""
    levels: list[list[str]] = []
    for key in timestamps(edition):
        if present(key):
            i = ch.below(len(levels) + 1)
            if i < len(levels) and ch.chance(0.3):
                levels[i].append(key)
            else:
                levels.insert(i, [key])
    return OrderingClass(tuple(tuple(level) for level in levels))


def _disconnect_type(ch: Chooser, edition: Edition, purpose: str) -> str:
    if ch.chance(0.6):
        # The common ones for the leg: agents decline, time out or are transferred; customers and
        # queues end at the endpoint, by transfer or by the peer.
        return ch.pick(_AGENT_ENDS if purpose == "agent" else _OTHER_ENDS)
    return ch.pick(known_values(DisconnectType, edition)).value


_AGENT_ENDS = ("client", "system", "transfer")
_OTHER_ENDS = ("endpoint", "transfer", "peer")


def _int(ch: Chooser, strict: bool, lo: int, hi: int) -> int:
    """An integer in [lo, hi]; under structural rules sometimes negative (value rules are off)."""
    if not strict and ch.chance(0.1):
        return -ch.between(1, hi)
    return ch.between(lo, hi)


def copy_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of a generated payload, safe to edit (payloads share population refs)."""
    copied: dict[str, Any] = orjson.loads(orjson.dumps(payload))
    return copied


def build_participant(
    ch: Chooser,
    shape: Shape,
    *,
    base_ms: int | None = None,
    person: Callable[[Chooser], str] = vocab.person_name,
    population: Population | None = None,
) -> dict[str, Any]:
    """One valid participant's wire payload.

    ``base_ms`` anchors its earliest instant (epoch ms); by default it is drawn within a year after
    `ANCHOR`. ``person`` makes display names; ``population`` supplies queues, agents and codes
    (`default_population` if None). Nested entity references are shared with the population: copy
    the payload (`copy_payload`) before editing it.
    """
    pop = population or default_population()
    chance, pick = ch.chance, ch.pick
    edition, strict = shape.edition, shape.strict
    defined = participant_fields(edition)
    purpose = shape.purpose or pick(_PURPOSE_WEIGHTS)
    agent = purpose == "agent"
    customer_leg = purpose in ("customer", "acd")
    state: str = shape.state or pick(_weighted_states(edition)).value
    cls = _ordering(ch, shape, agent, state)
    if base_ms is None:
        base_ms = shape.anchor_ms + ch.below(_YEAR_MS)
    instants = layout(ch, cls, base_ms)
    times = {k: format_epoch_ms(v) for k, v in instants.items()}
    ended = state in _ENDED
    known_state = state in _known_state_values(edition)
    queue = pick(pop.queues) if purpose in ("acd", "agent") or chance(0.1) else None

    out: dict[str, Any] = {"id": vocab.entity_id(ch)}
    customer_name = person(ch)
    if purpose == "customer":
        out["name"] = customer_name
        out["address"] = vocab.e164_number(ch)
    elif purpose == "acd":
        out["name"] = queue["name"] if queue else pick(vocab.QUEUES)
    elif purpose == "ivr":
        out["name"] = pick(vocab.FLOWS)
    user = pick(pop.agents) if agent else None
    if user is not None and chance(0.9):
        out["name"] = user["name"]
    for key in ("startTime", "startAlertingTime", "connectedTime", "endTime", "startHoldTime"):
        if key in times:
            out[key] = times[key]
    out["purpose"] = purpose
    out["state"] = state
    if chance(0.02):
        out["direction"] = "OutdatedSdkVersion"
    else:
        out["direction"] = (
            "outbound" if purpose in ("customer", "agent") or chance(0.5) else "inbound"
        )
    if (ended or not known_state or not strict) and chance(0.9):
        out["disconnectType"] = _disconnect_type(ch, edition, purpose)
    if state == State.CONNECTED and "startHoldTime" in times:
        out["held"] = chance(0.7)
    elif not strict or not known_state:
        if chance(0.5):
            out["held"] = chance(0.3)
    elif chance(0.5):
        out["held"] = False
    if user is not None:
        out["wrapupRequired"] = chance(0.6)
        out["wrapupPrompt"] = pick(vocab.WRAPUP_PROMPTS)
        if "mediaRoles" in defined and chance(0.3):
            out["mediaRoles"] = ["full", *vocab.pick_some(ch, vocab.MEDIA_ROLES[1:], 2)]
        out["user"] = user
    if queue is not None:
        out["queue"] = queue
    if agent and chance(0.5):
        out["team"] = pick(pop.teams)
    if customer_leg and chance(0.6):
        keys = vocab.pick_some(ch, vocab.ATTRIBUTE_KEYS, 3)
        if keys:
            out["attributes"] = {k: pick(vocab.ATTRIBUTE_VALUES) for k in keys}
    if out.get("disconnectType") in ("error", "transport.failure") or chance(0.02):
        message, code = pick(vocab.ERRORS)
        out["errorInfo"] = {"message": message, "code": code}
    if chance(0.25):
        out["script"] = pick(pop.scripts)
    if agent:
        out["wrapupTimeoutMs"] = _int(ch, strict, 0, 3_600_000)
        out["alertingTimeoutMs"] = 30_000 if chance(0.7) else _int(ch, strict, 0, 120_000)
    if chance(0.8):
        out["provider"] = "PureCloud Callback"
    if purpose == "customer" and chance(0.3):
        contact = vocab.entity_id(ch)
        out["externalContact"] = {
            "id": contact,
            "selfUri": f"/api/v2/externalcontacts/contacts/{contact}",
        }
        if "externalContactInitialDivisionId" in defined and chance(0.7):
            out["externalContactInitialDivisionId"] = vocab.entity_id(ch)
        if chance(0.3):
            out["externalOrganization"] = pick(pop.organizations)
    wrapup_has_end = "wrapup.endTime" in times
    skipped = agent and not wrapup_has_end and chance(0.2)
    if (
        wrapup_has_end
        or (agent and not skipped and ended and chance(0.5))
        or (not strict and chance(0.1))
    ):
        out["wrapup"] = _wrapup(ch, pop, strict, instants)
    if skipped or (agent and chance(0.3)):
        out["wrapupSkipped"] = skipped or (not strict and chance(0.5))
    if purpose == "acd" and chance(0.5):
        out["peer"] = vocab.entity_id(ch)
    if chance(0.03):
        out["flaggedReason"] = pick(("general", "OutdatedSdkVersion"))
    if purpose == "customer" and chance(0.1):
        out["journeyContext"] = _journey(ch)
    if purpose in ("acd", "agent") and chance(0.6):
        out["conversationRoutingData"] = _routing(ch, pop, strict, queue)
    for key in ("startAcwTime", "endAcwTime", "parkTime", "resumeTime"):
        if key in times:
            out[key] = times[key]
    if chance(0.08):
        out["outboundPreview"] = preview_payload(ch, pop)
    if chance(0.03):
        out["voicemail"] = {
            "id": vocab.entity_id(ch),
            "uploadStatus": pick(("complete", "pending", "failed", "timeout", "none")),
        }
    if customer_leg or chance(0.2):
        out["callbackNumbers"] = [vocab.e164_number(ch) for _ in range(ch.between(1, 2))]
        out["callbackUserName"] = customer_name
        out["externalCampaign"] = chance(0.1)
        out["skipEnabled"] = chance(0.5)
        out["timeoutSeconds"] = 0 if chance(0.5) else _int(ch, strict, 0, 600)
        if chance(0.1):
            out["automatedCallbackConfigId"] = vocab.entity_id(ch)
    if "callbackScheduledTime" in times:
        out["callbackScheduledTime"] = times["callbackScheduledTime"]
    return out


@cache
def _known_state_values(edition: Edition) -> frozenset[str]:
    return frozenset(s.value for s in known_values(State, edition)) - {State.OUTDATED_SDK_VERSION}


def _wrapup(ch: Chooser, pop: Population, strict: bool, instants: dict[str, int]) -> dict[str, Any]:
    code, name = ch.pick(pop.wrapup_codes)
    out: dict[str, Any] = {"code": code, "name": name}
    if ch.chance(0.4):
        out["notes"] = ch.pick(vocab.NOTES)
    if ch.chance(0.3):
        tags = vocab.pick_some(ch, vocab.TAGS, 3)
        if tags:
            out["tags"] = tags
    start, end = instants.get("startAcwTime"), instants.get("wrapup.endTime")
    if start is not None and end is not None and end >= start:
        out["durationSeconds"] = (end - start) // 1000
    elif ch.chance(0.5):
        out["durationSeconds"] = _int(ch, strict, 0, 600)
    if end is not None:
        out["endTime"] = format_epoch_ms(end)
    if ch.chance(0.2):
        out["provisional"] = ch.chance(0.5)
    return out


def _journey(ch: Chooser) -> dict[str, Any]:
    return {
        "customer": {"id": vocab.entity_id(ch), "idType": "cookie"},
        "customerSession": {"id": vocab.entity_id(ch), "type": ch.pick(("web", "app"))},
        "triggeringAction": {
            "id": vocab.entity_id(ch),
            "actionMap": {"id": vocab.entity_id(ch), "version": ch.between(1, 20)},
        },
    }


def _routing(
    ch: Chooser, pop: Population, strict: bool, queue: dict[str, Any] | None
) -> dict[str, Any]:
    if queue is not None:
        routing_queue = {"id": queue["id"], "selfUri": queue["selfUri"]}
    else:
        routing_queue = ch.pick(pop.routing_queues)
    out: dict[str, Any] = {"queue": routing_queue}
    if ch.chance(0.4):
        out["language"] = ch.pick(pop.languages)
    out["priority"] = _int(ch, strict, 0, 10)
    picked = sorted({ch.below(len(pop.skills)) for _ in range(ch.between(0, 3))})
    if picked:
        out["skills"] = [pop.skills[i] for i in picked]
        if ch.chance(0.3):
            out["skillExpression"] = " AND ".join(
                f"{vocab.SKILLS[i]} >= {ch.between(1, 5)}" for i in picked
            )
            out["skillExpressionId"] = vocab.entity_id(ch)
    if ch.chance(0.3):
        out["scoredAgents"] = [
            {"agent": ch.pick(pop.agent_refs), "score": ch.between(0, 100)}
            for _ in range(ch.between(1, 3))
        ]
    if ch.chance(0.2):
        out["label"] = ch.pick(("callback", "priority", "voice-only"))
    return out


def preview_payload(ch: Chooser, pop: Population) -> dict[str, Any]:
    """An ``outboundPreview`` (DialerPreview) of one of the population's campaigns."""
    campaign, contact_list = ch.pick(pop.campaigns)
    return {
        "id": vocab.entity_id(ch),
        "contactId": vocab.entity_id(ch),
        "contactListId": contact_list,
        "campaignId": campaign,
        "phoneNumberColumns": [
            {"columnName": name, "type": kind, "callableTimeColumnName": f"{name} callable time"}
            for name, kind in (("Cell", "cell"), ("Home", "home"))[: ch.between(1, 2)]
        ],
        "callbackAutoAnswer": ch.chance(0.2),
    }
