"""The long-running jobs behind ``callbacksim replay`` and ``callbacksim run``.

``run`` is the main job: it starts the reference target on a free loopback port with a temporary
database (unless a target is given), checks every property, replays a few hundred lifecycles with
delivery faults, prints a readable report, writes an HTML report with charts, and stops the target.
"""

from __future__ import annotations

import itertools
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any, TextIO

import attrs

from callbacksim.errors import UsageError
from callbacksim.generation.lifecycle import Lifecycle, LifecycleStream, stream_lifecycles
from callbacksim.generation.profile import DEFAULT, Profile
from callbacksim.model import Edition
from callbacksim.rules import RuleSet
from callbacksim.simulator.adapters import load_adapter
from callbacksim.simulator.client import HttpClient
from callbacksim.simulator.faults import Faults
from callbacksim.simulator.replay import ReplayConfig, ReplayResult, replay

__all__ = ["LifecycleSource", "RunJob", "open_lifecycles", "run_main_job", "run_replay"]


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


def open_lifecycles(source: LifecycleSource, stack: ExitStack) -> Iterator[Lifecycle]:
    from callbacksim.generation.participants import ANCHOR_MS
    from callbacksim.records import open_source, read_records

    if source.file is not None:
        stream = stack.enter_context(open_source(source.file))
        return stream_lifecycles(r.payload for r in read_records(stream, name=source.file))
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


def run_replay(
    url: str,
    source: LifecycleSource,
    cfg: ReplayConfig,
    *,
    adapter_name: str = "store",
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
    out: TextIO | None = None,
) -> ReplayResult:
    out = sys.stdout if out is None else out
    adapter = load_adapter(adapter_name)
    with ExitStack() as stack:
        lifecycles = open_lifecycles(source, stack)
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
            return replay(client, adapter, lifecycles, cfg, on_progress=progress)
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


def run_main_job(job: RunJob, out: TextIO | None = None) -> int:
    """The main job; 0 when every property held and the replay converged, else 1."""
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
    from callbacksim.views.terminal import CheckReporter, replay_summary

    out = sys.stdout if out is None else out
    keep_hypothesis_files_in_the_user_cache()
    console = Console(file=out, highlight=False, soft_wrap=True)
    with ExitStack() as stack:
        if job.target is None:
            config = ServerConfig(port=0, rules=job.rules, edition=job.edition)
            url = stack.enter_context(BackgroundServer(config))
            console.print(f"[bold]callbacksim run[/bold]: started the reference target at {url}")
        else:
            url = job.target
            require_reachable(url, job.headers, 10.0, store=True)
            console.print(f"[bold]callbacksim run[/bold]: target {url}")
        console.rule("1. property checks")
        reporter = CheckReporter(out, url)
        cfg = CheckConfig(
            url=url,
            budget=job.budget,
            seed=job.seed,
            rules=job.rules,
            edition=job.edition,
            headers=job.headers,
        )
        outcomes = run_checks(cfg, on_start=reporter.start, on_done=reporter.done)
        reporter.summary(outcomes)
        console.rule(f"2. replay of {job.lifecycles} lifecycles with delivery faults")
        source = LifecycleSource(count=job.lifecycles, seed=job.seed, edition=job.edition)
        replay_cfg = ReplayConfig(
            concurrency=job.concurrency, faults=job.faults, seed=job.seed, edition=job.edition
        )
        result = run_replay(url, source, replay_cfg, headers=job.headers, out=out)
        replay_summary(result, console)
        held = all(o.status == "passed" for o in outcomes)
        converged = result.converged
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
                    "faults": attrs.asdict(job.faults),
                },
            )
            console.print(f"HTML report: {job.html}")
        verdict = "every property held" if held else "some properties FAILED"
        verdict += ", the replay converged" if converged else ", the replay did NOT converge"
        partial = [o.id for o in outcomes if o.status == "passed" and not o.complete]
        if partial:
            verdict += f"; {', '.join(partial)} held only for what was tried (a larger budget)"
        console.print(f"\n[bold]{verdict}[/bold]")
        return 0 if held and converged else 1
