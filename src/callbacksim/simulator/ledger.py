"""The ledger of a replay: one JSON line per event outcome, written through as it happens.

Each line is ``{"conversationId", "participantId", "sequence", "outcome", "status", "attempts",
"reason"}``; the outcome is ``delivered`` (2xx), ``rejected`` (another 4xx), ``failed``, or
``lost`` (dropped by the loss fault, never sent). A run killed at any point resumes from its
ledger: `read_ledger` gives the events already accounted for, and a torn last line (the one being
written at the kill) is cut off.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import IO, Any

import orjson

from callbacksim.errors import UsageError

__all__ = ["Key", "Ledger", "read_ledger"]

Key = tuple[str, str, int]
"""An event's identity: (conversation id, participant id, sequence)."""

_LINE_START = b'{"conversationId":'
"""How every ledger line begins (`replay` builds each entry with that key first)."""


def read_ledger(path: Path) -> tuple[set[Key], Counter[str]]:
    """The events a ledger records, and its counts by outcome. A torn last line (a run killed while
    writing it) is cut off the file, so appending goes on cleanly."""
    done: set[Key] = set()
    counts: Counter[str] = Counter()
    if not path.exists():
        return done, counts
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    for number, line in enumerate(data[:end].splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = orjson.loads(line)
            key = (
                str(entry["conversationId"]),
                str(entry["participantId"]),
                int(entry["sequence"]),
            )
            outcome = str(entry["outcome"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            msg = f"{path}:{number} is not a ledger line; pass the ledger a replay wrote"
            raise UsageError(msg) from None
        if key not in done:
            done.add(key)
            counts[outcome] += 1
    # Cut the torn line only once the file proved a ledger, and only if it begins like a line the
    # ledger writes: a file that is no ledger is left as it was.
    tail = data[end:]
    if tail:
        if not (tail.startswith(_LINE_START) or _LINE_START.startswith(tail)):
            msg = f"{path} does not end with a ledger line; pass the ledger a replay wrote"
            raise UsageError(msg)
        with path.open("r+b") as handle:
            handle.truncate(end)
    return done, counts


class Ledger:
    """Appends one line per event outcome, written through at once (no buffering), so a kill
    loses at most the line being written."""

    def __init__(self, path: Path | None) -> None:
        self._handle: IO[bytes] | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = path.open("ab", buffering=0)

    def write(self, entry: dict[str, Any]) -> None:
        if self._handle is not None:
            self._handle.write(orjson.dumps(entry) + b"\n")

    def close(self) -> None:
        if self._handle is not None:
            os.fsync(self._handle.fileno())
            self._handle.close()
