"""The reference target's write throughput, against a bare aiohttp + SQLite store.

Both targets run as separate processes on 127.0.0.1 and store into their own SQLite database in WAL
mode with ``synchronous=FULL`` (an answered write is on disk):

- bare: one aiohttp handler that reads the body, parses it with orjson and upserts it, applying the
  same ``X-Sequence`` rule as the reference target, in one transaction per write, on the event
  loop itself; no validation, no middleware, no digest;
- callbacksim: ``callbacksim.target`` with its defaults (strict rules, seed edition): every rule
  checked on every write, every acknowledged write committed before its answer.

The load is the same for both: the PUTs of generated lifecycles (one request per event, each
conversation's events in order, ``X-Sequence`` set), sent by an aiohttp client holding 32
conversations in flight. Rounds are interleaved (bare, callbacksim, bare, ...), each with lifecycles
of its own (both targets get the same ones); the script checks every answer is a 200 or 201. The
median requests/s of each side and their ratio are printed, and the targets' CPU time per request
(which other load on a shared machine disturbs less).

The databases live in a temporary directory (or DIR); how many single-row commits a second
that disk takes is measured first and printed, since with a slow ``fsync`` the bare store, which
pays one per write, waits on the disk, while the reference target commits the writes that arrive
together in one transaction (durable all the same: none is answered before its commit).

Target: callbacksim at least 0.8 of the bare store's requests/s.

Usage: ``python benchmarks/bench_target.py [LIFECYCLES [DIR]]`` (default 2000 per round).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import orjson
import stubs

from callbacksim.generation.lifecycle import LifecycleStream
from callbacksim.generation.participants import ANCHOR_MS

N = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
DIR = sys.argv[2] if len(sys.argv) > 2 else None
CONCURRENCY = 32
ROUNDS = 3
TARGET_RATIO = 0.8

BARE = stubs.serving(
    r"""
import sqlite3

db = sqlite3.connect(sys.argv[1], isolation_level=None, check_same_thread=False)
db.execute("PRAGMA journal_mode = WAL")
db.execute("PRAGMA synchronous = FULL")
db.execute(
    "CREATE TABLE participants (conversation TEXT NOT NULL, participant TEXT NOT NULL, "
    "sequence INTEGER, body BLOB NOT NULL, PRIMARY KEY (conversation, participant))"
)

def answer(status, cid, pid, sequence, outcome):
    fields = {"conversationId": cid, "id": pid, "sequence": sequence, "outcome": outcome}
    body = orjson.dumps(fields)
    return web.Response(status=status, body=body, content_type="application/json")

async def put(request):
    cid, pid = request.match_info["cid"], request.match_info["pid"]
    given = request.headers.get("X-Sequence")
    sequence = int(given) if given is not None else None
    body = await request.read()
    orjson.loads(body)
    db.execute("BEGIN IMMEDIATE")
    try:
        row = db.execute(
            "SELECT sequence, body FROM participants WHERE conversation = ? AND participant = ?",
            (cid, pid),
        ).fetchone()
        if row is None:
            db.execute("INSERT INTO participants VALUES (?, ?, ?, ?)", (cid, pid, sequence, body))
            result = (201, sequence, "created")
        elif sequence is None or row[0] is None or sequence > row[0]:
            kept = row[0] if sequence is None else sequence
            db.execute(
                "UPDATE participants SET sequence = ?, body = ? "
                "WHERE conversation = ? AND participant = ?",
                (kept, body, cid, pid),
            )
            result = (200, kept, "replaced")
        elif sequence == row[0]:
            result = (200, row[0], "unchanged") if row[1] == body else (409, row[0], "conflict")
        else:
            result = (409, row[0], "stale")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    status, kept, outcome = result
    return answer(status, cid, pid, kept, outcome)
""",
    ['app.router.add_route("PUT", "/conversations/{cid}/participants/{pid}", put)'],
)

REFERENCE = r"""
import sys
from callbacksim.target.config import ServerConfig
from callbacksim.target.run import serve_forever

def ready(url):
    print(url.rsplit(":", 1)[1], flush=True)

serve_forever(ServerConfig(port=0, db=sys.argv[1]), ready=ready)
"""

Request = tuple[str, bytes, dict[str, str]]


def conversations(seed: int, n: int) -> list[list[Request]]:
    """The PUTs of ``n`` generated lifecycles, each lifecycle's in order."""
    out = []
    for lc in itertools.islice(LifecycleStream(seed, start_ms=ANCHOR_MS), n):
        requests = []
        for e in lc.events:
            path = f"/conversations/{e.conversation_id}/participants/{e.participant_id}"
            headers = {"Content-Type": "application/json", "X-Sequence": str(e.sequence)}
            requests.append((path, orjson.dumps(e.participant), headers))
        out.append(requests)
    return out


class Target:
    """A target process on its own database; ``cpu()`` is its CPU seconds so far."""

    def __init__(self, name: str, script: str, db: Path, cpu: int | None) -> None:
        self.name = name
        self.proc, self.url = stubs.start(script, cpu, (str(db),))

    def cpu(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


async def load(url: str, work: list[list[Request]]) -> tuple[float, dict[int, int]]:
    """Seconds to send every conversation, ``CONCURRENCY`` at once; the statuses seen."""
    statuses: dict[int, int] = {}
    source = iter(work)
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def conversation_worker() -> None:
            for requests in source:
                for path, body, headers in requests:
                    async with session.put(url + path, data=body, headers=headers) as answer:
                        await answer.read()
                        statuses[answer.status] = statuses.get(answer.status, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(conversation_worker() for _ in range(CONCURRENCY)))
        return time.perf_counter() - started, statuses


def commit_rate(directory: Path, n: int = 500) -> float:
    """Single-row commits a second into SQLite (WAL, synchronous FULL) in ``directory``."""
    db = sqlite3.connect(directory / "probe.sqlite3", isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = FULL")
        db.execute("CREATE TABLE probe (k INTEGER PRIMARY KEY, v BLOB)")
        started = time.perf_counter()
        for i in range(n):
            db.execute("BEGIN IMMEDIATE")
            db.execute("INSERT INTO probe VALUES (?, ?)", (i, b"x" * 1000))
            db.execute("COMMIT")
        return n / (time.perf_counter() - started)
    finally:
        db.close()


def main() -> None:
    mine, other = stubs.cpus()
    if mine is not None:
        os.sched_setaffinity(0, {mine})
    rounds = [conversations(100 + i, N) for i in range(ROUNDS + 1)]
    n = sum(len(c) for c in rounds[1])
    with tempfile.TemporaryDirectory(prefix="callbacksim-bench-", dir=DIR) as temp:
        disk = commit_rate(Path(temp))
        targets = [
            Target("bare", BARE, Path(temp) / "bare.sqlite3", other),
            Target("callbacksim", REFERENCE, Path(temp) / "reference.sqlite3", other),
        ]
        print("== the reference target against a bare aiohttp + SQLite store")
        print(f"  lifecycles {N:,} per round, about {n:,} PUTs; concurrency {CONCURRENCY}")
        print(f"  databases in {temp}: {disk:,.0f} single-row commits/s")
        print(f"  client on CPU {mine}, targets on CPU {other if other is not None else 'shared'}")
        rates: dict[str, list[float]] = {t.name: [] for t in targets}
        cpu: dict[str, list[float]] = {t.name: [] for t in targets}
        try:
            for target in targets:  # warm up: connections, imports, the compiled rules
                asyncio.run(load(target.url, rounds[0][:100]))
            for i in range(ROUNDS):
                work = rounds[i + 1]
                count = sum(len(c) for c in work)
                for target in targets:
                    used = target.cpu()
                    seconds, statuses = asyncio.run(load(target.url, work))
                    used = target.cpu() - used
                    bad = {s: c for s, c in statuses.items() if s not in (200, 201)}
                    assert not bad, f"{target.name} answered {bad}"
                    rates[target.name].append(count / seconds)
                    cpu[target.name].append(used / count * 1e6)
                    print(
                        f"  round {i + 1}: {target.name:<12} {count / seconds:>8,.0f} requests/s "
                        f"({used / count * 1e6:.0f} us of target CPU per request)"
                    )
        finally:
            for target in targets:
                target.stop()
    bare, ours = statistics.median(rates["bare"]), statistics.median(rates["callbacksim"])
    print(f"  bare store (median):  {bare:>8,.0f} requests/s")
    print(f"  callbacksim (median): {ours:>8,.0f} requests/s")
    ratio = ours / bare
    verdict = "OK" if ratio >= TARGET_RATIO else "BELOW TARGET"
    print(f"  ratio callbacksim / bare: {ratio:.2f} (target >= {TARGET_RATIO}): {verdict}")
    by_cpu = statistics.median(cpu["bare"]) / statistics.median(cpu["callbacksim"])
    print(f"  ratio by target CPU per request (bare / callbacksim): {by_cpu:.2f}")


if __name__ == "__main__":
    main()
