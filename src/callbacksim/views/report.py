"""The HTML reports of ``callbacksim run``, ``replay --html`` and ``load``: one standalone page
each, no scripts, nothing external.

The run's page opens with the verdict (did every property hold? did the replay pass?), when it
was made, by which version, and the command that reproduces it, then the target, the settings and
the delivery faults (a table), the property checks (failures with their minimal example and
``curl`` lines that reproduce them), the replay summary (every answer that was not 2xx explained,
latency by request name, the first rejected events), and three charts drawn as inline SVG: the
latency distribution (log-scaled, percentiles marked), throughput per second, and one lifecycle's
picture. A replay's page is the same without the property checks and the lifecycle.
Every chart says "no data" when there is nothing to draw. The page is well-formed XML after its
doctype, and the same inputs give the same bytes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from callbacksim.generation.lifecycle import Lifecycle
from callbacksim.load.results import LoadResult
from callbacksim.load.thresholds import Verdict
from callbacksim.simulator.properties import PROPERTIES, Outcome
from callbacksim.simulator.replay import ReplayResult
from callbacksim.views.picture import to_svg
from callbacksim.views.svg import escape, text

__all__ = ["Made", "html_report", "load_html", "write_load_report", "write_report"]


@attrs.frozen
class Made:
    """When and how a report was made: the time (UTC, given by the command line, never read
    here), callbacksim's version, and the command (shell-quoted) that reproduces the run."""

    at: str
    version: str
    command: str


_FAULTS = {
    "duplicates": "chance an event is sent twice, right after the first",
    "reorder": "chance an event swaps places with its participant's next one",
    "jitter_ms": "most milliseconds of random pause before a send",
    "loss": "chance an event is never sent (a closed WebSocket)",
}
_SEVERITY = {"expected": "#2e7d32", "warning": "#b26a00", "error": "#c62828"}

_SVG = 'xmlns="http://www.w3.org/2000/svg" font-family="sans-serif" font-size="11"'
_W, _H, _L, _R, _T, _B = 760, 280, 64, 24, 30, 46  # chart size and margins
_BINS = 48
_LABEL_CHAR_PX = 6.5
"""About how wide a character of the charts' 11 px sans-serif text is."""
_MARKERS = (("p50", "#1f6fb2"), ("p90", "#e69138"), ("p99", "#cc0000"))
_COLOURS = {
    "passed": "#2e7d32",
    "failed": "#c62828",
    "not-exercised": "#c62828",
    "error": "#8e0000",
    "skipped": "#757575",
}
_PARTLY = "#b26a00"
"""A pass whose covering phase did not end."""
_STYLE = (
    "body{font-family:sans-serif;margin:1.5em;max-width:1150px;color:#222}"
    "table{border-collapse:collapse;font-size:13px;margin:0.5em 0 1em}"
    "td,th{border:1px solid #ccc;padding:3px 8px;vertical-align:top;text-align:left}"
    "td.n{text-align:right;font-family:monospace}"
    "pre{background:#f5f5f5;border:1px solid #ddd;padding:6px;white-space:pre-wrap;"
    "word-break:break-all;font-size:12px;margin:4px 0}"
    ".verdict{font-weight:bold;color:#fff;padding:1px 6px;border-radius:3px;white-space:nowrap}"
    ".banner{font-size:1.2em;padding:8px 12px;border-radius:4px;color:#fff}"
    ".ok{background:#2e7d32}.bad{background:#c62828}.muted{color:#757575}"
    "svg{max-width:100%;height:auto;display:block;margin:0.5em 0}"
)


def _num(value: float) -> str:
    """A number for tables: integers as such, others to three decimals."""
    return str(int(value)) if float(value).is_integer() else f"{value:.3f}"


def _ms(value: float) -> str:
    """A compact duration for axis labels: 0.5 ms, 20 ms, 1.5 s."""
    return f"{value / 1000:g} s" if value >= 1000 else f"{value:g} ms"


def _nice(value: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten not below ``value`` (1 for nothing)."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= value * (1 - 1e-9))


def _table(rows: Iterable[tuple[str, object]], cls: str = "") -> str:
    body = "".join(f'<tr><th>{escape(k)}</th><td class="n">{escape(v)}</td></tr>' for k, v in rows)
    return f'<table class="{cls}">{body}</table>' if cls else f"<table>{body}</table>"


def _frame(name: str, title: str, xlabel: str, ylabel: str) -> list[str]:
    """An SVG's opening, title, axes and axis labels; close it with ``</svg>``."""
    bottom, right = _H - _B, _W - _R
    return [
        f'<svg {_SVG} class="chart" id="{name}" width="{_W}" height="{_H}" '
        f'viewBox="0 0 {_W} {_H}">',
        f"<title>{escape(title)}</title>",
        f'<rect width="{_W}" height="{_H}" fill="#ffffff"/>',
        text(_W / 2, 18, title, font_weight="bold", font_size="13"),
        f'<line x1="{_L}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#333"/>',
        f'<line x1="{_L}" y1="{_T}" x2="{_L}" y2="{bottom}" stroke="#333"/>',
        text((_L + right) / 2, _H - 8, xlabel),
        text(14, (_T + bottom) / 2, ylabel, transform=f"rotate(-90 14 {(_T + bottom) / 2})"),
    ]


def _no_data(name: str, title: str) -> str:
    return (
        f'<svg {_SVG} class="chart empty" id="{name}" width="{_W}" height="80" '
        f'viewBox="0 0 {_W} 80"><title>{escape(title)}: no data</title>'
        f'<rect width="{_W}" height="80" fill="#fafafa" stroke="#ddd"/>'
        + text(_W / 2, 30, title, font_weight="bold", font_size="13")
        + text(_W / 2, 55, "no data", fill="#757575")
        + "</svg>"
    )


def _y_ticks(top: float) -> list[str]:
    """Horizontal grid lines and labels at 0, ``top``/2 and ``top``."""
    bottom, out = _H - _B, []
    for value in (0.0, top / 2, top):
        y = bottom - value / top * (bottom - _T)
        out.append(f'<line x1="{_L - 4}" y1="{y:.1f}" x2="{_W - _R}" y2="{y:.1f}" stroke="#eee"/>')
        out.append(text(_L - 6, y + 4, f"{value:g}", anchor="end"))
    return out


def latency_svg(histogram: list[tuple[float, int]], latency_ms: dict[str, float]) -> str:
    """Request latencies on a log-scaled axis, re-binned from the HDR histogram's buckets."""
    title = "Latency distribution"
    data = [(float(v), int(c)) for v, c in histogram if c > 0 and v > 0]
    if not data:
        return _no_data("latency", title)
    lo, hi = math.log10(min(v for v, _ in data)), math.log10(max(v for v, _ in data))
    if hi - lo < 1:  # a single bucket, or a narrow spread: show a decade around it
        mid = (lo + hi) / 2
        lo, hi = mid - 0.5, mid + 0.5
    lo, hi = lo - 0.02 * (hi - lo), hi + 0.02 * (hi - lo)
    width, bottom = _W - _L - _R, _H - _B

    def x(ms: float) -> float:
        return _L + (math.log10(max(ms, 1e-9)) - lo) / (hi - lo) * width

    bins = [0] * _BINS
    for v, c in data:
        bins[min(_BINS - 1, max(0, int((math.log10(v) - lo) / (hi - lo) * _BINS)))] += c
    top = _nice(max(bins))
    out = _frame("latency", title, "latency (log scale)", "requests")
    out += _y_ticks(top)
    step = width / _BINS
    for i, count in enumerate(bins):
        if count:
            h = count / top * (bottom - _T)
            out.append(
                f'<rect class="bar" x="{_L + i * step:.1f}" y="{bottom - h:.1f}" '
                f'width="{max(step - 1, 0.5):.1f}" height="{h:.1f}" fill="#6a8caf">'
                f"<title>{_count(count, 'request')}</title></rect>"
            )
    decades = range(math.floor(lo), math.ceil(hi) + 1)
    mults = (1,) if hi - lo > 4 else (1, 2, 5)
    for tick in (m * 10.0**d for d in decades for m in mults):
        if lo <= math.log10(tick) <= hi:
            tx = x(tick)
            out.append(
                f'<line x1="{tx:.1f}" y1="{bottom}" x2="{tx:.1f}" y2="{bottom + 5}" stroke="#333"/>'
            )
            out.append(text(tx, bottom + 17, _ms(tick)))
    for i, (name, colour) in enumerate(_MARKERS):
        if name in latency_ms and latency_ms[name] > 0:
            mx = min(max(x(latency_ms[name]), _L), _W - _R)
            label = f"{name} {_ms(round(latency_ms[name], 3))}"
            out.append(
                f'<line class="marker" x1="{mx:.1f}" y1="{_T}" x2="{mx:.1f}" '
                f'y2="{bottom}" stroke="{colour}" stroke-dasharray="4 3"/>'
            )
            # Labels read to the right of their line, unless that would run off the chart.
            if mx + 3 + _LABEL_CHAR_PX * len(label) <= _W - 2:
                out.append(text(mx + 3, _T + 12 + 13 * i, label, anchor="start", fill=colour))
            else:
                out.append(text(mx - 3, _T + 12 + 13 * i, label, anchor="end", fill=colour))
    return "\n".join([*out, "</svg>"])


def throughput_svg(
    timeline: list[int],
    seconds: float | None = None,
    *,
    what: str = "events",
    since: str = "the replay started",
) -> str:
    """``what`` completed per second over the run's real interval: ``timeline[i]`` counts those of
    second ``i``, and the run lasted ``seconds`` (the last second may be partial, and its rate is
    its count over the part that was run). A long run is grouped into at most 240 bars."""
    title = "Throughput over time"
    if not timeline or sum(timeline) == 0:
        return _no_data("throughput", title)
    # Events of second i happened within [i, i + 1); the run cannot have ended before the last.
    span = float(len(timeline)) if seconds is None else seconds
    span = max(span, len(timeline) - 1 + 1e-3)
    group = math.ceil(len(timeline) / 240)
    bars: list[tuple[float, float, float]] = []  # (start s, end s, per second)
    for i in range(0, len(timeline), group):
        start, end = float(i), min(float(i + group), span)
        if end <= start:
            end = start + 1e-3
        bars.append((start, end, sum(timeline[i : i + group]) / (end - start)))
    top, width, bottom = _nice(max(rate for _, _, rate in bars)), _W - _L - _R, _H - _B
    out = _frame("throughput", title, f"seconds since {since}", f"{what}/s")
    out += _y_ticks(top)

    def x(s: float) -> float:
        return _L + s / span * width

    for start, end, rate in bars:
        h = rate / top * (bottom - _T)
        out.append(
            f'<rect class="bar" x="{x(start):.1f}" y="{bottom - h:.1f}" '
            f'width="{max(x(end) - x(start) - 1, 0.5):.1f}" height="{h:.1f}" fill="#4f9a3a">'
            f"<title>{start:g} to {end:.3g} s: {rate:,.1f} {what}/s</title></rect>"
        )
    every = max(1.0, _nice(span / 6))
    for k in range(int(span / every) + 1):
        tx = x(every * k)
        out.append(
            f'<line x1="{tx:.1f}" y1="{bottom}" x2="{tx:.1f}" y2="{bottom + 5}" stroke="#333"/>'
        )
        out.append(text(tx, bottom + 17, f"{every * k:g} s"))
    return "\n".join([*out, "</svg>"])


def _count(n: int, noun: str) -> str:
    """``1 request``, ``2 requests``."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def _checks(outcomes: list[Outcome], target: str) -> str:
    if not outcomes:
        return '<p class="muted">No property was checked.</p>'
    head = "".join(
        f"<th>{h}</th>"
        for h in ("property", "holds when", "verdict", "examples", "seconds", "covered", "note")
    )
    rows = []
    for o in outcomes:
        holds_when = PROPERTIES[o.id].description if o.id in PROPERTIES else ""
        colour = _COLOURS.get(o.status, "#555")
        if o.status == "passed" and not o.complete:
            colour = _PARTLY
        covered = "" if o.status == "skipped" else o.coverage()
        rows.append(
            f'<tr id="property-{escape(o.id)}"><td><code>{escape(o.id)}</code></td>'
            f"<td>{escape(holds_when)}</td>"
            f'<td><span class="verdict {escape(o.status)}" style="background:{colour}">'
            f'{escape(o.verdict)}</span></td><td class="n">{o.examples}</td>'
            f'<td class="n">{o.seconds:.2f}</td><td class="covered">{escape(covered)}</td>'
            f"<td>{escape(o.note)}</td></tr>"
        )
        f = o.failure
        if f is None:
            continue
        example = json.dumps(f.example, indent=2, ensure_ascii=False, default=str)
        curls = "\n\n".join(r.curl(target) for r in f.requests) or "(no requests)"
        rows.append(
            '<tr class="failure"><td colspan="7">'
            f"<p><b>{escape(f.summary)}</b></p>"
            + _table([("expected", f.expected), ("got", f.got), ("found by", f.found_by)])
            + f'<p>Minimal example:</p><pre class="example">{escape(example)}</pre>'
            f'<p>Reproduce:</p><pre class="curl">{escape(curls)}</pre></td></tr>'
        )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _faults(faults: Mapping[str, float] | None) -> str:
    if faults is None:
        return ""
    rows = "".join(
        f'<tr><th>{escape(k)}</th><td class="n">{v:g}</td>'
        f"<td>{escape(_FAULTS.get(k, ''))}{'' if v else ' (off)'}</td></tr>"
        for k, v in faults.items()
    )
    return (
        '\n<h3>Delivery faults</h3>\n<table class="faults"><thead><tr><th>fault</th>'
        f"<th>value</th><th>what it does</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _explained(result: ReplayResult) -> str:
    explained = result.explained()
    if not explained:
        return '<p class="answers">Every answer was 2xx.</p>'
    rows = "".join(
        f'<tr class="{escape(e.severity)}"><td><code>{escape(e.what)}</code></td>'
        f'<td class="n">{e.count:,}</td><td><span class="verdict" '
        f'style="background:{_SEVERITY.get(e.severity, "#555")}">{escape(e.severity)}</span>'
        f"</td><td>{escape(e.why)}</td></tr>"
        for e in explained
    )
    return (
        '<h3>Answers that were not 2xx</h3><table class="answers"><thead><tr><th>answer</th>'
        f"<th>count</th><th>verdict</th><th>why</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _names(result: ReplayResult) -> str:
    if not result.names:
        return ""
    rows = result.name_rows()
    return (
        "<h3>Latency by request name (ms)</h3>"
        '<p class="muted">A request is named by its participant\'s purpose and state; failures '
        "are requests without an answer, or answered 5xx or 4xx other than 409.</p>"
        + _latency_table(rows, "requests", ("p50", "p90", "p99", "max"))
    )


def _latency_table(
    rows: Sequence[tuple[str, int, int, Mapping[str, float]]], count: str, keys: tuple[str, ...]
) -> str:
    """The latency-by-request-name table: a row per (name, requests, failures, latency in ms),
    the latency columns ``keys``; ``count`` heads the requests column."""
    head = "".join(f"<th>{h}</th>" for h in ("request", count, "failures", *keys))
    body = []
    for name, requests, failures, latency in rows:
        cells = "".join(f'<td class="n">{_num(round(latency.get(k, 0.0), 3))}</td>' for k in keys)
        body.append(
            f'<tr><td><code>{escape(name)}</code></td><td class="n">{requests}</td>'
            f'<td class="n">{failures}</td>{cells}</tr>'
        )
    return (
        f'<table class="latency-by-name"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _rejected(result: ReplayResult) -> str:
    if not result.rejected_events:
        return ""
    head = "".join(
        f"<th>{h}</th>"
        for h in ("conversation", "participant", "sequence", "status", "cause", "body")
    )
    rows = "".join(
        f"<tr><td><code>{escape(r['conversationId'])}</code></td>"
        f"<td><code>{escape(r['participantId'])}</code></td>"
        f'<td class="n">{r["sequence"]}</td><td class="n">{r["status"]}</td>'
        f"<td>{escape(r['cause'])}</td><td><code>{escape(r['body'])}</code></td></tr>"
        for r in result.rejected_events
    )
    shown = len(result.rejected_events)
    return (
        f"<h3>Rejected events (the first {shown} of {result.rejected:,})</h3>"
        f'<table class="rejected-events"><thead><tr>{head}</tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )


def _replay(result: ReplayResult | None) -> str:
    if result is None:
        return '<p class="muted">No replay was run.</p>'
    counts = [
        ("events", result.events),
        ("delivered", result.delivered),
        ("rejected", result.rejected),
        ("failed", result.failed),
        ("skipped (already in the ledger)", result.skipped),
        ("lost (loss fault, never sent)", result.lost),
        ("requests", result.requests),
        ("duplicates sent", result.duplicates),
        ("retries", result.retries),
        ("conversations", result.conversations),
        ("seconds", f"{result.seconds:.3f}"),
        ("throughput (events/s)", f"{result.throughput:.1f}"),
    ]
    latency = [(f"{k} (ms)", _num(v)) for k, v in result.latency_ms.items()]
    if not result.read_back:
        convergence = '<p class="convergence">Convergence: not read back.</p>'
    else:
        word = "converged" if result.converged else "did not converge"
        convergence = (
            f'<p class="convergence">Convergence: {word}: {result.participants_converged} of '
            f"{result.participants_checked} participants and {result.conversations_converged} "
            f"of {result.conversations_verified} conversations read back as their final "
            f"snapshots; {result.differing} differ, {result.unreadable} could not be read back "
            "(no usable answer).</p>"
        )
    if result.not_converged:
        items = "".join(f"<li><code>{escape(x)}</code></li>" for x in result.not_converged)
        convergence += f'<p>Not converged, for example:</p><ul class="not-converged">{items}</ul>'
    statuses = sorted(result.rejections.items())
    rejections = (
        "<h3>Rejections by status</h3>" + _table(statuses, "rejections") if statuses else ""
    )
    return (
        '<div class="replay"><h3>Outcomes</h3>'
        + _table(counts, "counts")
        + _explained(result)
        + "<h3>Latency</h3>"
        + _table(latency, "latency")
        + _names(result)
        + convergence
        + rejections
        + _rejected(result)
        + "</div>"
    )


def _made(made: Made | None) -> str:
    if made is None:
        return ""
    return (
        f'<p class="made">Made <time datetime="{escape(made.at)}">{escape(made.at)}</time> by '
        f'callbacksim <span class="version">{escape(made.version)}</span>. Reproduce with:</p>'
        f'<pre class="reproduce">{escape(made.command)}</pre>\n'
    )


def html_report(
    *,
    target: str,
    started_reference: bool,
    outcomes: list[Outcome] | None,
    result: ReplayResult | None,
    lifecycle: Lifecycle | None,
    settings: dict[str, Any],
    faults: Mapping[str, float] | None = None,
    made: Made | None = None,
) -> str:
    """The whole page for one ``callbacksim run`` (``outcomes`` None: one ``replay``)."""
    checked = outcomes is not None
    outcomes = outcomes or []
    bad = [o for o in outcomes if o.status in ("failed", "not-exercised", "error")]
    held = not bad
    # Rejections are not failures in themselves: with reordering on, a stale sequence is rightly
    # refused (409). The replay's verdict says which answers are expected and which are not.
    replay_passed, replay_line = result.verdict() if result is not None else (True, "")
    verdict = "PASS" if held and replay_passed else "FAIL"
    partial = [o.id for o in outcomes if o.status == "passed" and not o.complete]
    lines = []
    if checked:
        lines.append(
            f"Properties: all {len(outcomes)} held."
            if held
            else f"Properties: {len(bad)} of {len(outcomes)} did not hold: "
            + ", ".join(o.id for o in bad)
            + "."
        )
    if partial:
        lines.append(
            f"Partly covered (they hold for what was tried; a larger budget tries the rest): "
            f"{', '.join(partial)}."
        )
    if result is None:
        lines.append("Replay: not run.")
    else:
        lines.append(f"Replay: {replay_line}.")
        if not result.read_back:
            lines.append("Replay: delivered; convergence not read back.")
        else:
            word = "converged" if result.converged else "did not converge"
            lines.append(
                f"Replay: {word} ({result.participants_converged} of "
                f"{result.participants_checked} participants)."
            )
        if result.failed or result.rejected:
            lines.append(
                f"Replay: {result.rejected} events rejected, {result.failed} failed "
                "(each kind explained below)."
            )
    kind = "reference target started by callbacksim" if started_reference else "external target"
    config = [("target", f"{target} ({kind})")] + [
        (k, v if isinstance(v, str) else json.dumps(v, default=str, sort_keys=True))
        for k, v in settings.items()
    ]
    title = f"callbacksim {'run' if checked else 'replay'}: {verdict}"
    picture = to_svg(lifecycle) if lifecycle is not None else _no_data("lifecycle", "Lifecycle")
    charts = (
        latency_svg(result.latency_histogram, result.latency_ms)
        if result
        else _no_data("latency", "Latency distribution"),
        throughput_svg(result.timeline, result.seconds)
        if result
        else _no_data("throughput", "Throughput"),
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"/>'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>\n"
        f"<h1>{escape(title)}</h1>\n"
        f'<p class="banner {"ok" if verdict == "PASS" else "bad"}" id="verdict">'
        f"{escape(verdict)}</p>\n"
        + "".join(f'<p class="summary">{escape(t)}</p>' for t in lines)
        + "\n"
        + _made(made)
        + "<h2>Target and settings</h2>\n"
        + _table(config, "settings")
        + _faults(faults)
        + (("\n<h2>Property checks</h2>\n" + _checks(outcomes, target)) if checked else "")
        + "\n<h2>Replay</h2>\n"
        + _replay(result)
        + "\n<h2>Charts</h2>\n"
        + "\n".join(charts)
        + (("\n<h2>A lifecycle</h2>\n" + picture) if lifecycle is not None or checked else "")
        + "\n</body></html>\n"
    )


def write_report(
    path: str | Path,
    *,
    target: str,
    started_reference: bool,
    outcomes: list[Outcome] | None,
    result: ReplayResult | None,
    lifecycle: Lifecycle | None,
    settings: dict[str, Any],
    faults: Mapping[str, float] | None = None,
    made: Made | None = None,
) -> Path:
    """Write `html_report` to ``path`` (UTF-8), creating its directories; return the path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    page = html_report(
        target=target,
        started_reference=started_reference,
        outcomes=outcomes,
        result=result,
        lifecycle=lifecycle,
        settings=settings,
        faults=faults,
        made=made,
    )
    out.write_text(page, encoding="utf-8")
    return out


# -- the load report -------------------------------------------------------------------------------


_NAME_BARS = (("p99.9", "#f4c7c3", 16), ("p99", "#cc0000", 10), ("p50", "#1f6fb2", 6))


def names_svg(result: LoadResult) -> str:
    """p50, p99 and p99.9 of each request name, as bars on one linear axis."""
    title = "Latency by request name"
    names = [(n, st) for n, st in result.names.items() if st.requests]
    if not names:
        return _no_data("names", title)
    row, top_pad, left = 22, 36, 190
    height = top_pad + row * len(names) + 40
    top = _nice(max(st.latency_ms["p99.9"] for _, st in names) or 1.0)
    width = _W - left - _R

    def x(ms: float) -> float:
        return left + ms / top * width

    out = [
        f'<svg {_SVG} class="chart" id="names" width="{_W}" height="{height}" '
        f'viewBox="0 0 {_W} {height}">',
        f"<title>{escape(title)}</title>",
        f'<rect width="{_W}" height="{height}" fill="#ffffff"/>',
        text(_W / 2, 18, title, font_weight="bold", font_size="13"),
    ]
    for i, (name, st) in enumerate(names):
        y = top_pad + i * row
        lat = st.latency_ms
        out.append(text(left - 6, y + 12, name, anchor="end"))
        for key, colour, h in (
            ("p99.9", "#f4c7c3", 16),
            ("p99", "#cc0000", 10),
            ("p50", "#1f6fb2", 6),
        ):
            out.append(
                f'<rect class="bar" x="{left}" y="{y + (16 - h) / 2:.1f}" '
                f'width="{max(x(lat[key]) - left, 0.5):.1f}" height="{h}" fill="{colour}">'
                f"<title>{escape(name)} {key}: {lat[key]:g} ms</title></rect>"
            )
    bottom = top_pad + row * len(names)
    for value in (0.0, top / 2, top):
        out.append(text(x(value), bottom + 14, _ms(value)))
    out.append(text(left + width / 2, bottom + 32, "milliseconds (blue p50, red p99, pink p99.9)"))
    return "\n".join([*out, "</svg>"])


def _memory(rss: dict[str, Any] | None) -> str:
    if not rss:
        return ""
    return f"first {rss['first']:g}, at most {rss['max']:g}, last {rss['last']:g}"


def load_html(result: LoadResult, verdicts: list[Verdict], problems: list[str]) -> str:
    """The whole page for one ``callbacksim load`` run."""
    verdict = "FAIL" if problems else "PASS"
    title = f"callbacksim load: {verdict}"
    lines = problems or ["Every threshold held, every conversation was played and converged."]
    s = result.settings
    settings = [("target", result.target), ("workers", result.workers)] + [
        (k, v if isinstance(v, str) else json.dumps(v, default=str, sort_keys=True))
        for k, v in s.items()
    ]
    counts = [
        ("conversations started", result.started),
        ("conversations done", result.done),
        ("conversations cut short", result.cut),
        ("events lost (loss fault, never sent)", result.lost),
        ("requests", result.requests),
        ("failures", result.failures),
        ("seconds", f"{result.seconds:.3f}"),
        ("requests/s", f"{result.rps:.1f}"),
        ("stopped by", result.stopped_by),
        ("latency measured from", f"when each request was {result.measured_from}"),
    ]
    if result.measured_from == "due":
        counts += [("arrivals", result.arrivals), ("late arrivals", result.late)]
    counts += [(f"failures: {k}", v) for k, v in result.reasons.items()]
    latency = _latency_table(
        result.name_rows(),
        "count",
        ("p50", "p90", "p99", "p99.9", "max", "mean"),
    )
    conv = result.convergence
    if conv.read_back:
        word = "converged" if conv.converged else "did not converge"
        convergence = (
            f'<p class="convergence">Convergence: {word}: {conv.participants_converged} of '
            f"{conv.participants} participants and {conv.conversations_converged} of "
            f"{conv.conversations} conversations read back as their final snapshots.</p>"
        )
        if conv.examples:
            items = "".join(f"<li><code>{escape(x)}</code></li>" for x in conv.examples)
            convergence += f'<ul class="not-converged">{items}</ul>'
    else:
        convergence = (
            f'<p class="convergence">Convergence: not read back ({escape(conv.note)}).</p>'
        )
    checks = "".join(
        f'<tr><td><code>{escape(v.threshold.text)}</code></td><td><span class="verdict" '
        f'style="background:{_COLOURS["passed" if v.holds else "failed"]}">'
        f"{'holds' if v.holds else 'fails'}</span></td><td>{escape(v.actual)}</td></tr>"
        for v in verdicts
    )
    workers = "".join(
        f'<tr><td class="n">{w["slot"]}</td><td class="n">{w["conversations"]}</td>'
        f'<td class="n">{w["requests"]}</td><td class="n">{w.get("in_flight_max", 0)}</td>'
        f"<td>{escape(_memory(w.get('rss_mb')))}</td></tr>"
        for w in result.per_worker
    )
    charts = (
        latency_svg(result.histogram_buckets(), result.total.latency_ms),
        throughput_svg(result.timeline, what="requests", since="the load started"),
        names_svg(result),
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"/>'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>\n"
        f"<h1>{escape(title)}</h1>\n"
        f'<p class="banner {"ok" if verdict == "PASS" else "bad"}" id="verdict">'
        f"{escape(verdict)}</p>\n"
        + "".join(f'<p class="summary">{escape(t)}</p>' for t in lines)
        + "\n<h2>Target and settings</h2>\n"
        + _table(settings, "settings")
        + "\n<h2>Thresholds</h2>\n"
        + (f'<table class="thresholds">{checks}</table>' if checks else "<p>None.</p>")
        + "\n<h2>Counts</h2>\n"
        + _table(counts, "counts")
        + convergence
        + "\n<h2>Latency by request name</h2>\n"
        + latency
        + "\n<h2>Workers</h2>\n"
        + '<table class="workers"><thead><tr><th>slot</th><th>conversations</th>'
        + "<th>requests</th><th>most in flight</th><th>memory (MB)</th></tr></thead>"
        + f"<tbody>{workers}</tbody></table>"
        + "\n<h2>Charts</h2>\n"
        + "\n".join(charts)
        + "\n</body></html>\n"
    )


def write_load_report(
    path: str | Path, result: LoadResult, verdicts: list[Verdict], problems: list[str]
) -> Path:
    """Write `load_html` to ``path`` (UTF-8), creating its directories; return the path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(load_html(result, verdicts, problems), encoding="utf-8")
    return out
