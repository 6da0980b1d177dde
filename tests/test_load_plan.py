"""The plain-Python half of load runs: settings, stages and arrivals, shares, conversations, the
latency recorder, the workers' tallies and the master's merge, thresholds and the reports.

Nothing here imports Locust (the package's Locust-facing modules are exercised by
`test_load.py`, in subprocesses)."""

from __future__ import annotations

import argparse
import itertools
import math
import random
import subprocess
import sys
import xml.etree.ElementTree as ET
from typing import Any

import attrs
import hypothesis
import pytest
from hypothesis import given
from hypothesis import strategies as st

from callbacksim.errors import UsageError
from callbacksim.load.plan import (
    OPTIONS,
    LoadSettings,
    Model,
    Ramp,
    conversation,
    conversations,
    parse_duration,
    shares,
)
from callbacksim.load.results import Aggregate, Convergence, LoadResult, WorkerTally
from callbacksim.load.thresholds import judge, parse_thresholds
from callbacksim.model import Edition
from callbacksim.simulator.faults import Faults
from callbacksim.simulator.latency import (
    HIGHEST_US,
    LatencyRecorder,
    bucket,
    buckets_ms,
    decode,
    encode,
    histogram_of,
    mean_us,
    summary_ms,
)
from callbacksim.views.report import load_html

# -- durations and stages ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("90s", 90), ("1.5m", 90), ("2m30s", 150), ("1h", 3600), ("500ms", 0.5)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "ten", "5 minutes", "-3", "2x", "1h-", "inf"])
def test_bad_durations_name_the_form(text: str) -> None:
    with pytest.raises(UsageError, match="duration"):
        parse_duration(text)


def test_stages_ramp_linearly_from_zero() -> None:
    ramp = Ramp.parse("30s:10,2m:50,30s:0")
    assert ramp.end == 180
    assert ramp.peak == 50
    assert [ramp.level_at(t) for t in (0, 15, 30, 90, 150, 165, 180, 500)] == [
        0,
        5,
        10,
        30,
        50,
        25,
        0,
        0,
    ]
    assert Ramp.constant(7).level_at(1e9) == 7
    assert Ramp.constant(7).end is None


@pytest.mark.parametrize("text", ["10", "30s", "30s:", ":5", "30s:-1", "abc:3", "30s:x"])
def test_bad_stages_say_the_form(text: str) -> None:
    with pytest.raises(UsageError, match="stage"):
        Ramp.parse(text)


def _integral(ramp: Ramp, a: float, b: float, steps: int = 4000) -> float:
    h = (b - a) / steps
    return sum(ramp.level_at(a + (i + 0.5) * h) for i in range(steps)) * h


@hypothesis.settings(max_examples=40)
@given(
    st.lists(st.tuples(st.floats(0.5, 20), st.floats(0, 50)), min_size=1, max_size=4),
    st.floats(0, 10),
    st.floats(0.01, 30),
)
def test_next_arrival_is_where_the_rates_integral_reaches_the_area(
    stages: list[tuple[float, float]], t: float, area: float
) -> None:
    ramp = Ramp.parse(",".join(f"{d}s:{level}" for d, level in stages))
    end = ramp.end
    assert end is not None
    nxt = ramp.next_arrival(t, area)
    if nxt is None:
        assert _integral(ramp, min(t, end), end) < area * 1.01 + 1e-6
    else:
        assert t < nxt <= end + 1e-9
        assert _integral(ramp, t, nxt) == pytest.approx(area, rel=0.01, abs=1e-3)


def test_arrivals_are_a_poisson_process_at_the_rate() -> None:
    """Constant rate: the count over 100 s is 10,000 within four standard deviations, and the
    gaps are exponential (their coefficient of variation is 1)."""
    rng = random.Random(5)
    ramp, t, times = Ramp.constant(100.0), 0.0, []
    while True:
        nxt = ramp.next_arrival(t, rng.expovariate(1.0))
        assert nxt is not None
        if nxt > 100:
            break
        times.append(nxt)
        t = nxt
    assert abs(len(times) - 10_000) < 4 * math.sqrt(10_000)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    mean = sum(gaps) / len(gaps)
    sd = math.sqrt(sum((g - mean) ** 2 for g in gaps) / len(gaps))
    assert mean == pytest.approx(0.01, rel=0.05)
    assert sd / mean == pytest.approx(1.0, abs=0.05)


def test_arrivals_follow_a_ramp() -> None:
    """0 to 200/s over 20 s: 2,000 arrivals expected, a quarter of them in the first half."""
    rng = random.Random(9)
    ramp, t, times = Ramp.parse("20s:200"), 0.0, []
    while (nxt := ramp.next_arrival(t, rng.expovariate(1.0))) is not None:
        times.append(nxt)
        t = nxt
    assert abs(len(times) - 2000) < 4 * math.sqrt(2000)
    first_half = sum(1 for x in times if x < 10)
    assert first_half / len(times) == pytest.approx(0.25, abs=0.04)
    assert Ramp.parse("10s:0").next_arrival(0.0, 0.5) is None


# -- shares and conversations --------------------------------------------------------------------


@given(st.integers(0, 10_000), st.integers(1, 64))
def test_shares_split_exactly(total: int, slots: int) -> None:
    parts = shares(total, slots)
    assert sum(parts) == total
    assert len(parts) == slots
    assert max(parts) - min(parts) <= 1


def test_conversations_are_regenerable_and_never_shared() -> None:
    a = conversation(3, 0, 5, Edition.SEED)
    assert conversation(3, 0, 5, Edition.SEED) == a  # the same, drawn again
    ids = {
        conversation(seed, slot, n).conversation_id
        for seed in (3, 4)
        for slot in range(3)
        for n in range(40)
    }
    assert len(ids) == 2 * 3 * 40  # no two (seed, slot, number) share a conversation
    listed = [lc.conversation_id for lc in conversations(3, 1, 10)]
    assert listed == [conversation(3, 1, n).conversation_id for n in range(10)]
    assert conversation(3, 0, 5, Edition.SDK_269) != a


# -- settings and Locust's options ---------------------------------------------------------------


def test_settings_refuse_what_makes_no_sense() -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"users": 3, "arrival_rate": 2.0}, "--arrival-rate"),
        ({"model": Model.OPEN, "users": 3, "arrival_rate": 1.0}, "not both"),
        ({"model": Model.OPEN}, "needs --arrival-rate"),
        ({"users": 0}, "--users must be 1 or more"),
        ({"users": 2, "stages": Ramp.parse("1s:3")}, "drop --users"),
        ({"stages": Ramp.parse("1s:2.5")}, "not whole"),
        ({"users": 2, "time_factor": 0.0}, "--time-factor must be positive"),
        ({"users": 2, "lifecycles": 0}, "--lifecycles must be 1 or more"),
        ({}, "needs --users N or --stages"),
    ]
    for kwargs, message in cases:
        with pytest.raises(UsageError, match=message):
            LoadSettings(**kwargs)
    assert not LoadSettings(users=2).ends
    assert LoadSettings(users=2, run_time=3.0).ends


def _locust_like_parser() -> argparse.ArgumentParser:
    """Locust's own -u, -r, -t and callbacksim's options, as Locust's parser would hold them."""
    parser = argparse.ArgumentParser()
    parser.add_argument("-u", "--users", dest="num_users", type=int)
    parser.add_argument("-r", "--spawn-rate", dest="spawn_rate", type=float)
    parser.add_argument("-t", "--run-time", dest="run_time")
    for option in OPTIONS:
        if option.append:
            parser.add_argument(option.flag, action="append")
        else:
            parser.add_argument(option.flag, type=option.type, default=option.default)
    return parser


@pytest.mark.parametrize(
    "settings",
    [
        LoadSettings(users=5, lifecycles=40, seed=7, edition=Edition.SDK_269),
        LoadSettings(
            model=Model.OPEN,
            arrival_rate=12.5,
            run_time=30.0,
            time_factor=0.01,
            max_in_flight=99,
            faults=Faults(0.1, 0.2, 3.0, 0.05),
            headers=(("Authorization", "Bearer T"), ("X-Trace", "a:b")),
            adapter="notification",
            timeout=2.5,
        ),
        LoadSettings(model=Model.OPEN, stages=Ramp.parse("10s:5,1m:20,10s:0")),
        LoadSettings(stages=Ramp.parse("1.5s:4,30s:0"), lifecycles=9),
    ],
)
def test_settings_travel_through_locusts_options(settings: LoadSettings) -> None:
    parsed = _locust_like_parser().parse_args(settings.to_options())
    back = LoadSettings.from_options(parsed)
    assert back.describe() == settings.describe()
    if settings.users is not None:  # callbacksim starts every user at once: -r is -u
        settings = attrs.evolve(settings, spawn_rate=float(settings.users))
    assert back == settings


# -- latency, tallies, the merge -----------------------------------------------------------------


@hypothesis.settings(max_examples=40)
@given(st.lists(st.integers(1, 10**9), min_size=1, max_size=200))
def test_the_recorder_makes_the_histogram_the_values_would(values: list[int]) -> None:
    recorder = LatencyRecorder()
    for v in values:
        recorder.record(v)
    direct = histogram_of((v, 1) for v in values)
    assert recorder.histogram().equals(direct)
    assert encode(recorder.histogram()) == encode(direct)
    assert all(bucket(bucket(v)) == bucket(v) <= v for v in values)


def test_merged_reports_are_exactly_the_histogram_of_everything() -> None:
    """Three workers' deltas, in several reports each, merge to the histogram of all their
    values: every percentile to the microsecond, by name and in all."""
    rng = random.Random(2)
    aggregate, everything, by_name = Aggregate(), LatencyRecorder(), {"a:x": [], "b:y": []}
    for slot in range(3):
        tally = WorkerTally(slot)
        for report in range(4):
            for _ in range(500):
                name = rng.choice(["a:x", "b:y"])
                micros = int(rng.lognormvariate(8 + slot, 1.2))
                failure = "HTTP 503" if rng.random() < 0.01 else None
                tally.record(name, micros, 1_000 + report, failure)
                everything.record(micros)
                by_name[name].append(micros)
            tally.started += 10
            tally.done += 9
            aggregate.add(tally.report(rss_mb=50.0 + report, final=report == 3))
    result = aggregate.result(
        target="http://t",
        settings={"lifecycles": None, "seed": 0, "model": "closed", "users": 3},
        workers=3,
        seconds=4.0,
        stopped_by="run-time",
        measured_from="sent",
        convergence=Convergence(False, "not asked"),
    )
    assert result.requests == 6000 == sum(result.timeline)
    assert result.timeline == [1500] * 4
    assert result.total.latency_ms == summary_ms(everything.histogram())
    for name, values in by_name.items():
        assert result.names[name].requests == len(values)
        assert result.names[name].latency_ms == summary_ms(histogram_of((v, 1) for v in values))
    assert (
        result.failures
        == sum(result.reasons.values())
        == sum(n.failures for n in result.names.values())
    )
    assert (result.started, result.done) == (120, 108)
    assert aggregate.finals == {0, 1, 2}
    assert result.per_worker[0]["rss_mb"] == {
        "first": 50.0,
        "max": 53.0,
        "last": 53.0,
        "samples": [50.0, 51.0, 52.0, 53.0],
    }
    # And the result survives its JSON.
    assert LoadResult.from_json(result.to_json()) == result


def test_memory_samples_stay_few_however_long_the_run() -> None:
    aggregate = Aggregate()
    for i in range(5000):
        aggregate.add(WorkerTally(0).report(rss_mb=float(i % 700)))
    (worker,) = aggregate.result(
        target="t",
        settings={},
        workers=1,
        seconds=1.0,
        stopped_by="stopped",
        measured_from="sent",
        convergence=Convergence(False),
    ).per_worker
    samples = worker["rss_mb"]["samples"]
    assert 120 <= len(samples) <= 240
    assert samples[0] == 0.0
    assert worker["rss_mb"]["max"] == 699.0
    assert worker["rss_mb"]["last"] == float(4999 % 700)


def test_the_quick_mean_is_hdrs_own() -> None:
    rng = random.Random(4)
    h = histogram_of((int(rng.lognormvariate(9, 2)) + 1, rng.randint(1, 3)) for _ in range(3000))
    assert mean_us(h) == pytest.approx(h.get_mean_value(), rel=1e-12)
    assert mean_us(histogram_of([])) == 0.0


@hypothesis.settings(max_examples=60)
@given(
    st.lists(
        st.tuples(st.integers(1, HIGHEST_US + 10**6), st.integers(1, 5)), min_size=0, max_size=300
    )
)
def test_the_quick_buckets_are_hdrs_recorded_values(values: list[tuple[int, int]]) -> None:
    h = histogram_of(values)
    expected = [
        (item.value_iterated_to / 1000, item.count_added_in_this_iter_step)
        for item in h.get_recorded_iterator()
    ]
    assert buckets_ms(h) == expected


def test_a_bad_encoded_histogram_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="HDR"):
        decode("not a histogram")
    assert decode(encode(histogram_of([(5, 2)]))).get_total_count() == 2


# -- thresholds ----------------------------------------------------------------------------------


def _result(**overrides: Any) -> LoadResult:
    tally = WorkerTally(0)
    for i in range(1000):
        tally.record("agent:connected", 1000 * (i + 1), 10 + i // 100, None)  # 1 ms .. 1 s
    for _ in range(10):
        tally.record("acd:connected", 2000, 10, "HTTP 500")
    tally.started = tally.done = 100
    tally.arrivals, tally.late = 200, 3
    aggregate = Aggregate()
    aggregate.add(tally.report(final=True))
    settings = {"lifecycles": None, "seed": 0, "model": "open", "arrival_rate": 5.0}
    base = aggregate.result(
        target="http://t",
        settings=settings,
        workers=1,
        seconds=10.0,
        stopped_by="run-time",
        measured_from="due",
        convergence=Convergence(False, "n/a"),
    )
    return LoadResult.from_json({**base.to_json(), **overrides})


@pytest.mark.parametrize(
    ("expression", "holds"),
    [
        ("p50<600ms", True),
        ("p50<400ms", False),
        ("p99<=1s", True),
        ("p99.9<900ms", False),
        ("max<2s", True),
        ("mean>1s", False),
        ("p99<1000000us", True),
        ("failures<1%", True),
        ("failures<0.5%", False),
        ("failures<11", True),
        ("failures<10", False),
        ("late-arrivals<2%", True),
        ("late-arrivals<1%", False),
        ("rps>100", True),
        ("rps>=102", False),
        ("agent:connected:p50<510ms", True),
        ("agent:connected:p50<490ms", False),
        ("acd:connected:failures<1", False),
        ("agent:connected:failures<1", True),
        ("acd:connected:rps>0.5/s", True),
        ("agent:conected:p99<1s", False),
    ],
)
def test_thresholds_hold_or_fail(expression: str, holds: bool) -> None:
    (verdict,) = judge(parse_thresholds([expression], open_model=True), _result())
    assert verdict.holds is holds, str(verdict)


def test_a_threshold_names_what_it_measured() -> None:
    verdicts = judge(
        parse_thresholds(["p99<250ms,agent:conected:p99<1s"], open_model=True), _result()
    )
    assert [str(v) for v in verdicts] == [
        "p99<250ms: FAILS (p99 was 990 ms)",
        "agent:conected:p99<1s: FAILS (no request named 'agent:conected' in this run "
        "(names: acd:connected, agent:connected))",
    ]


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("p99", "METRIC OP VALUE"),
        ("p99<fast", "METRIC OP VALUE"),
        ("p100<1s", "percentile"),
        ("p99<5%", "us, ms or s"),
        ("failures<3ms", "share"),
        ("rps>5%", "requests per second"),
        ("late-arrivals<1%", "open model"),
    ],
)
def test_bad_thresholds_are_usage_errors(expression: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_thresholds([expression], open_model=expression != "late-arrivals<1%")


# -- the HTML report -----------------------------------------------------------------------------


def test_the_load_report_is_well_formed_with_its_charts() -> None:
    result = _result()
    verdicts = judge(parse_thresholds(["p99<250ms", "rps>1"], open_model=True), result)
    page = load_html(result, verdicts, ["p99<250ms: FAILS (p99 was 990 ms)"])
    root = ET.fromstring(page.split("\n", 1)[1])
    svg = "{http://www.w3.org/2000/svg}svg"
    assert [s.get("id") for s in root.iter(svg)] == ["latency", "throughput", "names"]
    assert root.find(".//*[@id='verdict']").text == "FAIL"  # type: ignore[union-attr]
    rows = {
        tr.find("td/code").text: [td.text for td in tr.findall("td")[1:]]  # type: ignore[union-attr]
        for tr in root.iter("tr")
        if tr.find("td/code") is not None and tr.find("td/code").text in ("all",)  # type: ignore[union-attr]
    }
    assert rows["all"][:2] == ["1010", "10"]
    assert load_html(result, verdicts, []).count("PASS") >= 1


def test_importing_the_plain_modules_loads_no_locust() -> None:
    code = (
        "import sys, callbacksim.load, callbacksim.load.plan, callbacksim.load.thresholds, "
        "callbacksim.jobs.load, callbacksim.views.report, callbacksim.cli\n"
        "bad = [m for m in ('locust', 'gevent', 'geventhttpclient') if m in sys.modules]\n"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
