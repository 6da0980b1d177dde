"""The property checks judged on targets whose bugs are known: each seeded bug of `buggy_targets`
must fail exactly the properties it breaks (and say so usefully), the correct stores must pass
every property, and ``callbacksim check`` must report all of it end to end.

The catalog runs are bounded by example count (``max_examples``) rather than by time, so with the
fixed seed they are deterministic: the budget is only a cap that a loaded machine does not reach.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from buggy_targets import CATALOG, SeededBug, Store, app, running

from callbacksim.model import Edition
from callbacksim.simulator.checks import CheckConfig, run_checks
from callbacksim.simulator.client import HttpClient, Request
from callbacksim.simulator.properties import PROPERTIES, Outcome
from callbacksim.target import BackgroundServer, ServerConfig

EXAMPLES = 15
"""Explored examples per property for the correct store, after the covering phases (each seeded
bug says how many catch it)."""

CONCURRENCY = 16
"""Lifecycles replayed at once by ``isolated`` (four waves of them)."""

CAP = 120.0
"""The time budget of a catalog run: a cap only, shared by weight across the properties, so
that the example counts decide even on a loaded machine (a run takes a few seconds)."""

CLI = [sys.executable, "-m", "callbacksim.cli"]


def by_id(outcomes: list[Outcome]) -> dict[str, Outcome]:
    return {o.id: o for o in outcomes}


def failed(outcomes: list[Outcome]) -> set[str]:
    return {o.id for o in outcomes if o.status == "failed"}


def check_catalog_target(url: str, examples: int = EXAMPLES) -> list[Outcome]:
    # Shrinking is cut short: which properties fail is what is judged here, not how small.
    cfg = CheckConfig(
        url=url,
        budget=CAP,
        seed=0,
        max_examples=examples,
        shrink_seconds=2.0,
        concurrency=CONCURRENCY,
    )
    return run_checks(cfg)


def assert_useful(outcome: Outcome, url: str) -> None:
    """A failure says what failed, what was expected, what came, and how to reproduce it."""
    f = outcome.failure
    assert f is not None, outcome
    assert f.summary.strip(), outcome
    assert f.expected.strip(), outcome
    assert f.got.strip(), outcome
    curls = [r.curl(url) for r in f.requests]
    assert curls, outcome
    assert all(c.startswith("curl ") and f"'{url}/" in c for c in curls), curls


# -- the catalog itself -------------------------------------------------------------------------


def test_catalog_breaks_every_property_at_least_once() -> None:
    assert len({b.id for b in CATALOG}) == len(CATALOG)
    covered = set().union(*(b.expected for b in CATALOG))
    assert covered == set(PROPERTIES)
    for bug in CATALOG:
        assert bug.expected <= set(PROPERTIES), bug.id
        assert bug.store is not Store, bug.id
        assert issubclass(bug.store, Store), bug.id


def test_the_shared_store_answers_the_contract() -> None:
    put = "/conversations/c1/participants/p1"
    json_headers = {"Content-Type": "application/json"}
    with running(app()) as url, HttpClient(url) as client:

        def send(method: str, path: str, body: bytes | None = None, **headers: str) -> Any:
            return client.request(Request(method, path, body, {**json_headers, **headers}))

        assert send("GET", "/health").status == 200
        assert send("GET", put).status == 404
        assert send("GET", "/conversations/c1").status == 404
        assert send("PUT", put, b'{"id": "p1", "name": "a"}', **{"X-Sequence": "2"}).status == 201
        assert send("PUT", put, b'{"name": "a", "id": "p1"}', **{"X-Sequence": "2"}).status == 200
        assert send("PUT", put, b'{"id": "p1", "name": "b"}', **{"X-Sequence": "2"}).status == 409
        assert send("PUT", put, b'{"id": "p1", "name": "old"}', **{"X-Sequence": "1"}).status == 409
        assert send("PUT", put, b'{"id": "p1", "name": "c"}', **{"X-Sequence": "3"}).status == 200
        assert send("PUT", put, b'{"id": "p1", "x": true}', **{"X-Sequence": "4"}).status == 200
        assert send("PUT", put, b'{"id": "p1", "x": 1}', **{"X-Sequence": "4"}).status == 409
        assert send("PUT", put, b'{"id": "p1", "name": "c"}', **{"X-Sequence": "5"}).status == 200
        assert json.loads(send("GET", put).body) == {"id": "p1", "name": "c"}
        conversation = json.loads(send("GET", "/conversations/c1").body)
        assert conversation == {"id": "c1", "participants": [{"id": "p1", "name": "c"}]}
        assert send("PUT", put, b'{"id": "other"}').status == 422
        assert send("PUT", put, b"{not json").status == 400
        assert send("PUT", put, b"[" * 5000 + b"]" * 5000).status == 400
        assert send("PUT", put, b"{}", **{"X-Sequence": "0"}).status == 400
        filler = b" " * (1024 * 1024 - len(b'{"id": "p1"}'))
        assert send("PUT", put, b'{"id": "p1"}' + filler).status == 200  # exactly 1 MiB
        assert send("PUT", put, b'{"id": "p1"}' + filler + b" ").status == 413
        assert send("GET", "/conversations/c2/participants/p1").status == 404


@pytest.mark.slow
def test_the_shared_store_passes_every_property() -> None:
    with running(app()) as url:
        outcomes = check_catalog_target(url)
    shown = [(o.id, o.failure.summary, o.failure.got[:300]) for o in outcomes if o.failure]
    assert [(o.id, o.status) for o in outcomes] == [(p, "passed") for p in PROPERTIES], shown


# -- each seeded bug fails exactly its properties -----------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("bug", CATALOG, ids=[b.id for b in CATALOG])
def test_seeded_bug_fails_exactly_its_properties(bug: SeededBug) -> None:
    with running(app(bug.store)) as url:
        outcomes = check_catalog_target(url, bug.examples)
    assert [o.id for o in outcomes] == list(PROPERTIES)
    errors = [(o.id, o.note) for o in outcomes if o.status == "error"]
    assert not errors, errors
    found = failed(outcomes)
    shown = {o.id: o.failure.summary for o in outcomes if o.failure is not None}
    assert found == bug.expected, f"{bug.id} ({bug.why}): {shown}"
    for outcome in outcomes:
        if outcome.status == "failed":
            assert_useful(outcome, url)
        else:
            assert outcome.status == "passed", outcome
            assert outcome.failure is None, outcome


# -- the reference target -----------------------------------------------------------------------


@pytest.mark.slow
def test_reference_target_passes_every_property() -> None:
    with BackgroundServer(ServerConfig()) as url:
        outcomes = run_checks(CheckConfig(url=url, budget=20.0, seed=0))
    problems = [
        (o.id, o.status, o.note, o.failure and (o.failure.summary, o.failure.got[:300]))
        for o in outcomes
        if o.status != "passed"
    ]
    assert not problems
    assert [o.id for o in outcomes] == list(PROPERTIES)
    assert all(o.examples > 0 for o in outcomes)


# -- the command, end to end --------------------------------------------------------------------


def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "check", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def bug(bug_id: str) -> SeededBug:
    (found,) = [b for b in CATALOG if b.id == bug_id]
    return found


@pytest.fixture
def truncating() -> Iterator[str]:
    with running(app(bug("truncates-to-seconds").store)) as url:
        yield url


@pytest.fixture(scope="module")
def reference() -> Iterator[str]:
    with BackgroundServer(ServerConfig()) as url:
        yield url


@pytest.mark.slow
def test_cli_reports_a_buggy_target(truncating: str, tmp_path: Path) -> None:
    report, junit = tmp_path / "report.json", tmp_path / "junit.xml"
    chosen = ["round-trips", "idempotent", "converges"]
    run = cli(
        truncating,
        "--properties",
        ",".join(chosen),
        "--budget",
        "6",
        "--seed",
        "0",
        "--report",
        report,
        "--junit",
        junit,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    assert "round-trips" in run.stdout
    assert "curl " in run.stdout

    data = json.loads(report.read_text())
    assert set(data) == {"target", "seed", "edition", "rules", "budget", "properties"}
    assert data["edition"] == "seed"
    assert data["target"] == truncating
    assert data["seed"] == 0
    rows = {row["id"]: row for row in data["properties"]}
    assert sorted(rows) == sorted(PROPERTIES)
    assert len(data["properties"]) == len(PROPERTIES)
    for row in data["properties"]:
        assert {"id", "status", "examples"} <= set(row)
        assert isinstance(row["examples"], int)
    statuses = {pid: row["status"] for pid, row in rows.items()}
    assert statuses == {
        **dict.fromkeys(PROPERTIES, "skipped"),
        "round-trips": "failed",
        "idempotent": "passed",
        "converges": "failed",
    }
    for pid in ("round-trips", "converges"):
        f = rows[pid]["failure"]
        assert f["summary"]
        assert f["expected"]
        assert f["got"]
        assert f["reproducer"]
        assert all(c.startswith("curl ") and f"'{truncating}/" in c for c in f["reproducer"])
    assert "failure" not in rows["idempotent"]
    assert "a different instant" in rows["round-trips"]["failure"]["got"]

    suite = ET.parse(junit).getroot()
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert sorted(cases) == sorted(PROPERTIES)
    assert len(list(suite.iter("testcase"))) == len(PROPERTIES)
    marked = {name for name, case in cases.items() if case.find("failure") is not None}
    assert marked == {"round-trips", "converges"}
    skipped = {name for name, case in cases.items() if case.find("skipped") is not None}
    assert skipped == set(PROPERTIES) - set(chosen)
    assert suite.get("failures") == "2"
    failure = cases["round-trips"].find("failure")
    assert failure is not None
    assert failure.get("message")
    assert f"curl -sS -i -X PUT '{truncating}/" in (failure.text or "")


@pytest.mark.slow
def test_cli_passes_the_reference_target(reference: str, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    chosen = "not-found,accepts-valid,round-trips,idempotent,converges"
    run = cli(reference, "--properties", chosen, "--budget", "4", "--report", report)
    assert run.returncode == 0, run.stdout + run.stderr
    statuses = {row["id"]: row["status"] for row in json.loads(report.read_text())["properties"]}
    assert statuses == {p: "passed" if p in chosen.split(",") else "skipped" for p in PROPERTIES}


@pytest.mark.slow
def test_cli_properties_and_skip_select(reference: str, tmp_path: Path) -> None:
    report, junit = tmp_path / "report.json", tmp_path / "junit.xml"
    run = cli(
        reference,
        "--properties",
        "not-found,idempotent,round-trips",
        "--skip",
        "round-trips",
        "--budget",
        "1",
        "--report",
        report,
        "--junit",
        junit,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    rows = json.loads(report.read_text())["properties"]
    assert [row["id"] for row in rows if row["status"] != "skipped"] == ["not-found", "idempotent"]
    assert {row["id"] for row in rows if row["status"] == "skipped"} == set(PROPERTIES) - {
        "not-found",
        "idempotent",
    }
    assert all(row["examples"] == 0 for row in rows if row["status"] == "skipped")
    suite = ET.parse(junit).getroot()
    skipped = {c.get("name") for c in suite.iter("testcase") if c.find("skipped") is not None}
    assert skipped == set(PROPERTIES) - {"not-found", "idempotent"}

    # --skip alone leaves out just those.
    run = cli(
        reference,
        "--skip",
        ",".join(p for p in PROPERTIES if p != "not-found"),
        "--budget",
        "1",
        "--report",
        report,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    statuses = {row["id"]: row["status"] for row in json.loads(report.read_text())["properties"]}
    assert statuses == {p: "passed" if p == "not-found" else "skipped" for p in PROPERTIES}


@pytest.mark.slow
def test_cli_unreachable_target_is_a_usage_error() -> None:
    with socket.socket() as sock:  # a port nothing listens on once this socket closes
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    run = cli(url, "--budget", "1", "--timeout", "2", "--wait-for-target", "0")
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert url in lines[0]
    assert "error" in lines[0]


@pytest.mark.slow
def test_cli_same_seed_reproduces_the_failure(tmp_path: Path) -> None:
    def failures(round_: int) -> dict[str, tuple[str, str, Any]]:
        report = tmp_path / f"report{round_}.json"
        with running(app(bug("ignores-sequence").store)) as url:
            run = cli(
                url, "--properties", "converges", "--budget", "8", "--seed", "3", "--report", report
            )
        assert run.returncode == 1, run.stdout + run.stderr
        rows = json.loads(report.read_text())["properties"]
        return {
            row["id"]: (row["failure"]["summary"], row["failure"]["got"], row["failure"]["example"])
            for row in rows
            if row["status"] == "failed"
        }

    first, second = failures(1), failures(2)
    assert list(first) == ["converges"]
    assert first == second


@pytest.mark.slow
def test_cli_check_of_the_reference_target_at_its_default_budget(tmp_path: Path) -> None:
    """What CI promises: `callbacksim check URL`, every property, the default 60 s budget."""
    from callbacksim.target import BackgroundServer, ServerConfig

    report = tmp_path / "report.json"
    with BackgroundServer(ServerConfig(port=0)) as url:
        started = time.monotonic()
        run = cli(url, "--report", report)
        elapsed = time.monotonic() - started
    assert run.returncode == 0, run.stdout + run.stderr
    rows = json.loads(report.read_text())["properties"]
    assert [r["id"] for r in rows] == list(PROPERTIES)
    assert all(r["status"] == "passed" and r["examples"] > 0 for r in rows)
    assert elapsed < 60 + 30  # the budget, plus start-up and the last example's tail


# -- no false alarms across editions ------------------------------------------------------------

EDITION_PAIRS = [(t, c) for t in Edition for c in Edition]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("target", "checked"),
    EDITION_PAIRS,
    ids=[f"{t.value}-checked-as-{c.value}" for t, c in EDITION_PAIRS],
)
def test_the_reference_target_of_each_edition_checked_in_each_edition(
    target: Edition, checked: Edition
) -> None:
    """Every property holds, fully covered, on a target built on the edition checked or a newer
    one. On an older target, rejects-invalid alone fails: the newer edition's rules are not its
    own, and the failure says so."""
    with BackgroundServer(ServerConfig(edition=target)) as url:
        cfg = CheckConfig(
            url=url, budget=CAP, seed=0, edition=checked, max_examples=10, concurrency=8
        )
        outcomes = by_id(run_checks(cfg))
    assert list(outcomes) == list(PROPERTIES)
    for pid, outcome in outcomes.items():
        if pid == "rejects-invalid" and not target.includes(checked):
            assert outcome.status == "failed", outcome
            assert outcome.failure is not None
            assert f"valid in the {target.value} edition" in outcome.failure.summary
            continue
        assert outcome.status == "passed", (pid, outcome.failure, outcome.note)
        assert outcome.complete, (pid, outcome.coverage())
        assert outcome.examples > 0


@pytest.mark.slow
@pytest.mark.parametrize("pid", ["accepts-valid", "tolerates-unknown", "round-trips"])
def test_a_store_on_a_newer_edition_is_no_false_alarm_when_checked_in_an_older_one(
    pid: str,
) -> None:
    """What a check in the seed edition sends as unknown is unknown to every edition, and what is
    new in sdk-269 comes only in a form valid there (a parked state with its parkTime)."""

    class Newer(Store):
        edition = Edition.SDK_269

    with running(app(Newer)) as url:
        cfg = CheckConfig(url=url, budget=CAP, seed=1, properties=(pid,), max_examples=300)
        (outcome,) = run_checks(cfg)
    assert outcome.status == "passed", (outcome.failure, outcome.note)
    assert outcome.complete
    assert outcome.explored == 300


# -- a target that is not what it seems -----------------------------------------------------------


def _refuses_every_write() -> web.Application:
    """Answers /health and reads, but every write 404 (the write path is elsewhere)."""

    async def health(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def missing(_request: web.Request) -> web.Response:
        return web.json_response({"error": "no such thing"}, status=404)

    application = web.Application()
    application.router.add_get("/health", health)
    application.router.add_route("*", "/{tail:.*}", missing)
    return application


def test_a_property_whose_writes_are_all_refused_is_not_exercised() -> None:
    with running(_refuses_every_write()) as url:
        cfg = CheckConfig(
            url=url,
            budget=6.0,
            seed=0,
            properties=("not-found", "round-trips", "idempotent"),
            max_examples=20,
        )
        outcomes = by_id(run_checks(cfg))
    for pid in ("round-trips", "idempotent"):
        outcome = outcomes[pid]
        assert outcome.status == "not-exercised", outcome
        assert outcome.failure is None
        assert "no write got a 2xx answer" in outcome.note
        assert "404" in outcome.note
        assert outcome.covered["features"][0] == 0
        assert outcome.unexercised["features"]
    found = outcomes["not-found"]
    assert found.status == "passed"  # the never-written participant is still not found...
    assert found.unexercised == {"cases": ("never-written participant beside a stored one",)}
    assert not found.complete  # ...but the case beside a stored one could not be tried
    assert found.verdict == "holds, partly covered"


@pytest.mark.slow
def test_cli_exit_status_is_1_for_a_property_not_exercised(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    with running(_refuses_every_write()) as url:
        run = cli(url, "--properties", "round-trips", "--budget", "3", "--report", report)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "not exercised" in run.stdout
    (row,) = [r for r in json.loads(report.read_text())["properties"] if r["id"] == "round-trips"]
    assert row["status"] == "not-exercised"


@pytest.mark.slow
def test_cli_wrong_base_url_is_a_usage_error(reference: str) -> None:
    run = cli(f"{reference}/api", "--properties", "not-found", "--budget", "1")
    assert run.returncode == 2, run.stdout + run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert "/health" in lines[0]
    assert "404" in lines[0]
    assert "Traceback" not in run.stderr


@pytest.mark.slow
def test_cli_missing_credentials_are_a_usage_error() -> None:
    with BackgroundServer(ServerConfig(token="s3cret")) as url:
        # /health needs no token; the first real request does.
        run = cli(url, "--properties", "not-found", "--budget", "1")
        assert run.returncode == 2, run.stdout + run.stderr
        lines = run.stderr.strip().splitlines()
        assert len(lines) == 1, run.stderr
        assert "401" in lines[0]
        assert "--header" in lines[0]
        with_token = cli(
            url,
            "--properties",
            "not-found",
            "--budget",
            "1",
            "--header",
            "Authorization: Bearer s3cret",
        )
    assert with_token.returncode == 0, with_token.stdout + with_token.stderr


class _Slow(Store):
    """A correct store that takes its time over every write."""

    async def put(self, cid: str, pid: str, sequence: int | None, sent: bytes, body: bytes) -> str:
        await asyncio.sleep(0.05)
        return await super().put(cid, pid, sequence, sent, body)


def test_a_budget_too_small_for_the_covering_phase_is_said_with_a_better_budget() -> None:
    with running(app(_Slow)) as url:
        cfg = CheckConfig(url=url, budget=1.0, seed=0, properties=("round-trips",))
        (outcome,) = run_checks(cfg)
    assert outcome.status == "passed"
    assert not outcome.complete
    assert outcome.verdict == "holds, partly covered"
    assert outcome.explored == 0
    covered, total = outcome.covered["features"]
    assert covered < total
    untried = {(d, n) for d, names in outcome.untried.items() for n in names}
    assert ("paths", "hold") in untried
    assert outcome.suggested_budget is not None
    assert outcome.suggested_budget > 1.0
    assert f"about {outcome.suggested_budget:g} s" in outcome.coverage()
