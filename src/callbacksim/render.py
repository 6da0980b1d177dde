"""Terminal rendering of reports (rich). Reports are computed elsewhere; this only draws them."""

from __future__ import annotations

from typing import TextIO

from rich.console import Console
from rich.table import Table

from callbacksim.coverage import Coverage

__all__ = ["coverage_table"]


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
