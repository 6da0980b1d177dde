"""Every wait ends: a target that never answers, a signal in the middle of a replay.

- ``check``, ``replay`` and ``run`` against a target that accepts connections and never answers
  end with one clear line and exit 2, in bounded time, never hang;
- a target whose health endpoint answers but nothing else does makes the events fail after
  ``--retry-for``, and the replay ends;
- SIGINT and SIGTERM stop a replay (a process of its own) cleanly: the ledger is whole, the summary
  is printed, the exit status is 130 or 143, and ``--resume`` finishes the job.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
import pytest
from aiohttp import web
from buggy_targets import Store, app
from loopback import running

from callbacksim.cli import main
from callbacksim.generation.lifecycle import LifecycleStream
from callbacksim.generation.participants import ANCHOR_MS
from callbacksim.simulator.ledger import read_ledger


@contextmanager
def silent_target() -> Iterator[str]:
    """A TCP server on 127.0.0.1 that accepts connections, reads, and never answers."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.read(65536):
            pass  # swallow whatever comes; answer nothing

    async def start() -> asyncio.Server:
        return await asyncio.start_server(handle, "127.0.0.1", 0)

    server = asyncio.run_coroutine_threadsafe(start(), loop).result(10)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:

        async def stop() -> None:
            server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


WAIT = ["--timeout", "0.5", "--wait-for-target", "1"]


@pytest.mark.parametrize(
    "argv",
    [
        ["check", "{url}", "--budget", "5", *WAIT],
        ["replay", "{url}", "--lifecycles", "2", *WAIT],
        ["run", "--target", "{url}", "--lifecycles", "2", "--budget", "5", "--html", "", *WAIT],
    ],
    ids=lambda argv: argv[0],
)
def test_a_target_that_never_answers_is_an_error_not_a_hang(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with silent_target() as url:
        started = time.monotonic()
        code = main([a.replace("{url}", url) for a in argv])
        took = time.monotonic() - started
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert code == 2, (out, err)
    assert took < 10
    assert lines[0].startswith(f"waiting up to 1 s for {url}")
    assert lines[-1].startswith(f"callbacksim: error: cannot reach {url}: no answer within 0.5 s")
    assert "Traceback" not in err


@pytest.mark.slow
def test_a_target_that_answers_health_only_fails_the_events_in_bounded_time(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def never(request: web.Request) -> web.Response:
        await asyncio.sleep(3600)
        raise AssertionError

    app = web.Application()
    app.router.add_get("/health", health)
    app.router.add_route("*", "/conversations/{tail:.*}", never)
    report = tmp_path / "report.json"
    with running(app) as url:
        started = time.monotonic()
        code = main(
            [
                *("replay", url, "--lifecycles", "2", "--timeout", "0.2", "--retry-for", "0.1"),
                *("--concurrency", "2", "--report", str(report)),
            ]
        )
        took = time.monotonic() - started
    out, _ = capsys.readouterr()
    summary = json.loads(report.read_bytes())
    assert code == 1
    assert took < 20
    assert summary["failed"] == summary["events"] > 0
    assert summary["delivered"] == 0
    # Each conversation's reads got no answer either: could not read back, not "differs".
    assert summary["unreadable"] == summary["conversations"] == 2
    assert summary["differing"] == 0
    assert "could not read back" in out


# -- signals --------------------------------------------------------------------------------------


def event_lines(path: Path) -> list[bytes]:
    return [x for x in path.read_bytes().splitlines() if x.startswith(b'{"conversationId":')]


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_a_replay_cleanly_and_resume_finishes_it(
    sig: signal.Signals, status: int, tmp_path: Path
) -> None:
    count, seed = 120, 21
    lcs = list(itertools.islice(LifecycleStream(seed, start_ms=ANCHOR_MS), count))
    keys = {(e.conversation_id, e.participant_id, e.sequence) for lc in lcs for e in lc.events}
    ledger = tmp_path / "ledger.jsonl"
    with running(app(Store)) as url:  # the in-memory correct store: quick
        common = [url, "--lifecycles", str(count), "--seed", str(seed), "--concurrency", "8"]
        argv = [sys.executable, "-m", "callbacksim.cli", "replay", *common]
        child = subprocess.Popen(
            [*argv, "--ledger", str(ledger)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "COLUMNS": "200"},
        )
        try:
            deadline = time.monotonic() + 60
            while not ledger.exists() or len(event_lines(ledger)) < 150:
                assert child.poll() is None, child.communicate()
                assert time.monotonic() < deadline, "no ledger lines in 60 s"
                time.sleep(0.02)
            child.send_signal(sig)
            out, err = child.communicate(timeout=60)
        finally:
            if child.poll() is None:
                child.kill()
                child.communicate()
        assert child.returncode == status, err
        assert "Traceback" not in err
        assert f"stopped by {sig.name}" in err
        assert "delivered / rejected / failed" in out  # the summary was printed
        assert f"by {sig.name}" in out
        data = ledger.read_bytes()
        assert data.endswith(b"\n")  # no torn line: the ledger was closed cleanly
        stopped_at = event_lines(ledger)
        assert 150 <= len(stopped_at) < len(keys)
        state = read_ledger(ledger)
        assert state.counts["delivered"] == len(stopped_at)
        assert state.conversations < count

        report = tmp_path / "report.json"
        resumed = subprocess.run(
            [*argv, "--resume", str(ledger), "--report", str(report)],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    summary = json.loads(report.read_bytes())
    assert summary["skipped"] == len(stopped_at)
    assert summary["events"] == summary["delivered"] == len(keys)
    assert summary["conversations"] == summary["conversations_converged"] == count
    written = [orjson.loads(x) for x in event_lines(ledger)]
    got = [(e["conversationId"], e["participantId"], e["sequence"]) for e in written]
    assert len(got) == len(set(got)) == len(keys)
    assert set(got) == keys
