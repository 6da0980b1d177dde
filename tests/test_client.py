"""The ``curl`` reproducer of a request: a shell reads back exactly the request's URL, headers and
body, whatever quotes, spaces and newlines they hold."""

from __future__ import annotations

import shlex
import shutil
import subprocess

import pytest

from callbacksim.simulator.client import Request

BASE = "http://127.0.0.1:8080"
AWKWARD = 'it\'s a "quote", a $HOME, a `tick` and a \\ backslash'


def _argv(command: str) -> tuple[list[str], str]:
    """The arguments ``curl`` gets when bash runs ``command``, and what it reads on stdin."""
    if shutil.which("bash") is None:  # pragma: no cover - every CI image has bash
        pytest.skip("no bash")
    fake = 'curl() { printf "%s\\0" "$@"; printf "\\1"; cat; }\n'
    out = subprocess.run(
        ["bash", "-c", fake + command],
        input="",
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    args, _, stdin = out.partition("\1")
    return args.split("\0")[:-1], stdin


def test_a_quote_in_a_header_value_survives_the_shell() -> None:
    request = Request("GET", "/health", headers={"Authorization": f"Bearer {AWKWARD}"})
    command = request.curl(BASE)
    expected = [
        "-sS",
        "-i",
        "-X",
        "GET",
        f"{BASE}/health",
        "-H",
        f"Authorization: Bearer {AWKWARD}",
    ]
    assert shlex.split(command)[1:] == expected
    assert _argv(command)[0] == expected


def test_a_quote_in_the_url_and_the_body_survives_the_shell() -> None:
    body = ('{"name": "' + AWKWARD.replace('"', '\\"') + '",\n "id": "p"}').encode()
    request = Request("PUT", "/conversations/c'1/participants/p 1", body=body)
    args, stdin = _argv(request.curl(BASE))
    assert stdin == ""
    assert args[4] == f"{BASE}/conversations/c'1/participants/p 1"
    assert args[-2:] == ["--data-binary", body.decode()]


def test_a_long_body_goes_on_standard_input() -> None:
    """Past the length one argument may have, the body is a here-document: the same text, and a
    line that looks like the usual end marker does not end it early."""
    text = "CALLBACKSIM_EOF\n" + "x'" * 2000
    command = Request("PUT", "/p", body=text.encode(), headers={"X-Sequence": "3"}).curl(BASE)
    args, stdin = _argv(command)
    assert args[-2:] == ["--data-binary", "@-"]
    assert args[:-2] == ["-sS", "-i", "-X", "PUT", f"{BASE}/p", "-H", "X-Sequence: 3"]
    assert stdin == text + "\n"  # a here-document ends with a newline


def test_the_url_is_always_quoted() -> None:
    """Even a URL the shell would read unquoted is in quotes: every reproducer reads alike."""
    assert Request("GET", "/health").curl(BASE) == f"curl -sS -i -X GET '{BASE}/health'"
