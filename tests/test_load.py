"""``callbacksim load``: the promises of load runs, kept against targets started here.

Locust runs in subprocesses started by the load job (it patches the standard library for gevent);
every run is bounded in conversations or time and stops by itself. Targets listen on 127.0.0.1
only, except in the network-namespace test, whose addresses exist only inside namespaces it made.

- a master and two workers play exactly N conversations, split exactly, none twice, all converged;
- thresholds decide the exit status; usage errors and an unreachable target exit 2 at once;
- against a target that freezes for a second every five, the open model's p99 shows the freeze
  and the closed model's hides it;
- master, workers and target on separate (virtual) hosts.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web
from loopback import running

from callbacksim.cli import main
from callbacksim.load.plan import conversation, shares
from callbacksim.simulator.faults import Faults, split_lost
from callbacksim.target import BackgroundServer, ServerConfig


def _load(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    code = main(["load", *(str(a) for a in argv)])
    out, err = capsys.readouterr()
    return code, out, err


def _report(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(path.read_bytes())
    return data


# -- usage errors: one line, status 2, nothing started -------------------------------------------


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port  # closed again: nothing listens there


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--users", "2"], "nothing would end the run"),
        (["--users", "2", "--arrival-rate", "3", "--run-time", "1s"], "--arrival-rate"),
        (["--stages", "30s:10,2m"], "DURATION:LEVEL"),
        (["--users", "2", "--run-time", "soon"], "--run-time 'soon' is not a duration"),
        (["--users", "2", "--run-time", "1s", "--fail-on", "p99<fast"], "METRIC OP VALUE"),
        (["--users", "2", "--run-time", "1s", "--fail-on", "late-arrivals<1%"], "open model"),
        (["--users", "2", "--run-time", "1s", "--adapter", "nope"], "unknown adapter"),
        (["--model", "open", "--run-time", "1s"], "needs --arrival-rate"),
        (
            ["--users", "2", "--run-time", "1s", "--expect-workers", "3"],
            "remote workers cannot reach",
        ),
        (["--worker"], "--master-host"),
        (
            ["--users", "2", "--run-time", "1s", "--target", "http://127.0.0.1:{port}"],
            "cannot reach",
        ),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    argv = [a.replace("{port}", str(_closed_port())) for a in argv]
    started = time.monotonic()
    code, out, err = _load(capsys, *argv)
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in out + err
    assert time.monotonic() - started < 15  # refused before any load started


# -- distributed: exact counts, nothing twice, converged -----------------------------------------


def _stored_conversations(db: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(db)) as con:
        rows = con.execute("SELECT DISTINCT conversation FROM participants").fetchall()
    return sorted(r[0] for r in rows)


@pytest.mark.slow
def test_a_master_and_two_workers_play_exactly_n_conversations(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    n, seed = 61, 11
    db = tmp_path / "store.sqlite"
    with BackgroundServer(ServerConfig(port=0, db=db)) as url:
        code, out, _ = _load(
            capsys,
            "--target", url,
            "--workers", "2",
            "--lifecycles", n,
            "--users", "6",
            "--seed", seed,
            "--report", tmp_path / "load.json",
            "--html", tmp_path / "load.html",
        )  # fmt: skip
    assert code == 0, out
    report = _report(tmp_path / "load.json")
    # The count is exact, split exactly between the two worker slots.
    assert (report["started"], report["done"], report["cut"]) == (n, n, 0)
    assert [w["conversations"] for w in report["per_worker"]] == shares(n, 2) == [31, 30]
    # Nothing was played twice: the requests are exactly the events of those n conversations,
    # regenerated here from (seed, slot, number) alone, and the store holds exactly them.
    expected = [conversation(seed, slot, k) for slot in (0, 1) for k in range(shares(n, 2)[slot])]
    assert report["requests"] == sum(len(lc.events) for lc in expected)
    assert _stored_conversations(db) == sorted(lc.conversation_id for lc in expected)
    assert report["failures"] == 0
    # Everything converged, read back by the workers.
    conv = report["convergence"]
    assert conv["read_back"]
    assert conv["converged"]
    assert conv["conversations"] == conv["conversations_converged"] == n
    assert conv["participants"] == sum(len(lc.finals()) for lc in expected)
    assert report["passed"] is True
    assert report["stopped_by"] == "lifecycles"
    # Requests are named by purpose and state; the summary and the HTML report show them.
    assert {"customer:connected", "acd:disconnected", "agent:alerting"} <= set(report["names"])
    assert "agent:alerting" in out
    assert "PASSED" in out
    assert 'id="verdict">PASS<' in (tmp_path / "load.html").read_text(encoding="utf-8")


@pytest.mark.slow
def test_lost_events_are_never_sent_and_are_counted(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """--loss drops events as a closed WebSocket does: exactly the ones the seed picks are never
    sent, the report counts them, and the store, missing some final snapshots, does not converge."""
    n, seed, loss = 10, 5, 0.3
    with BackgroundServer(ServerConfig(port=0)) as url:
        code, out, _ = _load(
            capsys, "--target", url, "--lifecycles", n, "--users", 2, "--seed", seed,
            "--loss", loss, "--report", tmp_path / "r.json",
        )  # fmt: skip
    report = _report(tmp_path / "r.json")
    expected = [conversation(seed, 0, k) for k in range(n)]
    lost = sum(
        len(
            split_lost(
                lc.events,
                Faults(loss=loss),
                random.Random(f"callbacksim-load-faults:{seed}:{lc.conversation_id}"),
            )[1]
        )
        for lc in expected
    )
    assert lost > 0
    assert report["lost"] == lost
    assert report["requests"] == sum(len(lc.events) for lc in expected) - lost
    assert "lost (loss fault, never sent)" in out
    assert not report["convergence"]["converged"]
    assert code == 1


@pytest.mark.slow
def test_a_target_that_loses_writes_does_not_converge(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The read-back can fail: a target that answers 200 and keeps nothing after the first
    snapshot of each participant is caught, exit 1."""
    app = web.Application()
    kept: dict[str, bytes] = {}

    async def put(request: web.Request) -> web.Response:
        key = f"{request.match_info['cid']}/{request.match_info['pid']}"
        body = await request.read()
        kept.setdefault(key, body)  # the bug: later snapshots are dropped
        return web.Response(status=200)

    async def get_one(request: web.Request) -> web.Response:
        key = f"{request.match_info['cid']}/{request.match_info['pid']}"
        if key not in kept:
            return web.Response(status=404)
        return web.Response(body=kept[key], content_type="application/json")

    async def get_all(request: web.Request) -> web.Response:
        prefix = request.match_info["cid"] + "/"
        listed = [orjson.loads(v) for k, v in kept.items() if k.startswith(prefix)]
        return web.json_response({"participants": listed})

    async def health(_request: web.Request) -> web.Response:
        return web.Response(status=200)

    app.router.add_put("/conversations/{cid}/participants/{pid}", put)
    app.router.add_get("/conversations/{cid}/participants/{pid}", get_one)
    app.router.add_get("/conversations/{cid}", get_all)
    app.router.add_get("/health", health)
    with running(app) as url:
        code, out, _ = _load(
            capsys, "--target", url, "--lifecycles", 12, "--users", 3,
            "--report", tmp_path / "r.json",
        )  # fmt: skip
    assert code == 1
    conv = _report(tmp_path / "r.json")["convergence"]
    assert conv["read_back"]
    assert not conv["converged"]
    assert conv["conversations_converged"] < 12
    assert "the target did not converge" in out
    assert "not converged:" in out


# -- thresholds to exit status -------------------------------------------------------------------


@pytest.mark.slow
def test_a_threshold_that_holds_exits_0_and_one_that_fails_exits_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with BackgroundServer(ServerConfig(port=0)) as url:
        common = ["--target", url, "--users", "3", "--run-time", "3s", "--seed", "2"]
        held = _load(
            capsys, *common, "--fail-on", "failures<0.5%,p99<10s", "--fail-on", "rps>1",
            "--locust-csv", tmp_path / "locust", "--locust-html", tmp_path / "locust.html",
        )  # fmt: skip
        failed = _load(
            capsys, *common, "--fail-on", "p99<10s,agent:connected:p50<1us",
            "--report", tmp_path / "r.json",
        )  # fmt: skip
    assert held[0] == 0, held[1]
    assert "threshold failures<0.5%: holds" in held[1]
    # Locust's own reports pass through, and see the same requests, named the same way.
    assert "agent:connected" in (tmp_path / "locust_stats.csv").read_text(encoding="utf-8")
    assert (tmp_path / "locust.html").stat().st_size > 0
    assert failed[0] == 1
    assert "threshold p99<10s: holds" in failed[1]
    assert "threshold agent:connected:p50<1us: FAILS (p50 was" in failed[1]
    report = _report(tmp_path / "r.json")
    assert [(t["expression"], t["holds"]) for t in report["thresholds"]] == [
        ("p99<10s", True),
        ("agent:connected:p50<1us", False),
    ]
    assert report["stopped_by"] == "run-time"
    assert report["passed"] is False


@pytest.mark.slow
def test_server_errors_and_dropped_connections_are_failures(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Without --fail-on, any failed request fails the run: here every ``connected`` snapshot is
    answered 503 and every ``alerting`` one loses its connection."""

    async def anything(request: web.Request) -> web.StreamResponse:
        body = orjson.loads(await request.read() or b"{}")
        state = body.get("state") if isinstance(body, dict) else None
        if state == "connected":
            return web.Response(status=503)
        if state == "alerting":
            assert request.transport is not None
            request.transport.close()
        return web.Response(status=200)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", anything)
    with running(app) as url:
        code, out, _ = _load(
            capsys, "--target", url, "--users", 2, "--run-time", "3s",
            "--report", tmp_path / "r.json",
        )  # fmt: skip
    assert code == 1
    report = _report(tmp_path / "r.json")
    reasons = report["reasons"]
    assert reasons["HTTP 503"] == sum(
        n["failures"] for name, n in report["names"].items() if name.endswith(":connected")
    )
    dropped = [k for k in reasons if k.startswith("no answer")]
    assert dropped, reasons
    assert (
        report["names"]["agent:alerting"]["failures"]
        == report["names"]["agent:alerting"]["requests"]
    )
    # A customer leg waiting to be routed shows 'none' (the default pre_routing_state): answered.
    assert report["names"]["customer:none"]["failures"] == 0
    assert "threshold failures<1: FAILS" in out


@pytest.mark.slow
def test_arrivals_that_find_the_cap_reached_are_late(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Open model, one conversation in flight at most, a target taking 50 ms a request: most
    arrivals find the cap reached. They are counted late, the late-arrivals threshold fails, and
    their wait is in their latency (measured from when they were due)."""

    async def slow(request: web.Request) -> web.Response:
        await request.read()
        await asyncio.sleep(0.05)
        return web.Response(status=200)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", slow)
    with running(app) as url:
        code, out, _ = _load(
            capsys, "--target", url, "--arrival-rate", 5, "--max-in-flight", 1,
            "--run-time", "4s", "--fail-on", "late-arrivals<1%",
            "--report", tmp_path / "r.json",
        )  # fmt: skip
    assert code == 1
    report = _report(tmp_path / "r.json")
    assert report["arrivals"] >= 5
    assert report["late"] >= report["arrivals"] // 2
    assert "threshold late-arrivals<1%: FAILS" in out
    # A conversation of ~11 requests takes over half a second here, arrivals come every 0.2 s:
    # the later ones wait, and that wait is in the latency.
    assert report["total"]["latency_ms"]["max"] > 1000


# -- the open model does not hide a stalling target ----------------------------------------------

FREEZE_EVERY_S, FREEZE_FOR_S = 5.0, 1.0


def _freezing_app() -> web.Application:
    """Answers 200 at once, except that for one second in every five it answers nothing: a
    request arriving during a freeze waits for its end."""
    started = time.monotonic()

    async def anything(request: web.Request) -> web.Response:
        await request.read()
        phase = (time.monotonic() - started) % FREEZE_EVERY_S
        if phase < FREEZE_FOR_S:
            await asyncio.sleep(FREEZE_FOR_S - phase)
        return web.Response(status=200)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", anything)
    return app


@pytest.mark.slow
def test_the_open_model_shows_a_freeze_the_closed_model_hides(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with running(_freezing_app()) as url:
        open_code, open_out, _ = _load(
            capsys, "--target", url, "--arrival-rate", 30, "--time-factor", 0.0005,
            "--run-time", "10s", "--seed", 3, "--report", tmp_path / "open.json",
        )  # fmt: skip
        closed_code, closed_out, _ = _load(
            capsys, "--target", url, "--users", 8, "--run-time", "10s", "--seed", 3,
            "--report", tmp_path / "closed.json",
        )  # fmt: skip
    assert open_code == 0, open_out
    assert closed_code == 0, closed_out
    # While it ran: a live line every few seconds (this is not a terminal, so one per line).
    live = [line for line in open_out.splitlines() if "conversations" in line and "late" in line]
    assert len(live) >= 2, open_out
    opened, closed = _report(tmp_path / "open.json"), _report(tmp_path / "closed.json")
    open_p99 = opened["total"]["latency_ms"]["p99"]
    closed_p99 = closed["total"]["latency_ms"]["p99"]
    print(
        f"\nfreezing target: open model p99 {open_p99:.0f} ms "
        f"(p50 {opened['total']['latency_ms']['p50']:.1f} ms, {opened['requests']} requests, "
        f"{opened['late']} late arrivals); closed model p99 {closed_p99:.1f} ms "
        f"(p99.9 {closed['total']['latency_ms']['p99.9']:.0f} ms, {closed['requests']} requests)",
        file=sys.stderr,
    )
    # About a fifth of the open model's requests are due during a freeze and wait up to its end:
    # its p99 is near the freeze's length. The closed model's users wait with the target, so
    # only a handful of its requests are slow, and its p99 hides the freeze.
    # (Up to a second of freeze, plus whatever a busy machine adds; measuring from anything
    # but each request's own due time, on a timeline of seconds, would give far more.)
    assert opened["measured_from"] == "due"
    assert 800 <= open_p99 <= 3000
    assert closed["measured_from"] == "sent"
    assert closed_p99 < 300
    assert opened["arrivals"] > 200
    assert opened["late"] == 0


# -- past one host: separate network namespaces --------------------------------------------------


def _netns_unavailable() -> str | None:
    if shutil.which("ip") is None:
        return "the `ip` command (iproute2) is not installed"
    if os.geteuid() != 0:
        return "network namespaces need root"
    probe = f"cbs-probe-{uuid.uuid4().hex[:6]}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"cannot make a network namespace here: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True)
    if done.returncode != 0:
        msg = f"ip {' '.join(args)}: {done.stderr.strip()}"
        raise RuntimeError(msg)


@contextlib.contextmanager
def _virtual_hosts(roles: dict[str, str]) -> Iterator[dict[str, str]]:
    """One network namespace per role, each with ``eth0`` at the role's address, all joined by a
    bridge in a namespace of its own: a small LAN that exists only inside namespaces made here.
    Yields each role's namespace name; every namespace is deleted on the way out."""
    prefix = f"cbs{uuid.uuid4().hex[:5]}"
    switch = f"{prefix}-sw"
    names = {role: f"{prefix}-{role}" for role in roles}
    made: list[str] = []
    try:
        for ns in (switch, *names.values()):
            _ip("netns", "add", ns)
            made.append(ns)
            _ip("-n", ns, "link", "set", "lo", "up")
        _ip("-n", switch, "link", "add", "br0", "type", "bridge")
        _ip("-n", switch, "link", "set", "br0", "up")
        for role, address in roles.items():
            ns, port = names[role], f"p-{role}"
            _ip(
                "-n",
                ns,
                "link",
                "add",
                "eth0",
                "type",
                "veth",
                "peer",
                "name",
                port,
                "netns",
                switch,
            )
            _ip("-n", switch, "link", "set", port, "master", "br0")
            _ip("-n", switch, "link", "set", port, "up")
            _ip("-n", ns, "addr", "add", f"{address}/24", "dev", "eth0")
            _ip("-n", ns, "link", "set", "eth0", "up")
        yield names
    finally:
        for ns in reversed(made):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def _in(ns: str, *cmd: str) -> list[str]:
    return ["ip", "netns", "exec", ns, *cmd]


@pytest.mark.slow
def test_master_workers_and_target_on_separate_hosts(tmp_path: Path) -> None:
    """Master, two workers and the target each in a network namespace of their own on a virtual
    bridge: nothing may assume loopback (a master bound to 127.0.0.1, a worker that reaches the
    target by the master's address, a read-back through localhost would all fail here)."""
    reason = _netns_unavailable()
    if reason is not None:
        pytest.skip(reason)
    roles = {"master": "10.200.0.1", "w1": "10.200.0.2", "w2": "10.200.0.3", "target": "10.200.0.4"}
    cli = [sys.executable, "-m", "callbacksim.cli"]
    before = subprocess.run(["ip", "-o", "addr"], capture_output=True, text=True).stdout
    processes: list[subprocess.Popen[str]] = []
    try:
        with _virtual_hosts(roles) as ns:
            target = subprocess.Popen(
                _in(ns["target"], *cli, "serve", "--host", roles["target"], "--port", "8080"),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            processes.append(target)
            assert target.stdout is not None
            assert "reference target at" in target.stdout.readline()
            master = subprocess.Popen(
                _in(
                    ns["master"],
                    *cli,
                    "load",
                    "--target",
                    f"http://{roles['target']}:8080",
                    "--expect-workers",
                    "2",
                    "--master-bind-host",
                    roles["master"],
                    "--master-port",
                    "5557",
                    "--lifecycles",
                    "40",
                    "--users",
                    "4",
                    "--seed",
                    "8",
                    "--report",
                    str(tmp_path / "r.json"),
                ),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            processes.append(master)
            for worker in ("w1", "w2"):
                processes.append(
                    subprocess.Popen(
                        _in(
                            ns[worker],
                            *cli,
                            "load",
                            "--worker",
                            "--master-host",
                            roles["master"],
                            "--master-port",
                            "5557",
                        ),
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                        text=True,
                    )
                )
            out, _ = master.communicate(timeout=120)
            assert master.returncode == 0, out[-3000:]
            for worker_process in processes[2:]:
                assert worker_process.wait(timeout=30) == 0
            during = subprocess.run(["ip", "-o", "addr"], capture_output=True, text=True).stdout
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    report = _report(tmp_path / "r.json")
    assert report["workers"] == 2
    assert [w["conversations"] for w in report["per_worker"]] == [20, 20]
    assert report["done"] == 40
    assert report["failures"] == 0
    assert report["convergence"]["converged"]
    assert report["convergence"]["conversations"] == 40
    assert report["target"] == "http://10.200.0.4:8080"
    # The addresses lived only inside the namespaces: never on this host's own interfaces.
    assert "10.200.0." not in before + during
    left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert not [line for line in left.splitlines() if line.startswith("cbs")]
