"""What a set of callback conversations shows: the observations a realism profile is fitted to.

`Observed.add` reads one lifecycle (a conversation's events; most observations need only each
participant's final snapshot) and adds to named observations (`METRICS`): durations, shares (how
often something happened out of how many chances) and instants. Observations stream: each keeps its
count, extremes and log-moments exactly and a bounded, seeded sample for quantiles, so memory does
not grow with the number of conversations, and the same input gives the same figures.

How a conversation is read: its customer leg (purpose ``customer``, or ``external``), its queue
legs (``acd``, one per queue visit, in order of start), its agent legs (``agent``, one per offer;
those that started while a queue leg waited belong to that visit) and any ``ivr`` leg. An agent
leg with a ``connectedTime`` accepted its offer; one that ended without it was declined
(``disconnectType`` ``client``) or timed out (``system``). A conversation is served when an agent
leg connected, cancelled when its scheduled customer leg ended without connecting, abandoned when
the customer connected and left with no agent connected.
"""

from __future__ import annotations

import itertools
import math
import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from callbacksim.generation.lifecycle import TIMED_PROMPTS, WRAPUP_TIMEOUT_CODE, Lifecycle
from callbacksim.model import Edition
from callbacksim.rules import timestamps
from callbacksim.wiretime import DatetimeFormatError, epoch_ms, parse_datetime

__all__ = ["METRICS", "Durations", "Instants", "Observed", "Offers", "Share", "number"]

_SAMPLE = 10_000


def number(value: float) -> str:
    """A figure for people: thousands separated, otherwise four significant digits."""
    if math.isnan(value):
        return "-"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


class Durations:
    """Numbers (durations, counts, settings): count, extremes and log-moments exactly, and a
    seeded reservoir sample of at most 10,000 for quantiles."""

    __slots__ = ("_log_n", "_rng", "_s1", "_s2", "count", "max", "min", "sample")

    def __init__(self) -> None:
        self.count = 0
        self.min = math.inf
        self.max = -math.inf
        self._log_n = 0
        self._s1 = 0.0
        self._s2 = 0.0
        self.sample: list[float] = []
        self._rng = random.Random(0)

    def add(self, value: float) -> None:
        self.count += 1
        self.min = min(self.min, value)
        self.max = max(self.max, value)
        if value > 0:
            log = math.log(value)
            self._log_n += 1
            self._s1 += log
            self._s2 += log * log
        if len(self.sample) < _SAMPLE:
            self.sample.append(value)
        else:
            slot = self._rng.randrange(self.count)
            if slot < _SAMPLE:
                self.sample[slot] = value

    @property
    def log_mean(self) -> float:
        """The mean of the logarithms of the positive values (nan when there are none)."""
        return self._s1 / self._log_n if self._log_n else math.nan

    @property
    def log_sigma(self) -> float:
        """The sample standard deviation of the logarithms of the positive values."""
        n = self._log_n
        if n < 2:
            return math.nan
        return math.sqrt(max(0.0, (self._s2 - self._s1 * self._s1 / n) / (n - 1)))

    def quantile(self, q: float) -> float:
        """The ``q`` quantile (0 to 1) of the sample; nan when empty."""
        if not self.sample:
            return math.nan
        ordered = sorted(self.sample)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def summary(self) -> str:
        if not self.count:
            return "none"
        median, p90 = self.quantile(0.5), self.quantile(0.9)
        return f"n={self.count:,} median={number(median)} p90={number(p90)}"


class Share:
    """How often something happened (``hits``) out of how many chances (``trials``)."""

    __slots__ = ("hits", "trials")

    def __init__(self) -> None:
        self.hits = 0
        self.trials = 0

    def add(self, hit: bool) -> None:
        self.trials += 1
        self.hits += hit

    @property
    def rate(self) -> float:
        return self.hits / self.trials if self.trials else math.nan

    def summary(self) -> str:
        if not self.trials:
            return "none"
        return f"n={self.trials:,} rate={self.rate:.3f}"


class Offers:
    """Offer outcomes by their position in a queue visit (0 for the first offer)."""

    __slots__ = ("by_position",)

    def __init__(self) -> None:
        self.by_position: Counter[tuple[int, str]] = Counter()

    def add(self, position: int, outcome: str) -> None:
        self.by_position[(position, outcome)] += 1

    @property
    def count(self) -> int:
        return sum(self.by_position.values())

    def summary(self) -> str:
        total = self.count
        if not total:
            return "none"
        share = Counter[str]()
        for (_, outcome), n in self.by_position.items():
            share[outcome] += n
        parts = " ".join(f"{o}={share[o] / total:.3f}" for o in ("accept", "decline", "timeout"))
        return f"n={total:,} {parts}"


class Instants:
    """Instants (epoch ms): how many, the first and the last."""

    __slots__ = ("count", "first", "last")

    def __init__(self) -> None:
        self.count = 0
        self.first = math.inf
        self.last = -math.inf

    def add(self, ms: float) -> None:
        self.count += 1
        self.first = min(self.first, ms)
        self.last = max(self.last, ms)

    @property
    def per_hour(self) -> float:
        """Arrivals per hour: the gaps between ``count`` instants over their span."""
        span = self.last - self.first
        return (self.count - 1) * 3_600_000 / span if self.count > 1 and span > 0 else math.nan

    def summary(self) -> str:
        if self.count < 2:
            return f"n={self.count}"
        return f"n={self.count:,} per hour={number(self.per_hour)}"


Observation = Durations | Share | Offers | Instants

METRICS: dict[str, tuple[type[Observation], str]] = {
    "starts": (Instants, "conversation starts (the earliest startTime of each)"),
    "scheduled": (Share, "conversations whose callbackScheduledTime is after the customer start"),
    "schedule_lead_s": (Durations, "callbackScheduledTime - customer startTime (s)"),
    "route_delay_ms": (Durations, "customer connectedTime - callbackScheduledTime (ms)"),
    "ivr": (Share, "conversations with an ivr leg"),
    "ivr_s": (Durations, "time in the ivr leg (s)"),
    "preview": (Share, "conversations whose customer leg has outboundPreview"),
    "cancelled": (Share, "scheduled conversations whose customer ended without connecting"),
    "abandoned": (Share, "ended, uncancelled conversations the customer left unserved"),
    "queue_wait_s": (Durations, "queue connectedTime to the first offer's startTime (s)"),
    "alert_start_ms": (Durations, "agent startAlertingTime - startTime (ms)"),
    "alerting_timeout_ms": (Durations, "agent alertingTimeoutMs"),
    "timeout_overrun_ms": (Durations, "timed-out offer: endTime - alerting - alertingTimeoutMs"),
    "offers": (Offers, "offer outcomes in the first queue visit of served conversations"),
    "offers_per_visit": (Durations, "offers in one queue visit"),
    "answer_s": (Durations, "accepted offer: connectedTime - alerting (s)"),
    "decline_s": (Durations, "declined offer: endTime - alerting (s)"),
    "requeue_s": (Durations, "missed offer's endTime to the next offer's startTime (s)"),
    "talk_s": (Durations, "agent connectedTime to endTime, unparked calls (s)"),
    "hold": (Share, "served conversations whose first agent leg was put on hold"),
    "holds_per_call": (Durations, "holds of an agent leg that was held"),
    "hold_s": (Durations, "hold length: held true to held false (s)"),
    "park": (Share, "served conversations whose last agent leg was parked"),
    "park_s": (Durations, "park length: resumeTime - parkTime (s)"),
    "transfer": (Share, "served conversations transferred to another queue"),
    "agent_error": (Share, "served conversations whose last agent leg ended in a failure"),
    "acw_requested": (Share, "served, agentRequested prompt: the last agent leg required wrap-up"),
    "wrapup_skipped": (Share, "required wrap-ups under an optional prompt that were skipped"),
    "wrapup_timeout": (
        Share,
        "required, unskipped wrap-ups under a time-boxed prompt that ran out",
    ),
    "wrapup_timeout_setting_ms": (Durations, "agent wrapupTimeoutMs"),
    "acw_s": (Durations, "applied wrap-up, untimed prompt: endAcwTime - startAcwTime (s)"),
    "customer_end_delay_ms": (Durations, "customer endTime - last agent endTime (ms)"),
}
"""Every observation, by name: its kind and what it measures."""

_FAILURES = frozenset({"error", "transport.failure"})


class _Leg:
    """A participant: its snapshots (time, payload) and its final timestamps in epoch ms."""

    __slots__ = ("final", "snapshots", "t")

    def __init__(
        self, snapshots: list[tuple[int, Mapping[str, Any]]], times: tuple[str, ...]
    ) -> None:
        self.snapshots = snapshots
        self.final = snapshots[-1][1]
        self.t: dict[str, int] = {}
        for key in times:
            value = self.final.get(key)
            if isinstance(value, str):
                try:
                    self.t[key] = epoch_ms(parse_datetime(value))
                except DatetimeFormatError:
                    continue

    def get(self, key: str) -> int | None:
        return self.t.get(key)

    @property
    def start(self) -> int:
        return self.t.get("startTime", min(self.t.values(), default=0))

    @property
    def alert(self) -> int | None:
        return self.t.get("startAlertingTime", self.t.get("startTime"))


class Observed:
    """Observations of conversations, added one lifecycle at a time (see the module docstring)."""

    def __init__(self, edition: Edition = Edition.SEED) -> None:
        self.edition = edition
        self.conversations = 0
        self.metrics: dict[str, Any] = {name: kind() for name, (kind, _) in METRICS.items()}
        self._times = tuple(k for k in timestamps(Edition.latest()) if "." not in k)

    def __getitem__(self, name: str) -> Any:
        return self.metrics[name]

    def add_all(self, lifecycles: Iterable[Lifecycle]) -> Observed:
        for lifecycle in lifecycles:
            self.add(lifecycle)
        return self

    def add(self, lifecycle: Lifecycle) -> None:
        """Add what one conversation shows."""
        m = self.metrics
        snapshots: dict[str, list[tuple[int, Mapping[str, Any]]]] = defaultdict(list)
        for event in lifecycle.events:
            snapshots[event.participant_id].append((event.time_ms, event.participant))
        legs = [_Leg(s, self._times) for s in snapshots.values()]
        if not legs:
            return
        self.conversations += 1
        by_purpose: dict[str, list[_Leg]] = defaultdict(list)
        for leg in legs:
            by_purpose[str(leg.final.get("purpose"))].append(leg)
        for group in by_purpose.values():
            group.sort(key=lambda leg: leg.start)
        starts = [leg.start for leg in legs if leg.t]
        if starts:
            m["starts"].add(min(starts))
        ivrs = by_purpose.get("ivr", [])
        m["ivr"].add(bool(ivrs))
        for ivr in ivrs:
            if ivr.get("endTime") is not None:
                m["ivr_s"].add((ivr.t["endTime"] - ivr.start) / 1000)
        # An externally dialled preview callback's customer has purpose 'external'.
        customers = by_purpose.get("customer") or by_purpose.get("external")
        agents = by_purpose.get("agent", [])
        self._agents(agents)
        if not customers:
            return
        customer = customers[0]
        m["preview"].add("outboundPreview" in customer.final)
        served = [a for a in agents if a.get("connectedTime") is not None]
        scheduled = self._scheduling(
            customer, min((a.t["connectedTime"] for a in served), default=None)
        )
        ended = customer.get("endTime") is not None
        cancelled = scheduled and ended and customer.get("connectedTime") is None
        if scheduled and ended:
            m["cancelled"].add(cancelled)
        if ended and not cancelled:
            m["abandoned"].add(not served)
        self._visits(
            by_purpose.get("acd", []),
            agents,
            served=bool(served),
            answered=customer.get("connectedTime"),
        )
        if served:
            self._service(customer, served)

    def _scheduling(self, customer: _Leg, served_at: int | None) -> bool:
        """Whether the callback was scheduled for later when created. The first snapshot that
        shows a callbackScheduledTime tells; a time after an agent answered is a reschedule
        (the agent could not reach the customer), which hides the first one: such a conversation
        is left out, unless the earlier snapshots still show the time it was created with."""
        m = self.metrics
        at = next(
            (
                s["callbackScheduledTime"]
                for _, s in customer.snapshots
                if "callbackScheduledTime" in s
            ),
            None,
        )
        scheduled_ms = None
        if isinstance(at, str):
            try:
                scheduled_ms = epoch_ms(parse_datetime(at))
            except DatetimeFormatError:
                scheduled_ms = None
        if scheduled_ms is not None and served_at is not None and scheduled_ms > served_at:
            return False
        scheduled = scheduled_ms is not None and scheduled_ms > customer.start
        m["scheduled"].add(scheduled)
        if scheduled and scheduled_ms is not None:
            m["schedule_lead_s"].add((scheduled_ms - customer.start) / 1000)
            connected = customer.get("connectedTime")
            if connected is not None and connected >= scheduled_ms:
                m["route_delay_ms"].add(connected - scheduled_ms)
        return scheduled

    def _agents(self, agents: list[_Leg]) -> None:
        """What each agent leg shows on its own: alerting, answers, declines, timeouts, talk."""
        m = self.metrics
        for a in agents:
            start, alerting, end = a.get("startTime"), a.get("startAlertingTime"), a.get("endTime")
            if start is not None and alerting is not None:
                m["alert_start_ms"].add(alerting - start)
            timeout = a.final.get("alertingTimeoutMs")
            if isinstance(timeout, int):
                m["alerting_timeout_ms"].add(timeout)
            setting = a.final.get("wrapupTimeoutMs")
            if isinstance(setting, int):
                m["wrapup_timeout_setting_ms"].add(setting)
            connected, base = a.get("connectedTime"), a.alert
            if connected is not None:
                if base is not None:
                    m["answer_s"].add((connected - base) / 1000)
                if end is not None and a.get("parkTime") is None:
                    m["talk_s"].add((end - connected) / 1000)
                park, resume = a.get("parkTime"), a.get("resumeTime")
                if park is not None and resume is not None:
                    m["park_s"].add((resume - park) / 1000)
                self._acw(a)
            elif end is not None and base is not None:
                outcome = _outcome(a)
                if outcome == "decline":
                    m["decline_s"].add((end - base) / 1000)
                elif outcome == "timeout" and alerting is not None and isinstance(timeout, int):
                    m["timeout_overrun_ms"].add(end - alerting - timeout)

    def _acw(self, a: _Leg) -> None:
        # A time-boxed prompt cuts after-call work short (or, forcedTimeout, stretches it to the
        # whole allowance): only the untimed prompts show how long the work itself takes.
        if _wrapup(a) == "applied" and a.final.get("wrapupPrompt") not in TIMED_PROMPTS:
            start, done = a.get("startAcwTime"), a.get("endAcwTime")
            if start is not None and done is not None:
                self.metrics["acw_s"].add((done - start) / 1000)

    def _visits(
        self, acds: list[_Leg], agents: list[_Leg], *, served: bool, answered: int | None
    ) -> None:
        """Queue waits, offers and requeues, visit by visit. A customer who connected after the
        queue leg and before its first offer was dialled first (Customer First): the wait for an
        agent starts when they answered, not while they were being dialled."""
        m = self.metrics
        for visit, acd in enumerate(acds):
            connected = acd.get("connectedTime")
            if connected is None:
                continue
            end = acd.get("endTime")
            offers = [a for a in agents if connected <= a.start and (end is None or a.start <= end)]
            if not offers:
                continue
            waits_from = connected
            if answered is not None and connected < answered <= offers[0].start:
                waits_from = answered
            m["queue_wait_s"].add((offers[0].start - waits_from) / 1000)
            m["offers_per_visit"].add(len(offers))
            for before, after in itertools.pairwise(offers):
                missed_end = before.get("endTime")
                if before.get("connectedTime") is None and missed_end is not None:
                    m["requeue_s"].add((after.start - missed_end) / 1000)
            if visit == 0 and served:
                for position, a in enumerate(offers):
                    m["offers"].add(position, _outcome(a))

    def _service(self, customer: _Leg, served: list[_Leg]) -> None:
        """What a served conversation shows: holds, park, transfer, failure, wrap-up, the end."""
        m = self.metrics
        first, last = served[0], served[-1]
        holds = _holds(first)
        m["hold"].add(bool(holds))
        for leg in served:
            lengths = holds if leg is first else _holds(leg)
            if lengths:
                m["holds_per_call"].add(len(lengths))
                for length in lengths:
                    m["hold_s"].add(length / 1000)
        if "parkTime" in timestamps(self.edition):
            m["park"].add(last.get("parkTime") is not None)
        m["transfer"].add(any(a.final.get("disconnectType") == "transfer" for a in served))
        m["agent_error"].add(last.final.get("disconnectType") in _FAILURES)
        wrapup, prompt = _wrapup(last), last.final.get("wrapupPrompt")
        if prompt == "agentRequested":
            m["acw_requested"].add(wrapup != "none")
        if wrapup != "none":
            if prompt in (None, "optional"):
                m["wrapup_skipped"].add(wrapup == "skipped")
            if prompt in (None, *TIMED_PROMPTS) and wrapup != "skipped":
                m["wrapup_timeout"].add(wrapup == "timeout")
        customer_end, agent_end = customer.get("endTime"), last.get("endTime")
        if customer_end is not None and agent_end is not None and customer_end >= agent_end:
            m["customer_end_delay_ms"].add(customer_end - agent_end)


def _outcome(agent: _Leg) -> str:
    if agent.get("connectedTime") is not None:
        return "accept"
    kind = agent.final.get("disconnectType")
    return {"client": "decline", "system": "timeout"}.get(str(kind), "other")


def _wrapup(agent: _Leg) -> str:
    """What became of an agent leg's wrap-up: none, skipped, timeout or applied."""
    final = agent.final
    if final.get("wrapupRequired") is not True:
        return "none"
    if final.get("wrapupSkipped") is True:
        return "skipped"
    code = final.get("wrapup")
    if isinstance(code, Mapping) and code.get("code") is not None:
        return "timeout" if code.get("code") == WRAPUP_TIMEOUT_CODE else "applied"
    setting = final.get("wrapupTimeoutMs")
    start, done = agent.get("startAcwTime"), agent.get("endAcwTime")
    # Without a code shown: forced by its timeout when after-call work lasted the whole
    # allowance (to the second), unless the prompt (forcedTimeout) always makes it last that long.
    if final.get("wrapupPrompt") == "forcedTimeout":
        return "applied"
    if isinstance(setting, int) and start is not None and done is not None:
        return "timeout" if done - start >= setting - 1000 else "applied"
    return "applied"


def _holds(agent: _Leg) -> list[int]:
    """The lengths (ms) of the holds an agent leg's snapshots show (held true, then false)."""
    lengths = []
    held_at: int | None = None
    for t, snap in agent.snapshots:
        held = snap.get("held") is True
        if held and held_at is None:
            held_at = t
        elif not held and held_at is not None:
            lengths.append(t - held_at)
            held_at = None
    return lengths
