"""Every command's ``--help`` teaches: a description, examples, defaults written one way, and
every example actually runs (on small inputs, in a scratch folder, against a reference target
started here)."""

from __future__ import annotations

import argparse
import re
import shlex
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from callbacksim.cli import build_parser, main
from callbacksim.cli_help import EXAMPLES
from callbacksim.target import BackgroundServer, ServerConfig

PARSER = build_parser()
COMMANDS: dict[str, Any] = PARSER.commands  # type: ignore[attr-defined]
PLACEHOLDER = "http://127.0.0.1:8080"

# Commands that run until stopped, or whose run another test covers, are parsed, not run.
PARSED_ONLY = {"serve", "demo"}


def _help(command: str, capsys: pytest.CaptureFixture[str]) -> str:
    assert main([*command.split(), "--help"]) == 0
    return capsys.readouterr().out


def _subcommands() -> list[str]:
    """Every command, and every subcommand as 'command sub'."""
    names = list(COMMANDS)
    for name, parser in COMMANDS.items():
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                names += [f"{name} {sub}" for sub in action.choices]
    return names


def test_every_command_has_examples() -> None:
    assert set(EXAMPLES) == set(_subcommands())


@pytest.mark.parametrize("command", sorted(_subcommands()))
def test_help_has_a_description_and_examples(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    text = _help(command, capsys)
    assert "\n\n" in text.split("options:")[0].split("usage:")[1], f"{command}: no description"
    examples = re.findall(r"^  callbacksim (.+)$", text, flags=re.M)
    assert len(examples) == len(EXAMPLES[command]) >= 1
    assert text.index("examples:") > text.index("options:")


@pytest.mark.parametrize("command", sorted(_subcommands()))
def test_defaults_are_written_one_way(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    text = " ".join(_help(command, capsys).split())
    assert not re.search(r"\(default [^:]", text), "write '(default: X)'"
    assert not re.search(r", default\)", text), "write '(default: X)' at the end"


def _scaled(argv: list[str]) -> list[str]:
    """The example, small: budgets of 2 s, a few records or conversations."""
    limits = {"--budget": 2, "--count": 40, "--lifecycles": 5, "--time-factor": 0.00001}
    out = list(argv)
    for i, arg in enumerate(out[:-1]):
        if arg in limits:
            out[i + 1] = f"{min(float(out[i + 1]), limits[arg]):g}"
    return out


def _examples() -> Iterator[tuple[str, str]]:
    for command, examples in EXAMPLES.items():
        for _, line in examples:
            yield command.split()[0], line


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """A scratch folder holding the files the examples name, and a running reference target."""
    folder = tmp_path_factory.mktemp("examples")
    fixtures, conversations = folder / "fixtures.jsonl", folder / "conversations.jsonl"
    assert (
        main(
            ["generate", "participants", "--mode", "mixed", "--count", "60", "--out", str(fixtures)]
        )
        == 0
    )
    assert main(["generate", "lifecycles", "--count", "4", "--out", str(conversations)]) == 0
    shutil.copy(Path(__file__).parent / "data" / "example-export.json", folder / "export.json")
    with BackgroundServer(ServerConfig(port=0)) as url:
        yield folder, url


@pytest.mark.slow
@pytest.mark.parametrize(("command", "line"), list(_examples()))
def test_the_example_runs(
    command: str,
    line: str,
    workspace: tuple[Path, str],
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    folder, url = workspace
    monkeypatch.chdir(folder)
    argv = _scaled(shlex.split(line.replace(PLACEHOLDER, url)))
    if command in PARSED_ONLY:
        args, extra = PARSER.parse_known_args(argv)
        assert not extra
        assert args.command == command
        return
    if command == "run":
        argv += ["--lifecycles", "5", "--budget", "2"]
    if command == "run":
        argv += ["--html", ""] if "--html" not in argv else []
    code = main(argv)
    out, err = capfd.readouterr()
    # 1 is a verdict (invalid records in a mixed fixture), 2 would be a usage error.
    assert code in (0, 1), f"{line!r} exited {code}: {err or out}"
    assert "Traceback" not in err
