"""The wire shape of every model class, derived once from the attrs annotations in `model`.

Each property has a wire name (the camelCase form of its attribute name), a kind (string, boolean,
integer, datetime, enum, list of strings, map of string to string, nested object, list of nested
objects) and the edition that introduced it. The codec, the rules and the strategies all read this
table, so a property added to the model is picked up everywhere at once.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from datetime import datetime
from enum import Enum, StrEnum
from functools import cache
from typing import Any

import attrs

from callbacksim.model import SINCE, CallbackMediaParticipant, Edition

__all__ = [
    "FieldSpec",
    "Kind",
    "camel",
    "enum_paths",
    "fields_of",
    "json_schema",
    "participant_fields",
    "value_at",
]


class Kind(Enum):
    STRING = "string"
    BOOLEAN = "boolean"
    INTEGER = "integer"
    DATETIME = "datetime"
    ENUM = "enum"
    STRING_LIST = "list of strings"
    STRING_MAP = "map of string to string"
    OBJECT = "object"
    OBJECT_LIST = "list of objects"


@attrs.frozen
class FieldSpec:
    """One property of one model class, as it appears on the wire."""

    attr: str
    wire: str
    kind: Kind
    enum: type[StrEnum] | None = None
    nested: type[Any] | None = None
    since: Edition | None = None

    def describe(self) -> str:
        """The expected JSON type, in words, for error messages."""
        if self.kind is Kind.OBJECT and self.nested is not None:
            return f"a JSON object ({self.nested.__name__})"
        if self.kind is Kind.OBJECT_LIST and self.nested is not None:
            return f"a JSON array of {self.nested.__name__} objects"
        return {
            Kind.STRING: "a string",
            Kind.BOOLEAN: "a boolean (true or false)",
            Kind.INTEGER: "a JSON integer (no fraction, no exponent)",
            Kind.DATETIME: "an RFC 3339 date-time string such as 2026-11-24T03:38:49.123Z",
            Kind.ENUM: "a string (an enum value)",
            Kind.STRING_LIST: "a JSON array of strings",
            Kind.STRING_MAP: "a JSON object whose values are strings",
        }[self.kind]


def camel(name: str) -> str:
    """``start_acw_time`` -> ``startAcwTime``."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _strip_none(tp: Any) -> list[Any]:
    return [a for a in typing.get_args(tp) if a is not type(None)] or [tp]


def _spec(cls: type[Any], field: attrs.Attribute[Any], tp: Any) -> FieldSpec:
    options = _strip_none(tp)
    since = field.metadata.get(SINCE)
    wire = camel(field.name)
    enums = [o for o in options if isinstance(o, type) and issubclass(o, StrEnum)]
    if enums:
        return FieldSpec(field.name, wire, Kind.ENUM, enum=enums[0], since=since)
    (only,) = options
    origin = typing.get_origin(only)
    if only is str:
        kind = Kind.STRING
    elif only is bool:
        kind = Kind.BOOLEAN
    elif only is int:
        kind = Kind.INTEGER
    elif only is datetime:
        kind = Kind.DATETIME
    elif origin is tuple:
        item = typing.get_args(only)[0]
        if item is str:
            kind = Kind.STRING_LIST
        else:
            return FieldSpec(field.name, wire, Kind.OBJECT_LIST, nested=item, since=since)
    elif origin in (Mapping, dict):
        kind = Kind.STRING_MAP
    elif attrs.has(only):
        return FieldSpec(field.name, wire, Kind.OBJECT, nested=only, since=since)
    else:  # pragma: no cover - a new annotation shape in model.py must be taught here
        msg = f"{cls.__name__}.{field.name}: no wire kind for the annotation {only!r}"
        raise TypeError(msg)
    return FieldSpec(field.name, wire, kind, since=since)


_FIELDS: dict[type[Any], tuple[FieldSpec, ...]] = {}


def fields_of(cls: type[Any]) -> tuple[FieldSpec, ...]:
    """Every property of a model class, in declaration order."""
    specs = _FIELDS.get(cls)
    if specs is None:
        hints = typing.get_type_hints(cls)
        specs = _FIELDS[cls] = tuple(_spec(cls, f, hints[f.name]) for f in attrs.fields(cls))
    return specs


@cache
def participant_fields(edition: Edition) -> Mapping[str, FieldSpec]:
    """The participant's properties that ``edition`` defines, by wire name."""
    return types.MappingProxyType(
        {f.wire: f for f in fields_of(CallbackMediaParticipant) if edition.includes(f.since)}
    )


@cache
def enum_paths(edition: Edition) -> Mapping[str, type[StrEnum]]:
    """Every enum-valued property of the participant, by wire path (``state``,
    ``voicemail.uploadStatus``), with its enum."""
    out: dict[str, type[StrEnum]] = {}
    for spec in participant_fields(edition).values():
        if spec.kind is Kind.ENUM and spec.enum is not None:
            out[spec.wire] = spec.enum
        elif spec.kind is Kind.OBJECT and spec.nested is not None:
            for inner in fields_of(spec.nested):
                if inner.kind is Kind.ENUM and inner.enum is not None:
                    out[f"{spec.wire}.{inner.wire}"] = inner.enum
    return types.MappingProxyType(out)


def value_at(payload: Mapping[str, Any], path: str) -> Any:
    """The value at a wire path of a raw payload (``state``, ``wrapup.endTime``), or None."""
    head, _, tail = path.partition(".")
    value = payload.get(head)
    if tail:
        return value.get(tail) if isinstance(value, Mapping) else None
    return value


_JSON_TYPES: dict[Kind, str] = {
    Kind.STRING: "string",
    Kind.ENUM: "string",
    Kind.BOOLEAN: "boolean",
    Kind.INTEGER: "integer",
    Kind.DATETIME: "string",
    Kind.STRING_LIST: "array",
    Kind.STRING_MAP: "object",
    Kind.OBJECT: "object",
    Kind.OBJECT_LIST: "array",
}


def _json_property(spec: FieldSpec) -> dict[str, Any]:
    out: dict[str, Any] = {"type": [_JSON_TYPES[spec.kind], "null"]}
    if spec.kind is Kind.DATETIME:
        out["format"] = "date-time"
    elif spec.kind is Kind.STRING_LIST:
        out["items"] = {"type": "string"}
    elif spec.kind is Kind.STRING_MAP:
        out["additionalProperties"] = {"type": "string"}
    elif spec.nested is not None:
        nested = _json_object(spec.nested)
        if spec.kind is Kind.OBJECT:
            out.update(nested)
            out["type"] = ["object", "null"]
        else:
            out["items"] = nested
    return out


def _json_object(cls: type[Any]) -> dict[str, Any]:
    return {"type": "object", "properties": {f.wire: _json_property(f) for f in fields_of(cls)}}


def json_schema(edition: Edition) -> dict[str, Any]:
    """The participant of ``edition`` as a JSON Schema (draft 4): the types and formats of the
    structural rules, nothing of the ordering, state or value rules.

    Every property may be absent or null, and properties the edition does not define are
    allowed. Draft 4 is chosen because there, as in the wire format, ``2.0`` is not an integer.
    Datetimes carry ``"format": "date-time"``; validators' own date-time formats are laxer than
    the wire format (many accept ``:60`` seconds, year 0000, or an offset without its colon), so
    give the validator `callbacksim.wiretime.parse_datetime` as that format for the same verdicts.
    ``id.matches-path`` needs the request path and is not in the schema.
    """
    schema = _json_object(CallbackMediaParticipant)
    schema["properties"] = {
        w: p for w, p in schema["properties"].items() if w in participant_fields(edition)
    }
    return {"$schema": "http://json-schema.org/draft-04/schema#", **schema}
