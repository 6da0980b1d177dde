"""HTTP/1.1 for the harness's client: keep-alive connections on asyncio, answers by httptools.

A harness that replays events at scale spends most of its time per request in the HTTP client,
and a general-purpose client does much the harness never asks for (cookies, redirects, proxies,
tracing hooks, multipart bodies). This module does only what the harness needs, in few steps per
request: one write of the request's bytes, the answer parsed by httptools (the C parser uvicorn
uses), a connection pool of bounded size reused most-recently-used first.

- `Pool.send` sends one request and returns ``(status, headers, body)``; it raises `Disconnected`,
  `Malformed` or `CannotConnect` when no answer came, and `TimeoutError` past its deadline.
- One request at a time on a connection (no pipelining). A connection that answered with
  ``Connection: close``, timed out or broke is closed, never reused.
- A request sent on a reused connection that the target closes before any byte of the answer is
  sent once more at once on a fresh connection when its method is idempotent (GET, PUT, DELETE,
  HEAD, OPTIONS), as HTTP allows; the caller sees one attempt.
- Chunked and close-delimited bodies, 1xx interim answers and answers to HEAD are handled;
  gzip and deflate bodies are decoded (the client does not ask for them, but a target may send
  them).
"""

from __future__ import annotations

import asyncio
import ssl
import zlib
from collections.abc import Mapping
from urllib.parse import quote, urlsplit

import httptools

from callbacksim.errors import UsageError

__all__ = ["Answer", "CannotConnect", "Disconnected", "Malformed", "Pool", "Target"]

Answer = tuple[int, dict[str, str], bytes]
"""An answer: its status, its headers (values of a repeated name joined by commas), its body."""

IDEMPOTENT = frozenset({"GET", "PUT", "DELETE", "HEAD", "OPTIONS"})

_OWN_HEADERS = frozenset({"content-length", "transfer-encoding", "connection"})
"""Request headers the pool writes itself (or, for ``Connection``, leaves at keep-alive); a
caller's are dropped."""

_PATH_SAFE = "/:@!$&'()*+,;=-._~%?"
"""Characters a request path keeps as they are; any other is percent-encoded."""


class Disconnected(Exception):
    """The connection closed (or was reset) before the answer was complete."""


class Malformed(Exception):
    """The answer is not valid HTTP/1.x."""


class CannotConnect(Exception):
    """No connection could be opened; ``why`` says what the system answered."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


class Target:
    """Where requests go: scheme, host, port and base path of a base URL."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            msg = f"{base_url!r} is not an http:// or https:// URL; give the target's base URL"
            raise UsageError(msg)
        try:
            port = parts.port
        except ValueError:
            msg = f"{base_url!r} has an invalid port; give the target's base URL"
            raise UsageError(msg) from None
        self.tls = parts.scheme == "https"
        self.host = parts.hostname
        self.port = port if port is not None else (443 if self.tls else 80)
        default = 443 if self.tls else 80
        name = f"[{self.host}]" if ":" in self.host else self.host
        self.authority = name if self.port == default else f"{name}:{self.port}"
        self.prefix = _encode_path(parts.path.rstrip("/"))


def _encode_path(path: str) -> str:
    if path.isascii() and path.isprintable() and " " not in path:
        return path
    return quote(path, safe=_PATH_SAFE)


def _block(headers: Mapping[str, tuple[str, str]]) -> str:
    return "".join(f"{name}: {value}\r\n" for name, value in headers.values())


def _check_header(name: str, value: str) -> None:
    if "\r" in name or "\n" in name or ":" in name or "\r" in value or "\n" in value:
        msg = (
            f"the header {name!r}: {value!r} holds a line break (or a colon in its name); "
            "give each header as one line, NAME: VALUE"
        )
        raise UsageError(msg)


class _Connection(asyncio.Protocol):
    """One connection: a request at a time, its answer collected by the parser's callbacks."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[Answer] | None = None
        self.headers: dict[str, str] = {}
        self.body: list[bytes] = []
        self.head_request = False
        self.headers_done = False
        self.received = False  # any byte of the current answer
        self.usable = True  # may carry another request
        self.served = 0  # answers completed on this connection

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self.waiter is None:  # bytes nobody asked for: the connection's state is unknown
            self.close()
            return
        self.received = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(Malformed(f"malformed answer ({exc})"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.usable = False
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        if self.headers_done and self._close_delimited():
            self._finish()
            return
        why = f"connection reset ({exc})" if exc is not None else "connection closed"
        self._fail(Disconnected(f"{why} before the answer was complete"))

    # httptools callbacks

    def on_header(self, name: bytes, value: bytes) -> None:
        key = name.decode("latin-1")
        text = value.decode("latin-1")
        before = self.headers.get(key)
        self.headers[key] = text if before is None else f"{before}, {text}"

    def on_headers_complete(self) -> None:
        self.headers_done = True
        if self.head_request and self.parser.get_status_code() >= 200:
            # The answer to HEAD has no body whatever its Content-Length says; the parser cannot
            # be told so, and is replaced for the connection's next answer.
            self.usable = self.usable and self.parser.should_keep_alive()
            self._finish()
            self.parser = httptools.HttpResponseParser(self)

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        if self.waiter is None or self.waiter.done():
            return
        status = self.parser.get_status_code()
        if 100 <= status < 200 and status != 101:  # an interim answer: the real one follows
            self.headers = {}
            self.body = []
            self.headers_done = False
            return
        self.usable = self.usable and self.parser.should_keep_alive()
        self._finish()

    # ours

    def _close_delimited(self) -> bool:
        lowered = {k.lower() for k in self.headers}
        return "content-length" not in lowered and "transfer-encoding" not in lowered

    def _finish(self) -> None:
        waiter = self.waiter
        body = b"".join(self.body)
        headers = self.headers
        encoding = next((v for k, v in headers.items() if k.lower() == "content-encoding"), "")
        self.served += 1
        self._reset()
        if waiter is None or waiter.done():
            return
        try:
            body = _decoded(body, encoding.strip().lower())
        except zlib.error as exc:
            waiter.set_exception(Malformed(f"malformed answer (its {encoding} body: {exc})"))
            return
        waiter.set_result((self.parser.get_status_code(), headers, body))

    def _fail(self, exc: Exception) -> None:
        waiter = self.waiter
        self._reset()
        self.close()
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    def _reset(self) -> None:
        self.waiter = None
        self.headers = {}
        self.body = []
        self.headers_done = False

    def request(self, data: bytes, *, head: bool) -> asyncio.Future[Answer]:
        assert self.transport is not None
        waiter: asyncio.Future[Answer]
        waiter = asyncio.get_running_loop().create_future()
        self.waiter = waiter
        self.head_request = head
        self.received = False  # kept past a failure: the pool asks it to decide on a resend
        self.transport.write(data)
        return waiter

    def close(self) -> None:
        self.usable = False
        if self.transport is not None:
            self.transport.close()


def _decoded(body: bytes, encoding: str) -> bytes:
    if not body or encoding in ("", "identity"):
        return body
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompress(body, 16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        try:
            return zlib.decompress(body)
        except zlib.error:  # deflate sent raw, without its zlib wrapper, as some servers do
            return zlib.decompress(body, -zlib.MAX_WBITS)
    return body


class Pool:
    """At most ``size`` connections to one target, each carrying one request at a time.

    Every request carries the pool's ``Host``, ``User-Agent`` and ``Accept``, then ``headers``
    (which replace those of the same name), then its own headers (which replace any of the same
    name before them). Use from the event loop that created it; `close` ends every connection.
    """

    def __init__(
        self,
        target: Target,
        *,
        size: int,
        headers: Mapping[str, str],
        user_agent: str,
    ) -> None:
        self._target = target
        self._slots = asyncio.Semaphore(max(1, size))
        self._idle: list[_Connection] = []
        self._open: set[_Connection] = set()
        fixed = {"host": ("Host", target.authority), "user-agent": ("User-Agent", user_agent)}
        fixed["accept"] = ("Accept", "*/*")
        for name, value in headers.items():
            _check_header(name, value)
            if name.lower() not in _OWN_HEADERS:
                fixed[name.lower()] = (name, value)
        self._fixed = fixed
        self._fixed_block = _block(fixed)
        self._ssl: ssl.SSLContext | None = ssl.create_default_context() if target.tls else None

    async def send(
        self, method: str, path: str, body: bytes | None, headers: Mapping[str, str]
    ) -> Answer:
        """Send one request; its answer's status, headers and (decoded) body."""
        lines = [f"{method} {self._target.prefix}{_encode_path(path)} HTTP/1.1\r\n", ""]
        replaced = False
        for name, value in headers.items():
            _check_header(name, value)
            lowered = name.lower()
            if lowered in self._fixed:
                replaced = True
            elif lowered not in _OWN_HEADERS:
                lines.append(f"{name}: {value}\r\n")
        if replaced:  # the request's own replace the pool's of the same name
            merged = dict(self._fixed)
            for name, value in headers.items():
                if name.lower() not in _OWN_HEADERS:
                    merged[name.lower()] = (name, value)
            lines = [lines[0], _block(merged)]
        else:
            lines[1] = self._fixed_block
        if body is not None:
            lines.append(f"Content-Length: {len(body)}\r\n\r\n")
            data = "".join(lines).encode("latin-1") + body
        else:
            lines.append("\r\n")
            data = "".join(lines).encode("latin-1")
        head = method == "HEAD"
        async with self._slots:
            connection = await self._connection()
            try:
                try:
                    return await connection.request(data, head=head)
                except Disconnected:
                    if connection.served == 0 or connection.received or method not in IDEMPOTENT:
                        raise
                # The target closed a kept-alive connection as the request went out: once more on
                # a new connection.
                self._drop(connection)
                connection = await self._new_connection()
                return await connection.request(data, head=head)
            finally:
                self._release(connection)

    async def _connection(self) -> _Connection:
        while self._idle:
            connection = self._idle.pop()
            if connection.usable:
                return connection
            self._drop(connection)
        return await self._new_connection()

    async def _new_connection(self) -> _Connection:
        loop = asyncio.get_running_loop()
        target = self._target
        try:
            _transport, connection = await loop.create_connection(
                _Connection,
                target.host,
                target.port,
                ssl=self._ssl,
                server_hostname=target.host if self._ssl is not None else None,
            )
        except ConnectionRefusedError:
            raise CannotConnect("refused") from None
        except ssl.SSLCertVerificationError as exc:
            why = (
                f"TLS: its certificate is not trusted: {exc.verify_message}; for a certificate "
                "authority of your own, set SSL_CERT_FILE to its PEM file"
            )
            raise CannotConnect(why) from None
        except ssl.SSLError as exc:
            raise CannotConnect(f"TLS: {exc.reason or exc}") from None
        except OSError as exc:
            raise CannotConnect(exc.strerror or str(exc) or type(exc).__name__) from None
        self._open.add(connection)
        return connection

    def _release(self, connection: _Connection) -> None:
        if connection.usable and connection.waiter is None:
            self._idle.append(connection)
        else:  # broke, was told to close, or is still waiting (timed out): not reusable
            self._drop(connection)

    def _drop(self, connection: _Connection) -> None:
        connection.close()
        self._open.discard(connection)

    def close(self) -> None:
        for connection in list(self._open):
            connection.close()
        self._open.clear()
        self._idle.clear()
