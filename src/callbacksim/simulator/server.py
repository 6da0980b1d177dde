"""The reference target: the participant store contract, implemented exactly.

An aiohttp application that stores callback participants in SQLite (WAL mode, ``synchronous=FULL``)
and answers the participant store contract:

- ``PUT /conversations/{cid}/participants/{pid}`` stores one participant (JSON body, optional
  ``X-Sequence: <n>`` header, ``n >= 1``). 201 when the participant is first stored, 200 when a
  write replaced it or repeated the stored one; 400 for a body that is not JSON (rule
  ``json.object``) or a malformed ``X-Sequence``; 422 for any rule violation (``json.object`` for
  JSON that is not an object, ``id.matches-path``, the rule set's other rules); 409 for a stale
  sequence, or the stored sequence with a different body; 413 for a body over ``max_body``.
- ``GET /conversations/{cid}/participants/{pid}``: the latest stored participant, or 404.
- ``GET /conversations/{cid}``: ``{"id": cid, "participants": [...]}``, or 404.
- ``GET /health``: 200 once the store is open.

Payload errors answer ``{"errors": [{"rule", "path", "message"}, ...]}``; every other error
``{"error": "..."}``. Other methods on these paths (HEAD included) answer 405 with ``Allow``,
unknown paths 404, whatever the token. The body is read as JSON whatever its Content-Type.

Every store operation runs on one dedicated thread, and a write's read-compare-write of the
sequence is one ``BEGIN IMMEDIATE`` transaction, committed before the answer is sent: an
acknowledged write survives the process being killed, and writers never interleave.

Entry points: `make_app` (an application), `start` (a started server in the running loop),
`serve_forever` (the CLI's ``serve``) and `BackgroundServer` (a server on its own thread).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import re
import shutil
import signal
import sqlite3
import tempfile
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from enum import Enum, StrEnum
from pathlib import Path
from types import TracebackType
from typing import TypeVar

import attrs
import orjson
from aiohttp import web

from callbacksim.codec import dumps_payload, loads
from callbacksim.errors import JsonError, UsageError
from callbacksim.model import Edition
from callbacksim.rules import RuleSet, Violation, check

__all__ = [
    "DEFAULT_MAX_BODY",
    "BackgroundServer",
    "RunningServer",
    "ServerConfig",
    "make_app",
    "serve_forever",
    "start",
]

log = logging.getLogger(__name__)

DEFAULT_MAX_BODY = 1024 * 1024
"""The default body size limit in bytes (1 MiB); bodies of at most this many bytes are read."""

MAX_SEQUENCE = 2**63 - 1
"""The largest ``X-Sequence`` accepted (SQLite's integer range)."""

SEQUENCE_HEADER = "X-Sequence"


# --------------------------------------------------------------------------------------------
# Configuration


_E = TypeVar("_E", bound=StrEnum)


def _member(enum: type[_E], what: str, value: _E | str) -> _E:
    """``value`` as a member of ``enum``; `UsageError` naming the choices otherwise."""
    try:
        return enum(value)
    except ValueError:
        choices = ", ".join(m.value for m in enum)
        msg = f"unknown {what} {value!r}; choose one of {choices}"
        raise UsageError(msg) from None


def _rule_set(value: RuleSet | str) -> RuleSet:
    return _member(RuleSet, "rule set", value)


def _edition(value: Edition | str) -> Edition:
    return _member(Edition, "edition", value)


def _db_path(value: str | Path | None) -> Path | None:
    return None if value is None else Path(value)


def _check_port(_instance: object, _attribute: attrs.Attribute[int], value: int) -> None:
    if not 0 <= value <= 65535:
        msg = f"port {value} is out of range; give 0 (any free port) to 65535"
        raise UsageError(msg)


def _check_max_body(_instance: object, _attribute: attrs.Attribute[int], value: int) -> None:
    if value < 1:
        msg = f"max_body {value} must be a positive number of bytes (the default is 1048576)"
        raise UsageError(msg)


def _check_token(
    _instance: object, _attribute: attrs.Attribute[str | None], value: str | None
) -> None:
    if value is not None and (not value or value != value.strip() or "\n" in value):
        msg = "the bearer token must be non-empty, without surrounding whitespace or newlines"
        raise UsageError(msg)


@attrs.frozen(kw_only=True)
class ServerConfig:
    """The options of the reference target. Strings are accepted for ``rules`` and ``edition``."""

    host: str = "127.0.0.1"
    port: int = attrs.field(default=0, validator=_check_port)
    """0 picks a free port; `RunningServer.port` tells which."""
    db: Path | None = attrs.field(default=None, converter=_db_path)
    """The SQLite database file; None: a temporary file, deleted when the server stops."""
    rules: RuleSet = attrs.field(default=RuleSet.STRICT, converter=_rule_set)
    edition: Edition = attrs.field(default=Edition.SEED, converter=_edition)
    token: str | None = attrs.field(default=None, validator=_check_token)
    """When set, every endpoint but ``/health`` requires ``Authorization: Bearer <token>``."""
    max_body: int = attrs.field(default=DEFAULT_MAX_BODY, validator=_check_max_body)
    """Bodies over this many bytes answer 413. The contract demands at least 1 MiB be accepted."""


# --------------------------------------------------------------------------------------------
# The store


class _Outcome(Enum):
    CREATED = "created"
    REPLACED = "replaced"
    UNCHANGED = "unchanged"
    STALE = "stale"
    CONFLICT = "conflict"


@attrs.frozen
class _PutResult:
    outcome: _Outcome
    stored_sequence: int | None
    """The participant's sequence after the write (None: stored without one)."""


_SCHEMA = """
CREATE TABLE IF NOT EXISTS participants (
    conversation TEXT NOT NULL,
    participant TEXT NOT NULL,
    sequence INTEGER,
    digest BLOB NOT NULL,
    body BLOB NOT NULL,
    PRIMARY KEY (conversation, participant)
)
"""

_T = TypeVar("_T")


class _Store:
    """SQLite, used from one dedicated thread only: every call is serialized."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="callbacksim-store")
        self._conn: sqlite3.Connection | None = None

    async def _run(self, fn: Callable[[], _T]) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    async def open(self) -> None:
        await self._run(self._open)

    async def close(self) -> None:
        try:
            await self._run(self._close)
        finally:
            self._executor.shutdown(wait=True)

    def _open(self) -> None:
        try:
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            msg = f"cannot open the database {self._path}: {exc}"
            raise UsageError(msg) from None
        try:
            conn.execute("PRAGMA busy_timeout = 10000")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                msg = f"cannot put the database {self._path} in WAL mode (got {mode!r})"
                raise UsageError(msg)
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute(_SCHEMA)
        except sqlite3.Error as exc:
            conn.close()
            msg = f"cannot use the database {self._path}: {exc}"
            raise UsageError(msg) from None
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @property
    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            msg = "the store is not open"
            raise RuntimeError(msg)
        return self._conn

    async def put(
        self, cid: str, pid: str, sequence: int | None, digest: bytes, body: bytes
    ) -> _PutResult:
        return await self._run(lambda: self._put(cid, pid, sequence, digest, body))

    def _put(
        self, cid: str, pid: str, sequence: int | None, digest: bytes, body: bytes
    ) -> _PutResult:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute(
                "SELECT sequence, digest FROM participants "
                "WHERE conversation = ? AND participant = ?",
                (cid, pid),
            ).fetchone()
            if row is None:
                db.execute(
                    "INSERT INTO participants (conversation, participant, sequence, digest, body) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (cid, pid, sequence, digest, body),
                )
                result = _PutResult(_Outcome.CREATED, sequence)
            else:
                stored, stored_digest = row
                if sequence is None or stored is None or sequence > stored:
                    # Without a sequence the body is replaced and the stored sequence kept.
                    kept = stored if sequence is None else sequence
                    db.execute(
                        "UPDATE participants SET sequence = ?, digest = ?, body = ? "
                        "WHERE conversation = ? AND participant = ?",
                        (kept, digest, body, cid, pid),
                    )
                    result = _PutResult(_Outcome.REPLACED, kept)
                elif sequence == stored:
                    same = bytes(stored_digest) == digest
                    result = _PutResult(_Outcome.UNCHANGED if same else _Outcome.CONFLICT, stored)
                else:
                    result = _PutResult(_Outcome.STALE, stored)
            db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise
        return result

    async def get(self, cid: str, pid: str) -> bytes | None:
        return await self._run(lambda: self._get(cid, pid))

    def _get(self, cid: str, pid: str) -> bytes | None:
        row = self._db.execute(
            "SELECT body FROM participants WHERE conversation = ? AND participant = ?", (cid, pid)
        ).fetchone()
        return None if row is None else bytes(row[0])

    async def conversation(self, cid: str) -> list[bytes]:
        return await self._run(lambda: self._conversation(cid))

    def _conversation(self, cid: str) -> list[bytes]:
        rows = self._db.execute(
            "SELECT body FROM participants WHERE conversation = ? ORDER BY participant", (cid,)
        ).fetchall()
        return [bytes(r[0]) for r in rows]


# --------------------------------------------------------------------------------------------
# The application

_CONFIG = web.AppKey("callbacksim.config", ServerConfig)
_STORE = web.AppKey("callbacksim.store", _Store)
_HEALTH = "health"


def _json(status: int, payload: object, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status,
        body=dumps_payload(payload),
        content_type="application/json",
        headers=headers,
    )


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return _json(status, {"error": message}, headers)


def _violations(status: int, violations: list[Violation]) -> web.Response:
    errors = [{"rule": v.rule, "path": v.path, "message": v.message} for v in violations]
    return _json(status, {"errors": errors})


class _Refused(Exception):
    """A request refused with an answer ready to send."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


_DIGITS = re.compile(r"[0-9]+")


def _sequence(request: web.Request) -> int | None:
    values = request.headers.getall(SEQUENCE_HEADER, [])
    if not values:
        return None
    if len(values) > 1:
        raise _Refused(_error(400, f"{SEQUENCE_HEADER} given {len(values)} times; send it once"))
    text = values[0].strip()
    if _DIGITS.fullmatch(text) is None or not 1 <= (n := int(text)) <= MAX_SEQUENCE:
        raise _Refused(
            _error(
                400,
                f"malformed {SEQUENCE_HEADER} {text[:40]!r}: expected a decimal integer from 1 to "
                f"{MAX_SEQUENCE}",
            )
        )
    return n


def _segment(request: web.Request, name: str) -> str:
    value = request.match_info[name]
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _Refused(_error(400, f"the {name} in the path is not valid UTF-8")) from None
    return value


async def _read_body(request: web.Request, limit: int) -> bytes:
    too_large = _error(413, f"the body is over the limit of {limit} bytes")
    length = request.content_length
    if length is not None and length > limit:
        raise _Refused(too_large)
    body = bytearray()
    async for chunk in request.content.iter_any():
        body += chunk
        if len(body) > limit:
            raise _Refused(too_large)
    return bytes(body)


def _canonical(payload: object) -> bytes:
    """The payload's JSON with sorted keys: equal for semantically equal payloads."""
    try:
        return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)
    except (TypeError, orjson.JSONEncodeError):
        return json.dumps(
            payload, ensure_ascii=True, separators=(",", ":"), allow_nan=False, sort_keys=True
        ).encode()


def _not_json(message: str) -> _Refused:
    return _Refused(_violations(400, [Violation("json.object", "$", message)]))


async def _put_participant(request: web.Request) -> web.Response:
    config = request.app[_CONFIG]
    cid, pid = _segment(request, "cid"), _segment(request, "pid")
    sequence = _sequence(request)
    body = await _read_body(request, config.max_body)
    try:
        payload = loads(body)
    except JsonError as exc:
        raise _not_json(str(exc)) from None
    except RecursionError:
        raise _not_json("not a JSON document: nested too deeply") from None
    try:
        violations = check(payload, edition=config.edition, rules=config.rules, path_id=pid)
        if violations:
            return _violations(422, violations)
        stored = dumps_payload(payload)
        digest = hashlib.sha256(_canonical(payload)).digest()
    except (RecursionError, ValueError) as exc:
        # Nothing a parsed document holds should get here; refuse it rather than fail.
        raise _not_json(f"the document cannot be stored as JSON: {exc}") from None
    result = await request.app[_STORE].put(cid, pid, sequence, digest, stored)
    seq = result.stored_sequence
    match result.outcome:
        case _Outcome.STALE:
            return _error(
                409,
                f"stale write: {SEQUENCE_HEADER} {sequence} is older than the stored sequence "
                f"{seq}; the stored participant is unchanged",
            )
        case _Outcome.CONFLICT:
            return _error(
                409,
                f"conflict: {SEQUENCE_HEADER} {sequence} is already stored with a different body; "
                "the stored participant is unchanged",
            )
        case outcome:
            status = 201 if outcome is _Outcome.CREATED else 200
            answer = {
                "conversationId": cid,
                "id": pid,
                "sequence": seq,
                "outcome": outcome.value,
            }
            return _json(status, answer)


async def _get_participant(request: web.Request) -> web.Response:
    cid, pid = _segment(request, "cid"), _segment(request, "pid")
    body = await request.app[_STORE].get(cid, pid)
    if body is None:
        return _error(404, f"no participant {pid!r} stored in conversation {cid!r}")
    return web.Response(body=body, content_type="application/json")


async def _get_conversation(request: web.Request) -> web.Response:
    cid = _segment(request, "cid")
    bodies = await request.app[_STORE].conversation(cid)
    if not bodies:
        return _error(404, f"no participant stored in conversation {cid!r}")
    body = b'{"id":' + dumps_payload(cid) + b',"participants":[' + b",".join(bodies) + b"]}"
    return web.Response(body=body, content_type="application/json")


async def _health(request: web.Request) -> web.Response:
    return _json(200, {"status": "ok"})


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_KEPT_HEADERS = ("Allow", "WWW-Authenticate")


@web.middleware
async def _answer_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error as a JSON body; nothing a client sends becomes a 5xx."""
    try:
        return await handler(request)
    except _Refused as refused:
        return refused.response
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        headers = {k: exc.headers[k] for k in _KEPT_HEADERS if k in exc.headers}
        if isinstance(exc, web.HTTPMethodNotAllowed):
            allowed = ", ".join(sorted(exc.allowed_methods))
            message = f"method {request.method} is not allowed on {request.path}; use {allowed}"
        elif isinstance(exc, web.HTTPNotFound):
            message = f"no such endpoint: {request.path}"
        else:
            message = exc.reason
        return _error(exc.status, message, headers)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("unexpected error answering %s %s", request.method, request.path)
        return _error(500, "internal error")


@web.middleware
async def _authorize(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The bearer token, on every matched endpoint but /health."""
    token = request.app[_CONFIG].token
    match = request.match_info
    if token is None or match.http_exception is not None or match.route.resource is None:
        return await handler(request)
    if match.route.resource.name == _HEALTH:
        return await handler(request)
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    given = credentials.strip().encode("utf-8", "surrogateescape")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given, token.encode()):
        return _error(
            401,
            "missing or wrong bearer token; send Authorization: Bearer <token>",
            {"WWW-Authenticate": 'Bearer realm="callbacksim"'},
        )
    return await handler(request)


async def _store_context(app: web.Application) -> AsyncIterator[None]:
    config = app[_CONFIG]
    temporary: Path | None = None
    if config.db is None:
        temporary = Path(tempfile.mkdtemp(prefix="callbacksim-target-"))
        path = temporary / "participants.sqlite3"
    else:
        path = config.db
    store = _Store(path)
    try:
        await store.open()
        app[_STORE] = store
        yield
    finally:
        await store.close()
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)


def make_app(config: ServerConfig) -> web.Application:
    """The reference target as an aiohttp application: the store opens on startup and closes on
    cleanup (a temporary database is then deleted)."""
    # Bodies are read by `_read_body`, which enforces config.max_body with a JSON 413.
    app = web.Application(
        middlewares=[_answer_errors, _authorize], client_max_size=config.max_body + 1
    )
    app[_CONFIG] = config
    app.cleanup_ctx.append(_store_context)
    participant = app.router.add_resource(
        "/conversations/{cid}/participants/{pid}", name="participant"
    )
    participant.add_route("GET", _get_participant)
    participant.add_route("PUT", _put_participant)
    conversation = app.router.add_resource("/conversations/{cid}", name="conversation")
    conversation.add_route("GET", _get_conversation)
    health = app.router.add_resource("/health", name=_HEALTH)
    health.add_route("GET", _health)
    return app


# --------------------------------------------------------------------------------------------
# Running it


def _url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"http://{shown}:{port}"


@attrs.define
class RunningServer:
    """A started server: where it listens, and `stop`."""

    url: str
    port: int
    _runner: web.AppRunner = attrs.field(repr=False, alias="runner")

    async def stop(self) -> None:
        """Stop listening, finish the requests in flight and close the store."""
        await self._runner.cleanup()


async def start(config: ServerConfig) -> RunningServer:
    """Start the reference target in the running event loop."""
    runner = web.AppRunner(make_app(config), access_log=None, shutdown_timeout=5.0)
    await runner.setup()
    try:
        site = web.TCPSite(runner, config.host, config.port)
        await site.start()
        port = int(runner.addresses[0][1])
    except BaseException:
        await runner.cleanup()
        raise
    return RunningServer(url=_url(config.host, port), port=port, runner=runner)


def serve_forever(config: ServerConfig, *, ready: Callable[[str], None] | None = None) -> None:
    """Run the reference target until SIGINT or SIGTERM; ``ready(url)`` once it listens."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        installed: list[signal.Signals] = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
                installed.append(sig)
            except (NotImplementedError, RuntimeError, ValueError):
                pass  # no signal handlers here (not the main thread, or Windows)
        try:
            server = await start(config)
            try:
                if ready is not None:
                    ready(server.url)
                await stop.wait()
            finally:
                await server.stop()
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())


class BackgroundServer:
    """The reference target on a thread of its own, with its own event loop.

    ``with BackgroundServer(config) as url: ...`` starts it and gives its URL; leaving the block
    stops it and joins the thread. `start` and `stop` do the same without ``with``.
    """

    def __init__(self, config: ServerConfig | None = None, *, timeout: float = 30.0) -> None:
        self.config = config if config is not None else ServerConfig()
        self._timeout = timeout
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._url: str | None = None

    @property
    def url(self) -> str:
        if self._url is None:
            msg = "the background server is not running"
            raise RuntimeError(msg)
        return self._url

    def start(self) -> str:
        """Start the server thread; the URL once it listens (its startup error, raised here)."""
        if self._thread is not None:
            msg = "the background server is already started"
            raise RuntimeError(msg)
        self._thread = threading.Thread(target=self._main, name="callbacksim-target", daemon=True)
        self._thread.start()
        if not self._ready.wait(self._timeout):
            msg = f"the background server did not start within {self._timeout} s"
            raise TimeoutError(msg)
        if self._failure is not None:
            self._thread.join()
            self._thread = None
            raise self._failure
        return self.url

    def stop(self) -> None:
        """Stop the server and join its thread; does nothing if it is not running."""
        thread, loop, stop = self._thread, self._loop, self._stop
        if thread is None:
            return
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop already closed
                loop.call_soon_threadsafe(stop.set)
        thread.join()
        self._thread = None
        self._url = None

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:
            if not self._ready.is_set():
                self._failure = exc
            else:
                log.exception("the background server failed")
        finally:
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await start(self.config)
        try:
            self._url = server.url
            self._ready.set()
            await self._stop.wait()
        finally:
            await server.stop()

    def __enter__(self) -> str:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
