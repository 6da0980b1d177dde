"""The participant store's group commit: writes that arrive together share a transaction, each
gets the outcome it would have had alone, and none is acknowledged before it is committed."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from callbacksim.target.store import PutOutcome, PutResult, Store


class CountingStore(Store):
    """A store that records the size of every group it commits."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.groups: list[int] = []

    def _commit(self, writes: Sequence[Any]) -> list[PutResult | Exception]:
        self.groups.append(len(writes))
        return super()._commit(writes)


class FailingStore(CountingStore):
    """A store whose writes of participant ``bad`` fail."""

    def _put(self, db: sqlite3.Connection, cid: str, pid: str, *rest: Any) -> PutResult:
        if pid == "bad":
            msg = "the disk said no"
            raise sqlite3.OperationalError(msg)
        return super()._put(db, cid, pid, *rest)


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


def writes_for(n: int) -> list[tuple[str, int | None, bytes]]:
    """Writes to a few participants, sequences out of order, repeats and conflicts among them."""
    out: list[tuple[str, int | None, bytes]] = []
    for i in range(n):
        pid = f"p{i % 5}"
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


def test_writes_arriving_together_share_commits_and_keep_their_own_outcomes(
    tmp_path: Path,
) -> None:
    writes = writes_for(200)

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


def test_acknowledged_writes_are_committed(tmp_path: Path) -> None:
    """Read from a connection of its own as soon as each write is answered: it is there."""
    db = tmp_path / "db.sqlite3"

    async def main() -> None:
        store = Store(db)
        await store.open()
        reader = sqlite3.connect(db)
        try:

            async def one(i: int) -> None:
                await store.put("c", f"p{i}", 1, b"d", b"body %d" % i)
                row = reader.execute(
                    "SELECT body FROM participants WHERE participant = ?", (f"p{i}",)
                ).fetchone()
                assert row is not None, f"p{i} was acknowledged before it was committed"
                assert bytes(row[0]) == b"body %d" % i

            await asyncio.gather(*(one(i) for i in range(100)))
        finally:
            reader.close()
            await store.close()

    asyncio.run(main())


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
