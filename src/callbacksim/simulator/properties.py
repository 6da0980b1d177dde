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
    NOT_EXERCISED = "not-exercised"
    """No example's precondition held (every write was refused, say): nothing was judged, so the
    property does not hold either."""
    SKIPPED = "skipped"
    ERROR = "error"
    """The check itself crashed: a bug of the harness, not of the target."""

    @property
    def words(self) -> str:
        """How a report says it: ``not exercised``."""
        return self.value.replace("-", " ")


@attrs.frozen
class Failure:
    """A property's minimal counterexample: what was sent, what was expected, what came."""

    summary: str
    expected: str
    got: str
    requests: tuple[Request, ...]
    example: Any = None
    case: str | None = None
    """The covering case whose class it belongs to (``rule order.start<=end``); None when it was
    found while exploring."""

    @property
    def found_by(self) -> str:
        return f"covering {self.case}" if self.case else "exploring"

    def to_json(self, base_url: str) -> dict[str, Any]:
        return {
            "summary": self.summary,
            "expected": self.expected,
            "got": self.got,
            "foundBy": self.found_by,
            "example": self.example,
            "reproducer": [r.curl(base_url) for r in self.requests],
        }


def _shown(names: tuple[str, ...], most: int = 6) -> str:
    more = f" and {len(names) - most} more" if len(names) > most else ""
    return ", ".join(names[:most]) + more


@attrs.frozen
class Outcome:
    """The verdict on one property, and what its covering and exploring phases reached."""

    id: str
    status: Status = attrs.field(converter=Status)
    examples: int
    """Every example tried: covering and explored."""
    seconds: float
    failure: Failure | None = None
    note: str = ""
    covered: dict[str, tuple[int, int]] = attrs.field(factory=dict)
    """Per dimension of the covering phase: classes covered (tried and exercised), of how many."""
    covering_seconds: float = 0.0
    explored: int = 0
    """Examples of the exploring phase."""
    untried: dict[str, tuple[str, ...]] = attrs.field(factory=dict)
    """Classes the covering phase did not reach before the budget ran out, by dimension."""
    unexercised: dict[str, tuple[str, ...]] = attrs.field(factory=dict)
    """Classes tried whose precondition never held (their write was refused), by dimension."""
    suggested_budget: float | None = None
    """A budget (seconds) that would let the covering phase end, when it did not."""

    @property
    def verdict(self) -> str:
        """The verdict in words; a pass whose covering phase did not end says so."""
        if self.status is Status.PASSED and not self.complete:
            return "holds, partly covered"
        return {Status.PASSED: "holds", Status.FAILED: "FAILS"}.get(self.status, self.status.words)

    @property
    def complete(self) -> bool:
        """Whether every class of the covering phase was tried and exercised."""
        return not self.untried and not self.unexercised

    def coverage(self) -> str:
        """What was covered of what, in words: ``rules 71/71 (0.4 s), then 412 explored
        examples``; then what was not tried, and the budget that would try it."""
        parts = [f"{d} {c}/{t}" for d, (c, t) in self.covered.items()]
        head = ", ".join(parts)
        if head:
            head += f" ({self.covering_seconds:.1f} s), then "
        text = head + f"{self.explored} explored example{'s' if self.explored != 1 else ''}"
        if self.untried:
            names = tuple(f"{d} {n}" for d, ns in self.untried.items() for n in ns)
            text += f"; the budget ran out before these were tried: {_shown(names)}"
            if self.suggested_budget is not None:
                text += f" (a budget of about {self.suggested_budget:g} s would try them)"
        if self.unexercised:
            names = tuple(f"{d} {n}" for d, ns in self.unexercised.items() for n in ns)
            text += f"; not exercised (their writes were refused): {_shown(names)}"
        return text

    def to_json(self, base_url: str) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "status": self.status.value,
            "examples": self.examples,
            "seconds": round(self.seconds, 3),
            "covered": {d: {"covered": c, "total": t} for d, (c, t) in self.covered.items()},
            "coveringSeconds": round(self.covering_seconds, 3),
            "explored": self.explored,
        }
        if self.status is not Status.SKIPPED:
            out["coverage"] = self.coverage()
        if self.untried:
            out["untried"] = {d: list(ns) for d, ns in self.untried.items()}
        if self.unexercised:
            out["unexercised"] = {d: list(ns) for d, ns in self.unexercised.items()}
        if self.suggested_budget is not None:
            out["suggestedBudget"] = self.suggested_budget
        if self.failure is not None:
            out["failure"] = self.failure.to_json(base_url)
        if self.note:
            out["note"] = self.note
        return out
