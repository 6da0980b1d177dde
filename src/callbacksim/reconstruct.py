"""The lifecycle of an exported conversation, rebuilt from its participants' final states.

An export holds every participant as it ended; Genesys Cloud had sent a snapshot of it at each
change. The timestamps say when most changes happened, so each distinct instant among a
participant's timestamps becomes one snapshot, in time order, and the last snapshot is the exported
participant itself, unchanged. What each snapshot holds:

- From the first snapshot (``startTime``): every property not listed below,
  ``callbackScheduledTime`` included (a callback is created with its scheduled time).
- Each timestamp from its own instant; ``resumeTime`` (the scheduled resume) together with
  ``parkTime``.
- ``disconnectType`` and ``errorInfo`` from ``endTime``; ``wrapup`` from ``wrapup.endTime`` (else
  ``endAcwTime``, else ``endTime``); ``wrapupSkipped`` from ``endAcwTime`` (else ``endTime``).
- ``held: true`` from ``startHoldTime``; ``wrapupRequired: true`` from ``endTime`` (``false``
  before it, as an offered leg shows).
- ``state`` as the timestamps say: ``connected`` from ``connectedTime``, ``parked`` from
  ``parkTime``, the exported end state from ``endTime``. Where a state has no timestamp of its own
  the rebuild assumes one, and says which (`ASSUMPTIONS`, reported once per kind).

Every rebuilt snapshot satisfies every rule of the edition (one that would not is merged into the
next, and that is reported too). A participant that breaks a rule is kept as it is, as one snapshot
marked with the ids of the rules it breaks; it is never dropped. The result is a stream of lifecycle
events, ``{"time", "conversationId", "participantId", "sequence", "participant"}``, the file format
that replay and ``show`` read.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

import attrs

from callbacksim.model import Edition
from callbacksim.rules import Violation, check, facts, timestamps
from callbacksim.wiretime import epoch_ms, format_epoch_ms

__all__ = ["ASSUMPTIONS", "Invalid", "Rebuilt", "rebuild"]

ASSUMPTIONS: dict[str, str] = {
    "waits-none": (
        "customer (or external) and queue (acd) legs that did not connect when created wait in "
        "state 'none' (the REST participant enum has no 'scheduled') until they connect or end"
    ),
    "no-dialing": (
        "a customer leg that waits is never rebuilt 'dialing': Customer First dial attempts leave "
        "no timestamp once over, so the leg shows its waiting state through them"
    ),
    "ivr-hands-over": (
        "a customer leg that connects the instant an ivr leg ends was handed over by the flow: "
        "it first shows then, connected (the ivr leg carried the call before)"
    ),
    "alerting-from-start": (
        "other legs that did not connect when created (offers to agents) are 'alerting' from "
        "startTime until they connect or end, before startAlertingTime too"
    ),
    "disconnected-until-acw-end": (
        "a terminated leg with after-call work is 'disconnected' from endTime and 'terminated' "
        "from endAcwTime (or wrapup.endTime)"
    ),
    "terminated-at-end": (
        "a terminated leg without after-call-work times is 'terminated' from endTime"
    ),
    "wrapup-required-at-end": "wrapupRequired is false until endTime and true from then",
    "resumed-at-resume-time": "a leg parked and no longer parked resumed at its resumeTime",
    "parked-until-end": (
        "a parked leg with no resumeTime before its end stayed parked until endTime"
    ),
    "past-holds": (
        "held is false and startHoldTime absent: earlier holds left no timestamps, so none is "
        "rebuilt"
    ),
    "no-start": "a leg without startTime begins at its earliest timestamp",
    "early-timestamps": (
        "a timestamp earlier than startTime (nothing orders it) shows from the first snapshot"
    ),
    "no-timestamps": "a leg without any timestamp is one snapshot at the conversation's start",
    "merged": "a rebuilt snapshot that would break a rule is merged into the next one",
}
"""What the rebuild assumes where the timestamps cannot tell, by kind."""

_WAITING = {"customer": "none", "external": "none", "acd": "none"}
"""The state a leg of this purpose shows before it connects; any other purpose: alerting."""


@attrs.frozen
class Invalid:
    """A participant that breaks rules: where it is in the conversation and what it breaks. Its
    one snapshot is kept, marked with the rule ids (``"invalid"`` on the event)."""

    index: int
    participant_id: str | None
    violations: tuple[Violation, ...]


@attrs.frozen
class Rebuilt:
    """One conversation's lifecycle events in time order, with what was found on the way."""

    conversation_id: str
    events: tuple[dict[str, Any], ...]
    participants: int
    invalid: tuple[Invalid, ...] = ()
    assumptions: Counter[str] = attrs.field(factory=Counter)
    """Kinds of `ASSUMPTIONS` made, with how many participants needed each."""
    problems: tuple[str, ...] = ()
    """Anything changed or left out, one sentence each (a missing id given, a duplicate left)."""


def rebuild(
    conversation: Mapping[str, Any],
    *,
    edition: Edition = Edition.SEED,
    fallback_id: str,
    fallback_ms: int,
) -> Rebuilt:
    """The lifecycle of one exported conversation (``{"id", "participants": [...]}``).

    ``fallback_id`` names a conversation without an id; ``fallback_ms`` is the start of one
    without any timestamp.
    """
    problems: list[str] = []
    cid = conversation.get("id")
    if not isinstance(cid, str) or not cid:
        cid = fallback_id
        problems.append(f"the conversation has no id: given {cid}")
    raw = conversation.get("participants")
    participants: list[Any] = raw if isinstance(raw, list) else []
    times = [_times(p, edition) if isinstance(p, dict) else {} for p in participants]
    starts = [min(t.values()) for t in times if t]
    start_ms = min(starts) if starts else fallback_ms
    seen: set[str] = set()
    invalid: list[Invalid] = []
    assumptions: Counter[str] = Counter()
    keyed: list[tuple[int, int, int, dict[str, Any]]] = []
    handovers = {
        t["endTime"]
        for p, t in zip(participants, times, strict=True)
        if isinstance(p, dict) and p.get("purpose") == "ivr" and "endTime" in t
    }
    for index, p in enumerate(participants):
        if not isinstance(p, dict):
            bad = tuple(check(p, edition=edition))
            invalid.append(Invalid(index, None, bad))
            problems.append(
                f"participants[{index}] is not a JSON object and is left out "
                "(a lifecycle event carries a participant object)"
            )
            continue
        pid = p.get("id")
        if not isinstance(pid, str) or not pid:
            pid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"callbacksim:{cid}:{index}"))
            problems.append(f"participants[{index}] has no id: its events use {pid}")
        if pid in seen:
            problems.append(f"participants[{index}] repeats the id {pid} and is left out")
            continue
        seen.add(pid)
        violations = tuple(check(p, edition=edition))
        if violations:
            invalid.append(Invalid(index, pid, violations))
            ms = max(times[index].values()) if times[index] else start_ms
            event = _event(ms, cid, pid, 1, p)
            event["invalid"] = sorted({v.rule for v in violations})
            keyed.append((ms, index, 1, event))
            continue
        used: set[str] = set()
        snapshots = _snapshots(p, times[index], edition, used, handovers)
        if not snapshots:
            used.add("no-timestamps")
            snapshots = [(start_ms, p)]
        assumptions.update(used)
        for seq, (ms, snap) in enumerate(snapshots, start=1):
            keyed.append((ms, index, seq, _event(ms, cid, pid, seq, snap)))
    keyed.sort(key=lambda item: item[:3])
    events = tuple(event for *_, event in keyed)
    return Rebuilt(cid, events, len(participants), tuple(invalid), assumptions, tuple(problems))


def _event(ms: int, cid: str, pid: str, seq: int, snap: dict[str, Any]) -> dict[str, Any]:
    return {
        "time": format_epoch_ms(ms),
        "conversationId": cid,
        "participantId": pid,
        "sequence": seq,
        "participant": snap,
    }


def _times(p: Mapping[str, Any], edition: Edition) -> dict[str, int]:
    """The participant's well-formed timestamps of ``edition`` (the scheduled time aside), in epoch
    ms, by wire path."""
    known = facts(p, edition)
    out = {}
    for key in timestamps(edition):
        value = known.get(key)
        if key != "callbackScheduledTime" and isinstance(value, datetime):
            out[key] = epoch_ms(value)
    return out


def _snapshots(
    p: dict[str, Any],
    times: Mapping[str, int],
    edition: Edition,
    used: set[str],
    handovers: Collection[int] = (),
) -> list[tuple[int, dict[str, Any]]]:
    """(instant, snapshot) of a valid participant with its timestamps ``times`` (`_times`), the
    last being ``p`` itself; empty when it has no timestamp. ``used`` collects the kinds of
    `ASSUMPTIONS` made; ``handovers`` are the instants ivr legs ended."""
    if not times:
        return []
    start = times.get("startTime")
    if start is None:
        start = min(times.values())
        used.add("no-start")
    elif min(times.values()) < start:
        used.add("early-timestamps")

    def at(ms: int) -> int:
        return max(ms, start)

    end = times.get("endTime")
    connected = times.get("connectedTime")
    park = times.get("parkTime")
    resume = times.get("resumeTime")
    acw_end = times.get("endAcwTime", times.get("wrapup.endTime"))
    last = max(at(ms) for ms in times.values())
    end_at = at(end) if end is not None else last
    final = p.get("state")

    appear = dict.fromkeys(p, start)
    for key, ms in times.items():
        if "." not in key:
            appear[key] = at(ms)
    if "resumeTime" in times and park is not None:
        appear["resumeTime"] = at(park)
    for key in ("disconnectType", "errorInfo"):
        if key in p:
            appear[key] = end_at
    if "wrapup" in p:
        wrapup_end = times.get("wrapup.endTime", times.get("endAcwTime"))
        appear["wrapup"] = at(wrapup_end) if wrapup_end is not None else end_at
    if "wrapupSkipped" in p:
        appear["wrapupSkipped"] = at(times["endAcwTime"]) if "endAcwTime" in times else end_at
    if p.get("held") is True and "startHoldTime" in times:
        appear["held"] = at(times["startHoldTime"])
    elif p.get("held") is False and "startHoldTime" not in p:
        used.add("past-holds")
    required_late = p.get("wrapupRequired") is True and end is not None

    resumes = (
        park is not None
        and resume is not None
        and final != "parked"
        and (end is None or resume <= end)
    )
    changes = set(appear.values())
    if resumes:
        assert resume is not None
        changes.add(at(resume))
    waiting = _WAITING.get(str(p.get("purpose")), "alerting")
    customer_side = waiting == "none" and p.get("purpose") != "acd"  # never dialled, never alerted
    handed_over = (
        customer_side and connected is not None and connected > start and connected in handovers
    )
    if handed_over:
        assert connected is not None
        used.add("ivr-hands-over")
        changes = {t for t in changes if t > connected} | {at(connected)}

    def state_at(t: int) -> Any:
        if end is not None and t >= end_at:
            if final == "terminated":
                if acw_end is None:
                    used.add("terminated-at-end")
                elif t < at(acw_end):
                    used.add("disconnected-until-acw-end")
                    return "disconnected"
            return final
        if connected is not None and t >= at(connected):
            if park is not None and t >= at(park):
                if not resumes:
                    if final != "parked":
                        used.add("parked-until-end")
                    return "parked"
                assert resume is not None
                if t < at(resume):
                    return "parked"
                used.add("resumed-at-resume-time")
            return "connected"
        if connected is None and end is None:
            return final
        if final != waiting:
            used.add("waits-none" if waiting == "none" else "alerting-from-start")
        if customer_side:
            used.add("no-dialing")
        return waiting

    out: list[tuple[int, dict[str, Any]]] = []
    instants = sorted(changes)
    for t in instants[:-1]:
        snap = {key: value for key, value in p.items() if appear[key] <= t}
        if "state" in p:
            snap["state"] = state_at(t)
        if required_late and t < end_at:
            snap["wrapupRequired"] = False
            used.add("wrapup-required-at-end")
        if out and out[-1][1] == snap:
            continue
        if check(snap, edition=edition):
            used.add("merged")
            continue
        out.append((t, snap))
    if "state" in p and len(instants) > 1:
        state_at(instants[-1])  # note the assumption that leads to the final state
    out.append((instants[-1], p))
    return out
