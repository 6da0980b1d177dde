"""Judging records: JSON Lines lines judged unparsed give the same results as parsed records."""

from __future__ import annotations

import io
from typing import Any

import orjson
import pytest

import callbacksim.validate as validate_module
from callbacksim.model import Edition
from callbacksim.records import InputFormat, read_lines, read_records
from callbacksim.rules import RuleSet
from callbacksim.validate import Result, Tally, judge

VALID = {"id": "p1", "state": "connected", "connectedTime": "2026-01-01T10:00:00.000Z"}

LINES = [
    orjson.dumps(VALID),
    b"",
    orjson.dumps({**VALID, "held": "yes"}),  # type.held
    b'{"id": "p2", "timeoutSeconds": 18446744073709551616}',  # a big integer where one is checked
    b'{"id": "p3", "extra": 123456789012345678901234567890}',  # a big integer nobody checks
    b'{"id": "p4", "timeoutSeconds": -18446744073709551616}',  # big, and negative
    b'{"id": "p5", "name": "\\ud800"}',  # a lone surrogate: orjson refuses it, the codec reads it
    b"  \t ",
    b'{"id": "p6", "state": "disconnected"}',  # state.ended-has-end
    b"{not json",
    b"[1, 2]",
    orjson.dumps({**VALID, "startTime": "2026-01-01T11:00:00.000Z"}),  # an ordering rule
    b'{"id": "p7", "startTime": "2026-02-30T10:00:00.000Z"}',  # datetime.format
    b"\r",
    orjson.dumps(VALID) + b"\r",
]
DATA = b"\n".join(LINES) + b"\n"


def results(
    reader: Any, name: str, *, valid: bool, rules: RuleSet, fmt: InputFormat = InputFormat.AUTO
) -> tuple[list[Result], Tally]:
    tally = Tally()
    stream = io.BytesIO(DATA)
    records = reader(stream, fmt=fmt, name=name)
    out = list(judge(name, records, edition=Edition.SEED, rules=rules, tally=tally, valid=valid))
    return out, tally


@pytest.mark.parametrize("rules", list(RuleSet))
@pytest.mark.parametrize("name", ["in.jsonl", "in.json"])
def test_lines_are_judged_as_records_are(name: str, rules: RuleSet) -> None:
    everything, tally = results(read_records, name, valid=True, rules=rules)
    assert tally.total == len(everything) == 12  # blank lines are not records
    assert tally.invalid == sum(not r.valid for r in everything) > 0
    for valid in (True, False):
        got, got_tally = results(read_lines, name, valid=valid, rules=rules)
        assert got_tally == tally
        assert got == [r for r in everything if valid or not r.valid]
    by_line = {r.record.line: r for r in everything}
    assert by_line[4].valid  # past 64 bits, an integer is still an integer
    negative = [v.rule for v in by_line[6].violations]
    assert negative == (["value.non-negative"] if rules is RuleSet.STRICT else [])


def test_valid_lines_are_not_parsed_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the results of valid records, a valid line is parsed once (by orjson) and passed
    by the compiled check: the exact parse is left for the lines that need it."""
    parsed: list[int] = []
    real = validate_module.parse_line

    def counting(line: Any) -> Any:
        parsed.append(line[1])
        return real(line)

    monkeypatch.setattr(validate_module, "parse_line", counting)
    got, tally = results(read_lines, "in.jsonl", valid=False, rules=RuleSet.STRICT)
    lines_of_invalid = {r.record.line for r in got}
    assert tally.total == 12
    # Every line the exact parser saw was invalid, or one orjson reads otherwise (lines 4 to 7).
    assert set(parsed) - lines_of_invalid <= {4, 5, 7}
    assert 1 not in parsed
    assert len(LINES) not in parsed
