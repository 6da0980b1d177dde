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
- An idle connection is checked before it is reused: one the target has closed (or sent bytes
  on, unasked) is dropped, so a request is not lost to a close the loop has not seen yet.
- Chunked and close-delimited bodies, 1xx interim answers and answers to HEAD are handled;
  gzip and deflate bodies are decoded (the client does not ask for them, but a target may send
  them). Bytes nobody asked for (a second answer, a body with the answer to HEAD) end their
  connection; they never reach the next request's answer.
- Header values go out as UTF-8 and come back read as UTF-8 (bytes that are not, kept as escapes).
- A closed pool opens nothing more: what was in flight fails with `Disconnected`.
"""

from __future__ import annotations

import asyncio
import errno
import re
import select
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
"""Characters a request path keeps as they are; any other is percent-encoded (a ``%`` only when it
begins an escape, ``%`` and two hex digits)."""

_STRAY_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")

_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
"""An HTTP method (a token: no spaces, no line breaks)."""

_NO_LENGTH = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
"""Methods whose requests say nothing of a body they do not have; the others say
``Content-Length: 0``, as servers that insist on a length for POST need."""


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
        if parts.username is not None or parts.password is not None:
            msg = (
                f"give the credentials in a header (--header 'Authorization: ...'), not in the "
                f"target's base URL {parts.scheme}://...@{parts.hostname}: the URL is printed in "
                "summaries and reports"
            )
            raise UsageError(msg)
        if parts.query or parts.fragment or base_url.endswith(("?", "#")):
            msg = f"{base_url!r} has a query or a fragment; give the target's base URL without it"
            raise UsageError(msg)
        try:
            port = parts.port
        except ValueError:
            msg = f"{base_url!r} has an invalid port; give the target's base URL"
            raise UsageError(msg) from None
        self.tls = parts.scheme == "https"
        self.host = parts.hostname
        default = 443 if self.tls else 80
        self.port = port if port is not None else default
        name = f"[{self.host}]" if ":" in self.host else self.host
        self.authority = name if self.port == default else f"{name}:{self.port}"
        self.prefix = _encode_path(parts.path.rstrip("/"))


def _encode_path(path: str) -> str:
    if path.isascii() and path.isprintable() and not any(c in path for c in " #%"):
        return path
    return quote(_STRAY_PERCENT.sub("%25", path), safe=_PATH_SAFE)


def _block(headers: Mapping[str, tuple[str, str]]) -> str:
    return "".join(f"{name}: {value}\r\n" for name, value in headers.values())


def _check_method(method: str) -> None:
    if _TOKEN.fullmatch(method) is None:
        msg = f"{method!r} is not an HTTP method (letters, digits and a few marks, no spaces)"
        raise UsageError(msg)


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
        self._poll: select.poll | None = None  # asks whether the idle socket has bytes to read

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None and hasattr(select, "poll"):
            self._poll = select.poll()
            self._poll.register(sock.fileno(), select.POLLIN)

    def data_received(self, data: bytes) -> None:
        if self.waiter is None:  # bytes nobody asked for: the connection's state is unknown
            self.close()
            return
        self.received = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(Malformed(f"malformed answer ({exc})"))
        except httptools.HttpParserUpgrade:  # 101: the connection speaks something else now
            self._fail(Malformed("the target switched protocols (101), which is not HTTP/1.1"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.usable = False
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        if exc is None and self.headers_done and self._close_delimited():
            self._finish()  # the close ends the body (a reset would have cut it short)
            return
        why = f"connection reset ({exc})" if exc is not None else "connection closed"
        self._fail(Disconnected(f"{why} before the answer was complete"))

    # httptools callbacks

    def on_message_begin(self) -> None:
        if self.waiter is None:  # an answer nobody asked for
            self.close()

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.waiter is None:
            return
        key = name.decode("latin-1")
        text = value.decode("utf-8", "surrogateescape")
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
        if self.waiter is None:  # a body nobody asked for (with the answer to HEAD, say)
            self.close()
            return
        self.body.append(body)

    def on_message_complete(self) -> None:
        if self.waiter is None or self.waiter.done():
            return
        status = self.parser.get_status_code()
        if 100 <= status < 200 and status != 101:  # an interim answer: the real one follows
            self._clear()
            return
        self.usable = self.usable and self.parser.should_keep_alive()
        self._finish()

    # ours

    def _close_delimited(self) -> bool:
        lowered = {k.lower(): v for k, v in self.headers.items()}
        coding = lowered.get("transfer-encoding")
        if coding is not None:  # a body is chunked only when chunked is its last coding
            return coding.rsplit(",", 1)[-1].strip().lower() != "chunked"
        return "content-length" not in lowered

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

    def _clear(self) -> None:
        """Forget the answer collected so far."""
        self.headers = {}
        self.body = []
        self.headers_done = False

    def _reset(self) -> None:
        self.waiter = None
        self._clear()

    def request(self, data: bytes, *, head: bool) -> asyncio.Future[Answer]:
        assert self.transport is not None
        waiter: asyncio.Future[Answer]
        waiter = asyncio.get_running_loop().create_future()
        self.waiter = waiter
        self.head_request = head
        self._clear()
        self.received = False  # kept past a failure: the pool asks it to decide on a resend
        self.transport.write(data)
        return waiter

    def idle_and_open(self) -> bool:
        """Whether this idle connection may carry a request: usable, and nothing (a close, bytes
        nobody asked for) waiting to be read on it that the loop has not seen yet."""
        transport = self.transport
        if not self.usable or transport is None or transport.is_closing():
            return False
        if self._poll is not None:
            return not self._poll.poll(0)
        sock = transport.get_extra_info("socket")  # where there is no poll (Windows)
        return sock is None or not select.select([sock.fileno()], [], [], 0)[0]

    def close(self) -> None:
        """End the connection now: unsent bytes are dropped (a target that stopped reading would
        otherwise hold them, and the connection, open)."""
        self.usable = False
        if self.transport is not None:
            self.transport.abort()


def _decoded(body: bytes, encoding: str) -> bytes:
    if not body or encoding in ("", "identity"):
        return body
    if encoding in ("gzip", "x-gzip"):
        parts = []
        while body:  # one or more gzip members, one after another
            member = zlib.decompressobj(16 + zlib.MAX_WBITS)
            parts.append(member.decompress(body))
            if not member.eof:
                msg = "the gzip body ends inside a member"
                raise zlib.error(msg)
            body = member.unused_data
        return b"".join(parts)
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
        self._closed = False
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
        _check_method(method)
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
        if body is None and method not in _NO_LENGTH:
            body = b""
        if body is not None:
            lines.append(f"Content-Length: {len(body)}\r\n\r\n")
            data = "".join(lines).encode("utf-8") + body
        else:
            lines.append("\r\n")
            data = "".join(lines).encode("utf-8")
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
            if connection.idle_and_open():
                return connection
            self._drop(connection)
        return await self._new_connection()

    async def _new_connection(self) -> _Connection:
        if self._closed:
            msg = "the client was closed before the answer came"
            raise Disconnected(msg)
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
            raise CannotConnect(_why_not(exc)) from None
        if self.closed():  # closed while connecting
            connection.close()
            msg = "the client was closed before the answer came"
            raise Disconnected(msg)
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

    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        self._closed = True
        for connection in list(self._open):
            connection.close()
        self._open.clear()
        self._idle.clear()


def _why_not(exc: OSError) -> str:
    """Why a connection could not be opened, in a few words."""
    text = str(exc)
    refused = f"[Errno {errno.ECONNREFUSED}]"
    # Every address of the name tried (::1 and 127.0.0.1 for localhost, say), and each refused:
    if exc.errno is None and text.startswith("Multiple exceptions"):
        return "refused" if text.count("[Errno ") == text.count(refused) else text
    return exc.strerror or text or type(exc).__name__
