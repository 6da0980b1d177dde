"""The participant store: SQLite on one dedicated thread.

Writes are committed in groups: a write waits in a queue, and the store thread takes every write
waiting when it gets to work and commits them together in one transaction (in the order they
came, so that each sees the ones before it). No write is acknowledged before the transaction that
holds it is committed, so every acknowledged write is on disk, and writes that arrive together share
one commit (one ``fsync``) instead of paying one each. If a group fails, its writes are committed
one by one instead, so that one write's failure is its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from enum import Enum
from functools import cache
from pathlib import Path
from typing import TypeVar

import attrs

from callbacksim.errors import UsageError


class PutOutcome(Enum):
    CREATED = "created"
    REPLACED = "replaced"
    UNCHANGED = "unchanged"
    STALE = "stale"
    CONFLICT = "conflict"


@attrs.frozen
class PutResult:
    outcome: PutOutcome
    stored_sequence: int | None
    """The participant's sequence after the write (None: stored without one)."""


SCHEMA = """
CREATE TABLE IF NOT EXISTS participants (
    conversation TEXT NOT NULL,
    participant TEXT NOT NULL,
    sequence INTEGER,
    digest BLOB NOT NULL,
    body BLOB NOT NULL,
    PRIMARY KEY (conversation, participant)
)
"""

# A write waiting for the store thread: (cid, pid, sequence, digest, body) and its future.
_Write = tuple[str, str, int | None, bytes, bytes, "asyncio.Future[PutResult]"]


_T = TypeVar("_T")


def _parts(items: Sequence[_T]) -> Iterator[Sequence[_T]]:
    """``items`` in consecutive parts whose sizes are powers of two up to 128: statements over a
    group come in eight sizes only, which SQLite's statement cache keeps prepared."""
    i = 0
    while i < len(items):
        size = 1 << min(7, (len(items) - i).bit_length() - 1)
        yield items[i : i + size]
        i += size


@cache
def _read_group(n: int) -> str:
    """The query for the stored (conversation, participant, sequence, digest) of ``n`` keys.

    The keys are joined to the table, keys first (CROSS JOIN fixes the order), so that each is
    one look-up in the primary key; ``(conversation, participant) IN (VALUES ...)`` scans the
    whole table instead.
    """
    values = ",".join(["(?, ?)"] * n)
    return (
        "SELECT p.conversation, p.participant, p.sequence, p.digest "
        f"FROM (VALUES {values}) AS k CROSS JOIN participants AS p "
        "ON p.conversation = k.column1 AND p.participant = k.column2"
    )


@cache
def _write_group(n: int) -> str:
    """The statement that stores ``n`` rows, inserting or replacing each."""
    values = ",".join(["(?, ?, ?, ?, ?)"] * n)
    return (
        "INSERT INTO participants (conversation, participant, sequence, digest, body) "
        f"VALUES {values} ON CONFLICT (conversation, participant) DO UPDATE SET "
        "sequence = excluded.sequence, digest = excluded.digest, body = excluded.body"
    )


def _decide(
    row: tuple[int | None, bytes] | None, sequence: int | None, digest: bytes
) -> tuple[PutResult, bool]:
    """The outcome of a write given the stored (sequence, digest) or None, and whether the write
    is stored: the ``X-Sequence`` rule."""
    if row is None:
        return PutResult(PutOutcome.CREATED, sequence), True
    stored, stored_digest = row
    if sequence is None or stored is None or sequence > stored:
        # Without a sequence the body is replaced and the stored sequence kept.
        kept = stored if sequence is None else sequence
        return PutResult(PutOutcome.REPLACED, kept), True
    if sequence == stored:
        outcome = PutOutcome.UNCHANGED if stored_digest == digest else PutOutcome.CONFLICT
        return PutResult(outcome, stored), False
    return PutResult(PutOutcome.STALE, stored), False


def _settle(writes: Sequence[_Write], outcomes: Sequence[PutResult | Exception]) -> None:
    """On the event loop: each write's future gets its outcome (unless its request has gone)."""
    for write, outcome in zip(writes, outcomes, strict=True):
        future = write[5]
        if future.done():
            continue
        if isinstance(outcome, Exception):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)


class Store:
    """SQLite, used from one dedicated thread only: every call is serialized."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="callbacksim-store")
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._waiting: list[_Write] = []
        self._draining = False
        """Whether a drain is queued or running on the store thread (it takes what waits)."""

    async def _run(self, fn: Callable[[], _T]) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    async def open(self) -> None:
        await self._run(self._open)

    async def close(self) -> None:
        try:
            await self._run(self._close)
        finally:
            self._executor.shutdown(wait=True)

    def _open(self) -> None:
        try:
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            msg = f"cannot open the database {self._path}: {exc}"
            raise UsageError(msg) from None
        try:
            conn.execute("PRAGMA busy_timeout = 10000")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                msg = f"cannot put the database {self._path} in WAL mode (got {mode!r})"
                raise UsageError(msg)
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute(SCHEMA)
        except sqlite3.Error as exc:
            conn.close()
            msg = f"cannot use the database {self._path}: {exc}"
            raise UsageError(msg) from None
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @property
    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            msg = "the store is not open"
            raise RuntimeError(msg)
        return self._conn

    async def put(
        self, cid: str, pid: str, sequence: int | None, digest: bytes, body: bytes
    ) -> PutResult:
        """Store a write; the answer once it is committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[PutResult] = loop.create_future()
        with self._lock:
            self._waiting.append((cid, pid, sequence, digest, body, future))
            start, self._draining = not self._draining, True
        if start:
            try:
                self._executor.submit(self._drain, loop)
            except RuntimeError:  # the store is closed
                with self._lock:
                    self._waiting.clear()
                    self._draining = False
                raise
        return await future

    def _drain(self, loop: asyncio.AbstractEventLoop) -> None:
        """On the store thread: commit the waiting writes, a group at a time, until none wait."""
        writes: list[_Write] = []
        try:
            while True:
                with self._lock:
                    writes, self._waiting = self._waiting, []
                    if not writes:
                        self._draining = False
                        return
                outcomes = self._commit(writes)
                with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits
                    loop.call_soon_threadsafe(_settle, writes, outcomes)
                writes = []
        except BaseException as exc:
            # Not a failed write (those are outcomes) but a failure of the store thread: the
            # writes in hand and those waiting fail with it, and the next write starts afresh.
            with self._lock:
                writes += self._waiting
                self._waiting = []
                self._draining = False
            failure = exc if isinstance(exc, Exception) else RuntimeError(repr(exc))
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, writes, [failure] * len(writes))
            raise

    def _commit(self, writes: Sequence[_Write]) -> list[PutResult | Exception]:
        """The writes in one transaction; if it fails, each in a transaction of its own."""
        try:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
        except Exception as exc:
            return [exc] * len(writes)
        try:
            results: list[PutResult | Exception] = list(self._apply(db, writes))
            db.execute("COMMIT")
        except Exception as exc:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            if len(writes) == 1:
                return [exc]
            return [self._commit([w])[0] for w in writes]
        return results

    def _apply(self, db: sqlite3.Connection, writes: Sequence[_Write]) -> list[PutResult]:
        """The writes' read-compare-writes, in order, inside the open transaction.

        The group is read and written with a few statements, not a few per write: each statement
        is a moment when the store thread lets go of the interpreter, and handing it back and
        forth with the event loop costs more than the statement itself.
        """
        rows: dict[tuple[str, str], tuple[int | None, bytes]] = {}
        for wanted in _parts(list({(w[0], w[1]) for w in writes})):
            query = _read_group(len(wanted))
            for cid, pid, sequence, digest in db.execute(query, [x for k in wanted for x in k]):
                rows[cid, pid] = (sequence, bytes(digest))
        results = []
        changed: dict[tuple[str, str], tuple[int | None, bytes, bytes]] = {}
        for cid, pid, sequence, digest, body, _ in writes:
            result, kept = _decide(rows.get((cid, pid)), sequence, digest)
            if kept:
                rows[cid, pid] = (result.stored_sequence, digest)
                changed[cid, pid] = (result.stored_sequence, digest, body)
            results.append(result)
        for part in _parts([(*key, *row) for key, row in changed.items()]):
            db.execute(_write_group(len(part)), [x for row in part for x in row])
        return results

    async def get(self, cid: str, pid: str) -> bytes | None:
        return await self._run(lambda: self._get(cid, pid))

    def _get(self, cid: str, pid: str) -> bytes | None:
        row = self._db.execute(
            "SELECT body FROM participants WHERE conversation = ? AND participant = ?", (cid, pid)
        ).fetchone()
        return None if row is None else bytes(row[0])

    async def conversation(self, cid: str) -> list[bytes]:
        return await self._run(lambda: self._conversation(cid))

    def _conversation(self, cid: str) -> list[bytes]:
        rows = self._db.execute(
            "SELECT body FROM participants WHERE conversation = ? ORDER BY participant", (cid,)
        ).fetchall()
        return [bytes(r[0]) for r in rows]
