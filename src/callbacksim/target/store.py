"""The participant store: SQLite on one dedicated thread, each write one transaction."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from enum import Enum
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

_T = TypeVar("_T")


class Store:
    """SQLite, used from one dedicated thread only: every call is serialized."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="callbacksim-store")
        self._conn: sqlite3.Connection | None = None

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
        return await self._run(lambda: self._put(cid, pid, sequence, digest, body))

    def _put(
        self, cid: str, pid: str, sequence: int | None, digest: bytes, body: bytes
    ) -> PutResult:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute(
                "SELECT sequence, digest FROM participants "
                "WHERE conversation = ? AND participant = ?",
                (cid, pid),
            ).fetchone()
            if row is None:
                db.execute(
                    "INSERT INTO participants (conversation, participant, sequence, digest, body) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (cid, pid, sequence, digest, body),
                )
                result = PutResult(PutOutcome.CREATED, sequence)
            else:
                stored, stored_digest = row
                if sequence is None or stored is None or sequence > stored:
                    # Without a sequence the body is replaced and the stored sequence kept.
                    kept = stored if sequence is None else sequence
                    db.execute(
                        "UPDATE participants SET sequence = ?, digest = ?, body = ? "
                        "WHERE conversation = ? AND participant = ?",
                        (kept, digest, body, cid, pid),
                    )
                    result = PutResult(PutOutcome.REPLACED, kept)
                elif sequence == stored:
                    same = bytes(stored_digest) == digest
                    result = PutResult(
                        PutOutcome.UNCHANGED if same else PutOutcome.CONFLICT, stored
                    )
                else:
                    result = PutResult(PutOutcome.STALE, stored)
            db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise
        return result

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
