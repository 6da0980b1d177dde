"""The participant store's group commit: writes that arrive together share a transaction, each
gets the outcome it would have had alone, and none is acknowledged before it is committed."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

import callbacksim.target.store as store_module
from callbacksim.target.store import SCHEMA, PutOutcome, PutResult, Store, _parts, _read_group


class CountingStore(Store):
    """A store that records the size of every group it commits."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.groups: list[int] = []

    def _commit(self, writes: Sequence[Any]) -> list[PutResult | Exception]:
        self.groups.append(len(writes))
        return super()._commit(writes)


class FailingStore(CountingStore):
    """A store that cannot write participant ``bad``, nor any group that holds it."""

    def _apply(self, db: sqlite3.Connection, writes: Sequence[Any]) -> list[PutResult]:
        if any(w[1] == "bad" for w in writes):
            msg = "the disk said no"
            raise sqlite3.OperationalError(msg)
        return super()._apply(db, writes)


def serial(writes: list[tuple[str, int | None, bytes]]) -> list[tuple[PutOutcome, int | None]]:
    """The outcomes of ``writes`` (participant, sequence, body) applied one after another, by the
    contract's X-Sequence rule."""
    stored: dict[str, tuple[int | None, bytes]] = {}
    out = []
    for pid, sequence, body in writes:
        if pid not in stored:
            stored[pid] = (sequence, body)
            out.append((PutOutcome.CREATED, sequence))
            continue
        seq, old = stored[pid]
        if sequence is None or seq is None or sequence > seq:
            kept = seq if sequence is None else sequence
            stored[pid] = (kept, body)
            out.append((PutOutcome.REPLACED, kept))
        elif sequence == seq:
            out.append((PutOutcome.UNCHANGED if old == body else PutOutcome.CONFLICT, seq))
        else:
            out.append((PutOutcome.STALE, seq))
    return out


def writes_for(n: int, participants: int) -> list[tuple[str, int | None, bytes]]:
    """Writes to some participants, sequences out of order, repeats and conflicts among them."""
    out: list[tuple[str, int | None, bytes]] = []
    for i in range(n):
        pid = f"p{i % participants}"
        sequence = None if i % 11 == 0 else (i * 7) % 13 + 1
        body = b'{"v": %d}' % (i % 3)
        out.append((pid, sequence, body))
    return out


async def put_all(store: Store, writes: list[tuple[str, int | None, bytes]]) -> list[Any]:
    """Every write at once, in this order; each outcome, or the exception it raised."""
    tasks = [
        asyncio.ensure_future(store.put("c", pid, seq, b"digest:" + body, body))
        for pid, seq, body in writes
    ]
    return await asyncio.gather(*tasks, return_exceptions=True)


@pytest.mark.parametrize("participants", [5, 300])
def test_writes_arriving_together_share_commits_and_keep_their_own_outcomes(
    tmp_path: Path, participants: int
) -> None:
    writes = writes_for(200, participants) + writes_for(400, participants)

    async def main() -> tuple[list[Any], list[int]]:
        store = CountingStore(tmp_path / "db.sqlite3")
        await store.open()
        try:
            results = await put_all(store, writes)
        finally:
            await store.close()
        return results, store.groups

    results, groups = asyncio.run(main())
    assert [(r.outcome, r.stored_sequence) for r in results] == serial(writes)
    assert sum(groups) == len(writes)
    assert len(groups) < len(writes), "every write was committed alone"


class EarlyStore(Store):
    """A seeded bug: each write is answered before its transaction is committed."""

    loop: asyncio.AbstractEventLoop

    async def put(self, *args: Any) -> PutResult:
        self.loop = asyncio.get_running_loop()
        return await super().put(*args)

    def _commit(self, writes: Sequence[Any]) -> list[PutResult | Exception]:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        results: list[PutResult | Exception] = list(self._apply(db, writes))
        self.loop.call_soon_threadsafe(store_module._settle, writes, results)
        time.sleep(0.05)
        db.execute("COMMIT")
        return results


def unseen_when_answered(store: Store, db: Path) -> list[str]:
    """The writes not readable from a connection of its own as soon as they are answered."""

    async def main() -> list[str]:
        await store.open()
        reader = sqlite3.connect(db)
        unseen = []
        try:

            async def one(i: int) -> None:
                await store.put("c", f"p{i}", 1, b"d", b"body %d" % i)
                row = reader.execute(
                    "SELECT body FROM participants WHERE participant = ?", (f"p{i}",)
                ).fetchone()
                if row is None or bytes(row[0]) != b"body %d" % i:
                    unseen.append(f"p{i}")

            await asyncio.gather(*(one(i) for i in range(100)))
        finally:
            reader.close()
            await store.close()
        return unseen

    return asyncio.run(main())


def test_acknowledged_writes_are_committed(tmp_path: Path) -> None:
    assert unseen_when_answered(Store(tmp_path / "a.sqlite3"), tmp_path / "a.sqlite3") == []
    # The check catches a store that answers first and commits after.
    assert unseen_when_answered(EarlyStore(tmp_path / "b.sqlite3"), tmp_path / "b.sqlite3")


def test_a_failing_write_fails_alone(tmp_path: Path) -> None:
    writes = [(f"p{i}", 1, b"x") for i in range(30)]
    writes[17] = ("bad", 1, b"x")

    async def main() -> tuple[list[Any], list[int], list[bytes | None]]:
        store = FailingStore(tmp_path / "db.sqlite3")
        await store.open()
        try:
            results = await put_all(store, writes)
            stored = [await store.get("c", pid) for pid, _, _ in writes]
        finally:
            await store.close()
        return results, store.groups, stored

    results, groups, stored = asyncio.run(main())
    assert isinstance(results[17], sqlite3.OperationalError)
    assert stored[17] is None
    for i, (result, body) in enumerate(zip(results, stored, strict=True)):
        if i != 17:
            assert result == PutResult(PutOutcome.CREATED, 1)
            assert body == b"x"
    # The failure hit a group of several writes, which were then committed one by one.
    assert max(groups) > 1


def test_a_closed_store_refuses_writes(tmp_path: Path) -> None:
    async def main() -> None:
        store = Store(tmp_path / "db.sqlite3")
        await store.open()
        await store.close()
        with pytest.raises(RuntimeError):
            await store.put("c", "p", 1, b"d", b"x")

    asyncio.run(main())


def test_groups_are_cut_into_few_statement_sizes() -> None:
    for n in range(600):
        parts = list(_parts(list(range(n))))
        assert [x for part in parts for x in part] == list(range(n))
        assert {len(part) for part in parts} <= {1, 2, 4, 8, 16, 32, 64, 128}


@pytest.mark.parametrize("n", [1, 3, 128])
def test_a_group_is_read_through_the_primary_key(n: int) -> None:
    """Reading a group looks each key up; it never scans the table (which grows)."""
    db = sqlite3.connect(":memory:")
    db.execute(SCHEMA)
    keys = [x for i in range(n) for x in ("c", f"p{i}")]
    plan = " | ".join(row[3] for row in db.execute("EXPLAIN QUERY PLAN " + _read_group(n), keys))
    assert "SEARCH p USING INDEX" in plan, plan
    assert "SCAN p" not in plan, plan
    assert "SCAN participants" not in plan, plan


class BrokenStore(Store):
    """A store whose thread fails outside any write the first time it commits."""

    broken = True

    def _commit(self, writes: Sequence[Any]) -> list[PutResult | Exception]:
        if self.broken:
            self.broken = False
            msg = "the store thread tripped"
            raise RuntimeError(msg)
        return super()._commit(writes)


def test_a_failure_of_the_store_thread_fails_the_writes_in_hand_and_no_more(
    tmp_path: Path,
) -> None:
    async def main() -> tuple[list[Any], PutResult]:
        store = BrokenStore(tmp_path / "db.sqlite3")
        await store.open()
        try:
            first = await put_all(store, [(f"p{i}", 1, b"x") for i in range(5)])
            after = await store.put("c", "later", 1, b"d", b"x")
        finally:
            await store.close()
        return first, after

    first, after = asyncio.run(main())
    assert any(isinstance(r, RuntimeError) for r in first)
    assert all(isinstance(r, RuntimeError | PutResult) for r in first)
    assert after == PutResult(PutOutcome.CREATED, 1)
