"""Stub targets for measuring the harness itself, each a process of its own on 127.0.0.1.

A stub is the source of a small aiohttp app (``HANDLERS`` below, plus the routes it adds to
``app``); `start` runs it with ``python -c``, optionally pinned to one CPU, and returns the process
and its URL once it listens; it serves until its standard input closes (`stop`). Used by the
benchmarks and by ``tests/test_memory.py`` (pytest puts this folder on the import path).

- `ANSWER_200`: answers 200 to any request at once, after reading the body: a target that costs
  next to nothing, so that only the client is measured.
- `FORGETFUL`: a correct participant store that forgets a conversation once its listing has been
  read (the last read of a verification), so it holds only the conversations in flight.
"""

from __future__ import annotations

import os
import subprocess
import sys

__all__ = ["ANSWER_200", "FORGETFUL", "cpus", "serving", "start", "stop"]

_SERVE = """
async def main():
    app = web.Application()
{routes}
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, backlog=1024).start()
    print(runner.addresses[0][1], flush=True)
    # Serve until whoever started this closes its standard input.
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await runner.cleanup()

asyncio.run(main())
"""


def serving(handlers: str, routes: list[str]) -> str:
    """The source of a stub: ``handlers`` (code defining the handlers) and the ``routes`` lines
    that add them to ``app``."""
    body = "\n".join(f"    {line}" for line in routes)
    return (
        "import asyncio, sys\nimport orjson\nfrom aiohttp import web\n"
        + handlers
        + _SERVE.format(routes=body)
    )


ANSWER_200 = serving(
    """
async def anything(request):
    await request.read()
    return web.Response(status=200)
""",
    ['app.router.add_route("*", "/{tail:.*}", anything)'],
)

FORGETFUL = serving(
    """
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
""",
    [
        'app.router.add_put("/conversations/{cid}/participants/{pid}", put)',
        'app.router.add_get("/conversations/{cid}/participants/{pid}", get)',
        'app.router.add_get("/conversations/{cid}", listing)',
        'app.router.add_get("/health", health)',
    ],
)


def cpus() -> tuple[int | None, int | None]:
    """Two CPUs of this machine: one for the measuring process, one for a target (None where
    there are not two, or the platform cannot pin)."""
    found = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    return (found[0] if found else None, found[1] if len(found) > 1 else None)


def start(
    code: str, cpu: int | None = None, args: tuple[str, ...] = ()
) -> tuple[subprocess.Popen[str], str]:
    """Run the stub ``code`` with ``args`` (its ``sys.argv[1:]``), pinned to ``cpu`` if given;
    the process and its URL."""
    process = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    port = int(process.stdout.readline())
    if cpu is not None:
        os.sched_setaffinity(process.pid, {cpu})
    return process, f"http://127.0.0.1:{port}"


def stop(process: subprocess.Popen[str]) -> None:
    """Close the stub's standard input, which ends it; kill it if it does not end."""
    assert process.stdin is not None
    process.stdin.close()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
