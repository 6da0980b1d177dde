"""Judging records: each record of each source against the rules, as a stream of results.

A JSON Lines record can come unparsed (a `callbacksim.records.Line`, from
`callbacksim.records.read_lines`); most records are valid, and such a line is first parsed by
orjson alone and put to the compiled check (`callbacksim.rules.compiled_check`). A record that
passes is valid whichever way it is parsed: the exact parser (`callbacksim.codec.loads`) differs
from orjson only in reading integers beyond 64 bits as integers, which orjson reads as numbers
with a fraction; no checked property accepts those, so such a record does not pass, and an
unchecked property's value does not change the verdict. Every other line is parsed exactly and
judged rule by rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import attrs
import orjson

from callbacksim.model import Edition
from callbacksim.records import Line, Record, parse_line
from callbacksim.rules import RuleSet, Violation, check, compiled_check

__all__ = ["Result", "Tally", "judge"]


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


@attrs.define
class Tally:
    """How many records were judged, and how many of them were invalid."""

    total: int = 0
    invalid: int = 0


def judge(
    source: str,
    records: Iterable[Record | Line],
    *,
    edition: Edition = Edition.SEED,
    rules: RuleSet = RuleSet.STRICT,
    tally: Tally | None = None,
    valid: bool = True,
    path_ids: Iterable[str | None] | None = None,
) -> Iterator[Result]:
    """A result per record, in order. A record that is not JSON breaks ``json.object``.

    With ``valid=False`` the results of valid records are left out (``tally`` still counts
    them), which spares building them: the fast way through a large file of mostly valid records.
    ``path_ids``, if given, holds the participant id of each record's request path, in order (a
    fixture's labels): ``id.matches-path`` is checked against it; without it, that rule cannot be.
    """
    tally = Tally() if tally is None else tally
    fast = compiled_check(edition, rules)
    ids = iter(path_ids) if path_ids is not None else None
    path_id: str | None = None
    passed = 0  # counted here and added to the tally as the results go: a local is cheaper
    try:
        for item in records:
            if ids is not None:
                path_id = next(ids, None)
            if not isinstance(item, Record):
                if not valid:
                    try:
                        payload = orjson.loads(item[2])
                    except orjson.JSONDecodeError:
                        pass
                    else:
                        if fast(payload, path_id):
                            passed += 1
                            continue
                item = parse_line(item)
            record = item
            violations: tuple[Violation, ...]
            if record.error is not None:
                violations = (Violation("json.object", "$", record.error),)
            else:
                violations = tuple(
                    check(record.payload, edition=edition, rules=rules, path_id=path_id)
                )
            tally.total += 1
            tally.invalid += bool(violations)
            if violations or valid:
                yield Result(source, record, violations)
    finally:
        tally.total += passed
