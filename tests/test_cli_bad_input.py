"""Bad input to any command: one clear line on standard error, exit status 2, never a traceback.

Two tables. The first is derived from the parser itself, so a new command or option is covered
the day it is added: for every command, an unknown option, and for every option that takes a
typed value (a number, a choice, a URL, a header, an instant, property ids), a malformed value and
a missing one. The second lists, per command, what only running it can find: a missing or
unreadable file, a file of the wrong kind, a bad line in the middle of a file, a value out of
range, an unknown property, path, rule set or profile parameter, an unreachable target, a port in
use. Every command must appear in the second table.
"""

from __future__ import annotations

import argparse
import socket
from collections.abc import Iterator

import orjson
import pytest

from callbacksim.cli import build_parser, main

PARSER = build_parser()


def _commands() -> dict[str, argparse.ArgumentParser]:
    sub = next(a for a in PARSER._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


COMMANDS = _commands()

# Required positionals, by destination: a well-formed value for each, so that the option under
# test is the only thing wrong.
POSITIONAL = {"files": "{participants}", "url": "http://127.0.0.1:{closed}", "what": "participants"}


def base_argv(command: str) -> list[str]:
    out = []
    for action in COMMANDS[command]._actions:
        if action.option_strings or action.nargs in ("?", "*") or action.dest == "help":
            continue
        if isinstance(action, argparse._SubParsersAction) and not action.required:
            continue  # an optional subcommand (`profile` alone lists the profile)
        assert action.dest in POSITIONAL, f"add a well-formed {action.dest!r} to POSITIONAL"
        out.append(POSITIONAL[action.dest])
    return out


def typed_options(command: str) -> Iterator[tuple[str, str]]:
    """Every option of ``command`` that takes a value argparse itself checks, with a malformed
    value for it."""
    for action in COMMANDS[command]._actions:
        if not action.option_strings or action.nargs == 0 or action.dest == "help":
            continue
        if action.type is None and action.choices is None:
            continue  # any text is well-formed here (a path, a name): see the second table
        yield action.option_strings[-1], "%not-a-value%"


PARSE_CASES = [
    pytest.param(command, [*base_argv(command), option, value], id=f"{command} {option}")
    for command in COMMANDS
    for option, value in typed_options(command)
] + [
    pytest.param(command, [*base_argv(command), "--no-such-option"], id=f"{command} unknown")
    for command in COMMANDS
]


@pytest.fixture(scope="module")
def place(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Files and values the cases refer to as ``{name}``."""
    root = tmp_path_factory.mktemp("bad-input")
    assert main(["generate", "participants", "--count", "4", "--out", str(root / "p.jsonl")]) == 0
    assert main(["generate", "lifecycles", "--count", "3", "--out", str(root / "l.jsonl")]) == 0
    events = (root / "l.jsonl").read_bytes().splitlines()
    (root / "bad-line.jsonl").write_bytes(b"\n".join([*events[:4], b"{oops", *events[4:]]) + b"\n")
    participants = (root / "p.jsonl").read_bytes().splitlines()
    (root / "bad-json.jsonl").write_bytes(participants[0] + b"\n[1,\n" + participants[1] + b"\n")
    (root / "binary.dat").write_bytes(bytes(range(256)) * 8)
    (root / "text.txt").write_text("some notes\nnot JSON at all\n")
    (root / "profile.json").write_text('{"talk_median_s": 100,\n "nope": 1,\n')
    (root / "unknown.toml").write_text("talk_median_s = 100\nno_such_parameter = 1\n")
    (root / "a-file").write_text("x")
    (root / "ledger.jsonl").write_bytes(
        orjson.dumps({"ledger": "callbacksim replay", "version": 1, "run": {"seed": 99}}) + b"\n"
    )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    return {
        "participants": str(root / "p.jsonl"),
        "labels": str(root / "p.labels.jsonl"),
        "manifest": str(root / "p.manifest.json"),
        "events": str(root / "l.jsonl"),
        "bad-line": str(root / "bad-line.jsonl"),
        "bad-json": str(root / "bad-json.jsonl"),
        "binary": str(root / "binary.dat"),
        "text": str(root / "text.txt"),
        "profile": str(root / "profile.json"),
        "unknown-profile": str(root / "unknown.toml"),
        "missing": str(root / "missing.jsonl"),
        "unreadable": str(root / "a-file" / "inside.jsonl"),  # a path through a regular file
        "ledger": str(root / "ledger.jsonl"),
        "root": str(root),
        "closed": str(closed),
    }


NO_TARGET = "http://127.0.0.1:{closed}"
NOW = ["--wait-for-target", "0"]

RUN_CASES: dict[str, list[tuple[list[str], str]]] = {
    "validate": [
        (["{missing}"], "no such file"),
        (["{unreadable}"], "cannot be read"),
        (["{root}"], "is a directory"),
        (["{binary}"], "is not a text file"),
        (["{labels}"], "is a labels file"),
        (["{manifest}"], "is a manifest"),
        (["{participants}", "{missing}"], "missing.jsonl: no such file"),
    ],
    "coverage": [
        (["{missing}"], "no such file"),
        (["{unreadable}"], "cannot be read"),
        (["{binary}"], "is not a text file"),
        (["{text}"], "text.txt[0]: not a JSON document"),
        (["{bad-json}"], "bad-json.jsonl:2: not a JSON document"),
        (["{labels}"], "is a labels file"),
        (["{participants}", "--show-missing", "-1"], "--show-missing: '-1' is not a whole number"),
    ],
    "generate": [
        (["participants", "--count", "-1"], "--count must be 0 or more"),
        (["participants", "--out", "{unreadable}"], "cannot write"),
        (["participants", "--labels", "{unreadable}", "--out", "{root}/p2.jsonl"], "cannot"),
        (["participants", "--path", "hold"], "shape lifecycles"),
        (["lifecycles", "--count", "-5"], "--count must be 0 or more"),
        (["lifecycles", "--path", "no-such-path"], "unknown path(s) ['no-such-path']"),
        (["lifecycles", "--set", "no_such_parameter=1"], "unknown profile parameter"),
        (["lifecycles", "--set", "talk_median_s=fast"], "must be a number"),
        (["lifecycles", "--set", "talk_median_s"], "expected NAME=VALUE"),
        (["lifecycles", "--profile", "{missing}"], "cannot read the profile"),
        (["lifecycles", "--profile", "{profile}"], "is not valid JSON"),
        (["lifecycles", "--profile", "{unknown-profile}"], "unknown profile parameter"),
    ],
    "show": [
        ([], "give a SEED"),
        (["--file", "{missing}"], "no such file"),
        (["--file", "{bad-line}"], "bad-line.jsonl:5 is not a lifecycle event"),
        (["--file", "{participants}"], "holds participants, not lifecycle events"),
        (["--file", "{binary}"], "is not a text file"),
        (["--file", "{events}", "--conversation", "nope"], "no lifecycle nope"),
        (["1", "--path", "no-such-path"], "unknown path(s)"),
        (["1", "--set", "no_such_parameter=1"], "unknown profile parameter"),
        (["1", "--svg", "{unreadable}"], "cannot write"),
    ],
    "check": [
        ([NO_TARGET, *NOW], "cannot reach"),
        ([NO_TARGET, "--budget", "-1", *NOW], "--budget must be a positive number"),
        ([NO_TARGET, "--properties", "no-such-property"], "unknown property id(s)"),
        ([NO_TARGET, "--skip", "round-trips,nope"], "unknown property id(s) ['nope']"),
        ([NO_TARGET, "--adapter", "no-such-adapter", *NOW], "unknown adapter"),
        ([NO_TARGET, "--header", "no colon"], "expected 'Name: value'"),
        ([NO_TARGET, "--timeout", "0"], "is not a number of seconds"),
        (["not a url"], "is not an http(s) URL"),
        (["ftp://127.0.0.1/"], "is not an http(s) URL"),
    ],
    "serve": [
        (["--port", "70000"], "out of range"),
        (["--port", "-1"], "out of range"),
        (["--port", "{in-use}"], "address already in use"),
        (["--max-body", "0"], "must be a positive number of bytes"),
        (["--read-timeout", "0"], "is not a number of seconds"),
        (["--token", " spaced "], "bearer token"),
        (["--db", "{unreadable}", "--port", "0"], "cannot open the database"),
        (["--db", "{binary}", "--port", "0"], "cannot use the database"),
        (["--rules", "lenient"], "'lenient' is not one of"),
    ],
    "replay": [
        ([NO_TARGET, "--lifecycles", "1", *NOW], "cannot reach"),
        ([NO_TARGET, "{missing}"], "no such file"),
        ([NO_TARGET, "{unreadable}"], "cannot be read"),
        ([NO_TARGET, "{bad-line}", *NOW], "bad-line.jsonl:5 is not a lifecycle event"),
        ([NO_TARGET, "{participants}"], "holds participants, not lifecycle events"),
        ([NO_TARGET, "{labels}"], "is a labels file"),
        ([NO_TARGET, "{binary}"], "is not a text file"),
        ([NO_TARGET, "{events}", "--lifecycles", "3"], "not both"),
        ([NO_TARGET, "--lifecycles", "-1"], "--lifecycles must be 0 or more"),
        ([NO_TARGET, "--concurrency", "0"], "--concurrency must be 1 or more"),
        ([NO_TARGET, "--retries", "-1"], "--retries must be 0 or more"),
        ([NO_TARGET, "--retry-for", "-1"], "is not a number of seconds"),
        ([NO_TARGET, "--duplicates", "2"], "is not a probability"),
        ([NO_TARGET, "--reorder", "-0.5"], "is not a probability"),
        ([NO_TARGET, "--jitter", "-3"], "must be 0 or more"),
        ([NO_TARGET, "--time-factor", "0"], "--time-factor must be positive"),
        ([NO_TARGET, "--path", "no-such-path"], "unknown path(s)"),
        ([NO_TARGET, "--set", "no_such_parameter=1"], "unknown profile parameter"),
        ([NO_TARGET, "--profile", "{profile}"], "is not valid JSON"),
        ([NO_TARGET, "--adapter", "no.such.module:Adapter"], "cannot load the adapter"),
        ([NO_TARGET, "--resume", "{missing}", *NOW], "there is no ledger"),
        ([NO_TARGET, "--resume", "{participants}", *NOW], "is not a ledger"),
        ([NO_TARGET, "--resume", "{ledger}", *NOW], "belongs to another run"),
        ([NO_TARGET, "--ledger", "{participants}", *NOW], "exists; pass --resume"),
        ([NO_TARGET, "--ledger", "{unreadable}", *NOW], "is not a directory"),
        ([NO_TARGET, "--ledger", "{ledger}", "--resume", "{ledger}"], "not both"),
        (["localhost:8080"], "is not an http(s) URL"),
    ],
    "run": [
        (["--target", NO_TARGET, *NOW], "cannot reach"),
        (["--target", "127.0.0.1:8080"], "is not an http(s) URL"),
        (["--lifecycles", "-1", "--html", ""], "--lifecycles must be 0 or more"),
        (["--budget", "-1", "--html", "", "--target", NO_TARGET], "--budget must be a positive"),
        (["--concurrency", "0", "--html", ""], "--concurrency must be 1 or more"),
        (["--timeout", "-1"], "is not a number of seconds"),
        (["--rules", "lenient"], "'lenient' is not one of"),
    ],
    "profile": [(["extra"], "invalid choice: 'extra'")],
    "load": [
        (["--target", NO_TARGET, "--lifecycles", "1", *NOW], "cannot reach"),
        (["--target", "127.0.0.1:8080"], "is not an http(s) URL"),
    ],
    "import": [(["{binary}", "--out", "{unreadable}"], "")],
    "anonymise": [(["{participants}"], "--key")],
    "rules": [
        (["--edition", "sdk-1"], "'sdk-1' is not one of"),
        (["--rules", "all"], "'all' is not one of"),
    ],
    "demo": [(["extra"], "unrecognized argument: extra")],
}


def test_every_command_has_cases_that_only_running_it_finds() -> None:
    assert set(RUN_CASES) == set(COMMANDS)


@pytest.fixture
def in_use() -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield str(s.getsockname()[1])


def one_line_and_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    code = main(argv)
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert "Traceback" not in err, err
    assert code == 2, (argv, out, err)
    assert lines, "expected an error on standard error"
    assert lines[0].startswith(("callbacksim: error: ", "callbacksim ")), lines
    assert ": error: " in lines[0]
    assert lines[1:] in ([], [f"(run 'callbacksim {argv[0]} --help' for usage)"]), lines
    return lines[0]


@pytest.mark.parametrize(("command", "argv"), PARSE_CASES)
def test_a_malformed_argument_is_one_line_and_exit_2(
    command: str, argv: list[str], place: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [command, *(a.format(**place) for a in argv)]
    line = one_line_and_2(capsys, argv)
    if argv[-1] == "--no-such-option":
        assert line == f"callbacksim {command}: error: unrecognized argument: --no-such-option"
    else:
        assert line.startswith(f"callbacksim {command}: error: argument {argv[-2]}")
        assert "%not-a-value%" in line


@pytest.mark.parametrize(
    ("command", "argv", "says"),
    [
        pytest.param(command, argv, says, id=f"{command} {' '.join(argv)}")
        for command, cases in RUN_CASES.items()
        for argv, says in cases
    ],
)
def test_bad_input_found_by_running_is_one_line_and_exit_2(
    command: str,
    argv: list[str],
    says: str,
    place: dict[str, str],
    in_use: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    values = {**place, "in-use": in_use}
    line = one_line_and_2(capsys, [command, *(a.format(**values) for a in argv)])
    assert says in line
