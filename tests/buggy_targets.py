"""Seeded-bug targets for the property checks: one small, correct in-memory participant store, and a
catalog of variants of it that each carry exactly one bug.

`Store` implements the participant store contract on plain dicts: validation by
`callbacksim.rules.check`, ``X-Sequence`` as the contract says (stale writes 409, the same sequence
with the same body a harmless 200), bodies up to 1 MiB, no 5xx for anything a client sends. Every
step of a request is a method, so each bug is a subclass that overrides one step. `CATALOG` lists
the bugs with the properties each is expected to break; `app` builds an aiohttp application for a
store class and `running` serves one on 127.0.0.1 from a thread of its own.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import attrs
import orjson
from aiohttp import web
from loopback import running

from callbacksim.codec import dumps_payload, loads
from callbacksim.coverage import ENUM_FIELDS
from callbacksim.errors import JsonError
from callbacksim.model import Edition, known_values
from callbacksim.rules import Violation, check
from callbacksim.schema import value_at
from callbacksim.wiretime import DatetimeFormatError, format_datetime, parse_datetime

__all__ = ["CATALOG", "SeededBug", "Store", "app", "refuses_value", "running", "skips_rule"]

MAX_BODY = 1024 * 1024
"""Bodies of at most this many bytes are accepted (the contract's minimum)."""

EDITION = Edition.SEED

_DIGITS = re.compile(r"[0-9]+")
_DATETIME = re.compile(
    r"(?P<head>[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2})"
    r"(?P<fraction>\.[0-9]+)?(?P<zone>[Zz]|[+-][0-9]{2}:[0-9]{2})"
)


class Refused(Exception):
    """A request refused with an answer ready to send."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


def canonical(payload: object) -> bytes:
    """JSON with sorted keys: equal for equal documents (``1`` and ``true`` differ)."""
    try:
        return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)
    except (TypeError, orjson.JSONEncodeError):  # lone surrogates, integers beyond 64 bits
        return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()


def answer(status: int, payload: object) -> web.Response:
    return web.Response(status=status, body=dumps_payload(payload), content_type="application/json")


@attrs.define
class Record:
    cid: str
    pid: str
    sequence: int | None
    sent: bytes
    """The payload as it was received, canonical (what a repeated write is compared with)."""
    body: bytes
    """What GET answers."""


class Store:
    """The correct store. Subclasses in `CATALOG` each break one step."""

    max_body = MAX_BODY
    edition = EDITION
    """The edition whose rules it enforces."""

    def __init__(self) -> None:
        self.records: dict[Any, Record] = {}

    # -- the steps of a PUT ---------------------------------------------------------------------

    def sequence(self, request: web.Request) -> int | None:
        values = request.headers.getall("X-Sequence", [])
        if not values:
            return None
        text = values[0].strip()
        if len(values) > 1 or _DIGITS.fullmatch(text) is None or int(text) < 1:
            raise Refused(answer(400, {"error": "X-Sequence must be one integer >= 1"}))
        return int(text)

    def parse(self, body: bytes) -> Any:
        try:
            return loads(body)
        except (JsonError, RecursionError) as exc:
            raise Refused(answer(400, {"error": f"not JSON: {exc}"})) from None

    def validate(self, payload: Any, pid: str) -> list[Violation]:
        return check(payload, edition=self.edition, path_id=pid)

    def transform(self, cid: str, pid: str, payload: dict[str, Any]) -> dict[str, Any]:
        """The participant as it is kept (and read back)."""
        return payload

    def encode(self, payload: Any) -> bytes:
        return dumps_payload(payload)

    def key(self, cid: str, pid: str) -> Any:
        return (cid, pid)

    def decide(self, old: Record | None, sequence: int | None, sent: bytes) -> str:
        """created | replaced | unchanged | stale | conflict."""
        if old is None:
            return "created"
        if sequence is None or old.sequence is None or sequence > old.sequence:
            return "replaced"
        if sequence == old.sequence:
            return "unchanged" if old.sent == sent else "conflict"
        return "stale"

    async def put(self, cid: str, pid: str, sequence: int | None, sent: bytes, body: bytes) -> str:
        """Read, compare and write with no await in between: writers never interleave."""
        key = self.key(cid, pid)
        old = self.records.get(key)
        outcome = self.decide(old, sequence, sent)
        if outcome in ("created", "replaced"):
            kept = old.sequence if sequence is None and old is not None else sequence
            self.records[key] = Record(cid, pid, kept, sent, body)
        return outcome

    # -- reads ----------------------------------------------------------------------------------

    def participant(self, cid: str, pid: str) -> web.Response:
        record = self.records.get(self.key(cid, pid))
        if record is None:
            return answer(404, {"error": f"no participant {pid!r} in conversation {cid!r}"})
        return web.Response(body=record.body, content_type="application/json")

    def listed(self, cid: str) -> list[bytes]:
        records = sorted((r for r in self.records.values() if r.cid == cid), key=lambda r: r.pid)
        return [r.body for r in records]

    def conversation(self, cid: str) -> web.Response:
        bodies = self.listed(cid)
        if not bodies:
            return answer(404, {"error": f"no conversation {cid!r}"})
        body = b'{"id":' + dumps_payload(cid) + b',"participants":[' + b",".join(bodies) + b"]}"
        return web.Response(body=body, content_type="application/json")


# --------------------------------------------------------------------------------------------
# The application

_STORE = web.AppKey("store", Store)


async def _put(request: web.Request) -> web.Response:
    store = request.app[_STORE]
    cid, pid = request.match_info["cid"], request.match_info["pid"]
    try:
        payload = store.parse(await request.read())
        violations = store.validate(payload, pid)
        if violations:
            errors = [attrs.asdict(v) for v in violations]
            return answer(422, {"errors": errors})
        sequence = store.sequence(request)
        body = store.encode(store.transform(cid, pid, copy.deepcopy(payload)))
        sent = canonical(payload)
    except Refused as refused:
        return refused.response
    except RecursionError:
        # A valid participant can hold an unknown property nested deeper than Python recurses.
        return answer(400, {"error": "the document is nested too deeply to be stored"})
    outcome = await store.put(cid, pid, sequence, sent, body)
    if outcome in ("stale", "conflict"):
        return answer(409, {"error": f"{outcome} write; the stored participant is unchanged"})
    return answer(201 if outcome == "created" else 200, {"id": pid, "outcome": outcome})


async def _get(request: web.Request) -> web.Response:
    return request.app[_STORE].participant(request.match_info["cid"], request.match_info["pid"])


async def _conversation(request: web.Request) -> web.Response:
    return request.app[_STORE].conversation(request.match_info["cid"])


async def _health(_request: web.Request) -> web.Response:
    return answer(200, {"status": "ok"})


def app(store: type[Store] = Store) -> web.Application:
    """A fresh application around a fresh ``store``."""
    instance = store()
    application = web.Application(client_max_size=instance.max_body)
    application[_STORE] = instance
    application.router.add_get("/health", _health)
    application.router.add_get("/conversations/{cid}", _conversation)
    application.router.add_get("/conversations/{cid}/participants/{pid}", _get)
    application.router.add_put("/conversations/{cid}/participants/{pid}", _put)
    return application


# --------------------------------------------------------------------------------------------
# The bugs


def _strings(value: Any, change: Any) -> Any:
    """``value`` with ``change`` applied to every string in it (keys left alone)."""
    if isinstance(value, str):
        return change(value)
    if isinstance(value, dict):
        return {k: _strings(v, change) for k, v in value.items()}
    if isinstance(value, list):
        return [_strings(v, change) for v in value]
    return value


def _depth(value: Any) -> int:
    deepest, todo = 0, [(value, 1)]
    while todo:
        item, depth = todo.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            todo += [(v, depth + 1) for v in (item.values() if isinstance(item, dict) else item)]
    return deepest


def _datetimes(value: Any) -> Iterator[re.Match[str]]:
    if isinstance(value, str):
        if m := _DATETIME.fullmatch(value):
            yield m
    elif isinstance(value, dict):
        for v in value.values():
            yield from _datetimes(v)
    elif isinstance(value, list):
        for v in value:
            yield from _datetimes(v)


class NotFoundIsEmpty(Store):
    def participant(self, cid: str, pid: str) -> web.Response:
        if self.key(cid, pid) not in self.records:
            return answer(200, {})
        return super().participant(cid, pid)


class UpperCaseDatetimes(Store):
    """RFC 3339 allows a lower-case ``t`` and ``z``; this store's datetime pattern does not."""

    def validate(self, payload: Any, pid: str) -> list[Violation]:
        violations = super().validate(payload, pid)
        for m in [] if violations else _datetimes(payload):
            if "t" in m["head"] or m["zone"] == "z":
                return [Violation("datetime.format", "$", "expected YYYY-MM-DDTHH:MM:SS[.fff]Z")]
        return violations


class AsciiOnly(Store):
    def parse(self, body: bytes) -> Any:
        try:
            body.decode("ascii")
        except UnicodeDecodeError:
            raise Refused(answer(400, {"error": "the body is not ASCII"})) from None
        return super().parse(body)


class SkipsOrdering(Store):
    def validate(self, payload: Any, pid: str) -> list[Violation]:
        return [v for v in super().validate(payload, pid) if not v.rule.startswith("order.")]


class DeepNesting500(Store):
    """Guards against deep nesting, but with an exception nothing turns into a 4xx."""

    def parse(self, body: bytes) -> Any:
        payload = super().parse(body)
        if _depth(payload) > 32:
            msg = "nested too deeply"
            raise ValueError(msg)  # escapes the handler: aiohttp answers 500
        return payload


class LoneSurrogate500(Store):
    """Hashes the parsed document with orjson before validating it; orjson refuses strings with
    lone surrogates (``"\\ud800"``), and the error escapes: aiohttp answers 500."""

    def parse(self, body: bytes) -> Any:
        payload = super().parse(body)
        self.last_digest = hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS))
        return payload


class UnknownEnumToSentinel(Store):
    def transform(self, cid: str, pid: str, payload: dict[str, Any]) -> dict[str, Any]:
        for field, enum in ENUM_FIELDS.items():
            head, _, tail = field.partition(".")
            holder = payload.get(head) if tail else payload
            key = tail or head
            if isinstance(holder, dict) and isinstance(holder.get(key), str):
                known = {m.value for m in known_values(enum, self.edition)}
                if holder[key] not in known:
                    holder[key] = "OutdatedSdkVersion"
        return payload


class TruncatesToSeconds(Store):
    def transform(self, cid: str, pid: str, payload: dict[str, Any]) -> dict[str, Any]:
        def whole_seconds(text: str) -> str:
            m = _DATETIME.fullmatch(text)
            return f"{m['head']}{m['zone']}" if m else text

        result: dict[str, Any] = _strings(payload, whole_seconds)
        return result


class OmitsEmpty(Store):
    """Like Go's ``omitempty``: empty strings, lists and objects are left out when storing (in the
    participant and its nested objects; the attributes map keeps its entries)."""

    def transform(self, cid: str, pid: str, payload: dict[str, Any]) -> dict[str, Any]:
        def omit(obj: dict[str, Any]) -> dict[str, Any]:
            return {
                k: omit(v) if isinstance(v, dict) and k != "attributes" else v
                for k, v in obj.items()
                if v not in ("", [], {})
            }

        return omit(payload)


class FractionAsMilliseconds(Store):
    """Normalizes datetimes to milliseconds, reading the fraction digits as a count of
    milliseconds whatever their number: ``.5`` becomes 5 ms, ``.2500`` 2.5 s."""

    def transform(self, cid: str, pid: str, payload: dict[str, Any]) -> dict[str, Any]:
        def normalized(text: str) -> str:
            m = _DATETIME.fullmatch(text)
            if m is None or m["zone"] not in ("Z", "z"):
                return text
            digits = (m["fraction"] or ".0")[1:]
            try:
                instant = parse_datetime(f"{m['head']}Z") + timedelta(milliseconds=int(digits))
            except (DatetimeFormatError, OverflowError):
                return text
            return format_datetime(instant)

        result: dict[str, Any] = _strings(payload, normalized)
        return result


class RepeatIsConflict(Store):
    def decide(self, old: Record | None, sequence: int | None, sent: bytes) -> str:
        if old is not None and sequence is not None and sequence == old.sequence:
            return "stale"
        return super().decide(old, sequence, sent)


class CountsRevisions(Store):
    def __init__(self) -> None:
        super().__init__()
        self.revisions: dict[tuple[str, str], int] = {}

    def transform(self, cid: str, pid: str, payload: dict[str, Any]) -> dict[str, Any]:
        n = self.revisions[cid, pid] = self.revisions.get((cid, pid), 0) + 1
        return {**payload, "x-revision": n}


class IgnoresSequence(Store):
    def decide(self, old: Record | None, sequence: int | None, sent: bytes) -> str:
        return super().decide(old, None, sent)


class LostUpdates(Store):
    async def put(self, cid: str, pid: str, sequence: int | None, sent: bytes, body: bytes) -> str:
        snapshot = dict(self.records)
        key = self.key(cid, pid)
        old = snapshot.get(key)
        outcome = self.decide(old, sequence, sent)
        await asyncio.sleep(0)  # other requests run here, and their writes are lost below
        if outcome in ("created", "replaced"):
            kept = old.sequence if sequence is None and old is not None else sequence
            snapshot[key] = Record(cid, pid, kept, sent, body)
            self.records = snapshot
        return outcome


class CrossedConversations(Store):
    def key(self, cid: str, pid: str) -> Any:
        return pid


class ConversationKeepsFirst(Store):
    """The conversation view is a cache filled on a participant's first write, never updated."""

    def __init__(self) -> None:
        super().__init__()
        self.first: dict[Any, Record] = {}

    async def put(self, cid: str, pid: str, sequence: int | None, sent: bytes, body: bytes) -> str:
        outcome = await super().put(cid, pid, sequence, sent, body)
        if outcome == "created":
            self.first[self.key(cid, pid)] = self.records[self.key(cid, pid)]
        return outcome

    def listed(self, cid: str) -> list[bytes]:
        records = sorted((r for r in self.first.values() if r.cid == cid), key=lambda r: r.pid)
        return [r.body for r in records]


class DropsDollarKeys(Store):
    """Sanitizes attribute keys the way MongoDB drivers once forced: keys starting with ``$`` (the
    query operators' prefix) are silently dropped."""

    def transform(self, cid: str, pid: str, payload: dict[str, Any]) -> dict[str, Any]:
        attributes = payload.get("attributes")
        if isinstance(attributes, dict):
            payload["attributes"] = {k: v for k, v in attributes.items() if not k.startswith("$")}
        return payload


class LowerCasesKeys(Store):
    """Keeps attributes under a case-insensitive collation: keys are folded to lower case, so two
    keys differing only by case become one (the last wins)."""

    def transform(self, cid: str, pid: str, payload: dict[str, Any]) -> dict[str, Any]:
        attributes = payload.get("attributes")
        if isinstance(attributes, dict):
            payload["attributes"] = {k.lower(): v for k, v in attributes.items()}
        return payload


class RoundsBigIntegers(Store):
    """Holds every number as an IEEE 754 double, as JavaScript does: integers beyond 2^53 come back
    rounded."""

    def transform(self, cid: str, pid: str, payload: dict[str, Any]) -> dict[str, Any]:
        def rounded(value: Any) -> Any:
            if isinstance(value, bool):
                return value
            if isinstance(value, int):
                return int(float(value))
            if isinstance(value, dict):
                return {k: rounded(v) for k, v in value.items()}
            if isinstance(value, list):
                return [rounded(v) for v in value]
            return value

        result: dict[str, Any] = rounded(payload)
        return result


def skips_rule(rule: str, edition: Edition = EDITION) -> type[Store]:
    """A store on ``edition`` that enforces every rule but ``rule``."""

    class SkipsRule(Store):
        def validate(self, payload: Any, pid: str) -> list[Violation]:
            return [v for v in super().validate(payload, pid) if v.rule != rule]

    SkipsRule.edition = edition
    SkipsRule.__name__ = f"Skips({rule})"
    return SkipsRule


def refuses_value(field: str, value: str, edition: Edition = EDITION) -> type[Store]:
    """A store on ``edition`` that refuses (422) every participant whose enum property ``field``
    (a wire path: ``state``, ``voicemail.uploadStatus``) holds ``value``."""

    class RefusesValue(Store):
        def validate(self, payload: Any, pid: str) -> list[Violation]:
            violations = super().validate(payload, pid)
            if not violations and isinstance(payload, dict) and value_at(payload, field) == value:
                message = f"{value!r} is not a supported value"
                return [Violation(f"type.{field.split('.')[0]}", f"$.{field}", message)]
            return violations

    RefusesValue.edition = edition
    RefusesValue.__name__ = f"Refuses({field}={value})"
    return RefusesValue


# --------------------------------------------------------------------------------------------
# The catalog


@dataclass(frozen=True)
class SeededBug:
    id: str
    store: type[Store]
    expected: frozenset[str]
    """The properties this bug breaks, and no others."""
    why: str
    examples: int = 15
    """Explored examples per property that catch it with seed 0, after the covering phases
    (deterministically: see test_checks)."""


def _bug(
    id: str, store: type[Store], expected: set[str], why: str, examples: int = 15
) -> SeededBug:
    return SeededBug(id, store, frozenset(expected), why, examples)


CATALOG: tuple[SeededBug, ...] = (
    _bug(
        "not-found-is-empty",
        NotFoundIsEmpty,
        {"not-found"},
        "GET of a participant never written answers 200 {}",
    ),
    _bug(
        "upper-case-datetimes",
        UpperCaseDatetimes,
        {"accepts-valid", "tolerates-unknown", "converges"},
        "datetimes with a lower-case t or z are refused (422): the lowercase-t-z feature, which "
        "the covering phases of these three try (round-trips and idempotent judge only what was "
        "accepted); lifecycles use upper case",
    ),
    _bug(
        "ascii-only",
        AsciiOnly,
        {"accepts-valid", "tolerates-unknown", "converges", "isolated"},
        "a body with any non-ASCII byte is refused (400): not only unicode payloads but every "
        "participant with a name like 'José', which the payloads and lifecycles often have",
    ),
    _bug(
        "skips-ordering",
        SkipsOrdering,
        {"rejects-invalid"},
        "the order.* rules are not checked: out-of-order timestamps are stored",
    ),
    _bug(
        "deep-nesting-500",
        DeepNesting500,
        {"no-server-errors"},
        "JSON nested deeper than 32 levels fails with 500 (a depth guard whose error nothing "
        "maps to 400); the deep-arrays kind of garbage is one",
    ),
    _bug(
        "lone-surrogate-500",
        LoneSurrogate500,
        {"no-server-errors"},
        "a (valid) string holding a lone surrogate escape cannot be encoded: 500",
    ),
    _bug(
        "unknown-enum-to-sentinel",
        UnknownEnumToSentinel,
        {"tolerates-unknown", "round-trips", "converges"},
        "enum strings outside the table are stored as OutdatedSdkVersion; converges meets one in "
        "its covering of unknown-enum; lifecycles pass through the unknown state 'scheduled' but "
        "no final snapshot is in it",
    ),
    _bug(
        "truncates-to-seconds",
        TruncatesToSeconds,
        {"round-trips", "converges", "isolated"},
        "datetimes are stored without their fraction of a second",
    ),
    _bug(
        "omits-empty",
        OmitsEmpty,
        {"round-trips", "converges"},
        "empty strings, lists and objects are dropped (Go's omitempty): not the same as absent; "
        "lifecycle snapshots hold no empty values, the empty-string feature does",
    ),
    _bug(
        "fraction-as-milliseconds",
        FractionAsMilliseconds,
        {"round-trips", "converges"},
        "fraction digits are read as milliseconds whatever their number: another instant "
        "unless there are exactly three (lifecycles always write three; the fraction-digits "
        "feature does not)",
    ),
    _bug(
        "repeat-is-conflict",
        RepeatIsConflict,
        {"idempotent"},
        "repeating a write with the stored X-Sequence answers 409 even with the same body",
    ),
    _bug(
        "counts-revisions",
        CountsRevisions,
        {"idempotent"},
        "every accepted write bumps an extra x-revision property in the stored body",
    ),
    _bug(
        "ignores-sequence",
        IgnoresSequence,
        {"converges"},
        "X-Sequence is ignored: the last write wins, so a reordered or duplicated older "
        "snapshot overwrites a newer one",
    ),
    _bug(
        "lost-updates",
        LostUpdates,
        {"isolated"},
        "a write copies the whole store, yields, then puts its copy back: concurrent writes "
        "to other conversations are lost",
    ),
    _bug(
        "crossed-conversations",
        CrossedConversations,
        {"converges"},
        "records are keyed by participant id only: a participant id reused in another "
        "conversation reads back the other conversation's snapshot",
    ),
    _bug(
        "conversation-keeps-first",
        ConversationKeepsFirst,
        {"converges", "isolated"},
        "GET /conversations/{cid} lists each participant's first snapshot, not its latest",
    ),
    _bug(
        "drops-dollar-keys",
        DropsDollarKeys,
        {"round-trips", "converges"},
        "attribute keys starting with $ are dropped when storing; only the dollar-keys feature "
        "(and odd-attribute-keys) has them, which round-trips and converges cover",
    ),
    _bug(
        "lower-cases-keys",
        LowerCasesKeys,
        {"round-trips", "converges", "isolated"},
        "attribute keys are folded to lower case; every generated key but the unusual ones is "
        "camelCase too, so ordinary participants show it as well, and so do the lifecycles "
        "`isolated` replays (their callbacks carry attributes from creation)",
    ),
    _bug(
        "rounds-big-integers",
        RoundsBigIntegers,
        {"round-trips", "converges"},
        "integers are held as doubles: beyond 2^53 they come back rounded; only the "
        "number-limits feature sends such integers",
    ),
)
"""Every seeded bug, by id."""
