"""Replay through a faulty network: every kind of fault of `faulty_proxy`, one test each, in front
of the reference target.

Each test replays a few lifecycles through the proxy with the default retry policy (time-governed,
backoff with jitter, ``Retry-After`` honoured) and asserts that every event sent is accounted for
(sent = delivered + rejected + failed, nothing failed), that the replay's own read-back found every
participant at its final snapshot, and that the store, read directly (not through the proxy),
holds exactly those final snapshots. Each prints one line of figures (``pytest -s`` shows them).

Last, the target is killed (SIGKILL) in the middle of a replay and of a ``load`` run; restarted
on the same database, it holds every write it acknowledged.
"""

from __future__ import annotations

import io
import itertools
import signal
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import aiohttp
import attrs
import orjson
import pytest
from aiohttp import web
from faulty_proxy import KINDS, FaultyProxy
from loopback import running, serving_process

from callbacksim.cli import main
from callbacksim.generation.lifecycle import Lifecycle, LifecycleStream
from callbacksim.generation.participants import ANCHOR_MS
from callbacksim.jobs.run import LifecycleSource, run_replay
from callbacksim.semantic import differences
from callbacksim.simulator.adapters import StoreAdapter
from callbacksim.simulator.client import HttpClient, Request
from callbacksim.simulator.replay import ReplayConfig, ReplayResult, Stop, replay
from callbacksim.target import BackgroundServer, ServerConfig

TIMEOUT = 0.5
"""The client's per-request timeout in these tests (a stall lasts twice as long)."""


def lifecycles(n: int, seed: int) -> list[Lifecycle]:
    return list(itertools.islice(LifecycleStream(seed, start_ms=ANCHOR_MS), n))


def store_holds_finals(url: str, lcs: list[Lifecycle]) -> int:
    """Assert the store at ``url`` holds each participant's final snapshot, and each conversation
    exactly its participants; the number of participants checked."""
    checked = 0
    with HttpClient(url) as client:
        for lc in lcs:
            finals = lc.finals()
            for pid, final in finals.items():
                got = client.request(
                    Request("GET", f"/conversations/{lc.conversation_id}/participants/{pid}")
                )
                assert got.status == 200, got.describe()
                assert differences(final, orjson.loads(got.body)) == [], (lc.conversation_id, pid)
                checked += 1
            listing = client.request(Request("GET", f"/conversations/{lc.conversation_id}"))
            ids = sorted(p["id"] for p in orjson.loads(listing.body)["participants"])
            assert ids == sorted(finals)
    return checked


def ledger_events(path: Path) -> list[dict[str, object]]:
    lines = [orjson.loads(x) for x in path.read_bytes().splitlines()]
    return [x for x in lines if "conversationId" in x]


def assert_converged(
    result: ReplayResult,
    lcs: list[Lifecycle],
    ledger: Path,
    upstream: str,
    proxy: FaultyProxy,
    label: str,
) -> None:
    events = sum(len(lc.events) for lc in lcs)
    participants = sum(len(lc.finals()) for lc in lcs)
    entries = ledger_events(ledger)
    outcomes = Counter(str(e["outcome"]) for e in entries)
    assert result.events == events == len(entries)
    assert result.delivered + result.rejected + result.failed == result.events
    assert (outcomes["delivered"], outcomes["rejected"], outcomes["failed"]) == (
        result.delivered,
        result.rejected,
        result.failed,
    )
    assert result.failed == 0, [e["reason"] for e in entries if e["outcome"] == "failed"][:3]
    assert result.rejected == 0, result.rejections
    assert result.read_back
    assert result.unreadable == 0, result.not_converged
    assert result.participants_checked == result.participants_converged == participants
    assert result.conversations_converged == result.conversations == len(lcs)
    assert result.converged
    assert store_holds_finals(upstream, lcs) == participants
    print(
        f"\n{label}: {result.events} events sent, {result.delivered} delivered + "
        f"{result.rejected} rejected + {result.failed} failed; {result.requests} requests "
        f"({result.retries} retries; the proxy saw {proxy.requests}, reads included); "
        f"{result.participants_converged}/{participants} "
        f"participants and {result.conversations_converged}/{len(lcs)} conversations converged"
    )


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_replay_converges_through_one_kind_of_fault(kind: str, tmp_path: Path) -> None:
    lcs = lifecycles(8, seed=KINDS.index(kind) + 40)
    ledger = tmp_path / "ledger.jsonl"
    probability = 0.04 if kind == "500-burst" else 0.15
    with (
        BackgroundServer(ServerConfig()) as upstream,
        FaultyProxy(upstream, {kind: probability}, seed=7, stall_s=2 * TIMEOUT) as proxy,
    ):
        proxy.wait_listening()
        with HttpClient(proxy.url, timeout=TIMEOUT) as client:
            result = replay(client, StoreAdapter(), lcs, ReplayConfig(concurrency=8, ledger=ledger))
        proxy.settle()
        assert proxy.injected[kind] >= 3, proxy.injected  # the fault really happened
        if kind != "slow":  # every other fault makes the request go again
            assert proxy.requests >= result.events + proxy.injected[kind]
        assert_converged(
            result, lcs, ledger, upstream, proxy, f"{kind} ({proxy.injected[kind]} injected)"
        )
        if kind in ("reset-after", "malformed", "stall"):
            # Applied, then retried with the same X-Sequence: the store answered "unchanged".
            assert proxy.forwarded > result.events


@pytest.mark.slow
def test_replay_waits_for_a_target_that_refuses_connections_at_first(tmp_path: Path) -> None:
    lcs_count = 6
    ledger = tmp_path / "ledger.jsonl"
    out = io.StringIO()
    with (
        BackgroundServer(ServerConfig()) as upstream,
        FaultyProxy(upstream, {}, refuse_for=1.5) as proxy,
    ):
        started = time.monotonic()
        result = run_replay(
            proxy.url,
            LifecycleSource(count=lcs_count, seed=3),
            ReplayConfig(concurrency=4, ledger=ledger, seed=3),
            timeout=TIMEOUT,
            wait_for=20,
            out=out,
        )
        assert time.monotonic() - started >= 1.4  # it did wait for the proxy
        lcs = lifecycles(lcs_count, seed=3)
        assert_converged(result, lcs, ledger, upstream, proxy, "refused for 1.5 s at first")


def test_a_target_that_never_comes_up_is_an_error_after_the_wait(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from callbacksim.cli import main

    proxy = FaultyProxy("http://127.0.0.1:9", {})  # never started: its port refuses
    started = time.monotonic()
    code = main(["replay", proxy.url, "--lifecycles", "1", "--wait-for-target", "1"])
    took = time.monotonic() - started
    _, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert code == 2
    assert 0.9 <= took < 10
    assert lines[0].startswith(f"waiting up to 1 s for {proxy.url} to answer")
    assert lines[-1].startswith(f"callbacksim: error: cannot reach {proxy.url}")
    assert "still after waiting 1 s" in lines[-1]
    assert len(lines) == 2
    assert "Traceback" not in err


@pytest.mark.slow
def test_replay_converges_through_every_fault_at_once(tmp_path: Path) -> None:
    """The whole picture with the default retry policy: 150 lifecycles, 16 at a time, through a
    proxy that refuses connections for its first 2 seconds and then injects every fault."""
    lcs = lifecycles(150, seed=2)
    ledger = tmp_path / "ledger.jsonl"
    faults = {
        "reset-before": 0.01,
        "reset-after": 0.01,
        "stall": 0.005,
        "slow": 0.03,
        "429": 0.01,
        "503": 0.01,
        "500-burst": 0.002,
        "malformed": 0.01,
    }
    with (
        BackgroundServer(ServerConfig()) as upstream,
        FaultyProxy(upstream, faults, seed=11, refuse_for=2.0, stall_s=2.0) as proxy,
    ):
        result = run_replay(
            proxy.url,
            LifecycleSource(count=150, seed=2),
            ReplayConfig(concurrency=16, ledger=ledger, seed=2),
            timeout=1.0,
            wait_for=30,
            out=io.StringIO(),
        )
        proxy.settle()
        assert set(proxy.injected) == set(KINDS), proxy.injected
        assert_converged(
            result,
            lcs,
            ledger,
            upstream,
            proxy,
            f"every fault at once ({sum(proxy.injected.values())} injected: "
            f"{dict(proxy.injected)})",
        )


# -- the target killed in the middle of a replay --------------------------------------------------


@pytest.mark.slow
def test_every_acknowledged_write_survives_a_sigkill_of_the_target(tmp_path: Path) -> None:
    """Kill the target (SIGKILL) in the middle of a replay; restarted on the same database, it
    holds every write it acknowledged (the ledger's ``delivered``), and ``--resume`` converges."""
    count, seed = 60, 31
    lcs = lifecycles(count, seed)
    db, ledger = tmp_path / "store.sqlite3", tmp_path / "ledger.jsonl"
    cfg = ReplayConfig(concurrency=8, ledger=ledger, seed=seed, retry_for=30)
    stop = Stop()
    with serving_process(db) as (process, url):
        port = int(url.rsplit(":", 1)[1])
        results: list[ReplayResult] = []
        with HttpClient(url, timeout=2.0) as client:
            worker = threading.Thread(
                target=lambda: results.append(replay(client, StoreAdapter(), lcs, cfg, stop=stop))
            )
            worker.start()
            deadline = time.monotonic() + 60
            while not ledger.exists() or len(ledger_events(ledger)) < 200:
                assert worker.is_alive()
                assert time.monotonic() < deadline
                time.sleep(0.01)
            process.kill()  # SIGKILL: no chance to flush anything
            process.wait(10)
            time.sleep(0.3)  # requests in flight meet the dead target, and are retried
            stop.request("SIGINT")
            worker.join(60)
    (first,) = results
    assert first.stopped == "SIGINT"
    entries = ledger_events(ledger)
    acknowledged = [e for e in entries if e["outcome"] == "delivered"]
    assert len(acknowledged) >= 200
    assert first.failed == 0  # what could not be delivered was left for --resume
    snapshots = {
        (lc.conversation_id, e.participant_id): [
            ev for ev in lc.events if ev.participant_id == e.participant_id
        ]
        for lc in lcs
        for e in lc.events
    }
    newest: dict[tuple[str, str], int] = {}
    for e in acknowledged:
        key = (str(e["conversationId"]), str(e["participantId"]))
        newest[key] = max(newest.get(key, 0), int(str(e["sequence"])))
    with serving_process(db, port=port) as (_, again):
        checked = 0
        with HttpClient(again) as client:
            for (cid, pid), sequence in newest.items():
                got = client.request(Request("GET", f"/conversations/{cid}/participants/{pid}"))
                assert got.status == 200, (cid, pid, got.describe())
                stored = orjson.loads(got.body)
                # The stored snapshot is the acknowledged one, or a later one (a write applied
                # just before the kill, whose answer never came).
                matches = [
                    ev.sequence
                    for ev in snapshots[(cid, pid)]
                    if not differences(ev.participant, stored)
                ]
                assert matches, (cid, pid)
                assert max(matches) >= sequence, (cid, pid, matches, sequence)
                checked += 1
            resumed = replay(client, StoreAdapter(), lcs, attrs.evolve(cfg, resume=True))
    assert checked == len(newest)
    assert resumed.converged
    assert resumed.skipped == len(entries)
    assert resumed.delivered == resumed.events == sum(len(lc.events) for lc in lcs)
    assert resumed.conversations_converged == count
    print(
        f"\nSIGKILL of the target after {len(acknowledged)} acknowledged writes "
        f"({checked} participants' newest acknowledged snapshots): all present after restart; "
        f"--resume delivered the remaining {resumed.events - resumed.skipped} events, "
        f"{resumed.conversations_converged}/{count} conversations converged"
    )


class _AckRecorder:
    """A pass-through proxy that remembers every write the target acknowledged (2xx), and every
    body sent, and kills the target with SIGKILL once ``kill_after`` writes were acknowledged."""

    def __init__(self, upstream: str, process: subprocess.Popen[str], kill_after: int) -> None:
        self.upstream = upstream
        self.process = process
        self.kill_after = kill_after
        self.sent: dict[tuple[str, int], bytes] = {}
        self.acknowledged: dict[str, int] = {}  # path -> the newest acknowledged X-Sequence
        self.acks = 0
        self.session: aiohttp.ClientSession | None = None

    async def close(self, _app: web.Application) -> None:
        if self.session is not None:
            await self.session.close()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if self.session is None:
            self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5))
        body = await request.read()
        sequence = int(request.headers.get("X-Sequence", "0"))
        if request.method == "PUT":
            self.sent[(request.path, sequence)] = body
        headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        try:
            async with self.session.request(
                request.method, self.upstream + request.path_qs, data=body, headers=headers
            ) as answer:
                payload = await answer.read()
                status = answer.status
        except (aiohttp.ClientError, TimeoutError):
            return web.Response(status=502, text="the target is gone")
        if request.method == "PUT" and 200 <= status < 300:
            old = self.acknowledged.get(request.path, 0)
            self.acknowledged[request.path] = max(old, sequence)
            self.acks += 1
            if self.acks == self.kill_after:
                self.process.kill()  # SIGKILL: no chance to flush anything
        return web.Response(status=status, body=payload, content_type="application/json")


@pytest.mark.slow
def test_every_acknowledged_write_survives_a_sigkill_during_load(tmp_path: Path) -> None:
    """The same promise under ``callbacksim load`` (Locust workers, many users at once): the
    target is killed after 300 acknowledged writes; restarted on the same database it holds, for
    every participant, the newest snapshot it acknowledged or a later one that was sent."""
    db = tmp_path / "store.sqlite3"
    with serving_process(db) as (process, url):
        port = int(url.rsplit(":", 1)[1])
        recorder = _AckRecorder(url, process, kill_after=300)
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", recorder.handle)
        app.on_cleanup.append(recorder.close)
        with running(app) as proxy:
            code = main(
                [
                    "load", "--target", proxy, "--users", "16", "--lifecycles", "120",
                    "--run-time", "30s", "--report",
                    str(tmp_path / "load.json"),
                ]
            )  # fmt: skip
        assert process.wait(10) == -signal.SIGKILL
    assert code == 1  # writes failed once the target was gone
    assert recorder.acks >= 300
    with serving_process(db, port=port) as (_, again), HttpClient(again) as client:
        for path, sequence in recorder.acknowledged.items():
            got = client.request(Request("GET", path))
            assert got.status == 200, (path, got.describe())
            stored = orjson.loads(got.body)
            matches = [
                seq
                for (p, seq), body in recorder.sent.items()
                if p == path and not differences(orjson.loads(body), stored)
            ]
            assert matches, path
            assert max(matches) >= sequence, (path, matches, sequence)
    print(
        f"\nSIGKILL of the target under load after {recorder.acks} acknowledged writes: "
        f"{len(recorder.acknowledged)} participants' newest acknowledged snapshots all present "
        "after restart"
    )
