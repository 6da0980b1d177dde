"""``callbacksim validate`` (and ``callbacksim rules``) end to end, through a real subprocess.

Every run goes through `run_cli`, which starts ``python -m callbacksim.cli`` (the same ``main`` as
the console script, tested on its own below) and fails on any traceback in standard error. The
expected violations are never written by hand: they are what `callbacksim.rules.check` says about
the same payload, so these tests pin the command's reading, numbering, rendering and exit status.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs
import orjson
import pytest

from callbacksim.generation.chooser import RandomChooser
from callbacksim.generation.invalid import build_invalid
from callbacksim.generation.participants import Shape, build_participant
from callbacksim.model import Edition
from callbacksim.rules import RuleSet, check, rule_ids

pytestmark = pytest.mark.slow

CLI = (sys.executable, "-m", "callbacksim.cli")
SEED = Edition.SEED
SDK = Edition.SDK_269

HEADER = re.compile(r"^(?P<where>\S+): invalid, (?P<n>\d+) violations?$")
SUMMARY = re.compile(
    r"^(?P<total>\d+) record\(s\) checked \((?P<rules>\w+) rules, (?P<edition>[\w-]+) edition"
    r"(?:; [^)]*)?\): "
    r"(?P<verdict>all valid|(?P<invalid>\d+) invalid)$"
)

NO_PATHS = "; id.matches-path unchecked: no request paths"
"""What validate's summary says of records judged without their request paths."""


@attrs.frozen
class Run:
    code: int
    out: str
    err: str

    @property
    def json_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.out.splitlines()]

    @property
    def err_lines(self) -> list[str]:
        return self.err.splitlines()


def _finish(code: int, out: bytes, err: bytes) -> Run:
    text = err.decode()
    assert "Traceback" not in text, text
    return Run(code, out.decode(), text)


def run_cli(
    *args: str | Path, cwd: Path, stdin: bytes | None = None, exe: Sequence[str] = CLI
) -> Run:
    proc = subprocess.run(
        [*exe, *map(str, args)],
        cwd=cwd,
        input=stdin if stdin is not None else b"",
        capture_output=True,
        timeout=60,
        check=False,
    )
    return _finish(proc.returncode, proc.stdout, proc.stderr)


def dumps(payload: object) -> bytes:
    return orjson.dumps(payload)


def expected(
    payload: object, *, edition: Edition = SEED, rules: RuleSet = RuleSet.STRICT
) -> list[dict[str, str]]:
    """The violations the command must report for a parsed record, in `check`'s order."""
    return [attrs.asdict(v) for v in check(payload, edition=edition, rules=rules)]


def text_report(out: str) -> tuple[dict[str, list[str]], list[str]]:
    """The text output as {where: violation lines} for invalid records, and the summary lines.

    Each header's count must match the violation lines under it."""
    records: dict[str, list[str]] = {}
    counts: dict[str, int] = {}
    summary: list[str] = []
    current: list[str] | None = None
    for line in out.splitlines():
        if line.startswith("  "):
            assert current is not None, line
            current.append(line)
        elif m := HEADER.match(line):
            assert m["where"] not in records, line
            current = records[m["where"]] = []
            counts[m["where"]] = int(m["n"])
        else:
            assert SUMMARY.match(line), line
            summary.append(line)
            current = None
    assert {where: len(lines) for where, lines in records.items()} == counts
    return records, summary


def violation_lines(violations: list[dict[str, str]]) -> list[str]:
    return [f"  {v['rule']}  {v['path']}  {v['message']}" for v in violations]


# ------------------------------------------------------------------------------------------------
# Inputs


@pytest.fixture(scope="module")
def people() -> dict[str, Any]:
    """Valid and invalid payloads, drawn once from a fixed seed."""
    ch = RandomChooser(20260101)
    return {
        "valid": [build_participant(ch, Shape()) for _ in range(4)],
        "order": build_invalid(ch, "order.start<=end").payload,
        "type": build_invalid(ch, "type.held").payload,
        # Two violations of two kinds at once.
        "two": {"id": "p-2", "state": "connected", "held": "yes"},
    }


@pytest.fixture
def sample_jsonl(people: dict[str, Any], tmp_path: Path) -> tuple[Path, list[tuple[int, Any]]]:
    """A JSON Lines file with valid and invalid records, a non-JSON line and blank lines; and its
    records as (line number, payload or the raw bytes of a non-JSON line)."""
    lines: list[bytes] = [
        dumps(people["valid"][0]),  # 1
        b"",  # 2 blank
        dumps(people["order"]),  # 3
        b"this is not json",  # 4
        b"   \t ",  # 5 blank
        dumps(people["valid"][1]),  # 6
        b'{"id": "half", "state": ',  # 7 cut short
        dumps(people["two"]),  # 8
        b"",  # 9 blank
        b"[1, 2]",  # 10 JSON, but not an object
        dumps(people["type"]),  # 11
        dumps(people["valid"][2]),  # 12
    ]
    path = tmp_path / "sample.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    records: list[tuple[int, Any]] = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            records.append((number, json.loads(raw)))
        except ValueError:
            records.append((number, raw))
    return path, records


def is_raw(payload: Any) -> bool:
    return isinstance(payload, bytes)


# ------------------------------------------------------------------------------------------------
# JSON Lines


def test_jsonl_text_reports_every_invalid_line_by_number(
    sample_jsonl: tuple[Path, list[tuple[int, Any]]],
) -> None:
    path, records = sample_jsonl
    run = run_cli("validate", path.name, cwd=path.parent)
    assert run.code == 1
    reported, summary = text_report(run.out)
    want: dict[str, list[str]] = {}
    for number, payload in records:
        where = f"sample.jsonl:{number}"
        if is_raw(payload):
            assert len(reported[where]) == 1
            assert reported[where][0].startswith("  json.object  $  not a JSON document")
            want[where] = reported[where]
        elif violations := expected(payload):
            want[where] = violation_lines(violations)
    assert reported == want
    # Lines 4 and 7 (not JSON), 3, 8, 10 and 11 (rules): six invalid of nine records.
    assert sorted(reported, key=lambda w: int(w.rsplit(":", 1)[1])) == [
        f"sample.jsonl:{n}" for n in (3, 4, 7, 8, 10, 11)
    ]
    assert summary == [f"9 record(s) checked (strict rules, seed edition{NO_PATHS}): 6 invalid"]
    assert run.err == ""


def test_jsonl_json_format_has_one_object_per_record(
    sample_jsonl: tuple[Path, list[tuple[int, Any]]],
) -> None:
    path, records = sample_jsonl
    run = run_cli("validate", "--format", "json", path.name, cwd=path.parent)
    assert run.code == 1
    got = run.json_lines
    assert len(got) == len(records)
    for index, (obj, (number, payload)) in enumerate(zip(got, records, strict=True)):
        assert list(obj) == ["source", "index", "line", "valid", "violations"]
        assert obj["source"] == "sample.jsonl"
        assert obj["index"] == index
        assert obj["line"] == number
        if is_raw(payload):
            assert obj["valid"] is False
            [violation] = obj["violations"]
            assert violation["rule"] == "json.object"
            assert violation["path"] == "$"
            assert violation["message"].startswith("not a JSON document")
        else:
            assert obj["violations"] == expected(payload)
            assert obj["valid"] is (not obj["violations"])
    assert [o["line"] for o in got if not o["valid"]] == [3, 4, 7, 8, 10, 11]
    assert run.err == ""


def test_crlf_jsonl_numbers_lines_like_lf(people: dict[str, Any], tmp_path: Path) -> None:
    body = b"\r\n".join([dumps(people["valid"][0]), b"", dumps(people["order"]), b"oops", b""])
    (tmp_path / "crlf.jsonl").write_bytes(body)
    run = run_cli("validate", "--format", "json", "crlf.jsonl", cwd=tmp_path)
    assert run.code == 1
    got = run.json_lines
    assert [(o["line"], o["valid"]) for o in got] == [(1, True), (3, False), (4, False)]
    assert [v["rule"] for v in got[1]["violations"]] == ["order.start<=end"]
    assert [v["rule"] for v in got[2]["violations"]] == ["json.object"]


# ------------------------------------------------------------------------------------------------
# JSON: an array, a single document


def test_json_array_reports_by_index(people: dict[str, Any], tmp_path: Path) -> None:
    items = [people["valid"][0], people["order"], 42, people["valid"][1], people["two"]]
    (tmp_path / "batch.json").write_bytes(orjson.dumps(items, option=orjson.OPT_INDENT_2))

    run = run_cli("validate", "batch.json", cwd=tmp_path)
    assert run.code == 1
    reported, summary = text_report(run.out)
    assert reported == {
        f"batch.json[{i}]": violation_lines(expected(item))
        for i, item in enumerate(items)
        if expected(item)
    }
    assert list(reported) == ["batch.json[1]", "batch.json[2]", "batch.json[4]"]
    assert summary == [f"5 record(s) checked (strict rules, seed edition{NO_PATHS}): 3 invalid"]

    run = run_cli("validate", "--format", "json", "batch.json", cwd=tmp_path)
    assert run.code == 1
    assert run.json_lines == [
        {
            "source": "batch.json",
            "index": i,
            "valid": not expected(item),
            "violations": expected(item),
        }
        for i, item in enumerate(items)
    ]


def test_single_pretty_printed_object(people: dict[str, Any], tmp_path: Path) -> None:
    good, bad = people["valid"][0], people["two"]
    (tmp_path / "good.json").write_bytes(orjson.dumps(good, option=orjson.OPT_INDENT_2))
    (tmp_path / "bad.json").write_bytes(orjson.dumps(bad, option=orjson.OPT_INDENT_2) + b"\n\n")

    run = run_cli("validate", "good.json", cwd=tmp_path)
    assert (run.code, run.out, run.err) == (
        0,
        f"1 record(s) checked (strict rules, seed edition{NO_PATHS}): all valid\n",
        "",
    )

    run = run_cli("validate", "bad.json", cwd=tmp_path)
    assert run.code == 1
    reported, summary = text_report(run.out)
    assert reported == {"bad.json[0]": violation_lines(expected(bad))}
    assert len(reported["bad.json[0]"]) == 2
    assert summary == [f"1 record(s) checked (strict rules, seed edition{NO_PATHS}): 1 invalid"]

    run = run_cli("validate", "--format", "json", "bad.json", "good.json", cwd=tmp_path)
    assert run.json_lines == [
        {"source": "bad.json", "index": 0, "valid": False, "violations": expected(bad)},
        {"source": "good.json", "index": 0, "valid": True, "violations": []},
    ]


def test_unparseable_multiline_document_is_one_record_with_a_hint(
    people: dict[str, Any], tmp_path: Path
) -> None:
    # JSON Lines under a .json name whose first line is broken: read as one (broken) document.
    body = b"{broken\n" + dumps(people["valid"][0]) + b"\n" + dumps(people["order"]) + b"\n"
    (tmp_path / "lines.json").write_bytes(body)

    run = run_cli("validate", "--format", "json", "lines.json", cwd=tmp_path)
    assert run.code == 1
    [obj] = run.json_lines
    assert obj["index"] == 0
    assert "line" not in obj
    [violation] = obj["violations"]
    assert violation["rule"] == "json.object"
    assert "--input-format jsonl" in violation["message"]

    # Told it is JSON Lines, every line is judged on its own.
    run = run_cli(
        "validate", "--format", "json", "--input-format", "jsonl", "lines.json", cwd=tmp_path
    )
    assert run.code == 1
    got = run.json_lines
    assert [(o["line"], o["valid"]) for o in got] == [(1, False), (2, True), (3, False)]
    assert "--input-format" not in got[0]["violations"][0]["message"]
    assert got[2]["violations"] == expected(people["order"])


def test_input_format_json_overrides_the_extension(people: dict[str, Any], tmp_path: Path) -> None:
    (tmp_path / "pretty.jsonl").write_bytes(
        orjson.dumps(people["order"], option=orjson.OPT_INDENT_2)
    )
    run = run_cli("validate", "--format", "json", "pretty.jsonl", cwd=tmp_path)
    assert run.code == 1
    assert len(run.json_lines) > 5  # auto: .jsonl is line by line, each line broken
    assert all(o["violations"][0]["rule"] == "json.object" for o in run.json_lines)

    run = run_cli(
        "validate", "--format", "json", "--input-format", "json", "pretty.jsonl", cwd=tmp_path
    )
    assert run.json_lines == [
        {
            "source": "pretty.jsonl",
            "index": 0,
            "valid": False,
            "violations": expected(people["order"]),
        }
    ]


# ------------------------------------------------------------------------------------------------
# Standard input and several files


def test_stdin_dash_reads_jsonl_and_arrays(
    people: dict[str, Any], sample_jsonl: tuple[Path, list[tuple[int, Any]]], tmp_path: Path
) -> None:
    path, records = sample_jsonl
    run = run_cli("validate", "--format", "json", "-", cwd=tmp_path, stdin=path.read_bytes())
    assert run.code == 1
    got = run.json_lines
    assert [o["source"] for o in got] == ["<stdin>"] * len(records)
    assert [o["line"] for o in got] == [number for number, _ in records]

    text = run_cli("validate", "-", cwd=tmp_path, stdin=path.read_bytes())
    reported, _ = text_report(text.out)
    assert "<stdin>:3" in reported
    assert "<stdin>:11" in reported

    items = [people["valid"][0], people["order"]]
    run = run_cli("validate", "--format", "json", "-", cwd=tmp_path, stdin=dumps(items))
    assert run.code == 1
    assert [(o["source"], o["index"], "line" in o, o["valid"]) for o in run.json_lines] == [
        ("<stdin>", 0, False, True),
        ("<stdin>", 1, False, False),
    ]

    run = run_cli("validate", "-", cwd=tmp_path, stdin=dumps(people["valid"][3]) + b"\n")
    assert run.code == 0


def test_stdin_counts_blank_lines_that_arrive_before_the_first_record(
    people: dict[str, Any], tmp_path: Path
) -> None:
    """The leading blank lines reach the reader alone (a slow pipe) and still count."""
    proc = subprocess.Popen(
        [*CLI, "validate", "--format", "json", "-"],
        cwd=tmp_path,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None
    proc.stdin.write(b"\n\n")
    proc.stdin.flush()
    time.sleep(0.3)
    out, err = proc.communicate(dumps(people["valid"][0]) + b"\nnot json\n", timeout=60)
    run = _finish(proc.returncode, out, err)
    assert run.code == 1
    assert [(o["line"], o["valid"]) for o in run.json_lines] == [(3, True), (4, False)]


def test_several_files_at_once(
    people: dict[str, Any], sample_jsonl: tuple[Path, list[tuple[int, Any]]]
) -> None:
    path, records = sample_jsonl
    folder = path.parent
    items = [people["order"], people["valid"][0]]
    (folder / "array.json").write_bytes(dumps(items))
    (folder / "one.json").write_bytes(orjson.dumps(people["valid"][1], option=orjson.OPT_INDENT_2))
    stdin = dumps(people["two"]) + b"\n"

    run = run_cli(
        "validate", "--format", "json", "sample.jsonl", "array.json", "-", "one.json",
        cwd=folder,
        stdin=stdin,
    )  # fmt: skip
    assert run.code == 1
    got = run.json_lines
    sources = [o["source"] for o in got]
    assert sources == ["sample.jsonl"] * len(records) + ["array.json"] * 2 + ["<stdin>", "one.json"]
    # Indexes restart with each source.
    assert [o["index"] for o in got[len(records) :]] == [0, 1, 0, 0]
    assert [o["valid"] for o in got[len(records) :]] == [False, True, False, True]
    assert got[len(records) + 2]["violations"] == expected(people["two"])

    run = run_cli(
        "validate", "sample.jsonl", "array.json", "-", "one.json", cwd=folder, stdin=stdin
    )
    reported, summary = text_report(run.out)
    assert {"array.json[0]", "<stdin>:1", "sample.jsonl:3"} <= set(reported)
    assert not any(w.startswith(("one.json", "array.json[1]")) for w in reported)
    total = len(records) + 4
    assert summary == [
        f"{total} record(s) checked (strict rules, seed edition{NO_PATHS}): 8 invalid"
    ]


def test_all_valid_files_exit_zero(people: dict[str, Any], tmp_path: Path) -> None:
    (tmp_path / "ok.jsonl").write_bytes(b"".join(dumps(p) + b"\n" for p in people["valid"]))
    (tmp_path / "ok.json").write_bytes(dumps(people["valid"]))
    run = run_cli("validate", "ok.jsonl", "ok.json", cwd=tmp_path)
    assert (run.code, run.err) == (0, "")
    assert run.out == f"8 record(s) checked (strict rules, seed edition{NO_PATHS}): all valid\n"
    run = run_cli("validate", "--format", "json", "ok.jsonl", "ok.json", cwd=tmp_path)
    assert run.code == 0
    assert len(run.json_lines) == 8
    assert all(o["valid"] and o["violations"] == [] for o in run.json_lines)


# ------------------------------------------------------------------------------------------------
# Editions and rule sets


PARKED = {"id": "p-parked", "purpose": "agent", "state": "parked"}


def test_edition_sdk_269_knows_the_parked_state(tmp_path: Path) -> None:
    assert check(PARKED, edition=SEED) == []
    assert [v.rule for v in check(PARKED, edition=SDK)] == ["state.parked-has-park-time"]
    (tmp_path / "parked.json").write_bytes(dumps(PARKED))

    seed = run_cli("validate", "parked.json", cwd=tmp_path)
    assert seed.code == 0
    assert seed.out.endswith(f"(strict rules, seed edition{NO_PATHS}): all valid\n")

    sdk = run_cli("validate", "--edition", "sdk-269", "parked.json", cwd=tmp_path)
    assert sdk.code == 1
    reported, summary = text_report(sdk.out)
    assert reported == {"parked.json:1": violation_lines(expected(PARKED, edition=SDK))}
    assert summary == [f"1 record(s) checked (strict rules, sdk-269 edition{NO_PATHS}): 1 invalid"]

    parked = {**PARKED, "parkTime": "2026-01-01T10:00:00Z"}
    (tmp_path / "parked-at.json").write_bytes(dumps(parked))
    assert run_cli("validate", "--edition", "sdk-269", "parked-at.json", cwd=tmp_path).code == 0


def test_structural_rules_ignore_ordering(people: dict[str, Any], tmp_path: Path) -> None:
    order, typed = people["order"], people["type"]
    (tmp_path / "order.jsonl").write_bytes(dumps(order) + b"\n")
    assert run_cli("validate", "order.jsonl", cwd=tmp_path).code == 1
    run = run_cli("validate", "--rules", "structural", "order.jsonl", cwd=tmp_path)
    assert run.code == 0
    assert run.out == f"1 record(s) checked (structural rules, seed edition{NO_PATHS}): all valid\n"

    # Type violations are structural: still reported; the state rule of "two" is not.
    (tmp_path / "mixed.jsonl").write_bytes(
        b"".join(dumps(p) + b"\n" for p in (order, typed, people["two"]))
    )
    run = run_cli(
        "validate", "--rules", "structural", "--format", "json", "mixed.jsonl", cwd=tmp_path
    )
    assert run.code == 1
    got = run.json_lines
    for obj, payload in zip(got, (order, typed, people["two"]), strict=True):
        assert obj["violations"] == expected(payload, rules=RuleSet.STRUCTURAL)
    assert [[v["rule"] for v in o["violations"]] for o in got] == [[], ["type.held"], ["type.held"]]
    strict = run_cli("validate", "--format", "json", "mixed.jsonl", cwd=tmp_path).json_lines
    assert [v["rule"] for v in strict[2]["violations"]] == [v.rule for v in check(people["two"])]
    assert len(strict[2]["violations"]) == 2


@pytest.mark.parametrize("edition", [SEED, SDK], ids=str)
def test_every_rule_is_reported_as_check_reports_it(edition: Edition, tmp_path: Path) -> None:
    """One payload per rule id of the edition, each breaking just that rule, all in one file."""
    ch = RandomChooser(269)
    # The command has no request path, so id.matches-path never applies to it.
    wanted = [r for r in rule_ids(edition) if r != "id.matches-path"]
    payloads = [build_invalid(ch, rule, edition=edition).payload for rule in wanted]
    (tmp_path / "rules.jsonl").write_bytes(b"".join(dumps(p) + b"\n" for p in payloads))
    run = run_cli(
        "validate", "--edition", edition.value, "--format", "json", "rules.jsonl", cwd=tmp_path
    )
    assert run.code == 1
    got = run.json_lines
    assert len(got) == len(wanted)
    for obj, rule, payload in zip(got, wanted, payloads, strict=True):
        assert obj["violations"] == expected(payload, edition=edition)
        assert {v["rule"] for v in obj["violations"]} == {rule}
        assert obj["valid"] is False


def test_rules_lists_the_rule_ids(tmp_path: Path) -> None:
    for edition in (SEED, SDK):
        for rules in RuleSet:
            run = run_cli("rules", "--edition", edition.value, "--rules", rules.value, cwd=tmp_path)
            assert (run.code, run.err) == (0, "")
            listed = [line.split()[0] for line in run.out.splitlines()]
            assert listed == list(rule_ids(edition, rules))
    seed = run_cli("rules", cwd=tmp_path).out
    assert "state.parked-has-park-time" not in seed
    assert "order.start<=end" in seed


# ------------------------------------------------------------------------------------------------
# Exit status 2 and the empty input


def assert_one_error_line(run: Run, *prefixes: str) -> str:
    """Status 2 and one error line (argparse adds a second line pointing at --help)."""
    assert run.code == 2
    lines = run.err_lines
    assert lines, "expected an error on standard error"
    assert lines[0].startswith(prefixes or ("callbacksim: error:", "callbacksim validate: error:"))
    assert lines[1:] in ([], ["(run 'callbacksim validate --help' for usage)"]), lines
    return lines[0]


def test_missing_file_exits_2(tmp_path: Path) -> None:
    run = run_cli("validate", "no-such-file.jsonl", cwd=tmp_path)
    line = assert_one_error_line(run, "callbacksim: error:")
    assert "no-such-file.jsonl" in line
    assert "no such file" in line
    assert run.out == ""


def test_directory_exits_2(tmp_path: Path) -> None:
    (tmp_path / "inputs").mkdir()
    run = run_cli("validate", "inputs", cwd=tmp_path)
    line = assert_one_error_line(run, "callbacksim: error:")
    assert "inputs is a directory" in line


def test_unreadable_file_after_invalid_ones_still_exits_2(
    people: dict[str, Any], tmp_path: Path
) -> None:
    (tmp_path / "bad.jsonl").write_bytes(dumps(people["order"]) + b"\n")
    run = run_cli("validate", "bad.jsonl", "missing.json", cwd=tmp_path)
    assert_one_error_line(run, "callbacksim: error: missing.json")
    assert "bad.jsonl:1: invalid" in run.out


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--edition", "sdk-999"),
        ("--rules", "lenient"),
        ("--format", "yaml"),
        ("--input-format", "xml"),
    ],
)
def test_bad_option_value_exits_2(option: str, value: str, tmp_path: Path) -> None:
    (tmp_path / "x.json").write_bytes(b"{}")
    run = run_cli("validate", option, value, "x.json", cwd=tmp_path)
    line = assert_one_error_line(run, "callbacksim validate: error:")
    assert option in line
    assert value in line
    assert run.out == ""


@pytest.mark.parametrize(
    "args",
    [["validate"], ["validate", "--bogus", "x.json"], ["no-such-command"]],
    ids=["no-file", "unknown-option", "unknown-command"],
)
def test_usage_errors_exit_2(args: list[str], tmp_path: Path) -> None:
    run = run_cli(*args, cwd=tmp_path)
    assert run.code == 2
    assert re.match(r"callbacksim( validate)?: error: ", run.err_lines[0])
    assert run.out == ""


def test_truncated_json_array_exits_2_after_reporting_the_items_before(
    people: dict[str, Any], tmp_path: Path
) -> None:
    items = [people["valid"][0], people["order"], people["valid"][1]]
    whole = dumps(items)
    cut = whole[: whole.rindex(b'"', 0, len(whole) - 20)]  # inside the last item
    (tmp_path / "cut.json").write_bytes(cut)

    run = run_cli("validate", "--format", "json", "cut.json", cwd=tmp_path)
    line = assert_one_error_line(run, "callbacksim: error: cut.json:")
    assert "not valid JSON after 2 item(s)" in line
    assert [(o["index"], o["valid"]) for o in run.json_lines] == [(0, True), (1, False)]

    run = run_cli("validate", "cut.json", cwd=tmp_path)
    assert_one_error_line(run, "callbacksim: error: cut.json:")
    reported, summary = text_report(run.out)
    assert list(reported) == ["cut.json[1]"]
    assert summary == []  # no verdict for a file that could not be read to the end


def test_array_with_invalid_utf8_exits_2_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "bytes.json").write_bytes(b'[{"id": "a"}, {"name": "\xff\xfe"}]')
    run = run_cli("validate", "bytes.json", cwd=tmp_path)
    line = assert_one_error_line(run, "callbacksim: error: bytes.json:")
    assert "after 1 item(s)" in line
    assert "b'" not in line


@pytest.mark.parametrize("body", [b"", b"  \n\n \t\n", b"[]", b"[\n]\n"], ids=repr)
def test_empty_input_exits_0_with_a_warning(body: bytes, tmp_path: Path) -> None:
    (tmp_path / "empty.json").write_bytes(body)
    run = run_cli("validate", "empty.json", cwd=tmp_path)
    assert run.code == 0
    assert run.out == f"0 record(s) checked (strict rules, seed edition{NO_PATHS}): all valid\n"
    assert run.err == "callbacksim: warning: no records in the input\n"
    run = run_cli("validate", "--format", "json", "-", cwd=tmp_path, stdin=body)
    assert (run.code, run.out) == (0, "")
    assert run.err == "callbacksim: warning: no records in the input\n"


def test_console_script(people: dict[str, Any], tmp_path: Path) -> None:
    exe = shutil.which("callbacksim", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.skip("the callbacksim console script is not installed next to this interpreter")
    (tmp_path / "in.jsonl").write_bytes(dumps(people["valid"][0]) + b"\n" + dumps(PARKED) + b"\n")
    run = run_cli("validate", "in.jsonl", cwd=tmp_path, exe=[exe])
    assert run.code == 0
    run = run_cli("validate", "--edition", "sdk-269", "in.jsonl", cwd=tmp_path, exe=[exe])
    assert run.code == 1
    assert "in.jsonl:2: invalid, 1 violation" in run.out
    run = run_cli("validate", "gone.jsonl", cwd=tmp_path, exe=[exe])
    assert_one_error_line(run, "callbacksim: error:")


# ------------------------------------------------------------------------------------------------
# Streaming: peak memory does not grow with the file

# Runs the command as its own child and prints that child's exit status, peak RSS (KiB on Linux),
# and how many output lines and invalid verdicts it wrote.
_MEASURE = """
import resource, subprocess, sys
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
lines = invalid = 0
for line in proc.stdout:
    lines += 1
    invalid += b'"valid":false' in line
err = proc.stderr.read()
code = proc.wait()
sys.stderr.write(err.decode())
print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, lines, invalid)
"""


def _write_inputs(folder: Path, small: int, large: int) -> dict[str, Path]:
    """JSON Lines and JSON array files of ``small`` and ``large`` valid participants."""
    paths = {
        name: folder / name for name in ("small.jsonl", "small.json", "large.jsonl", "large.json")
    }
    handles = {name: path.open("wb") for name, path in paths.items()}
    try:
        for name in ("small.json", "large.json"):
            handles[name].write(b"[\n")
        ch = RandomChooser(2026)
        shape = Shape()
        for i in range(large):
            line = orjson.dumps(build_participant(ch, shape))
            targets = ("small", "large") if i < small else ("large",)
            for size in targets:
                handles[f"{size}.jsonl"].write(line + b"\n")
                comma = b",\n" if i else b""
                handles[f"{size}.json"].write(comma + line)
        for name in ("small.json", "large.json"):
            handles[name].write(b"\n]\n")
    finally:
        for handle in handles.values():
            handle.close()
    return paths


@pytest.fixture
def stream_inputs(tmp_path: Path) -> Iterator[tuple[dict[str, Path], int, int]]:
    small, large = 20_000, 200_000
    paths = _write_inputs(tmp_path, small, large)
    yield paths, small, large
    for path in paths.values():  # a few hundred megabytes: do not leave them for later runs
        path.unlink(missing_ok=True)


def test_memory_does_not_grow_with_the_file(
    stream_inputs: tuple[dict[str, Path], int, int],
) -> None:
    paths, small, large = stream_inputs
    procs = {
        name: subprocess.Popen(
            [sys.executable, "-c", _MEASURE, *CLI, "validate", "--format", "json", str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for name, path in paths.items()
    }
    peak: dict[str, int] = {}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err.decode()
        assert "Traceback" not in err.decode()
        code, rss, lines, invalid = map(int, out.split())
        records = small if name.startswith("small") else large
        assert (code, lines, invalid) == (0, records, 0), name
        peak[name] = rss
    sizes = {name: path.stat().st_size for name, path in paths.items()}
    print(
        "peak RSS (KiB) / file size (KiB): "
        + ", ".join(f"{n} {peak[n]} / {sizes[n] // 1024}" for n in paths)
    )
    for kind in ("jsonl", "json"):
        small_rss, large_rss = peak[f"small.{kind}"], peak[f"large.{kind}"]
        # Ten times the records, the same memory (within noise).
        assert large_rss < 1.5 * small_rss, (kind, small_rss, large_rss)
        # And far below what holding the file would take.
        assert large_rss * 1024 < sizes[f"large.{kind}"] / 4, (kind, large_rss)
