"""A fault-injecting proxy for tests: an aiohttp app on 127.0.0.1 that forwards every request to an
upstream target (the reference target) and, as a seeded random draw decides, breaks it instead.

The faults, each drawn per request with the probability given for it:

- ``reset-before``: the connection is closed before anything is forwarded (nothing applied);
- ``reset-after``: the request is forwarded (and applied), then the connection is closed without an
  answer: the client cannot know the write happened;
- ``stall``: nothing is answered for ``stall_s`` (longer than the client's timeout); the request is
  forwarded afterwards, when the client has long given up (a late, stale copy);
- ``slow``: the answer comes, but after up to ``slow_s``;
- ``429``: 429 Too Many Requests with ``Retry-After`` (nothing forwarded);
- ``503``: 503 Service Unavailable (nothing forwarded);
- ``500-burst``: a burst: this request and the next ``burst`` ones answer 500 (nothing forwarded);
- ``malformed``: the request is forwarded, and the answer is broken HTTP (a body shorter than its
  ``Content-Length``, then the connection closed).

``refuse_for`` keeps the port closed (connection refused) for that many seconds after `start`.
`injected` counts the faults injected, by kind (``injected_reads``: of them, those on GETs);
`forwarded` the requests that reached upstream.
"""

from __future__ import annotations

import asyncio
import random
import socket
import threading
from collections import Counter
from collections.abc import Mapping
from types import TracebackType

import aiohttp
from aiohttp import web

__all__ = ["KINDS", "FaultyProxy"]

KINDS = ("reset-before", "reset-after", "stall", "slow", "429", "503", "500-burst", "malformed")

_HOP = {"host", "content-length", "transfer-encoding", "connection", "keep-alive"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class FaultyProxy:
    """``with FaultyProxy(upstream, {"503": 0.2}) as proxy: proxy.url``; see the module."""

    def __init__(
        self,
        upstream: str,
        faults: Mapping[str, float],
        *,
        seed: int = 0,
        refuse_for: float = 0.0,
        stall_s: float = 1.0,
        slow_s: float = 0.2,
        retry_after: str = "0.2",
        burst: int = 6,
    ) -> None:
        unknown = set(faults) - set(KINDS)
        assert not unknown, unknown
        self.upstream = upstream.rstrip("/")
        self.faults = dict(faults)
        self.refuse_for = refuse_for
        self.stall_s = stall_s
        self.slow_s = slow_s
        self.retry_after = retry_after
        self.burst = burst
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.injected: Counter[str] = Counter()
        self.injected_reads = 0
        self.forwarded = 0
        self.requests = 0
        self._rng = random.Random(seed)
        self._burst_left = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._late: set[asyncio.Task[None]] = set()
        self._listening = threading.Event()

    # -- faults --------------------------------------------------------------------------------

    def _draw(self) -> str | None:
        if self._burst_left > 0:
            self._burst_left -= 1
            return "500-burst"
        for kind in KINDS:
            p = self.faults.get(kind, 0.0)
            if p and self._rng.random() < p:
                if kind == "500-burst":
                    self._burst_left = self.burst - 1
                return kind
        return None

    async def _forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, bytes, str]:
        assert self._session is not None
        async with self._session.request(
            method, self.upstream + path, data=body or None, headers=headers
        ) as answer:
            data = await answer.read()
            self.forwarded += 1
            return answer.status, data, answer.headers.get("Content-Type", "application/json")

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
        path = request.path_qs
        kind = self._draw()
        if kind is not None:
            self.injected[kind] += 1
            self.injected_reads += request.method == "GET"
        transport = request.transport
        assert transport is not None
        if kind == "reset-before":
            transport.abort()
            return web.Response()
        if kind == "stall":

            async def late() -> None:
                await asyncio.sleep(self.stall_s)
                await self._forward(request.method, path, headers, body)

            task = asyncio.ensure_future(late())
            self._late.add(task)
            task.add_done_callback(self._late.discard)
            await asyncio.sleep(self.stall_s * 2)
            return web.Response(status=504)  # never read: the client has timed out
        if kind == "429":
            return web.json_response(
                {"error": "slow down"}, status=429, headers={"Retry-After": self.retry_after}
            )
        if kind == "503":
            return web.json_response({"error": "unavailable"}, status=503)
        if kind == "500-burst":
            return web.json_response({"error": "internal error"}, status=500)
        if kind == "slow":
            await asyncio.sleep(self._rng.random() * self.slow_s)
        status, data, content_type = await self._forward(request.method, path, headers, body)
        if kind == "reset-after":
            transport.abort()
            return web.Response()
        if kind == "malformed":
            transport.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b'Content-Length: 400\r\n\r\n{"truncat'
            )
            transport.close()
            return web.Response()
        return web.Response(status=status, body=data, headers={"Content-Type": content_type})

    # -- running -------------------------------------------------------------------------------

    def _run(self, coro: object) -> object:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(30)  # type: ignore[arg-type]

    async def _listen(self) -> None:
        await asyncio.sleep(self.refuse_for)
        app = web.Application(client_max_size=4 << 20)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", self.port).start()
        self._runner = runner
        self._listening.set()

    async def _open(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))

    def start(self) -> FaultyProxy:
        """Start the proxy's thread; it listens after ``refuse_for`` seconds (not waited for)."""
        self._thread.start()
        self._run(self._open())
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop)
        return self

    def wait_listening(self, timeout: float = 30.0) -> None:
        assert self._listening.wait(timeout), "the proxy did not start listening"

    def stop(self) -> None:
        async def close() -> None:
            for task in list(self._late):
                task.cancel()
            if self._runner is not None:
                await self._runner.cleanup()
            if self._session is not None:
                await self._session.close()
            # Handlers still stalling: cancel them, rather than leave them to a closed loop.
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)

        self._run(close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def settle(self, timeout: float = 30.0) -> None:
        """Wait until the late copies of stalled requests have reached upstream."""

        async def wait() -> None:
            if self._late:
                await asyncio.wait(set(self._late), timeout=timeout)

        self._run(wait())

    def __enter__(self) -> FaultyProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
