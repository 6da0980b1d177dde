"""Strict validation of valid records, against fastjsonschema on its structural subset.

The baseline is a compiled JSON Schema validator: fastjsonschema, given the JSON Schema that
`callbacksim.schema.json_schema` derives from the model (the types and formats of every property,
nested objects included, with fastjsonschema's own date-time format; none of the ordering, state
or value rules). callbacksim's `check` runs every rule of the strict rule set: types, datetime
formats, the timestamp ordering, the state rules and the value rules. Both judge the same
generated participants (all valid, so the same verdicts: the script asserts it), in interleaved
rounds in one process; the median records/s of each side and their ratio are printed, with the
rule walk behind `check` (what every record cost before the rules were compiled) for reference.

Target: callbacksim strict at least as fast as fastjsonschema (ratio >= 1.0).

Usage: ``python benchmarks/bench_validation.py [RECORDS]`` (default 50,000).
"""

from __future__ import annotations

import itertools
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import fastjsonschema

from callbacksim.generation.bulk import BulkParticipants
from callbacksim.model import Edition
from callbacksim.rules import RuleSet, check, walk_rules
from callbacksim.schema import json_schema

N = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
ROUNDS = 5
TARGET_RATIO = 1.0
EDITION = Edition.SEED


def rate(judge: Callable[[Any], object], records: list[Any]) -> float:
    started = time.perf_counter()
    for record in records:
        judge(record)
    return len(records) / (time.perf_counter() - started)


def main() -> None:
    records = list(itertools.islice(BulkParticipants(2026), N))
    schema = fastjsonschema.compile(json_schema(EDITION))
    for record in records:
        schema(record)  # raises if the schema refused a record
    assert not any(check(r, edition=EDITION) for r in records), "a generated record is invalid"

    def strict(r: Any) -> object:
        return check(r, edition=EDITION)

    def structural(r: Any) -> object:
        return check(r, edition=EDITION, rules=RuleSet.STRUCTURAL)

    def walked(r: Any) -> object:
        return walk_rules(r, edition=EDITION)

    sides: dict[str, Callable[[Any], object]] = {
        "fastjsonschema (types, formats)": schema,
        "callbacksim strict (every rule)": strict,
        "callbacksim structural": structural,
        "callbacksim rule walk (strict)": walked,
    }
    print("== strict validation of valid records against fastjsonschema")
    print(f"  records {N:,} (generated, {EDITION.value} edition), {ROUNDS} interleaved rounds")
    rates: dict[str, list[float]] = {name: [] for name in sides}
    for judge in sides.values():
        rate(judge, records[:2000])  # warm up (compilation, caches)
    for _ in range(ROUNDS):
        for name, judge in sides.items():
            sample = records if "walk" not in name else records[: N // 5]
            rates[name].append(rate(judge, sample))
    median = {name: statistics.median(values) for name, values in rates.items()}
    for name, value in median.items():
        print(f"  {name:<34} {value:>10,.0f} records/s (median)")
    baseline = median["fastjsonschema (types, formats)"]
    ratio = median["callbacksim strict (every rule)"] / baseline
    verdict = "OK" if ratio >= TARGET_RATIO else "BELOW TARGET"
    print(f"  ratio callbacksim strict / fastjsonschema: {ratio:.2f}", end=" ")
    print(f"(target >= {TARGET_RATIO}): {verdict}")
    walk = median["callbacksim rule walk (strict)"] / baseline
    print(f"  (the rule walk alone: {walk:.2f} of fastjsonschema)")


if __name__ == "__main__":
    main()
