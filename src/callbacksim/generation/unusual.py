"""Valid but unusual wire payloads: what a correct service must accept, and many do not.

`build_unusual` takes a valid participant and gives it one or more named features, each of which
keeps it valid (the rules are the judge, and the tests check every feature against them):

==========================  ===================================================================
feature                     what it does
==========================  ===================================================================
unknown-enum                an enum property holds a string outside its table (kept verbatim)
outdated-sdk-version        an enum property holds the sentinel ``OutdatedSdkVersion``
unknown-property            properties the model does not define, at the top and nested
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
==========================  ===================================================================
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

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
    Wrapup,
    known_values,
)
from callbacksim.orderings import walk
from callbacksim.rules import timestamps
from callbacksim.schema import fields_of, participant_fields
from callbacksim.wiretime import epoch_ms, format_epoch_ms, parse_datetime

__all__ = ["FEATURES", "build_unusual"]

_YEAR_1_MS = epoch_ms(datetime(1, 1, 1, tzinfo=UTC))
_YEAR_9999_MS = epoch_ms(datetime(9999, 12, 20, tzinfo=UTC))

UNKNOWN_ENUM_VALUES: dict[str, tuple[str, ...]] = {
    # Values Genesys uses in neighbouring models or may add, and spellings that differ in case.
    "state": ("scheduled", "Parked", "CONNECTED", "queued", "wrapup"),
    "direction": ("INBOUND", "internal", "both"),
    "disconnectType": ("timeout", "uncallable", "endpoint.dnd", "transfer.dnd", "Client"),
    "flaggedReason": ("spam", "abuse", "GENERAL"),
}
_LATER_VALUES: dict[str, tuple[str, ...]] = {
    # Values of a later edition's table, unknown (and so unusual but valid) in an earlier edition.
    "state": ("parked",),
    "disconnectType": ("inactivity", "session.expired", "takeover"),
}
_UPLOAD_UNKNOWN = ("uploading", "deleted", "Complete")

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


def _unknown_enum(ch: Chooser, payload: dict[str, Any], edition: Edition) -> bool:
    choices = ["state", "direction", "flaggedReason", "voicemail"]
    if _disconnect_allowed(payload, edition):
        choices.append("disconnectType")
    key = ch.pick(choices)
    if key == "voicemail":
        payload["voicemail"] = {"id": vocab.entity_id(ch), "uploadStatus": ch.pick(_UPLOAD_UNKNOWN)}
        return True
    values: tuple[str, ...] = UNKNOWN_ENUM_VALUES[key]
    # A later edition's values are unknown to an earlier one.
    values += tuple(v for v in _LATER_VALUES.get(key, ()) if _outside_table(v, key, edition))
    payload[key] = ch.pick(values)
    return True


def _disconnect_allowed(payload: dict[str, Any], edition: Edition) -> bool:
    state = payload.get("state")
    known = {s.value for s in known_values(State, edition)} - {State.OUTDATED_SDK_VERSION.value}
    return state not in known or state in ("disconnected", "terminated")


def _outdated(ch: Chooser, payload: dict[str, Any], edition: Edition) -> bool:
    choices = ["state", "direction", "flaggedReason"]
    if _disconnect_allowed(payload, edition):
        choices.append("disconnectType")
    # Leave alone a value outside its table: unknown-enum put it there, and it carries that feature.
    choices = [k for k in choices if not _outside_table(payload.get(k), k, edition)]
    payload[ch.pick(choices)] = "OutdatedSdkVersion"
    return True


_ENUM_OF = {
    "state": State,
    "direction": Direction,
    "disconnectType": DisconnectType,
    "flaggedReason": FlaggedReason,
}


def _outside_table(value: object, key: str, edition: Edition) -> bool:
    known = {m.value for m in known_values(_ENUM_OF[key], edition)}
    return value is not None and value not in known


def _unknown_property(ch: Chooser, payload: dict[str, Any], edition: Edition) -> bool:
    extras: list[tuple[str, Any]] = [
        ("initialState", "scheduled"),
        ("additionalProperties", {}),
        ("screenRecordingState", "none"),
        ("queueMediaSettings", {"alertingTimeoutSeconds": 8, "enableAutoAnswer": False}),
        ("x-callbacksim-extra", [1, 2.5, None, {"nested": True}]),
        ("selfUri", "/api/v2/conversations/callbacks/participants"),
    ]
    # A later edition's properties are unknown extras to an earlier one, with any value.
    later = [("parkTime", "not even a date"), ("mediaRoles", 7), ("startAlertingTime", None)]
    extras += [(k, v) for k, v in later if k not in participant_fields(edition)]
    for _ in range(ch.between(1, 3)):
        key, value = ch.pick(extras)
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
    return bool(text) and len(text) < 10_000 and text == text.strip() and not _has_unicode(text)


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
    odd attribute keys), which replacing it would lose."""
    if target == "wrapup.tags":
        value = (payload.get("wrapup") or {}).get("tags")
    elif target == "skills":
        value = (payload.get("conversationRoutingData") or {}).get("skills")
    else:
        value = payload.get(target)
    if not isinstance(value, list | dict):
        return False
    odd = isinstance(value, dict) and any(k in _ODD_KEYS for k in value)
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


def _odd_keys(ch: Chooser, payload: dict[str, Any], edition: Edition) -> bool:
    attributes = payload.setdefault("attributes", {})
    for _ in range(ch.between(1, 4)):
        attributes[ch.pick(_ODD_KEYS)] = ch.pick(vocab.ATTRIBUTE_VALUES)
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
}
"""Every feature, by name; ``None`` marks those applied while building."""

# Nulls go last, into whatever every other feature left absent.
_ORDER = (*(name for name in FEATURES if name != "explicit-null"), "explicit-null")

# The order features are applied in, so that none undoes another: odd attribute keys before the
# collection features (a new map would drop them; they leave such a map alone), collections before
# the string features (a new collection would drop transformed strings), nulls last.
_APPLY = (
    "unknown-enum",
    "outdated-sdk-version",
    "unknown-property",
    "datetime-offset",
    "fraction-digits",
    "lowercase-t-z",
    "odd-attribute-keys",
    "large-collection",
    "empty-collection",
    "empty-string",
    "long-string",
    "unicode",
    "padded-string",
    "explicit-null",
)


def build_unusual(
    ch: Chooser,
    *,
    edition: Edition = Edition.SEED,
    features: tuple[str, ...] | None = None,
    anchor_ms: int | None = None,
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """A valid payload with unusual features, and the names of the features it has.

    ``features`` asks for particular ones (each is applied where the payload allows it); by
    default one to three are drawn.
    """
    if features is None:
        names = list(FEATURES)
        wanted = {ch.pick(names) for _ in range(ch.between(1, 3))}
    else:
        unknown = set(features) - set(FEATURES)
        if unknown:
            msg = f"unknown unusual feature(s) {sorted(unknown)}; choose from {', '.join(FEATURES)}"
            raise ValueError(msg)
        wanted = set(features)
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
        if name in wanted and feature is not None and feature(ch, payload, edition):
            applied.append(name)
    return payload, tuple(sorted(applied, key=_ORDER.index))
