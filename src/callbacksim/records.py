"""Reading participant records from files: one JSON value, a JSON array, or JSON Lines.

Records stream: a JSON array is read item by item (ijson) and JSON Lines line by line, so memory
does not grow with the file. A line that is not JSON is still a record (one that breaks
``json.object``), never skipped; a JSON array that breaks off half-way is an unreadable file
(`JsonError`) after the records before the break have been yielded. A file that is not text at all
(binary data) is refused before anything is read (`UsageError`).

The files callbacksim writes are recognised by their first record (`kind_of`): participants,
lifecycle events (objects with ``time``, ``conversationId``, ``participantId``, ``sequence`` and
``participant``), labels (objects with ``index`` and ``kind``) and manifests (an object whose
``tool`` names callbacksim). `ParticipantRecords` reads participants out of any of them: the
participant of each lifecycle event, and refuses labels and manifests by name; `lifecycle_events`
reads events and refuses anything else, naming the line.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import IO, Any, cast

import attrs
import ijson

from callbacksim.codec import loads
from callbacksim.errors import JsonError, UsageError

__all__ = [
    "FileKind",
    "InputFormat",
    "Line",
    "ParticipantRecords",
    "Record",
    "ijson_reason",
    "kind_of",
    "lifecycle_events",
    "open_source",
    "parse_line",
    "read_lines",
    "read_records",
]


class InputFormat(StrEnum):
    AUTO = "auto"
    """JSON Lines for ``.jsonl``/``.ndjson`` files; otherwise sniffed from the first line."""
    JSON = "json"
    """One JSON document: a participant, or an array of them."""
    JSONL = "jsonl"
    """One JSON value per line; blank lines are skipped."""
    DOCUMENT = "document"
    """The whole input is one record, whatever its JSON value (an array too): the files that
    ``generate --format dir`` writes, one record each."""


@attrs.frozen
class Record:
    """One input record: its 0-based ``index``, its 1-based ``line`` (JSON Lines only), and the
    parsed value, or ``error`` saying why the text is not JSON."""

    index: int
    line: int | None
    payload: Any = None
    error: str | None = None


# Reading a large file a line at a time costs half as much with a read buffer of this size as with
# the default 8 KiB: far fewer system calls, each copying more.
_BUFFER = 256 * 1024

Line = tuple[int, int, bytes]
"""A JSON Lines record not parsed yet: its 0-based index, its 1-based line number and its text."""


@contextmanager
def open_source(source: str) -> Iterator[IO[bytes]]:
    """A binary stream for a path, or standard input for ``-``; `UsageError` if unreadable."""
    if source == "-":
        yield sys.stdin.buffer
        return
    path = Path(source)
    if path.is_dir():
        msg = f"{source} is a directory; pass the JSON or JSON Lines files inside it"
        raise UsageError(msg)
    try:
        handle = path.open("rb", buffering=_BUFFER)
    except FileNotFoundError:
        msg = f"{source}: no such file; check the path (use - to read standard input)"
        raise UsageError(msg) from None
    except OSError as exc:
        msg = f"{source}: cannot be read ({exc.strerror})"
        raise UsageError(msg) from None
    with handle:
        yield handle


def _first_byte(stream: io.BufferedReader[Any]) -> tuple[bytes, int]:
    """The first non-blank byte (``b""`` if none) and how many line breaks were consumed before
    it, so that JSON Lines numbering still counts the blank lines skipped here."""
    breaks = 0
    while True:
        head = stream.peek(64)
        if not head:
            return b"", breaks
        stripped = head.lstrip()
        if stripped:
            return stripped[:1], breaks
        breaks += head.count(b"\n")
        stream.read(len(head))


def read_records(
    stream: IO[bytes], *, fmt: InputFormat = InputFormat.AUTO, name: str = ""
) -> Iterator[Record]:
    """The records of a stream, in order. See the module docstring for the formats."""
    for item in read_lines(stream, fmt=fmt, name=name):
        yield item if isinstance(item, Record) else parse_line(item)


def parse_line(line: Line) -> Record:
    """The record of a JSON Lines line."""
    index, number, text = line
    return _document(text, index, number)


def read_lines(
    stream: IO[bytes], *, fmt: InputFormat = InputFormat.AUTO, name: str = ""
) -> Iterator[Record | Line]:
    """`read_records`, except that JSON Lines records come unparsed, as `Line` (all of them, or
    all but the first when the format is sniffed), for a reader with its own faster way to parse
    the common case; `parse_line` makes each the record `read_records` gives."""
    buffered = (
        stream
        if isinstance(stream, io.BufferedReader)
        else io.BufferedReader(cast(io.RawIOBase, stream), _BUFFER)
    )
    if fmt is InputFormat.AUTO:
        lower = name.lower()
        fmt = InputFormat.JSONL if lower.endswith((".jsonl", ".ndjson")) else InputFormat.AUTO
    first, skipped = _first_byte(buffered)
    if not first:
        return
    _refuse_binary(buffered.peek(_SNIFF)[:_SNIFF], name)
    if fmt is InputFormat.DOCUMENT:
        yield _document(buffered.read(), 0, None)
        return
    if fmt is InputFormat.JSONL or (fmt is InputFormat.AUTO and first != b"["):
        yield from _jsonl_or_document(buffered, sniff=fmt is InputFormat.AUTO, start=1 + skipped)
    elif first == b"[":
        yield from _array(buffered)
    else:
        yield _document(buffered.read(), 0, None)


_SNIFF = 8192
"""How many bytes at the start of an input decide whether it is text."""


def _refuse_binary(head: bytes, name: str) -> None:
    """`UsageError` for input that is not text: a NUL byte, or mostly bytes that are not UTF-8."""
    where = name or "the input"
    nul = head.find(b"\0")
    if nul >= 0:
        msg = f"{where} is not a text file (a NUL byte at byte {nul}); pass JSON or JSON Lines"
        raise UsageError(msg)
    # The last few bytes may be a character cut by the sniff window.
    text = head[:-3].decode("utf-8", errors="replace") if len(head) > 3 else ""
    bad = text.count("\ufffd")
    if text and bad > max(8, len(text) // 20):
        msg = (
            f"{where} is not a text file ({bad} of its first {len(text)} characters are not "
            "UTF-8); pass JSON or JSON Lines"
        )
        raise UsageError(msg)


def _document(text: bytes, index: int, line: int | None) -> Record:
    try:
        return Record(index, line, loads(text))
    except JsonError as exc:
        return Record(index, line, error=str(exc))


def _array(stream: IO[bytes]) -> Iterator[Record]:
    index = 0
    try:
        for item in ijson.items(stream, "item", use_float=True):
            yield Record(index, None, item)
            index += 1
    except ijson.JSONError as exc:
        msg = f"the JSON array is not valid JSON after {index} item(s): {ijson_reason(exc)}"
        raise JsonError(msg) from None


def ijson_reason(exc: ijson.JSONError) -> str:
    """The first line of an ijson error's message: the C backend's messages may be bytes,
    several lines long (a caret under the text)."""
    reason = exc.args[0] if len(exc.args) == 1 else str(exc)
    if isinstance(reason, bytes):
        reason = reason.decode("utf-8", "replace")
    lines = str(reason).strip().splitlines()
    return lines[0].strip() if lines else type(exc).__name__


def _jsonl_or_document(
    stream: IO[bytes], *, sniff: bool, start: int = 1
) -> Iterator[Record | Line]:
    index = 0
    for number, raw in enumerate(stream, start=start):
        if raw.isspace():
            continue
        if sniff:
            record = _document(raw, index, number)
            if record.error is not None:
                # Not a complete value on its first line: one multi-line JSON document.
                whole = _document(raw + stream.read(), 0, None)
                if whole.error is not None:
                    hint = " (read as one JSON document; pass --input-format jsonl for JSON Lines)"
                    whole = attrs.evolve(whole, error=whole.error + hint)
                yield whole
                return
            sniff = False
            yield record
        else:
            yield index, number, raw
        index += 1


# -- what kind of file ----------------------------------------------------------------------------


class FileKind(StrEnum):
    """The kinds of file callbacksim reads and writes, told apart by their first record."""

    PARTICIPANTS = "participants"
    LIFECYCLE_EVENTS = "lifecycle events"
    LABELS = "labels"
    MANIFEST = "manifest"


_EVENT_KEYS = frozenset({"time", "conversationId", "participantId", "sequence", "participant"})
_LABEL_KEYS = frozenset({"index", "kind", "rules", "features"})


def kind_of(payload: Any) -> FileKind:
    """The kind of file a record belongs to (participants unless it has another kind's shape)."""
    if not isinstance(payload, dict):
        return FileKind.PARTICIPANTS
    keys = payload.keys()
    if keys >= _EVENT_KEYS:
        return FileKind.LIFECYCLE_EVENTS
    if {"index", "kind"} <= keys <= _LABEL_KEYS and isinstance(payload["index"], int):
        return FileKind.LABELS
    tool = payload.get("tool")
    if isinstance(tool, str) and tool.startswith("callbacksim ") and "versions" in keys:
        return FileKind.MANIFEST
    return FileKind.PARTICIPANTS


def _refuse_kind(kind: FileKind, name: str, wanted: str) -> UsageError:
    what = {
        FileKind.LABELS: "is a labels file (what `callbacksim generate` writes beside a fixture)",
        FileKind.MANIFEST: "is a manifest (what `callbacksim generate` writes beside a fixture)",
        FileKind.PARTICIPANTS: "holds participants",
        FileKind.LIFECYCLE_EVENTS: "holds lifecycle events",
    }[kind]
    fix = (
        "pass the fixture file itself"
        if kind in (FileKind.LABELS, FileKind.MANIFEST)
        else "pass a file `callbacksim generate lifecycles` wrote"
    )
    return UsageError(f"{name or 'the input'} {what}, not {wanted}; {fix}")


class ParticipantRecords:
    """The participant records of a file of any of callbacksim's kinds, decided by its first JSON
    record: participants as they are; each lifecycle event's ``participant`` (at the event's
    place); labels and manifests refused by name (`UsageError`).

    While iterating it counts the records and those that carry at least one of ``known`` (the
    participant properties) until one does: `warning` says so when none does, as a file of some
    other JSON would.

    ``records`` may hold unparsed JSON Lines (`read_lines`): iterating parses each, while `items`
    passes them on unparsed once the file is known to hold participants and one of them was
    recognised, for a reader with its own faster way to parse them (`validate.judge`).
    """

    def __init__(self, records: Iterable[Record | Line], name: str, known: Collection[str]) -> None:
        self._records = records
        self._name = name
        self._known = frozenset(known)
        self.kind: FileKind | None = None
        self.count = 0
        self.recognised = 0

    def __iter__(self) -> Iterator[Record]:
        for item in self.items():
            yield item if isinstance(item, Record) else parse_line(item)

    def items(self) -> Iterator[Record | Line]:
        """The records, those of a participants file past the first recognised one as they come
        (JSON Lines unparsed). From there on nothing is counted: `warning` needs no more."""
        rest = iter(self._records)
        for item in rest:
            if self.recognised and self.kind is FileKind.PARTICIPANTS:
                yield item
                yield from rest
                return
            if not isinstance(item, Record):
                item = parse_line(item)
            record = item
            payload = record.payload
            if self.kind is None and record.error is None:
                self.kind = kind_of(payload)
                if self.kind in (FileKind.LABELS, FileKind.MANIFEST):
                    raise _refuse_kind(self.kind, self._name, "participants")
            if self.kind is FileKind.LIFECYCLE_EVENTS and kind_of(payload) is self.kind:
                payload = payload["participant"]
                record = attrs.evolve(record, payload=payload)
            self.count += 1
            if isinstance(payload, dict) and not self._known.isdisjoint(payload):
                self.recognised += 1
            yield record

    def note(self) -> str | None:
        """What was read, when it was not plain participants."""
        if self.kind is FileKind.LIFECYCLE_EVENTS:
            return f"{self._name} holds lifecycle events: read the participant of each"
        return None

    def warning(self) -> str | None:
        """A warning when records were read but none carries any participant property."""
        if self.count and not self.recognised:
            return (
                f"none of the {self.count:,} record(s) in {self._name} has any participant "
                "property (id, state, purpose, ...): is it the file you meant?"
            )
        return None


def lifecycle_events(records: Iterable[Record], name: str) -> Iterator[dict[str, Any]]:
    """The lifecycle events of a file; `UsageError` naming the first record that is not one (and
    the kind of file, when its first record already shows it is another kind)."""
    first = True
    for record in records:
        payload = record.payload
        kind = kind_of(payload) if record.error is None else None
        if first and kind is not None and kind is not FileKind.LIFECYCLE_EVENTS:
            raise _refuse_kind(kind, name, "lifecycle events")
        first = False
        if kind is not FileKind.LIFECYCLE_EVENTS:
            where = f"{name}[{record.index}]" if record.line is None else f"{name}:{record.line}"
            why = record.error or (
                "expected an object with time, conversationId, participantId, sequence and "
                "participant"
            )
            msg = f"{where} is not a lifecycle event ({why}); fix or remove that record"
            raise UsageError(msg)
        yield payload
