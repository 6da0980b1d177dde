"""Terminal rendering of reports (rich). Reports are computed elsewhere; this only draws them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TextIO

import orjson
from rich.console import Console
from rich.table import Table

from callbacksim.coverage import Coverage

if TYPE_CHECKING:
    from callbacksim.simulator.properties import Outcome
    from callbacksim.simulator.replay import ReplayResult

__all__ = ["CheckReporter", "coverage_table", "junit_xml", "replay_summary"]


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
        mark = {"passed": "[green]holds[/green]", "failed": "[red]FAILS[/red]"}.get(
            outcome.status, "[yellow]skipped[/yellow]"
        )
        extra = f"  ({outcome.note})" if outcome.note else ""
        counts = f"{outcome.examples:>5} example(s) in {outcome.seconds:5.1f} s"
        self.console.print(f"{outcome.id:<18} {mark}  {counts}{extra}")

    def summary(self, outcomes: list[Outcome]) -> None:
        failed = [o for o in outcomes if o.status == "failed"]
        held = sum(o.status == "passed" for o in outcomes)
        for outcome in failed:
            assert outcome.failure is not None
            f = outcome.failure
            self.console.rule(f"[red]{outcome.id}[/red]")
            self.console.print(f"what failed: {f.summary}")
            self.console.print(f"expected:    {f.expected}")
            self.console.print(f"got:         {f.got}")
            if f.example is not None:
                text = orjson.dumps(f.example).decode()
                self.console.print(f"example:     {text[:600]}{'...' if len(text) > 600 else ''}")
            if f.requests:
                self.console.print("reproduce:")
                for request in f.requests[-8:]:
                    self.console.print(request.curl(self.url), markup=False)
        verdict = (
            "[green]every checked property holds[/green]"
            if not failed
            else (
                f"[red]{len(failed)} propert{'y' if len(failed) == 1 else 'ies'} failed[/red]: "
                + ", ".join(o.id for o in failed)
            )
        )
        self.console.print(f"\n{held} held, {len(failed)} failed: {verdict}")


def junit_xml(outcomes: list[Outcome], url: str) -> bytes:
    """The outcomes as a JUnit XML report (one test case per property)."""
    import xml.etree.ElementTree as ET

    suite = ET.Element(
        "testsuite",
        name="callbacksim",
        tests=str(len(outcomes)),
        failures=str(sum(o.status == "failed" for o in outcomes)),
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
        elif o.failure is not None:
            node = ET.SubElement(case, "failure", message=o.failure.summary)
            lines = [f"expected: {o.failure.expected}", f"got: {o.failure.got}"]
            lines += [r.curl(url) for r in o.failure.requests[-8:]]
            node.text = "\n".join(lines)
    data: bytes = ET.tostring(suite, encoding="utf-8", xml_declaration=True)
    return data


def replay_summary(result: ReplayResult, console: Console) -> None:
    """Counts by outcome, speed, latency percentiles and convergence of a replay."""
    table = Table(title="replay", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    sent = result.events - result.skipped
    resumed = f" ({result.skipped:,} already in the ledger)" if result.skipped else ""
    table.add_row("events", f"{result.events:,}{resumed}")
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
    for problem in result.not_converged[:5]:
        console.print(f"  not converged: {problem}", markup=False)
