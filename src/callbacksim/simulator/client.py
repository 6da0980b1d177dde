"""The HTTP client the harness talks to targets with, on its own event-loop thread.

Checks are written as ordinary (synchronous) Hypothesis tests, and concurrency checks need many
requests in flight at once; one client serves both. `HttpClient.request` blocks the caller until the
answer arrives, while `HttpClient.gather` runs many requests concurrently on the loop. Every request
has a timeout. Transport failures (refused, reset, timed out, malformed answer) come back as a
`Response` with ``status`` None and ``error`` saying what happened, never as an exception, so a
check can judge them like any other answer.

The wire is HTTP/1.1 over keep-alive connections (`callbacksim.simulator.http1`). A request sent on
a reused connection that the target closes before answering is sent once more at once, as HTTP
allows for idempotent methods (GET and PUT among them); callers see one attempt. Every other retry
is the caller's (`callbacksim.simulator.retry`).
"""

from __future__ import annotations

import asyncio
import shlex
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from typing import Any, TypeVar

import attrs

from callbacksim import __version__
from callbacksim.errors import UsageError
from callbacksim.simulator.http1 import CannotConnect, Disconnected, Malformed, Pool, Target

__all__ = ["DEFAULT_WAIT_FOR", "HttpClient", "Request", "Response", "require_reachable"]

T = TypeVar("T")


@attrs.frozen
class Request:
    """One HTTP request, as plain values."""

    method: str
    path: str
    body: bytes | None = None
    headers: Mapping[str, str] = attrs.field(factory=dict)

    def curl(self, base_url: str) -> str:
        """A shell command that sends the same request, every word quoted for a POSIX shell.

        A body of 2,000 characters or more goes on standard input as a here-document instead of
        one argument, which a shell limits in length; the here-document adds a final newline.
        """

        def quote(word: str) -> str:
            # Quoted even when the shell would not need it, so that every URL reads alike.
            quoted = shlex.quote(word)
            return quoted if quoted.startswith("'") else f"'{quoted}'"

        parts = ["curl -sS -i -X", shlex.quote(self.method), quote(base_url + self.path)]
        parts += [f"-H {quote(f'{k}: {v}')}" for k, v in self.headers.items()]
        if self.body is None:
            return " ".join(parts)
        text = self.body.decode("utf-8", errors="backslashreplace")
        if len(text) < 2000:
            return " ".join([*parts, "--data-binary", quote(text)])
        end = "CALLBACKSIM_EOF"
        while end in text.splitlines():
            end += "_"
        return " ".join([*parts, f"--data-binary @- <<'{end}'"]) + f"\n{text}\n{end}"


@attrs.frozen
class Response:
    """The answer: ``status`` None means no HTTP answer came (see ``error``)."""

    status: int | None
    body: bytes = b""
    headers: Mapping[str, str] = attrs.field(factory=dict)
    error: str | None = None

    def describe(self) -> str:
        if self.status is None:
            return f"no answer ({self.error})"
        text = self.body[:300].decode("utf-8", errors="replace")
        return f"{self.status} {text}".rstrip()


class HttpClient:
    """A pool of keep-alive connections on a background event loop; close it (or use ``with``).

    ``headers`` go with every request; a request's own headers follow them. ``connections``
    bounds the requests in flight at once (more wait for a free connection, within their
    timeout).
    """

    def __init__(
        self,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,
        connections: int = 64,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        # Made before the loop's thread starts, so that a bad URL or header leaves nothing running;
        # the pool binds to the loop that first runs its requests.
        self._pool = Pool(
            Target(self.base_url),
            size=connections,
            headers=dict(headers or {}),
            user_agent=f"callbacksim/{__version__}",
        )
        self._timeout = timeout
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    async def send(self, request: Request, *, timeout: float | None = None) -> Response:
        """Send ``request`` on the loop (for use from coroutines running there); ``timeout``
        overrides the client's for this request (seconds, from the call to the whole answer)."""
        limit = self._timeout if timeout is None else timeout
        try:
            async with asyncio.timeout(limit):
                status, headers, body = await self._pool.send(
                    request.method, request.path, request.body, request.headers
                )
        except TimeoutError:
            return Response(None, error=f"no answer within {limit:g} s (timed out)")
        except CannotConnect as exc:
            return Response(None, error=f"cannot connect ({exc.why})")
        except (Disconnected, Malformed) as exc:
            return Response(None, error=str(exc))
        return Response(status, body, headers)

    async def _close_pool(self) -> None:
        # What is in flight fails at once (the connections end, no new one opens); it is let
        # finish, so that no caller waits on a loop that has stopped.
        self._pool.close()
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        if others:
            _, pending = await asyncio.wait(others, timeout=2)
            for task in pending:
                task.cancel()
        await asyncio.sleep(0)  # the transports' own closing runs on the next turn

    def request(self, request: Request) -> Response:
        """Send one request and wait for its answer."""
        return self._run(self.send(request))

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the client's loop and wait for its result."""
        return self._run(coro)

    def gather(self, coros: Iterable[Awaitable[T]]) -> list[T]:
        """Run coroutines concurrently on the client's loop; their results in order."""

        async def everything() -> list[T]:
            return list(await asyncio.gather(*coros))

        return self._run(everything())

    def close(self) -> None:
        if self._loop.is_closed():
            return
        self._run(self._close_pool())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


DEFAULT_WAIT_FOR = 10.0
"""How long, by default, a command waits for a target that does not answer yet (seconds)."""


def require_reachable(
    url: str,
    headers: Mapping[str, str],
    timeout: float,
    *,
    wait_for: float = 0.0,
    say: Callable[[str], None] | None = None,
    store: bool = False,
) -> None:
    """Return once ``url`` answers ``GET /health``; `UsageError` saying why not otherwise.

    A target that does not answer yet (refused, reset, or silent past ``timeout``) is asked again,
    about twice a second, until ``wait_for`` seconds have passed; ``say`` is told once that the
    command is waiting. Every attempt is bounded by ``timeout``, so this returns or raises within
    about ``wait_for + timeout`` seconds.

    Any answer will do, unless ``store`` says ``url`` is a participant store's base URL: then
    ``/health`` must be there (not 404), and neither it nor a read of a participant never written
    (the first request a check sends) may answer 401 or 403, so that a wrong base URL or missing
    credentials are said at once instead of showing as properties that fail, or never get tried.
    """
    started = time.monotonic()
    deadline = started + max(0.0, wait_for)
    told = False

    async def probe(client: HttpClient, limit: float) -> Response:
        return await client.send(Request("GET", "/health"), timeout=limit)

    with HttpClient(url, headers=headers, timeout=timeout, connections=1) as client:
        while True:
            answer = client.run(probe(client, timeout))
            if answer.status is not None:
                if store:
                    _require_store(url, client, answer)
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            if not told and say is not None:
                say(
                    f"waiting up to {wait_for:g} s for {url} to answer "
                    f"(--wait-for-target; now: {answer.error})"
                )
            told = True
            time.sleep(min(0.5, remaining))
    waited = time.monotonic() - started
    msg = (
        f"cannot reach {url}: {answer.error}"
        + (f", still after waiting {waited:.0f} s" if told else "")
        + "; is the service running and answering? (--wait-for-target waits longer)"
    )
    raise UsageError(msg)


def _require_store(url: str, client: HttpClient, health: Response) -> None:
    if health.status == 404:
        msg = (
            f"{url} has no GET /health (it answered 404): give the participant store's base "
            "URL, the one under which /health and /conversations/... answer"
        )
        raise UsageError(msg)
    _require_credentials(url, "/health", health)
    probe = f"/conversations/{uuid.uuid4()}/participants/{uuid.uuid4()}"
    _require_credentials(url, probe, client.request(Request("GET", probe)))


def _require_credentials(url: str, path: str, answer: Response) -> None:
    if answer.status in (401, 403):
        msg = (
            f"{url} answered {answer.status} to GET {path}: send the credentials it needs "
            "(--header 'Authorization: Bearer TOKEN')"
        )
        raise UsageError(msg)
