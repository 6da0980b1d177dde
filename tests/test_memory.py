"""Replay keeps nothing per conversation: its memory does not grow with the size of the run.

Measured with tracemalloc (everything Python allocates, every thread) while replaying N and then
4N generated conversations, with verification and a ledger, against a *forgetful* target in this
process: a correct store that drops a conversation once its listing has been read (the last read
of a verification), so the target itself holds only the conversations in flight. Then the same for
``--resume`` of the finished 4N ledger. Peak RSS at large sizes is the business of
``benchmarks/bench_memory.py``; this checks the shape, quickly.
"""

from __future__ import annotations

import gc
import tracemalloc
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import stubs

from callbacksim.generation.lifecycle import Event, Lifecycle, Plan
from callbacksim.generation.participants import ANCHOR_MS
from callbacksim.simulator import latency
from callbacksim.simulator.adapters import StoreAdapter
from callbacksim.simulator.client import HttpClient
from callbacksim.simulator.replay import ReplayConfig, ReplayResult, replay


@contextmanager
def forgetful_target() -> Iterator[str]:
    """`stubs.FORGETFUL` (a correct store that forgets a conversation once its listing is read,
    the last read of a verification), a process of its own so that only the replay is measured."""
    process, url = stubs.start(stubs.FORGETFUL)
    try:
        yield url
    finally:
        stubs.stop(process)


def conversations(n: int) -> Iterator[Lifecycle]:
    """``n`` small conversations (two participants, one snapshot each), made as consumed: cheap
    to make, so that the replay, not the generator, is what is measured."""
    for i in range(n):
        cid = f"conversation-{i:07d}"
        events = tuple(
            Event(ANCHOR_MS + i, cid, pid, 1, {"id": pid, "name": f"n{i}", "state": "connected"})
            for pid in ("customer", "agent")
        )
        yield Lifecycle(cid, Plan(), events)


def peak_of(
    url: str, n: int, cfg: ReplayConfig, *, traced: bool = True
) -> tuple[int, ReplayResult]:
    gc.collect()
    with HttpClient(url, connections=16) as client:
        if traced:
            tracemalloc.start()
        try:
            result = replay(client, StoreAdapter(), conversations(n), cfg)
            return tracemalloc.get_traced_memory()[1], result
        finally:
            tracemalloc.stop()


@pytest.mark.slow
def test_replay_and_resume_memory_does_not_grow_with_the_conversations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Latencies are counted by HDR bucket: bounded, but the more requests, the more distinct
    # buckets a busy machine's scattered latencies fill. Every latency counts as 1 ms here, so
    # that what is measured is what replay keeps per conversation.
    monkeypatch.setattr(latency, "bucket", lambda micros: 1000)
    small_n, large_n = 300, 1200
    with forgetful_target() as url:
        # Warm up, untraced: imports, the connection pool, and bounded caches (of URLs, in the
        # HTTP library) filled to their size, so that what grows below is what replay keeps.
        peak_of(url, large_n, ReplayConfig(concurrency=8), traced=False)
        small, a = peak_of(url, small_n, ReplayConfig(concurrency=8, ledger=tmp_path / "s.jsonl"))
        ledger = tmp_path / "l.jsonl"
        large, b = peak_of(url, large_n, ReplayConfig(concurrency=8, ledger=ledger))
        resumed, c = peak_of(url, large_n, ReplayConfig(concurrency=8, ledger=ledger, resume=True))
    assert a.converged
    assert b.converged
    assert a.conversations == small_n
    assert b.conversations == large_n
    assert c.conversations == large_n
    assert c.requests == 0
    assert c.skipped == b.events
    # Four times the conversations; anything kept per conversation (a lifecycle is some kilobytes,
    # an event key some hundred bytes) would add hundreds of kilobytes here.
    growth = large - small
    print(
        f"\npeak traced: {small:,} B for {small_n}, {large:,} B for {large_n}, resume {resumed:,} B"
    )
    assert growth < 150_000, (small, large)
    assert resumed < small + 150_000, (small, resumed)


@pytest.mark.slow
def test_replay_lets_go_of_each_conversation_once_it_is_done() -> None:
    """No lifecycle outlives its turn: while the source hands out conversation k, at most the
    ``concurrency`` conversations in flight (and the one being handed out) are still alive."""
    concurrency = 4
    handed: list[weakref.ref[Lifecycle]] = []
    most = 0

    def source() -> Iterator[Lifecycle]:
        nonlocal most
        for lifecycle in conversations(300):
            most = max(most, sum(ref() is not None for ref in handed))
            handed.append(weakref.ref(lifecycle))
            yield lifecycle
            del lifecycle

    with forgetful_target() as url, HttpClient(url) as client:
        cfg = ReplayConfig(concurrency=concurrency)
        result = replay(client, StoreAdapter(), source(), cfg)
    assert result.converged
    assert result.conversations == 300
    assert most <= concurrency + 1, most
