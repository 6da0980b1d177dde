"""The participant state machine: its table, the check made at module load, illegal transitions,
and a stateful test that plays random conversations through the table.

The stateful test keeps a small conversation (customer, queue, agents, optionally an IVR) as wire
snapshots and applies one transition of `machine.TRANSITIONS` per rule, each with the field
changes the simulator would make. Every snapshot must satisfy every rule of the sdk-269 edition,
and the teardown drives each leg to a final state through allowed transitions only.
"""

from __future__ import annotations

from collections import deque
from typing import Any, ClassVar

import hypothesis  # noqa: F401  (before callbacksim.strategies; see the pytest plugin's note)
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from callbacksim.errors import CallbacksimError
from callbacksim.generation import machine
from callbacksim.generation.machine import (
    FINAL,
    TRANSITIONS,
    IllegalTransition,
    allowed,
    step,
    wire_state,
)
from callbacksim.model import Edition
from callbacksim.rules import check
from callbacksim.wiretime import epoch_ms, format_epoch_ms, parse_datetime

ROLES = ("customer", "acd", "agent", "ivr")
START_MS = epoch_ms(parse_datetime("2026-01-01T09:00:00Z"))


# -- the table ----------------------------------------------------------------------------------


def test_table_covers_every_role_and_has_no_duplicate_rows() -> None:
    assert {t.role for t in TRANSITIONS} == set(ROLES)
    keys = [(t.role, t.source, t.event) for t in TRANSITIONS]
    assert len(keys) == len(set(keys)), "one (role, state, event) must lead to one state"


@pytest.mark.parametrize("transition", TRANSITIONS, ids=lambda t: f"{t.role}:{t.source}:{t.event}")
def test_step_follows_every_row(transition: machine.Transition) -> None:
    assert allowed(transition.role, transition.source)[transition.event] == transition.target
    assert step(transition.role, "p-1", transition.source, transition.event) == transition.target


@pytest.mark.parametrize("role", ROLES)
def test_every_state_can_reach_a_final_state(role: str) -> None:
    """Stronger than "no dead ends": no set of states traps a participant away from FINAL."""
    states = {t.target for t in TRANSITIONS if t.role == role}
    for state in states:
        seen, frontier = {state}, [state]
        while frontier:
            for target in allowed(role, frontier.pop()).values():
                if target not in seen:
                    seen.add(target)
                    frontier.append(target)
        assert seen & FINAL, f"{role} in {state!r} can never end"


def test_creation_is_the_only_way_in() -> None:
    for role in ROLES:
        assert allowed(role, None), f"{role} has no creation event"
        assert all(target not in FINAL for target in allowed(role, None).values())


def test_final_states_lead_on_only_to_final_states() -> None:
    for t in TRANSITIONS:
        if t.source in FINAL:
            assert t.target in FINAL, t


def test_unknown_role_or_state_allows_nothing() -> None:
    assert allowed("supervisor", None) == {}
    assert allowed("agent", "dialing") == {}


# -- the load-time check ------------------------------------------------------------------------
# The module checks its own table when it loads (a broken one would fail every import of it), so
# these feed the checker broken tables to show that it catches what it must.


def test_check_reports_an_unreachable_state() -> None:
    rows = (*TRANSITIONS, machine.Transition("agent", "limbo", "end", "ended"))
    with pytest.raises(ValueError, match=r"state table for agent: unreachable \{'limbo'\}"):
        machine.check_table(rows)


def test_check_reports_a_dead_end() -> None:
    rows = (*TRANSITIONS, machine.Transition("acd", "connected", "freeze", "frozen"))
    with pytest.raises(ValueError, match=r"state table for acd: .*dead ends \{'frozen'\}"):
        machine.check_table(rows)


def test_check_reports_a_state_only_a_removed_row_reached() -> None:
    rows = tuple(t for t in TRANSITIONS if not (t.role == "agent" and t.event == "park"))
    # "parked" still has its way out (resume) but nothing leads in.
    with pytest.raises(ValueError, match=r"unreachable \{'parked'\}"):
        machine.check_table(rows)


def test_check_reads_final_states_from_its_argument() -> None:
    """Without "wrapped" among the final states, wrap-up done is a dead end of the agent leg."""
    with pytest.raises(ValueError, match=r"state table for agent: .*dead ends \{'wrapped'\}"):
        machine.check_table(TRANSITIONS, final=FINAL - {"wrapped"})


# -- illegal transitions ------------------------------------------------------------------------


def test_illegal_transition_names_who_where_what_and_the_options() -> None:
    with pytest.raises(IllegalTransition) as info:
        step("agent", "agent-7", "alerting", "hold")
    message = str(info.value)
    assert "agent-7" in message
    assert "(agent)" in message
    assert "'alerting'" in message
    assert "'hold'" in message
    for event, target in allowed("agent", "alerting").items():
        assert f"{event} -> {target}" in message
    assert isinstance(info.value, CallbacksimError)


def test_illegal_transition_from_a_final_state_allows_none() -> None:
    with pytest.raises(
        IllegalTransition, match=r"'terminated' and cannot take 'end'; allowed from there: none$"
    ):
        step("agent", "a", "terminated", "end")


def test_creating_twice_is_illegal() -> None:
    with pytest.raises(IllegalTransition, match="'connected' and cannot take 'create-routed'"):
        step("customer", "c", "connected", "create-routed")


def test_a_queue_leg_cannot_take_agent_events() -> None:
    with pytest.raises(IllegalTransition, match=r"\(acd\) is in state 'connected'"):
        step("acd", "q", "connected", "park")


# -- the stateful test --------------------------------------------------------------------------


class Leg:
    __slots__ = ("pid", "role", "snap", "state", "times")

    def __init__(self, role: str, pid: str, **snap: Any) -> None:
        self.role = role
        self.pid = pid
        self.state: str | None = None
        self.snap: dict[str, Any] = {"id": pid, "purpose": role, **snap}
        self.times: list[int] = []


def _updates(leg: Leg, event: str, t: int) -> dict[str, Any]:
    """The fields ``event`` sets on ``leg`` at ``t`` (None removes a field), as the simulator
    would set them."""
    now = format_epoch_ms(t)
    snap = leg.snap
    ended = {"endTime": now, "held": False if snap.get("held") else None, "startHoldTime": None}
    if event in {"end", "auto-end", "transfer", "fail"} and snap.get("wrapupRequired"):
        ended["startAcwTime"] = now  # after-call work starts at the agent's endTime
    acw_start = snap.get("startAcwTime") or snap.get("endTime") or now
    by_role = {"customer": "client", "acd": "system", "agent": "client", "ivr": "client"}
    match event:
        case "create":
            return {"startTime": now, "callbackScheduledTime": format_epoch_ms(t + 3_600_000)}
        case "create-routed" | "enter":
            return {"startTime": now, "connectedTime": now}
        case "create-dialing":
            return {"startTime": now}
        case "dial" | "no-answer":
            return {}
        case "answer":
            return {"connectedTime": now}
        case "reschedule":
            return {"callbackScheduledTime": format_epoch_ms(t + 86_400_000)}
        case "requeue":
            return {"conversationRoutingData": {"priority": 1}}
        case "remove" | "unreachable" | "auto-end":
            return ended | {"disconnectType": "system"}
        case "offer":
            return {"startTime": now, "startAlertingTime": now}
        case "route" | "accept":
            return {"connectedTime": now}
        case "cancel":
            return {"endTime": now, "disconnectType": by_role[leg.role]}
        case "abandon":
            kind = "endpoint" if leg.role == "customer" else "system"
            return ended | {"disconnectType": kind}
        case "timeout":
            return ended | {"disconnectType": "system"}
        case "decline" | "end":
            return ended | {"disconnectType": "client"}
        case "transfer":
            return ended | {"disconnectType": "transfer"}
        case "fail":
            error = {"message": "Media connection lost.", "code": "media.transport.failure"}
            return ended | {"disconnectType": "transport.failure", "errorInfo": error}
        case "hold":
            return {"held": True, "startHoldTime": now}
        case "unhold":
            return {"held": False, "startHoldTime": None}
        case "park":
            return {"parkTime": now, "resumeTime": None}
        case "resume":
            return {"resumeTime": now}
        case "wrapup":
            wrapup = {"code": "w-1", "name": "Resolved", "endTime": now}
            return {"startAcwTime": acw_start, "endAcwTime": now, "wrapup": wrapup}
        case "skip-wrapup":
            return {"startAcwTime": acw_start, "endAcwTime": now, "wrapupSkipped": True}
        case "wrapup-timeout":
            waited = t - epoch_ms(parse_datetime(acw_start))
            wrapup = {"code": "ININ-WRAP-UP-TIMEOUT", "name": "ININ-WRAP-UP-TIMEOUT"}
            wrapup["endTime"] = now
            return {
                "startAcwTime": acw_start,
                "endAcwTime": now,
                "wrapupTimeoutMs": waited,
                "wrapup": wrapup,
            }
    raise AssertionError(f"no field updates for {event!r}")


def _plausible(leg: Leg, event: str) -> bool:
    """Beyond the table: holds alternate, a held call is not parked, and a queue leg ends with
    "transfer" only when an agent accepts (the accept rule does that)."""
    held = bool(leg.snap.get("held"))
    if event == "hold":
        return not held
    if event in {"unhold"}:
        return held
    if event == "park":
        return not held
    return not (leg.role == "acd" and event == "transfer")


def _path_to_final(role: str, state: str | None) -> list[str]:
    """The shortest list of events from ``state`` to a final state (alphabetical on ties)."""
    queue: deque[tuple[str | None, list[str]]] = deque([(state, [])])
    seen = {state}
    while queue:
        current, events = queue.popleft()
        if current in FINAL:
            return events
        for event, target in sorted(allowed(role, current).items()):
            if target not in seen:
                seen.add(target)
                queue.append((target, [*events, event]))
    raise AssertionError(f"{role} in {state!r} cannot reach a final state")


# Rules over existing legs, one per kind of event (creation events have their own rules).
_LEG_EVENTS = sorted(
    {t.event for t in TRANSITIONS if t.source is not None}
    - {"route", "cancel", "abandon", "accept"}  # these act on several legs at once
)


class Conversation(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.t = START_MS
        self.legs: list[Leg] = []
        self.fresh: list[tuple[Leg, dict[str, Any]]] = []
        self.agents = 0

    # -- helpers --

    def apply(self, leg: Leg, event: str) -> None:
        updates = _updates(leg, event, self.t)
        leg.state = step(leg.role, leg.pid, leg.state, event)
        snap = dict(leg.snap)
        for key, value in updates.items():
            if value is None:
                snap.pop(key, None)
            else:
                snap[key] = value
        snap["state"] = wire_state(leg.state)
        leg.snap = snap
        leg.times.append(self.t)
        self.fresh.append((leg, snap))

    def leg(self, role: str) -> Leg | None:
        return next((g for g in reversed(self.legs) if g.role == role), None)

    def in_state(self, role: str, *states: str) -> list[Leg]:
        return [g for g in self.legs if g.role == role and g.state in states]

    def candidates(self, event: str) -> list[Leg]:
        legs = [
            g
            for g in self.legs
            if g.state is not None and event in allowed(g.role, g.state) and _plausible(g, event)
        ]
        if event == "end" and (
            self.in_state("acd", "scheduled", "connected")
            or self.in_state("agent", "alerting", "connected", "held", "parked")
        ):
            # The customer's leg ends with the call: after the agent has hung up.
            legs = [g for g in legs if g.role != "customer"]
        return legs

    # -- creation --

    @initialize(
        scheduled=st.booleans(),
        ivr=st.booleans(),
        dt=st.integers(1_000, 90_000),
        dialing=st.booleans(),
    )
    def create(self, scheduled: bool, ivr: bool, dt: int, dialing: bool = False) -> None:
        """A callback, scheduled or placed at once; one placed at once may be a Customer First
        one, its customer created dialling."""
        if ivr:
            flow = Leg("ivr", "ivr-1", name="Main IVR", direction="inbound")
            self.legs.append(flow)
            self.apply(flow, "enter")
            self.t += dt
            self.apply(flow, "transfer")
        customer = Leg("customer", "customer-1", direction="outbound", callbackNumbers=["+1555"])
        acd = Leg("acd", "acd-1", direction="outbound", peer="customer-1")
        self.legs += [customer, acd]
        if scheduled:
            creations = ("create", "create")
        else:
            creations = ("create-dialing" if dialing else "create-routed", "create-routed")
        for g, creation in zip((customer, acd), creations, strict=True):
            self.apply(g, creation)

    def waiting(self) -> bool:
        return bool(self.in_state("customer", "scheduled") or self.in_state("acd", "scheduled"))

    @precondition(lambda self: self.waiting())
    @rule(dt=st.integers(1_000, 60_000))
    def route(self, dt: int) -> None:
        self.t += dt
        for g in self.in_state("customer", "scheduled") + self.in_state("acd", "scheduled"):
            self.apply(g, "route")

    @precondition(lambda self: self.waiting())
    @rule(dt=st.integers(1, 60_000))
    def cancel(self, dt: int) -> None:
        self.t += dt
        for g in self.in_state("customer", "scheduled") + self.in_state("acd", "scheduled"):
            self.apply(g, "cancel")

    @precondition(
        lambda self: (
            bool(self.in_state("acd", "connected"))
            and not self.in_state("agent", "alerting", "connected", "held", "parked")
            and self.agents < 4
        )
    )
    @rule(dt=st.integers(0, 60_000))
    def offer(self, dt: int) -> None:
        """Each offer is a new agent participant."""
        self.t += dt
        self.agents += 1
        agent = Leg("agent", f"agent-{self.agents}", direction="outbound")
        agent.snap |= {"alertingTimeoutMs": 30_000, "wrapupRequired": self.agents % 2 == 1}
        self.legs.append(agent)
        self.apply(agent, "offer")

    @precondition(lambda self: bool(self.in_state("agent", "alerting")))
    @rule(dt=st.integers(1_000, 29_999))
    def accept(self, dt: int) -> None:
        self.t += dt
        agent = self.in_state("agent", "alerting")[-1]
        self.apply(agent, "accept")
        # The queue leg ends with "transfer" at the very millisecond the agent connects.
        for acd in self.in_state("acd", "connected"):
            self.apply(acd, "transfer")
            assert acd.snap["endTime"] == agent.snap["connectedTime"]

    def missed(self) -> bool:
        return any(g.role == "agent" and "connectedTime" not in g.snap for g in self.legs)

    @precondition(
        lambda self: (
            bool(self.in_state("customer", "connected"))
            and bool(self.in_state("acd", "connected"))
            and self.missed()
        )
    )
    @rule(dt=st.integers(1, 120_000))
    def abandon(self, dt: int) -> None:
        """The customer leaves while waiting (after a missed offer, so that most examples go on
        to an agent); the queue leg and any ringing offer end with it."""
        self.t += dt
        for g in self.in_state("agent", "alerting") + self.in_state("acd", "connected"):
            self.apply(g, "abandon")
        for g in self.in_state("customer", "connected"):
            self.apply(g, "abandon")

    @precondition(lambda self: all(g.state in FINAL for g in self.legs))
    @rule(dt=st.integers(1, 600_000))
    def wait(self, dt: int) -> None:
        """Time passes after the end (so that a finished conversation still has a rule)."""
        self.t += dt

    # -- invariants --

    @invariant()
    def every_snapshot_is_valid(self) -> None:
        for leg, snap in self.fresh:
            assert check(snap, edition=Edition.SDK_269, path_id=leg.pid) == [], snap
        self.fresh.clear()

    @invariant()
    def time_only_moves_forward(self) -> None:
        for leg in self.legs:
            assert leg.times == sorted(leg.times)

    def teardown(self) -> None:
        """Every lifecycle can end: agents first, then the queue, then the customer."""
        order = {"agent": 0, "ivr": 1, "acd": 2, "customer": 3}
        for leg in sorted(self.legs, key=lambda g: order[g.role]):
            for event in _path_to_final(leg.role, leg.state):
                self.t += 1_000
                self.apply(leg, event)
            assert leg.state in FINAL
        self.every_snapshot_is_valid()


def _leg_rule(event: str) -> Any:
    def take(self: Conversation, data: st.DataObject, dt: int) -> None:
        leg = data.draw(st.sampled_from(self.candidates(event)), label=event)
        self.t += dt
        self.apply(leg, event)

    take.__name__ = take.__qualname__ = "take_" + event.replace("-", "_")
    ruled = rule(data=st.data(), dt=st.integers(1, 120_000))(take)
    return precondition(lambda self: bool(self.candidates(event)))(ruled)


for _event in _LEG_EVENTS:
    setattr(Conversation, "take_" + _event.replace("-", "_"), _leg_rule(_event))

Conversation.TestCase.settings = settings(max_examples=100, stateful_step_count=30, deadline=None)
TestConversation = Conversation.TestCase


def test_the_stateful_rules_cover_every_event() -> None:
    covered = set(_LEG_EVENTS) | {"create", "create-routed", "create-dialing", "enter", "offer"}
    covered |= {"route", "cancel", "abandon", "accept"}
    assert covered == {t.event for t in TRANSITIONS}


class _Recording(Conversation):
    rows: ClassVar[set[tuple[str, str | None, str]]] = set()

    def apply(self, leg: Leg, event: str) -> None:
        self.rows.add((leg.role, leg.state, event))
        super().apply(leg, event)
        self.every_snapshot_is_valid()

    def take(self, event: str, pid: str, dt: int = 1_000) -> None:
        (leg,) = [g for g in self.candidates(event) if g.pid == pid]
        self.t += dt
        self.apply(leg, event)


def test_scripted_conversations_take_every_row_of_the_table() -> None:
    """The random runs above reach every row only most of the time; these always do."""
    full = _Recording()
    full.create(scheduled=True, ivr=True, dt=45_000)
    full.route(dt=20_000)
    full.offer(dt=30_000)
    full.take("timeout", "agent-1", dt=30_110)
    full.offer(dt=5_000)
    full.take("decline", "agent-2", dt=12_000)
    full.offer(dt=5_000)
    full.accept(dt=8_000)
    for event in ("hold", "unhold", "park", "resume", "transfer", "wrapup"):
        full.take(event, "agent-3")
    full.teardown()

    cancelled = _Recording()
    cancelled.create(scheduled=True, ivr=False, dt=1)
    cancelled.cancel(dt=60_000)
    cancelled.teardown()

    abandoned = _Recording()
    abandoned.create(scheduled=False, ivr=False, dt=1)
    abandoned.offer(dt=20_000)
    abandoned.take("timeout", "agent-1", dt=30_100)
    abandoned.offer(dt=2_000)
    abandoned.abandon(dt=3_000)
    abandoned.teardown()

    failed = _Recording()
    failed.create(scheduled=False, ivr=False, dt=1)
    failed.offer(dt=20_000)
    failed.accept(dt=3_000)
    failed.take("fail", "agent-1", dt=100_000)
    failed.take("skip-wrapup", "agent-1")
    failed.take("end", "customer-1")
    failed.teardown()

    timed_out = _Recording()
    timed_out.create(scheduled=False, ivr=False, dt=1)
    timed_out.offer(dt=20_000)
    timed_out.accept(dt=3_000)
    timed_out.take("end", "agent-1", dt=200_000)
    timed_out.take("wrapup-timeout", "agent-1", dt=60_000)
    assert timed_out.legs[-1].snap["wrapupTimeoutMs"] == 60_000
    timed_out.teardown()

    # Customer First: dialled at once, unanswered, dialled again, answered; then served with
    # auto-end, rescheduled by the customer's leg, and removed.
    first = _Recording()
    first.create(scheduled=False, ivr=False, dt=1, dialing=True)
    first.take("no-answer", "customer-1", dt=30_000)
    first.take("dial", "customer-1", dt=300_000)
    first.take("answer", "customer-1", dt=8_000)
    first.offer(dt=20_000)
    first.accept(dt=3_000)
    first.take("auto-end", "agent-1", dt=600_000)
    first.take("skip-wrapup", "agent-1")
    first.take("reschedule", "customer-1")
    first.take("remove", "customer-1")
    # An answering machine sent to a flow, which ends the call.
    flow = Leg("ivr", "ivr-2", name="Answering machine", direction="outbound")
    first.legs.append(flow)
    first.apply(flow, "enter")
    first.take("end", "ivr-2", dt=20_000)
    first.teardown()

    # Nobody answers; the queue leg (re-queued first) is removed.
    unreachable = _Recording()
    unreachable.create(scheduled=False, ivr=False, dt=1, dialing=True)
    unreachable.take("requeue", "acd-1")
    unreachable.take("unreachable", "customer-1", dt=30_000)
    unreachable.take("remove", "acd-1")
    unreachable.teardown()

    # A scheduled Customer First callback is dialled at its time.
    later = _Recording()
    later.create(scheduled=True, ivr=False, dt=1)
    later.take("dial", "customer-1", dt=3_600_000)
    later.take("answer", "customer-1", dt=5_000)
    later.teardown()

    assert _Recording.rows == {(t.role, t.source, t.event) for t in TRANSITIONS}
    conversations = (full, cancelled, abandoned, failed, timed_out, first, unreachable, later)
    for conversation in conversations:
        assert all(leg.state in FINAL for leg in conversation.legs)


def test_the_table_itself_forbids_what_no_callback_does() -> None:
    # A missed offer has no after-call work; only an ended call does.
    after_timeout = step("agent", "a", "alerting", "timeout")
    assert wire_state(after_timeout) == "disconnected"
    with pytest.raises(IllegalTransition, match="cannot take 'wrapup'"):
        step("agent", "a", after_timeout, "wrapup")
    ended = step("agent", "a", "connected", "end")
    assert wire_state(step("agent", "a", ended, "wrapup")) == "terminated"
    # Holds alternate: no second hold, no unhold without a hold, no park while held.
    held = step("agent", "a", "connected", "hold")
    assert wire_state(held) == "connected"
    for event in ("hold", "park", "end"):
        with pytest.raises(IllegalTransition):
            step("agent", "a", held, event)
    with pytest.raises(IllegalTransition, match="cannot take 'unhold'"):
        step("agent", "a", "connected", "unhold")
