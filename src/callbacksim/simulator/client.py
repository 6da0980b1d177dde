"""The HTTP client the harness talks to targets with: aiohttp on its own event-loop thread.

Checks are written as ordinary (synchronous) Hypothesis tests, and concurrency checks need many
requests in flight at once; one client serves both. `HttpClient.request` blocks the caller until the
answer arrives, while `HttpClient.gather` runs many requests concurrently on the loop. Every request
has a timeout. Transport failures (refused, reset, timed out, malformed answer) come back as a
`Response` with ``status`` None and ``error`` saying what happened, never as an exception, so a
check can judge them like any other answer.
"""

from __future__ import annotations

import asyncio
import shlex
import threading
import uuid
from collections.abc import Awaitable, Coroutine, Iterable, Mapping
from typing import Any, TypeVar

import aiohttp
import attrs

from callbacksim.errors import UsageError

__all__ = ["HttpClient", "Request", "Response", "require_reachable"]

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
    """A pooled aiohttp client on a background event loop; close it (or use ``with``)."""

    def __init__(
        self,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,
        connections: int = 64,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._headers = dict(headers or {})
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._session: aiohttp.ClientSession = self._run(self._open(connections))

    async def _open(self, connections: int) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=connections, force_close=False)
        return aiohttp.ClientSession(connector=connector, timeout=self._timeout)

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    async def send(self, request: Request) -> Response:
        """Send ``request`` on the loop (for use from coroutines running there)."""
        headers = {**self._headers, **request.headers}
        try:
            async with self._session.request(
                request.method,
                self.base_url + request.path,
                data=request.body,
                headers=headers,
                allow_redirects=False,
            ) as answer:
                body = await answer.read()
                return Response(answer.status, body, dict(answer.headers))
        except TimeoutError:
            return Response(None, error=f"timed out after {self._timeout.total} s")
        except aiohttp.ClientError as exc:
            return Response(None, error=f"{type(exc).__name__}: {exc}")

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
        self._run(self._session.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def require_reachable(
    url: str, headers: Mapping[str, str], timeout: float, *, store: bool = False
) -> None:
    """Return when ``url`` answers ``GET /health``; `UsageError` saying why not otherwise.

    Any answer will do, unless ``store`` says ``url`` is a participant store's base URL: then
    ``/health`` must be there (not 404), and neither it nor a read of a participant never written
    (the first request a check sends) may answer 401 or 403, so that a wrong base URL or missing
    credentials are said at once instead of showing as properties that fail, or never get tried.
    """
    with HttpClient(url, headers=headers, timeout=timeout) as client:
        answer = client.request(Request("GET", "/health"))
        if answer.status is None:
            msg = f"cannot reach {url}: {answer.error}; is the service running?"
            raise UsageError(msg)
        if not store:
            return
        if answer.status == 404:
            msg = (
                f"{url} has no GET /health (it answered 404): give the participant store's base "
                "URL, the one under which /health and /conversations/... answer"
            )
            raise UsageError(msg)
        _require_credentials(url, "/health", answer)
        probe = f"/conversations/{uuid.uuid4()}/participants/{uuid.uuid4()}"
        _require_credentials(url, probe, client.request(Request("GET", probe)))


def _require_credentials(url: str, path: str, answer: Response) -> None:
    if answer.status in (401, 403):
        msg = (
            f"{url} answered {answer.status} to GET {path}: send the credentials it needs "
            "(--header 'Authorization: Bearer TOKEN')"
        )
        raise UsageError(msg)
