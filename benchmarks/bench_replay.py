"""Replay throughput against a minimal target, benchmarked against a bare client loop.

The target (a separate process on 127.0.0.1) answers 200 to any PUT at once. Both sides send the
same requests: the store adapter's PUTs for the same lifecycles (paths, ``X-Sequence`` headers and
bodies, each body padded to about 2 KB), over 32 connections.

- bare: an aiohttp ``ClientSession`` with 32 workers sending the precomputed requests (the
  baseline the target is set against);
- replay: ``callbacksim.simulator.replay.replay`` with concurrency 32, no faults, its retry policy
  and a ledger on disk (one line per event and per conversation), ``verify=False`` (reading back
  sends requests the bare loop does not); it builds each request itself, keeps per-participant
  order and records latency;
- own client (for information): callbacksim's `HttpClient` with 32 workers sending the
  precomputed requests, as the bare loop does with aiohttp: the replay's cost beyond it is the
  replay's own work (building requests, order, retries, latency, the ledger).

Rounds are interleaved (bare, replay, own client, bare, ...), three of each; the median
requests/s of each side and their ratio are printed, and the CPU time per request of the benchmark
process (steadier than wall time on a busy machine). Target (speed issue): replay at least 0.9 of
the bare loop, measured on one core (the benchmark process is pinned to one CPU, the target to
another when there is one).

Usage: ``python benchmarks/bench_replay.py [LIFECYCLES]`` (default 1000, about 11,000 requests).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import attrs
import stubs

from callbacksim.codec import dumps_payload
from callbacksim.generation.lifecycle import Lifecycle, LifecycleStream
from callbacksim.generation.participants import ANCHOR_MS
from callbacksim.simulator.adapters import Delivery, StoreAdapter
from callbacksim.simulator.client import HttpClient, Request
from callbacksim.simulator.replay import ReplayConfig, replay

N = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
CONCURRENCY = 32
ROUNDS = 3
BODY_BYTES = 2048
TARGET_RATIO = 0.9


def padded(lc: Lifecycle) -> Lifecycle:
    """The lifecycle with every snapshot padded (a ``notes`` field) to about 2 KB of JSON."""
    events = []
    for e in lc.events:
        size = len(dumps_payload(e.participant))
        notes = "n" * max(0, BODY_BYTES - size - len(',"notes":""'))
        events.append(attrs.evolve(e, participant={**e.participant, "notes": notes}))
    return attrs.evolve(lc, events=tuple(events))


async def bare_loop(url: str, requests: list[tuple[str, bytes, dict[str, str]]]) -> float:
    """Seconds to send ``requests`` with 32 workers on one session."""
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:
        source = iter(requests)
        statuses: list[int] = []

        async def worker() -> None:
            for path, body, headers in source:
                async with session.put(url + path, data=body, headers=headers) as answer:
                    await answer.read()
                    statuses.append(answer.status)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        seconds = time.perf_counter() - started
    assert statuses.count(200) == len(requests), "the bare loop saw errors"
    return seconds


def own_client_loop(url: str, requests: list[tuple[str, bytes, dict[str, str]]]) -> float:
    """Seconds to send ``requests`` with 32 workers on callbacksim's own client."""
    prepared = [Request("PUT", path, body, headers) for path, body, headers in requests]
    with HttpClient(url, connections=CONCURRENCY) as client:
        source = iter(prepared)
        statuses: list[int | None] = []

        async def worker() -> None:
            for request in source:
                statuses.append((await client.send(request)).status)

        started = time.perf_counter()
        client.gather(worker() for _ in range(CONCURRENCY))
        seconds = time.perf_counter() - started
    assert statuses.count(200) == len(requests), "the own-client loop saw errors"
    return seconds


def replay_round(url: str, lifecycles: list[Lifecycle], events: int) -> float:
    """Seconds for callbacksim's replay of ``lifecycles``."""
    with tempfile.TemporaryDirectory() as folder:
        ledger = Path(folder) / "ledger.jsonl"
        cfg = ReplayConfig(concurrency=CONCURRENCY, verify=False, ledger=ledger)
        with HttpClient(url, connections=CONCURRENCY) as client:
            started = time.perf_counter()
            result = replay(client, StoreAdapter(), lifecycles, cfg)
            seconds = time.perf_counter() - started
    assert result.delivered == result.requests == events, "the replay saw errors"
    return seconds


def main() -> None:
    mine, other = stubs.cpus()
    if mine is not None:
        os.sched_setaffinity(0, {mine})

    stream = LifecycleStream(21, start_ms=ANCHOR_MS)
    lifecycles = [padded(lc) for lc in itertools.islice(stream, N)]
    adapter = StoreAdapter()
    requests: list[tuple[str, bytes, dict[str, str]]] = []
    for lc in lifecycles:
        for e in lc.events:
            r = adapter.request(Delivery(e.to_wire(), (), ""))
            requests.append((r.path, r.body or b"", dict(r.headers)))
    n = len(requests)
    mean_body = statistics.mean(len(body) for _, body, _ in requests)

    target, url = stubs.start(stubs.ANSWER_200, other)
    print("== replay throughput against a minimal target (PUT -> 200)")
    print(f"  lifecycles {N}, requests {n:,} per round, mean body {mean_body:,.0f} bytes")
    print(
        f"  concurrency {CONCURRENCY}; benchmark on CPU {mine}, target on CPU "
        f"{other if other is not None else 'shared'}"
    )
    bare: list[float] = []
    ours: list[float] = []
    own: list[float] = []
    bare_cpu: list[float] = []
    ours_cpu: list[float] = []
    own_cpu: list[float] = []
    try:
        # Warm up both paths (connections, imports, caches) before measuring.
        asyncio.run(bare_loop(url, requests[:500]))
        replay_round(url, lifecycles[:40], sum(len(lc.events) for lc in lifecycles[:40]))
        own_client_loop(url, requests[:500])
        for i in range(ROUNDS):
            cpu = time.process_time()
            bare.append(n / asyncio.run(bare_loop(url, requests)))
            bare_cpu.append((time.process_time() - cpu) / n * 1e6)
            print(
                f"  round {i + 1}: bare loop   {bare[-1]:>9,.0f} requests/s "
                f"({bare_cpu[-1]:.0f} us CPU per request)"
            )
            cpu = time.process_time()
            ours.append(n / replay_round(url, lifecycles, n))
            ours_cpu.append((time.process_time() - cpu) / n * 1e6)
            print(
                f"  round {i + 1}: callbacksim {ours[-1]:>9,.0f} requests/s "
                f"({ours_cpu[-1]:.0f} us CPU per request)"
            )
            cpu = time.process_time()
            own.append(n / own_client_loop(url, requests))
            own_cpu.append((time.process_time() - cpu) / n * 1e6)
            print(
                f"  round {i + 1}: own client  {own[-1]:>9,.0f} requests/s "
                f"({own_cpu[-1]:.0f} us CPU per request)"
            )
    finally:
        stubs.stop(target)
    b, o = statistics.median(bare), statistics.median(ours)
    ratio = o / b
    verdict = "OK" if ratio >= TARGET_RATIO else "BELOW TARGET"
    print(f"  bare loop (median):   {b:>9,.0f} requests/s")
    print(f"  callbacksim (median): {o:>9,.0f} requests/s")
    print(f"  ratio callbacksim / bare: {ratio:.2f} (target >= {TARGET_RATIO}): {verdict}")
    # CPU time per request of this process is less sensitive to other load on the machine.
    cpu_ratio = statistics.median(bare_cpu) / statistics.median(ours_cpu)
    print(f"  ratio by CPU per request (bare / callbacksim): {cpu_ratio:.2f}")
    mine_cpu = statistics.median(own_cpu)
    work = statistics.median(ours_cpu) - mine_cpu
    print(
        f"  for information: callbacksim's client alone {statistics.median(own):,.0f} requests/s "
        f"({mine_cpu:.0f} us CPU per request); the replay's own work {work:.0f} us per request"
    )


if __name__ == "__main__":
    main()
