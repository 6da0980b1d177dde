"""Peak memory of ``callbacksim replay`` at two sizes, and of ``--resume``: flat, or not.

The command runs as a process of its own, exactly as a user runs it: generated lifecycles (the
default profile), verification on (every conversation read back) and a ledger. The target is a
correct, minimal store in another process that forgets a conversation once its listing has been
read (the last read of a verification), so it stays small and quick; only the replay's memory is
measured, as the peak resident set size the kernel reports for the process (``ru_maxrss``).

For each size: a full replay; then the same replay stopped half-way by SIGINT (as Ctrl-C would),
and ``--resume`` finishing it. Printed: peak RSS of the full replay and of the resume, the slope in
bytes per conversation between the two sizes, and the peak RSS that slope predicts at 1,000,000
conversations (target: under 300 MB).

Usage: ``python benchmarks/bench_memory.py [SMALL LARGE]`` (default 20000 100000 conversations;
the large run takes a few minutes per 100,000 conversations on a small machine).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SMALL, LARGE = (int(sys.argv[1]), int(sys.argv[2])) if len(sys.argv) > 2 else (20_000, 100_000)
MILLION = 1_000_000
LIMIT_MB = 300

TARGET = """
import asyncio, sys
import orjson
from aiohttp import web

store = {}

async def put(request):
    cid, pid = request.match_info["cid"], request.match_info["pid"]
    body = await request.read()
    sequence = int(request.headers.get("X-Sequence", "0"))
    participants = store.setdefault(cid, {})
    if pid not in participants or participants[pid][0] < sequence:
        participants[pid] = (sequence, body)
    return web.json_response({"ok": True})

async def get(request):
    found = store.get(request.match_info["cid"], {}).get(request.match_info["pid"])
    if found is None:
        return web.json_response({"error": "none"}, status=404)
    return web.Response(body=found[1], content_type="application/json")

async def listing(request):
    participants = store.pop(request.match_info["cid"], {})
    parsed = [orjson.loads(body) for _, body in participants.values()]
    return web.json_response({"participants": parsed})

async def health(request):
    return web.json_response({"status": "ok"})

async def main():
    app = web.Application()
    app.router.add_put("/conversations/{cid}/participants/{pid}", put)
    app.router.add_get("/conversations/{cid}/participants/{pid}", get)
    app.router.add_get("/conversations/{cid}", listing)
    app.router.add_get("/health", health)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, backlog=1024).start()
    print(runner.addresses[0][1], flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await runner.cleanup()

asyncio.run(main())
"""


def start_target(cpu: int | None) -> tuple[subprocess.Popen[str], str]:
    target = subprocess.Popen(
        [sys.executable, "-c", TARGET], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert target.stdout is not None
    port = int(target.stdout.readline())
    if cpu is not None:
        os.sched_setaffinity(target.pid, {cpu})
    return target, f"http://127.0.0.1:{port}"


def measured(argv: list[str], *, stop_at: tuple[Path, int] | None = None) -> tuple[int, float, str]:
    """Run ``callbacksim`` with ``argv``; (peak RSS in bytes, seconds, what it printed).
    ``stop_at`` (a file and a size): SIGINT once the file has grown to that many bytes."""
    started = time.monotonic()
    with tempfile.TemporaryFile("w+") as output:
        child = subprocess.Popen(
            [sys.executable, "-m", "callbacksim.cli", *argv], stdout=output, stderr=output
        )
        if stop_at is not None:
            path, size = stop_at
            while child.poll() is None and (not path.exists() or path.stat().st_size < size):
                time.sleep(0.05)
            child.send_signal(signal.SIGINT)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        printed = output.read()
    seconds = time.monotonic() - started
    expected = 130 if stop_at is not None else 0
    if child.returncode != expected:
        sys.exit(f"callbacksim {' '.join(argv)} exited {child.returncode}:\n{printed}")
    return usage.ru_maxrss * 1024, seconds, printed


def one_size(url: str, n: int, workdir: Path) -> tuple[int, int]:
    argv = ["replay", url, "--lifecycles", str(n), "--concurrency", "32"]
    ledger = workdir / f"ledger-{n}.jsonl"
    rss, seconds, out = measured([*argv, "--seed", "1", "--ledger", str(ledger)])
    assert "yes:" in out, out
    print(f"  {n:>9,} conversations: replay   peak RSS {rss / 2**20:6.1f} MB ({seconds:,.0f} s)")
    size = ledger.stat().st_size
    ledger.unlink()
    half = workdir / f"half-{n}.jsonl"
    measured([*argv, "--seed", "2", "--ledger", str(half)], stop_at=(half, size // 2))
    kept = half.stat().st_size
    resumed, seconds, out = measured([*argv, "--seed", "2", "--resume", str(half)])
    assert "yes:" in out, out
    print(
        f"  {n:>9,} conversations: --resume peak RSS {resumed / 2**20:6.1f} MB ({seconds:,.0f} s, "
        f"of a run stopped by SIGINT at {kept / size:.0%} of its ledger)"
    )
    half.unlink()
    return rss, resumed


def main() -> None:
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    other = cpus[1] if len(cpus) > 1 else None
    target, url = start_target(other)
    print("== peak memory of replay (generated lifecycles, verification, a ledger)")
    try:
        with tempfile.TemporaryDirectory(prefix="callbacksim-bench-") as tmp:
            small = one_size(url, SMALL, Path(tmp))
            large = one_size(url, LARGE, Path(tmp))
    finally:
        assert target.stdin is not None
        target.stdin.close()
        try:
            target.wait(timeout=10)
        except subprocess.TimeoutExpired:
            target.kill()
            target.wait()
    for name, a, b in (("replay", small[0], large[0]), ("--resume", small[1], large[1])):
        slope = (b - a) / (LARGE - SMALL)
        predicted = (b + slope * (MILLION - LARGE)) / 2**20
        verdict = "OK" if predicted < LIMIT_MB else "OVER"
        print(
            f"  {name:<8} slope {slope:7.1f} bytes/conversation; predicted peak at "
            f"{MILLION:,} conversations {predicted:6.1f} MB (limit {LIMIT_MB} MB): {verdict}"
        )


if __name__ == "__main__":
    main()
