"""Replay: lifecycles delivered to a target the way Genesys Cloud would, faults included.

Conversations run concurrently (``concurrency`` at a time); within a conversation events go one at
a time in time order, so each participant's snapshots arrive in order unless reordering is asked
for. ``time_factor`` plays the lifecycles on their own timeline, scaled (0.01: a hundred times
faster); None sends as fast as possible.

Delivery faults, seeded per conversation: duplicates (an event sent twice), bounded reordering
(two neighbouring events of one participant swapped; the target sorts them out with
``X-Sequence``), jitter (a random pause before a send) and loss (an event never sent, recorded as
``lost``; later snapshots of the conversation still show what it changed).

Every request has a timeout. Connection errors, resets, timeouts, malformed answers, 429 and 5xx
are retried with exponential backoff up to ``retries`` times, honouring ``Retry-After``. Each
event ends as **delivered** (2xx), **rejected** (another 4xx; status and body kept) or **failed**
(retries exhausted; the last reason kept), and that outcome is appended to the ledger at once, one
JSON line per event. A run killed at any point (SIGKILL included) resumes from its ledger: events
already there are not sent again, nor counted twice; a torn last line is discarded.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import attrs

from callbacksim.errors import UsageError
from callbacksim.generation.lifecycle import Event, Lifecycle
from callbacksim.model import Edition
from callbacksim.simulator.adapters import Adapter, Delivery
from callbacksim.simulator.client import HttpClient, Request, Response
from callbacksim.simulator.convergence import ConversationVerdict, verify_conversation
from callbacksim.simulator.faults import Faults, plan_deliveries, split_lost
from callbacksim.simulator.latency import LatencyRecorder, buckets_ms, summary_ms
from callbacksim.simulator.ledger import Key, Ledger, read_ledger

__all__ = ["ReplayConfig", "ReplayResult", "replay"]


def _at_least(flag: str, low: int) -> Callable[[object, attrs.Attribute[int], int], None]:
    def check(_instance: object, _attribute: attrs.Attribute[int], value: int) -> None:
        if value < low:
            msg = f"{flag} must be {low} or more, got {value}"
            raise UsageError(msg)

    return check


def _time_factor(
    _instance: object, _attribute: attrs.Attribute[float | None], value: float | None
) -> None:
    if value is not None and value <= 0:
        msg = f"--time-factor must be positive (0.01 plays 100x faster), got {value}"
        raise UsageError(msg)


@attrs.frozen
class ReplayConfig:
    """How to replay: concurrency, timeline, faults, retries, seed, ledger and verification."""

    concurrency: int = attrs.field(default=32, validator=_at_least("--concurrency", 1))
    time_factor: float | None = attrs.field(default=None, validator=_time_factor)
    faults: Faults = attrs.field(factory=Faults)
    retries: int = attrs.field(default=3, validator=_at_least("--retries", 0))
    backoff_ms: float = 50.0
    seed: int = 0
    ledger: Path | None = None
    resume: bool = False
    verify: bool = True
    edition: Edition = Edition.SEED
    """The edition convergence is judged in (properties it defines are compared)."""


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
    lost: int = 0
    """Events the loss fault dropped: never sent, recorded in the ledger as ``lost`` (and not
    counted as skipped when a run resumes)."""

    @property
    def converged(self) -> bool:
        """The verdict: nothing failed and, where the target could be read back, every
        participant and conversation holds its final snapshot."""
        if self.failed:
            return False
        if not self.read_back:
            return True
        return (
            self.participants_converged == self.participants_checked
            and self.conversations_converged == self.conversations
            and not self.not_converged
        )

    @property
    def throughput(self) -> float:
        sent = self.events - self.skipped - self.lost
        return sent / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        out = attrs.asdict(self)
        out["throughput"] = round(self.throughput, 1)
        out["converged"] = self.converged
        return out


class _Stats:
    def __init__(self) -> None:
        self.outcomes: Counter[str] = Counter()
        self.rejections: Counter[str] = Counter()
        self.requests = 0
        self.duplicates = 0
        self.retries = 0
        self.conversations = 0
        self.latencies = LatencyRecorder()
        self.timeline: Counter[int] = Counter()
        self.started = time.monotonic()


async def _send(
    client: HttpClient, request: Request, cfg: ReplayConfig, rng: random.Random, stats: _Stats
) -> tuple[Response, int]:
    """Send with retries; the final answer and the number of attempts."""
    attempt = 0
    while True:
        attempt += 1
        started = time.monotonic()
        response = await client.send(request)
        stats.requests += 1
        stats.latencies.record_seconds(time.monotonic() - started)
        retryable = response.status is None or response.status == 429 or response.status >= 500
        if not retryable or attempt > cfg.retries:
            return response, attempt
        stats.retries += 1
        delay = cfg.backoff_ms / 1000 * (2 ** (attempt - 1)) * (0.5 + rng.random())
        retry_after = response.headers.get("Retry-After") if response.status else None
        if retry_after is not None:
            with contextlib.suppress(ValueError):  # an HTTP-date or garbage: keep the backoff
                delay = max(delay, min(float(retry_after), 30.0))
        await asyncio.sleep(delay)


def _outcome(response: Response, attempts: int, event: Event) -> dict[str, Any]:
    status = response.status
    if status is not None and 200 <= status < 300:
        outcome, reason = "delivered", None
    elif status is not None and 400 <= status < 500 and status != 429:
        outcome = "rejected"
        reason = response.body[:500].decode("utf-8", errors="replace")
    else:
        outcome = "failed"
        reason = response.error or f"status {status} after {attempts} attempt(s)"
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


def replay(
    client: HttpClient,
    adapter: Adapter,
    lifecycles: Iterable[Lifecycle],
    cfg: ReplayConfig,
    *,
    on_progress: Callable[[Counter[str], int], None] | None = None,
) -> ReplayResult:
    """Replay ``lifecycles`` against the target behind ``client``; see the module docstring."""
    done: set[Key] = set()
    previous: Counter[str] = Counter()
    if cfg.ledger is not None and cfg.resume:
        done, previous = read_ledger(cfg.ledger)
    elif cfg.ledger is not None and cfg.ledger.exists() and cfg.ledger.stat().st_size:
        msg = f"the ledger {cfg.ledger} exists; pass --resume to continue that run, or another path"
        raise UsageError(msg)
    ledger = Ledger(cfg.ledger)
    stats = _Stats()
    verification = _Verification(client, adapter, cfg.edition) if cfg.verify else None
    events_total = 0
    skipped = 0
    source: Iterator[Lifecycle] = iter(lifecycles)
    first_ms: list[int] = []

    async def one(lifecycle: Lifecycle) -> None:
        nonlocal events_total, skipped
        rng = random.Random(f"{cfg.seed}:{lifecycle.conversation_id}")
        latest: dict[str, dict[str, Any]] = {}
        sent_keys: set[Key] = set()
        kept, lost = split_lost(lifecycle.events, cfg.faults, rng)
        for event in lost:  # never sent: accounted for at once, as lost (once, if resumed)
            events_total += 1
            if (event.conversation_id, event.participant_id, event.sequence) not in done:
                stats.outcomes["lost"] += 1
                ledger.write(_lost(event))
        position = {id(e): i for i, e in enumerate(lifecycle.events)} if lost else {}
        unsent = iter(lost)
        pending = next(unsent, None)
        for event, duplicate in plan_deliveries(kept, cfg.faults, rng):
            key = (event.conversation_id, event.participant_id, event.sequence)
            # A lost event still happened: later snapshots of the conversation show it.
            while pending is not None and position[id(pending)] < position[id(event)]:
                latest[pending.participant_id] = pending.participant
                pending = next(unsent, None)
            latest[event.participant_id] = event.participant
            if not duplicate:
                events_total += 1
            if key in done:
                skipped += 0 if duplicate else 1
                continue
            if cfg.time_factor is not None:
                if not first_ms:
                    first_ms.append(event.time_ms)
                due = wall0 + (event.time_ms - first_ms[0]) / 1000 * cfg.time_factor
                pause = due - time.monotonic()
                if pause > 0:
                    await asyncio.sleep(pause)
            if cfg.faults.jitter_ms:
                await asyncio.sleep(cfg.faults.jitter_s(rng))
            delivery = Delivery(
                event.to_wire(),
                tuple(latest.values()),
                f"{lifecycle.conversation_id}:{event.participant_id}:{event.sequence}",
            )
            response, attempts = await _send(client, adapter.request(delivery), cfg, rng, stats)
            if duplicate or key in sent_keys:
                stats.duplicates += 1
                continue
            sent_keys.add(key)
            entry = _outcome(response, attempts, event)
            stats.outcomes[entry["outcome"]] += 1
            if entry["outcome"] == "rejected":
                stats.rejections[str(entry["status"])] += 1
            stats.timeline[int(time.monotonic() - stats.started)] += 1
            ledger.write(entry)
            if on_progress is not None:
                on_progress(stats.outcomes + previous, events_total)
        stats.conversations += 1
        if verification is not None:
            # Every event of this conversation has been delivered: judge it now and keep only
            # the counts, so memory does not grow with the number of conversations.
            await verification.conversation(lifecycle)

    async def worker() -> None:
        for lifecycle in source:
            await one(lifecycle)

    async def everything() -> None:
        tasks = [asyncio.ensure_future(worker()) for _ in range(max(1, cfg.concurrency))]
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
    read_back = verification is not None and verification.possible and stats.conversations > 0
    counts = stats.outcomes + previous
    h = stats.latencies.histogram()
    pct = summary_ms(h)
    buckets = buckets_ms(h)
    last = max(stats.timeline, default=-1)
    return ReplayResult(
        events=events_total,
        delivered=counts["delivered"],
        rejected=counts["rejected"],
        failed=counts["failed"],
        skipped=skipped,
        requests=stats.requests,
        duplicates=stats.duplicates,
        retries=stats.retries,
        seconds=seconds,
        latency_ms=pct,
        latency_histogram=buckets,
        timeline=[stats.timeline[i] for i in range(last + 1)],
        conversations=stats.conversations,
        participants_checked=verification.participants if read_back and verification else 0,
        participants_converged=verification.participants_ok if read_back and verification else 0,
        conversations_converged=verification.conversations_ok if read_back and verification else 0,
        not_converged=verification.examples if read_back and verification else [],
        read_back=read_back,
        rejections=dict(stats.rejections),
        unreadable=verification.unreadable if read_back and verification else 0,
        lost=counts["lost"],
    )


class _Verification:
    """Per-conversation read-backs as conversations finish; only counts and a few examples kept."""

    _EXAMPLES = 20

    def __init__(self, client: HttpClient, adapter: Adapter, edition: Edition) -> None:
        self._client = client
        self._adapter = adapter
        self._edition = edition
        self.possible = adapter.read_participant("c", "p") is not None
        self.participants = 0
        self.participants_ok = 0
        self.conversations_ok = 0
        self.unreadable = 0
        self.examples: list[str] = []

    async def conversation(self, lifecycle: Lifecycle) -> ConversationVerdict | None:
        if not self.possible:
            return None
        verdict = await verify_conversation(
            self._client.send,
            self._adapter,
            lifecycle.finals(),
            lifecycle.conversation_id,
            self._edition,
        )
        self.participants += verdict.participants
        self.participants_ok += verdict.participants_converged
        self.conversations_ok += verdict.converged
        self.unreadable += verdict.unreadable
        for problem in verdict.problems:
            if len(self.examples) < self._EXAMPLES:
                self.examples.append(str(problem))
        return verdict
