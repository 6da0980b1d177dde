"""Pictures of a lifecycle: the lanes and segments follow the snapshots, the axis keeps order and
compresses only idle time, and the terminal, SVG and HTML outputs show what the data says."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from itertools import pairwise
from typing import Any

import attrs
import pytest
from rich.cells import cell_len
from rich.console import Console

from callbacksim.generation.chooser import RandomChooser
from callbacksim.generation.lifecycle import Lifecycle, Plan, lifecycles_from_events, simulate
from callbacksim.generation.profile import DEFAULT
from callbacksim.model import Edition
from callbacksim.views.picture import (
    GAP,
    MARKS,
    STATES,
    axis,
    draw_terminal,
    segments,
    to_html,
    to_svg,
)
from callbacksim.wiretime import format_epoch_ms

START = 1_780_000_000_000
SVG = "{http://www.w3.org/2000/svg}"
PATHS: list[tuple[str, ...]] = [
    (),
    ("hold",),
    ("park",),
    ("transfer",),
    ("timeout",),
    ("scheduled",),
    ("scheduled", "hold", "transfer", "timeout", "ivr", "wrapup-applied"),
    ("cancelled",),
    ("abandoned",),
    ("decline", "error"),
    ("wrapup-skipped",),
    ("preview", "transport-failure", "wrapup-timeout"),
    ("dial-retry", "answering-machine"),
    ("rescheduled", "ownership-requeued", "auto-dial"),
]
CASES = [(seed, paths) for seed in range(4) for paths in PATHS]


def life(seed: int, *paths: str, **kw: Any) -> Lifecycle:
    edition = Edition.SDK_269 if "park" in paths else Edition.SEED
    return simulate(RandomChooser(seed), start_ms=START, edition=edition, require=paths, **kw)


def by_participant(lc: Lifecycle) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for e in lc.events:
        out.setdefault(e.participant_id, []).append(e)
    return out


def terminal(lc: Lifecycle, width: int = 120, **kw: Any) -> str:
    out = io.StringIO()
    draw_terminal(lc, Console(file=out, width=width, color_system=None), **kw)
    return out.getvalue()


@pytest.mark.parametrize(("seed", "paths"), CASES)
def test_lanes_are_the_participants_in_order_of_first_appearance(
    seed: int, paths: tuple[str, ...]
) -> None:
    lc = life(seed, *paths)
    lanes = segments(lc)
    legs = by_participant(lc)
    assert [ln.participant_id for ln in lanes] == list(legs)
    agents = 0
    for lane, events in zip(lanes, legs.values(), strict=True):
        final = events[-1].participant
        assert lane.purpose == final["purpose"]
        assert lane.label.startswith(final["purpose"])
        assert lane.label.endswith(f"  {final['name']}")
        if lane.purpose == "agent":
            agents += 1
            assert lane.label.startswith(f"agent #{agents}  ")


@pytest.mark.parametrize(("seed", "paths"), CASES)
def test_segments_follow_the_snapshots_and_tile_each_lane(
    seed: int, paths: tuple[str, ...]
) -> None:
    lc = life(seed, *paths)
    last = lc.events[-1].time_ms
    for lane, events in zip(segments(lc), by_participant(lc).values(), strict=True):
        segs = lane.segments
        assert [s.state for s in segs] == [e.participant["state"] for e in events]
        assert [s.start_ms for s in segs] == [e.time_ms for e in events]
        assert [s.held for s in segs] == [e.participant.get("held") is True for e in events]
        # contiguous, non-overlapping, from the first snapshot to the lifecycle's last event
        assert all(a.end_ms == b.start_ms for a, b in pairwise(segs))
        assert all(s.start_ms <= s.end_ms for s in segs)
        assert segs[0].start_ms == events[0].time_ms
        assert segs[-1].end_ms == last
        assert lane.final_state == events[-1].participant["state"]
        assert lane.disconnect_type == events[-1].participant.get("disconnectType")
        assert {s.kind for s in segs} <= set(STATES)


@pytest.mark.parametrize("seed", range(6))
def test_hold_periods_are_where_the_held_snapshots_are(seed: int) -> None:
    lc = life(seed, "hold")
    held_at = [e.time_ms for e in lc.events if e.participant.get("held") is True]
    lanes = segments(lc)
    holds = [s for ln in lanes for s in ln.segments if s.kind == "held"]
    assert held_at
    assert sorted(s.start_ms for s in holds) == sorted(held_at)
    for s in holds:
        assert s.state == "connected"
        assert s.end_ms > s.start_ms
    hold_marks = {m.time_ms for ln in lanes for m in ln.marks if m.name == "startHoldTime"}
    assert hold_marks == set(held_at)


@pytest.mark.parametrize("seed", range(4))
def test_park_is_a_parked_segment_with_park_and_resume_marks(seed: int) -> None:
    lc = life(seed, "park")
    (agent,) = [ln for ln in segments(lc) if any(s.kind == "parked" for s in ln.segments)]
    (parked,) = [s for s in agent.segments if s.kind == "parked"]
    names = {m.name: m.time_ms for m in agent.marks}
    assert names["parkTime"] == parked.start_ms
    assert names["resumeTime"] == parked.end_ms


@pytest.mark.parametrize(("seed", "paths"), CASES)
def test_marks_are_every_timestamp_of_every_snapshot_in_time_order(
    seed: int, paths: tuple[str, ...]
) -> None:
    lc = life(seed, *paths)
    for lane, events in zip(segments(lc), by_participant(lc).values(), strict=True):
        expected = {
            (name, e.participant[name]) for e in events for name in MARKS if name in e.participant
        }
        assert {(m.name, format_epoch_ms(m.time_ms)) for m in lane.marks} == expected
        assert [m.time_ms for m in lane.marks] == sorted(m.time_ms for m in lane.marks)


def test_wrapup_outcomes_and_errors_reach_the_lane() -> None:
    applied = [ln for ln in segments(life(1, "wrapup-applied")) if ln.wrapup]
    final = life(1, "wrapup-applied").finals()[applied[0].participant_id]
    assert applied[0].wrapup == final["wrapup"]["name"]
    skipped = [ln for ln in segments(life(1, "wrapup-skipped")) if ln.wrapup]
    assert skipped  # every served agent leg (one per queue visit) skipped its wrap-up
    assert {ln.wrapup for ln in skipped} == {"skipped"}
    failed = [ln for ln in segments(life(1, "error")) if ln.error]
    assert len(failed) == 1
    assert failed[0].disconnect_type == "error"


@pytest.mark.parametrize(("seed", "paths"), CASES)
def test_the_axis_is_monotonic_and_keeps_the_order_of_events(
    seed: int, paths: tuple[str, ...]
) -> None:
    lc = life(seed, *paths)
    ax = axis(lc)
    times = [t for t, _ in ax.knots]
    xs = [x for _, x in ax.knots]
    assert times == sorted(set(times))
    assert all(a < b for a, b in pairwise(xs))
    assert xs[0] == 0.0
    assert xs[-1] == pytest.approx(1.0)
    events = sorted({e.time_ms for e in lc.events})
    drawn = [ax.x(t) for t in events]
    assert all(a < b for a, b in pairwise(drawn))
    assert all(0.0 <= x <= 1.0 for x in drawn)
    assert ax.x(times[0] - 1000) == 0.0
    assert ax.x(times[-1] + 1000) == pytest.approx(1.0)


def test_a_short_busy_lifecycle_is_drawn_to_scale() -> None:
    lc = life(0, "immediate", "hold")
    ax = axis(lc)
    assert ax.breaks == ()
    span = ax.end_ms - ax.start_ms
    for e in lc.events:
        assert ax.x(e.time_ms) == pytest.approx((e.time_ms - ax.start_ms) / span)
    assert "time axis to scale" in terminal(lc)


# No flow before the callback, no second wait: one long idle gap, the customer's lane first.
ONE_WAIT = attrs.evolve(
    DEFAULT, ivr_share=0, reschedule_probability=0, customer_first_share=0, agent_owned_share=0
)


def test_a_long_scheduled_wait_is_compressed_and_marked() -> None:
    profile = attrs.evolve(ONE_WAIT, schedule_min_s=3 * 86_400, schedule_max_s=4 * 86_400)
    lc = life(2, "scheduled", "no-wrapup", profile=profile)
    ax = axis(lc)
    assert len(ax.breaks) == 1
    (a, b) = ax.breaks[0]
    customer = segments(lc)[0]
    assert customer.segments[0].state == "none"  # the profile's pre_routing_state
    assert customer.segments[0].kind == "waiting"
    assert (a, b) == (customer.segments[0].start_ms, customer.marks[1].time_ms)
    assert b - a > 0.9 * (ax.end_ms - ax.start_ms)  # the wait is almost all of the time ...
    assert ax.x(b) - ax.x(a) < 0.25  # ... and a small part of the picture
    text = terminal(lc)
    assert "idle time drawn shorter" in text
    assert text.count(GAP) >= len(segments(lc)) + 2  # ruler, every lane, the legend
    svg = ET.fromstring(to_svg(lc))
    assert [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "gap"] == [GAP]


@pytest.mark.parametrize(("seed", "paths"), CASES)
def test_svg_is_xml_with_a_lane_per_participant(seed: int, paths: tuple[str, ...]) -> None:
    lc = life(seed, *paths)
    root = ET.fromstring(to_svg(lc))
    assert root.tag == f"{SVG}svg"
    groups = [g for g in root.iter(f"{SVG}g") if g.get("class") == "lane"]
    assert [g.get("data-participant") for g in groups] == list(by_participant(lc))
    text = " ".join(root.itertext())
    for lane in segments(lc):
        assert lane.label in text
        if lane.disconnect_type:
            assert lane.disconnect_type in text
    for lane, group in zip(segments(lc), groups, strict=True):
        rects = [r for r in group.iter(f"{SVG}rect") if "segment" in (r.get("class") or "")]
        drawn = [s for s in lane.segments if s.end_ms > s.start_ms]
        assert [r.get("class") for r in rects] == [f"segment {s.kind}" for s in drawn]
        for r, s in zip(rects, drawn, strict=True):
            assert r.get("fill") == ("url(#hatch)" if s.kind == "held" else STATES[s.kind][0])


def test_html_embeds_the_svg_and_a_row_per_event() -> None:
    plan = Plan(offers=("timeout", "accept"), holds=2, transfer=True)
    lc = simulate(RandomChooser(3), plan=plan, start_ms=START)
    page = to_html(lc)
    root = ET.fromstring(page)  # well-formed: <!DOCTYPE html> and XML-style empty elements
    assert root.find(f".//{SVG}svg") is not None
    assert "<script" not in page
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    rows = [tr for tr in root.iter("tr") if tr.get("class") == "event"]
    assert len(rows) == len(lc.events)
    labels = {ln.participant_id: ln.label for ln in segments(lc)}
    for tr, e in zip(rows, lc.events, strict=True):
        cells = ["".join(td.itertext()) for td in tr.findall("td")]
        assert cells[0] == format_epoch_ms(e.time_ms)
        assert cells[2] == labels[e.participant_id]
        assert cells[3] == str(e.sequence)
        if e.sequence == 1:
            assert cells[5].startswith("new participant")
    held_rows = [
        "".join(tr.findall("td")[5].itertext())
        for tr, e in zip(rows, lc.events, strict=True)
        if e.participant.get("held") is True
    ]
    assert held_rows
    # an agent's first hold adds the field, later ones change it
    assert all(re.search(r"held( = |: false → )true", cell) for cell in held_rows)
    assert any("held: false → true" in cell for cell in held_rows)


@pytest.mark.parametrize(("seed", "paths"), CASES)
def test_terminal_shows_lanes_timestamps_outcomes_and_legend(
    seed: int, paths: tuple[str, ...]
) -> None:
    lc = life(seed, *paths)
    text = terminal(lc)
    assert "\x1b" not in text
    assert lc.conversation_id in text
    assert all(cell_len(line) <= 120 for line in text.splitlines())
    for kind in STATES:
        assert f"{STATES[kind][1] * 3} {kind}" in text
    for lane in segments(lc):
        assert lane.label in text
        assert f"final {lane.final_state}" in text
        if lane.disconnect_type:
            assert f"disconnectType {lane.disconnect_type}" in text
        for mark in lane.marks:
            assert format_epoch_ms(mark.time_ms)[11:23] in text
            assert mark.name in text


def test_terminal_bars_use_each_states_glyph() -> None:
    profile = attrs.evolve(ONE_WAIT, scheduled_share=0, auto_dial_share=0)
    lc = life(1, "park", "hold", "timeout", "wrapup-applied", profile=profile)
    lines = terminal(lc, width=160).splitlines()
    for lane in segments(lc):
        (row,) = [line for line in lines if line.startswith(lane.label)]
        for s in lane.segments:
            if s.end_ms > s.start_ms:
                assert STATES[s.kind][1] in row


def test_colour_only_adds_styles_to_the_same_text() -> None:
    lc = life(2, "hold", "scheduled")
    out = io.StringIO()
    draw_terminal(lc, Console(file=out, width=120, color_system="truecolor", force_terminal=True))
    coloured = out.getvalue()
    assert "\x1b[38;2;79;154;58m" in coloured  # connected, #4f9a3a
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == terminal(lc)


def test_narrow_terminals_keep_lines_within_the_width() -> None:
    lc = life(0, "scheduled", "hold", "transfer", "ivr")
    for width in (60, 80):
        text = terminal(lc, width=width)
        assert all(cell_len(line) <= width for line in text.splitlines())
        for lane in segments(lc):
            for mark in lane.marks:
                assert format_epoch_ms(mark.time_ms)[11:23] in text


@pytest.mark.parametrize("width", [40, 50, 60, 80, 120])
def test_the_axis_ends_never_run_together(width: int) -> None:
    lc = life(0, "scheduled", "hold", "transfer", "ivr")
    lines = terminal(lc, width=width).splitlines()
    ruler = next(i for i, line in enumerate(lines) if line.startswith("UTC"))
    first, last = format_epoch_ms(lc.events[0].time_ms), format_epoch_ms(lc.events[-1].time_ms)
    start = first[11:23]
    # The end shows its day too (MM-DD) when the conversation runs past midnight.
    end = last[11:23] if last[:10] == first[:10] else f"{last[5:10]} {last[11:23]}"
    axis_text = " ".join(lines[ruler + 1 : ruler + 3])
    assert re.search(re.escape(start) + r"\s+" + re.escape(end) + r"\b", axis_text), axis_text
    assert all(cell_len(line) <= width for line in lines)


def test_outputs_are_deterministic() -> None:
    a, b = life(5, "transfer", "hold"), life(5, "transfer", "hold")
    assert terminal(a) == terminal(a) == terminal(b)
    assert to_svg(a) == to_svg(b)
    assert to_html(a) == to_html(b)


def test_from_wire_reads_back_what_to_wire_writes() -> None:
    lcs = [life(s, "hold") for s in range(3)]
    records = [r for lc in lcs for r in lc.to_wire()]
    back = lifecycles_from_events(records)
    assert [lc.conversation_id for lc in back] == [lc.conversation_id for lc in lcs]
    assert [lc.events for lc in back] == [lc.events for lc in lcs]
    assert segments(back[0]) == segments(lcs[0])
    text = terminal(back[0], show_plan=False)
    assert "paths:" not in text
    assert "paths:" in terminal(lcs[0])
    assert "paths:" not in to_html(back[0], show_plan=False)


def test_customer_first_dialling_and_waiting_have_their_own_segments() -> None:
    lc = life(2, "dial-retry", "accepted", profile=ONE_WAIT)
    customer = next(ln for ln in segments(lc) if ln.purpose in {"customer", "external"})
    kinds = [s.kind for s in customer.segments]
    assert kinds[:3] == ["dialing", "waiting", "dialing"]
    text = terminal(lc, width=160)
    (row,) = [line for line in text.splitlines() if line.startswith(customer.label)]
    assert STATES["dialing"][1] in row
    assert STATES["waiting"][1] in row
