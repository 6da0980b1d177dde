"""Pictures of a lifecycle: a timeline per participant, in the terminal, as SVG and as HTML.

`segments` turns the snapshot events into lanes (one per participant, in order of first
appearance): state segments, each lasting from its snapshot to that participant's next one (the
last to the lifecycle's last event), and the named timestamps the snapshots carry. `axis` maps
instants to positions: to scale, except that an *idle* gap (no participant alerting, connected,
held or parked, e.g. a callback scheduled days ahead) longer than five minutes is drawn shorter
and marked ``≈``. The three outputs draw that data with the same colour per state.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections import Counter
from collections.abc import Mapping
from itertools import groupby, pairwise
from typing import Any

import attrs
from rich.cells import cell_len
from rich.console import Console
from rich.style import Style
from rich.text import Text

from callbacksim.generation.lifecycle import Event, Lifecycle
from callbacksim.generation.profile import WAITING_STATES
from callbacksim.views.svg import element, escape
from callbacksim.wiretime import epoch_ms, format_epoch_ms, parse_datetime

__all__ = ["GAP", "MARKS", "STATES", "Axis", "Lane", "Mark", "Segment", "axis", "draw_terminal"]
__all__ += ["segments", "to_html", "to_svg"]

STATES: dict[str, tuple[str, str]] = {
    "waiting": ("#8e7cc3", "░"),
    "dialing": ("#a64d79", "▞"),
    "alerting": ("#e0b000", "▒"),
    "connected": ("#4f9a3a", "█"),
    "held": ("#e69138", "═"),
    "parked": ("#3d85c6", "▚"),
    "disconnected": ("#9a9a9a", "─"),
    "terminated": ("#cfcfcf", "┈"),
    "other": ("#cc0000", "?"),
}
"""Colour and terminal glyph of each kind of segment; "held" is connected and on hold, "waiting" a
callback leg before it is routed (state ``none``, or ``scheduled`` as the notification topics
show it)."""

MARKS: dict[str, str] = {
    "startTime": "start",
    "callbackScheduledTime": "scheduled",
    "startAlertingTime": "alerting",
    "connectedTime": "connected",
    "startHoldTime": "hold",
    "parkTime": "park",
    "resumeTime": "resume",
    "endTime": "end",
    "startAcwTime": "acw",
    "endAcwTime": "acw end",
}
"""The participant timestamps shown on the timelines, with their short names for the SVG."""

GAP = "≈"
"""Marks an idle gap drawn shorter than it lasted."""

_ORDER = {name: i for i, name in enumerate(MARKS)}
_ACTIVE = frozenset({"dialing", "alerting", "connected", "held", "parked"})
_WAITING = frozenset(WAITING_STATES)
_IDLE_MS = 300_000  # idle gaps up to this long stay to scale
_SHARE = 0.25  # a longer idle gap is drawn as this share of the time drawn to scale


@attrs.frozen
class Segment:
    """A participant in one snapshot's state from ``start_ms`` until ``end_ms`` (epoch ms)."""

    state: str
    start_ms: int
    end_ms: int
    held: bool = False
    parked: bool = False

    @property
    def kind(self) -> str:
        """The key of `STATES` this segment is drawn with."""
        if self.parked:
            return "parked"
        if self.held and self.state == "connected":
            return "held"
        if self.state in _WAITING:
            return "waiting"
        return self.state if self.state in STATES else "other"


@attrs.frozen
class Mark:
    name: str  # a key of MARKS
    time_ms: int


@attrs.frozen
class Lane:
    """One participant's timeline."""

    participant_id: str
    purpose: str
    label: str
    segments: tuple[Segment, ...]
    marks: tuple[Mark, ...]  # distinct (name, instant) pairs of all its snapshots, in time order
    final_state: str
    disconnect_type: str | None
    wrapup: str | None  # the wrap-up code's name, "skipped", or None
    error: str | None  # errorInfo code


@attrs.frozen
class Axis:
    """Instants (epoch ms) to positions in [0, 1], piecewise linear through ``knots``."""

    knots: tuple[tuple[int, float], ...]
    breaks: tuple[tuple[int, int], ...]  # idle gaps drawn shorter than they lasted

    @property
    def start_ms(self) -> int:
        return self.knots[0][0]

    @property
    def end_ms(self) -> int:
        return self.knots[-1][0]

    def x(self, ms: int) -> float:
        i = bisect_right([t for t, _ in self.knots], ms)
        if i <= 0 or i >= len(self.knots):
            return 0.0 if i <= 0 else self.knots[-1][1]
        (t0, x0), (t1, x1) = self.knots[i - 1], self.knots[i]
        return x0 + (x1 - x0) * (ms - t0) / (t1 - t0)


def _instant(value: object) -> int | None:
    try:
        return epoch_ms(parse_datetime(value)) if isinstance(value, str) else None
    except ValueError:
        return None


def _segment(p: Mapping[str, Any], start_ms: int, end_ms: int) -> Segment:
    state = str(p.get("state", "?"))
    return Segment(state, start_ms, end_ms, p.get("held") is True, state == "parked")


def _lane(pid: str, tag: str, events: list[Event], last_ms: int) -> Lane:
    final = events[-1].participant
    ends = [e.time_ms for e in events[1:]] + [last_ms]
    segs = tuple(
        _segment(e.participant, e.time_ms, end) for e, end in zip(events, ends, strict=True)
    )
    found = {
        Mark(name, ms): None
        for e in events
        for name in MARKS
        if (ms := _instant(e.participant.get(name))) is not None
    }
    wrapup, error = final.get("wrapup"), final.get("errorInfo")
    wrapup = wrapup.get("name") or wrapup.get("code") if isinstance(wrapup, dict) else None
    return Lane(
        participant_id=pid,
        purpose=str(final.get("purpose") or "?"),
        label=f"{tag}  {final.get('name') or pid[:8]}",
        segments=segs,
        marks=tuple(sorted(found, key=lambda m: (m.time_ms, _ORDER[m.name]))),
        final_state=segs[-1].state,
        disconnect_type=final.get("disconnectType"),
        wrapup="skipped" if final.get("wrapupSkipped") else wrapup and str(wrapup),
        error=str(error.get("code") or error.get("message")) if isinstance(error, dict) else None,
    )


def segments(lifecycle: Lifecycle) -> list[Lane]:
    """One lane per participant, in order of first appearance; agents (and repeated purposes,
    such as the queue legs of a transfer) are numbered: "agent #1  Ana Smith"."""
    legs: dict[str, list[Event]] = {}
    for event in lifecycle.events:
        legs.setdefault(event.participant_id, []).append(event)
    last_ms = lifecycle.events[-1].time_ms if lifecycle.events else 0
    purposes = [str(evs[0].participant.get("purpose") or "?") for evs in legs.values()]
    counts, seen = Counter(purposes), Counter[str]()
    lanes = []
    for (pid, events), purpose in zip(legs.items(), purposes, strict=True):
        seen[purpose] += 1
        numbered = purpose == "agent" or counts[purpose] > 1
        lanes.append(
            _lane(pid, f"{purpose} #{seen[purpose]}" if numbered else purpose, events, last_ms)
        )
    return lanes


def axis(lifecycle: Lifecycle, lanes: list[Lane] | None = None) -> Axis:
    """The time axis through every event and mark, long idle gaps drawn shorter."""
    lanes = segments(lifecycle) if lanes is None else lanes
    times = {e.time_ms for e in lifecycle.events} | {m.time_ms for ln in lanes for m in ln.marks}
    if not times:
        return Axis(((0, 0.0),), ())
    pairs = list(pairwise(sorted(times)))
    busy = [s for ln in lanes for s in ln.segments if s.kind in _ACTIVE and s.end_ms > s.start_ms]
    idle = [
        b - a > _IDLE_MS and not any(s.start_ms < b and s.end_ms > a for s in busy)
        for a, b in pairs
    ]
    scaled = sum(b - a for (a, b), i in zip(pairs, idle, strict=True) if not i)
    cap = _SHARE * scaled if scaled else float("inf")
    knots, pos, breaks = [(min(times), 0.0)], 0.0, []
    for (a, b), squeeze in zip(pairs, idle, strict=True):
        if squeeze and b - a > cap:
            breaks.append((a, b))
        pos += cap if squeeze and b - a > cap else b - a
        knots.append((b, pos))
    return Axis(tuple((t, p / (pos or 1.0)) for t, p in knots), tuple(breaks))


# -- text helpers -------------------------------------------------------------------------------


def _span(ms: int) -> str:
    s, milli = divmod(abs(ms), 1000)
    m, s = divmod(s, 60)
    h, m = divmod(m, 60)
    d, h = divmod(h, 24)
    if d or h:
        return (f"{d}d{h:02d}h" if d else f"{h}h") + f"{m:02d}m{s:02d}.{milli:03d}s"
    return f"{m}m{s:02d}.{milli:03d}s" if m else f"{s}.{milli:03d}s"


def _offset(ms: int, t0: int) -> str:
    return ("-" if ms < t0 else "+") + _span(ms - t0)


def _clock(ms: int, t0: int) -> str:
    """HH:MM:SS.mmm (UTC), after MM-DD when on another day than ``t0``."""
    text, day = format_epoch_ms(ms), format_epoch_ms(t0)[:10]
    return text[11:23] if text[:10] == day else f"{text[5:10]} {text[11:23]}"


def _grouped(lane: Lane) -> list[tuple[int, list[str]]]:
    """The lane's marks, those at the same instant together."""
    return [(ms, [m.name for m in ms_marks]) for ms, ms_marks in groupby(lane.marks, _at)]


def _at(mark: Mark) -> int:
    return mark.time_ms


def _outcome(lane: Lane) -> list[str]:
    parts = [f"final {lane.final_state}"]
    parts += [f"disconnectType {lane.disconnect_type}"] if lane.disconnect_type else []
    parts += [f"wrap-up {lane.wrapup}"] if lane.wrapup else []
    return parts + ([f"error {lane.error}"] if lane.error else [])


def _title(lifecycle: Lifecycle, ax: Axis, show_plan: bool) -> list[str]:
    lines = [f"Conversation {lifecycle.conversation_id}"]
    lines += [f"paths: {', '.join(sorted(lifecycle.plan.paths))}"] if show_plan else []
    parts = len({e.participant_id for e in lifecycle.events})
    span = f"span {_span(ax.end_ms - ax.start_ms)}, {len(lifecycle.events)} events"
    ends = f"{format_epoch_ms(ax.start_ms)} → {format_epoch_ms(ax.end_ms)}"
    return [*lines, f"{ends}  ({span}, {parts} participants)"]


def _gaps(ax: Axis) -> list[str]:
    t0 = ax.start_ms
    if not ax.breaks:
        return ["time axis to scale"]
    gaps = [f"{_clock(a, t0)} → {_clock(b, t0)} ({_span(b - a)})" for a, b in ax.breaks]
    return [f"{GAP} idle time drawn shorter, not to scale:", *gaps]


# -- terminal -----------------------------------------------------------------------------------


def _wrap(items: list[Text], indent: int, width: int, sep: str = "   ") -> list[Text]:
    """``items`` on lines of at most ``width`` cells after ``indent`` spaces, never split."""
    lines, line = [], Text(" " * indent)
    for item in items:
        if len(line) > indent and cell_len(line.plain + sep + item.plain) > width:
            lines.append(line)
            line = Text(" " * indent)
        line.append(sep if len(line) > indent else "")
        line.append_text(item)
    return [*lines, line]


def draw_terminal(
    lifecycle: Lifecycle, console: Console, width: int | None = None, *, show_plan: bool = True
) -> None:
    """The lifecycle as timelines on ``console``; glyphs tell the states apart without colour."""
    lanes = segments(lifecycle)
    ax = axis(lifecycle, lanes)
    total, t0 = max(40, width or console.width), ax.start_ms

    def out(text: Text) -> None:
        console.print(text, width=total, no_wrap=True, overflow="ellipsis")

    for i, head in enumerate(_title(lifecycle, ax, show_plan)):
        console.print(Text(head, style="bold" if i == 0 else ""), width=total)
    if not lanes:
        return
    label_w = min(max(cell_len(ln.label) for ln in lanes), 30) + 2
    bar_w = total - label_w - 1
    gap_cols = {min(bar_w - 1, int((ax.x(a) + ax.x(b)) / 2 * bar_w)) for a, b in ax.breaks}

    def label(text: str) -> Text:
        cut = Text(text)
        cut.truncate(label_w - 2, overflow="ellipsis")
        return cut + " " * (label_w - cell_len(cut.plain))

    ruler = "├" + "─" * (bar_w - 2) + "┤"
    out(label("UTC") + "".join(GAP if i in gap_cols else c for i, c in enumerate(ruler)))
    # The axis's two ends, apart: with the offset where it fits, without it where not, and on a
    # line of its own on a very narrow terminal.
    start, end = _clock(t0, t0), _clock(ax.end_ms, t0)
    for ends in (f"{end} ({_offset(ax.end_ms, t0)})", end):
        if len(start) + 1 + len(ends) <= bar_w:
            out(label("") + start.ljust(bar_w - len(ends)) + ends)
            break
    else:
        out(label("") + start)
        # A dated end may be wider than the bars: it then takes the label column too.
        out(label("") + end.rjust(bar_w) if len(end) <= bar_w else Text(end.rjust(total)))
    for lane in lanes:
        cells: list[str | None] = [None] * bar_w
        filled = 0
        for seg in (s for s in lane.segments if s.end_ms > s.start_ms):
            c0 = max(round(ax.x(seg.start_ms) * bar_w), filled)
            c1 = min(bar_w, max(round(ax.x(seg.end_ms) * bar_w), c0 + 1))
            cells[c0:c1] = [seg.kind] * (c1 - c0)
            filled = max(filled, c1)
        bar = Text()
        for i, kind in enumerate(cells):
            glyph = GAP if i in gap_cols else STATES[kind][1] if kind else " "
            bar.append(glyph, Style(color=STATES[kind][0]) if kind else None)
        out(label(lane.label) + bar)
        marks = [
            Text(f"{'='.join(n)} {_clock(ms, t0)} {_offset(ms, t0)}") for ms, n in _grouped(lane)
        ]
        fits = max((cell_len(m.plain) for m in marks), default=0) + label_w <= total
        for line in _wrap(marks, label_w if fits else 4, total):
            console.print(line, width=total)
        for line in _wrap([Text(p) for p in _outcome(lane)], label_w if fits else 4, total, " · "):
            console.print(line, style="dim", width=total)
    legend = [Text(g * 3, Style(color=c)) + f" {k}" for k, (c, g) in STATES.items()]
    for line in _wrap([Text("legend"), *legend], 0, total, "  "):
        console.print(line, width=total)
    for line in _wrap([Text(g) for g in _gaps(ax)], 0, total, " "):
        console.print(line, width=total)


# -- SVG and HTML -------------------------------------------------------------------------------

_W, _LABEL, _RIGHT, _TOP, _BAR, _LANE = 1100, 250, 40, 110, 26, 190
_MARK_LOOK: dict[str, object] = {"class_": "mark", "font_size": 9, "dy": -2}
_GAP_LOOK: dict[str, object] = {"font_size": 20, "font_weight": "bold", "text_anchor": "middle"}


def _bar(gone: bool) -> dict[str, object]:
    """A participant that has ended is drawn as a thin bar to the end of the lifecycle."""
    return {"height": 8 if gone else _BAR, "opacity": 0.6 if gone else 1}


def _fill(kind: str) -> str:
    return "url(#hatch)" if kind == "held" else STATES[kind][0]


def to_svg(lifecycle: Lifecycle, *, show_plan: bool = True) -> str:
    """A standalone SVG of ``lifecycle``: the terminal picture's axis and colours, hold hatched."""
    lanes = segments(lifecycle)
    ax = axis(lifecycle, lanes)
    t0, pw, bottom = ax.start_ms, _W - _LABEL - _RIGHT, _TOP + _LANE * len(lanes)
    height, title, top = bottom + 80, _title(lifecycle, ax, show_plan), _TOP - 20
    end = _offset(ax.end_ms, t0)

    def x(ms: int) -> float:
        return round(_LABEL + ax.x(ms) * pw, 2)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{height}" '
        f'viewBox="0 0 {_W} {height}" font-family="monospace" font-size="11">',
        element("title", title[0]),
        '<defs><pattern id="hatch" patternUnits="userSpaceOnUse" width="6" height="6" '
        f'patternTransform="rotate(45)"><rect width="6" height="6" fill="{STATES["held"][0]}"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#ffffff" stroke-width="2"/></pattern></defs>',
        element("rect", width=_W, height=height, fill="#ffffff"),
        element("text", title[0], x=10, y=22, font_size=15, font_weight="bold"),
        *(element("text", t, x=10, y=22 + 18 * i) for i, t in enumerate(title) if i),
        element("line", x1=_LABEL, y1=top, x2=_LABEL + pw, y2=top, stroke="#333"),
        element("text", _clock(t0, t0), x=_LABEL, y=top - 6),
        element(
            "text", f"{_clock(ax.end_ms, t0)} ({end})", x=_W - _RIGHT, y=top - 6, text_anchor="end"
        ),
    ]
    for i, lane in enumerate(lanes):
        y = _TOP + i * _LANE
        pid = escape(lane.participant_id)
        out.append(f'<g class="lane" id="lane-{i}" data-participant="{pid}">')
        name = {"font_size": 12, "font_weight": "bold"}
        out.append(element("text", lane.label[:34], x=10, y=y + 17, **name))
        out += [
            element("text", p, x=10, y=y + 38 + 14 * k, fill="#555")
            for k, p in enumerate(_outcome(lane))
        ]
        for seg in (s for s in lane.segments if s.end_ms > s.start_ms):
            a, b = x(seg.start_ms), x(seg.end_ms)
            tip = f"{seg.kind} {_clock(seg.start_ms, t0)} → {_clock(seg.end_ms, t0)}"
            tip += f" ({_span(seg.end_ms - seg.start_ms)})"
            gone = seg is lane.segments[-1] and seg.kind in ("disconnected", "terminated")
            look = {
                "class_": f"segment {seg.kind}",
                "fill": _fill(seg.kind),
                "width": max(0.5, round(b - a, 2)),
            }
            bar_y = y + (13 if gone else 4)
            out.append(element("rect", None, tip, x=a, y=bar_y, **look, **_bar(gone)))
        label_x = -1e9
        for ms, names in _grouped(lane):
            tx, ty = x(ms), y + _BAR + 12
            label_x = max(tx, label_x + 11)
            text = f"{'+'.join(MARKS[n] for n in names)} {_clock(ms, t0)}"
            tip = f"{', '.join(names)} {format_epoch_ms(ms)} ({_offset(ms, t0)})"
            out.append(element("line", x1=tx, y1=y + 1, x2=tx, y2=ty - 3, stroke="#222"))
            turn = f"rotate(90 {label_x} {ty})"
            out.append(element("text", text, tip, x=label_x, y=ty, transform=turn, **_MARK_LOOK))
        out.append("</g>")
    for a, b in ax.breaks:
        mid, tip = round((x(a) + x(b)) / 2, 2), f"{_span(b - a)} idle, drawn shorter"
        dashed = {"stroke": "#000", "stroke_dasharray": "3 3"}
        out.append(element("line", x1=mid, y1=top - 4, x2=mid, y2=bottom, **dashed))
        out.append(element("rect", x=mid - 7, y=top - 9, width=14, height=18, fill="#ffffff"))
        out.append(element("text", GAP, tip, class_="gap", x=mid, y=top + 6, **_GAP_LOOK))
    lx = 10
    for kind in STATES:
        out.append(element("rect", x=lx, y=bottom + 14, width=16, height=12, fill=_fill(kind)))
        out.append(element("text", kind, x=lx + 21, y=bottom + 24))
        lx += 40 + 7 * len(kind)
    out.append(element("text", " ".join(_gaps(ax)), x=10, y=bottom + 50))
    return "\n".join([*out, "</svg>"]) + "\n"


def _value(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."


def _changes(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> list[str]:
    """What a snapshot changed since the same participant's previous one."""
    if before is None:
        return ["new participant"] + [
            f"{k} = {_value(after[k])}" for k in ["state", "held", *MARKS] if k in after
        ]
    out = []
    for key in [*before, *(k for k in after if k not in before)]:
        if key not in after:
            out.append(f"{key} removed (was {_value(before[key])})")
        elif key not in before:
            out.append(f"{key} = {_value(after[key])}")
        elif before[key] != after[key]:
            out.append(f"{key}: {_value(before[key])} → {_value(after[key])}")
    return out


def to_html(
    lifecycle: Lifecycle,
    *,
    show_plan: bool = True,
    version: str | None = None,
    command: str | None = None,
) -> str:
    """A standalone page (no scripts, nothing external): the SVG, then a table of every event;
    with ``version`` and ``command``, a last line saying which callbacksim drew it and the command
    that draws it again (no time: the same command gives the same page)."""
    lanes = {ln.participant_id: ln for ln in segments(lifecycle)}
    title = _title(lifecycle, axis(lifecycle, list(lanes.values())), show_plan)
    t0 = lifecycle.events[0].time_ms if lifecycle.events else 0
    rows: list[str] = []
    previous: dict[str, Mapping[str, Any]] = {}
    for e in lifecycle.events:
        kind = _segment(e.participant, 0, 0).kind
        changed = "<br/>".join(
            escape(c) for c in _changes(previous.get(e.participant_id), e.participant)
        )
        previous[e.participant_id] = e.participant
        rows.append(
            f'<tr class="event"><td>{escape(format_epoch_ms(e.time_ms))}</td>'
            f"<td>{escape(_offset(e.time_ms, t0))}</td>"
            f"<td>{escape(lanes[e.participant_id].label)}</td>"
            f'<td>{e.sequence}</td><td><span class="sw" style="background:{STATES[kind][0]}">'
            f"</span>{escape(kind)}</td><td>{changed}</td></tr>"
        )
    style = (
        "body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;font-size:13px}"
        "td,th{border:1px solid #ccc;padding:3px 6px;vertical-align:top;text-align:left}"
        "td:nth-child(-n+2){font-family:monospace;white-space:nowrap}svg{max-width:100%;height:auto}"
        ".sw{display:inline-block;width:10px;height:10px;margin-right:4px}"
    )
    head = "".join(
        f"<th>{h}</th>" for h in ("time", "offset", "participant", "sequence", "state", "changed")
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"/>'
        f"<title>{escape(title[0])}</title><style>{style}</style></head><body>\n"
        f"<h1>{escape(title[0])}</h1>{''.join(f'<p>{escape(t)}</p>' for t in title[1:])}\n"
        f"{to_svg(lifecycle, show_plan=show_plan)}<h2>Events</h2>"
        f"<table><thead><tr>{head}</tr></thead><tbody>\n"
        + "\n".join(rows)
        + "\n</tbody></table>"
        + _provenance(version, command)
        + "</body></html>\n"
    )


def _provenance(version: str | None, command: str | None) -> str:
    if version is None and command is None:
        return ""
    by = f'Drawn by callbacksim <span class="version">{escape(version)}</span>. ' if version else ""
    again = (
        f'Draw it again with: <code class="reproduce">{escape(command)}</code>' if command else ""
    )
    return f'\n<p class="made">{by}{again}</p>'
