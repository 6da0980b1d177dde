"""The one converter between participants and their JSON wire form.

The wire format (what `encode`/`dumps` write and `decode`/`loads` read):

- A participant is a JSON object whose property names are the model's camelCase names
  (``startTime``, ``callbackNumbers``, ``conversationRoutingData.scoredAgents``).
- Every property is optional. Absent properties are omitted when writing; when reading, an absent
  property and an explicit ``null`` are the same.
- Datetimes are written as UTC with milliseconds and ``Z`` and read in any RFC 3339 form with a zone
  (see `callbacksim.wiretime` for exactly what is accepted and refused).
- Enum values are the wire values of the model's tables (``transfer.noanswer``,
  ``OutdatedSdkVersion``); a string outside the table is kept verbatim in both directions.
- Integers are JSON integers: ``2.0`` and ``2e3`` are not integers.
- Properties that the chosen edition does not define are unknown extras. They are valid and are not
  kept by `decode` (the `seed` edition therefore drops ``parkTime``; decode with ``sdk-269`` to
  keep it). Everything the edition defines is kept, so ``decode(encode(p)) == p`` for participants
  of that edition.

`decode` checks the structural rules first and raises one `DecodeError` that lists every problem
(rule id, JSON path, message); it does not judge the ordering or state rules, which is
`callbacksim.rules.check`'s job: an out-of-order participant is still a participant.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import datetime
from enum import Enum
from functools import cache
from typing import Any

import cattrs
import orjson
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from callbacksim.errors import DecodeError, JsonError
from callbacksim.model import CallbackMediaParticipant, Edition
from callbacksim.rules import RuleSet, check
from callbacksim.schema import Kind, fields_of, participant_fields
from callbacksim.wiretime import format_datetime, parse_datetime

__all__ = [
    "converter",
    "decode",
    "dumps",
    "dumps_payload",
    "encode",
    "loads",
    "loads_participant",
]


def _enum_value(value: object) -> object:
    return value.value if isinstance(value, Enum) else value


def _keep(value: Any, _type: Any) -> Any:
    return value


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(omit_if_default=True)
    conv.register_unstructure_hook(datetime, format_datetime)
    conv.register_structure_hook(datetime, lambda value, _t: parse_datetime(value))
    seen: set[type[Any]] = set()

    def register(cls: type[Any]) -> None:
        if cls in seen:
            return
        seen.add(cls)
        unstructure: dict[str, Any] = {}
        structure: dict[str, Any] = {}
        for spec in fields_of(cls):
            if spec.nested is not None:
                register(spec.nested)
            if spec.kind is Kind.ENUM:
                # The field's own converter maps known strings to members; unknown ones stay.
                unstructure[spec.attr] = override(rename=spec.wire, unstruct_hook=_enum_value)
                structure[spec.attr] = override(rename=spec.wire, struct_hook=_keep)
            elif spec.kind in (Kind.STRING_LIST, Kind.STRING_MAP):
                unstructure[spec.attr] = override(
                    rename=spec.wire, unstruct_hook=list if spec.kind is Kind.STRING_LIST else dict
                )
                structure[spec.attr] = override(rename=spec.wire, struct_hook=_keep)
            else:
                unstructure[spec.attr] = override(rename=spec.wire)
                structure[spec.attr] = override(rename=spec.wire)
        conv.register_unstructure_hook(
            cls, make_dict_unstructure_fn(cls, conv, _cattrs_omit_if_default=True, **unstructure)
        )
        conv.register_structure_hook(cls, make_dict_structure_fn(cls, conv, **structure))

    register(CallbackMediaParticipant)
    return conv


converter: cattrs.Converter = _make_converter()
"""The cattrs converter that owns the wire names and formats of every model class."""


def encode(participant: CallbackMediaParticipant) -> dict[str, Any]:
    """The wire form of a participant as a dict of JSON values (absent properties omitted)."""
    result: dict[str, Any] = converter.unstructure(participant)
    return result


def dumps(participant: CallbackMediaParticipant) -> bytes:
    """The wire form of a participant as compact UTF-8 JSON."""
    # Through dumps_payload: a participant read by `loads` may hold big integers or lone surrogates.
    return dumps_payload(converter.unstructure(participant))


@cache
def _edition_keys(edition: Edition) -> frozenset[str]:
    return frozenset(participant_fields(edition))


def decode(payload: object, *, edition: Edition = Edition.SEED) -> CallbackMediaParticipant:
    """A participant from a raw JSON value, or `DecodeError` listing every structural problem."""
    violations = check(payload, edition=edition, rules=RuleSet.STRUCTURAL)
    if violations:
        raise DecodeError(violations)
    assert isinstance(payload, Mapping)
    keys = _edition_keys(edition)
    known = {k: v for k, v in payload.items() if k in keys and v is not None}
    participant: CallbackMediaParticipant = converter.structure(known, CallbackMediaParticipant)
    return participant


def _reject_constant(name: str) -> Any:
    msg = f"{name} is not JSON"
    raise ValueError(msg)


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        msg = f"the number {text} is too large for a double"
        raise ValueError(msg)
    return value


# orjson reads an integer outside the 64-bit range as a float, silently: a run of 19 or more digits
# (which any such integer has) sends the document to the standard library instead. In bytes the run
# is found by mapping every digit to 0 and looking for 19 zeros, both in C: several times faster
# than a regular expression, which tries a match at every digit.
_LONG_DIGITS = re.compile(r"[0-9]{19}")
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
_NINETEEN_ZEROS = b"0" * 19


def loads(data: bytes | str) -> Any:
    """One JSON document, parsed; `JsonError` saying where and why if it is not JSON.

    Integers beyond 64 bits and lone surrogate escapes (``"\\ud800"``), which the fast parser
    reads as floats or refuses, are read by the standard library instead, so that such payloads can
    still be judged by the rules rather than refused as unreadable. Numbers too large for a double
    (``1e400``) are refused like ``Infinity``.
    """
    if isinstance(data, str):
        long_integer = _LONG_DIGITS.search(data) is not None
    else:
        long_integer = _NINETEEN_ZEROS in data.translate(_DIGITS_TO_ZERO)
    fast_error: Exception | None = None
    if not long_integer:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            fast_error = exc
    try:
        return json.loads(data, parse_constant=_reject_constant, parse_float=_finite_float)
    except (ValueError, UnicodeDecodeError) as slow_error:
        msg = f"not a JSON document: {fast_error or slow_error}"
        raise JsonError(msg) from None


def loads_participant(
    data: bytes | str, *, edition: Edition = Edition.SEED
) -> CallbackMediaParticipant:
    """`decode` of `loads`."""
    return decode(loads(data), edition=edition)


def dumps_payload(payload: object) -> bytes:
    """Raw JSON bytes for any payload, including ones the fast encoder refuses.

    Wire payloads built on purpose to be unusual or invalid may hold lone surrogates or integers
    beyond 64 bits; those are written by the standard library (with ``\\u`` escapes) instead.
    """
    try:
        return orjson.dumps(payload)
    except (TypeError, orjson.JSONEncodeError):
        return json.dumps(
            payload, ensure_ascii=True, separators=(",", ":"), allow_nan=False
        ).encode()
