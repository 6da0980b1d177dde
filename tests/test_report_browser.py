"""The HTML report of a real `callbacksim run`, opened in a real browser (headless Chromium,
driven by Playwright): the verdict is there, every chart is drawn with a size, and the page logs
no error.

`make test` installs Debian's Chromium where it may (as root, with apt); where no browser is found,
this test is skipped and says why. The screenshot is kept next to the report in pytest's
temporary directory, for a person to look at.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from callbacksim.cli import main

_BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def _browser() -> str | None:
    given = os.environ.get("CALLBACKSIM_CHROMIUM")
    if given:
        return given
    return next((found for name in _BROWSERS if (found := shutil.which(name))), None)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    html = tmp_path_factory.mktemp("report") / "report.html"
    argv = ["run", "--lifecycles", "8", "--budget", "4", "--seed", "3", "--html", str(html)]
    assert main(argv) == 0
    return html


@pytest.mark.slow
def test_the_report_renders_in_a_browser(report: Path) -> None:
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="Playwright is not installed (pip install -e '.[dev]')"
    )
    executable = _browser()
    if executable is None:
        pytest.skip(
            "no Chromium found: `make test` installs Debian's chromium as root; "
            "or set CALLBACKSIM_CHROMIUM to a browser"
        )
    errors: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(report.resolve().as_uri())
            assert page.title() == "callbacksim run: PASS"
            assert page.inner_text("#verdict").strip() == "PASS"
            charts = page.query_selector_all("svg")
            assert len(charts) >= 3, "latency, throughput and a lifecycle picture"
            for chart in charts:
                box = chart.bounding_box()
                assert box is not None
                assert box["width"] > 100
                assert box["height"] > 100
            page.screenshot(path=str(report.with_suffix(".png")), full_page=True)
        finally:
            browser.close()
    assert errors == []
    assert report.with_suffix(".png").stat().st_size > 10_000
