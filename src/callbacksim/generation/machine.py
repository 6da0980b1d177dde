"""The participant state machine of a callback conversation, declared once as a table.

Each row is (role, from state, event, to state). ``None`` as the from state is a participant's
creation. The table is checked (`check_table`) when this module loads: every state of a role is
reachable from its creation, and every state either ends the participant or has a way on. The
simulator asks `step` for every change it makes, so an illegal transition is caught where it is
attempted.

The machine's states are finer than the wire's ``state``, so that the table itself can say what
may happen: an agent leg on hold is ``held`` (wire ``connected``; so no hold twice, no unhold
without a hold), a missed offer is ``missed`` and an ended call ``ended`` (both wire
``disconnected``; only an ended call has after-call work), and wrap-up done is ``wrapped`` (wire
``terminated``). `wire_state` maps one to the other; every other state but the waiting one (below)
is its own wire value.

A customer or queue (``acd``) leg waiting for its scheduled time is ``scheduled``: the callback
communication's initial state. What the participant's ``state`` shows meanwhile is the profile's
``pre_routing_state`` (`wire_state`'s ``waiting``): the REST participant enum has no
``scheduled``, only the notification topic's does. A Customer First customer leg is ``dialing``
while the system calls the customer, and waits (``scheduled``) again between attempts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping

import attrs

from callbacksim.errors import CallbacksimError

__all__ = [
    "FINAL",
    "TRANSITIONS",
    "WAITING",
    "WIRE_FINAL",
    "IllegalTransition",
    "Transition",
    "allowed",
    "check_table",
    "step",
    "wire_state",
]


@attrs.frozen
class Transition:
    role: str
    source: str | None
    event: str
    target: str


_T = Transition

TRANSITIONS: tuple[Transition, ...] = (
    # The customer's leg: waits for its scheduled time, is routed, ends with the conversation.
    _T("customer", None, "create", "scheduled"),
    _T("customer", None, "create-routed", "connected"),
    _T("customer", "scheduled", "route", "connected"),
    _T("customer", "scheduled", "cancel", "disconnected"),
    _T("customer", "connected", "reschedule", "connected"),  # a new callbackScheduledTime
    _T("customer", "connected", "abandon", "disconnected"),
    _T("customer", "connected", "remove", "disconnected"),  # the system ends the callback
    _T("customer", "connected", "end", "disconnected"),
    # Customer First: the system dials the customer before an agent is offered the callback.
    _T("customer", None, "create-dialing", "dialing"),
    _T("customer", "scheduled", "dial", "dialing"),
    _T("customer", "dialing", "no-answer", "scheduled"),  # waits for the next attempt
    _T("customer", "dialing", "unreachable", "disconnected"),  # the last attempt went unanswered
    _T("customer", "dialing", "answer", "connected"),
    # The queue's leg: in queue until an agent connects (it then ends with "transfer").
    _T("acd", None, "create", "scheduled"),
    _T("acd", None, "create-routed", "connected"),
    _T("acd", "scheduled", "route", "connected"),
    _T("acd", "scheduled", "cancel", "disconnected"),
    _T("acd", "connected", "requeue", "connected"),  # ownership expired: any agent may take it
    _T("acd", "connected", "transfer", "disconnected"),
    _T("acd", "connected", "abandon", "disconnected"),
    _T("acd", "connected", "remove", "disconnected"),
    # One agent leg per offer.
    _T("agent", None, "offer", "alerting"),
    _T("agent", "alerting", "accept", "connected"),
    _T("agent", "alerting", "timeout", "missed"),
    _T("agent", "alerting", "decline", "missed"),
    _T("agent", "alerting", "abandon", "missed"),
    _T("agent", "connected", "hold", "held"),
    _T("agent", "held", "unhold", "connected"),
    _T("agent", "connected", "park", "parked"),
    _T("agent", "parked", "resume", "connected"),
    _T("agent", "connected", "end", "ended"),
    _T("agent", "connected", "auto-end", "ended"),  # the queue's auto-end after the call
    _T("agent", "connected", "transfer", "ended"),
    _T("agent", "connected", "fail", "ended"),
    _T("agent", "ended", "wrapup", "wrapped"),
    _T("agent", "ended", "skip-wrapup", "wrapped"),
    _T("agent", "ended", "wrapup-timeout", "wrapped"),
    # A flow (IVR): one that created the callback hands the conversation over and leaves; one an
    # answering machine is sent to ends the call.
    _T("ivr", None, "enter", "connected"),
    _T("ivr", "connected", "transfer", "disconnected"),
    _T("ivr", "connected", "end", "disconnected"),
)

FINAL: frozenset[str] = frozenset({"disconnected", "missed", "ended", "wrapped"})
"""States in which a participant may stay for good."""

_WIRE_STATE = {"held": "connected", "missed": "disconnected", "ended": "disconnected"}
_WIRE_STATE["wrapped"] = "terminated"


WAITING = "scheduled"
"""The machine state of a customer or queue leg waiting to be routed (or dialled again)."""


def wire_state(state: str, waiting: str = "none") -> str:
    """The participant ``state`` a machine state shows on the wire; a waiting leg shows
    ``waiting`` (the profile's ``pre_routing_state``)."""
    if state == WAITING:
        return waiting
    return _WIRE_STATE.get(state, state)


WIRE_FINAL: frozenset[str] = frozenset(wire_state(s) for s in FINAL)
"""The wire ``state`` values of the final states: ``disconnected`` and ``terminated``."""

_Table = dict[tuple[str, str | None], dict[str, str]]


def _index(transitions: Iterable[Transition]) -> _Table:
    """(role, from state) -> {event: to state}."""
    table: _Table = defaultdict(dict)
    for t in transitions:
        table[(t.role, t.source)][t.event] = t.target
    return table


_TABLE = _index(TRANSITIONS)


class IllegalTransition(CallbacksimError):
    """A change the state machine does not allow; the message names who, where, what and what
    would have been allowed."""


def allowed(role: str, state: str | None) -> Mapping[str, str]:
    """The events a ``role`` participant in ``state`` may take, with the state each leads to."""
    return _TABLE.get((role, state), {})


def step(role: str, participant: str, state: str | None, event: str) -> str:
    """The state after ``event``; `IllegalTransition` if the table has no such row."""
    targets = allowed(role, state)
    if event not in targets:
        options = ", ".join(f"{e} -> {s}" for e, s in sorted(targets.items())) or "none"
        msg = (
            f"participant {participant} ({role}) is in state {state!r} and cannot take "
            f"{event!r}; allowed from there: {options}"
        )
        raise IllegalTransition(msg)
    return targets[event]


def check_table(transitions: Iterable[Transition], final: Collection[str] = FINAL) -> None:
    """`ValueError` unless, for every role, every state is reachable from the role's creation and
    every state outside ``final`` has a way on."""
    rows = tuple(transitions)
    table = _index(rows)
    for role in sorted({t.role for t in rows}):
        states = {t.target for t in rows if t.role == role}
        states |= {t.source for t in rows if t.role == role and t.source is not None}
        reachable: set[str] = set()
        frontier = [t.target for t in rows if t.role == role and t.source is None]
        while frontier:
            state = frontier.pop()
            if state not in reachable:
                reachable.add(state)
                frontier.extend(table.get((role, state), {}).values())
        unreachable = states - reachable
        dead_ends = {s for s in states if s not in final and not table.get((role, s))}
        if unreachable or dead_ends:
            msg = f"state table for {role}: unreachable {unreachable}, dead ends {dead_ends}"
            raise ValueError(msg)


check_table(TRANSITIONS)
