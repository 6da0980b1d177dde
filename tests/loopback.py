"""Serving on 127.0.0.1 for a test: a small aiohttp app from a thread (`running`, the one helper
every test target uses), or the reference target as a process of its own (`serving_process`)."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aiohttp import web


@contextmanager
def running(application: web.Application) -> Iterator[str]:
    """Serve ``application`` on 127.0.0.1 (a free port) from a thread with its own loop; the URL."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="test-target", daemon=True)
    thread.start()
    runner = web.AppRunner(application, access_log=None, shutdown_timeout=1.0)

    async def start() -> int:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return int(runner.addresses[0][1])

    try:
        port = asyncio.run_coroutine_threadsafe(start(), loop).result(30)
        yield f"http://127.0.0.1:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@contextmanager
def serving_process(
    db: Path, *options: str, port: int = 0, log: Path | None = None
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``callbacksim serve`` on ``db`` (and ``options``) as a process of its own, on 127.0.0.1
    (``port``, 0 for any free one); (the process, its URL). Its standard error goes to ``log``
    when given. Stopped with SIGTERM at the end if it still runs (a test may kill it first)."""
    argv = [sys.executable, "-m", "callbacksim.cli", "serve", "--port", str(port), "--db", str(db)]
    with contextlib.ExitStack() as stack:
        err = stack.enter_context(log.open("w")) if log is not None else subprocess.DEVNULL
        process = subprocess.Popen([*argv, *options], stdout=subprocess.PIPE, stderr=err, text=True)
        stdout = process.stdout
        assert stdout is not None
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(30)
        try:
            assert line, "the target printed nothing within 30 s"
            assert line[0].startswith("callbacksim reference target at http://127.0.0.1:"), line
            yield process, line[0].strip().rsplit(" ", 1)[1]
        finally:
            if process.poll() is None:
                process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
