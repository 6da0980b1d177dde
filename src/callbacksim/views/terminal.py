"""Terminal rendering of reports (rich). Reports are computed elsewhere; this only draws them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TextIO

import orjson
from rich.console import Console
from rich.table import Table

from callbacksim.coverage import Coverage

if TYPE_CHECKING:
    from callbacksim.jobs.fit import Row
    from callbacksim.jobs.importer import ImportReport
    from callbacksim.load.results import LoadResult
    from callbacksim.load.thresholds import Verdict
    from callbacksim.reconstruct import Invalid
    from callbacksim.simulator.properties import Outcome
    from callbacksim.simulator.replay import ReplayConfig, ReplayResult

__all__ = [
    "CheckReporter",
    "LoadLive",
    "coverage_table",
    "import_invalid",
    "import_summary",
    "junit_xml",
    "load_line",
    "load_summary",
    "profile_comparison",
    "replay_names",
    "replay_start",
    "replay_summary",
    "replay_verdict",
]


def coverage_table(cov: Coverage, out: TextIO, *, missing: int = 8) -> None:
    """The coverage report as a table, then the first ``missing`` gaps of each view."""
    console = Console(file=out, highlight=False, soft_wrap=True)
    table = Table(title=f"Coverage of {cov.records:,} record(s), {cov.edition.value} edition")
    table.add_column("view")
    table.add_column("covered", justify="right")
    table.add_column("of", justify="right")
    table.add_column("%", justify="right")
    sections = cov.sections()
    for s in sections:
        table.add_row(s.name, f"{s.covered:,}", f"{s.total:,}", f"{s.percent:.1f}")
    console.print(table)
    if cov.invalid_classes:
        console.print(f"{cov.invalid_classes:,} record(s) have timestamps in an invalid order.")
    for s in sections:
        if s.missing and missing > 0:
            shown = ", ".join(s.missing[:missing])
            more = f" and {len(s.missing) - missing:,} more" if len(s.missing) > missing else ""
            console.print(f"missing {s.name}: {shown}{more}")


class CheckReporter:
    """Live lines while properties are checked, then a table and each failure's details."""

    def __init__(self, out: TextIO, url: str) -> None:
        self.console = Console(file=out, highlight=False, soft_wrap=True)
        self.url = url
        self._status: Any = None

    def start(self, pid: str) -> None:
        if self.console.is_terminal:
            self._status = self.console.status(f"checking [bold]{pid}[/bold] ...")
            self._status.start()

    def done(self, outcome: Outcome) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None
        words = outcome.verdict
        colour = {"passed": "green", "skipped": "yellow"}.get(outcome.status, "red")
        if outcome.status == "passed" and not outcome.complete:
            colour = "yellow"
        mark = f"[{colour}]{words}[/{colour}]"
        extra = f"  ({outcome.note})" if outcome.note else ""
        counts = f"{outcome.examples:>5} example(s) in {outcome.seconds:5.1f} s"
        self.console.print(f"{outcome.id:<18} {mark}  {counts}{extra}")
        if outcome.status != "skipped":
            self.console.print(f"{'':<18} [dim]{outcome.coverage()}[/dim]")

    def summary(self, outcomes: list[Outcome]) -> None:
        failed = [o for o in outcomes if o.status == "failed"]
        idle = [o for o in outcomes if o.status == "not-exercised"]
        partial = [o for o in outcomes if o.status == "passed" and not o.complete]
        held = sum(o.status == "passed" for o in outcomes)
        for outcome in failed:
            assert outcome.failure is not None
            f = outcome.failure
            self.console.rule(f"[red]{outcome.id}[/red]")
            self.console.print(f"what failed: {f.summary}")
            self.console.print(f"expected:    {f.expected}")
            self.console.print(f"got:         {f.got}")
            self.console.print(f"found by:    {f.found_by}")
            if f.example is not None:
                text = orjson.dumps(f.example).decode()
                self.console.print(f"example:     {text[:600]}{'...' if len(text) > 600 else ''}")
            if f.requests:
                self.console.print("reproduce:")
                for request in f.requests[-8:]:
                    self.console.print(_clipped(request.curl(self.url)), markup=False)
        for outcome in idle:
            self.console.print(f"[red]{outcome.id} was not exercised[/red]: {outcome.note}")
        for outcome in partial:
            self.console.print(
                f"[yellow]{outcome.id} holds only for what was tried[/yellow]: {outcome.coverage()}"
            )
        bad = failed + idle
        verdict = (
            "[green]every checked property holds[/green]"
            if not bad
            else (
                f"[red]{len(bad)} propert{'y' if len(bad) == 1 else 'ies'} did not hold[/red]: "
                + ", ".join(o.id for o in bad)
            )
        )
        self.console.print(
            f"\n{held} held, {len(failed)} failed, {len(idle)} not exercised: {verdict}"
        )


_SHOWN = 4000
"""Characters of a reproducer shown in the terminal; reports written to files have all of it."""


def _clipped(command: str) -> str:
    if len(command) <= _SHOWN:
        return command
    return (
        f"{command[:_SHOWN]}\n... ({len(command):,} characters in all: write the report with "
        "--report FILE for the whole reproducer)"
    )


def junit_xml(outcomes: list[Outcome], url: str) -> bytes:
    """The outcomes as a JUnit XML report (one test case per property). What each property
    covered is in the test case's properties and its system-out; a property not exercised is a
    failure of type ``not-exercised``."""
    import xml.etree.ElementTree as ET

    failing = ("failed", "not-exercised")
    suite = ET.Element(
        "testsuite",
        name="callbacksim",
        tests=str(len(outcomes)),
        failures=str(sum(o.status in failing for o in outcomes)),
        errors=str(sum(o.status == "error" for o in outcomes)),
        skipped=str(sum(o.status == "skipped" for o in outcomes)),
        time=f"{sum(o.seconds for o in outcomes):.3f}",
    )
    for o in outcomes:
        case = ET.SubElement(
            suite,
            "testcase",
            classname="callbacksim.properties",
            name=o.id,
            time=f"{o.seconds:.3f}",
        )
        if o.status == "skipped":
            ET.SubElement(case, "skipped", message=o.note or "skipped")
            continue
        props = ET.SubElement(case, "properties")
        for dimension, (covered, total) in o.covered.items():
            ET.SubElement(
                props, "property", name=f"covered {dimension}", value=f"{covered}/{total}"
            )
        ET.SubElement(props, "property", name="explored", value=str(o.explored))
        ET.SubElement(props, "property", name="verdict", value=o.verdict)
        if o.failure is not None:
            node = ET.SubElement(case, "failure", message=o.failure.summary, type="failed")
            lines = [f"expected: {o.failure.expected}", f"got: {o.failure.got}"]
            lines.append(f"found by: {o.failure.found_by}")
            lines += [r.curl(url) for r in o.failure.requests[-8:]]
            node.text = "\n".join(lines)
        elif o.status == "not-exercised":
            ET.SubElement(case, "failure", message=f"not exercised: {o.note}", type="not-exercised")
        elif o.status == "error":
            ET.SubElement(case, "error", message=o.note)
        out = ET.SubElement(case, "system-out")
        out.text = f"{o.verdict}: {o.coverage()}"
    data: bytes = ET.tostring(suite, encoding="utf-8", xml_declaration=True)
    return data


_MARKS = {"expected": "[green]expected[/green]", "warning": "[yellow]warning[/yellow]"}


def replay_start(
    what: str, url: str, adapter: str, cfg: ReplayConfig, console: Console, *, command: str
) -> None:
    """The line a replay starts with: what it sends, where, how, and where its ledger goes."""
    faults = ", ".join(f"{k} {v:g}" for k, v in cfg.faults.to_json().items() if v) or "none"
    ledger = "none" if cfg.ledger is None else f"{cfg.ledger}{' (resumed)' if cfg.resume else ''}"
    console.print(
        f"[bold]callbacksim {command}[/bold]: {what} to {url} (adapter {adapter}), concurrency "
        f"{cfg.concurrency}, faults: {faults}, ledger: {ledger}",
        soft_wrap=True,
    )


def replay_summary(result: ReplayResult, console: Console) -> None:
    """Counts by outcome, speed, latency, every answer that was not 2xx explained, the first
    rejected events, latency by request name, and convergence of a replay."""
    table = Table(title="replay", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    sent = result.events - result.skipped - result.lost
    resumed = f" ({result.skipped:,} already in the ledger)" if result.skipped else ""
    table.add_row("events", f"{result.events:,}{resumed}")
    if result.lost:
        table.add_row("lost (loss fault, never sent)", f"{result.lost:,}")
    table.add_row(
        "delivered / rejected / failed",
        f"{result.delivered:,} / {result.rejected:,} / {result.failed:,}",
    )
    table.add_row(
        "requests (duplicates, retries)",
        f"{result.requests:,} ({result.duplicates:,}, {result.retries:,})",
    )
    table.add_row(
        "throughput", f"{result.throughput:,.0f} events/s ({sent:,} in {result.seconds:.1f} s)"
    )
    lat = result.latency_ms
    marks = " / ".join(f"{lat.get(k, 0.0):.1f}" for k in ("p50", "p90", "p99", "max"))
    table.add_row("latency p50 / p90 / p99 / max", f"{marks} ms")
    if result.rejections:
        table.add_row(
            "rejections by status",
            ", ".join(f"{k}: {v:,}" for k, v in sorted(result.rejections.items())),
        )
    if result.read_back:
        table.add_row(
            "converged",
            f"{'so far' if result.stopped else 'yes' if result.converged else 'NO'}: "
            f"{result.participants_converged:,}/{result.participants_checked:,} participants, "
            f"{result.conversations_converged:,}/{result.conversations_verified:,} conversations",
        )
        if result.differing:
            table.add_row("differs from the final snapshots", f"{result.differing:,} conversations")
        if result.unreadable:
            table.add_row(
                "could not read back (no usable answer)", f"{result.unreadable:,} conversations"
            )
    else:
        table.add_row("converged", "not checked: the adapter cannot read the target back")
    if result.stopped:
        left = f"; {result.abandoned:,} event(s) left for --resume" if result.abandoned else ""
        done = f"{result.conversations:,} conversations done"
        table.add_row("stopped", f"by {result.stopped}, {done}{left}")
    console.print(table)
    if result.names:
        console.print(replay_names(result))
    explained = result.explained()
    if explained:
        console.print("answers that were not 2xx:")
        for e in explained:
            mark = _MARKS.get(e.severity, "[red]error[/red]")
            console.print(f"  {mark} [bold]{e.what}[/bold] x{e.count:,}: ", end="")
            console.print(e.why, markup=False, soft_wrap=True)
    if result.rejected_events:
        shown = result.rejected_events[:5]
        more = result.rejected or len(result.rejected_events)
        console.print(f"first rejected events ({len(shown)} of {more:,}):")
        for r in shown:
            console.print(
                f"  {r['status']} {r['conversationId']}/{r['participantId']} "
                f"sequence {r['sequence']}: {_one_line(r['body'], 160)}",
                markup=False,
                soft_wrap=True,
            )
    for problem in result.not_converged[:5]:
        console.print(f"  not converged: {problem}", markup=False, soft_wrap=True)


def replay_names(result: ReplayResult) -> Table:
    """Requests, failures and latency by request name (as Locust shows them)."""
    return _latency_table(
        "latency by request name (ms)",
        result.name_rows(),
        ("p50", "p90", "p99", "max"),
        digits=1,
        no_wrap=True,
    )


def _latency_table(
    title: str,
    rows: Sequence[tuple[str, int, int, Mapping[str, float]]],
    keys: tuple[str, ...],
    *,
    digits: int,
    no_wrap: bool,
) -> Table:
    """Requests, failures and the latency columns ``keys`` (ms) of each request name."""
    table = Table(title=title)
    for column in ("request", "count", "failures", *keys):
        table.add_column(
            column, justify="left" if column == "request" else "right", no_wrap=no_wrap
        )
    for name, requests, failures, latency in rows:
        table.add_row(
            name,
            f"{requests:,}",
            f"{failures:,}",
            *(f"{latency.get(k, 0.0):.{digits}f}" for k in keys),
        )
    return table


def replay_verdict(result: ReplayResult, console: Console, *, command: str = "replay") -> bool:
    """The replay's one-line verdict (as ``check`` ends); True when it passed."""
    passed, line = result.verdict()
    colour = "green" if passed else "red"
    word, _, rest = line.partition(":")
    console.print(f"\ncallbacksim {command}: [bold {colour}]{word}[/bold {colour}]:", end="")
    console.print(rest, markup=False, soft_wrap=True)
    return passed


def _one_line(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def import_invalid(where: str, conversation: str, invalid: Invalid, out: TextIO) -> None:
    """One participant an import found invalid, with every violation (as ``validate`` shows)."""
    who = invalid.participant_id or f"participants[{invalid.index}]"
    n = len(invalid.violations)
    out.write(
        f"{where}: conversation {conversation}, participant {who}: invalid, "
        f"{n} violation{'s' if n != 1 else ''}\n"
    )
    for v in invalid.violations:
        out.write(f"  {v.rule}  {v.path}  {v.message}\n")


def import_summary(
    report: ImportReport, assumptions: list[tuple[str, int, str]], out: TextIO
) -> None:
    """What an import read and wrote, the rules broken, and each assumption made, once."""
    for kind, n, text in assumptions:
        out.write(f"assumed ({kind}, {n:,} participant(s)): {text}\n")
    if report.by_rule:
        rules = ", ".join(f"{rule} ({n:,})" for rule, n in sorted(report.by_rule.items()))
        out.write(f"rules broken: {rules}\n")
    invalid = f"{report.invalid:,} invalid (kept, marked)" if report.invalid else "all valid"
    problems = f", {report.problems:,} problem(s) reported" if report.problems else ""
    out.write(
        f"imported {report.conversations:,} conversation(s), {report.participants:,} "
        f"participant(s): {invalid}{problems}; wrote {report.events:,} event(s)\n"
    )


def profile_comparison(rows: list[Row], left: str, right: str, out: TextIO) -> None:
    """Per parameter, what each side shows (count, median and p90, or a rate) and its fit."""
    console = Console(file=out, highlight=False, width=None if out.isatty() else 160)
    table = Table(title=f"A: {left}\nB: {right}")
    table.add_column("parameter")
    table.add_column("observed")
    table.add_column("A")
    table.add_column("B")
    table.add_column("A fit", justify="right")
    table.add_column("B fit", justify="right")
    for r in rows:
        table.add_row(
            r.name,
            r.what,
            r.left,
            r.right,
            r.left_fit,
            r.right_fit,
        )
    console.print(table)


def load_line(status: dict[str, Any]) -> str:
    """The live line of a load run, from the master's status."""
    requested = status.get("requested")
    of = f" of {requested:,}" if requested else ""
    line = (
        f"{status['elapsed']:>6.0f} s  conversations {status['started']:,} started, "
        f"{status['done']:,}{of} done · {status['requests']:,} requests ({status['rps']:,.0f}/s) · "
        f"{status['failures']:,} failures · p50 {status['p50']:.1f} ms, p99 {status['p99']:.1f} ms"
    )
    if status.get("arrivals"):
        line += f" · {status['late']:,} late arrivals"
    if status.get("phase") == "reading back":
        line += " · reading the target back"
    return line


class LoadLive:
    """The live line while a load run goes: redrawn in place on a terminal, a line every few
    seconds elsewhere (a CI log)."""

    def __init__(self, out: TextIO, requested: int | None) -> None:
        self.out = out
        self.requested = requested
        self._live: Any = None
        if out.isatty():
            from rich.live import Live

            self._live = Live(console=Console(file=out), refresh_per_second=4, transient=True)
            self._live.start()

    def update(self, status: dict[str, Any]) -> None:
        line = load_line(status)
        if self._live is not None:
            self._live.update(line)
        else:
            print(line, file=self.out, flush=True)

    def stop(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None


def load_summary(
    result: LoadResult, verdicts: list[Verdict], problems: list[str], out: TextIO
) -> None:
    """A load run's summary: counts, latency by request name, workers, convergence, thresholds."""
    console = Console(
        file=out, highlight=False, soft_wrap=True, width=None if out.isatty() else 110
    )
    table = Table(title="load", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    s = result.settings
    load = (
        f"{s['arrival_rate']:g} arrivals/s (open)"
        if "arrival_rate" in s
        else f"{s['users']} users (closed)"
        if "users" in s
        else f"stages ({s['model']})"
    )
    table.add_row("target", result.target)
    table.add_row("load", f"{load}, {result.workers} worker(s), seed {s['seed']}")
    requested = f" of {result.requested:,}" if result.requested is not None else ""
    table.add_row(
        "conversations",
        f"{result.done:,}{requested} done, {result.started:,} started, {result.cut:,} cut short",
    )
    if result.measured_from == "due":
        share = 100 * result.late / result.arrivals if result.arrivals else 0.0
        table.add_row(
            "arrivals (late)", f"{result.arrivals:,} ({result.late:,} late, {share:.2g}%)"
        )
    table.add_row(
        "requests",
        f"{result.requests:,} in {result.seconds:.1f} s: {result.rps:,.0f}/s "
        f"(stopped by {result.stopped_by})",
    )
    failed = f"{result.failures:,}"
    if result.reasons:
        failed += ": " + ", ".join(f"{k} x{v:,}" for k, v in list(result.reasons.items())[:4])
    table.add_row("failures", failed)
    if result.lost:
        table.add_row("lost (loss fault, never sent)", f"{result.lost:,}")
    conv = result.convergence
    if conv.read_back:
        table.add_row(
            "converged",
            f"{'yes' if conv.converged else 'NO'}: {conv.participants_converged:,}/"
            f"{conv.participants:,} participants, {conv.conversations_converged:,}/"
            f"{conv.conversations:,} conversations",
        )
    else:
        table.add_row("converged", f"not read back: {conv.note}")
    for worker in result.per_worker:
        rss = worker.get("rss_mb")
        memory = f", memory {rss['first']:.0f} -> {rss['last']:.0f} MB" if rss else ""
        table.add_row(
            f"worker {worker['slot']}",
            f"{worker['conversations']:,} conversations, {worker['requests']:,} requests, "
            f"at most {worker.get('in_flight_max', 0):,} in flight{memory}",
        )
    console.print(table)
    console.print(
        _latency_table(
            f"latency (ms, from when each request was {result.measured_from}; HDR, all "
            "workers merged)",
            result.name_rows(),
            ("p50", "p90", "p99", "p99.9", "max"),
            digits=2,
            no_wrap=False,
        )
    )
    for problem in conv.examples[:5]:
        console.print(f"  not converged: {problem}", markup=False)
    for verdict in verdicts:
        mark = "[green]holds[/green]" if verdict.holds else "[red]FAILS[/red]"
        console.print(f"threshold {verdict.threshold.text}: {mark} ({verdict.actual})")
    if problems:
        console.print(f"\n[bold red]FAILED[/bold red]: {'; '.join(problems)}")
    else:
        console.print("\n[bold green]PASSED[/bold green]")
