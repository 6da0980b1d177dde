"""Reading exported conversations: every shape the API gives, streamed, and nothing dropped
silently."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from export_shapes import export, generated, pages

from callbacksim.errors import JsonError
from callbacksim.exports import Exported, read_conversations
from callbacksim.records import InputFormat

CONVERSATIONS = [export(lc) for lc in generated(7, seed=3)]


def read(data: bytes, name: str = "export.json", **kw: Any) -> list[Exported]:
    return list(read_conversations(io.BytesIO(data), name=name, **kw))


def ids(found: list[Exported]) -> list[str]:
    return [e.payload["id"] for e in found]


def test_one_conversation_compact_or_indented() -> None:
    one = CONVERSATIONS[0]
    for data in (orjson.dumps(one), orjson.dumps(one, option=orjson.OPT_INDENT_2)):
        (found,) = read(data)
        assert found == Exported("export.json", one)


def test_an_array_of_conversations() -> None:
    found = read(orjson.dumps(CONVERSATIONS))
    assert [e.payload for e in found] == CONVERSATIONS
    assert [e.where for e in found] == [f"export.json[{i}]" for i in range(7)]


def test_json_lines_of_conversations_by_name_and_by_sniffing() -> None:
    data = b"\n".join(orjson.dumps(c) for c in CONVERSATIONS) + b"\n"
    by_name = read(data, "export.jsonl")
    assert ids(by_name) == [c["id"] for c in CONVERSATIONS]
    assert [e.where for e in by_name] == [f"export.jsonl:{i}" for i in range(1, 8)]
    # Several documents one after another are read in turn too.
    assert ids(read(data)) == [c["id"] for c in CONVERSATIONS]


def test_listing_pages_one_an_array_or_lines() -> None:
    listing = pages(CONVERSATIONS, 3)
    assert len(listing) == 3
    want = [c["id"] for c in CONVERSATIONS]
    (first,) = listing[:1]
    found = read(orjson.dumps(first))
    assert ids(found) == want[:3]
    assert [e.where for e in found] == [f"export.json.entities[{i}]" for i in range(3)]
    assert ids(read(orjson.dumps(listing))) == want
    lines = b"\n".join(orjson.dumps(p) for p in listing)
    assert ids(read(lines, "pages.jsonl")) == want
    assert ids(read(lines)) == want


def test_page_metadata_may_come_before_or_after_the_entities() -> None:
    page = {"pageSize": 3, "entities": CONVERSATIONS[:2], "total": 2, "nextUri": None}
    assert ids(read(orjson.dumps(page))) == [c["id"] for c in CONVERSATIONS[:2]]
    empty = {"entities": [], "pageSize": 25}
    assert read(orjson.dumps(empty)) == []


class Breaks(io.RawIOBase):
    """A stream that gives ``data`` and then fails, as a file cut short would."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self._data.read(min(len(buffer), 256))
        if not chunk:
            raise OSError("the file was cut short here")
        buffer[: len(chunk)] = chunk
        return len(chunk)


def test_a_listing_document_streams_entity_by_entity() -> None:
    """Entities are yielded as they are read: the first arrives before the end of the file is
    ever reached (the stream fails at its end, after the conversations were read)."""
    many = [export(lc) for lc in generated(120, seed=4)]
    page = orjson.dumps({"entities": many, "pageSize": 120})
    assert len(page) > 4 * 64 * 1024  # several times what the parser reads at once
    stream: Iterator[Exported] = read_conversations(Breaks(page[: len(page) // 2]), name="b.json")
    first = next(stream)
    assert first.payload == many[0]
    seen = [first]
    with pytest.raises(OSError, match="cut short"):
        seen.extend(stream)
    assert 30 < len(seen) < 60


def test_what_is_not_a_conversation_is_reported_not_skipped() -> None:
    data = b'[1, {"id": "x"}, {"entities": 3}, {"id": "y", "participants": []}]'
    found = read(data)
    assert [e.where for e in found] == [f"export.json[{i}]" for i in range(4)]
    assert "not a JSON object" in (found[0].problem or "")
    assert "no participants array" in (found[1].problem or "")
    assert "entities is not an array" in (found[2].problem or "")
    assert found[3].problem is None
    (bad,) = read(b'{"id": "a", "participants": []}\nnot json\n', "x.jsonl")[1:]
    assert bad.where == "x.jsonl:2"
    assert (bad.problem or "").startswith("not JSON")


def test_broken_json_names_the_place_after_what_was_read() -> None:
    data = orjson.dumps(CONVERSATIONS[0]) + b"\n" + orjson.dumps(CONVERSATIONS[1])[:-30]
    stream = read_conversations(io.BytesIO(data), name="cut.json", fmt=InputFormat.JSON)
    assert next(stream).payload == CONVERSATIONS[0]
    with pytest.raises(JsonError, match=r"cut\.json\[1\] is not valid JSON"):
        next(stream)
    assert read(b"") == []
