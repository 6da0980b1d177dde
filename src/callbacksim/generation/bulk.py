"""Valid participants in bulk: hundreds of thousands a second, seeded, streamed.

Building a participant constructively (`build_participant`) makes about forty random decisions;
that is the right cost for variety, and too high for a million-record fixture file. The bulk
generator keeps a pool of participants built that way and makes each record from a pool member by
changes that cannot affect validity:

- a new participant ``id`` (no rule looks at its value),
- every instant moved by the same whole number of days (every ordering rule compares two instants
  of one participant, so a common shift keeps each comparison, ties included),
- for customer legs, a new customer name and callback numbers (no rule looks at them).

Every pool slot is rebuilt from scratch with probability ``refresh`` per record, so the variety
of a long run is not capped by the pool size. Records are plain wire dicts (see `build_participant`
on shared nested references).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from callbacksim.generation import vocab
from callbacksim.generation.chooser import RandomChooser
from callbacksim.generation.participants import Shape, build_participant
from callbacksim.generation.population import Population
from callbacksim.model import Edition
from callbacksim.rules import timestamps
from callbacksim.wiretime import date_prefix, day_number, shift_days

__all__ = ["BulkParticipants"]

# Every top-level timestamp property (the nested wrapup.endTime is shifted on its own).
_TOP_TIMES = tuple(k for k in timestamps(Edition.SDK_269) if "." not in k)


class BulkParticipants:
    """An endless, seeded stream of valid participant payloads of one `Shape`."""

    def __init__(
        self,
        seed: int,
        shape: Shape | None = None,
        *,
        pool_size: int = 2048,
        refresh: float = 0.05,
        population: Population | None = None,
    ) -> None:
        self._ch = RandomChooser(seed)
        self._shape = shape or Shape()
        self._pool: list[tuple[dict[str, Any], tuple[tuple[str, int, str], ...]]] = []
        self._pool_size = pool_size
        self._refresh = refresh
        self._population = population
        self.fresh = False
        """Whether the last record was built from scratch (not copied from a pool member)."""

    def _fresh(self) -> tuple[dict[str, Any], tuple[tuple[str, int, str], ...]]:
        payload = build_participant(self._ch, self._shape, population=self._population)
        # Each instant split once into its day number and the rest of its text, so that a shifted
        # copy costs one cache look-up per instant.
        times = tuple(
            (k, day_number(payload[k]), payload[k][10:]) for k in _TOP_TIMES if k in payload
        )
        return payload, times

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self

    def __next__(self) -> dict[str, Any]:
        ch, pool = self._ch, self._pool
        random = ch.rng.random
        self.fresh = True
        if len(pool) < self._pool_size:
            entry = self._fresh()
            pool.append(entry)
            return entry[0]
        slot = int(random() * self._pool_size)
        if random() < self._refresh:
            entry = pool[slot] = self._fresh()
            return entry[0]
        self.fresh = False
        skeleton, times = pool[slot]
        record = dict(skeleton)
        record["id"] = vocab.entity_id(ch)
        days = int(random() * 365) - 182
        for key, day, rest in times:
            record[key] = date_prefix(day + days) + rest
        wrapup = skeleton.get("wrapup")
        if wrapup is not None and "endTime" in wrapup:
            record["wrapup"] = {**wrapup, "endTime": shift_days(wrapup["endTime"], days)}
        if "callbackUserName" in skeleton and random() < 0.5:
            name = vocab.person_name(ch)
            record["callbackUserName"] = name
            record["callbackNumbers"] = [vocab.e164_number(ch) for _ in skeleton["callbackNumbers"]]
            if skeleton.get("purpose") == "customer":
                record["name"] = name
                if "address" in skeleton:
                    record["address"] = record["callbackNumbers"][0]
        return record
