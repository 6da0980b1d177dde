"""The property registry: every property of the store contract, declared once.

Each `Property` says what it checks, its share of the time budget and whether judging it needs the
target read back. The CLI, the reports and the pytest plugin read this module, which loads no
Hypothesis; `callbacksim.simulator.checks` attaches the implementation of each id (and refuses to
import if one is missing). The verdict types (`Outcome`, `Failure`, `Status`) live here too, so
reports can be written without the checks loaded.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import attrs

from callbacksim.simulator.client import Request

__all__ = ["PROPERTIES", "Failure", "Outcome", "Property", "Status", "property_ids"]


@attrs.frozen
class Property:
    """One property of the participant-store contract."""

    id: str
    description: str
    weight: float
    """Share of the time budget, relative to the others (unused time passes on)."""
    read_back: bool
    """Judging it reads the target back: skipped (and said so) with an adapter that cannot."""


PROPERTIES: dict[str, Property] = {
    p.id: p
    for p in (
        Property(
            "not-found",
            "GET of a never-written participant or conversation gets 404",
            weight=0.5,
            read_back=True,
        ),
        Property("accepts-valid", "every valid participant gets 2xx", weight=1.0, read_back=False),
        Property(
            "rejects-invalid",
            "every invalid payload gets 400/422, never 2xx",
            weight=1.5,
            read_back=False,
        ),
        Property(
            "no-server-errors",
            "no request, valid or not, gets 5xx or a dropped connection",
            weight=1.5,
            read_back=False,
        ),
        Property(
            "tolerates-unknown",
            "unknown enum strings and properties get 2xx and read back verbatim",
            weight=1.0,
            read_back=True,
        ),
        Property(
            "round-trips",
            "after a 2xx write, GET returns a semantically equal participant",
            weight=1.5,
            read_back=True,
        ),
        Property(
            "idempotent", "repeating the latest write changes nothing", weight=0.8, read_back=True
        ),
        Property(
            "converges",
            "after a whole lifecycle every participant reads back as its final snapshot",
            weight=1.5,
            read_back=True,
        ),
        Property(
            "isolated",
            "many lifecycles replayed concurrently all converge",
            weight=1.2,
            read_back=True,
        ),
    )
}
"""Every property, by id, in the order they run."""


def property_ids() -> tuple[str, ...]:
    """Every property id, in the order they run."""
    return tuple(PROPERTIES)


class Status(StrEnum):
    """A property's verdict."""

    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"
    ERROR = "error"
    """The check itself crashed: a bug of the harness, not of the target."""


@attrs.frozen
class Failure:
    """A property's minimal counterexample: what was sent, what was expected, what came."""

    summary: str
    expected: str
    got: str
    requests: tuple[Request, ...]
    example: Any = None

    def to_json(self, base_url: str) -> dict[str, Any]:
        return {
            "summary": self.summary,
            "expected": self.expected,
            "got": self.got,
            "example": self.example,
            "reproducer": [r.curl(base_url) for r in self.requests],
        }


@attrs.frozen
class Outcome:
    """The verdict on one property."""

    id: str
    status: Status = attrs.field(converter=Status)
    examples: int
    seconds: float
    failure: Failure | None = None
    note: str = ""

    def to_json(self, base_url: str) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "status": self.status.value,
            "examples": self.examples,
            "seconds": round(self.seconds, 3),
        }
        if self.failure is not None:
            out["failure"] = self.failure.to_json(base_url)
        if self.note:
            out["note"] = self.note
        return out
