"""The exceptions callbacksim raises. Each message names the bad value and how to fix it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from callbacksim.rules import Violation

__all__ = ["CallbacksimError", "DecodeError", "JsonError", "UsageError"]


class CallbacksimError(Exception):
    """The root of every error callbacksim raises on purpose."""


class UsageError(CallbacksimError):
    """Bad arguments or input from the user; the CLI prints the message and exits with status 2."""


class JsonError(CallbacksimError, ValueError):
    """Bytes that are not one JSON document."""


class DecodeError(CallbacksimError, ValueError):
    """A payload that cannot become a participant; it carries every problem found at once."""

    def __init__(self, violations: Sequence[Violation]) -> None:
        self.violations = tuple(violations)
        lines = [f"{len(self.violations)} problem(s) in the participant payload:"]
        lines += [f"  {v.rule} at {v.path}: {v.message}" for v in self.violations]
        super().__init__("\n".join(lines))
