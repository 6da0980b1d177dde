"""Replay: lifecycles delivered to a target the way Genesys Cloud would, faults included.

Conversations run concurrently (``concurrency`` at a time); within a conversation events go one at
a time in time order, so each participant's snapshots arrive in order unless reordering is asked
for. ``time_factor`` plays the lifecycles on their own timeline, scaled (0.01: a hundred times
faster); None sends as fast as possible.

Delivery faults, seeded per conversation: duplicates (an event sent twice), bounded reordering
(two neighbouring events of one participant swapped; the target sorts them out with
``X-Sequence``), jitter (a random pause before a send) and loss (an event never sent, recorded as
``lost``, as Genesys drops the notifications of a closed WebSocket; later snapshots of the
conversation still show what it changed).

Every request has a timeout. A request that gets no usable answer (no answer, 429, 5xx) is sent
again, the same request with the same ``X-Sequence``, as `callbacksim.simulator.retry` says: with
capped exponential backoff and jitter, honouring ``Retry-After``, until ``retry_for`` seconds have
passed (or ``retries`` retries, if given). Each event ends as **delivered** (2xx), **rejected**
(another 4xx; status and body kept), **failed** (retrying gave up; the last reason kept) or
**lost** (the loss fault; never sent), and that outcome is appended to the ledger at once.

As soon as a conversation's last event has its outcome, the conversation is read back (with the
same retries) and judged by `callbacksim.simulator.convergence`; a read that never got a usable
answer counts as *could not read back*, apart from a difference. Only counts and a few examples
are kept, so memory does not grow with the number of conversations. The conversation's line in the
ledger then says it is done.

A run killed at any point (SIGKILL included) resumes from its ledger: what is done is not sent
again, nor counted twice. A `Stop` (what SIGINT and SIGTERM trigger in the CLI) ends a run cleanly:
no new conversation or event is started, requests in flight finish and are recorded (one that
would need a retry is left for ``--resume``), and the result says what was done.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs

from callbacksim.errors import UsageError
from callbacksim.generation.lifecycle import Event, Lifecycle
from callbacksim.model import Edition
from callbacksim.simulator.adapters import Adapter, Delivery
from callbacksim.simulator.answers import (
    HELD,
    STALE,
    Explanation,
    cause,
    explain,
    failure_of,
    retried_as,
)
from callbacksim.simulator.answers import verdict as _verdict
from callbacksim.simulator.client import HttpClient, Request, Response
from callbacksim.simulator.convergence import Send, verify_conversation
from callbacksim.simulator.faults import Faults, deliveries
from callbacksim.simulator.latency import (
    LatencyRecorder,
    buckets_ms,
    histogram_of,
    request_name,
    summary_ms,
)
from callbacksim.simulator.ledger import (
    Ledger,
    LedgerState,
    Verdict,
    check_same_run,
    read_header,
    read_ledger,
)
from callbacksim.simulator.retry import RetryPolicy, retryable, send_with_retries

__all__ = ["ReplayConfig", "ReplayResult", "Stop", "check_ledger", "replay", "run_identity"]


def _at_least(flag: str, low: int) -> Callable[[object, attrs.Attribute[int], int], None]:
    def check(_instance: object, _attribute: attrs.Attribute[int], value: int) -> None:
        if value < low:
            msg = f"{flag} must be {low} or more, got {value}"
            raise UsageError(msg)

    return check


def _time_factor(
    _instance: object, _attribute: attrs.Attribute[float | None], value: float | None
) -> None:
    if value is not None and not value > 0:
        msg = f"--time-factor must be positive (0.01 plays 100x faster), got {value}"
        raise UsageError(msg)


@attrs.frozen
class ReplayConfig:
    """How to replay: concurrency, timeline, faults, retries, seed, ledger and verification."""

    concurrency: int = attrs.field(default=32, validator=_at_least("--concurrency", 1))
    time_factor: float | None = attrs.field(default=None, validator=_time_factor)
    faults: Faults = attrs.field(factory=Faults)
    retries: int | None = None
    """At most this many retries per request; None: as many as ``retry_for`` allows."""
    retry_for: float = 60.0
    """Seconds within which a request may be retried, from its first attempt."""
    backoff_ms: float = 50.0
    seed: int = 0
    ledger: Path | None = None
    resume: bool = False
    verify: bool = True
    edition: Edition = Edition.SEED
    """The edition convergence is judged in (properties it defines are compared)."""
    source: Mapping[str, Any] = attrs.field(factory=dict)
    """What the lifecycles are (a file, or the settings they are generated from): recorded in the
    ledger with the rest of the run's identity, so that ``--resume`` can refuse another run."""
    retry: RetryPolicy = attrs.field(init=False)

    @retry.default
    def _retry(self) -> RetryPolicy:
        return RetryPolicy(
            retry_for=self.retry_for, retries=self.retries, backoff_ms=self.backoff_ms
        )


class Stop:
    """Asks a running replay to stop early; `request` may be called from any thread, a signal
    handler included. The replay then finishes what is in flight and returns."""

    def __init__(self) -> None:
        self.reason: str | None = None
        self._lock = threading.Lock()
        self._wake: list[Callable[[], None]] = []

    def request(self, reason: str) -> None:
        """Stop, because of ``reason`` (for example ``"SIGINT"``); the first reason is kept."""
        with self._lock:
            if self.reason is None:
                self.reason = reason
            wake = list(self._wake)
        for w in wake:
            w()

    def _bind(self, loop: asyncio.AbstractEventLoop, event: asyncio.Event) -> None:
        def wake() -> None:
            with contextlib.suppress(RuntimeError):  # the loop closed: the replay is over anyway
                loop.call_soon_threadsafe(event.set)

        with self._lock:
            self._wake = [wake]
            stopped = self.reason is not None
        if stopped:
            event.set()


@attrs.frozen
class ReplayResult:
    """What happened: counts, speed, latency and convergence."""

    events: int
    delivered: int
    rejected: int
    failed: int
    skipped: int
    requests: int
    duplicates: int
    retries: int
    seconds: float
    latency_ms: dict[str, float]
    latency_histogram: list[tuple[float, int]]
    timeline: list[int]
    conversations: int
    participants_checked: int
    participants_converged: int
    conversations_converged: int
    read_back: bool
    not_converged: list[str]
    rejections: dict[str, int]
    unreadable: int = 0
    """Conversations whose read-back got no usable answer (not counted as differing)."""
    conversations_verified: int = 0
    """Conversations read back (the denominator of ``conversations_converged``)."""
    stopped: str | None = None
    """Why the replay stopped before the end (a signal's name), or None when it ran to the end."""
    abandoned: int = 0
    """Events left without an outcome by the stop (``--resume`` sends them)."""
    lost: int = 0
    """Events the loss fault dropped: never sent, recorded in the ledger as ``lost`` (and not
    counted as skipped when a run resumes)."""
    causes: dict[str, int] = attrs.field(factory=dict)
    """Rejected events by cause (`callbacksim.simulator.answers.cause`: ``404``, ``409 stale``,
    ``409 held``...)."""
    retried: dict[str, int] = attrs.field(factory=dict)
    """Answers that were sent again (429, 5xx, no answer), by status."""
    rejected_events: list[dict[str, Any]] = attrs.field(factory=list)
    """The first `REJECTED_KEPT` rejected events: ids, sequence, status, cause and body excerpt."""
    names: dict[str, dict[str, Any]] = attrs.field(factory=dict)
    """Per request name (``agent:connected``): requests, failures and latency percentiles (ms)."""
    faults: dict[str, float] = attrs.field(factory=dict)
    """The delivery faults asked for."""
    target: str = ""
    retry_for: float | None = None

    def explained(self) -> list[Explanation]:
        """Every answer that was not 2xx, explained (`callbacksim.simulator.answers.explain`)."""
        return explain(
            self.causes,
            self.retried,
            failed=self.failed,
            faults=self.faults,
            target=self.target,
            retry_for=self.retry_for,
        )

    def verdict(self) -> tuple[bool, str]:
        """(passed, one line): see `callbacksim.simulator.answers.verdict`."""
        return _verdict(
            converged=self.converged,
            read_back=self.read_back,
            stopped=self.stopped,
            explained=self.explained(),
        )

    def name_rows(self) -> list[tuple[str, int, int, dict[str, float]]]:
        """(name, requests, failures, latency in ms) for each of `names` in order, then an ``all``
        row over every request: what the views show."""
        rows = [(n, s["requests"], s["failures"], s["latency_ms"]) for n, s in self.names.items()]
        failures = sum(row[2] for row in rows)
        return [*rows, ("all", self.requests, failures, self.latency_ms)]

    @property
    def differing(self) -> int:
        """Conversations read back whose data is not their final snapshots."""
        return self.conversations_verified - self.conversations_converged - self.unreadable

    @property
    def converged(self) -> bool:
        """The verdict: the run finished, nothing failed and, where the target could be read back,
        every participant and conversation holds its final snapshot."""
        if self.failed or self.stopped:
            return False
        if not self.read_back:
            return True
        return (
            self.participants_converged == self.participants_checked
            and self.conversations_converged == self.conversations_verified
            and not self.not_converged
        )

    @property
    def throughput(self) -> float:
        sent = self.events - self.skipped - self.lost
        return sent / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        out = attrs.asdict(self)
        out["throughput"] = round(self.throughput, 1)
        out["differing"] = self.differing
        out["converged"] = self.converged
        out["explained"] = [e.to_json() for e in self.explained()]
        out["passed"] = self.verdict()[0]
        return out


REJECTED_KEPT = 20
"""Rejected events kept as examples (the first ones): memory stays flat with the run's size."""


class _Named:
    """The requests of one name: how many, how many failed, and their latencies."""

    __slots__ = ("failures", "latency", "retried")

    def __init__(self, retried: Counter[str]) -> None:
        self.latency = LatencyRecorder()
        self.failures = 0
        self.retried = retried

    def answer(self, response: Response, seconds: float) -> None:
        self.latency.record_seconds(seconds)
        status = response.status
        if status is None or status >= 300:
            if failure_of(status):
                self.failures += 1
            if retryable(response):
                self.retried[retried_as(status)] += 1


class _Stats:
    def __init__(self) -> None:
        self.outcomes: Counter[str] = Counter()
        self.rejections: Counter[str] = Counter()
        self.causes: Counter[str] = Counter()
        self.retried: Counter[str] = Counter()
        self.rejected: list[dict[str, Any]] = []
        self.duplicates = 0
        self.retries = 0
        self.abandoned = 0
        self.events = 0
        self.skipped = 0
        # Latencies by request name, each counted by HDR bucket as it comes
        # (`callbacksim.simulator.latency`): memory does not grow with the number of requests.
        self.names: dict[str, _Named] = {}
        self.timeline: Counter[int] = Counter()
        self.started = time.monotonic()

    def named(self, name: str) -> _Named:
        named = self.names.get(name)
        if named is None:
            named = self.names[name] = _Named(self.retried)
        return named

    @property
    def requests(self) -> int:
        return sum(len(n.latency) for n in self.names.values())

    def reject(self, entry: dict[str, Any], why: str) -> None:
        self.rejections[str(entry["status"])] += 1
        self.causes[why] += 1
        if len(self.rejected) < REJECTED_KEPT:
            self.rejected.append(
                {
                    "conversationId": entry["conversationId"],
                    "participantId": entry["participantId"],
                    "sequence": entry["sequence"],
                    "status": entry["status"],
                    "cause": why,
                    "body": (entry["reason"] or "")[:200],
                }
            )


def _outcome(
    response: Response, attempts: int, event: Event, gave_up: str | None
) -> dict[str, Any]:
    status = response.status
    if status is not None and 200 <= status < 300:
        outcome, reason = "delivered", None
    elif gave_up is None and status is not None and 400 <= status < 500:
        outcome = "rejected"
        reason = response.body[:500].decode("utf-8", errors="replace")
    else:
        outcome = "failed"
        reason = gave_up or response.error or f"status {status} after {attempts} attempt(s)"
    return {
        "conversationId": event.conversation_id,
        "participantId": event.participant_id,
        "sequence": event.sequence,
        "outcome": outcome,
        "status": status,
        "attempts": attempts,
        "reason": reason,
    }


def _lost(event: Event) -> dict[str, Any]:
    return {
        "conversationId": event.conversation_id,
        "participantId": event.participant_id,
        "sequence": event.sequence,
        "outcome": "lost",
        "status": None,
        "attempts": 0,
        "reason": "lost in delivery (the loss fault): never sent",
    }


def check_ledger(cfg: ReplayConfig, run: Mapping[str, Any]) -> None:
    """What is wrong with the ledger, said at once (`UsageError`), reading no more than its first
    line: a new run's ledger must be empty and writable; a resumed run's must exist and record
    this same run."""
    path = cfg.ledger
    if path is None:
        return
    if cfg.resume:
        if not path.exists():
            msg = f"there is no ledger {path} to resume; give --ledger {path} to start a run"
            raise UsageError(msg)
        recorded = read_header(path)
        if recorded is not None:
            check_same_run(path, recorded, run)
        return
    if path.exists() and path.stat().st_size:
        msg = f"the ledger {path} exists; pass --resume to continue that run, or another path"
        raise UsageError(msg)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.open("ab").close()
    except OSError as exc:
        why = exc.strerror
        if path.parent.exists() and not path.parent.is_dir():
            why = f"{path.parent} is not a directory"
        msg = f"cannot write the ledger {path} ({why}); give another --ledger"
        raise UsageError(msg) from None


def _resume_state(cfg: ReplayConfig, run: Mapping[str, Any]) -> LedgerState:
    """The ledger's state when resuming (checked to be of this run); empty otherwise."""
    check_ledger(cfg, run)
    if cfg.ledger is None or not cfg.resume:
        return LedgerState()
    state = read_ledger(cfg.ledger)
    if state.run is None and (state.counts or state.conversations):
        msg = f"{cfg.ledger} has no header line saying which run wrote it; start a new --ledger"
        raise UsageError(msg)
    return state


def run_identity(target: str, adapter: str, cfg: ReplayConfig) -> dict[str, Any]:
    """What defines a replay run, as its ledger's header records it."""
    return {
        "source": dict(cfg.source),
        "seed": cfg.seed,
        "edition": cfg.edition.value,
        "faults": cfg.faults.to_json(),
        "adapter": adapter,
        "target": target.rstrip("/"),
    }


def replay(
    client: HttpClient,
    adapter: Adapter,
    lifecycles: Iterable[Lifecycle],
    cfg: ReplayConfig,
    *,
    on_progress: Callable[[Counter[str], int], None] | None = None,
    stop: Stop | None = None,
) -> ReplayResult:
    """Replay ``lifecycles`` against the target behind ``client``; see the module docstring."""
    run = run_identity(client.base_url, adapter.name, cfg)
    state = _resume_state(cfg, run)
    ledger = Ledger(cfg.ledger, run)
    stats = _Stats()
    verification = _Verification(adapter, cfg.edition, state) if cfg.verify else None
    source: Iterator[tuple[int, Lifecycle]] = enumerate(lifecycles)
    first_ms: list[int] = []
    policy = cfg.retry

    async def one(ordinal: int, lifecycle: Lifecycle, halt: asyncio.Event) -> None:
        if state.is_done(ordinal) and not cfg.faults.loss:  # every event skipped, none lost
            stats.events += len(lifecycle.events)
            stats.skipped += len(lifecycle.events)
            return
        rng = random.Random(f"{cfg.seed}:{lifecycle.conversation_id}")
        plan = deliveries(lifecycle.events, cfg.faults, rng)
        if state.is_done(ordinal):  # which events were lost is drawn again, to count them
            for _event, how in plan:
                if how != "duplicate":
                    stats.events += 1
                    stats.skipped += how == "send"  # a lost event is lost, not skipped
            return
        latest: dict[str, dict[str, Any]] = {}
        recorded: set[tuple[str, int]] = set()
        sent_to: set[str] = set()  # participants with an event sent (or recorded) in this run
        held: set[str] = set()  # participants whose first event was refused as stale
        for event, how in plan:
            key = (event.conversation_id, event.participant_id, event.sequence)
            # A lost event still happened: later snapshots of the conversation show it.
            latest[event.participant_id] = event.participant
            if how == "lost":  # never sent: accounted for as lost (once, if resumed)
                stats.events += 1
                if not state.recorded(key):
                    stats.outcomes["lost"] += 1
                    ledger.write(_lost(event))
                continue
            duplicate = how == "duplicate"
            if state.recorded(key):
                sent_to.add(event.participant_id)
                if not duplicate:
                    stats.events += 1
                    stats.skipped += 1
                continue
            if halt.is_set():
                return
            if cfg.time_factor is not None:
                if not first_ms:
                    first_ms.append(event.time_ms)
                due = wall0 + (event.time_ms - first_ms[0]) / 1000 * cfg.time_factor
                if await _pause(due - time.monotonic(), halt):
                    return
            if cfg.faults.jitter_ms and await _pause(cfg.faults.jitter_s(rng), halt):
                return
            delivery = Delivery(
                event.to_wire(),
                tuple(latest.values()),
                f"{lifecycle.conversation_id}:{event.participant_id}:{event.sequence}",
            )
            sent = await send_with_retries(
                client.send,
                adapter.request(delivery),
                policy,
                rng,
                on_answer=stats.named(request_name(event.participant)).answer,
                stop=halt,
            )
            stats.retries += sent.attempts - 1
            if duplicate or (event.participant_id, event.sequence) in recorded:
                stats.duplicates += 1
                continue
            if sent.abandoned:
                stats.abandoned += 1
                return
            recorded.add((event.participant_id, event.sequence))
            stats.events += 1
            entry = _outcome(sent.response, sent.attempts, event, sent.gave_up)
            stats.outcomes[entry["outcome"]] += 1
            if entry["outcome"] == "rejected":
                pid = event.participant_id
                why = cause(sent.response.status, sent.response.body, held=pid not in sent_to)
                if why == HELD:
                    held.add(pid)
                elif why == STALE and pid in held:
                    why = HELD
                stats.reject(entry, why)
            sent_to.add(event.participant_id)
            stats.timeline[int(time.monotonic() - stats.started)] += 1
            ledger.write(entry)
            if on_progress is not None:
                on_progress(stats.outcomes + state.counts, stats.events)
        verdict: Verdict | None = None
        if verification is not None and verification.possible:

            async def read(request: Request) -> Response:
                got = await send_with_retries(client.send, request, policy, rng, stop=halt)
                return got.response

            verdict = await verification.conversation(read, lifecycle)
            if halt.is_set() and verdict.unreadable:
                return  # cut short by the stop: --resume reads it back again
            verification.add(verdict)
        ledger.done(lifecycle.conversation_id, ordinal, len(lifecycle.events), verdict)
        state.conversations += 1

    async def worker(halt: asyncio.Event) -> None:
        for ordinal, lifecycle in source:
            if halt.is_set():
                return
            await one(ordinal, lifecycle, halt)

    async def everything() -> None:
        halt = asyncio.Event()
        if stop is not None:
            stop._bind(asyncio.get_running_loop(), halt)
        tasks = [asyncio.ensure_future(worker(halt)) for _ in range(max(1, cfg.concurrency))]
        try:
            await asyncio.gather(*tasks)
        finally:
            # One worker failed (an adapter raising, say): stop the others too, rather than leave
            # them sending, and writing to a closed ledger, after replay has returned.
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    wall0 = time.monotonic()
    try:
        client.run(everything())
    finally:
        ledger.close()
    seconds = time.monotonic() - stats.started
    read_back = verification is not None and verification.possible and state.verified > 0
    counts = stats.outcomes + state.counts
    return ReplayResult(
        events=stats.events,
        delivered=counts["delivered"],
        rejected=counts["rejected"],
        failed=counts["failed"],
        skipped=stats.skipped,
        requests=stats.requests,
        duplicates=stats.duplicates,
        retries=stats.retries,
        seconds=seconds,
        **_latency(stats),
        conversations=state.conversations,
        participants_checked=state.participants if read_back else 0,
        participants_converged=state.participants_converged if read_back else 0,
        conversations_converged=state.conversations_converged if read_back else 0,
        not_converged=list(state.examples) if read_back else [],
        read_back=read_back,
        rejections=dict(stats.rejections),
        causes=dict(stats.causes),
        retried=dict(stats.retried),
        rejected_events=list(stats.rejected),
        names=_names(stats),
        faults=cfg.faults.to_json(),
        target=client.base_url,
        retry_for=cfg.retry_for,
        unreadable=state.unreadable if read_back else 0,
        conversations_verified=state.verified if read_back else 0,
        stopped=stop.reason if stop is not None else None,
        abandoned=stats.abandoned,
        lost=counts["lost"],
    )


async def _pause(seconds: float, halt: asyncio.Event) -> bool:
    """Wait ``seconds`` (nothing if not positive); True if the replay was asked to stop."""
    if seconds <= 0:
        return halt.is_set()
    try:
        await asyncio.wait_for(halt.wait(), seconds)
    except TimeoutError:
        return False
    return True


def _latency(stats: _Stats) -> dict[str, Any]:
    everything: Counter[int] = Counter()
    for named in stats.names.values():
        everything.update(named.latency.counts)
    h = histogram_of(everything.items())
    last = max(stats.timeline, default=-1)
    return {
        "latency_ms": summary_ms(h),
        "latency_histogram": buckets_ms(h),
        "timeline": [stats.timeline[i] for i in range(last + 1)],
    }


def _names(stats: _Stats) -> dict[str, dict[str, Any]]:
    """Requests, failures and latency (ms) of each request name, by name."""
    out = {}
    for name in sorted(stats.names):
        named = stats.names[name]
        out[name] = {
            "requests": len(named.latency),
            "failures": named.failures,
            "latency_ms": summary_ms(named.latency.histogram()),
        }
    return out


class _Verification:
    """Per-conversation read-backs as conversations finish; the counts go to the ledger state."""

    _PROBLEMS = 3
    """Problems kept per conversation (in the ledger and as examples)."""

    def __init__(self, adapter: Adapter, edition: Edition, state: LedgerState) -> None:
        self._adapter = adapter
        self._edition = edition
        self._state = state
        self.possible = adapter.read_participant("c", "p") is not None

    async def conversation(self, read: Send, lifecycle: Lifecycle) -> Verdict:
        verdict = await verify_conversation(
            read, self._adapter, lifecycle.finals(), lifecycle.conversation_id, self._edition
        )
        return Verdict(
            participants=verdict.participants,
            participants_converged=verdict.participants_converged,
            converged=verdict.converged,
            unreadable=verdict.unreadable,
            problems=tuple(str(p) for p in verdict.problems[: self._PROBLEMS]),
        )

    def add(self, verdict: Verdict) -> None:
        self._state.add_verdict(verdict)
