"""The long-running jobs behind ``callbacksim replay`` and ``callbacksim run``.

``run`` is the main job: it starts the reference target on a free loopback port with a temporary
database (unless a target is given), checks every property, replays a few hundred lifecycles with
delivery faults, prints a readable report, writes an HTML report with charts, and stops the target.
"""

from __future__ import annotations

import itertools
import signal
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, TextIO

import attrs

from callbacksim.errors import UsageError
from callbacksim.generation.lifecycle import Lifecycle, LifecycleStream, stream_lifecycles
from callbacksim.generation.profile import DEFAULT, Profile
from callbacksim.model import Edition
from callbacksim.rules import RuleSet
from callbacksim.simulator.adapters import load_adapter
from callbacksim.simulator.client import DEFAULT_WAIT_FOR, HttpClient, require_reachable
from callbacksim.simulator.faults import Faults
from callbacksim.simulator.replay import (
    ReplayConfig,
    ReplayResult,
    Stop,
    check_ledger,
    replay,
    run_identity,
)

if TYPE_CHECKING:
    from callbacksim.views.report import Made

__all__ = [
    "LifecycleSource",
    "RunJob",
    "exit_status",
    "open_lifecycles",
    "run_main_job",
    "run_replay",
    "stop_on_signals",
]


@attrs.frozen
class LifecycleSource:
    """Where lifecycles come from: a file of events, or ``count`` generated from ``seed``
    (exactly the lifecycles ``generate lifecycles --count --seed`` writes)."""

    file: str | None = None
    count: int = 100
    seed: int = 0
    edition: Edition = Edition.SEED
    profile: Profile = DEFAULT
    paths: tuple[str, ...] = ()
    epoch_ms: int | None = None

    def describe(self) -> str:
        """What is replayed, in a few words: ``the lifecycles in FILE``, ``50 lifecycles
        generated from seed 3``."""
        if self.file is not None:
            return "the lifecycles in " + ("standard input" if self.file == "-" else self.file)
        noun = "lifecycle" if self.count == 1 else "lifecycles"
        paths = f" (paths {', '.join(self.paths)})" if self.paths else ""
        return f"{self.count:,} {noun} generated from seed {self.seed}{paths}"

    def identity(self) -> dict[str, Any]:
        """What the lifecycles are, as a replay's ledger records it."""
        if self.file is not None:
            where = self.file if self.file == "-" else str(Path(self.file).resolve())
            return {"file": where}
        return {
            "lifecycles": self.count,
            "profile": attrs.asdict(self.profile),
            "paths": sorted(self.paths),
            "epochMs": self.epoch_ms,
        }


def open_lifecycles(source: LifecycleSource, stack: ExitStack) -> Iterator[Lifecycle]:
    from callbacksim.generation.participants import ANCHOR_MS
    from callbacksim.records import lifecycle_events, open_source, read_records

    if source.file is not None:
        stream = stack.enter_context(open_source(source.file))
        records = read_records(stream, name=source.file)
        return stream_lifecycles(lifecycle_events(records, source.file))
    if source.count < 0:
        msg = f"--lifecycles must be 0 or more, got {source.count}"
        raise UsageError(msg)
    start = source.epoch_ms if source.epoch_ms is not None else ANCHOR_MS
    generated = LifecycleStream(
        source.seed,
        profile=source.profile,
        edition=source.edition,
        start_ms=start,
        require=source.paths,
    )
    return itertools.islice(generated, source.count)


def _progress(out: TextIO) -> Any:
    """A live line of counts on a terminal; nothing elsewhere."""
    if not out.isatty():
        return None
    from rich.console import Console
    from rich.live import Live

    live = Live(console=Console(file=out), refresh_per_second=4, transient=True)
    live.start()
    return live


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def exit_status(stopped: str | None) -> int | None:
    """The exit status of a run stopped by a signal (128 + its number), None if not stopped."""
    if stopped is None:
        return None
    try:
        return 128 + int(signal.Signals[stopped])
    except KeyError:
        return 130


@contextmanager
def stop_on_signals(stop: Stop) -> Iterator[None]:
    """While inside, SIGINT and SIGTERM ask ``stop`` to stop (a second signal interrupts at once,
    as Ctrl-C usually does). Only the main thread can take signals; elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[signal.Signals, Any] = {}

    def handler(signum: int, _frame: FrameType | None) -> None:
        if stop.reason is not None:
            raise KeyboardInterrupt
        stop.request(signal.Signals(signum).name)

    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def run_replay(
    url: str,
    source: LifecycleSource,
    cfg: ReplayConfig,
    *,
    adapter_name: str = "store",
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
    wait_for: float = DEFAULT_WAIT_FOR,
    out: TextIO | None = None,
    stop: Stop | None = None,
) -> ReplayResult:
    """Replay lifecycles from ``source`` against ``url`` once it answers (waiting up to
    ``wait_for`` seconds); SIGINT and SIGTERM stop it cleanly (`ReplayResult.stopped`)."""
    out = sys.stdout if out is None else out
    adapter = load_adapter(adapter_name)
    cfg = attrs.evolve(cfg, source=cfg.source or source.identity())
    stop = Stop() if stop is None else stop
    with ExitStack() as stack:
        # The first lifecycle is read before the target is waited for: a wrong file is said at
        # once.
        lifecycles = open_lifecycles(source, stack)
        first = next(lifecycles, None)
        lifecycles = itertools.chain([first] if first is not None else [], lifecycles)
        check_ledger(cfg, run_identity(url, adapter.name, cfg))
        require_reachable(url, headers or {}, timeout, wait_for=wait_for, say=_say)
        client = stack.enter_context(
            HttpClient(url, headers=headers, timeout=timeout, connections=cfg.concurrency * 2)
        )
        live = _progress(out)

        def progress(counts: Counter[str], events: int) -> None:
            if live is not None and events % 50 == 0:
                live.update(
                    f"replaying: {events:,} events · delivered {counts['delivered']:,} · "
                    f"rejected {counts['rejected']:,} · failed {counts['failed']:,}"
                )

        try:
            with stop_on_signals(stop):
                return replay(client, adapter, lifecycles, cfg, on_progress=progress, stop=stop)
        finally:
            if live is not None:
                live.stop()


@attrs.frozen
class RunJob:
    target: str | None = None
    budget: float = 20.0
    lifecycles: int = 300
    seed: int = 0
    edition: Edition = Edition.SEED
    rules: RuleSet = RuleSet.STRICT
    concurrency: int = 32
    html: str | None = "callbacksim-report.html"
    headers: dict[str, str] = attrs.field(factory=dict)
    faults: Faults = attrs.field(factory=lambda: Faults(duplicates=0.05, reorder=0.05, jitter_ms=5))
    timeout: float = 10.0
    """Seconds each request may take."""
    wait_for: float = DEFAULT_WAIT_FOR
    """Seconds to wait for a given target that does not answer yet."""
    made: Made | None = None
    """When and how the run was started (for the HTML report); the command line gives it."""


def run_main_job(job: RunJob, out: TextIO | None = None) -> int:
    """The main job; 0 when every property held and the replay converged, else 1 (128 + the
    signal's number when SIGINT or SIGTERM stopped the replay)."""
    out = sys.stdout if out is None else out
    from rich.console import Console

    from callbacksim.generation.chooser import RandomChooser
    from callbacksim.generation.lifecycle import simulate
    from callbacksim.generation.participants import ANCHOR_MS
    from callbacksim.simulator.checks import (
        CheckConfig,
        keep_hypothesis_files_in_the_user_cache,
        run_checks,
    )
    from callbacksim.simulator.client import require_reachable
    from callbacksim.target import BackgroundServer, ServerConfig
    from callbacksim.views.terminal import CheckReporter, replay_start, replay_summary

    out = sys.stdout if out is None else out
    keep_hypothesis_files_in_the_user_cache()
    console = Console(file=out, highlight=False, soft_wrap=True)
    # The checks' settings, made first: a wrong one is said before anything is waited for.
    cfg = CheckConfig(
        url=job.target or "",
        budget=job.budget,
        seed=job.seed,
        rules=job.rules,
        edition=job.edition,
        headers=job.headers,
        timeout=job.timeout,
    )
    with ExitStack() as stack:
        if job.target is None:
            config = ServerConfig(port=0, rules=job.rules, edition=job.edition)
            url = stack.enter_context(BackgroundServer(config))
            console.print(f"[bold]callbacksim run[/bold]: started the reference target at {url}")
        else:
            url = job.target
            require_reachable(
                url, job.headers, job.timeout, wait_for=job.wait_for, say=_say, store=True
            )
            console.print(f"[bold]callbacksim run[/bold]: target {url}")
        console.rule("1. property checks")
        reporter = CheckReporter(out, url)
        cfg = attrs.evolve(cfg, url=url)
        outcomes = run_checks(cfg, on_start=reporter.start, on_done=reporter.done)
        reporter.summary(outcomes)
        console.rule(f"2. replay of {job.lifecycles} lifecycles with delivery faults")
        source = LifecycleSource(count=job.lifecycles, seed=job.seed, edition=job.edition)
        replay_cfg = ReplayConfig(
            concurrency=job.concurrency, faults=job.faults, seed=job.seed, edition=job.edition
        )
        replay_start(source.describe(), url, "store", replay_cfg, console, command="run replay")
        result = run_replay(
            url,
            source,
            replay_cfg,
            headers=job.headers,
            timeout=job.timeout,
            wait_for=job.wait_for,
            out=out,
        )
        replay_summary(result, console)
        stopped = exit_status(result.stopped)
        if stopped is not None:
            return stopped
        held = all(o.status == "passed" for o in outcomes)
        replayed, replay_line = result.verdict()
        if job.html:
            from callbacksim.views.report import write_report

            picture = simulate(
                RandomChooser(job.seed),
                edition=job.edition,
                start_ms=ANCHOR_MS,
                require=("scheduled", "timeout", "hold", "wrapup-applied"),
            )
            write_report(
                Path(job.html),
                target=url,
                started_reference=job.target is None,
                outcomes=outcomes,
                result=result,
                lifecycle=picture,
                settings={
                    "budget (s)": job.budget,
                    "lifecycles": job.lifecycles,
                    "seed": job.seed,
                    "edition": job.edition.value,
                    "rules": job.rules.value,
                    "concurrency": job.concurrency,
                },
                faults=job.faults.to_json(),
                made=job.made,
            )
            console.print(f"HTML report: {job.html}")
        verdict = "every property held" if held else "some properties FAILED"
        verdict += ", the replay converged" if result.converged else ", the replay did NOT converge"
        if replay_line != "PASSED: converged":
            verdict += f" (replay {replay_line})"
        partial = [o.id for o in outcomes if o.status == "passed" and not o.complete]
        if partial:
            verdict += f"; {', '.join(partial)} held only for what was tried (a larger budget)"
        console.print(f"\n[bold]{verdict}[/bold]")
        return 0 if held and replayed else 1
