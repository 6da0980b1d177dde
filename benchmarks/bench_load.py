"""Load-run throughput and fidelity, measured side by side in one run.

1. **Lifecycle load vs a bare FastHttpUser** (closed model, 32 users, one Locust process each,
   pinned to one CPU; the target, a trivial aiohttp app answering 200 to any request, in another
   process pinned to the other CPU). The bare user PUTs one constant 2 KB body; the lifecycle load
   plays whole conversations (every snapshot, in order, with ``X-Sequence``, bodies as drawn).
   Both are counted the same way: Locust's own statistics history (``--csv``), requests over the
   steady part of the run (the first seconds dropped). Target: at least 0.9.
2. **Two worker processes vs one** (master + workers on this machine, 32 users per worker). The
   target must not be the bottleneck, and on two cores the workers need nearly both: it is a
   minimal asyncio HTTP/1.1 server (a protocol answering ``200`` with an empty body to every
   request on a kept-alive connection, no framework), unpinned. Target: at least 1.5.
3. **Open model**, against the target of (2), which sustains the rate with room to spare:
   arrivals for ``OPEN_SECONDS``: the achieved
   arrival rate against the requested one (and against what the Poisson schedule itself drew,
   which differs from the rate by chance alone), late arrivals, and the worker's memory at its
   reports (every two seconds). Target: within 2% of the rate, memory flat once warm (the first
   quarter of the run is warm-up: connections opened, caches filled).

Rounds of (1) are interleaved (bare, lifecycle, bare, lifecycle). Usage:
``python benchmarks/bench_load.py [SECONDS]`` (default 10 per closed round; the open run lasts
six times that: 60 s).
"""

from __future__ import annotations

import csv
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
import stubs

from callbacksim.load.plan import Ramp

SECONDS = int(sys.argv[1]) if len(sys.argv) > 1 else 10
OPEN_SECONDS = 6 * SECONDS
USERS = 32
OPEN_RATE = 50.0
ROUNDS = 2

RAW_TARGET = """
import asyncio, sys

ANSWER = b"HTTP/1.1 200 OK\\r\\nContent-Length: 0\\r\\n\\r\\n"

class Http(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport, self.buffer, self.need = transport, b"", None

    def data_received(self, data):
        self.buffer += data
        answers = 0
        while True:
            if self.need is None:
                end = self.buffer.find(b"\\r\\n\\r\\n")
                if end < 0:
                    break
                head = self.buffer[:end].lower() + b"\\r\\n"
                at = head.find(b"content-length:")
                length = int(head[at + 15 : head.find(b"\\r\\n", at)]) if at >= 0 else 0
                self.need = end + 4 + length
            if len(self.buffer) < self.need:
                break
            self.buffer, self.need = self.buffer[self.need :], None
            answers += 1
        if answers:
            self.transport.write(ANSWER * answers)

async def main():
    server = await asyncio.get_running_loop().create_server(Http, "127.0.0.1", 0, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    server.close()

asyncio.run(main())
"""

BARE_LOCUSTFILE = """
from locust import constant, task
from locust.contrib.fasthttp import FastHttpUser

BODY = b'{"notes": "' + b"n" * 2035 + b'"}'
HEADERS = {"Content-Type": "application/json", "X-Sequence": "1"}

class Bare(FastHttpUser):
    wait_time = constant(0)

    @task
    def put(self):
        self.client.put("/conversations/c/participants/p", data=BODY, headers=HEADERS, name="bare")
"""


def pinned(cpu: int | None):  # type: ignore[no-untyped-def]
    if cpu is None:
        return None
    return lambda: os.sched_setaffinity(0, {cpu})


def steady_rps(prefix: Path, users: int, skip: int = 2) -> float:
    """Requests per second over the history rows at full users, the first ``skip`` dropped."""
    with Path(f"{prefix}_stats_history.csv").open(newline="") as handle:
        rows = [
            r
            for r in csv.DictReader(handle)
            if r["Name"] == "Aggregated" and int(r["User Count"]) == users
        ][skip:]
    if len(rows) < 2:
        msg = f"too few steady rows in {prefix}_stats_history.csv; run longer"
        raise SystemExit(msg)
    first, last = rows[0], rows[-1]
    seconds = int(last["Timestamp"]) - int(first["Timestamp"])
    requests = int(last["Total Request Count"]) - int(first["Total Request Count"])
    if not requests or not seconds:
        msg = f"no requests counted at full users in {prefix}_stats_history.csv; run longer"
        raise SystemExit(msg)
    return requests / seconds


def locust(args: list[str], cpu: int | None, cwd: Path, timeout: float) -> None:
    done = subprocess.run(
        args,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=pinned(cpu),
    )
    if done.returncode not in (0, 1):
        raise SystemExit(f"locust failed ({done.returncode}):\n{done.stderr[-3000:]}")


def closed_round(kind: str, url: str, cpu: int | None, work: Path, n: int) -> float:
    prefix = work / f"{kind}-{n}"
    common = ["--headless", "-u", str(USERS), "-r", str(USERS), "-t", f"{SECONDS}s"]
    common += ["--host", url, "--only-summary", "--csv", str(prefix), "--loglevel", "WARNING"]
    if kind == "bare":
        cmd = [sys.executable, "-m", "locust", "-f", str(work / "bare.py"), *common]
    else:
        cmd = [sys.executable, "-m", "callbacksim.load", *common]
    locust(cmd, cpu, work, SECONDS + 60)
    return steady_rps(prefix, USERS)


def distributed(url: str, workers: int, work: Path) -> tuple[float, float]:
    """Requests/s of a master and ``workers`` workers (32 users each), from the master's CSV, and
    the CPU seconds those processes used per second of the run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    prefix = work / f"dist-{workers}"
    port = str(20_000 + random.randrange(20_000))
    users = USERS * workers
    master = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "callbacksim.load",
            "--master",
            "--headless",
            "--expect-workers",
            str(workers),
            "--master-bind-host",
            "127.0.0.1",
            "--master-bind-port",
            port,
            "-u",
            str(users),
            "-r",
            str(users),
            "-t",
            f"{SECONDS}s",
            "--host",
            url,
            "--only-summary",
            "--csv",
            str(prefix),
            "--loglevel",
            "WARNING",
        ],
        cwd=work,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    slaves = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "callbacksim.load",
                "--worker",
                "--master-port",
                port,
                "--loglevel",
                "WARNING",
            ],
            cwd=work,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(workers)
    ]
    master.wait(timeout=SECONDS + 90)
    for w in slaves:
        w.wait(timeout=30)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return steady_rps(prefix, users), cpu / (time.monotonic() - started)


def scheduled_arrivals(seed: int, rate: float, seconds: float) -> int:
    """How many arrivals the open model's schedule draws for slot 0 of 1 within ``seconds``."""
    rng = random.Random(f"callbacksim-load-arrivals:{seed}:0")
    ramp, t, n = Ramp.constant(rate), 0.0, 0
    while (t := ramp.next_arrival(t, rng.expovariate(1.0)) or seconds + 1) <= seconds:
        n += 1
    return n


def main() -> None:
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    mine, other = stubs.cpus()
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        work = Path(tmp)
        (work / "bare.py").write_text(BARE_LOCUSTFILE)

        print("== 1. closed model, 32 users, one Locust process each (lifecycle vs bare PUT)")
        print(f"  locust on CPU {mine}, trivial aiohttp target on CPU {other}; {SECONDS} s rounds")
        target, url = stubs.start(stubs.ANSWER_200, other)
        bare: list[float] = []
        ours: list[float] = []
        try:
            for n in range(ROUNDS):
                bare.append(closed_round("bare", url, mine, work, n))
                print(f"  round {n + 1}: bare FastHttpUser  {bare[-1]:>8,.0f} requests/s")
                ours.append(closed_round("lifecycle", url, mine, work, n))
                print(f"  round {n + 1}: lifecycle load    {ours[-1]:>8,.0f} requests/s")

        finally:
            stubs.stop(target)
        b, o = statistics.median(bare), statistics.median(ours)

        print("== 2. two worker processes vs one (32 users per worker)")
        print("  target: a minimal asyncio HTTP/1.1 server (200, empty body), unpinned")
        target, url = stubs.start(RAW_TARGET)
        try:
            one, one_cpu = distributed(url, 1, work)
            print(f"  one worker:  {one:>8,.0f} requests/s ({one_cpu:.2f} CPUs used by Locust)")
            two, two_cpu = distributed(url, 2, work)
            print(f"  two workers: {two:>8,.0f} requests/s ({two_cpu:.2f} CPUs used by Locust)")
            print(f"== 3. open model, {OPEN_RATE:g} arrivals/s for {OPEN_SECONDS} s")
            results = work / "open.json"
            locust(
                [
                    sys.executable,
                    "-m",
                    "callbacksim.load",
                    "--headless",
                    "--host",
                    url,
                    "--only-summary",
                    "--loglevel",
                    "WARNING",
                    "--callbacksim-arrival-rate",
                    str(OPEN_RATE),
                    "--callbacksim-run-time",
                    str(OPEN_SECONDS),
                    "--callbacksim-results",
                    str(results),
                ],
                mine,
                work,
                OPEN_SECONDS + 90,
            )
        finally:
            stubs.stop(target)
        open_run = orjson.loads(results.read_bytes())

    print(f"== results (load average after: {os.getloadavg()[0]:.1f})")
    ratio = o / b
    print(
        f"  1. lifecycle / bare FastHttpUser: {ratio:.2f} (target >= 0.9: "
        f"{'OK' if ratio >= 0.9 else 'BELOW TARGET'}); medians {o:,.0f} vs {b:,.0f} requests/s"
    )
    scale = two / one
    per_cpu = (two / two_cpu) / (one / one_cpu)
    print(
        f"  2. two workers / one: {scale:.2f} (target >= 1.5: "
        f"{'OK' if scale >= 1.5 else 'BELOW TARGET'}); {two:,.0f} vs {one:,.0f} requests/s; "
        f"Locust got {one_cpu:.2f} then {two_cpu:.2f} CPUs; requests per CPU second, two / one: "
        f"{per_cpu:.2f} (1.0: a second worker costs nothing in coordination)"
    )
    seconds = float(open_run["seconds"])
    achieved = open_run["arrivals"] / seconds
    drawn = scheduled_arrivals(0, OPEN_RATE, seconds)
    off = abs(achieved / OPEN_RATE - 1)
    rss = open_run["per_worker"][0]["rss_mb"]
    samples = rss["samples"][:-1]  # the last report is made after the workers were stopped
    warm = samples[len(samples) // 4]
    print(
        f"  3. open model: {achieved:.2f} arrivals/s achieved of {OPEN_RATE:g} requested "
        f"({100 * off:.2f}% off; target <= 2%: {'OK' if off <= 0.02 else 'BELOW TARGET'}); "
        f"the schedule itself drew {drawn / seconds:.2f}/s "
        f"({open_run['arrivals']:,} of {drawn:,} started), {open_run['late']} late, "
        f"p99 {open_run['total']['latency_ms']['p99']:.1f} ms from due"
    )
    growth = samples[-1] - warm
    print(
        f"     worker memory: {warm:.1f} MB once warm, {samples[-1]:.1f} MB at the end "
        f"({growth:+.1f} MB over the last three quarters; {rss['max']:.1f} MB at most); "
        f"samples {' '.join(f'{x:.0f}' for x in samples[:: max(1, len(samples) // 12)])}"
    )


if __name__ == "__main__":
    main()
