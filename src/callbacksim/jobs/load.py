"""The job behind ``callbacksim load``: Locust processes started, watched, and judged.

The job itself never imports Locust. It starts ``python -m callbacksim.load`` (the packaged
locustfile) as subprocesses: one process, or a master and ``workers`` local worker processes (and
the master waits for remote ones when ``expect_workers`` says so). Their logs go to files; the
master appends a status line every few seconds (``--callbacksim-status``), which the job shows as
a live line, and writes the run's results at the end (``--callbacksim-results``), which the job
judges against the thresholds, prints, and writes as ``--report`` (JSON) and ``--html``.

Without ``target`` the job starts the reference target on a free loopback port with a temporary
database (on a thread of this process, which owns it and stops it); remote workers cannot reach
that, so they need a ``target``.

The exit status: 0 when every threshold holds, every requested conversation was played and
everything read back converged; 1 otherwise; a usage error or an unreachable target raises
`UsageError` (2 from the command line) before anything starts.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any, TextIO

import attrs
import orjson

from callbacksim.errors import CallbacksimError, UsageError
from callbacksim.load.plan import LoadSettings, Model
from callbacksim.load.results import LoadResult
from callbacksim.load.thresholds import Threshold, Verdict, judge, parse_thresholds

__all__ = ["DEFAULT_FAIL_ON", "LoadJob", "LoadOutcome", "join_master", "judge_run", "run_load"]

DEFAULT_FAIL_ON = "failures<1"
"""What fails a run when no ``--fail-on`` is given: any failed request (a 5xx, a 4xx other than a
stale sequence's 409, or no answer)."""

LIVE_EVERY_S = 3.0
WORKERS_EXIT_WAIT_S = 20.0


@attrs.frozen
class LoadJob:
    settings: LoadSettings
    target: str | None = None
    workers: int = 0
    """Local worker processes; 0 runs one process that is master and worker at once."""
    expect_workers: int | None = None
    """Workers the master waits for in all, local and remote (default: ``workers``)."""
    master_bind_host: str | None = None
    master_port: int | None = None
    fail_on: tuple[str, ...] = ()
    report: Path | None = None
    html: Path | None = None
    locust_csv: str | None = None
    locust_html: str | None = None
    locust_args: tuple[str, ...] = ()
    wait_for: float = 0.0
    """Seconds to wait for a given target that does not answer yet."""

    @property
    def remote_workers(self) -> int:
        return max((self.expect_workers or self.workers) - self.workers, 0)

    @property
    def distributed(self) -> bool:
        return self.workers > 0 or self.remote_workers > 0


@attrs.frozen
class LoadOutcome:
    result: LoadResult
    verdicts: list[Verdict]
    problems: list[str]
    """Everything that failed the run, in words (failed thresholds included)."""

    @property
    def exit_code(self) -> int:
        return 1 if self.problems else 0

    def to_json(self) -> dict[str, Any]:
        out = self.result.to_json()
        out["thresholds"] = [
            {"expression": v.threshold.text, "holds": v.holds, "actual": v.actual}
            for v in self.verdicts
        ]
        out["problems"] = self.problems
        out["passed"] = not self.problems
        return out


def _check(job: LoadJob) -> list[Threshold]:
    s = job.settings
    if not s.ends:
        msg = "nothing would end the run: give --lifecycles N, --run-time or --stages"
        raise UsageError(msg)
    if job.workers < 0:
        msg = f"--workers must be 0 or more, got {job.workers}"
        raise UsageError(msg)
    if job.expect_workers is not None and job.expect_workers < max(job.workers, 1):
        msg = (
            f"--expect-workers {job.expect_workers} is fewer than the {max(job.workers, 1)} "
            "worker(s) started here"
        )
        raise UsageError(msg)
    if job.remote_workers and job.target is None:
        msg = (
            "remote workers cannot reach a reference target started on this machine's loopback; "
            "give --target with an address they can reach"
        )
        raise UsageError(msg)
    return parse_thresholds(job.fail_on or (DEFAULT_FAIL_ON,), open_model=s.model is Model.OPEN)


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


_LOCUST = (sys.executable, "-m", "callbacksim.load")


def _master_command(job: LoadJob, url: str, results: Path, status: Path) -> list[str]:
    cmd = [*_LOCUST, "--headless", "--only-summary", "--host", url]
    cmd += job.settings.to_options()
    cmd += ["--callbacksim-results", str(results), "--callbacksim-status", str(status)]
    if job.locust_csv:
        cmd += ["--csv", job.locust_csv]
    if job.locust_html:
        cmd += ["--html", job.locust_html]
    return [*cmd, *job.locust_args]


def _connect_host(bind: str) -> str:
    return "127.0.0.1" if bind in ("*", "0.0.0.0", "", "::") else bind


def _worker_command(master_host: str, port: int) -> list[str]:
    return [*_LOCUST, "--worker", "--master-host", master_host, "--master-port", str(port)]


@contextlib.contextmanager
def _processes(log_dir: Path) -> Iterator[list[tuple[str, subprocess.Popen[bytes]]]]:
    """Started processes, each logging to a file; all stopped on the way out, politely first."""
    started: list[tuple[str, subprocess.Popen[bytes]]] = []
    try:
        yield started
    finally:
        for _, process in started:
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + 10
        for _, process in started:
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _start(
    started: list[tuple[str, subprocess.Popen[bytes]]], name: str, cmd: list[str], log_dir: Path
) -> subprocess.Popen[bytes]:
    log = (log_dir / f"{name}.log").open("wb")
    process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    log.close()
    started.append((name, process))
    return process


def _tail(path: Path, lines: int = 15) -> str:
    if not path.exists():
        return "(no log)"
    text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return "\n".join(text[-lines:])


def run_load(job: LoadJob, out: TextIO | None = None) -> LoadOutcome:
    """Run ``job`` to its end; its outcome (printed, and written where asked)."""
    out = sys.stdout if out is None else out
    from callbacksim.simulator.client import require_reachable
    from callbacksim.views.terminal import LoadLive, load_summary

    thresholds = _check(job)
    headers = dict(job.settings.headers)
    with ExitStack() as stack:
        if job.target is None:
            from callbacksim.target import BackgroundServer, ServerConfig

            server = BackgroundServer(ServerConfig(port=0, edition=job.settings.edition))
            url = stack.enter_context(server)
            print(f"callbacksim load: started the reference target at {url}", file=out)
        else:
            url = job.target
            require_reachable(
                url,
                headers,
                job.settings.timeout,
                wait_for=job.wait_for,
                say=lambda line: print(f"callbacksim load: {line}", file=out),
            )
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="callbacksim-load-")))
        results, status = work / "results.json", work / "status.jsonl"
        started = stack.enter_context(_processes(work))
        master_cmd = _master_command(job, url, results, status)
        if job.distributed:
            bind = job.master_bind_host or ("*" if job.remote_workers else "127.0.0.1")
            port = job.master_port or _free_port(_connect_host(bind))
            total = job.expect_workers or job.workers
            master_cmd += [
                "--master",
                "--expect-workers", str(total),
                "--expect-workers-max-wait", "120",
                "--master-bind-host", bind,
                "--master-bind-port", str(port),
            ]  # fmt: skip
        master = _start(started, "master", master_cmd, work)
        if job.distributed:
            for i in range(job.workers):
                _start(started, f"worker-{i + 1}", _worker_command(_connect_host(bind), port), work)
            if job.remote_workers:
                print(
                    f"callbacksim load: master listening on {bind}:{port}, waiting for "
                    f"{job.remote_workers} remote worker(s) (callbacksim load --worker "
                    f"--master-host HOST --master-port {port})",
                    file=out,
                )
        live = LoadLive(out, job.settings.lifecycles)
        try:
            _watch(master, status, live)
        finally:
            live.stop()
        for name, process in started:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=WORKERS_EXIT_WAIT_S if name != "master" else 1)
        if not results.exists():
            msg = (
                f"the load run ended without results (Locust's exit status {master.returncode}); "
                f"the end of its log:\n{_tail(work / 'master.log')}"
            )
            raise CallbacksimError(msg)
        result = LoadResult.from_json(orjson.loads(results.read_bytes()))
    outcome = judge_run(result, thresholds)
    load_summary(outcome.result, outcome.verdicts, outcome.problems, out)
    if job.report is not None:
        job.report.parent.mkdir(parents=True, exist_ok=True)
        job.report.write_bytes(orjson.dumps(outcome.to_json(), option=orjson.OPT_INDENT_2))
    if job.html is not None:
        from callbacksim.views.report import write_load_report

        write_load_report(job.html, outcome.result, outcome.verdicts, outcome.problems)
        print(f"HTML report: {job.html}", file=out)
    return outcome


def judge_run(result: LoadResult, thresholds: list[Threshold]) -> LoadOutcome:
    """The verdicts and everything that fails the run."""
    verdicts = judge(thresholds, result)
    problems = [str(v) for v in verdicts if not v.holds]
    if not result.complete:
        problems.append(
            f"only {result.done:,} of {result.requested:,} conversations were done "
            f"(the run stopped: {result.stopped_by})"
        )
    conv = result.convergence
    if conv.read_back and not conv.converged:
        problems.append(
            f"the target did not converge: {conv.conversations_converged:,} of "
            f"{conv.conversations:,} conversations and {conv.participants_converged:,} of "
            f"{conv.participants:,} participants read back as their final snapshots"
        )
    return LoadOutcome(result, verdicts, problems)


def _watch(master: subprocess.Popen[bytes], status: Path, live: Any) -> None:
    """Until the master exits: its status lines, shown every few seconds."""
    offset = 0
    latest: dict[str, Any] | None = None
    shown = time.monotonic()
    while master.poll() is None:
        time.sleep(0.25)
        if status.exists():
            with status.open("rb") as handle:
                handle.seek(offset)
                chunk = handle.read()
            complete = chunk[: chunk.rfind(b"\n") + 1]
            offset += len(complete)
            for line in complete.splitlines():
                with contextlib.suppress(orjson.JSONDecodeError):
                    latest = orjson.loads(line)
        if latest is not None and time.monotonic() - shown >= LIVE_EVERY_S:
            live.update(latest)
            shown = time.monotonic()


def join_master(master_host: str, master_port: int, workers: int, out: TextIO) -> int:
    """``callbacksim load --worker``: ``workers`` worker processes joining a master elsewhere,
    until it ends the run; 0 when they all ended well."""
    if workers < 1:
        msg = f"--workers must be 1 or more with --worker, got {workers}"
        raise UsageError(msg)
    cmd = _worker_command(master_host, master_port)
    print(
        f"callbacksim load: {workers} worker(s) joining the master at {master_host}:{master_port}",
        file=out,
        flush=True,
    )
    processes = [subprocess.Popen(cmd, stdin=subprocess.DEVNULL) for _ in range(workers)]
    try:
        codes = [p.wait() for p in processes]
    finally:
        for p in processes:
            if p.poll() is None:
                p.terminate()
                p.wait()
    return 0 if all(c == 0 for c in codes) else 1
