"""The run report: a well-formed standalone page with the verdicts, the failure's reproducer, the
replay numbers and three charts, coping with missing and empty data."""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from callbacksim.generation.chooser import RandomChooser
from callbacksim.generation.lifecycle import Lifecycle, simulate
from callbacksim.generation.participants import ANCHOR
from callbacksim.simulator.client import Request
from callbacksim.simulator.properties import PROPERTIES, Failure, Outcome
from callbacksim.simulator.replay import ReplayResult
from callbacksim.views.picture import segments
from callbacksim.views.report import html_report, latency_svg, throughput_svg, write_report
from callbacksim.views.terminal import CheckReporter, junit_xml
from callbacksim.wiretime import epoch_ms

TARGET = "http://127.0.0.1:8123"
SVG = "{http://www.w3.org/2000/svg}"
BODY = b'{"name": "O\'Brien <b> & \\"co\\"", "state": "connected"}'


def outcomes() -> list[Outcome]:
    bad = Request(
        "PUT",
        "/conversations/c-1/participants/p-1",
        BODY,
        {"Content-Type": "application/json"},
    )
    failure = Failure(
        summary="a 2xx write did not read back equal",
        expected='state "connected" & <b> kept',
        got='500 {"error": "<boom>"}',
        requests=(bad, Request("GET", "/conversations/c-1/participants/p-1")),
        example={"name": 'O\'Brien <b> & "co"', "state": "connected", "n": [1, 2]},
    )
    out = [Outcome(pid, "passed", 100 + i, 0.25 * i) for i, pid in enumerate(PROPERTIES)]
    out[5] = Outcome("round-trips", "failed", 17, 1.5, failure)
    out[8] = Outcome("isolated", "skipped", 0, 0.0, note="out of time")
    return out


def replay_result(**changes: Any) -> ReplayResult:
    values: dict[str, Any] = {
        "events": 1200,
        "delivered": 1190,
        "rejected": 6,
        "failed": 4,
        "skipped": 0,
        "requests": 1260,
        "duplicates": 40,
        "retries": 20,
        "seconds": 12.5,
        "latency_ms": {
            "p50": 3.215,
            "p90": 8.703,
            "p99": 41.983,
            "p99.9": 120.319,
            "max": 250.111,
            "mean": 4.5,
        },
        "latency_histogram": [
            (0.8, 10),
            (1.5, 90),
            (3.2, 600),
            (8.7, 400),
            (42.0, 90),
            (120.3, 9),
            (250.1, 1),
        ],
        "timeline": [80, 120, 100, 0, 95, 110, 105, 90, 100, 100, 100, 100, 100],
        "conversations": 60,
        "participants_checked": 300,
        "participants_converged": 298,
        "conversations_converged": 58,
        "conversations_verified": 60,
        "read_back": True,
        "not_converged": ["c-9/p-3: state connected != disconnected"],
        "rejections": {"422": 5, "400": 1},
    }
    values.update(changes)
    return ReplayResult(**values)


@pytest.fixture(scope="module")
def lifecycle() -> Lifecycle:
    return simulate(RandomChooser(1), start_ms=epoch_ms(ANCHOR))


def page(**changes: Any) -> str:
    kwargs: dict[str, Any] = {
        "target": TARGET,
        "started_reference": True,
        "outcomes": outcomes(),
        "result": replay_result(),
        "lifecycle": None,
        "settings": {"budget": 60.0, "seed": 7, "faults": {"duplicates": 0.05}, "rules": "strict"},
    }
    kwargs.update(changes)
    return html_report(**kwargs)


def parse(text: str) -> ET.Element:
    assert text.startswith("<!DOCTYPE html>\n")
    return ET.fromstring(text.removeprefix("<!DOCTYPE html>\n"))


def charts(root: ET.Element) -> list[ET.Element]:
    return list(root.iter(f"{SVG}svg"))


def test_the_full_page_is_well_formed_and_says_everything(lifecycle: Lifecycle) -> None:
    text = page(lifecycle=lifecycle)
    root = parse(text)
    assert root.tag == "html"
    assert root.findtext("head/title") == "callbacksim run: FAIL"
    assert "1 of 9 did not hold: round-trips" in text
    assert "did not converge (298 of 300 participants)" in text
    for pid in PROPERTIES:
        row = next(r for r in root.iter("tr") if r.get("id") == f"property-{pid}")
        verdict = next(s for s in row.iter("span") if "verdict" in (s.get("class") or ""))
        expected = {"round-trips": "failed", "isolated": "skipped"}.get(pid, "passed")
        assert verdict.get("class") == f"verdict {expected}"
        assert verdict.text == {"failed": "FAILS", "skipped": "skipped"}.get(expected, "holds")
        assert row.findall("td")[1].text == PROPERTIES[pid].description
    assert "out of time" in text
    assert TARGET in text
    assert "reference target started by callbacksim" in text
    assert "{&quot;duplicates&quot;: 0.05}" in text
    # three charts: latency, throughput, the lifecycle picture
    svgs = charts(root)
    assert len(svgs) == 3
    assert [s.get("id") for s in svgs[:2]] == ["latency", "throughput"]
    labels = {t.text for t in svgs[2].iter(f"{SVG}text")}
    for lane in segments(lifecycle):
        assert lane.label[:34] in labels
    assert lifecycle.conversation_id in text


def test_failures_show_the_example_and_escaped_curl_lines() -> None:
    text = page()
    root = parse(text)
    curl = next(p for p in root.iter("pre") if p.get("class") == "curl")
    assert curl.text is not None
    lines = curl.text.split("\n\n")
    put = Request(
        "PUT", "/conversations/c-1/participants/p-1", BODY, {"Content-Type": "application/json"}
    )
    assert lines[0] == put.curl(TARGET)
    assert lines[1] == f"curl -sS -i -X GET '{TARGET}/conversations/c-1/participants/p-1'"
    # the raw page escapes the body's markup and quotes
    assert html.escape(put.curl(TARGET), quote=True) in text
    assert "&lt;b&gt; &amp;" in text
    assert "<b> &" not in text
    example = next(p for p in root.iter("pre") if p.get("class") == "example")
    assert example.text is not None
    assert '"name": "O\'Brien <b> & \\"co\\""' in example.text
    assert '"n": [\n    1,' in example.text
    cells = [td.text for td in root.iter("td")]
    assert 'state "connected" & <b> kept' in cells
    assert '500 {"error": "<boom>"}' in cells


def test_replay_numbers_and_percentiles() -> None:
    text = page()
    root = parse(text)
    latency = next(t for t in root.iter("table") if t.get("class") == "latency")
    got = {row.findtext("th"): row.findtext("td") for row in latency.iter("tr")}
    assert got == {
        "p50 (ms)": "3.215",
        "p90 (ms)": "8.703",
        "p99 (ms)": "41.983",
        "p99.9 (ms)": "120.319",
        "max (ms)": "250.111",
        "mean (ms)": "4.500",
    }
    counts = next(t for t in root.iter("table") if t.get("class") == "counts")
    got = {row.findtext("th"): row.findtext("td") for row in counts.iter("tr")}
    assert got["duplicates sent"] == "40"
    assert got["retries"] == "20"
    assert got["throughput (events/s)"] == "96.0"
    rejections = next(t for t in root.iter("table") if t.get("class") == "rejections")
    assert [row.findtext("th") for row in rejections.iter("tr")] == ["400", "422"]
    assert "c-9/p-3: state connected != disconnected" in text
    latency_chart = charts(root)[0]
    texts = [t.text or "" for t in latency_chart.iter(f"{SVG}text")]
    assert "p50 3.215 ms" in texts
    assert "p90 8.703 ms" in texts
    assert "p99 41.983 ms" in texts
    assert {"1 ms", "10 ms", "100 ms"} <= set(texts)  # log-scaled ticks
    assert len(list(latency_chart.iter(f"{SVG}rect"))) > 3
    throughput = charts(root)[1]
    bars = [r for r in throughput.iter(f"{SVG}rect") if r.get("class") == "bar"]
    assert len(bars) == 13
    assert "events/s" in [t.text for t in throughput.iter(f"{SVG}text")]


def test_a_clean_run_passes() -> None:
    clean = [Outcome(pid, "passed", 10, 0.1) for pid in PROPERTIES]
    result = replay_result(
        rejected=0,
        failed=0,
        participants_converged=300,
        conversations_converged=60,
        not_converged=[],
        rejections={},
    )
    root = parse(page(outcomes=clean, result=result))
    assert root.findtext("head/title") == "callbacksim run: PASS"
    summary = " ".join(p.text or "" for p in root.iter("p") if p.get("class") == "summary")
    assert "all 9 held" in summary
    assert "Replay: converged" in summary
    assert not any(t.get("class") == "rejections" for t in root.iter("table"))


@pytest.mark.parametrize(
    "result",
    [
        None,
        replay_result(latency_histogram=[], timeline=[], events=0, delivered=0, seconds=0.0),
        replay_result(latency_histogram=[(0.0, 0)], timeline=[0, 0]),
    ],
)
def test_missing_data_says_no_data(result: ReplayResult | None) -> None:
    text = page(outcomes=[], result=result, lifecycle=None, settings={})
    root = parse(text)
    svgs = charts(root)
    assert len(svgs) == 3
    for svg in svgs:
        assert "no data" in [t.text for t in svg.iter(f"{SVG}text")]
    assert "No property was checked." in text
    if result is None:
        assert "No replay was run." in text


def test_a_single_bucket_and_a_single_second() -> None:
    result = replay_result(
        latency_histogram=[(5.0, 42)],
        latency_ms={"p50": 5.0, "p90": 5.0, "p99": 5.0, "p99.9": 5.0, "max": 5.0, "mean": 5.0},
        timeline=[42],
        read_back=False,
    )
    text = page(result=result)
    root = parse(text)
    latency, throughput, _ = charts(root)
    assert "no data" not in [t.text for t in latency.iter(f"{SVG}text")]
    assert [r for r in latency.iter(f"{SVG}rect") if r.get("class") == "bar"]
    assert len([r for r in throughput.iter(f"{SVG}rect") if r.get("class") == "bar"]) == 1
    assert "Convergence: not read back." in text
    assert "not read back" in text


def test_long_runs_and_wide_latencies_stay_small() -> None:
    svg = throughput_svg([i % 50 for i in range(10_000)])
    assert svg.count('class="bar"') <= 240
    ET.fromstring(svg)
    wide = latency_svg([(10.0**k, 1) for k in range(-2, 6)], {"p50": 1.0})
    ticks = re.findall(r">([0-9.e+-]+ m?s)<", wide)
    assert "1 ms" in ticks
    assert "2 ms" not in ticks  # decades only when the range is wide
    ET.fromstring(wide)


def test_output_is_deterministic(lifecycle: Lifecycle) -> None:
    assert page(lifecycle=lifecycle) == page(lifecycle=lifecycle)


def test_write_report_creates_directories(tmp_path: Path, lifecycle: Lifecycle) -> None:
    path = tmp_path / "deep" / "er" / "report.html"
    written = write_report(
        path,
        target=TARGET,
        started_reference=False,
        outcomes=outcomes(),
        result=None,
        lifecycle=lifecycle,
        settings={"budget": 1},
    )
    assert written == path
    text = path.read_text(encoding="utf-8")
    assert text == page(
        started_reference=False, result=None, lifecycle=lifecycle, settings={"budget": 1}
    )
    assert "external target" in text
    parse(text)


def test_throughput_plots_the_last_partial_second_at_its_real_rate() -> None:
    """100 events a second for 4 s, then 25 events in the quarter second the run lasted after:
    the last bar is 100 events/s too, not 25, and it is a quarter of a second wide."""
    svg = throughput_svg([100, 100, 100, 100, 25], 4.25)
    bars = re.findall(r'<rect class="bar"[^>]*width="([0-9.]+)"[^>]*><title>([^<]*)</title>', svg)
    assert len(bars) == 5
    assert all(title.endswith("100.0 events/s") for _, title in bars)
    full, last = float(bars[0][0]) + 1, float(bars[-1][0]) + 1
    assert last == pytest.approx(full / 4, abs=1)


def test_a_marker_label_near_the_right_edge_stays_inside_the_chart() -> None:
    svg = latency_svg([(1.0, 10), (100.0, 10)], {"p50": 1.0, "p99": 100.0})
    label = re.search(r'<text x="([0-9.]+)"[^>]*text-anchor="(\w+)"[^>]*>p99 ', svg)
    assert label is not None
    assert label.group(2) == "end"
    assert "<title>10 requests</title>" in svg
    one = latency_svg([(1.0, 1)], {"p50": 1.0})
    assert "<title>1 request</title>" in one


# -- what was covered, in every report --------------------------------------------------------


def covered_outcomes() -> list[Outcome]:
    """A full covering phase, one the budget cut short, and a property never exercised."""
    full = Outcome(
        "rejects-invalid",
        "passed",
        483,
        9.5,
        covered={"rules": (71, 71)},
        covering_seconds=0.4,
        explored=412,
    )
    short = Outcome(
        "round-trips",
        "passed",
        20,
        1.0,
        covered={"features": (20, 35), "paths": (0, 18)},
        covering_seconds=1.0,
        untried={"features": ("long-keys", "glob-keys"), "paths": ("hold",)},
        suggested_budget=90.0,
    )
    idle = Outcome(
        "idempotent",
        "not-exercised",
        53,
        0.8,
        note="no write got a 2xx answer, so nothing could be judged (first: 404 {})",
        covered={"features": (0, 35), "paths": (0, 18)},
        unexercised={"features": ("unicode",)},
    )
    return [full, short, idle]


def test_the_coverage_of_each_property_is_said_in_words() -> None:
    full, short, idle = covered_outcomes()
    assert full.coverage() == "rules 71/71 (0.4 s), then 412 explored examples"
    assert full.verdict == "holds"
    assert short.verdict == "holds, partly covered"
    text = short.coverage()
    assert "features 20/35, paths 0/18" in text
    assert "features long-keys, features glob-keys, paths hold" in text
    assert "about 90 s" in text
    assert idle.verdict == "not exercised"
    assert "not exercised (their writes were refused): features unicode" in idle.coverage()


def test_the_page_shows_coverage_and_never_a_plain_pass_for_a_partial_one() -> None:
    root = parse(page(outcomes=covered_outcomes()))
    assert root.findtext("head/title") == "callbacksim run: FAIL"  # idempotent was not exercised
    summary = " ".join(p.text or "" for p in root.iter("p") if p.get("class") == "summary")
    assert "did not hold: idempotent" in summary
    assert "Partly covered" in summary
    assert "round-trips" in summary
    rows = {r.get("id"): r for r in root.iter("tr") if r.get("id")}
    cells = {pid: [c.text or "" for c in row.iter("td")] for pid, row in rows.items()}
    assert "rules 71/71" in cells["property-rejects-invalid"][5]
    assert "the budget ran out" in cells["property-round-trips"][5]
    spans = {
        pid: next(s for s in row.iter("span") if "verdict" in (s.get("class") or ""))
        for pid, row in rows.items()
    }
    assert spans["property-round-trips"].text == "holds, partly covered"
    assert spans["property-idempotent"].text == "not exercised"


def test_junit_carries_the_coverage_and_fails_a_property_not_exercised() -> None:
    suite = ET.fromstring(junit_xml(covered_outcomes(), TARGET))
    assert suite.get("failures") == "1"
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    props = {p.get("name"): p.get("value") for p in cases["rejects-invalid"].iter("property")}
    assert props["covered rules"] == "71/71"
    assert props["explored"] == "412"
    assert "rules 71/71" in (cases["rejects-invalid"].findtext("system-out") or "")
    assert cases["rejects-invalid"].find("failure") is None
    failure = cases["idempotent"].find("failure")
    assert failure is not None
    assert failure.get("type") == "not-exercised"
    assert "partly covered" in (cases["round-trips"].findtext("system-out") or "")


def test_the_terminal_says_what_was_covered(capsys: pytest.CaptureFixture[str]) -> None:
    import sys

    reporter = CheckReporter(sys.stdout, TARGET)
    for outcome in covered_outcomes():
        reporter.done(outcome)
    reporter.summary(covered_outcomes())
    out = capsys.readouterr().out
    assert "rules 71/71 (0.4 s), then 412 explored examples" in out
    assert "holds, partly covered" in out
    assert "round-trips holds only for what was tried" in out
    assert "idempotent was not exercised: no write got a 2xx answer" in out
    assert "2 held, 0 failed, 1 not exercised" in out


def test_json_gives_the_coverage_and_what_was_not_tried() -> None:
    full, short, idle = (o.to_json(TARGET) for o in covered_outcomes())
    assert full["covered"] == {"rules": {"covered": 71, "total": 71}}
    assert full["explored"] == 412
    assert full["coverage"].startswith("rules 71/71")
    assert short["untried"] == {"features": ["long-keys", "glob-keys"], "paths": ["hold"]}
    assert short["suggestedBudget"] == 90.0
    assert idle["status"] == "not-exercised"
    assert idle["unexercised"] == {"features": ["unicode"]}
