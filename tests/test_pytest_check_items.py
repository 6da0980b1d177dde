"""`pytest --callbacksim-target URL` yields one test item per property, passing against the
reference target and failing, with the reproducer, against a store that breaks a property."""

from __future__ import annotations

import pytest

from callbacksim.simulator.properties import PROPERTIES
from callbacksim.target import BackgroundServer, ServerConfig

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.slow


def test_one_item_per_property_against_the_reference_target(pytester: pytest.Pytester) -> None:
    with BackgroundServer(ServerConfig(port=0)) as url:
        result = pytester.runpytest_subprocess(
            "--callbacksim-target", url, "--callbacksim-budget", "9", "-v", "-p", "no:cacheprovider"
        )
    result.assert_outcomes(passed=len(PROPERTIES))
    for pid in PROPERTIES:
        result.stdout.fnmatch_lines([f"*callbacksim[[]{pid}[]] PASSED*"])


def test_a_failing_property_is_a_failing_item_with_a_reproducer(pytester: pytest.Pytester) -> None:
    # A structural-rules store accepts out-of-order timestamps, which the strict contract rejects.
    with BackgroundServer(ServerConfig(port=0, rules="structural")) as url:
        result = pytester.runpytest_subprocess(
            "--callbacksim-target",
            url,
            "--callbacksim-budget",
            "6",
            "--callbacksim-properties",
            "rejects-invalid,not-found",
            "-p",
            "no:cacheprovider",
        )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*was not rejected*", "*curl -sS -i -X PUT*"])


def test_unknown_property_ids_are_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess(
        "--callbacksim-target", "http://127.0.0.1:9", "--callbacksim-properties", "speedy"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown id(s)*speedy*"])


def test_a_property_not_exercised_is_a_failing_item(pytester: pytest.Pytester) -> None:
    # Every write needs a token the run does not send: nothing is ever stored to read back.
    with BackgroundServer(ServerConfig(port=0, token="s3cret")) as url:
        result = pytester.runpytest_subprocess(
            "--callbacksim-target",
            url,
            "--callbacksim-budget",
            "2",
            "--callbacksim-properties",
            "round-trips",
            "-p",
            "no:cacheprovider",
        )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*round-trips was not exercised*401*"])
