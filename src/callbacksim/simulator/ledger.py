"""The ledger of a replay: what defines the run, then one JSON line per outcome, as it happens.

Three kinds of line, each one JSON object:

- the **header**, first: ``{"ledger": "callbacksim replay", "version": 1, "run": {...}}``, what
  defines the run (source, seed, edition, profile, faults, adapter, target). ``--resume`` refuses
  a ledger whose run differs, naming the setting;
- an **event**: ``{"conversationId", "participantId", "sequence", "outcome", "status",
  "attempts", "reason"}``; the outcome is ``delivered`` (2xx), ``rejected`` (another 4xx),
  ``failed`` (no usable answer before the retries gave up) or ``lost`` (dropped by the loss
  fault, never sent);
- a **conversation done**: ``{"conversation", "ordinal", "events", "verified", ...}``, written once
  every event of the conversation (the ``ordinal``-th of the source, from 0) has its line and, when
  replay reads back, after the read-back, with its verdict.

Resuming reads the ledger as a stream and keeps no line of it: conversations finish roughly in
source order, so the finished ones are a *watermark* (every ordinal below it is done) plus the few
finished above it; only the conversations that were in flight when the run stopped keep their
event keys. Memory stays flat whatever the size of the run. A torn last line (the one being
written at a kill) is cut off, so appending goes on cleanly.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import attrs
import orjson

from callbacksim.errors import UsageError

__all__ = [
    "Key",
    "Ledger",
    "LedgerState",
    "Verdict",
    "check_same_run",
    "read_header",
    "read_ledger",
]

Key = tuple[str, str, int]
"""An event's identity: (conversation id, participant id, sequence)."""

FORMAT = "callbacksim replay"
VERSION = 1
_EXAMPLES = 20

_EVENT_START = b'{"conversationId":'
_DONE_START = b'{"conversation":'
_HEADER_START = b'{"ledger":'
_STARTS = (_EVENT_START, _DONE_START, _HEADER_START)
"""How every ledger line begins (each kind is written with that key first)."""


@attrs.frozen
class Verdict:
    """The read-back of one conversation, as the ledger keeps it."""

    participants: int
    participants_converged: int
    converged: bool
    unreadable: bool
    """Some read got no usable answer, and nothing read differed."""
    problems: tuple[str, ...] = ()
    """A few of its problems, as one line each."""


@attrs.define
class LedgerState:
    """What a ledger records, gathered as it is read: kept small whatever the ledger's size."""

    run: dict[str, Any] | None = None
    """The header's run identity (None: an empty ledger)."""
    watermark: int = 0
    """Every conversation of ordinal below this is done."""
    done_above: set[int] = attrs.field(factory=set)
    """The ordinals done at or above the watermark."""
    pending: dict[str, set[tuple[str, int]]] = attrs.field(factory=dict)
    """Conversations with events recorded but not done: their (participant id, sequence) keys."""
    counts: Counter[str] = attrs.field(factory=Counter)
    """Events by outcome."""
    conversations: int = 0
    """Conversations done."""
    verified: int = 0
    """Conversations done and read back."""
    participants: int = 0
    participants_converged: int = 0
    conversations_converged: int = 0
    unreadable: int = 0
    examples: list[str] = attrs.field(factory=list)

    def is_done(self, ordinal: int) -> bool:
        return ordinal < self.watermark or ordinal in self.done_above

    def recorded(self, key: Key) -> bool:
        """Whether the event ``key`` of a conversation that is not done has its line."""
        cid, pid, sequence = key
        keys = self.pending.get(cid)
        return keys is not None and (pid, sequence) in keys

    def _event(self, key: Key, outcome: str) -> None:
        keys = self.pending.setdefault(key[0], set())
        if (key[1], key[2]) not in keys:
            keys.add((key[1], key[2]))
            self.counts[outcome] += 1

    def _done(self, cid: str, ordinal: int, verdict: Verdict | None) -> None:
        self.pending.pop(cid, None)
        if self.is_done(ordinal):
            return
        self.conversations += 1
        self.done_above.add(ordinal)
        while self.watermark in self.done_above:
            self.done_above.discard(self.watermark)
            self.watermark += 1
        if verdict is not None:
            self.add_verdict(verdict)

    def add_verdict(self, verdict: Verdict) -> None:
        self.verified += 1
        self.participants += verdict.participants
        self.participants_converged += verdict.participants_converged
        self.conversations_converged += verdict.converged
        self.unreadable += verdict.unreadable
        for problem in verdict.problems:
            if len(self.examples) < _EXAMPLES:
                self.examples.append(problem)


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flat(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: value}


def check_same_run(path: Path, recorded: Mapping[str, Any], wanted: Mapping[str, Any]) -> None:
    """`UsageError` naming the first setting in which ``wanted`` differs from the ledger's run."""
    there, here = _flat(recorded), _flat(wanted)
    for name in [*here, *(k for k in there if k not in here)]:
        if there.get(name) != here.get(name):
            msg = (
                f"the ledger {path} belongs to another run: its {name} is "
                f"{_show(there.get(name))}, this run's is {_show(here.get(name))}; resume with "
                "the same settings, or give a new --ledger"
            )
            raise UsageError(msg)


def _show(value: Any) -> str:
    return "not set" if value is None else orjson.dumps(value).decode()


def read_header(path: Path) -> dict[str, Any] | None:
    """The run a ledger's header records (its first line only); None for an empty ledger or a
    header torn by a kill. `UsageError` for a file that does not begin as a ledger."""
    try:
        with path.open("rb") as handle:
            first = handle.readline()
    except OSError as exc:
        msg = f"{path}: cannot be read ({exc.strerror})"
        raise UsageError(msg) from None
    if not first.endswith(b"\n"):
        return None
    if not first.startswith(_HEADER_START):
        what = (
            "has no header line saying which run wrote it"
            if first.startswith(_EVENT_START)
            else "is not a ledger"
        )
        msg = f"{path} {what}; pass the ledger a replay wrote, or start a new --ledger"
        raise UsageError(msg)
    state = LedgerState()
    _read_line(path, 1, first, state)
    return state.run


def read_ledger(path: Path) -> LedgerState:
    """What the ledger at ``path`` records (nothing if it does not exist). Read as a stream; a torn
    last line (a run killed while writing it) is cut off the file, once the rest proved a ledger.
    `UsageError` for a file that is not a ledger."""
    state = LedgerState()
    if not path.exists():
        return state
    try:
        handle = path.open("rb")
    except OSError as exc:
        msg = f"{path}: cannot be read ({exc.strerror})"
        raise UsageError(msg) from None
    end = 0
    tail = b""
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.endswith(b"\n"):
                tail = line
                break
            end += len(line)
            if line.strip():
                _read_line(path, number, line, state)
    # Cut the torn line only once the file proved a ledger, and only if it begins like a line the
    # ledger writes: a file that is no ledger is left as it was.
    if tail:
        if not any(tail.startswith(s) or s.startswith(tail) for s in _STARTS):
            msg = f"{path} does not end with a ledger line; pass the ledger a replay wrote"
            raise UsageError(msg)
        with path.open("r+b") as writable:
            writable.truncate(end)
    return state


def _read_line(path: Path, number: int, line: bytes, state: LedgerState) -> None:
    def refuse() -> UsageError:
        msg = f"{path}:{number} is not a ledger line; pass the ledger a replay wrote"
        return UsageError(msg)

    try:
        entry = orjson.loads(line)
    except orjson.JSONDecodeError:
        raise refuse() from None
    if not isinstance(entry, dict):
        raise refuse()
    try:
        if "ledger" in entry:
            if number != 1 or entry["ledger"] != FORMAT or not isinstance(entry["run"], dict):
                raise refuse()
            if entry.get("version") != VERSION:
                msg = (
                    f"{path} is a ledger of version {entry.get('version')!r}; this callbacksim "
                    f"reads version {VERSION}: start a new --ledger"
                )
                raise UsageError(msg)
            state.run = entry["run"]
        elif "conversation" in entry:
            verdict = None
            if entry["verified"]:
                verdict = Verdict(
                    int(entry["participants"]),
                    int(entry["participantsConverged"]),
                    bool(entry["converged"]),
                    bool(entry["unreadable"]),
                    tuple(str(p) for p in entry.get("problems", ())),
                )
            state._done(str(entry["conversation"]), int(entry["ordinal"]), verdict)
        else:
            key = (
                str(entry["conversationId"]),
                str(entry["participantId"]),
                int(entry["sequence"]),
            )
            state._event(key, str(entry["outcome"]))
    except (KeyError, TypeError, ValueError):
        raise refuse() from None


class Ledger:
    """Appends one line per outcome, written through at once (no buffering), so a kill loses at
    most the line being written. ``run`` is written as the header of a new (empty) ledger."""

    def __init__(self, path: Path | None, run: Mapping[str, Any] | None = None) -> None:
        self._handle: IO[bytes] | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                self._handle = path.open("ab", buffering=0)
            except OSError as exc:
                msg = f"cannot write the ledger {path} ({exc.strerror}); give another --ledger"
                raise UsageError(msg) from None
            if run is not None and self._handle.tell() == 0:
                header = {"ledger": FORMAT, "version": VERSION, "run": dict(run)}
                self._handle.write(orjson.dumps(header) + b"\n")
                os.fsync(self._handle.fileno())

    def write(self, entry: Mapping[str, Any]) -> None:
        """An event's line (``conversationId`` first)."""
        if self._handle is not None:
            self._handle.write(orjson.dumps(entry) + b"\n")

    def done(self, cid: str, ordinal: int, events: int, verdict: Verdict | None) -> None:
        """The line saying conversation ``cid`` is done, with its read-back verdict if any."""
        if self._handle is None:
            return
        entry: dict[str, Any] = {
            "conversation": cid,
            "ordinal": ordinal,
            "events": events,
            "verified": verdict is not None,
        }
        if verdict is not None:
            entry["participants"] = verdict.participants
            entry["participantsConverged"] = verdict.participants_converged
            entry["converged"] = verdict.converged
            entry["unreadable"] = verdict.unreadable
            if verdict.problems:
                entry["problems"] = list(verdict.problems)
        self._handle.write(orjson.dumps(entry) + b"\n")

    def close(self) -> None:
        if self._handle is not None:
            os.fsync(self._handle.fileno())
            self._handle.close()
            self._handle = None
