"""The reference target: the participant store contract, implemented exactly.

An aiohttp application that stores callback participants in SQLite (WAL mode, ``synchronous=FULL``)
and answers the participant store contract:

- ``PUT /conversations/{cid}/participants/{pid}`` stores one participant (JSON body, optional
  ``X-Sequence: <n>`` header, ``n >= 1``). 201 when the participant is first stored, 200 when a
  write replaced it or repeated the stored one; 400 for a body that is not JSON (rule
  ``json.object``) or a malformed ``X-Sequence``; 422 for any rule violation (``json.object`` for
  JSON that is not an object, ``id.matches-path``, the rule set's other rules); 409 for a stale
  sequence, or the stored sequence with a different body; 413 for a body over ``max_body``; 408
  (and the connection closed) for a body that takes longer than ``read_timeout`` to arrive.
- ``GET /conversations/{cid}/participants/{pid}``: the latest stored participant, or 404.
- ``GET /conversations/{cid}``: ``{"id": cid, "participants": [...]}``, or 404.
- ``GET /health``: 200 once the store is open.

Payload errors answer ``{"errors": [{"rule", "path", "message"}, ...]}``; every other error
``{"error": "..."}``. Other methods on these paths (HEAD included) answer 405 with ``Allow``,
unknown paths 404, whatever the token. The body is read as JSON whatever its Content-Type.

Every store operation runs on one dedicated thread, and a write's read-compare-write of the
sequence runs inside a ``BEGIN IMMEDIATE`` transaction (shared with the writes that arrived at the
same time, see `callbacksim.target.store`), committed before the answer is sent: an acknowledged
write survives the process being killed, and writers never interleave.

This module builds the aiohttp application (`make_app`); `callbacksim.target.run` runs it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import orjson
from aiohttp import web

from callbacksim.codec import dumps_payload, loads
from callbacksim.errors import JsonError
from callbacksim.rules import Violation, check
from callbacksim.target.config import MAX_SEQUENCE, SEQUENCE_HEADER, ServerConfig
from callbacksim.target.store import PutOutcome, Store

log = logging.getLogger(__name__)


_CONFIG = web.AppKey("callbacksim.config", ServerConfig)
_STORE = web.AppKey("callbacksim.store", Store)
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


async def _read_body(request: web.Request, limit: int, seconds: float) -> bytes:
    too_large = _error(413, f"the body is over the limit of {limit} bytes")
    length = request.content_length
    if length is not None and length > limit:
        raise _Refused(too_large)
    body = bytearray()
    try:
        async with asyncio.timeout(seconds):
            async for chunk in request.content.iter_any():
                body += chunk
                if len(body) > limit:
                    raise _Refused(too_large)
    except TimeoutError:
        slow = _error(408, f"the body did not arrive within {seconds:g} s; send it at once")
        slow.force_close()
        raise _Refused(slow) from None
    except ConnectionError:
        # The client went away before the whole body came (a truncated body): nobody is left to
        # read an answer, and nothing is stored.
        gone = _error(400, "the connection closed before the whole body arrived")
        gone.force_close()
        raise _Refused(gone) from None
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
    body = await _read_body(request, config.max_body, config.read_timeout)
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
        # Stored as written with sorted keys: one encoding serves the body and its digest.
        stored = _canonical(payload)
        digest = hashlib.sha256(stored).digest()
    except (RecursionError, ValueError) as exc:
        # Nothing a parsed document holds should get here; refuse it rather than fail.
        raise _not_json(f"the document cannot be stored as JSON: {exc}") from None
    result = await request.app[_STORE].put(cid, pid, sequence, digest, stored)
    seq = result.stored_sequence
    match result.outcome:
        case PutOutcome.STALE:
            return _error(
                409,
                f"stale write: {SEQUENCE_HEADER} {sequence} is older than the stored sequence "
                f"{seq}; the stored participant is unchanged",
            )
        case PutOutcome.CONFLICT:
            return _error(
                409,
                f"conflict: {SEQUENCE_HEADER} {sequence} is already stored with a different body; "
                "the stored participant is unchanged",
            )
        case outcome:
            status = 201 if outcome is PutOutcome.CREATED else 200
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
    store = Store(path)
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
        # Without a token there is nothing to authorize: no middleware to pass through.
        middlewares=[_answer_errors, *([_authorize] if config.token is not None else [])],
        client_max_size=config.max_body + 1,
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
