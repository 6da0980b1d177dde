"""Valid but unusual wire payloads: what a correct service must accept, and many do not.

`build_unusual` takes a valid participant and gives it one or more named features, each of which
keeps it valid (the rules are the judge: every payload is checked before it is returned, in its own
edition and in every later one, so that a target built on a newer edition must accept it too):

==========================  ===================================================================
feature                     what it does
==========================  ===================================================================
unknown-enum                an enum property holds a string no edition has in its table (kept
                            verbatim); or, checked in an older edition, a newer edition's value
                            in a form that edition accepts (``parked`` with its ``parkTime``)
outdated-sdk-version        an enum property holds the sentinel ``OutdatedSdkVersion``
unknown-property            properties the model does not define, at the top and nested (a newer
                            edition's properties only with values that edition accepts)
explicit-null               absent properties written as ``null``
datetime-offset             datetimes written with offsets other than ``Z`` (same instants)
fraction-digits             datetimes with 0 to 9 fraction digits (same instants)
lowercase-t-z               datetimes with a lower-case ``t`` and ``z``
tied-timestamps             as many timestamps as possible at the very same millisecond
extreme-year                instants in year 0001 or 9999
empty-string                strings that are empty
long-string                 a string of tens of thousands of characters
unicode                     astral characters, combining marks, right-to-left text, ``\\u0000``
padded-string               leading and trailing spaces
empty-collection            empty lists and maps
large-collection            lists and maps with hundreds of entries
odd-attribute-keys          attribute keys with dots, spaces, Unicode, quotes, or empty
dollar-keys                 attribute keys starting with ``$`` (``$set``, ``$id``, ``$ref``)
dotted-keys                 attribute keys with dots, next to a key that is a prefix of them
                            (``a`` and ``a.b``), and keys that are only dots or end with one
nul-keys                    attribute keys holding U+0000
empty-key                   the empty attribute key
underscore-keys             attribute keys named like search-engine metadata (``_id``,
                            ``_source``, ``_index``)
dunder-keys                 attribute keys matching ``__.*__`` (``__name__``, ``__key__``)
prototype-keys              attribute keys that are JavaScript object members (``__proto__``,
                            ``constructor``, ``toString``)
case-only-keys              attribute keys that differ only by letter case
normalisation-only-keys     attribute keys that differ only by Unicode normalisation (NFC and
                            NFD, a ligature and its letters)
numeric-keys                attribute keys that read as numbers (``0``, ``-1``, ``1e3``, ``01``)
long-keys                   attribute keys of 1,025 to 32,767 characters
control-keys                attribute keys holding control characters and line separators
whitespace-keys             attribute keys that are or start or end with white space
glob-keys                   attribute keys with glob and hash-tag characters (``*``, ``?``,
                            ``[abc]``, ``{tag}``) and ``:`` namespaces
nul-values                  strings holding U+0000 at the start, inside, at the end, or alone
control-values              strings holding control characters, escape sequences and U+2028
noncharacters               strings holding Unicode noncharacters (U+FFFE, U+FFFF, U+10FFFF)
number-limits               integers at the 32-bit, 2^53 and 64-bit limits (2^53 + 1 and
                            2^63 - 1 always), and an extra property holding -0.0, the smallest
                            and largest doubles
near-size-limit             a body of 420,000 to 1,000,000 bytes (the contract has a target
                            accept 1 MiB at least); only when asked for by name
==========================  ===================================================================

Where the kinds of keys and values come from: what real stores reserve, forbid or transform.

- MongoDB: field names starting with ``$`` are operators and were refused before 5.0; a dot is the
  path separator of its query language; a field name cannot hold NUL (BSON stores it as a C
  string); ``_id`` is the document's identity.
- Elasticsearch: dots in field names are expanded into objects (so ``a`` and ``a.b`` collide, and
  2.x refused them), a name cannot be empty or only dots, and names starting with ``_`` are its
  metadata fields.
- Redis and other key-value stores: keys are matched by glob patterns (``KEYS``, ``SCAN MATCH``:
  ``*``, ``?``, ``[...]``), Redis Cluster hashes only what is inside ``{...}``, and ``:`` is the
  usual namespace separator, so a store that builds keys from attribute names may collide or
  match too much.
- PostgreSQL ``jsonb``: ``\\u0000`` is refused (it cannot be held in ``text``), so is any string
  holding U+0000 in a ``text`` column; objects are stored with their keys re-ordered and
  duplicates dropped (the comparison of read-backs ignores key order for that reason; duplicate
  keys are never sent, since RFC 8259 leaves their meaning open).
- DynamoDB: empty strings were refused until 2020 (``empty-string``), empty sets still are
  (``empty-collection``), and an item is at most 400 KB (``near-size-limit``).
- Firestore: field names matching ``__.*__`` are reserved, names are at most 1,500 bytes and cannot
  be empty; a document is at most 1 MiB.
- Relational stores and file systems: case-insensitive collations (MySQL's and SQL Server's
  defaults) and macOS file names (stored in NFD) merge keys that differ only by case or by
  normalisation; B-tree index entries are limited (PostgreSQL about 2,700 bytes, MongoDB 1,024
  bytes before 4.2, a Lucene term 32,766 bytes).
- JavaScript: ``obj[key] = value`` with key ``__proto__`` sets the prototype instead of a member;
  integer-like keys are enumerated first, in numeric order; every number is an IEEE 754 double,
  exact only up to 2^53 (RFC 8259 section 6), as in Go's ``encoding/json`` into ``interface{}``.
- Unicode: noncharacters (U+FFFE, U+FFFF, U+10FFFF) are valid scalar values that some encoders
  refuse (Corrigendum #9); control characters and U+2028/U+2029 break line-oriented logs and
  pre-2019 JavaScript string literals.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from callbacksim.codec import dumps_payload
from callbacksim.generation import vocab
from callbacksim.generation.chooser import Chooser
from callbacksim.generation.participants import (
    Shape,
    build_participant,
    copy_payload,
    state_bounds,
)
from callbacksim.model import (
    Direction,
    DisconnectType,
    Edition,
    FlaggedReason,
    State,
    UploadStatus,
    Wrapup,
    known_values,
)
from callbacksim.orderings import walk
from callbacksim.rules import check, order, timestamps
from callbacksim.schema import enum_paths, fields_of, participant_fields
from callbacksim.wiretime import (
    DatetimeFormatError,
    epoch_ms,
    format_epoch_ms,
    parse_datetime,
)

__all__ = [
    "FEATURES",
    "KEY_KINDS",
    "ON_REQUEST",
    "UNKNOWN_ENUM_VALUES",
    "UnusualBug",
    "build_unusual",
]


class UnusualBug(AssertionError):
    """An unusual payload is not valid in its edition or a later one: a bug in callbacksim."""


_YEAR_1_MS = epoch_ms(datetime(1, 1, 1, tzinfo=UTC))
_YEAR_9999_MS = epoch_ms(datetime(9999, 12, 20, tzinfo=UTC))

UNKNOWN_ENUM_VALUES: dict[str, tuple[str, ...]] = {
    # Values Genesys uses in neighbouring models or may add, and spellings that differ in case:
    # none is in any edition's table (a test holds every edition to that).
    "state": ("scheduled", "Parked", "CONNECTED", "queued", "wrapup"),
    "direction": ("INBOUND", "internal", "both"),
    "disconnectType": ("timeout", "uncallable", "endpoint.dnd", "transfer.dnd", "Client"),
    "flaggedReason": ("spam", "abuse", "GENERAL"),
    "voicemail.uploadStatus": ("uploading", "deleted", "Complete"),
}

_UNICODE = (
    "😀 ",  # astral (emoji)
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",  # astral (mathematical letters)
    "e\u0301te\u0301",  # combining acute accents
    "שלום עולם",  # right-to-left (Hebrew)
    "مرحبا",  # right-to-left (Arabic)
    "nul\u0000byte",  # NUL inside a string
    "zero\u200bwidth\u200djoiner",
    "\ufeffbom",
    "Ω≈ç√∫",
    "👩‍👩‍👧‍👦",  # a ZWJ sequence
)
_ODD_KEYS = ("a.b.c", "with space", "ключ", "", "😀", "$dollar", 'quote"d', "back\\slash", "a/b")
_OFFSETS = ("+02:00", "-05:30", "+00:00", "+14:00", "-12:00", "+05:45", "-00:30")

_STRING_PATHS = ("name", "address", "callbackUserName", "wrapupPrompt", "provider", "peer")

# -- attribute keys that stores reserve, forbid or transform (sources in the module docstring) --

KEY_KINDS: dict[str, tuple[tuple[str, ...], ...]] = {
    # Each kind is a list of groups; one draw puts a whole group into the attributes map, so that
    # keys which a careless store would merge (a.b and a, Tier and tier) arrive together.
    "dollar-keys": (("$set",), ("$id", "$ref"), ("$where",), ("price$", "$")),
    "dotted-keys": (("a", "a.b"), ("a.b.c", "a.b"), (".",), (".lead", "trail."), ("a..b",)),
    "nul-keys": (("nul\u0000key",), ("\u0000",), ("\u0000lead",)),
    "empty-key": (("",),),
    "underscore-keys": (("_id",), ("_source", "_index"), ("_routing", "_type"), ("_",)),
    "dunder-keys": (("__name__",), ("__key__", "__id__"), ("____",)),
    "prototype-keys": (("__proto__",), ("constructor", "prototype"), ("toString", "valueOf")),
    "case-only-keys": (("tier", "Tier", "TIER"), ("caseNumber", "casenumber", "CASENUMBER")),
    "normalisation-only-keys": (
        ("caf\u00e9", "cafe\u0301"),  # NFC and NFD
        (
            "\u00c5ngstr\u00f6m",
            "A\u030angstro\u0308m",
            "\u212bngstr\u00f6m",
        ),  # and the Angstrom sign
        ("\ufb01le", "file"),  # a ligature and its letters (equal under NFKC)
    ),
    "numeric-keys": (("0", "1", "-1"), ("1e3", "1000"), ("01", "1.0"), ("9007199254740993",)),
    "long-keys": tuple((f"{n}:" + "k" * (n - len(f"{n}:")),) for n in (1025, 1501, 2705, 32767)),
    "control-keys": (
        ("tab\tkey", "line\nkey"),
        ("cr\rkey",),
        ("\u001b[31mred",),
        ("del\u007f", "\u0085nel"),
        ("ls\u2028ps\u2029",),
    ),
    "whitespace-keys": ((" ",), (" lead", "trail "), ("\u00a0nbsp",), ("\u3000",)),
    "glob-keys": (("*",), ("a?c", "[abc]"), ("{tag}", "{tag}x"), ("user:1:name",), ("a\\*",)),
}
"""Attribute key vocabularies, one per unusual feature, each a tuple of key groups."""

_SPECIAL_KEYS = frozenset(
    [*_ODD_KEYS, *(k for groups in KEY_KINDS.values() for group in groups for k in group)]
)

_NUL_VALUES = ("\u0000", "\u0000lead", "trail\u0000", "in\u0000side")
_CONTROL_VALUES = (
    "\u0001start",
    "tab\there",
    "line\nbreak",
    "crlf\r\nbreak",
    "\u001b[2Jclear",
    "del\u007f",
    "next\u0085line",
    "line\u2028separator\u2029",
)
_NONCHARACTERS = ("\ufffe", "\uffff", "\U0010ffff", "x\ufdd0y", "\U0001fffe", "\ufffd")
_UNPLAIN = frozenset(
    [chr(c) for c in range(0x20)]
    + ["\u007f", "\u0085", "\u2028", "\u2029"]
    + ["\ufffe", "\uffff", "\U0010ffff", "\ufdd0", "\U0001fffe", "\ufffd"]
)

_INT_LIMITS = (
    2**31 - 1,
    2**31,
    2**32,
    2**53 - 1,
    2**53,
    2**53 + 1,
    2**63 - 1,
)
_FLOAT_LIMITS = (-0.0, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 1e-7, 1e21)

NEAR_SIZE_LIMIT = 1_000_000
"""The largest body ``near-size-limit`` makes, in bytes (under the 1 MiB that the contract has
every target accept, with room for the features applied after it)."""
_PAST_ITEM_LIMIT = 420_000
"""The smallest: past DynamoDB's 400 KB item limit."""


def _datetime_slots(payload: dict[str, Any], edition: Edition) -> list[tuple[dict[str, Any], str]]:
    """(holder, key) of every datetime string of the edition's properties in the payload."""
    slots = [
        (payload, k)
        for k in timestamps(edition)
        if "." not in k and isinstance(payload.get(k), str)
    ]
    wrapup = payload.get("wrapup")
    if isinstance(wrapup, dict) and isinstance(wrapup.get("endTime"), str):
        slots.append((wrapup, "endTime"))
    return slots


def _rewrite_datetimes(
    payload: dict[str, Any], edition: Edition, render: Callable[[datetime, str], str | None]
) -> bool:
    changed = False
    if not _datetime_slots(payload, edition):
        # callbackScheduledTime is free of every ordering rule: a datetime to rewrite.
        payload["callbackScheduledTime"] = "2026-01-01T09:30:00.250Z"
    for holder, key in _datetime_slots(payload, edition):
        text = holder[key]
        new = render(parse_datetime(text), text)
        if new is not None and new != text:
            holder[key] = new
            changed = True
    return changed


def _offset(ch: Chooser, payload: dict[str, Any], edition: Edition) -> bool:
    def render(value: datetime, _text: str) -> str | None:
        sign_hh_mm = ch.pick(_OFFSETS)
        hours, minutes = int(sign_hh_mm[1:3]), int(sign_hh_mm[4:6])
        delta = timedelta(hours=hours, minutes=minutes)
        zone = timezone(-delta if sign_hh_mm[0] == "-" else delta)
        try:
            local = value.astimezone(zone)
        except OverflowError:
            return None  # an instant at the calendar's very edge has no other local form
        if not 1 <= local.year <= 9999:
            return None
        stamp = f"{local.year:04d}" + local.strftime("-%m-%dT%H:%M:%S")
        return f"{stamp}.{local.microsecond // 1000:03d}{sign_hh_mm}"

    return _rewrite_datetimes(payload, edition, render)


def _fraction(ch: Chooser, payload: dict[str, Any], edition: Edition) -> bool:
    def render(value: datetime, text: str) -> str | None:
        digits = ch.pick((0, 1, 2, 4, 5, 6, 7, 8, 9))
        milli = f"{value.microsecond // 1000:03d}"
        if digits < 3 and milli[digits:].strip("0"):
            # Fewer digits would move the instant; pad with zeros instead.
            digits = ch.between(4, 9)
        fraction = (milli + "000000")[:digits]
        head = text[:19]
        return f"{head}.{fraction}Z" if digits else f"{head}Z"

    return _rewrite_datetimes(payload, edition, render) if _is_utc(payload, edition) else False


def _is_utc(payload: dict[str, Any], edition: Edition) -> bool:
    return all(h[k].endswith("Z") for h, k in _datetime_slots(payload, edition))


def _lowercase(ch: Chooser, payload: dict[str, Any], edition: Edition) -> bool:
    return _rewrite_datetimes(
        payload, edition, lambda _v, text: text.replace("T", "t").replace("Z", "z")
    )


# -- enum values and properties unknown to an edition --------------------------------------------

_ENUM_OF = {
    "state": State,
    "direction": Direction,
    "disconnectType": DisconnectType,
    "flaggedReason": FlaggedReason,
    "voicemail.uploadStatus": UploadStatus,
}


def _known(key: str, edition: Edition) -> set[str]:
    return {m.value for m in known_values(_ENUM_OF[key], edition)}


def _outside_table(value: object, key: str, edition: Edition) -> bool:
    return value is not None and value not in _known(key, edition)


def _later_values(key: str, edition: Edition) -> tuple[str, ...]:
    """A newer edition's values of ``key``, which ``edition`` does not know."""
    older = _known(key, edition)
    return tuple(
        m.value for m in known_values(_ENUM_OF[key], Edition.latest()) if m.value not in older
    )


def _disconnect_allowed(payload: dict[str, Any]) -> bool:
    """Whether any disconnectType keeps the payload valid in every edition: its state is ended, or
    no edition knows it (then no state rule applies)."""
    state = payload.get("state")
    if state in (State.DISCONNECTED.value, State.TERMINATED.value):
        return True
    return (
        state is None
        or state == State.OUTDATED_SDK_VERSION
        or _outside_table(state, "state", Edition.latest())
    )


def _can_park(payload: dict[str, Any]) -> bool:
    """Whether the state ``parked`` (with a parkTime) keeps the payload valid in the newest
    edition without removing anything: nothing present that a parked participant may not have."""
    return (
        not {"endTime", "startAcwTime", "disconnectType"} & set(payload)
        and payload.get("held") is not True
    )


def unknown_enum_at(
    ch: Chooser, payload: dict[str, Any], edition: Edition, key: str | None = None
) -> bool:
    """Give the enum property ``key`` (by default one drawn) a value that ``edition`` does not
    know: one no edition knows, or a newer edition's value in a form that edition accepts."""
    if key is None:
        choices = ["state", "direction", "flaggedReason", "voicemail.uploadStatus"]
        if _disconnect_allowed(payload):
            choices.append("disconnectType")
        key = ch.pick(choices)
    values = UNKNOWN_ENUM_VALUES[key]
    later = _later_values(key, edition)
    if key == "state" and not _can_park(payload):
        later = ()
    values += later
    value = ch.pick(values)
    if key == "voicemail.uploadStatus":
        payload["voicemail"] = {"id": vocab.entity_id(ch), "uploadStatus": value}
        return True
    if key == "disconnectType" and not _disconnect_allowed(payload):
        # A live state of any edition allows no disconnect type: make the state unknown as well.
        payload["state"] = ch.pick(UNKNOWN_ENUM_VALUES["state"])
    payload[key] = value
    if value == State.PARKED and "parkTime" not in payload:
        _add_later_instant(payload, "parkTime")
    return True


def _unknown_enum(ch: Chooser, payload: dict[str, Any], edition: Edition) -> bool:
    return unknown_enum_at(ch, payload, edition)


def _outdated(ch: Chooser, payload: dict[str, Any], edition: Edition) -> bool:
    choices = ["state", "direction", "flaggedReason"]
    if _disconnect_allowed(payload):
        choices.append("disconnectType")
    # Leave alone a value outside its table: unknown-enum put it there, and it carries that feature.
    choices = [k for k in choices if not _outside_table(payload.get(k), k, edition)]
    payload[ch.pick(choices)] = "OutdatedSdkVersion"
    return True


def _text(payload: dict[str, Any], key: str) -> str | None:
    """The datetime text at wire path ``key``, if it is a valid datetime."""
    head, _, tail = key.partition(".")
    value = payload.get(head)
    if tail:
        value = value.get(tail) if isinstance(value, dict) else None
    if not isinstance(value, str):
        return None
    try:
        parse_datetime(value)
    except DatetimeFormatError:
        return None
    return value


def _add_later_instant(payload: dict[str, Any], key: str) -> bool:
    """Set timestamp ``key`` (a newer edition's) to an instant that every ordering rule of the
    newest edition allows beside the timestamps present (the very text of its nearest bound);
    False when none does."""
    constraints = order(Edition.latest())
    lower = [t for b in constraints if b.later == key and (t := _text(payload, b.earlier))]
    upper = [t for b in constraints if b.earlier == key and (t := _text(payload, b.later))]
    low = max(lower, key=parse_datetime, default=None)
    high = min(upper, key=parse_datetime, default=None)
    if low is not None and high is not None and parse_datetime(low) > parse_datetime(high):
        return False
    payload[key] = low or high or "2026-01-01T09:30:00.250Z"
    return True


def _unknown_property(ch: Chooser, payload: dict[str, Any], edition: Edition) -> bool:
    extras: list[tuple[str, Any]] = [
        ("initialState", "scheduled"),
        ("additionalProperties", {}),
        ("screenRecordingState", "none"),
        ("queueMediaSettings", {"alertingTimeoutSeconds": 8, "enableAutoAnswer": False}),
        ("x-callbacksim-extra", [1, 2.5, None, {"nested": True}]),
        ("selfUri", "/api/v2/conversations/callbacks/participants"),
    ]
    # A newer edition's properties are unknown extras to an older one: sent with values the newer
    # edition accepts, since the target may be built on it.
    later: list[tuple[str, Any]] = [
        ("parkTime", "instant"),
        ("resumeTime", "instant"),
        ("startAlertingTime", "instant"),
        ("startAlertingTime", None),
        ("mediaRoles", ["full", "monitor"]),
        ("externalContactInitialDivisionId", vocab.entity_id(ch)),
    ]
    extras += [(k, v) for k, v in later if k not in participant_fields(edition)]
    for _ in range(ch.between(1, 3)):
        key, value = ch.pick(extras)
        if value == "instant":
            if key not in payload:
                _add_later_instant(payload, key)
        else:
            payload[key] = value
    nested = [
        v for v in payload.values() if isinstance(v, dict) and v is not payload.get("attributes")
    ]
    if nested:
        ch.pick(nested)["additionalProperties"] = {}
    return True


def _explicit_null(ch: Chooser, payload: dict[str, Any], edition: Edition) -> bool:
    absent = [k for k in participant_fields(edition) if k not in payload]
    if not absent:
        return False
    for _ in range(ch.between(1, 4)):
        payload[ch.pick(absent)] = None
    wrapup = payload.get("wrapup")
    if isinstance(wrapup, dict):
        missing = [f.wire for f in fields_of(Wrapup) if f.wire not in wrapup]
        if missing:
            wrapup[ch.pick(missing)] = None
    return True


# -- strings -----------------------------------------------------------------------------------


def _string_slots(payload: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
    slots = [(payload, k) for k in _STRING_PATHS if isinstance(payload.get(k), str)]
    for key in ("user", "queue", "team"):
        ref = payload.get(key)
        if isinstance(ref, dict) and isinstance(ref.get("name"), str):
            slots.append((ref, "name"))
    attributes = payload.get("attributes")
    if isinstance(attributes, dict):
        slots += [(attributes, k) for k in attributes]
    wrapup = payload.get("wrapup")
    if isinstance(wrapup, dict) and isinstance(wrapup.get("notes"), str):
        slots.append((wrapup, "notes"))
    return slots


def _plain(text: str) -> bool:
    """Whether a string carries none of the string features yet (transforming it loses none)."""
    return (
        bool(text)
        and len(text) < 10_000
        and text == text.strip()
        and not _has_unicode(text)
        and not _UNPLAIN.intersection(text)
    )


def _has_unicode(text: str) -> bool:
    return any(u in text for u in _UNICODE)


def _strings(transform: Callable[[Chooser, str], str], most: int = 3) -> Any:
    def feature(ch: Chooser, payload: dict[str, Any], edition: Edition) -> bool:
        # Only plain strings: another string feature's strings keep theirs.
        slots = [(holder, key) for holder, key in _string_slots(payload) if _plain(holder[key])]
        if not slots:
            free = [k for k in ("callbackUserName", *_STRING_PATHS) if k not in payload]
            if not free:
                return False
            payload[free[0]] = transform(ch, "Ann Lee")
            return True
        for _ in range(ch.between(1, most)):
            holder, key = ch.pick(slots)
            holder[key] = transform(ch, holder[key])
        return True

    return feature


def _long(ch: Chooser, text: str) -> str:
    unit = text or "x"
    size = ch.between(10_000, 60_000)
    return (unit * (size // len(unit) + 1))[:size]


def _inserted(values: tuple[str, ...]) -> Callable[[Chooser, str], str]:
    """A transform that puts one of ``values`` into a string: before, inside, after or instead."""

    def transform(ch: Chooser, text: str) -> str:
        value = ch.pick(values)
        where = ch.below(4)
        if where == 0:
            return value + text
        if where == 1:
            middle = len(text) // 2
            return text[:middle] + value + text[middle:]
        return text + value if where == 2 else value

    return transform


# -- collections and keys ----------------------------------------------------------------------

_COLLECTIONS = ("callbackNumbers", "attributes", "wrapup.tags", "mediaRoles", "skills")


def _collection_target(key: str, payload: dict[str, Any], edition: Edition) -> str:
    """Where a collection named ``key`` goes: callbackNumbers where ``key`` cannot be."""
    if key == "mediaRoles" and key not in participant_fields(edition):
        return "callbackNumbers"
    if key == "wrapup.tags" and payload.get("wrapupSkipped") is True:
        return "callbackNumbers"
    return key


def _collection_taken(target: str, payload: dict[str, Any]) -> bool:
    """Whether the collection at ``target`` already carries a collection feature (empty, large or
    unusual attribute keys), which replacing it would lose."""
    if target == "wrapup.tags":
        value = (payload.get("wrapup") or {}).get("tags")
    elif target == "skills":
        value = (payload.get("conversationRoutingData") or {}).get("skills")
    else:
        value = payload.get(target)
    if not isinstance(value, list | dict):
        return False
    odd = isinstance(value, dict) and any(k in _SPECIAL_KEYS for k in value)
    return len(value) == 0 or len(value) >= 200 or odd


def _collections(empty: bool) -> Any:
    def feature(ch: Chooser, payload: dict[str, Any], edition: Edition) -> bool:
        n = 0 if empty else ch.between(200, 600)
        keys = [
            k
            for k in _COLLECTIONS
            if not _collection_taken(_collection_target(k, payload, edition), payload)
        ]
        if not keys:
            return False
        target = _collection_target(ch.pick(keys), payload, edition)
        if target == "callbackNumbers":
            payload["callbackNumbers"] = [vocab.e164_number(ch) for _ in range(n)]
        elif target == "attributes":
            payload["attributes"] = {f"key{i}": ch.pick(vocab.ATTRIBUTE_VALUES) for i in range(n)}
        elif target == "mediaRoles":
            payload["mediaRoles"] = [ch.pick(vocab.MEDIA_ROLES) for _ in range(n)]
        elif target == "skills":
            routing = payload.setdefault("conversationRoutingData", {})
            routing["skills"] = [{"id": vocab.entity_id(ch)} for _ in range(n)]
        else:
            payload.setdefault("wrapup", {"code": vocab.entity_id(ch)})["tags"] = [
                ch.pick(vocab.TAGS) for _ in range(n)
            ]
        return True

    return feature


def _attributes(payload: dict[str, Any]) -> dict[str, Any]:
    attributes = payload.get("attributes")
    if not isinstance(attributes, dict):
        attributes = payload["attributes"] = {}
    return attributes


def _odd_keys(ch: Chooser, payload: dict[str, Any], edition: Edition) -> bool:
    attributes = _attributes(payload)
    for _ in range(ch.between(1, 4)):
        attributes[ch.pick(_ODD_KEYS)] = ch.pick(vocab.ATTRIBUTE_VALUES)
    return True


def _keys(kind: str) -> Any:
    groups = KEY_KINDS[kind]

    def feature(ch: Chooser, payload: dict[str, Any], edition: Edition) -> bool:
        attributes = _attributes(payload)
        for _ in range(ch.between(1, 2)):
            for key in ch.pick(groups):
                attributes[key] = ch.pick(vocab.ATTRIBUTE_VALUES)
        return True

    return feature


# -- numbers and size --------------------------------------------------------------------------


def _number_limits(ch: Chooser, payload: dict[str, Any], edition: Edition) -> bool:
    slots = ["wrapupTimeoutMs", "alertingTimeoutMs", "timeoutSeconds", "priority"]
    if isinstance(payload.get("wrapup"), dict):
        slots.append("durationSeconds")
    first = ch.below(len(slots))
    # The first integer a double cannot hold and the largest 64-bit one always go in; the other
    # slots get limits drawn from the list.
    values = [2**53 + 1, 2**63 - 1] + [ch.pick(_INT_LIMITS) for _ in range(ch.below(3))]
    for i, value in enumerate(values):
        slot = slots[(first + i) % len(slots)]
        if slot == "priority":
            holder = payload.setdefault("conversationRoutingData", {})
        elif slot == "durationSeconds":
            holder = payload["wrapup"]
        else:
            holder = payload
        holder[slot] = value
    # Doubles at their limits go in a property the model does not define: no integer property
    # may hold them, and an extra property may be dropped, but must not make the write fail.
    payload["x-callbacksim-numbers"] = [ch.pick(_FLOAT_LIMITS) for _ in range(ch.between(1, 4))]
    return True


def _near_size_limit(ch: Chooser, payload: dict[str, Any], edition: Edition) -> bool:
    key = ch.pick(("padding", "notes", "transcript"))
    attributes = _attributes(payload)
    attributes[key] = ""
    size = len(dumps_payload(payload))
    wanted = ch.between(_PAST_ITEM_LIMIT, NEAR_SIZE_LIMIT)
    if size >= wanted:
        return False
    attributes[key] = ch.pick("abcxyz") * (wanted - size)
    return True


Feature = Callable[[Chooser, dict[str, Any], Edition], bool]

# Features that change how the participant is built rather than editing it afterwards.
_BUILD_FEATURES = ("tied-timestamps", "extreme-year")

FEATURES: dict[str, Feature | None] = {
    "unknown-enum": _unknown_enum,
    "outdated-sdk-version": _outdated,
    "unknown-property": _unknown_property,
    "explicit-null": _explicit_null,
    "datetime-offset": _offset,
    "fraction-digits": _fraction,
    "lowercase-t-z": _lowercase,
    "tied-timestamps": None,
    "extreme-year": None,
    "empty-string": _strings(lambda _ch, _s: ""),
    "long-string": _strings(_long, most=1),
    "unicode": _strings(
        lambda ch, s: ch.pick(_UNICODE) + s if ch.chance(0.5) else ch.pick(_UNICODE)
    ),
    "padded-string": _strings(lambda ch, s: ch.pick((" ", "  ", "\t")) + s + ch.pick((" ", "   "))),
    "empty-collection": _collections(empty=True),
    "large-collection": _collections(empty=False),
    "odd-attribute-keys": _odd_keys,
    **{kind: _keys(kind) for kind in KEY_KINDS},
    "nul-values": _strings(_inserted(_NUL_VALUES)),
    "control-values": _strings(_inserted(_CONTROL_VALUES)),
    "noncharacters": _strings(_inserted(_NONCHARACTERS)),
    "number-limits": _number_limits,
    "near-size-limit": _near_size_limit,
}
"""Every feature, by name; ``None`` marks those applied while building."""

ON_REQUEST = ("near-size-limit",)
"""Features applied only when asked for by name, never drawn by default: bodies of up to 1 MB
would swell fixture files and slow every test that draws unusual payloads."""

# Nulls go last, into whatever every other feature left absent.
_ORDER = (*(name for name in FEATURES if name != "explicit-null"), "explicit-null")

# The order features are applied in, so that none undoes another: attribute keys before the
# collection features (a new map would drop them; they leave such a map alone), collections before
# the string features (a new collection would drop transformed strings), the size last but for
# nulls (it measures what the others made), nulls last of all.
_APPLY = (
    "unknown-enum",
    "outdated-sdk-version",
    "unknown-property",
    "datetime-offset",
    "fraction-digits",
    "lowercase-t-z",
    "number-limits",
    "odd-attribute-keys",
    *KEY_KINDS,
    "large-collection",
    "empty-collection",
    "empty-string",
    "long-string",
    "unicode",
    "padded-string",
    "nul-values",
    "control-values",
    "noncharacters",
    "near-size-limit",
    "explicit-null",
)
assert set(_APPLY) | set(_BUILD_FEATURES) == set(FEATURES), "every feature has its place"


def build_unusual(
    ch: Chooser,
    *,
    edition: Edition = Edition.SEED,
    features: tuple[str, ...] | None = None,
    anchor_ms: int | None = None,
    unknown_enum: str | None = None,
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """A valid payload with unusual features, and the names of the features it has.

    ``features`` asks for particular ones (each is applied where the payload allows it); by
    default one to three are drawn (but none of `ON_REQUEST`). ``unknown_enum`` names the enum
    property (``state``, ``voicemail.uploadStatus``...) that the ``unknown-enum`` feature
    changes; by default one is drawn. The payload is valid in ``edition`` and every later one
    (`UnusualBug` otherwise).
    """
    if features is None:
        names = [name for name in FEATURES if name not in ON_REQUEST]
        wanted = {ch.pick(names) for _ in range(ch.between(1, 3))}
    else:
        unknown = set(features) - set(FEATURES)
        if unknown:
            msg = f"unknown unusual feature(s) {sorted(unknown)}; choose from {', '.join(FEATURES)}"
            raise ValueError(msg)
        wanted = set(features)
    if unknown_enum is not None and unknown_enum not in enum_paths(edition):
        msg = f"unknown_enum={unknown_enum!r}: choose one of {', '.join(enum_paths(edition))}"
        raise ValueError(msg)
    if "datetime-offset" in wanted:
        wanted -= {"fraction-digits"}  # both rewrite the same strings; keep the one asked first
    applied: list[str] = []
    shape = Shape(edition=edition, anchor_ms=anchor_ms)
    base_ms = None
    if "extreme-year" in wanted:
        base_ms = (_YEAR_1_MS if ch.chance(0.5) else _YEAR_9999_MS) + ch.below(86_400_000)
        applied.append("extreme-year")
    if "tied-timestamps" in wanted:
        state = ch.pick([s.value for s in known_values(State, edition)])
        need, ban = state_bounds(state, edition)
        # Two timestamps at least, or there is no tie: every state allows these two.
        need |= {"startTime", "callbackScheduledTime"}
        ordering = walk(
            edition, lambda _k: ch.chance(0.7), lambda _k, _n: 0, require=need, forbid=ban
        )
        shape = Shape(edition=edition, state=state, ordering=ordering, anchor_ms=anchor_ms)
        applied.append("tied-timestamps")
    payload = copy_payload(build_participant(ch, shape, base_ms=base_ms))
    if base_ms is not None and not _datetime_slots(payload, edition):
        # No timestamp drawn: callbackScheduledTime, free of every ordering rule, carries the year.
        payload["callbackScheduledTime"] = format_epoch_ms(base_ms)
    for name in _APPLY:
        feature = FEATURES[name]
        if name not in wanted or feature is None:
            continue
        if name == "unknown-enum" and unknown_enum is not None:
            done = unknown_enum_at(ch, payload, edition, unknown_enum)
        else:
            done = feature(ch, payload, edition)
        if done:
            applied.append(name)
    for later in Edition:
        if later.includes(edition):
            broken = check(payload, edition=later)
            if broken:
                msg = (
                    f"unusual payload with {sorted(applied)} breaks {[v.rule for v in broken]} "
                    f"in the {later.value} edition: {payload!r}"
                )
                raise UnusualBug(msg)
    return payload, tuple(sorted(applied, key=_ORDER.index))
