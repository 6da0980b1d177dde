"""Replay: lifecycles delivered to a target the way Genesys Cloud would, faults included.

Conversations run concurrently (``concurrency`` at a time); within a conversation events go one at
a time in time order, so each participant's snapshots arrive in order unless reordering is asked
for. ``time_factor`` plays the lifecycles on their own timeline, scaled (0.01: a hundred times
faster); None sends as fast as possible.

Delivery faults, seeded per conversation: duplicates (an event sent twice), bounded reordering
(two neighbouring events of one participant swapped; the target sorts them out with
``X-Sequence``) and jitter (a random pause before a send).

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
import os
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import attrs
import orjson
from hdrh.histogram import HdrHistogram

from callbacksim.errors import UsageError
from callbacksim.semantic import differences
from callbacksim.simulator.adapters import Adapter, Delivery
from callbacksim.simulator.client import HttpClient, Request, Response
from callbacksim.simulator.lifecycle import Event, Lifecycle

__all__ = ["Faults", "ReplayConfig", "ReplayResult", "read_ledger", "replay"]

Key = tuple[str, str, int]


@attrs.frozen
class Faults:
    """Delivery faults: probabilities per event, and the largest jitter in milliseconds."""

    duplicates: float = 0.0
    reorder: float = 0.0
    jitter_ms: float = 0.0

    @property
    def any(self) -> bool:
        return bool(self.duplicates or self.reorder or self.jitter_ms)


@attrs.frozen
class ReplayConfig:
    concurrency: int = 32
    time_factor: float | None = None
    faults: Faults = Faults()
    retries: int = 3
    backoff_ms: float = 50.0
    seed: int = 0
    ledger: Path | None = None
    resume: bool = False
    verify: bool = True


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

    @property
    def throughput(self) -> float:
        sent = self.events - self.skipped
        return sent / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        out = attrs.asdict(self)
        out["throughput"] = round(self.throughput, 1)
        return out


_LINE_START = b'{"conversationId":'
"""How every ledger line begins (`_outcome` builds the entry with that key first)."""


def read_ledger(path: Path) -> tuple[set[Key], Counter[str]]:
    """The events a ledger records, and its counts by outcome. A torn last line (a run killed while
    writing it) is cut off the file, so appending goes on cleanly."""
    done: set[Key] = set()
    counts: Counter[str] = Counter()
    if not path.exists():
        return done, counts
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    for number, line in enumerate(data[:end].splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = orjson.loads(line)
            key = (
                str(entry["conversationId"]),
                str(entry["participantId"]),
                int(entry["sequence"]),
            )
            outcome = str(entry["outcome"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            msg = f"{path}:{number} is not a ledger line; pass the ledger a replay wrote"
            raise UsageError(msg) from None
        if key not in done:
            done.add(key)
            counts[outcome] += 1
    # Cut the torn line only once the file proved a ledger, and only if it begins like a line the
    # ledger writes: a file that is no ledger is left as it was.
    tail = data[end:]
    if tail:
        if not (tail.startswith(_LINE_START) or _LINE_START.startswith(tail)):
            msg = f"{path} does not end with a ledger line; pass the ledger a replay wrote"
            raise UsageError(msg)
        with path.open("r+b") as handle:
            handle.truncate(end)
    return done, counts


class _Ledger:
    """Appends one line per event outcome, written through at once (no buffering), so a kill
    loses at most the line being written."""

    def __init__(self, path: Path | None) -> None:
        self._handle: IO[bytes] | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = path.open("ab", buffering=0)

    def write(self, entry: dict[str, Any]) -> None:
        if self._handle is not None:
            self._handle.write(orjson.dumps(entry) + b"\n")

    def close(self) -> None:
        if self._handle is not None:
            os.fsync(self._handle.fileno())
            self._handle.close()


def _plan_deliveries(
    lifecycle: Lifecycle, faults: Faults, rng: random.Random
) -> list[tuple[Event, bool]]:
    """The sends of one conversation: (event, is_duplicate), faults applied."""
    events = list(lifecycle.events)
    if faults.reorder:
        last_of: dict[str, int] = {}
        for i, event in enumerate(events):
            j = last_of.get(event.participant_id)
            # Swap with the participant's previous event when nothing of it lies between.
            if j is not None and j == i - 1 and rng.random() < faults.reorder:
                events[j], events[i] = events[i], events[j]
                # The delayed event (now at i) must not be swapped again, or it would slip
                # further back than one position.
                del last_of[event.participant_id]
                continue
            last_of[event.participant_id] = i
    out: list[tuple[Event, bool]] = []
    for event in events:
        out.append((event, False))
        if faults.duplicates and rng.random() < faults.duplicates:
            out.append((event, True))
    return out


class _Stats:
    def __init__(self) -> None:
        self.outcomes: Counter[str] = Counter()
        self.rejections: Counter[str] = Counter()
        self.requests = 0
        self.duplicates = 0
        self.retries = 0
        # Latencies in microseconds, bucketed to 3 significant digits as they come (a counter
        # increment) and handed to the HDR histogram in bulk at the end: recording each value in
        # the pure-Python histogram on the hot path costs more than the rest of a send.
        self.latencies: Counter[int] = Counter()
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
        micros = max(1, int((time.monotonic() - started) * 1e6))
        shift = micros.bit_length() - 11
        stats.latencies[(micros >> shift) << shift if shift > 0 else micros] += 1
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
    ledger = _Ledger(cfg.ledger)
    stats = _Stats()
    finished: list[Lifecycle] = []
    events_total = 0
    skipped = 0
    source: Iterator[Lifecycle] = iter(lifecycles)
    first_ms: list[int] = []

    async def one(lifecycle: Lifecycle) -> None:
        nonlocal events_total, skipped
        rng = random.Random(f"{cfg.seed}:{lifecycle.conversation_id}")
        latest: dict[str, dict[str, Any]] = {}
        sent_keys: set[Key] = set()
        for event, duplicate in _plan_deliveries(lifecycle, cfg.faults, rng):
            key = (event.conversation_id, event.participant_id, event.sequence)
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
                await asyncio.sleep(rng.random() * cfg.faults.jitter_ms / 1000)
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
        finished.append(lifecycle)

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
    verified = _verify(client, adapter, finished) if cfg.verify else (0, 0, 0, [], False)
    counts = stats.outcomes + previous
    h = HdrHistogram(1, 600_000_000, 3)  # microseconds, up to 10 minutes
    for micros, count in stats.latencies.items():
        h.record_value(min(micros, 600_000_000), count)
    pct = {f"p{p:g}": h.get_value_at_percentile(p) / 1000 for p in (50, 90, 99, 99.9)}
    pct["max"] = h.get_max_value() / 1000
    pct["mean"] = h.get_mean_value() / 1000
    buckets = [
        (item.value_iterated_to / 1000, item.count_added_in_this_iter_step)
        for item in h.get_recorded_iterator()
    ]
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
        conversations=len(finished),
        participants_checked=verified[0],
        participants_converged=verified[1],
        conversations_converged=verified[2],
        not_converged=verified[3],
        read_back=verified[4],
        rejections=dict(stats.rejections),
    )


def _verify(
    client: HttpClient, adapter: Adapter, lifecycles: list[Lifecycle]
) -> tuple[int, int, int, list[str], bool]:
    """Read every participant and conversation back: (participants checked, converged,
    conversations converged, examples of what did not, whether reading back was possible)."""
    if not lifecycles or adapter.read_participant("c", "p") is None:
        return 0, 0, 0, [], False
    semaphore = asyncio.Semaphore(32)

    async def conversation(lifecycle: Lifecycle) -> tuple[int, int, bool, list[str]]:
        cid = lifecycle.conversation_id
        finals = lifecycle.finals()
        ok, problems = 0, []
        async with semaphore:
            for pid, final in finals.items():
                request = adapter.read_participant(cid, pid)
                assert request is not None
                got = await client.send(request)
                body = adapter.parse_participant(got.body) if got.status == 200 else None
                diff = differences(final, body) if body is not None else [got.describe()]
                if diff:
                    problems.append(f"{cid}/{pid}: {diff[0]}")
                else:
                    ok += 1
            whole = adapter.read_conversation(cid)
            listed_ok = True
            if whole is not None:
                answer = await client.send(whole)
                listed = adapter.parse_conversation(answer.body) if answer.status == 200 else None
                ids = sorted(str(p.get("id")) for p in listed) if listed is not None else None
                listed_ok = ids == sorted(finals)
                if not listed_ok:
                    problems.append(f"{cid}: lists {ids}, expected {sorted(finals)}")
        return len(finals), ok, ok == len(finals) and listed_ok, problems

    async def everything() -> list[tuple[int, int, bool, list[str]]]:
        return list(await asyncio.gather(*(conversation(lc) for lc in lifecycles)))

    results = client.run(everything())
    problems = [p for r in results for p in r[3]]
    return (
        sum(r[0] for r in results),
        sum(r[1] for r in results),
        sum(r[2] for r in results),
        problems[:20],
        True,
    )
