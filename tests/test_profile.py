"""The realism profile: documented parameters, overrides, profile files, and the effect of a
changed parameter on simulated lifecycles."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callbacksim.errors import UsageError
from callbacksim.generation.chooser import RandomChooser
from callbacksim.generation.lifecycle import Lifecycle, simulate
from callbacksim.generation.machine import WIRE_FINAL
from callbacksim.generation.profile import (
    DEFAULT,
    SOURCES,
    WAITING_STATES,
    Profile,
    load_profile,
    mix_weights,
)
from callbacksim.model import Edition
from callbacksim.rules import check
from callbacksim.wiretime import epoch_ms, parse_datetime

START_MS = epoch_ms(parse_datetime("2026-03-02T08:00:00Z"))
TIMEOUT_CODE = "ININ-WRAP-UP-TIMEOUT"
FIELDS = attrs.fields(Profile)


def ms(value: str) -> int:
    return epoch_ms(parse_datetime(value))


# -- the parameters ------------------------------------------------------------------------------


@pytest.mark.parametrize("field", FIELDS, ids=lambda f: f.name)
def test_every_parameter_states_its_source_basis_and_kind(field: attrs.Attribute[Any]) -> None:
    assert field.metadata["source"] in SOURCES
    basis = field.metadata["basis"]
    assert basis.strip()
    # The source has its own column: a basis does not begin by claiming one.
    assert not basis.startswith(SOURCES), basis
    assert field.metadata["kind"] in {"probability", "number", "choice"}
    if field.metadata["kind"] == "choice":
        options = field.metadata["options"]
        assert options
        assert DEFAULT.with_overrides({field.name: field.default}) == DEFAULT  # canonical
        assert {o for o, _ in mix_weights(field.default)} <= set(options)
        return
    assert isinstance(field.default, int | float)
    assert field.default >= 0
    if field.metadata["kind"] == "probability":
        assert field.default <= 1


# What rests on more than an assumption, reviewed one by one against the facts: the observed
# values come from a captured callback conversation, the documented ones from Genesys settings.
OBSERVED = {
    "route_delay_min_ms",
    "route_delay_max_ms",
    "alert_start_min_ms",
    "alert_start_max_ms",
    "alerting_timeout_ms",
    "timeout_overrun_min_ms",
    "timeout_overrun_max_ms",
}
DOCUMENTED = {"auto_dial_delay_s", "auto_end_delay_s"}


def test_only_the_reviewed_parameters_claim_an_observation_or_a_document() -> None:
    by_source: dict[str, set[str]] = {source: set() for source in SOURCES}
    for p in Profile.describe():
        by_source[p.source].add(p.name)
    assert by_source["observed"] == OBSERVED
    assert by_source["documented"] == DOCUMENTED
    assert by_source["assumption"] == {f.name for f in FIELDS} - OBSERVED - DOCUMENTED


def test_describe_lists_every_parameter_with_default_source_and_basis() -> None:
    rows = Profile.describe()
    assert [p.name for p in rows] == [f.name for f in FIELDS]
    assert all(p.basis and p.source in SOURCES for p in rows)
    assert {p.name: p.default for p in rows} == attrs.asdict(DEFAULT)
    shown = {p.name: p.shown for p in rows}
    assert shown["talk_median_s"] == "240"
    assert shown["pre_routing_state"] == "none"


def test_default_is_the_unchanged_profile() -> None:
    assert Profile() == DEFAULT
    assert DEFAULT.with_overrides([]) == DEFAULT


# -- overrides -------------------------------------------------------------------------------------


def test_overrides_from_name_value_strings() -> None:
    changed = DEFAULT.with_overrides(["talk_median_s=300", " accept_probability = 0.5 "])
    assert changed.talk_median_s == 300.0
    assert changed.accept_probability == 0.5
    assert DEFAULT.talk_median_s == 240  # the original is unchanged (frozen)
    assert attrs.evolve(changed, talk_median_s=240, accept_probability=0.75) == DEFAULT


def test_overrides_from_a_mapping_and_dashed_names() -> None:
    changed = DEFAULT.with_overrides({"max-offers": 2, "hold_probability": "0"})
    assert changed.max_offers == 2.0
    assert changed.hold_probability == 0.0


def test_overrides_accept_the_bounds() -> None:
    changed = DEFAULT.with_overrides({"accept_probability": 1, "error_probability": 0})
    assert (changed.accept_probability, changed.error_probability) == (1.0, 0.0)


def test_overrides_chain() -> None:
    changed = DEFAULT.with_overrides(["talk_sigma=0.5"]).with_overrides(["talk_median_s=60"])
    assert (changed.talk_sigma, changed.talk_median_s) == (0.5, 60.0)


def test_unknown_parameter_suggests_close_names() -> None:
    with pytest.raises(UsageError) as info:
        DEFAULT.with_overrides(["talk_medain_s=300"])
    message = str(info.value)
    assert "unknown profile parameter 'talk_medain_s'" in message
    assert "did you mean" in message
    assert "talk_median_s" in message
    assert "callbacksim profile" in message


def test_unknown_parameter_without_a_close_name() -> None:
    with pytest.raises(UsageError, match="unknown profile parameter 'zzz'") as info:
        DEFAULT.with_overrides({"zzz": 1})
    assert "did you mean" not in str(info.value)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["talk_median_s=long"], r"talk_median_s must be a number, got 'long'"),
        ({"talk_median_s": None}, r"talk_median_s must be a number, got None"),
        ({"talk_median_s": [1]}, r"talk_median_s must be a number"),
        (["talk_median_s="], r"talk_median_s must be a number, got ''"),
        (["accept_probability=1.5"], r"accept_probability must be between 0 and 1, got '1.5'"),
        ({"decline_probability": -0.1}, r"decline_probability must be between 0 and 1"),
        (["talk_median_s=-1"], r"talk_median_s must be a finite number >= 0, got '-1'"),
        (["talk_median_s=nan"], r"talk_median_s must be a finite number >= 0, got 'nan'"),
        (["talk_median_s=inf"], r"talk_median_s must be a finite number >= 0, got 'inf'"),
        ({"accept_probability": float("nan")}, r"accept_probability must be between 0 and 1"),
        (["talk_median_s"], r"expected NAME=VALUE, got 'talk_median_s'"),
        (["=300"], r"expected NAME=VALUE, got '=300'"),
    ],
)
def test_bad_overrides_raise_usage_errors(overrides: Any, expected: str) -> None:
    with pytest.raises(UsageError, match=expected):
        DEFAULT.with_overrides(overrides)


# -- choice parameters -----------------------------------------------------------------------------


def test_a_choice_takes_one_option_or_weighted_options() -> None:
    assert (
        DEFAULT.with_overrides(["customer_end_disconnect=peer"]).customer_end_disconnect == "peer"
    )
    mixed = DEFAULT.with_overrides({"customer_end_disconnect": " peer:2 , endpoint "})
    assert mixed.customer_end_disconnect == "peer:2,endpoint:1"
    assert mix_weights(mixed.customer_end_disconnect) == (("peer", 2.0), ("endpoint", 1.0))
    # A zero weight keeps the option written but never draws it.
    assert mix_weights("peer:0,client:1") == (("client", 1.0),)
    assert DEFAULT.with_overrides(["pre-routing-state=scheduled"]).pre_routing_state == "scheduled"


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            ["pre_routing_state=queued"],
            r"pre_routing_state: 'queued' is not an option; give one "
            r"of none, scheduled",
        ),
        (["customer_end_disconnect=peer:x"], r"the weight of peer must be a number, got 'x'"),
        (["customer_end_disconnect=peer:-1"], r"the weight of peer must be a finite number"),
        (["customer_end_disconnect=peer:0"], r"at least one weight must be above 0"),
        (["customer_end_disconnect=peer,peer"], r"peer is named twice"),
        (["wrapup_prompt="], r"wrapup_prompt must name a value"),
        ({"wrapup_prompt": 3}, r"wrapup_prompt must name a value; give one of optional"),
    ],
)
def test_bad_choices_raise_usage_errors(overrides: Any, expected: str) -> None:
    with pytest.raises(UsageError, match=expected):
        DEFAULT.with_overrides(overrides)


def _snapshots(lcs: list[Lifecycle]) -> list[dict[str, Any]]:
    return [e.participant for lc in lcs for e in lc.events]


def test_the_pre_routing_state_is_what_waiting_legs_show() -> None:
    seeds = range(40)
    for state in ("none", "scheduled"):
        profile = DEFAULT.with_overrides({"pre_routing_state": state})
        lcs = _run(profile, seeds, require=["scheduled"])
        waiting = [
            s
            for s in _snapshots(lcs)
            if s["purpose"] in {"customer", "external", "acd"}
            and "connectedTime" not in s
            and "endTime" not in s
            and s["state"] != "dialing"  # a Customer First customer being called
        ]
        assert waiting
        assert {s["state"] for s in waiting} == {state}
    # By default nothing shows the notification topic's "scheduled".
    assert all(s["state"] != "scheduled" for s in _snapshots(_run(DEFAULT, seeds)))


def test_a_mixed_pre_routing_state_is_one_value_per_conversation() -> None:
    profile = DEFAULT.with_overrides({"pre_routing_state": "none:1,scheduled:1"})
    seen = set()
    for lc in _run(profile, range(40), require=["scheduled"]):
        waiting = {
            e.participant["state"]
            for e in lc.events
            if e.participant["purpose"] in {"customer", "external", "acd"}
            and "connectedTime" not in e.participant
            and "endTime" not in e.participant
            and e.participant["state"] != "dialing"
        }
        assert len(waiting) == 1
        seen |= waiting
    assert seen == {"none", "scheduled"}


def test_disconnect_choices_decide_how_legs_end() -> None:
    profile = DEFAULT.with_overrides(
        {"customer_end_disconnect": "peer", "cancel_customer_disconnect": "other"}
    )
    for lc in _run(profile, range(10), require=["accepted"]):
        (customer,) = [s for s in lc.finals().values() if s["purpose"] in {"customer", "external"}]
        assert customer["disconnectType"] == "peer"
    for lc in _run(profile, range(10), require=["cancelled"]):
        (customer,) = [s for s in lc.finals().values() if s["purpose"] in {"customer", "external"}]
        assert customer["disconnectType"] == "other"


def test_the_wrapup_prompt_mix_decides_the_prompts() -> None:
    only = DEFAULT.with_overrides({"wrapup_prompt": "mandatory"})
    agents = [
        s for lc in _run(only, range(30)) for s in lc.finals().values() if s["purpose"] == "agent"
    ]
    assert agents
    assert {s["wrapupPrompt"] for s in agents} == {"mandatory"}
    # Mandatory wrap-up is never skipped and never timed out.
    served = [s for s in agents if "connectedTime" in s]
    assert served
    assert all(s["wrapup"]["code"] != TIMEOUT_CODE for s in served)


# -- profile files ---------------------------------------------------------------------------------


def test_load_a_json_profile(tmp_path: Path) -> None:
    path = tmp_path / "busy.json"
    path.write_text(json.dumps({"arrivals_per_hour": 1200, "talk-median-s": 90}))
    profile = load_profile(path)
    assert profile.arrivals_per_hour == 1200.0
    assert profile.talk_median_s == 90.0
    assert attrs.evolve(profile, arrivals_per_hour=600, talk_median_s=240) == DEFAULT


def test_load_a_toml_profile_onto_a_base(tmp_path: Path) -> None:
    path = tmp_path / "slow.toml"
    path.write_text("# slower agents\nqueue_wait_median_s = 120\naccept_probability = 0.5\n")
    base = DEFAULT.with_overrides(["talk_median_s=30"])
    profile = load_profile(str(path), base=base)
    assert (profile.queue_wait_median_s, profile.accept_probability) == (120.0, 0.5)
    assert profile.talk_median_s == 30.0


def test_an_empty_file_is_the_base(tmp_path: Path) -> None:
    path = tmp_path / "empty.toml"
    path.write_text("")
    assert load_profile(path) == DEFAULT


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"cannot read the profile .*nope\.json: "):
        load_profile(tmp_path / "nope.json")


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("bad.json", "{talk_median_s: 1}", r"bad\.json is not valid JSON"),
        ("BAD.JSON", "{talk_median_s: 1}", r"BAD\.JSON is not valid JSON"),
        ("bad.toml", "talk_median_s = = 1", r"bad\.toml is not valid TOML"),
        ("bad.toml", b"\xff\xfe", r"bad\.toml is not valid TOML"),
        ("list.json", "[1, 2]", r"list\.json must hold a table of NAME = VALUE"),
        ("number.json", "42", r"number\.json must hold a table"),
        ("nested.toml", "[talk]\nmedian_s = 1\n", r"unknown profile parameter 'talk'"),
        ("prob.toml", "accept_probability = 2", r"accept_probability must be between 0 and 1"),
        ("text.json", '{"talk_median_s": "long"}', r"talk_median_s must be a number"),
    ],
)
def test_bad_profile_files(tmp_path: Path, name: str, content: str | bytes, expected: str) -> None:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(UsageError, match=expected):
        load_profile(path)


def test_a_directory_is_not_a_profile(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read the profile"):
        load_profile(tmp_path)


# -- a changed parameter changes behaviour -------------------------------------------------------


def _run(profile: Profile, seeds: range, **kwargs: Any) -> list[Lifecycle]:
    return [
        simulate(RandomChooser(seed), profile=profile, start_ms=START_MS, **kwargs)
        for seed in seeds
    ]


def _missed(lifecycle: Lifecycle) -> list[dict[str, Any]]:
    return [
        snap
        for snap in lifecycle.finals().values()
        if snap["purpose"] == "agent" and "connectedTime" not in snap
    ]


def _talk_ms(lifecycle: Lifecycle) -> list[int]:
    return [
        ms(snap["endTime"]) - ms(snap["connectedTime"])
        for snap in lifecycle.finals().values()
        if snap["purpose"] == "agent" and "connectedTime" in snap
    ]


def test_certain_acceptance_means_no_missed_offers() -> None:
    sure = DEFAULT.with_overrides(["accept_probability=1"])
    lifecycles = _run(sure, range(300))
    assert not any(_missed(lc) for lc in lifecycles)
    assert not any({"timeout", "decline"} & lc.plan.paths for lc in lifecycles)
    # ...and the default profile does miss offers with the same seeds.
    assert any(_missed(lc) for lc in _run(DEFAULT, range(300)))


def test_a_required_miss_still_happens_under_certain_acceptance() -> None:
    sure = DEFAULT.with_overrides(["accept_probability=1"])
    for lc in _run(sure, range(20), require=["timeout"]):
        assert [snap["disconnectType"] for snap in _missed(lc)] == ["system"]


def test_never_accepting_means_max_offers_then_abandonment() -> None:
    never = DEFAULT.with_overrides(
        {"accept_probability": 0, "decline_probability": 0, "max_offers": 3}
    )
    for lc in _run(never, range(20), require=["abandoned"]):
        missed = _missed(lc)
        assert len(missed) == 2  # max_offers - 1 missed offers, then the customer gives up
        assert {snap["disconnectType"] for snap in missed} == {"system"}


def test_longer_talk_median_means_longer_calls() -> None:
    seeds = range(150)
    short = [t for lc in _run(DEFAULT, seeds, require=["accepted"]) for t in _talk_ms(lc)]
    longer = DEFAULT.with_overrides(["talk_median_s=960"])
    long = [t for lc in _run(longer, seeds, require=["accepted"]) for t in _talk_ms(lc)]
    assert statistics.median(long) > 3 * statistics.median(short)
    assert statistics.mean(long) > 3 * statistics.mean(short)


def test_the_alerting_timeout_is_the_profiles(tmp_path: Path) -> None:
    path = tmp_path / "fast.toml"
    path.write_text("alerting_timeout_ms = 15000\n")
    profile = load_profile(path)
    for lc in _run(profile, range(20), require=["timeout"], edition=Edition.SDK_269):
        timed_out = [s for s in _missed(lc) if s["disconnectType"] == "system"]
        assert timed_out
        for snap in timed_out:
            assert snap["alertingTimeoutMs"] == 15_000
            overrun = ms(snap["endTime"]) - ms(snap["startAlertingTime"]) - 15_000
            assert 100 <= overrun <= 120


def test_wrapup_timeout_parameter_sets_the_acw_length() -> None:
    profile = DEFAULT.with_overrides(["wrapup_timeout_ms=120000"])
    for lc in _run(profile, range(10), require=["wrapup-timeout"]):
        agents = [s for s in lc.finals().values() if s.get("wrapupTimeoutMs") is not None]
        assert agents
        timed_out = [s for s in agents if s.get("wrapup", {}).get("code") == TIMEOUT_CODE]
        assert timed_out
        for snap in agents:
            assert snap["wrapupTimeoutMs"] == 120_000
            assert snap["wrapupPrompt"] in {"timeout", "forcedTimeout", "agentRequested"}
        for snap in timed_out:
            assert ms(snap["endAcwTime"]) - ms(snap["startAcwTime"]) == 120_000


def test_a_zero_alerting_timeout_still_gives_valid_snapshots() -> None:
    profile = DEFAULT.with_overrides(["alerting_timeout_ms=0"])
    for lc in _run(profile, range(30), require=["accepted"], edition=Edition.SDK_269):
        for event in lc.events:
            assert check(event.participant, edition=Edition.SDK_269) == []


def _sane(field: attrs.Attribute[Any]) -> st.SearchStrategy[Any]:
    """Values of a parameter from 0 to three times its default (whole numbers for counts); for a
    choice, some of its options with weights."""
    if field.metadata["kind"] == "choice":
        options = field.metadata["options"]
        weighted = st.tuples(st.sampled_from(options), st.integers(1, 3))
        chosen = st.lists(weighted, min_size=1, max_size=3, unique_by=lambda p: p[0])
        return chosen.map(lambda pairs: ",".join(f"{o}:{w}" for o, w in pairs))
    if field.metadata["kind"] == "probability":
        return st.floats(0, 1)
    if field.name.startswith("max_"):
        return st.integers(0, 6).map(float)
    if field.name.endswith("_sigma"):
        return st.floats(0, 2)
    return st.floats(0, 3 * field.default)


@settings(max_examples=100, deadline=None)
@given(
    overrides=st.fixed_dictionaries({}, optional={f.name: _sane(f) for f in FIELDS}),
    seed=st.integers(0, 2**32),
    edition=st.sampled_from(Edition),
)
def test_any_sane_profile_gives_valid_lifecycles(
    overrides: dict[str, Any], seed: int, edition: Edition
) -> None:
    profile = DEFAULT.with_overrides(overrides)
    lc = simulate(RandomChooser(seed), profile=profile, edition=edition, start_ms=START_MS)
    times = [e.time_ms for e in lc.events]
    assert times == sorted(times)
    for event in lc.events:
        assert check(event.participant, edition=edition, path_id=event.participant_id) == []
    assert {snap["state"] for snap in lc.finals().values()} <= WIRE_FINAL
    shown = {e.participant["state"] for e in lc.events}
    assert shown <= {*WAITING_STATES, "dialing", "alerting", "connected", "parked", *WIRE_FINAL}
