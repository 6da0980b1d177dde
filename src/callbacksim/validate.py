"""Judging records: each record of each source against the rules, as a stream of results."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import attrs

from callbacksim.model import Edition
from callbacksim.records import Record
from callbacksim.rules import RuleSet, Violation, check

__all__ = ["Result", "judge"]


@attrs.frozen
class Result:
    """The verdict on one record."""

    source: str
    record: Record
    violations: tuple[Violation, ...]

    @property
    def valid(self) -> bool:
        return not self.violations

    @property
    def where(self) -> str:
        """``file:line`` for JSON Lines, ``file[index]`` otherwise."""
        if self.record.line is not None:
            return f"{self.source}:{self.record.line}"
        return f"{self.source}[{self.record.index}]"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"source": self.source, "index": self.record.index}
        if self.record.line is not None:
            out["line"] = self.record.line
        out["valid"] = self.valid
        out["violations"] = [attrs.asdict(v) for v in self.violations]
        return out


def judge(
    source: str,
    records: Iterable[Record],
    *,
    edition: Edition = Edition.SEED,
    rules: RuleSet = RuleSet.STRICT,
) -> Iterator[Result]:
    """A result per record, in order. A record that is not JSON breaks ``json.object``."""
    for record in records:
        violations: tuple[Violation, ...]
        if record.error is not None:
            violations = (Violation("json.object", "$", record.error),)
        else:
            violations = tuple(check(record.payload, edition=edition, rules=rules))
        yield Result(source, record, violations)
