"""Valid participants in bulk: hundreds of thousands a second, seeded, streamed.

Building a participant constructively (`build_participant`) makes about forty random decisions;
that is the right cost for variety, and too high for a million-record fixture file. The bulk
generator keeps a pool of participants built that way and makes each record from a pool member by
changes that cannot affect validity:

- a new participant ``id`` (no rule looks at its value),
- every instant moved by the same whole number of days (every ordering rule compares two instants
  of one participant, so a common shift keeps each comparison, ties included),
- often, another customer's name and callback numbers, taken from a few thousand customers drawn
  once per stream (no rule looks at them).

A pool member is rebuilt from scratch with probability ``refresh`` per record (one in a hundred
by default), so the variety of a long run is not capped by the pool size. Records are plain wire
dicts (see `build_participant` on shared nested references).
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
_TOP_TIMES = tuple(k for k in timestamps(Edition.latest()) if "." not in k)


# A pool member: the payload, its instants as (key, day number, rest of the text), its wrap-up
# end (or None), how many callback numbers it has (0: no customer data to vary), whether it has
# an address to vary, and whether it is a customer leg.
_Entry = tuple[dict[str, Any], tuple[tuple[str, int, str], ...], str | None, int, bool, bool]


class BulkParticipants:
    """An endless, seeded stream of valid participant payloads of one `Shape`."""

    def __init__(
        self,
        seed: int,
        shape: Shape | None = None,
        *,
        pool_size: int = 2048,
        refresh: float = 0.01,
        population: Population | None = None,
    ) -> None:
        self._ch = RandomChooser(seed)
        self._random = self._ch.rng.random
        self._bits = self._ch.rng.getrandbits
        self._shape = shape or Shape()
        self._pool: list[_Entry] = []
        self._pool_size = pool_size
        self._ids: list[str] = []
        self._customers: list[tuple[str, list[str]]] = []
        self._refresh = refresh
        self._population = population
        self.fresh = False
        """Whether the last record was built from scratch (not copied from a pool member)."""

    def _fresh(self) -> _Entry:
        payload = build_participant(self._ch, self._shape, population=self._population)
        # Each instant split once into its day number and the rest of its text, so that a shifted
        # copy costs one cache look-up per instant.
        times = tuple(
            (k, day_number(payload[k]), payload[k][10:]) for k in _TOP_TIMES if k in payload
        )
        wrapup = payload.get("wrapup")
        end = wrapup.get("endTime") if isinstance(wrapup, dict) else None
        names = len(payload["callbackNumbers"]) if "callbackUserName" in payload else 0
        customer = payload.get("purpose") == "customer"
        return payload, times, end, names, customer and "address" in payload, customer

    def _more_ids(self) -> list[str]:
        """A batch of participant ids, drawn together (one draw of 256 x 128 bits)."""
        h = f"{self._bits(128 * 256):08192x}"
        self._ids = [vocab.uuid_text(int(h[i : i + 32], 16)) for i in range(0, 8192, 32)]
        return self._ids

    def _more_customers(self) -> list[tuple[str, list[str]]]:
        """The customers whose callbacks copies are given: a few thousand people, each with two
        numbers, drawn once (customers of a contact centre do call back more than once)."""
        ch = self._ch
        self._customers = [
            (vocab.person_name(ch), [vocab.e164_number(ch), vocab.e164_number(ch)])
            for _ in range(4096)
        ]
        return self._customers

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self

    def __next__(self) -> dict[str, Any]:
        pool, random = self._pool, self._random
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
        skeleton, times, wrapup_end, names, address, customer = pool[slot]
        record = dict(skeleton)
        ids = self._ids or self._more_ids()
        record["id"] = ids.pop()
        days = int(random() * 365) - 182
        for key, day, rest in times:
            record[key] = date_prefix(day + days) + rest
        if wrapup_end is not None:
            record["wrapup"] = {**skeleton["wrapup"], "endTime": shift_days(wrapup_end, days)}
        if names and random() < 0.3:
            customers = self._customers or self._more_customers()
            name, known = customers[int(random() * len(customers))]
            numbers = known[:names] if len(known) >= names else [*known, *known][:names]
            record["callbackUserName"] = name
            record["callbackNumbers"] = numbers
            if customer:
                record["name"] = name
                if address:
                    record["address"] = numbers[0]
        return record
