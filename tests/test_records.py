"""Reading records: sniffing the format, numbering lines, streaming, and the errors."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from callbacksim.errors import JsonError, UsageError
from callbacksim.model import Edition
from callbacksim.records import (
    FileKind,
    InputFormat,
    ParticipantRecords,
    Record,
    open_source,
    parse_line,
    read_lines,
    read_records,
)
from callbacksim.schema import participant_fields

HINT = "pass --input-format jsonl"


def read(data: bytes, name: str = "in.json", fmt: InputFormat = InputFormat.AUTO) -> list[Record]:
    return list(read_records(io.BytesIO(data), fmt=fmt, name=name))


def summary(records: list[Record]) -> list[tuple[int, int | None, Any, bool]]:
    """(index, line, payload, whether it is an error) of each record."""
    return [(r.index, r.line, r.payload, r.error is not None) for r in records]


class Trickle(io.RawIOBase):
    """A raw stream that hands out its data in fixed pieces (a slow pipe), counting what it gave."""

    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = list(pieces)
        self.given = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self.pieces:
            return 0
        piece = self.pieces[0][: len(buffer)]
        self.pieces[0] = self.pieces[0][len(piece) :]
        if not self.pieces[0]:
            self.pieces.pop(0)
        buffer[: len(piece)] = piece
        self.given += len(piece)
        return len(piece)


# ------------------------------------------------------------------------------------------------
# JSON Lines


def test_jsonl_numbers_lines_from_one_and_skips_blank_lines() -> None:
    data = b'{"a": 1}\n\n  \n[1, 2]\n\t\n"text"\n{"b": 2}'  # no final newline
    assert summary(read(data, "x.jsonl")) == [
        (0, 1, {"a": 1}, False),
        (1, 4, [1, 2], False),
        (2, 6, "text", False),
        (3, 7, {"b": 2}, False),
    ]


def test_a_line_that_is_not_json_is_a_record() -> None:
    records = read(b'{"a": 1}\nnot json\n{"a": \n\n{"b": 2}\n', "x.jsonl")
    assert summary(records) == [
        (0, 1, {"a": 1}, False),
        (1, 2, None, True),
        (2, 3, None, True),
        (3, 5, {"b": 2}, False),
    ]
    assert records[1].error is not None
    assert records[1].error.startswith("not a JSON document")
    assert HINT not in records[1].error


def test_crlf_line_endings() -> None:
    data = b'{"a": 1}\r\n\r\n{"b": "x"}\r\nbad\r\n'
    for name in ("x.jsonl", "x.json", ""):
        assert summary(read(data, name)) == [
            (0, 1, {"a": 1}, False),
            (1, 3, {"b": "x"}, False),
            (2, 4, None, True),
        ]


def test_leading_blank_lines_count_even_beyond_the_read_buffer() -> None:
    blank = b"\n" * 10_000 + b"   \n"  # more than a BufferedReader's default buffer
    assert summary(read(blank + b'{"a": 1}\nbad\n', "x.jsonl")) == [
        (0, 10_002, {"a": 1}, False),
        (1, 10_003, None, True),
    ]


def test_leading_blank_lines_that_arrive_alone_count() -> None:
    stream = io.BufferedReader(Trickle([b"\n", b" \r\n", b"\n", b'{"a": 1}\n', b"bad\n"]))
    records = list(read_records(stream, name="<stdin>"))
    assert summary(records) == [(0, 4, {"a": 1}, False), (1, 5, None, True)]


def test_jsonl_extension_is_case_insensitive_and_includes_ndjson() -> None:
    data = b"[1]\n[2]\n"  # arrays, one per line: JSON Lines by extension, not an array
    for name in ("x.jsonl", "X.JSONL", "dir/x.ndjson", "x.NDJSON"):
        assert summary(read(data, name)) == [(0, 1, [1], False), (1, 2, [2], False)]


def test_jsonl_format_reads_a_pretty_document_line_by_line() -> None:
    pretty = orjson.dumps({"a": "x", "b": {"c": "y"}}, option=orjson.OPT_INDENT_2)
    records = read(pretty, "x.json", InputFormat.JSONL)
    assert len(records) == pretty.count(b"\n") + 1
    assert all(r.error is not None and HINT not in r.error for r in records)
    assert [r.line for r in records] == list(range(1, len(records) + 1))


# ------------------------------------------------------------------------------------------------
# Sniffing (auto): JSON Lines, one document, or an array


def test_auto_reads_jsonl_when_the_first_line_is_a_value() -> None:
    data = b'{"a": 1}\n{"b": 2}\n{\n'
    assert summary(read(data, "x.json")) == [
        (0, 1, {"a": 1}, False),
        (1, 2, {"b": 2}, False),
        (2, 3, None, True),  # a later broken line is a record, not a reason to re-read
    ]
    assert summary(read(data, "-")) == summary(read(data, "x.json"))


def test_auto_reads_a_multiline_document_as_one_record() -> None:
    payload = {"id": "a", "wrapup": {"code": "c", "tags": ["x", "y"]}, "n": 2.5}
    pretty = b"\n\n" + orjson.dumps(payload, option=orjson.OPT_INDENT_2) + b"\n\n"
    assert summary(read(pretty, "x.json")) == [(0, None, payload, False)]
    assert summary(read(pretty, "<stdin>")) == [(0, None, payload, False)]
    assert summary(read(pretty, "x.json", InputFormat.JSON)) == [(0, None, payload, False)]
    # --input-format json wins over the .jsonl extension.
    assert summary(read(pretty, "x.jsonl", InputFormat.JSON)) == [(0, None, payload, False)]


def test_an_unparseable_multiline_document_is_one_record_with_a_hint() -> None:
    data = b'{\n  "a": 1,\n  "b": \n}\n{"c": 3}\n'
    [record] = read(data, "x.json")
    assert (record.index, record.line, record.payload) == (0, None, None)
    assert record.error is not None
    assert record.error.startswith("not a JSON document")
    assert record.error.endswith(
        "(read as one JSON document; pass --input-format jsonl for JSON Lines)"
    )


def test_json_format_does_not_sniff_or_hint() -> None:
    [record] = read(b'{"a": 1}\n{"b": 2}\n', "x.jsonl", InputFormat.JSON)
    assert record.line is None
    assert record.error is not None
    assert HINT not in record.error


def test_auto_reads_a_leading_bracket_as_an_array() -> None:
    data = b'  \n [\n {"a": 1},\n 42,\n "x",\n null,\n [1],\n {"b": {"c": [true]}}\n]\n'
    expected = [{"a": 1}, 42, "x", None, [1], {"b": {"c": [True]}}]
    for name, fmt in (
        ("x.json", InputFormat.AUTO),
        ("x", InputFormat.AUTO),
        ("x.jsonl", InputFormat.JSON),
    ):
        records = read(data, name, fmt)
        assert summary(records) == [(i, None, v, False) for i, v in enumerate(expected)]


def test_array_numbers_keep_their_json_types() -> None:
    [record] = read(b'[{"i": 2, "f": 2.0, "g": 2.5, "e": 2e3, "n": -7}]')
    payload = record.payload
    assert payload == {"i": 2, "f": 2.0, "g": 2.5, "e": 2000.0, "n": -7}
    assert [type(payload[k]) for k in ("i", "f", "g", "e", "n")] == [int, float, float, float, int]


@pytest.mark.parametrize("data", [b"", b" ", b"\n\n\r\n\t", b"\n" * 20_000, b"[]", b" [ \n ] "])
def test_empty_inputs_have_no_records(data: bytes) -> None:
    for name in ("x.json", "x.jsonl"):
        if data.strip().startswith(b"[") and name.endswith(".jsonl"):
            continue  # "[]" on a line of its own is one JSON Lines record
        assert read(data, name) == []


# ------------------------------------------------------------------------------------------------
# Broken arrays


@pytest.mark.parametrize(
    ("data", "before", "detail"),
    [
        (b'[{"a": 1}, {"b": 2}, {"c": ', 2, "premature EOF"),
        (b'[{"a": 1}, {"b": 2}', 2, "premature EOF"),
        (b"[1, 2, , 3]", 2, "parse error"),
        (b"[1] trailing", 1, "trailing garbage"),
        (b"[1]\n[2]\n", 1, "trailing garbage"),
        (b"[NaN]", 0, "lexical error"),
        (b'[{"a": "\xff"}]', 0, "invalid bytes in UTF8"),
    ],
)
def test_a_broken_array_raises_after_yielding_the_items_before(
    data: bytes, before: int, detail: str
) -> None:
    got: list[Record] = []
    with pytest.raises(JsonError) as info:
        got.extend(read_records(io.BytesIO(data), name="x.json"))
    assert [r.index for r in got] == list(range(before))
    assert all(r.error is None and r.line is None for r in got)
    message = str(info.value)
    assert message.startswith(f"the JSON array is not valid JSON after {before} item(s): ")
    assert detail in message
    assert "\n" not in message
    assert "b'" not in message


# ------------------------------------------------------------------------------------------------
# Streaming


def _participant_lines(n: int) -> Iterator[bytes]:
    for i in range(n):
        yield orjson.dumps({"id": f"p-{i}", "state": "connected", "name": "x" * 200})


@pytest.mark.parametrize("kind", ["jsonl", "array"])
def test_records_stream_without_reading_the_whole_input(kind: str) -> None:
    lines = list(_participant_lines(20_000))  # about 4.5 MB
    if kind == "jsonl":
        data, name = b"\n".join(lines) + b"\n", "x.jsonl"
    else:
        data, name = b"[" + b",\n".join(lines) + b"]", "x.json"
    raw = Trickle([data])
    records = read_records(io.BufferedReader(raw), name=name)
    first = next(records)
    assert first.payload["id"] == "p-0"
    assert raw.given < 256 * 1024
    for _ in range(999):
        next(records)
    assert raw.given < 512 * 1024
    rest = sum(1 for _ in records)
    assert rest == 19_000
    assert raw.given == len(data)


def test_reads_an_unbuffered_stream() -> None:
    """A stream that is not a BufferedReader (a BytesIO) is wrapped, not refused."""
    records = list(read_records(io.BytesIO(b'\n{"a": 1}\n'), name="x.jsonl"))
    assert summary(records) == [(0, 2, {"a": 1}, False)]


# ------------------------------------------------------------------------------------------------
# Opening sources


def test_open_source_reads_files_and_closes_them(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(b'{"a": 1}\n')
    with open_source(str(path)) as stream:
        assert summary(list(read_records(stream, name=str(path)))) == [(0, 1, {"a": 1}, False)]
    assert stream.closed


def test_open_source_dash_is_standard_input(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = io.TextIOWrapper(io.BufferedReader(io.BytesIO(b'[{"a": 1}]')))
    monkeypatch.setattr(sys, "stdin", fake)
    with open_source("-") as stream:
        assert stream is fake.buffer
        assert summary(list(read_records(stream, name="<stdin>"))) == [(0, None, {"a": 1}, False)]


def test_open_source_missing_file(tmp_path: Path) -> None:
    with (
        pytest.raises(UsageError, match=r"missing\.json: no such file"),
        open_source(str(tmp_path / "missing.json")),
    ):
        pass


def test_open_source_directory(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="is a directory"), open_source(str(tmp_path)):
        pass


def test_document_format_reads_the_whole_input_as_one_record_even_an_array() -> None:
    from io import BytesIO

    from callbacksim.records import InputFormat, read_records

    records = list(read_records(BytesIO(b'[{"id": "a"}, {"id": "b"}]'), fmt=InputFormat.DOCUMENT))
    assert len(records) == 1
    assert records[0].payload == [{"id": "a"}, {"id": "b"}]
    assert list(read_records(BytesIO(b"  \n"), fmt=InputFormat.DOCUMENT)) == []


# -- participants out of any file, fast for JSON Lines -------------------------------------------


def _lines_of(*records: Any) -> io.BytesIO:
    return io.BytesIO(b"".join(orjson.dumps(r) + b"\n" for r in records))


def test_participant_lines_pass_unparsed_once_one_is_recognised() -> None:
    known = participant_fields(Edition.SEED)
    data = [{"nothing": 1}, {"id": "a"}, {"id": "b"}, [1], {"state": "connected"}]
    reading = ParticipantRecords(
        read_lines(_lines_of(*data), fmt=InputFormat.JSONL), "p.jsonl", known
    )
    items = list(reading.items())
    # Parsed until the first record carrying a participant property, then passed on as lines.
    assert [isinstance(i, Record) for i in items] == [True, True, False, False, False]
    assert [
        parse_line(i).payload if not isinstance(i, Record) else i.payload for i in items
    ] == data
    assert reading.kind is FileKind.PARTICIPANTS
    assert (reading.count, reading.recognised) == (2, 1)  # counted until one was recognised
    assert reading.warning() is None
    # Iterating gives every record parsed, the same as reading records does.
    again = ParticipantRecords(
        read_lines(_lines_of(*data), fmt=InputFormat.JSONL), "p.jsonl", known
    )
    expected = list(read_records(_lines_of(*data), fmt=InputFormat.JSONL))
    assert list(again) == expected


def test_lifecycle_event_lines_are_always_parsed_for_their_participant() -> None:
    event = {"time": "t", "conversationId": "c", "participantId": "p", "sequence": 1}
    data = [{**event, "participant": {"id": "p", "n": n}} for n in range(3)]
    reading = ParticipantRecords(
        read_lines(_lines_of(*data), fmt=InputFormat.JSONL),
        "l.jsonl",
        participant_fields(Edition.SEED),
    )
    items = list(reading.items())
    assert all(isinstance(i, Record) for i in items)
    assert [i.payload for i in items if isinstance(i, Record)] == [d["participant"] for d in data]
    assert reading.kind is FileKind.LIFECYCLE_EVENTS


def test_a_file_with_no_participant_property_is_parsed_through_and_warned_of() -> None:
    data = [{"x": n} for n in range(4)]
    reading = ParticipantRecords(
        read_lines(_lines_of(*data), fmt=InputFormat.JSONL), "o.jsonl", {"id", "state"}
    )
    assert all(isinstance(i, Record) for i in reading.items())
    warning = reading.warning()
    assert warning is not None
    assert "none of the 4 record(s)" in warning
