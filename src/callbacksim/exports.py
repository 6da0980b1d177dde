"""Reading exported callback conversations, as Genesys Cloud's Conversations API gives them.

``GET /api/v2/conversations/callbacks/{conversationId}`` answers with one conversation,
``{"id": ..., "participants": [participant, ...]}``; listings wrap a page of them in
``{"entities": [...], "pageSize": ..., ...}``. A file may hold

- one conversation, or one listing page (a JSON document, compact or indented),
- a JSON array of conversations or of pages,
- JSON Lines: one conversation or one page per line,

and several top-level documents one after another are read in turn. Everything streams: a JSON
array is read item by item and the ``entities`` of a listing document entity by entity, so memory
holds one conversation at a time however large the file. A value that is not a conversation (not an
object, or no ``participants`` array) is reported as such, never skipped silently.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import IO, Any, cast

import attrs
import ijson
from ijson.common import ObjectBuilder

from callbacksim.errors import JsonError
from callbacksim.records import InputFormat, ijson_reason, read_records

__all__ = ["Exported", "read_conversations"]


@attrs.frozen
class Exported:
    """One exported conversation: where it was (``file:line``, ``file[3]``,
    ``file.entities[7]``), and its raw JSON value, or ``problem`` saying why it is not one."""

    where: str
    payload: Any = None
    problem: str | None = None


def read_conversations(
    stream: IO[bytes], *, name: str, fmt: InputFormat = InputFormat.AUTO
) -> Iterator[Exported]:
    """The conversations of a stream, in order (see the module docstring for the shapes).

    `JsonError` for bytes that are not JSON, after every conversation before them was yielded.
    """
    buffered = (
        stream
        if isinstance(stream, io.BufferedReader)
        else io.BufferedReader(cast(io.RawIOBase, stream))
    )
    lines = fmt is InputFormat.JSONL or (
        fmt is InputFormat.AUTO and name.lower().endswith((".jsonl", ".ndjson"))
    )
    first = buffered.peek(1 << 12).lstrip()[:1]
    if not first and not buffered.peek(1):
        return
    if lines or first == b"[" or fmt is InputFormat.DOCUMENT:
        for record in read_records(buffered, fmt=fmt, name=name):
            where = (
                f"{name}:{record.line}" if record.line is not None else f"{name}[{record.index}]"
            )
            if record.error is not None:
                yield Exported(where, problem=f"not JSON: {record.error}")
            else:
                yield from _unwrap(record.payload, where)
        return
    yield from _documents(buffered, name)


def _unwrap(value: Any, where: str) -> Iterator[Exported]:
    """A conversation, or each conversation of a listing page."""
    if isinstance(value, dict) and "entities" in value and "participants" not in value:
        entities = value["entities"]
        if not isinstance(entities, list):
            yield Exported(where, problem="a listing page whose entities is not an array")
            return
        for index, item in enumerate(entities):
            yield _conversation(item, f"{where}.entities[{index}]")
    else:
        yield _conversation(value, where)


def _conversation(value: Any, where: str) -> Exported:
    if not isinstance(value, dict):
        return Exported(where, problem="not a JSON object (a conversation is one)")
    if not isinstance(value.get("participants"), list):
        return Exported(
            where,
            problem=(
                "no participants array: not a callback conversation "
                '(expected {"id", "participants": [...]} or a listing page with entities)'
            ),
        )
    return Exported(where, value)


_OPEN = frozenset({"start_map", "start_array"})
_CLOSE = frozenset({"end_map", "end_array"})


def _documents(stream: IO[bytes], name: str) -> Iterator[Exported]:
    """Top-level JSON documents one after another, each a conversation or a listing page; the
    ``entities`` of a page are yielded one by one as they are read."""
    document = 0
    top: dict[str, Any] | None = None
    key: str | None = None
    builder: ObjectBuilder | None = None
    depth = 0  # 1 inside the top-level object, 2 inside its entities array
    in_entities = False
    entity = 0
    where = name
    try:
        for _prefix, event, value in ijson.parse(stream, use_float=True, multiple_values=True):
            if depth == 0:
                where = name if document == 0 else f"{name}[{document}]"
                document += 1
                if event == "start_map":
                    top, depth, entity, in_entities = {}, 1, 0, False
                    continue
                # A top-level value that is not an object: built whole, then judged.
                builder = ObjectBuilder()
                builder.event(event, value)
                level = 1 if event in _OPEN else 0
                if level:
                    depth = -1  # building a non-object document
                    continue
                yield from _unwrap(builder.value, where)
                builder = None
                continue
            if depth == -1:
                assert builder is not None
                builder.event(event, value)
                level += 1 if event in _OPEN else -1 if event in _CLOSE else 0
                if level == 0:
                    yield from _unwrap(builder.value, where)
                    builder, depth = None, 0
                continue
            if depth == 1 and builder is None:
                if event == "map_key":
                    key = value
                    continue
                if event == "end_map":
                    depth = 0
                    if not in_entities:
                        yield from _unwrap(top, where)
                    top = None
                    continue
                assert top is not None
                if key == "entities" and event == "start_array" and "participants" not in top:
                    in_entities, depth = True, 2
                    continue
            if depth == 2 and builder is None and event == "end_array":
                depth = 1
                continue
            if builder is None:
                builder, level = ObjectBuilder(), 0
            builder.event(event, value)
            level += 1 if event in _OPEN else -1 if event in _CLOSE else 0
            if level == 0:
                if depth == 2:
                    yield _conversation(builder.value, f"{where}.entities[{entity}]")
                    entity += 1
                else:
                    assert top is not None
                    assert key is not None
                    top[key] = builder.value
                builder = None
    except ijson.JSONError as exc:
        msg = f"{where} is not valid JSON: {ijson_reason(exc)}"
        raise JsonError(msg) from None
    if depth != 0:
        msg = f"{where} is not valid JSON: the document breaks off before its end"
        raise JsonError(msg)
