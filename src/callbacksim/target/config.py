"""The options of the reference target, validated on construction."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TypeVar

import attrs

from callbacksim.errors import UsageError
from callbacksim.model import Edition
from callbacksim.rules import RuleSet

DEFAULT_MAX_BODY = 1024 * 1024
"""The default body size limit in bytes (1 MiB); bodies of at most this many bytes are read."""

MAX_SEQUENCE = 2**63 - 1
"""The largest ``X-Sequence`` accepted (SQLite's integer range)."""

SEQUENCE_HEADER = "X-Sequence"


# --------------------------------------------------------------------------------------------
# Configuration


_E = TypeVar("_E", bound=StrEnum)


def member(enum: type[_E], what: str, value: _E | str) -> _E:
    """``value`` as a member of ``enum``; `UsageError` naming the choices otherwise."""
    try:
        return enum(value)
    except ValueError:
        choices = ", ".join(m.value for m in enum)
        msg = f"unknown {what} {value!r}; choose one of {choices}"
        raise UsageError(msg) from None


def _rule_set(value: RuleSet | str) -> RuleSet:
    return member(RuleSet, "rule set", value)


def _edition(value: Edition | str) -> Edition:
    return member(Edition, "edition", value)


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


def _check_read_timeout(
    _instance: object, _attribute: attrs.Attribute[float], value: float
) -> None:
    if not value > 0 or value == float("inf"):
        msg = f"read_timeout {value} must be a positive number of seconds (the default is 30)"
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
    read_timeout: float = attrs.field(default=30.0, validator=_check_read_timeout)
    """Seconds a client may take to send a request's body; a slower one answers 408."""
