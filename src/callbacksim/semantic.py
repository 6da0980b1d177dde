"""Semantic equality of two participant payloads, as the store contract defines it for read-backs.

Two payloads are equal when they have the same present properties (absent and ``null`` are the
same), equal strings, numbers and booleans, lists in the same order, equal maps and nested objects,
and datetimes equal as instants at millisecond precision (digits below the millisecond may be
dropped). Unknown enum strings must come back verbatim. Properties the edition does not define may
be dropped, so they are not compared.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from callbacksim.model import Edition
from callbacksim.schema import FieldSpec, Kind, fields_of, participant_fields
from callbacksim.wiretime import DatetimeFormatError, epoch_ms, parse_datetime

__all__ = ["differences"]


def differences(sent: Any, got: Any, *, edition: Edition = Edition.SEED) -> list[str]:
    """Where ``got`` differs from ``sent`` (each a JSON path and what differs); [] if equal."""
    if not isinstance(sent, dict) or not isinstance(got, dict):
        return [f"$: expected a participant object, got {type(got).__name__}"]
    out: list[str] = []
    _object(tuple(participant_fields(edition).values()), sent, got, "$", out)
    return out


def _present(obj: dict[str, Any], key: str) -> bool:
    return obj.get(key) is not None


def _object(
    specs: tuple[FieldSpec, ...],
    sent: dict[str, Any],
    got: dict[str, Any],
    path: str,
    out: list[str],
) -> None:
    for spec in specs:
        here = f"{path}.{spec.wire}"
        a, b = sent.get(spec.wire), got.get(spec.wire)
        if a is None and b is None:
            continue
        if a is None:
            out.append(f"{here}: was absent, came back as {_short(b)}")
        elif b is None:
            out.append(f"{here}: was {_short(a)}, came back absent")
        else:
            _value(spec, a, b, here, out)


def _value(spec: FieldSpec, a: Any, b: Any, path: str, out: list[str]) -> None:
    if spec.kind is Kind.DATETIME:
        if _instant_ms(a) is None or _instant_ms(a) != _instant_ms(b):
            out.append(f"{path}: was {_short(a)}, came back {_short(b)} (a different instant)")
    elif spec.kind is Kind.OBJECT and spec.nested is not None:
        if not isinstance(b, dict):
            out.append(f"{path}: was an object, came back {_short(b)}")
        else:
            _object(fields_of(spec.nested), a, b, path, out)
    elif spec.kind is Kind.OBJECT_LIST and spec.nested is not None:
        if not isinstance(b, list) or len(a) != len(b):
            out.append(f"{path}: was a list of {len(a)}, came back {_short(b)}")
        else:
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                if isinstance(x, dict) and isinstance(y, dict):
                    _object(fields_of(spec.nested), x, y, f"{path}[{i}]", out)
                elif x != y:
                    out.append(f"{path}[{i}]: was {_short(x)}, came back {_short(y)}")
    elif type(a) is not type(b) or a != b:
        out.append(f"{path}: was {_short(a)}, came back {_short(b)}")


def _instant_ms(value: Any) -> int | None:
    if isinstance(value, datetime):
        return epoch_ms(value)
    if not isinstance(value, str):
        return None
    try:
        return epoch_ms(parse_datetime(value))
    except (DatetimeFormatError, OverflowError):
        return None


def _short(value: Any) -> str:
    """``value`` as JSON (``null``, ``"text"``, ``[1, 2]``), cut to 80 characters."""
    try:
        text = orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    except (TypeError, orjson.JSONEncodeError):
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
