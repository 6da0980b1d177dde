"""Bulk generation of valid participants to JSON Lines, against a pool-sampling baseline.

The baseline is the usual way to make fixture data fast: pre-generate pools of Faker values, then
fill each record by sampling the pools field by field and write it with orjson. It makes records of
the same shape (the same properties, nested objects and list sizes, taken from callbacksim's own
records) but does nothing to make them valid. callbacksim's generator makes each record valid by
construction. Both write to an in-memory buffer; the ratio is measured side by side in one run.

Target (issue 3): callbacksim at least 2.5 times the baseline's records/s.

Also measured: the Hypothesis strategy for a full participant against a plain ``st.builds`` over the
same fields (target: no slower).
"""

from __future__ import annotations

import io
import random
import sys
import time
from collections.abc import Callable
from typing import Any

import orjson
from faker import Faker

from callbacksim.generation.bulk import BulkParticipants
from callbacksim.generation.chooser import RandomChooser
from callbacksim.generation.participants import Shape, build_participant

ROUNDS = 3


def _pools(fake: Faker, size: int = 5_000) -> dict[str, list[Any]]:
    return {
        "uuid": [fake.uuid4() for _ in range(size)],
        "name": [fake.name() for _ in range(size)],
        "phone": [fake.msisdn() for _ in range(size)],
        "time": [fake.iso8601() + ".000Z" for _ in range(size)],
        "word": [fake.word() for _ in range(size)],
        "sentence": [fake.sentence() for _ in range(size)],
        "int": [fake.random_int(0, 3_600_000) for _ in range(size)],
        "bool": [True, False],
        "state": ["connected", "disconnected", "alerting", "terminated"],
    }


def _template(value: Any) -> Any:
    """The shape of a value: which pool fills each leaf."""
    if isinstance(value, dict):
        return {k: _template(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_template(v) for v in value]
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, str):
        if len(value) == 36 and value.count("-") == 4:
            return "uuid"
        if value.startswith("+"):
            return "phone"
        if len(value) == 24 and value.endswith("Z"):
            return "time"
        return "sentence" if " " in value else "word"
    return "word"


def _fill(template: Any, pools: dict[str, list[Any]], choice: Callable[[list[Any]], Any]) -> Any:
    if isinstance(template, dict):
        return {k: _fill(v, pools, choice) for k, v in template.items()}
    if isinstance(template, list):
        return [_fill(v, pools, choice) for v in template]
    return choice(pools[template])


def baseline(n: int, templates: list[Any], pools: dict[str, list[Any]]) -> float:
    rng = random.Random(1)
    choice = rng.choice
    out = io.BytesIO()
    start = time.perf_counter()
    for i in range(n):
        out.write(orjson.dumps(_fill(templates[i % len(templates)], pools, choice)))
        out.write(b"\n")
    return n / (time.perf_counter() - start)


def callbacksim_bulk(n: int) -> float:
    records = BulkParticipants(1)
    dumps = orjson.dumps
    out = io.BytesIO()
    start = time.perf_counter()
    for _ in range(n):
        out.write(dumps(next(records)))
        out.write(b"\n")
    return n / (time.perf_counter() - start)


def callbacksim_constructive(n: int) -> float:
    ch = RandomChooser(1)
    shape = Shape()
    out = io.BytesIO()
    start = time.perf_counter()
    for _ in range(n):
        out.write(orjson.dumps(build_participant(ch, shape)))
        out.write(b"\n")
    return n / (time.perf_counter() - start)


def hypothesis_rates(examples: int = 300) -> tuple[float, float]:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from callbacksim.strategies import valid_payloads

    cfg = settings(
        max_examples=examples,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    text, flag, integer = st.text(max_size=20), st.booleans(), st.integers(0, 3_600_000)
    ref = st.fixed_dictionaries({"id": st.uuids().map(str), "name": text, "selfUri": text})
    builds = st.builds(
        dict,
        id=st.uuids().map(str),
        name=text,
        address=text,
        startTime=st.datetimes().map(str),
        connectedTime=st.datetimes().map(str),
        endTime=st.datetimes().map(str),
        purpose=text,
        state=text,
        direction=text,
        held=flag,
        wrapupRequired=flag,
        wrapupPrompt=text,
        user=ref,
        queue=ref,
        team=ref,
        attributes=st.dictionaries(text, text, max_size=3),
        wrapupTimeoutMs=integer,
        alertingTimeoutMs=integer,
        provider=text,
        wrapup=st.fixed_dictionaries({"code": text, "name": text, "durationSeconds": integer}),
        callbackNumbers=st.lists(text, max_size=2),
        callbackUserName=text,
        skipEnabled=flag,
        timeoutSeconds=integer,
    )
    rates = []
    for strategy in (builds, valid_payloads()):
        count = 0

        @cfg
        @given(strategy)
        def run(_value: Any) -> None:
            nonlocal count
            count += 1

        start = time.perf_counter()
        run()
        rates.append(count / (time.perf_counter() - start))
    return rates[0], rates[1]


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    fake = Faker()
    Faker.seed(1)
    pools = _pools(fake)
    ch = RandomChooser(99)
    templates = [_template(build_participant(ch, Shape())) for _ in range(2_000)]
    base_rates, ours_rates, constructive_rates = [], [], []
    for _ in range(ROUNDS):  # interleaved, so all see the same machine conditions
        base_rates.append(baseline(n, templates, pools))
        ours_rates.append(callbacksim_bulk(n))
        constructive_rates.append(callbacksim_constructive(n // 4))
    base, ours, constructive = max(base_rates), max(ours_rates), max(constructive_rates)
    print(f"bulk valid participants to JSONL, {n:,} records, best of {ROUNDS}:")
    print(f"  baseline (Faker pools + orjson, not valid): {base:>9,.0f} records/s")
    print(f"  callbacksim bulk (valid):                   {ours:>9,.0f} records/s")
    print(f"  callbacksim constructive only (valid):      {constructive:>9,.0f} records/s")
    print(f"  ratio bulk/baseline: {ours / base:.2f}x (target >= 2.5x)")
    builds_rate, strategy_rate = hypothesis_rates()
    print("Hypothesis, examples/s for a full participant:")
    print(f"  st.builds over the same fields: {builds_rate:>8,.0f}")
    print(f"  callbacksim valid_payloads():   {strategy_rate:>8,.0f}")
    print(f"  ratio: {strategy_rate / builds_rate:.2f}x (target >= 1.0x)")


if __name__ == "__main__":
    main()
