"""Replay: the promises of `callbacksim.simulator.replay`, proved against targets started here.

A *recording target* (a small aiohttp app on a thread of its own, 127.0.0.1, a free port) notes
every request as it arrives and answers as each test asks: 2xx, 4xx, 429/503, a dropped connection
or a hang past the client's timeout. The reference target (`BackgroundServer`) is used where the
replay must converge. Every server is stopped by the test that starts it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import os
import random
import re
import signal
import subprocess
import sys
import time
import tracemalloc
import zlib
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any, NamedTuple

import attrs
import orjson
import pytest
from aiohttp import web
from loopback import running

from callbacksim.errors import UsageError
from callbacksim.generation.lifecycle import Lifecycle, LifecycleStream
from callbacksim.generation.participants import ANCHOR
from callbacksim.model import Edition
from callbacksim.simulator import Faults, ReplayConfig, ReplayResult, read_ledger, replay
from callbacksim.simulator.adapters import Delivery, StoreAdapter
from callbacksim.simulator.client import HttpClient, Request
from callbacksim.simulator.ledger import LedgerState, Verdict
from callbacksim.simulator.replay import run_identity
from callbacksim.target import BackgroundServer, ServerConfig
from callbacksim.wiretime import epoch_ms

START_MS = epoch_ms(ANCHOR)
Key = tuple[str, str, int]


def lifecycles(n: int, seed: int = 1) -> list[Lifecycle]:
    return list(itertools.islice(LifecycleStream(seed, start_ms=START_MS), n))


def truncated(lcs: list[Lifecycle], events: int) -> list[Lifecycle]:
    """The lifecycles cut to their first ``events`` events (fewer requests where each is slow)."""
    return [attrs.evolve(lc, events=lc.events[:events]) for lc in lcs]


def event_keys(lcs: list[Lifecycle]) -> list[Key]:
    return [(e.conversation_id, e.participant_id, e.sequence) for lc in lcs for e in lc.events]


def ledger_lines(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def ledger_entries(path: Path) -> list[dict[str, Any]]:
    """The event lines of a ledger (neither its header nor the conversations' done lines)."""
    return [entry for entry in ledger_lines(path) if "conversationId" in entry]


def done_lines(path: Path) -> list[dict[str, Any]]:
    return [entry for entry in ledger_lines(path) if "conversation" in entry]


def ledger_key(entry: dict[str, Any]) -> Key:
    return (entry["conversationId"], entry["participantId"], entry["sequence"])


# -- a recording target -----------------------------------------------------------------------


class Arrival(NamedTuple):
    at: float  # time.monotonic() when the request arrived
    method: str
    path: str
    key: Key | None  # (cid, pid, X-Sequence) of a participant PUT
    attempt: int  # how many times this key has arrived so far, this one included
    headers: dict[str, str]
    body: bytes


Fault = Callable[[web.Request, Arrival], Awaitable[web.StreamResponse | None]]


class Target:
    """An aiohttp app on its own thread and loop: ``with Target(...) as target: target.url``.

    Every request is recorded (`arrivals`, in arrival order); ``fault`` may answer it instead of
    the default 200 (returning None lets the 200 through). ``delay`` pauses each request a random
    0..delay seconds, so concurrent requests overlap.
    """

    def __init__(self, fault: Fault | None = None, *, delay: float = 0.0) -> None:
        self.fault = fault
        self.delay = delay
        self.arrivals: list[Arrival] = []
        self.attempts: Counter[Key] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0
        self.url = ""
        self._rng = random.Random(5)
        self._serving = contextlib.ExitStack()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        parts = request.path.split("/")
        key: Key | None = None
        if len(parts) == 5 and parts[1] == "conversations" and parts[3] == "participants":
            key = (parts[2], parts[4], int(request.headers.get("X-Sequence", "0")))
            self.attempts[key] += 1
        arrival = Arrival(
            time.monotonic(),
            request.method,
            request.path,
            key,
            self.attempts[key] if key else 0,
            dict(request.headers),
            body,
        )
        self.arrivals.append(arrival)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay:
                await asyncio.sleep(self._rng.random() * self.delay)
            if self.fault is not None:
                answer = await self.fault(request, arrival)
                if answer is not None:
                    return answer
            return web.json_response({"ok": True})
        finally:
            self.in_flight -= 1

    def __enter__(self) -> Target:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self.url = self._serving.enter_context(running(app))
        return self

    def __exit__(self, *exc: object) -> None:
        self._serving.close()

    def by_participant(self) -> dict[tuple[str, str], list[int]]:
        """Each participant's X-Sequence values in order of arrival."""
        out: dict[tuple[str, str], list[int]] = defaultdict(list)
        for a in self.arrivals:
            if a.key is not None:
                out[a.key[:2]].append(a.key[2])
        return out


def run(
    url: str, lcs: Iterable[Lifecycle], cfg: ReplayConfig, *, timeout: float = 10.0
) -> ReplayResult:
    with HttpClient(url, timeout=timeout) as client:
        return replay(client, StoreAdapter(), lcs, cfg)


def assert_accounting(result: ReplayResult, ledger: Path, lcs: list[Lifecycle]) -> None:
    """The ledger has one line per event, keys unique, and agrees with the result's counts."""
    entries = ledger_entries(ledger)
    keys = [ledger_key(e) for e in entries]
    assert len(entries) == len(event_keys(lcs)) == result.events
    assert len(set(keys)) == len(keys)
    assert set(keys) == set(event_keys(lcs))
    outcomes = Counter(e["outcome"] for e in entries)
    assert set(outcomes) <= {"delivered", "rejected", "failed"}
    assert outcomes["delivered"] == result.delivered
    assert outcomes["rejected"] == result.rejected
    assert outcomes["failed"] == result.failed
    assert result.delivered + result.rejected + result.failed == result.events
    for entry in entries:
        assert set(entry) == {
            "conversationId",
            "participantId",
            "sequence",
            "outcome",
            "status",
            "attempts",
            "reason",
        }
    lines = ledger_lines(ledger)
    assert lines[0]["ledger"] == "callbacksim replay"
    assert set(lines[0]["run"]) == {"source", "seed", "edition", "faults", "adapter", "target"}
    done = done_lines(ledger)
    assert sorted(d["ordinal"] for d in done) == list(range(len(lcs)))
    assert [d["conversation"] for d in sorted(done, key=lambda d: d["ordinal"])] == [
        lc.conversation_id for lc in lcs
    ]
    assert result.conversations == len(lcs)


# -- order, timing and delivery faults ----------------------------------------------------------


def test_each_participant_arrives_in_order_under_concurrency(tmp_path: Path) -> None:
    lcs = lifecycles(80)
    ledger = tmp_path / "ledger.jsonl"
    with Target(delay=0.003) as target:
        result = run(target.url, lcs, ReplayConfig(concurrency=32, ledger=ledger, verify=False))
    assert target.max_in_flight >= 8, "the replay did not run conversations concurrently"
    expected: dict[tuple[str, str], list[int]] = defaultdict(list)
    for cid, pid, seq in event_keys(lcs):
        expected[(cid, pid)].append(seq)
    got = target.by_participant()
    assert got == expected  # every participant: 1, 2, ... n, strictly increasing, none missing
    for sequences in got.values():
        assert all(a < b for a, b in itertools.pairwise(sequences))
    assert result.delivered == result.events == len(event_keys(lcs))
    assert result.requests == result.events
    assert result.duplicates == result.retries == 0
    assert_accounting(result, ledger, lcs)


def timed_lifecycles() -> list[Lifecycle]:
    """Two conversations with events at known instants (seconds after the first):
    0, 0, 40, 100, 250 and 150, 200, 350, 500."""
    offsets = [[0, 0, 40, 100, 250], [150, 200, 350, 500]]
    out = []
    for lc, seconds in zip(lifecycles(2, seed=3), offsets, strict=True):
        events = tuple(
            attrs.evolve(e, time_ms=START_MS + s * 1000)
            for e, s in zip(lc.events, seconds, strict=False)
        )
        out.append(attrs.evolve(lc, events=events))
    return out


@pytest.mark.slow
def test_time_factor_scales_the_timeline() -> None:
    factor = 0.002  # 500 s of lifecycle time in one second
    lcs = timed_lifecycles()
    gc.collect()  # no collection pause in the middle of the timeline, if it can be helped
    with Target() as target:
        result = run(target.url, lcs, ReplayConfig(concurrency=4, time_factor=factor, verify=False))
    assert result.delivered == result.events == 9
    arrived = {a.key: a.at for a in target.arrivals}
    first_at = min(arrived.values())
    for lc in lcs:
        for e in lc.events:
            want = (e.time_ms - START_MS) / 1000 * factor
            got = arrived[(e.conversation_id, e.participant_id, e.sequence)] - first_at
            assert abs(got - want) <= 0.05 + 0.1 * want, (e.time_ms - START_MS, got, want)
    assert result.seconds >= 500 * factor * 0.95


def test_duplicates_are_sent_twice_but_recorded_once(tmp_path: Path) -> None:
    lcs = lifecycles(30)
    ledger = tmp_path / "ledger.jsonl"
    cfg = ReplayConfig(concurrency=8, faults=Faults(duplicates=0.3), ledger=ledger, verify=False)
    with Target() as target:
        result = run(target.url, lcs, cfg)
    arrivals = Counter(a.key for a in target.arrivals)
    assert set(arrivals) == set(event_keys(lcs))
    assert max(arrivals.values()) == 2
    twice = sum(1 for n in arrivals.values() if n == 2)
    assert 0 < twice < len(arrivals)
    assert result.duplicates == twice
    assert result.requests == len(target.arrivals) == result.events + result.duplicates
    assert result.delivered == result.events
    assert_accounting(result, ledger, lcs)


def test_reordering_is_bounded_to_one_position() -> None:
    lcs = lifecycles(80)
    with Target() as target:
        result = run(target.url, lcs, ReplayConfig(faults=Faults(reorder=0.5), verify=False))
    assert result.delivered == result.events
    out_of_order = 0
    for sequences in target.by_participant().values():
        assert sorted(sequences) == list(range(1, len(sequences) + 1))  # each exactly once
        # Each snapshot arrives at most one position away from its place.
        for position, seq in enumerate(sequences, start=1):
            assert abs(seq - position) <= 1, sequences
        out_of_order += sequences != sorted(sequences)
    assert out_of_order > 0


def test_reordered_replay_converges_on_the_reference_target(tmp_path: Path) -> None:
    lcs = lifecycles(40)
    ledger = tmp_path / "ledger.jsonl"
    cfg = ReplayConfig(faults=Faults(reorder=0.5, duplicates=0.2), ledger=ledger)
    with BackgroundServer(ServerConfig()) as url:
        result = run(url, lcs, cfg)
    # A snapshot overtaken by its successor is stale (409) and leaves the newer one in place.
    assert result.rejections.get("409", 0) > 0
    assert set(result.rejections) == {"409"}
    assert result.failed == 0
    assert result.read_back
    assert result.participants_checked == sum(len(lc.finals()) for lc in lcs)
    assert result.participants_converged == result.participants_checked
    assert result.conversations_converged == result.conversations == len(lcs)
    assert result.not_converged == []
    assert_accounting(result, ledger, lcs)


@pytest.mark.slow
def test_jitter_delays_the_sends() -> None:
    lcs = lifecycles(3, seed=4)
    n = len(event_keys(lcs))
    with Target() as target:
        plain = run(target.url, lcs, ReplayConfig(concurrency=1, verify=False))
        jittered = run(
            target.url, lcs, ReplayConfig(concurrency=1, faults=Faults(jitter_ms=30), verify=False)
        )
    assert plain.delivered == jittered.delivered == n
    # One conversation at a time: each send waits 0..30 ms (15 on average) first.
    assert jittered.seconds - plain.seconds >= n * 0.015 * 0.4
    assert jittered.seconds <= plain.seconds + n * 0.030 + 2.0


# -- retries, rejections and failures -----------------------------------------------------------

FAIL_FIRST = 2  # the faulty target fails the first two attempts of every request


def faulty(mode: str, fail_first: int = FAIL_FIRST) -> Fault:
    async def fault(request: web.Request, arrival: Arrival) -> web.StreamResponse | None:
        if arrival.attempt > fail_first:
            return None
        if mode == "503":
            return web.json_response({"error": "busy"}, status=503)
        if mode == "429":
            return web.json_response(
                {"error": "slow down"}, status=429, headers={"Retry-After": "0.2"}
            )
        if mode == "drop":
            assert request.transport is not None
            request.transport.close()
            return web.Response()
        assert mode == "hang"
        await asyncio.sleep(1.0)  # well past the client's timeout (0.3 s)
        return None

    return fault


MODES = ["503", "429", "drop", "hang"]


@pytest.mark.parametrize("mode", MODES)
def test_retries_until_delivered(mode: str, tmp_path: Path) -> None:
    lcs = truncated(lifecycles(3, seed=6), 2)
    ledger = tmp_path / "ledger.jsonl"
    cfg = ReplayConfig(concurrency=3, retries=3, backoff_ms=10, ledger=ledger, verify=False)
    with Target(faulty(mode)) as target:
        result = run(target.url, lcs, cfg, timeout=0.3)
    entries = ledger_entries(ledger)
    assert len(entries) == result.events == result.delivered == 6
    for entry in entries:
        assert entry["outcome"] == "delivered"
        assert entry["status"] == 200
        assert entry["reason"] is None
        assert 1 < entry["attempts"] <= FAIL_FIRST + 1
        assert target.attempts[ledger_key(entry)] == FAIL_FIRST + 1
    assert result.retries == sum(e["attempts"] - 1 for e in entries)
    assert result.requests == result.events + result.retries
    if mode == "429":  # Retry-After: 0.2 is honoured (the backoff alone is ~10 ms)
        times: dict[Key, list[float]] = defaultdict(list)
        for a in target.arrivals:
            assert a.key is not None
            times[a.key].append(a.at)
        for at in times.values():
            assert all(b - a >= 0.2 for a, b in itertools.pairwise(at)), at
    assert_accounting(result, ledger, lcs)


@pytest.mark.parametrize("mode", MODES)
def test_without_retries_the_events_fail_with_a_reason(mode: str, tmp_path: Path) -> None:
    lcs = truncated(lifecycles(3, seed=6), 2)
    ledger = tmp_path / "ledger.jsonl"
    cfg = ReplayConfig(concurrency=3, retries=0, ledger=ledger, verify=False)
    with Target(faulty(mode)) as target:
        result = run(target.url, lcs, cfg, timeout=0.3)
    assert result.failed == result.events == 6
    assert result.retries == 0
    entries = ledger_entries(ledger)
    for entry in entries:
        assert entry["outcome"] == "failed"
        assert entry["attempts"] == 1
        assert entry["reason"]
        if mode in ("503", "429"):
            assert entry["status"] == int(mode)
            assert mode in entry["reason"]
        else:
            assert entry["status"] is None
    if mode == "hang":
        assert all("timed out" in e["reason"] for e in entries)
    if mode == "drop":
        assert all("before the answer was complete" in e["reason"] for e in entries)
    assert_accounting(result, ledger, lcs)


@pytest.mark.parametrize("status", [400, 422])
def test_a_client_error_is_rejected_at_once(status: int, tmp_path: Path) -> None:
    async def refuse(request: web.Request, arrival: Arrival) -> web.StreamResponse:
        return web.json_response({"error": f"no thanks {arrival.key}"}, status=status)

    lcs = truncated(lifecycles(4, seed=8), 3)
    ledger = tmp_path / "ledger.jsonl"
    with Target(refuse) as target:
        result = run(target.url, lcs, ReplayConfig(retries=3, ledger=ledger, verify=False))
    assert result.rejected == result.events == 12
    assert result.rejections == {str(status): 12}
    assert result.retries == 0
    assert result.requests == 12
    assert set(target.attempts.values()) == {1}  # never retried
    for entry in ledger_entries(ledger):
        assert entry["outcome"] == "rejected"
        assert entry["status"] == status
        assert entry["attempts"] == 1
        key = ledger_key(entry)
        assert orjson.loads(entry["reason"]) == {"error": f"no thanks {key}"}
    assert_accounting(result, ledger, lcs)


def test_the_ledger_accounts_for_every_event(tmp_path: Path) -> None:
    """A mix: some events refused (422), some never accepted (503), duplicates on top."""

    def verdict(key: Key) -> int:
        return [200, 200, 200, 422, 503][zlib.crc32(repr(key).encode()) % 5]

    async def mixed(request: web.Request, arrival: Arrival) -> web.StreamResponse | None:
        assert arrival.key is not None
        status = verdict(arrival.key)
        return None if status == 200 else web.json_response({"status": status}, status=status)

    lcs = lifecycles(25, seed=9)
    ledger = tmp_path / "ledger.jsonl"
    progress: list[tuple[Counter[str], int]] = []
    cfg = ReplayConfig(
        retries=1, backoff_ms=1, faults=Faults(duplicates=0.2), ledger=ledger, verify=False
    )
    with Target(mixed) as target, HttpClient(target.url) as client:
        result = replay(
            client, StoreAdapter(), lcs, cfg, on_progress=lambda c, n: progress.append((c, n))
        )
    assert_accounting(result, ledger, lcs)
    want = Counter(verdict(k) for k in event_keys(lcs))
    assert result.delivered == want[200]
    assert result.rejected == want[422] == result.rejections["422"]
    assert result.failed == want[503]
    assert min(want.values()) > 0
    for entry in ledger_entries(ledger):
        status = verdict(ledger_key(entry))
        outcome = {200: "delivered", 422: "rejected", 503: "failed"}[status]
        assert (entry["outcome"], entry["status"]) == (outcome, status)
        assert entry["attempts"] == (2 if status == 503 else 1)
    assert len(progress) == result.events
    last, total = progress[-1]
    assert total == result.events
    assert sum(last.values()) == result.events


# -- the ledger and resuming --------------------------------------------------------------------


def line(cid: str, pid: str, seq: int, outcome: str = "delivered") -> bytes:
    entry = {
        "conversationId": cid,
        "participantId": pid,
        "sequence": seq,
        "outcome": outcome,
        "status": 200,
        "attempts": 1,
        "reason": None,
    }
    return orjson.dumps(entry) + b"\n"


def done_line(cid: str, ordinal: int, verdict: Verdict | None = None) -> bytes:
    entry: dict[str, Any] = {"conversation": cid, "ordinal": ordinal, "events": 1}
    entry["verified"] = verdict is not None
    if verdict is not None:
        entry |= {
            "participants": verdict.participants,
            "participantsConverged": verdict.participants_converged,
            "converged": verdict.converged,
            "unreadable": verdict.unreadable,
            "problems": list(verdict.problems),
        }
    return orjson.dumps(entry) + b"\n"


def header(url: str, cfg: ReplayConfig) -> bytes:
    """The header a replay of ``cfg`` against ``url`` writes (with the store adapter)."""
    run = run_identity(url, StoreAdapter.name, cfg)
    return orjson.dumps({"ledger": "callbacksim replay", "version": 1, "run": run}) + b"\n"


def test_read_ledger_cuts_a_torn_last_line(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    whole = line("c", "p", 1) + line("c", "p", 2, "rejected") + line("c", "q", 1)
    path.write_bytes(whole + line("c", "q", 2)[:25])
    state = read_ledger(path)
    assert state.pending == {"c": {("p", 1), ("p", 2), ("q", 1)}}
    assert state.recorded(("c", "p", 2))
    assert not state.recorded(("c", "q", 2))
    assert state.counts == Counter({"delivered": 2, "rejected": 1})
    assert path.read_bytes() == whole  # appending goes on from a clean line


def test_read_ledger_counts_a_repeated_line_once(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    path.write_bytes(line("c", "p", 1) + line("c", "p", 1) + b"\n" + line("c", "p", 2))
    state = read_ledger(path)
    assert state.pending == {"c": {("p", 1), ("p", 2)}}
    assert state.counts == Counter({"delivered": 2})


def test_read_ledger_of_a_missing_file_is_empty(tmp_path: Path) -> None:
    state = read_ledger(tmp_path / "none.jsonl")
    assert state == LedgerState()
    assert not state.is_done(0)


def test_done_conversations_become_a_watermark(tmp_path: Path) -> None:
    ok = Verdict(3, 3, converged=True, unreadable=False)
    unread = Verdict(2, 1, converged=False, unreadable=True, problems=("b/q: could not read",))
    path = tmp_path / "ledger.jsonl"
    path.write_bytes(
        b'{"ledger":"callbacksim replay","version":1,"run":{"seed":3}}\n'
        + line("a", "p", 1)
        + line("b", "q", 1, "failed")
        + done_line("a", 0, ok)
        + line("d", "p", 1)
        + done_line("d", 3, ok)
        + done_line("b", 1, unread)
        + line("c", "p", 1)
        + done_line("f", 5)
        + line("e", "r", 7)
    )
    state = read_ledger(path)
    assert state.run == {"seed": 3}
    assert state.watermark == 2  # 0 and 1 are done; 2 (c) is not
    assert state.done_above == {3, 5}
    assert [o for o in range(7) if state.is_done(o)] == [0, 1, 3, 5]
    assert state.pending == {"c": {("p", 1)}, "e": {("r", 7)}}  # only what is not done
    assert state.counts == Counter({"delivered": 4, "failed": 1})
    assert state.conversations == 4
    assert state.verified == 3
    assert (state.participants, state.participants_converged) == (8, 7)
    assert (state.conversations_converged, state.unreadable) == (2, 1)
    assert state.examples == ["b/q: could not read"]


def test_reading_a_ledger_keeps_nothing_per_finished_conversation(tmp_path: Path) -> None:
    """Peak memory while reading a ledger of N and of 4N conversations stays about the same."""

    def peak(n: int) -> tuple[int, LedgerState]:
        path = tmp_path / f"ledger-{n}.jsonl"
        with path.open("wb") as out:
            out.write(b'{"ledger":"callbacksim replay","version":1,"run":{}}\n')
            window: list[int] = []
            for i in range(n):
                cid = f"conversation-{i:08d}"
                out.write(line(cid, "p", 1) + line(cid, "q", 1) + line(cid, "p", 2))
                window.append(i)
                if len(window) == 8:  # finished a little out of order, as workers do
                    for j in reversed(window):
                        out.write(done_line(f"conversation-{j:08d}", j))
                    window.clear()
        gc.collect()
        tracemalloc.start()
        try:
            state = read_ledger(path)
            return tracemalloc.get_traced_memory()[1], state
        finally:
            tracemalloc.stop()

    small, state = peak(5_000)
    large, big_state = peak(20_000)
    assert state.watermark == 5_000
    assert big_state.watermark == 20_000
    assert big_state.counts["delivered"] == 60_000
    assert big_state.pending == {}
    assert big_state.done_above == set()
    # Four times the conversations; the peak may differ only by noise, not 4x.
    assert large < small + 256 * 1024, (small, large)


@pytest.mark.parametrize(
    "garbage",
    [
        b"not json at all\n",
        b"[1, 2, 3]\n",
        b'"a string"\n',
        b'{"conversationId": "c", "participantId": "p"}\n',
        b'{"conversationId": "c", "participantId": "p", "sequence": "x", "outcome": "delivered"}\n',
        b'{"conversation": "c", "ordinal": "first", "verified": false}\n',
        b'{"ledger": "callbacksim replay", "version": 1, "run": {}}\n',  # a header, but not first
    ],
)
def test_read_ledger_refuses_garbage_lines(garbage: bytes, tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    data = line("c", "p", 1) + garbage + line("c", "p", 2) + b'{"conversationId": "c", "par'
    path.write_bytes(data)
    with pytest.raises(UsageError, match=r"ledger.jsonl:2 is not a ledger line"):
        read_ledger(path)
    assert path.read_bytes() == data  # a file that is no ledger is left alone


@pytest.mark.parametrize(
    "content",
    [b'{"report": {"events": 12}, "throughput": 400.0}', b"hello", b'{\n  "a": 1\n}'],
)
def test_read_ledger_leaves_a_file_that_is_no_ledger_alone(content: bytes, tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    path.write_bytes(content)
    with pytest.raises(UsageError):
        read_ledger(path)
    assert path.read_bytes() == content


def test_an_existing_ledger_needs_resume(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    path.write_bytes(line("c", "p", 1))
    with Target() as target:
        with pytest.raises(UsageError, match="resume"):
            run(target.url, lifecycles(2), ReplayConfig(ledger=path, verify=False))
        assert target.arrivals == []  # nothing sent
    assert path.read_bytes() == line("c", "p", 1)


def test_resume_sends_only_what_the_ledger_lacks(tmp_path: Path) -> None:
    lcs = lifecycles(10, seed=11)
    keys = event_keys(lcs)
    path = tmp_path / "ledger.jsonl"
    cfg = ReplayConfig(ledger=path, resume=True, verify=False)
    with Target() as target:
        path.write_bytes(
            header(target.url, cfg) + b"".join(line(*k) for k in keys[::2]) + line(*keys[1])[:30]
        )
        result = run(target.url, lcs, cfg)
    sent = [a.key for a in target.arrivals if a.key is not None]
    assert len(sent) == len(target.arrivals)
    assert sorted(sent) == sorted(keys[1::2])
    assert result.skipped == len(keys[::2])
    assert result.events == result.delivered == len(keys)
    assert_accounting(result, path, lcs)


def test_resume_of_a_finished_run_sends_nothing_and_keeps_its_verdict(tmp_path: Path) -> None:
    lcs = lifecycles(12, seed=13)
    path = tmp_path / "ledger.jsonl"
    with BackgroundServer(ServerConfig()) as url:
        first = run(url, lcs, ReplayConfig(ledger=path))
        size = path.stat().st_size
        again = run(url, lcs, ReplayConfig(ledger=path, resume=True))
    assert first.converged
    assert again.converged
    assert again.requests == 0
    assert again.skipped == again.events == first.events
    assert path.stat().st_size == size  # nothing appended
    for name in (
        "delivered",
        "conversations",
        "participants_checked",
        "participants_converged",
        "conversations_converged",
        "conversations_verified",
    ):
        assert getattr(again, name) == getattr(first, name), name
    assert first.conversations_verified == first.conversations == 12


@pytest.mark.parametrize(
    ("setting", "changed", "named"),
    [
        ("seed", {"seed": 6}, "seed is 5, this run's is 6"),
        ("edition", {"edition": Edition.SDK_269}, 'edition is "seed", this run\'s is "sdk-269"'),
        ("faults", {"faults": Faults(duplicates=0.5)}, "faults.duplicates is 0.0"),
        ("source", {"source": {"lifecycles": 7}}, "source.lifecycles is 6, this run's is 7"),
    ],
)
def test_resume_refuses_the_ledger_of_another_run(
    setting: str, changed: dict[str, Any], named: str, tmp_path: Path
) -> None:
    lcs = lifecycles(6, seed=14)
    path = tmp_path / "ledger.jsonl"
    base = ReplayConfig(ledger=path, seed=5, verify=False, source={"lifecycles": 6})
    with Target() as target:
        run(target.url, lcs, base)
        before = path.read_bytes()
        sent = len(target.arrivals)
        other = attrs.evolve(base, resume=True, **changed)
        with pytest.raises(UsageError, match=re.escape(named)) as caught:
            run(target.url, lcs, other)
        assert len(target.arrivals) == sent  # nothing sent
    assert str(caught.value).count("\n") == 0
    assert "another run" in str(caught.value)
    assert path.read_bytes() == before
    with Target() as elsewhere:  # another target is another run too
        with pytest.raises(UsageError, match="target is"):
            run(elsewhere.url, lcs, attrs.evolve(base, resume=True))
        assert elsewhere.arrivals == []


KILLED_RUN = """
import itertools, sys
from pathlib import Path
from callbacksim.generation.participants import ANCHOR
from callbacksim.simulator.adapters import Delivery, StoreAdapter
from callbacksim.simulator.client import HttpClient, Request
from callbacksim.simulator.ledger import LedgerState, Verdict
from callbacksim.simulator.replay import run_identity
from callbacksim.generation.lifecycle import LifecycleStream
from callbacksim.simulator.replay import ReplayConfig, replay
from callbacksim.wiretime import epoch_ms

url, ledger, count, seed = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
lifecycles = itertools.islice(LifecycleStream(seed, start_ms=epoch_ms(ANCHOR)), count)
with HttpClient(url) as client:
    replay(client, StoreAdapter(), lifecycles, ReplayConfig(concurrency=8, ledger=ledger))
"""


def lines_in(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


@pytest.mark.slow
def test_resume_after_sigkill(tmp_path: Path) -> None:
    count, seed = 300, 12
    lcs = lifecycles(count, seed=seed)
    keys = event_keys(lcs)
    ledger = tmp_path / "ledger.jsonl"
    with BackgroundServer(ServerConfig()) as url:
        argv = [sys.executable, "-c", KILLED_RUN, url, str(ledger), str(count), str(seed)]
        child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 60
            while lines_in(ledger) < 300 and child.poll() is None:
                assert time.monotonic() < deadline, "the child wrote no ledger in 60 s"
                time.sleep(0.01)
            os.kill(child.pid, signal.SIGKILL)
        finally:
            if child.poll() is None:
                child.kill()
            _, err = child.communicate(timeout=30)
        assert child.returncode == -signal.SIGKILL, err.decode(errors="replace")
        assert lines_in(ledger) < len(keys)  # killed half-way
        # A kill may tear the last line; tear one on purpose too, the way a kill would.
        data = ledger.read_bytes()
        if data.endswith(b"\n"):
            ledger.write_bytes(data + line(*keys[-1])[:40])
        whole = data[: data.rfind(b"\n") + 1]
        before = sum(1 for x in whole.splitlines() if x.startswith(b'{"conversationId":'))

        with HttpClient(url) as client:
            result = replay(
                client,
                StoreAdapter(),
                lcs,
                ReplayConfig(concurrency=8, ledger=ledger, resume=True),
            )

    entries = ledger_entries(ledger)
    written = [ledger_key(e) for e in entries]
    assert len(written) == len(set(written)) == len(keys)  # no duplicates, none missing
    assert set(written) == set(keys)
    assert result.skipped == before
    assert result.events == len(keys)
    assert result.delivered == len(keys)
    assert result.delivered + result.rejected + result.failed == result.events
    assert result.read_back
    assert result.participants_checked == sum(len(lc.finals()) for lc in lcs)
    assert result.participants_converged == result.participants_checked
    assert result.conversations_converged == result.conversations == count
    assert_accounting(result, ledger, lcs)


def test_lifecycles_from_a_generator_and_none_at_all() -> None:
    """Lifecycles may come from a generator (consumed once); an empty source is fine."""
    lcs = lifecycles(5)
    with Target() as target:
        result = run(target.url, (lc for lc in lcs), ReplayConfig(verify=False))
        empty = run(target.url, [], ReplayConfig())
    assert result.events == result.delivered == len(event_keys(lcs))
    assert result.conversations == 5
    assert empty.events == empty.requests == empty.conversations == 0
    assert not empty.read_back


class FailingAdapter(StoreAdapter):
    """The store adapter, raising at its ``fail_at``-th request (a custom adapter's bug)."""

    def __init__(self, fail_at: int) -> None:
        self.fail_at = fail_at
        self.made = 0

    def request(self, delivery: Delivery) -> Request:
        self.made += 1
        if self.made == self.fail_at:
            msg = "adapter bug"
            raise RuntimeError(msg)
        return super().request(delivery)


def test_an_adapter_error_stops_the_whole_replay(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.jsonl"
    with Target(delay=0.01) as target, HttpClient(target.url) as client:
        with pytest.raises(RuntimeError, match="adapter bug"):
            replay(client, FailingAdapter(50), lifecycles(100), ReplayConfig(ledger=ledger))
        # Requests written just before the raise may still be landing: let them, then count.
        time.sleep(0.1)
        sent = len(target.arrivals)
        time.sleep(0.3)
        assert len(target.arrivals) == sent  # no worker goes on sending after replay raised
    state = read_ledger(ledger)  # every line whole
    recorded = sum(len(keys) for keys in state.pending.values())
    assert recorded == sum(state.counts.values()) == len(ledger_entries(ledger)) <= sent
