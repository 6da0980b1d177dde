"""The commands no other test runs end to end: ``profile``, ``show``, ``serve``, ``replay`` and
``run``, and the exit statuses of `callbacksim.cli.main` itself.

Each calls `main` in this process (it takes the arguments and returns the exit status); only the
test of ``serve`` answering signals starts a process of its own. Targets listen on 127.0.0.1 only.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from buggy_targets import ConversationKeepsFirst, app, running

from callbacksim import __version__
from callbacksim.cli import main
from callbacksim.generation.profile import Profile
from callbacksim.model import Edition
from callbacksim.rules import RuleSet
from callbacksim.target import BackgroundServer, ServerConfig

SVG = "{http://www.w3.org/2000/svg}"


def _run(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _error(err: str) -> str:
    """The first line of a usage error, which every usage error has."""
    first = err.splitlines()[0]
    assert first.startswith(("callbacksim: error: ", "callbacksim ")), err
    return first


@pytest.fixture(scope="module")
def reference() -> Iterator[str]:
    with BackgroundServer(ServerConfig(port=0)) as url:
        yield url


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- main ----------------------------------------------------------------------------------------


def test_main_returns_the_exit_status_of_parsing(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(capsys, "--version")[:2] == (0, f"callbacksim {__version__}\n")
    code, out, _ = _run(capsys, "show", "--help")
    assert code == 0
    assert "--epoch" in out
    code, _, err = _run(capsys, "show", "--edition", "sdk-270")
    assert code == 2
    assert "'sdk-270' is not one of: seed, sdk-269" in err
    assert _run(capsys, "no-such-command")[0] == 2


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys)
    assert code == 2
    assert out.startswith("usage: callbacksim")


@pytest.mark.parametrize(
    "command",
    ["generate", "show", "check", "serve", "replay", "run", "rules", "validate", "load"],
)
def test_shared_options_are_the_same_everywhere(
    capsys: pytest.CaptureFixture[str], command: str
) -> None:
    """--edition is one definition, so every command that takes it says the same of it."""
    code, out, _ = _run(capsys, command, "--help")
    assert code == 0
    assert "model edition: seed (the documented model) or sdk-269 (default: seed)" in " ".join(
        out.split()
    )


# -- profile -------------------------------------------------------------------------------------


def test_profile_lists_every_parameter_with_its_default_source_and_basis(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = _run(capsys, "profile")
    assert code == 0
    lines = out.splitlines()
    described = Profile.describe()
    assert len(lines) == len(described)
    for line, p in zip(lines, described, strict=True):
        assert line.split()[:3] == [p.name, p.shown, p.source]
        assert line.endswith(p.basis)
    assert any(line.split()[2] == "observed" for line in lines)
    assert any(line.split()[2] == "documented" for line in lines)


def test_profile_lists_the_parameters_of_one_source(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "profile", "--source", "observed")
    assert code == 0
    names = [line.split()[0] for line in out.splitlines()]
    assert names == [p.name for p in Profile.describe() if p.source == "observed"]
    assert "alerting_timeout_ms" in names
    assert "accept_probability" not in names
    code, _, err = _run(capsys, "profile", "--source", "guess")
    assert code == 2
    assert "invalid choice: 'guess'" in err


# -- show ----------------------------------------------------------------------------------------


def test_show_draws_a_seeded_lifecycle_in_the_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "show", "42", "--path", "hold")
    assert code == 0
    assert out.startswith("Conversation ")
    assert "paths: " in out
    assert "hold" in out.splitlines()[1]
    assert "legend" in out


def test_show_writes_svg_and_html_and_the_same_seed_draws_the_same(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    svg, html, again = tmp_path / "a.svg", tmp_path / "a.html", tmp_path / "b.svg"
    code, out, _ = _run(capsys, "show", "7", "--edition", "sdk-269", "--svg", svg, "--html", html)
    assert code == 0
    # files asked for, and no --terminal: nothing drawn here, only where each went
    assert out.splitlines() == [
        f"wrote an SVG picture of conversation {out.split()[6]} to {svg}",
        f"wrote a page of conversation {out.split()[6]} to {html}",
    ]
    assert ET.parse(svg).getroot().tag == f"{SVG}svg"
    page = html.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    # The page says which callbacksim drew it and the command that draws it again (no time).
    made = ET.fromstring(page).find(".//p[@class='made']")
    assert made is not None
    assert made.findtext("span[@class='version']") == __version__
    command = made.findtext("code[@class='reproduce']")
    assert command == f"callbacksim show 7 --edition sdk-269 --svg {svg} --html {html}"
    assert _run(capsys, "show", "7", "--edition", "sdk-269", "--svg", again)[0] == 0
    assert again.read_bytes() == svg.read_bytes()
    page_again = tmp_path / "c.html"
    assert _run(capsys, "show", "7", "--edition", "sdk-269", "--html", page_again)[0] == 0
    assert page_again.read_text(encoding="utf-8") == page.replace(
        f"--svg {svg} --html {html}", f"--html {page_again}"
    )


def test_show_starts_at_the_epoch_and_reads_the_profile(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    profile = tmp_path / "p.toml"
    profile.write_text("scheduled_share = 0\n", encoding="utf-8")
    svg = tmp_path / "a.svg"
    args = ["show", "3", "--epoch", "2030-06-01T12:00:00Z", "--profile", profile, "--svg", svg]
    code, _, _ = _run(capsys, *args, "--set", "ivr_share=0", "--terminal")
    assert code == 0
    text = svg.read_text(encoding="utf-8")
    assert "2030-06-01T12:00:00.000Z" in text
    assert "immediate" in text  # nothing is scheduled under this profile


def test_show_draws_a_lifecycle_from_a_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    events = tmp_path / "l.jsonl"
    assert _run(capsys, "generate", "lifecycles", "--count", "2", "--out", events)[0] == 0
    second = json.loads(events.read_text(encoding="utf-8").splitlines()[-1])["conversationId"]
    svg = tmp_path / "one.svg"
    code, _, _ = _run(capsys, "show", "--file", events, "--conversation", second, "--svg", svg)
    assert code == 0
    text = svg.read_text(encoding="utf-8")
    assert f"Conversation {second}" in text
    assert "paths:" not in text  # a file of events carries no plan


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give a SEED, or --file FILE"),
        (["1", "--set", "talk_median_s=long"], "talk_median_s must be a number, got 'long'"),
        (["1", "--set", "accept_probability=2"], "accept_probability must be between 0 and 1"),
        (["1", "--profile", "missing.toml"], "cannot read the profile missing.toml"),
        (["1", "--path", "park"], "park exists only in the sdk-269 edition"),
        (["1", "--epoch", "yesterday"], "--epoch 2026-01-01T00:00:00.000Z"),
        (["--file", "{events}", "--conversation", "nope"], "no lifecycle nope in"),
    ],
)
def test_show_usage_errors(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, args: list[str], message: str
) -> None:
    events = tmp_path / "l.jsonl"
    events.write_text("", encoding="utf-8")
    argv = [a.replace("{events}", str(events)) for a in args]
    code, out, err = _run(capsys, "show", *argv)
    assert code == 2
    assert out == ""
    assert message in _error(err)


# -- serve ---------------------------------------------------------------------------------------


def test_serve_hands_its_options_to_the_reference_target(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    started: list[ServerConfig] = []

    def serve_forever(config: ServerConfig, *, ready: Callable[[str], None]) -> None:
        started.append(config)
        ready(f"http://{config.host}:{config.port}")

    monkeypatch.setattr("callbacksim.target.serve_forever", serve_forever)
    db = tmp_path / "store.sqlite"
    argv = ["serve", "--port", "0", "--db", db, "--rules", "structural", "--edition", "sdk-269"]
    code, out, _ = _run(capsys, *argv, "--token", "T", "--max-body", "2048")
    assert code == 0
    assert started == [
        ServerConfig(
            host="127.0.0.1",
            port=0,
            db=db,
            rules=RuleSet.STRUCTURAL,
            edition=Edition.SDK_269,
            token="T",
            max_body=2048,
        )
    ]
    assert out == "callbacksim reference target at http://127.0.0.1:0\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "70000"], "port 70000 is out of range"),
        (["--max-body", "0"], "max_body 0 must be a positive number of bytes"),
        (["--token", " T"], "the bearer token must be non-empty"),
    ],
)
def test_serve_usage_errors_start_nothing(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    message: str,
) -> None:
    def serve_forever(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("started despite a usage error")

    monkeypatch.setattr("callbacksim.target.serve_forever", serve_forever)
    code, _, err = _run(capsys, "serve", *args)
    assert code == 2
    assert message in _error(err)


@pytest.mark.slow
def test_serve_answers_until_sigterm(tmp_path: Path) -> None:
    """The real command in a process of its own: it says where it listens, serves the contract
    (here: a token is required), and SIGTERM stops it cleanly."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "callbacksim.cli", "serve", "--port", "0", "--token", "T"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("callbacksim reference target at http://127.0.0.1:"), line
        url = line.split()[-1]
        with urllib.request.urlopen(f"{url}/health", timeout=10) as answer:
            assert answer.status == 200
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{url}/conversations/c/participants/p", timeout=10)
        assert refused.value.code == 401
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


# -- replay --------------------------------------------------------------------------------------


def test_replay_generated_lifecycles_with_faults(
    capsys: pytest.CaptureFixture[str], reference: str, tmp_path: Path
) -> None:
    ledger, report = tmp_path / "run.ledger.jsonl", tmp_path / "report.json"
    faults = ["--duplicates", "0.2", "--reorder", "0.2", "--jitter", "1"]
    argv = ["replay", reference, "--lifecycles", "6", "--seed", "3", *faults]
    code, out, _ = _run(capsys, *argv, "--ledger", ledger, "--report", report)
    assert code == 0, out
    summary = json.loads(report.read_bytes())
    assert summary["failed"] == 0
    assert summary["converged"] is True
    assert summary["duplicates"] > 0
    assert summary["participants_converged"] == summary["participants_checked"] > 0
    assert len(ledger.read_text(encoding="utf-8").splitlines()) >= summary["events"]
    assert "converged" in out
    assert "yes: " in out


def test_replay_a_file_of_lifecycles(
    capsys: pytest.CaptureFixture[str], reference: str, tmp_path: Path
) -> None:
    events = tmp_path / "l.jsonl"
    generate = ["generate", "lifecycles", "--count", "3", "--seed", "9", "--edition", "sdk-269"]
    assert _run(capsys, *generate, "--out", events)[0] == 0
    report = tmp_path / "report.json"
    code, out, _ = _run(capsys, "replay", reference, events, "--report", report)
    assert code == 0, out
    summary = json.loads(report.read_bytes())
    assert summary["events"] == len(events.read_text(encoding="utf-8").splitlines())
    assert summary["conversations"] == 3


def test_replay_against_a_target_that_does_not_converge_exits_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The conversation view of this target keeps each participant's first write: every
    participant reads back as sent, but no conversation with a change does."""
    with running(app(ConversationKeepsFirst)) as url:
        code, out, _ = _run(capsys, "replay", url, "--lifecycles", "3", "--path", "hold")
    assert code == 1
    assert "NO: " in out
    assert "not converged" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{url}", "f.jsonl", "--lifecycles", "3"], "give a FILE of lifecycle events or"),
        (["{url}", "--duplicates", "1.5"], "duplicates 1.5 is not a probability"),
        (["{url}", "--jitter", "-1"], "jitter_ms -1.0 must be 0 or more"),
        (["{url}", "--time-factor", "0"], "--time-factor must be positive"),
        (["{url}", "--set", "max_offers=1000"], "max_offers must be at most 100"),
        (["ftp://127.0.0.1/", "--lifecycles", "1"], "is not an http(s) URL"),
        (
            ["http://127.0.0.1:{closed}", "--lifecycles", "1", "--wait-for-target", "0"],
            "cannot reach http://127.0.0.1:",
        ),
    ],
)
def test_replay_usage_errors(
    capsys: pytest.CaptureFixture[str],
    reference: str,
    closed_port: int,
    args: list[str],
    message: str,
) -> None:
    argv = [a.replace("{url}", reference).replace("{closed}", str(closed_port)) for a in args]
    code, _, err = _run(capsys, "replay", *argv)
    assert code == 2
    assert message in _error(err)


# -- run -----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_run_checks_and_replays_against_the_reference_target(
    capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    html = tmp_path / "out" / "report.html"
    argv = ["run", "--lifecycles", "5", "--budget", "3", "--seed", "1", "--html", str(html)]
    code = main(argv)
    out, _ = capfd.readouterr()
    assert code == 0, out
    assert "started the reference target at http://127.0.0.1:" in out
    assert "every property held, the replay converged" in out
    page = html.read_text(encoding="utf-8")
    assert 'id="verdict">PASS<' in page


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "127.0.0.1:8080"], "is not an http(s) URL"),
        (
            ["--target", "http://127.0.0.1:{closed}", "--wait-for-target", "0"],
            "cannot reach http://127.0.0.1:",
        ),
    ],
)
def test_run_usage_errors(
    capfd: pytest.CaptureFixture[str], closed_port: int, args: list[str], message: str
) -> None:
    code = main(["run", *(a.replace("{closed}", str(closed_port)) for a in args), "--html", ""])
    _, err = capfd.readouterr()
    assert code == 2
    assert message in _error(err)


@pytest.mark.slow
def test_run_leaves_no_hypothesis_folder_in_the_working_directory(tmp_path: Path) -> None:
    """Hypothesis's files go to the user's cache directory, not to ``./.hypothesis``."""
    work, cache = tmp_path / "work", tmp_path / "cache"
    work.mkdir()
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    env.pop("HYPOTHESIS_STORAGE_DIRECTORY", None)
    argv = [sys.executable, "-m", "callbacksim.cli", "run", "--lifecycles", "2", "--budget", "2"]
    done = subprocess.run(
        [*argv, "--html", ""], cwd=work, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert not (work / ".hypothesis").exists()
    assert (cache / "callbacksim" / "hypothesis").is_dir()


# -- flags, mistypes and abbreviations ------------------------------------------------------------


def _commands() -> dict[str, Any]:
    from callbacksim.cli import build_parser

    commands: dict[str, Any] = build_parser().commands  # type: ignore[attr-defined]
    return commands


@pytest.mark.parametrize("command", sorted(_commands()))
def test_an_unknown_flag_points_to_the_commands_own_help(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([command, "--no-such-flag"]) == 2
    err = capsys.readouterr().err
    assert f"callbacksim {command}: error: unrecognized argument: --no-such-flag" in err
    assert f"(run 'callbacksim {command} --help' for usage)" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("command", sorted(_commands()))
def test_flags_are_never_abbreviated(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    flags = _commands()[command].flags()
    cut = [f[:-2] for f in flags if f.startswith("--") and len(f) > 5 and f[:-2] not in flags]
    for prefix in cut:
        assert main([command, prefix, "1"]) == 2, prefix
        assert f"unrecognized argument: {prefix}" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "suggestion"),
    [
        (["chek"], "did you mean 'check'?"),
        (["validate", "--frmat", "json", "x"], "did you mean '--format'?"),
        (["check", "--bud", "2", "http://127.0.0.1:1"], "did you mean '--budget'?"),
        (["validate", "--format", "jsn", "x"], "did you mean 'json'?"),
    ],
)
def test_a_mistype_gets_did_you_mean(
    argv: list[str], suggestion: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert suggestion in capsys.readouterr().err


@pytest.mark.slow
def test_demo_tours_the_main_job_and_ends_with_what_to_run_next(
    capfd: pytest.CaptureFixture[str],
) -> None:
    assert main(["demo"]) == 0
    out, err = capfd.readouterr()
    sections = [
        "== 1. The main job",
        "== 2. Judge",
        "== 3. Write fixtures",
        "== 4. Look",
        "== Next",
    ]
    positions = [out.index(s) for s in sections]
    assert positions == sorted(positions)
    assert "every property held, the replay converged" in out
    assert "callbacksim check http://" in out[positions[-1] :]
    assert "make test" not in out
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "argv",
    [
        ["generate", "lifecycles", "--path", "list"],
        ["replay", "http://127.0.0.1:9", "--lifecycles", "3", "--path", "list"],
    ],
)
def test_path_list_prints_every_path_with_its_meaning(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    from callbacksim.generation.lifecycle import PATHS

    assert main(argv) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out] == list(PATHS)
    assert all(PATHS[line.split()[0]] in line for line in out)
