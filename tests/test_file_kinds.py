"""Files of the wrong kind: callbacksim's own kinds are recognised, read properly or refused by
name; a file that is not text is unreadable (exit 2), not an invalid record; a file of JSON that
carries no participant property gets a warning.

Every file here is written by ``callbacksim generate`` itself (or derived from one), and every
command runs in this process through `callbacksim.cli.main`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from callbacksim.cli import main
from callbacksim.errors import UsageError
from callbacksim.records import FileKind, Record, kind_of, lifecycle_events, read_records
from callbacksim.rules import check

NO_PATHS = "; id.matches-path unchecked: no request paths"
"""What validate's summary says of records judged without their request paths."""


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A participant fixture with labels and manifest, and a lifecycle events file."""
    root = tmp_path_factory.mktemp("kinds")
    for argv in (
        ["generate", "participants", "--count", "6", "--mode", "mixed", "--out", root / "p.jsonl"],
        ["generate", "lifecycles", "--count", "3", "--seed", "4", "--out", root / "l.jsonl"],
    ):
        assert main([str(a) for a in argv]) == 0
    return {
        "participants": root / "p.jsonl",
        "labels": root / "p.labels.jsonl",
        "manifest": root / "p.manifest.json",
        "participants-manifest": root / "l.manifest.json",
        "events": root / "l.jsonl",
    }


def run(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, list[str]]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err.splitlines()


def test_each_kind_is_recognised_by_its_first_record(files: dict[str, Path]) -> None:
    def first(path: Path) -> object:
        with path.open("rb") as stream:
            return next(iter(read_records(stream, name=str(path)))).payload

    assert kind_of(first(files["participants"])) is FileKind.PARTICIPANTS
    assert kind_of(first(files["labels"])) is FileKind.LABELS
    assert kind_of(first(files["manifest"])) is FileKind.MANIFEST
    assert kind_of(first(files["participants-manifest"])) is FileKind.MANIFEST
    assert kind_of(first(files["events"])) is FileKind.LIFECYCLE_EVENTS
    # Near misses stay participants: every property is optional.
    assert kind_of({"index": 0, "kind": "valid", "name": "x"}) is FileKind.PARTICIPANTS
    assert kind_of({"tool": "something else", "versions": {}}) is FileKind.PARTICIPANTS
    assert kind_of({"conversationId": "c", "participant": {}}) is FileKind.PARTICIPANTS
    assert kind_of([1, 2]) is FileKind.PARTICIPANTS


@pytest.mark.parametrize(
    ("which", "named"),
    [("labels", "is a labels file"), ("manifest", "is a manifest")],
)
@pytest.mark.parametrize("command", ["validate", "coverage"])
def test_labels_and_manifests_are_refused_by_name(
    which: str, named: str, command: str, files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, command, files[which])
    assert code == 2
    assert len(err) == 1
    assert err[0].startswith(f"callbacksim: error: {files[which]} {named}")
    assert "pass the fixture file itself" in err[0]
    assert "valid" not in out


def test_validate_reads_the_participants_inside_lifecycle_events(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = [orjson.loads(x) for x in files["events"].read_bytes().splitlines()]
    code, out, err = run(capsys, "validate", files["events"])
    assert code == 0
    assert (
        out
        == f"{len(events)} record(s) checked (strict rules, seed edition{NO_PATHS}): all valid\n"
    )
    assert err == [
        f"callbacksim: note: {files['events']} holds lifecycle events: read the participant of each"
    ]
    # Break the participant of the third event: reported at that event's line, by its rules.
    events[2]["participant"]["startTime"] = "yesterday"
    broken = tmp_path / "broken.jsonl"
    broken.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    expected = [v.rule for v in check(events[2]["participant"])]
    code, out, _ = run(capsys, "validate", broken)
    assert code == 1
    assert out.splitlines()[0] == f"{broken}:3: invalid, {len(expected)} violation" + (
        "s" if len(expected) > 1 else ""
    )
    assert [line.split()[0] for line in out.splitlines()[1:-1]] == expected


def test_coverage_counts_the_participants_of_lifecycle_events(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    events = files["events"].read_bytes().splitlines()
    code, out, _ = run(capsys, "coverage", "--format", "json", files["events"])
    assert code == 0
    assert orjson.loads(out)["records"] == len(events)


def test_a_json_file_with_no_participant_property_gets_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    foo = tmp_path / "foo.json"
    foo.write_bytes(b'{"foo": 1}')
    code, out, err = run(capsys, "validate", foo)
    assert code == 0  # valid by the letter: every property is optional
    assert "all valid" in out
    assert err == [
        f"callbacksim: warning: none of the 1 record(s) in {foo} has any participant property "
        "(id, state, purpose, ...): is it the file you meant?"
    ]
    some = tmp_path / "some.jsonl"
    some.write_bytes(b'{"foo": 1}\n{"id": "p1"}\n')
    code, _, err = run(capsys, "validate", some)
    assert (code, err) == (0, [])  # one record is a participant: no warning


def test_coverage_of_a_text_file_is_an_error_not_an_empty_participant(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello world\nthis is not JSON\n")
    code, out, err = run(capsys, "coverage", text)
    assert code == 2
    assert out == ""
    assert len(err) == 1
    assert err[0].startswith(f"callbacksim: error: {text}")
    assert "coverage counts participant objects only" in err[0]
    # JSON that is no object (an invalid fixture record, say) is not counted, and said so; a file
    # of nothing else is refused.
    lines = tmp_path / "mixed.jsonl"
    lines.write_bytes(b'{"id": "a"}\n42\n{"id": "b"}\n')
    code, _, err = run(capsys, "coverage", lines)
    assert code == 0
    assert err == [
        f"callbacksim: note: 1 record(s) are not JSON objects: counted as records, they cover "
        f"nothing (first: {lines}:2)"
    ]
    only = tmp_path / "numbers.jsonl"
    only.write_bytes(b"1\n2\n")
    code, _, err = run(capsys, "coverage", only)
    assert code == 2
    assert err[-1:] == [
        f"callbacksim: error: {only}:1: not a JSON object; coverage counts participant objects only"
    ]


@pytest.mark.parametrize(
    "content",
    [
        bytes(range(256)) * 4,  # NUL bytes
        b"\x89PNG\r\n\x1a\n" + bytes(range(128, 256)) * 20,  # no NUL, hardly any UTF-8
    ],
    ids=["nul", "not-utf8"],
)
@pytest.mark.parametrize("command", ["validate", "coverage"])
def test_a_binary_file_is_unreadable_not_an_invalid_record(
    content: bytes, command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    binary = tmp_path / "photo.png"
    binary.write_bytes(content)
    code, out, err = run(capsys, command, binary)
    assert code == 2
    assert out == ""
    assert len(err) == 1
    assert err[0].startswith(f"callbacksim: error: {binary} is not a text file")


def test_one_bad_byte_in_a_text_file_is_still_an_invalid_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mostly = tmp_path / "mostly.jsonl"
    mostly.write_bytes(b'{"id": "a"}\n{"name": "\xff"}\n{"id": "c"}\n')
    code, out, _ = run(capsys, "validate", mostly)
    assert code == 1
    assert out.startswith(f"{mostly}:2: invalid, 1 violation")


def test_lifecycle_events_name_the_bad_record_and_the_wrong_kind(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def records(*payloads: object) -> Iterator[Record]:
        for i, p in enumerate(payloads):
            yield Record(i, i + 1, p)

    event = orjson.loads(files["events"].read_bytes().splitlines()[0])
    assert list(lifecycle_events(records(event, event), "f")) == [event, event]
    with pytest.raises(UsageError, match=r"^f:2 is not a lifecycle event \(expected an object"):
        list(lifecycle_events(records(event, {"id": "p"}, event), "f"))
    with pytest.raises(UsageError, match=r"^f:2 is not a lifecycle event \(not JSON\)"):
        list(lifecycle_events(iter([Record(0, 1, event), Record(1, 2, error="not JSON")]), "f"))
    with pytest.raises(UsageError, match=r"^f holds participants, not lifecycle events"):
        list(lifecycle_events(records({"id": "p"}), "f"))
    # Through the commands that read events: replay and show.
    code, _, err = run(capsys, "replay", "http://127.0.0.1:9", files["participants"])
    assert code == 2
    assert err == [
        f"callbacksim: error: {files['participants']} holds participants, not lifecycle events; "
        "pass a file `callbacksim generate lifecycles` wrote"
    ]
    code, _, err = run(capsys, "show", "--file", files["labels"])
    assert code == 2
    assert err[0].startswith(f"callbacksim: error: {files['labels']} is a labels file")
