"""Heavy libraries load only where they are used: each module below imports without loading
Hypothesis (checked in a fresh interpreter, since this one has loaded everything already)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

LIGHT = (
    "callbacksim",
    "callbacksim.faker_provider",
    "callbacksim.simulator",
    "callbacksim.simulator.properties",
    "callbacksim.views.report",
    "callbacksim.views.terminal",
    "callbacksim.cli",
    "callbacksim.target",
)


def _loaded_after(module: str, heavy: str) -> bool:
    code = (
        f"import sys, json, importlib; importlib.import_module({module!r}); "
        f"print(json.dumps(any(m == {heavy!r} or m.startswith({heavy!r} + '.') "
        "for m in sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return bool(json.loads(out.stdout))


@pytest.mark.slow
@pytest.mark.parametrize("module", LIGHT)
def test_module_imports_without_hypothesis(module: str) -> None:
    assert not _loaded_after(module, "hypothesis")


@pytest.mark.slow
def test_the_check_does_see_hypothesis_where_it_loads() -> None:
    assert _loaded_after("callbacksim.strategies", "hypothesis")
