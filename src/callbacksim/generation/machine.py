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
``terminated``). `wire_state` maps one to the other; every other state is its own wire value.

Customer and queue (``acd``) legs of a scheduled callback wait in ``scheduled``, the value Genesys
Cloud shows for a waiting callback communication; it is outside the participant model's enum
table and so travels as an unknown enum string, which consumers must keep verbatim.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping

import attrs

from callbacksim.errors import CallbacksimError

__all__ = [
    "FINAL",
    "TRANSITIONS",
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
    _T("customer", "connected", "abandon", "disconnected"),
    _T("customer", "connected", "end", "disconnected"),
    # The queue's leg: in queue until an agent connects (it then ends with "transfer").
    _T("acd", None, "create", "scheduled"),
    _T("acd", None, "create-routed", "connected"),
    _T("acd", "scheduled", "route", "connected"),
    _T("acd", "scheduled", "cancel", "disconnected"),
    _T("acd", "connected", "transfer", "disconnected"),
    _T("acd", "connected", "abandon", "disconnected"),
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
    _T("agent", "connected", "transfer", "ended"),
    _T("agent", "connected", "fail", "ended"),
    _T("agent", "ended", "wrapup", "wrapped"),
    _T("agent", "ended", "skip-wrapup", "wrapped"),
    _T("agent", "ended", "wrapup-timeout", "wrapped"),
    # A flow (IVR) that created the callback hands the conversation over and leaves.
    _T("ivr", None, "enter", "connected"),
    _T("ivr", "connected", "transfer", "disconnected"),
)

FINAL: frozenset[str] = frozenset({"disconnected", "missed", "ended", "wrapped"})
"""States in which a participant may stay for good."""

_WIRE_STATE = {"held": "connected", "missed": "disconnected", "ended": "disconnected"}
_WIRE_STATE["wrapped"] = "terminated"


def wire_state(state: str) -> str:
    """The participant ``state`` a machine state shows on the wire."""
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
