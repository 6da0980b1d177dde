"""What a replay says about the answers it got: every answer that was not 2xx explained (one
place: `callbacksim.simulator.answers`), the start line and the one-line verdict, the first rejected
events, latency by request name, and the HTML report's provenance. Targets run on 127.0.0.1 and
are stopped by the test that starts them."""

from __future__ import annotations

import io
import re
import shlex
from pathlib import Path

import orjson
import pytest
from rich.console import Console

from callbacksim import __version__
from callbacksim.cli import main
from callbacksim.semantic import differences
from callbacksim.simulator.answers import HELD, explain
from callbacksim.simulator.replay import REJECTED_KEPT, ReplayResult
from callbacksim.target import BackgroundServer, ServerConfig
from callbacksim.views.terminal import replay_summary

# -- the explanations ------------------------------------------------------------------------------


def test_every_cause_is_explained_with_its_severity() -> None:
    causes = {"404": 3, "422": 2, "401": 1, "409 stale": 4, HELD: 5, "409 conflict": 1, "418": 1}
    by_what = {e.what: e for e in explain(causes, {"503": 2, "429": 1, "no answer": 1})}
    assert "base path" in by_what["404"].why
    assert by_what["404"].severity == "error"
    assert "target bug" in by_what["422"].why
    assert by_what["422"].severity == "error"
    assert "--header" in by_what["401"].why
    assert by_what["418"].severity == "error"
    # No reordering asked for: a stale 409 means the target was not empty.
    assert by_what["409 stale"].severity == "warning"
    assert "not empty" in by_what["409 stale"].why
    held = by_what["409 stale (already held)"]
    assert held.severity == "warning"
    assert "already held 5 of these events" in held.why
    assert "--seed" in held.why
    assert "not empty" in by_what["409 conflict"].why
    for status in ("503", "429", "no answer"):
        assert by_what[status].severity == "expected"
        assert "sent again" in by_what[status].why
    # Errors first, expected last.
    order = [e.severity for e in explain(causes, {"503": 2})]
    assert order == sorted(order, key=["error", "warning", "expected"].index)


def test_stale_answers_are_expected_only_when_deliveries_are_reordered() -> None:
    (quiet,) = explain({"409 stale": 3}, {}, faults={"reorder": 0.0})
    (faulty,) = explain({"409 stale": 3}, {}, faults={"reorder": 0.1})
    assert quiet.severity == "warning"
    assert faulty.severity == "expected"
    assert "--reorder 0.1" in faulty.why
    (unknown,) = explain({"409": 2}, {}, faults={"duplicates": 0.1})
    assert unknown.severity == "expected"


def test_given_up_retries_fail_the_replay() -> None:
    explained = explain({}, {"503": 4}, failed=2, retry_for=1.0)
    assert [e.what for e in explained] == ["failed", "503"]
    assert "--retry-for 1 s" in explained[0].why


def test_read_back_differences_show_values_as_json() -> None:
    diff = differences({"id": "a", "state": "connected"}, {"id": "a", "state": None})
    assert diff == ['$.state: was "connected", came back absent']
    diff = differences({"id": "a", "attributes": {"k": "v"}}, {"id": "a", "attributes": {"k": 1}})
    assert diff == ['$.attributes: was {"k":"v"}, came back {"k":1}']


# -- the command line against the reference target -------------------------------------------------


def replay_cli(capfd: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(["replay", *argv])
    out, err = capfd.readouterr()
    return code, out + err


def verdict_line(out: str) -> str:
    lines = [line for line in out.splitlines() if line.startswith("callbacksim replay: ")]
    return lines[-1]


def test_a_second_replay_of_the_same_lifecycles_says_the_target_already_held_them(
    capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with BackgroundServer(ServerConfig(db=tmp_path / "store.sqlite")) as url:
        code, first = replay_cli(capfd, url, "--lifecycles", "30", "--seed", "4")
        assert code == 0, first
        assert "answers that were not 2xx" not in first
        assert verdict_line(first) == "callbacksim replay: PASSED: converged"
        report = tmp_path / "again.json"
        code, again = replay_cli(
            capfd, url, "--lifecycles", "30", "--seed", "4", "--report", str(report)
        )
    # The start line says what is replayed, against what and how.
    start = again.splitlines()[0]
    assert start == (
        f"callbacksim replay: 30 lifecycles generated from seed 4 to {url} (adapter store), "
        "concurrency 32, faults: none, ledger: none"
    )
    result = orjson.loads(report.read_bytes())
    held = result["causes"][HELD]
    assert held == result["rejected"] > REJECTED_KEPT
    assert f"the target already held {held:,} of these events" in again
    assert "not empty" in again
    assert "another --seed" in again
    # The target holds the final snapshots: the run passes, with the warning in its verdict.
    assert code == 0
    assert verdict_line(again) == (
        f"callbacksim replay: PASSED: converged, but 409 stale (already held) x{held:,} (see above)"
    )
    # Only the first rejected events are kept, each with its ids, sequence, status and body.
    kept = result["rejected_events"]
    assert len(kept) == REJECTED_KEPT
    assert {r["status"] for r in kept} == {409}
    assert all("stale write" in r["body"] and r["cause"] == HELD for r in kept)
    assert "first rejected events (5 of" in again


def test_a_wrong_base_path_is_named_not_counted_silently(
    capfd: pytest.CaptureFixture[str],
) -> None:
    with BackgroundServer(ServerConfig()) as url:
        code, out = replay_cli(capfd, f"{url}/wrong", "--lifecycles", "3")
    assert code == 1
    assert "the target has no such route. Is the base path in the URL right" in out
    assert verdict_line(out).startswith("callbacksim replay: FAILED: ")
    assert "404 x" in verdict_line(out)


def test_a_wrong_base_path_fails_even_without_read_back(
    capfd: pytest.CaptureFixture[str],
) -> None:
    with BackgroundServer(ServerConfig()) as url:
        code, out = replay_cli(capfd, f"{url}/wrong", "--lifecycles", "2", "--no-verify")
    assert code == 1, out
    assert re.search(r"callbacksim replay: FAILED: 404 x\d+$", out, re.M), out


def test_stale_answers_to_reordered_deliveries_are_explained_as_expected(
    capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    report = tmp_path / "r.json"
    with BackgroundServer(ServerConfig()) as url:
        code, out = replay_cli(
            capfd, url, "--lifecycles", "40", "--seed", "1", "--reorder", "0.5",
            "--duplicates", "0.2", "--report", str(report),
        )  # fmt: skip
    assert code == 0, out
    result = orjson.loads(report.read_bytes())
    assert result["causes"].get("409 stale", 0) > 0
    assert HELD not in result["causes"]
    assert "expected 409 stale" in out
    assert "delivered out of order (--reorder 0.5)" in out
    assert "faults: duplicates 0.2, reorder 0.5" in out.splitlines()[0]
    assert verdict_line(out) == "callbacksim replay: PASSED: converged"
    # Latency by request name (purpose:state), adding up to every request.
    names = result["names"]
    assert "agent:connected" in names
    assert sum(n["requests"] for n in names.values()) == result["requests"]
    assert "latency by request name" in out


@pytest.mark.parametrize("width", [60, 80])
def test_ids_do_not_wrap_in_a_narrow_terminal(
    width: int, capfd: pytest.CaptureFixture[str]
) -> None:
    cid, pid = "3458a748-e9bb-47bc-a3f2-c9bf9c6316b9", "101fbccc-ded7-43e8-b421-eaeb534097ca"
    result = ReplayResult(
        events=2, delivered=1, rejected=1, failed=0, skipped=0, requests=2, duplicates=0,
        retries=0, seconds=1.0, latency_ms={"p50": 1.0}, latency_histogram=[], timeline=[2],
        conversations=1, participants_checked=1, participants_converged=0,
        conversations_converged=0, read_back=True, rejections={"404": 1}, causes={"404": 1},
        not_converged=[f"{cid}/{pid}: customer participant did not read back"],
        rejected_events=[{
            "conversationId": cid, "participantId": pid, "sequence": 1, "status": 404,
            "cause": "404", "body": '{"error":"no such endpoint"}',
        }],
        conversations_verified=1,
    )  # fmt: skip
    out = io.StringIO()
    replay_summary(result, Console(file=out, width=width, highlight=False))
    text = out.getvalue()
    assert f"{cid}/{pid}" in text  # whole, on one line (a terminal wraps it, rich does not)
    assert "404 x1: 1 event answered 404" in text


# -- the HTML report -------------------------------------------------------------------------------


def test_the_replay_report_says_when_how_and_what_was_refused(
    capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    html = tmp_path / "replay.html"
    with BackgroundServer(ServerConfig(db=tmp_path / "s.sqlite")) as url:
        replay_cli(capfd, url, "--lifecycles", "10", "--seed", "2")
        argv = [url, "--lifecycles", "10", "--seed", "2", "--reorder", "0.1", "--html", str(html)]
        code, out = replay_cli(capfd, *argv)
    assert code == 0, out
    page = html.read_text(encoding="utf-8")
    assert f'<span class="version">{__version__}</span>' in page
    assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ">', page)
    command = shlex.join(["callbacksim", "replay", *argv])
    assert f'<pre class="reproduce">{command}</pre>' in page.replace("&quot;", '"')
    faults = re.search(r'<table class="faults">.*?</table>', page)
    assert faults is not None
    assert '<th>reorder</th><td class="n">0.1</td>' in faults.group(0)
    assert "<th>duplicates</th>" in faults.group(0)
    names = re.search(r'<table class="latency-by-name">.*?</table>', page)
    assert names is not None
    assert "<code>agent:connected</code>" in names.group(0)
    assert "<code>all</code>" in names.group(0)
    rejected = re.search(r'<table class="rejected-events">.*?</table>', page)
    assert rejected is not None
    assert rejected.group(0).count("<tr>") == REJECTED_KEPT + 1  # the head and the rows
    assert "stale write" in rejected.group(0)
    assert "already held" in page
    assert "<title>callbacksim replay: PASS</title>" in page


def test_the_run_report_carries_its_provenance_and_faults_as_a_table() -> None:
    from callbacksim.views.report import Made, html_report

    page = html_report(
        target="http://127.0.0.1:1",
        started_reference=True,
        outcomes=[],
        result=None,
        lifecycle=None,
        settings={"seed": 1},
        faults={"duplicates": 0.05, "reorder": 0.0},
        made=Made("2026-01-02T03:04:05Z", "9.9.9", "callbacksim run --seed 1 --html 'a b.html'"),
    )
    assert '<time datetime="2026-01-02T03:04:05Z">' in page
    assert '<span class="version">9.9.9</span>' in page
    assert "callbacksim run --seed 1 --html &#x27;a b.html&#x27;" in page or (
        "callbacksim run --seed 1 --html &#39;a b.html&#39;" in page
    )
    assert '<th>duplicates</th><td class="n">0.05</td>' in page
    assert "(off)" in page  # reorder 0
    assert '"duplicates"' not in page  # a table, not raw JSON
    assert "<h2>Property checks</h2>" in page
