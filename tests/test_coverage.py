"""Coverage: the four views counted on hand-made payloads, the allowed sets checked against brute
force (over the rules themselves and over every ordering class of the seed edition), and the
``callbacksim coverage`` command's table and JSON output.

The expected counts here are written out from the payloads, not taken from `Coverage`; the allowed
sets are rebuilt from `callbacksim.rules.check` and `callbacksim.orderings.classes`, never from the
derivation in `callbacksim.coverage`.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from callbacksim.codec import decode
from callbacksim.coverage import (
    ABSENT,
    ENUM_FIELDS,
    Coverage,
    Section,
    allowed_pairs,
    allowed_relations,
)
from callbacksim.model import DisconnectType, Edition, State, known_values
from callbacksim.orderings import OrderingClass, classes, count_classes, relation
from callbacksim.rules import check, timestamps

CLI = (sys.executable, "-m", "callbacksim.cli")
SEED = Edition.SEED
SDK = Edition.SDK_269

T0 = "2026-01-01T00:00:00.000Z"
T1 = "2026-01-01T00:01:00.000Z"
T2 = "2026-01-01T00:02:00.000Z"

# Four hand-made payloads; the comments say what each contributes.
ENDED = {  # a valid ended participant: startTime < connectedTime = endTime < wrapup.endTime
    "state": "disconnected",
    "disconnectType": "client",
    "direction": "inbound",
    "flaggedReason": "general",
    "voicemail": {"id": "v1", "uploadStatus": "complete"},
    "startTime": T0,
    "connectedTime": T1,
    "endTime": T1,
    "wrapup": {"endTime": T2},
}
LIVE = {  # a valid live participant, no disconnectType: startTime = connectedTime
    "state": "connected",
    "direction": "outbound",
    "startTime": T0,
    "connectedTime": T0,
}
BACKWARDS = {  # unknown enum values and an invalid order: endTime < startTime
    "state": "bogus-state",
    "disconnectType": "not-a-type",
    "startTime": T1,
    "endTime": T0,
}
JUNK = {  # nothing usable: wrong types and an unparsable timestamp count as absent
    "state": 7,
    "direction": None,
    "voicemail": "complete",
    "startTime": "not a time",
    "connectedTime": 5,
}
PAYLOADS = [ENDED, LIVE, BACKWARDS, JUNK]


@pytest.fixture
def cov() -> Coverage:
    return Coverage(SEED).add_all(PAYLOADS)


# -- Coverage on hand-made payloads -------------------------------------------------------------


def test_enum_values_are_counted_per_field_known_or_not(cov: Coverage) -> None:
    assert cov.records == 4
    assert set(cov.enum_values) == set(ENUM_FIELDS)
    assert cov.enum_values["state"] == Counter(
        {"disconnected": 1, "connected": 1, "bogus-state": 1}
    )
    assert cov.enum_values["direction"] == Counter({"inbound": 1, "outbound": 1})
    assert cov.enum_values["disconnectType"] == Counter({"client": 1, "not-a-type": 1})
    assert cov.enum_values["flaggedReason"] == Counter({"general": 1})
    assert cov.enum_values["voicemail.uploadStatus"] == Counter({"complete": 1})


def test_state_x_disconnect_type_pairs_absent_included(cov: Coverage) -> None:
    # JUNK's state is not a string: no pair at all.
    assert cov.pairs == Counter(
        {
            ("disconnected", "client"): 1,
            ("connected", ABSENT): 1,
            ("bogus-state", "not-a-type"): 1,
        }
    )


def test_pairwise_relations_in_declaration_order(cov: Coverage) -> None:
    assert cov.relations == Counter(
        {
            ("startTime", "connectedTime", "<"): 1,  # ENDED
            ("startTime", "endTime", "<"): 1,
            ("startTime", "wrapup.endTime", "<"): 1,
            ("connectedTime", "endTime", "="): 1,
            ("connectedTime", "wrapup.endTime", "<"): 1,
            ("endTime", "wrapup.endTime", "<"): 1,
            ("startTime", "connectedTime", "="): 1,  # LIVE
            ("startTime", "endTime", ">"): 1,  # BACKWARDS
        }
    )


def test_presence_counts_every_timestamp_of_the_edition(cov: Coverage) -> None:
    keys = timestamps(SEED)
    assert sum(cov.presence.values()) == 4 * len(keys)
    present = Counter(
        {"startTime": 3, "connectedTime": 2, "endTime": 2, "wrapup.endTime": 1},
    )
    for key in keys:
        assert cov.presence[(key, True)] == present[key], key
        assert cov.presence[(key, False)] == 4 - present[key], key


def test_invalid_orderings_are_counted_not_collected(cov: Coverage) -> None:
    assert cov.invalid_classes == 1
    assert cov.classes == {
        OrderingClass.parse("startTime < connectedTime = endTime < wrapup.endTime"),
        OrderingClass.parse("startTime = connectedTime"),
        OrderingClass(()),  # JUNK: no usable timestamps, a valid (empty) class
    }


def test_sections_count_only_allowed_items(cov: Coverage) -> None:
    sections = {s.name: s for s in cov.sections()}
    assert list(sections) == [
        "enum values",
        "state x disconnectType",
        "pairwise ordering",
        "ordering classes",
    ]
    enums = sections["enum values"]
    assert (enums.covered, enums.total) == (7, 37)
    assert "state=terminated" in enums.missing
    assert not any("bogus" in m or "not-a-type" in m for m in enums.missing)

    pairs = sections["state x disconnectType"]
    assert (pairs.covered, pairs.total) == (2, 57)  # the unknown pair is not allowed, not counted
    assert "disconnected x client" not in pairs.missing
    assert f"connected x {ABSENT}" not in pairs.missing
    assert "terminated x client" in pairs.missing

    ordering = sections["pairwise ordering"]
    # 7 allowed relations seen ("startTime > endTime" is not allowed), every timestamp absent
    # somewhere (8), 4 of them present somewhere.
    assert (ordering.covered, ordering.total) == (7 + 8 + 4, 89)
    assert "startTime > endTime" not in ordering.missing  # not an item at all
    assert "startHoldTime present" in ordering.missing
    assert "startTime < endTime" not in ordering.missing

    assert sections["ordering classes"] == Section("ordering classes", 3, 21_092, ())


def test_to_json_shape_and_unknown_values(cov: Coverage) -> None:
    data = cov.to_json()
    assert set(data) == {"records", "edition", "sections", "invalidOrderings", "unknownEnumValues"}
    assert data["records"] == 4
    assert data["edition"] == "seed"
    assert data["invalidOrderings"] == 1
    assert data["unknownEnumValues"] == {
        "state": ["bogus-state"],
        "direction": [],
        "disconnectType": ["not-a-type"],
        "flaggedReason": [],
        "voicemail.uploadStatus": [],
    }
    for name, section in data["sections"].items():
        assert set(section) == {"covered", "total", "percent", "missing"}, name
        assert section["percent"] == round(100 * section["covered"] / section["total"], 2)
    assert data["sections"]["enum values"]["percent"] == 18.92


def test_section_of_nothing_is_complete() -> None:
    assert Section("empty", 0, 0, ()).percent == 100.0


def test_model_objects_count_like_raw_payloads() -> None:
    raw = Coverage(SEED).add_all([ENDED, LIVE])
    model = Coverage(SEED).add_all([decode(ENDED), decode(LIVE)])
    assert model.enum_values == raw.enum_values
    assert model.pairs == raw.pairs
    assert model.relations == raw.relations
    assert model.presence == raw.presence
    assert model.classes == raw.classes
    assert model.to_json() == raw.to_json()


def test_edition_decides_known_values_and_timestamps() -> None:
    parked = {"state": "parked", "startTime": T0, "connectedTime": T0, "parkTime": T1}
    seed, sdk = Coverage(SEED).add_all([parked]), Coverage(SDK).add_all([parked])
    assert seed.to_json()["unknownEnumValues"]["state"] == ["parked"]
    assert sdk.to_json()["unknownEnumValues"]["state"] == []
    # parkTime is a timestamp of sdk-269 only.
    assert ("connectedTime", "parkTime", "<") in sdk.relations
    assert not any("parkTime" in (a, b) for a, b, _ in seed.relations)
    seed_pairs = {s.name: s for s in seed.sections()}["state x disconnectType"]
    sdk_pairs = {s.name: s for s in sdk.sections()}["state x disconnectType"]
    assert (seed_pairs.covered, sdk_pairs.covered) == (0, 1)
    assert sdk_pairs.total == 73
    totals = {s.name: s.total for s in sdk.sections()}
    assert totals == {
        "enum values": 43,
        "state x disconnectType": 73,
        "pairwise ordering": 150 + 2 * 11,
        "ordering classes": 6_716_466,
    }


# -- the allowed sets, against brute force -------------------------------------------------------


def _instants(levels: list[list[str]]) -> dict[str, str]:
    """One instant per level, a minute apart."""
    base = datetime(2026, 1, 1, tzinfo=UTC)
    return {
        key: (base + timedelta(minutes=i)).isoformat().replace("+00:00", "Z")
        for i, level in enumerate(levels)
        for key in level
    }


def _payload(values: dict[str, str], **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = dict(extra)
    for key, value in values.items():
        head, _, tail = key.partition(".")
        if tail:
            out.setdefault(head, {})[tail] = value
        else:
            out[head] = value
    return out


@pytest.mark.parametrize("edition", list(Edition))
def test_allowed_pairs_are_what_the_rules_accept(edition: Edition) -> None:
    """A pair is allowed if some participant with it passes every rule; trying each state with
    each subset of the timestamps a state can require is enough to find one."""
    helpers = [k for k in ("connectedTime", "endTime", "parkTime") if k in timestamps(edition)]
    brute = set()
    for state in known_values(State, edition):
        for dt in [*(d.value for d in known_values(DisconnectType, edition)), ABSENT]:
            for n in range(len(helpers) + 1):
                for subset in itertools.combinations(helpers, n):
                    payload = _payload(dict.fromkeys(subset, T0), state=state.value)
                    if dt != ABSENT:
                        payload["disconnectType"] = dt
                    if not check(payload, edition=edition):
                        brute.add((state.value, dt))
                        break
                else:
                    continue
                break
    assert brute == allowed_pairs(edition)
    assert len(allowed_pairs(edition)) == {SEED: 57, SDK: 73}[edition]


def _weak_orders(keys: tuple[str, ...]) -> Iterator[list[list[str]]]:
    """Every weak order (ties allowed) of ``keys``, as levels."""
    if not keys:
        yield []
        return
    first, rest = keys[0], keys[1:]
    for order in _weak_orders(rest):
        for i in range(len(order)):
            yield [[*level, first] if j == i else level for j, level in enumerate(order)]
        for i in range(len(order) + 1):
            yield [*order[:i], [first], *order[i:]]


@pytest.mark.parametrize("edition", list(Edition))
def test_allowed_relations_are_what_the_rules_accept(edition: Edition) -> None:
    """Every weak order of two timestamps plus at most one more, judged by the rules: a relation
    is allowed if some such participant passes (one extra timestamp is all a constraint through a
    third timestamp can need)."""
    keys = timestamps(edition)
    brute = set()
    for a, b in itertools.combinations(keys, 2):
        for extra in [(), *((k,) for k in keys if k not in (a, b))]:
            for levels in _weak_orders((a, b, *extra)):
                values = _instants(levels)
                state = "disconnected" if "endTime" in values else "dialing"
                if not check(_payload(values, state=state), edition=edition):
                    rank = OrderingClass(tuple(map(tuple, levels))).rank()
                    brute.add((a, b, relation(rank, a, b)))
    assert brute == allowed_relations(edition)
    assert len(allowed_relations(edition)) == {SEED: 73, SDK: 150}[edition]


def test_allowed_relations_are_those_of_every_seed_class() -> None:
    keys = timestamps(SEED)
    seen = set()
    n = 0
    for cls in classes(SEED):
        n += 1
        rank = cls.rank()
        for a, b in itertools.combinations(keys, 2):
            rel = relation(rank, a, b)
            if rel != "absent":
                seen.add((a, b, rel))
    assert n == count_classes(SEED) == 21_092
    assert seen == allowed_relations(SEED)


# -- the command --------------------------------------------------------------------------------


def _run(*args: str | Path, cwd: Path, stdin: bytes = b"") -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [*CLI, *map(str, args)],
        cwd=cwd,
        input=stdin.decode(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


@pytest.fixture
def payload_file(tmp_path: Path) -> Path:
    path = tmp_path / "hand.jsonl"
    path.write_bytes(b"".join(orjson.dumps(p) + b"\n" for p in PAYLOADS))
    return path


@pytest.mark.slow
def test_cli_json_is_the_coverage_of_the_records(payload_file: Path, tmp_path: Path) -> None:
    proc = _run("coverage", payload_file, "--format", "json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == Coverage(SEED).add_all(PAYLOADS).to_json()

    # Several inputs add up: a JSON array, and standard input.
    array = tmp_path / "more.json"
    array.write_bytes(orjson.dumps([ENDED, LIVE]))
    proc = _run(
        "coverage", payload_file, array, "-", "--format", "json", "--edition", "sdk-269",
        cwd=tmp_path, stdin=orjson.dumps(BACKWARDS),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    both = [*PAYLOADS, ENDED, LIVE, BACKWARDS]
    assert json.loads(proc.stdout) == Coverage(SDK).add_all(both).to_json()


@pytest.mark.slow
def test_cli_table(payload_file: Path, tmp_path: Path) -> None:
    proc = _run("coverage", payload_file, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "Coverage of 4 record(s), seed edition" in out
    rows = {}
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip("│┃ ").split("│")]
        if len(cells) == 4:
            rows[cells[0]] = cells[1:]
    assert rows == {
        "enum values": ["7", "37", "18.9"],
        "state x disconnectType": ["2", "57", "3.5"],
        "pairwise ordering": ["19", "89", "21.3"],
        "ordering classes": ["3", "21,092", "0.0"],
    }
    assert "1 record(s) have timestamps in an invalid order." in out
    missing = [line for line in out.splitlines() if line.startswith("missing ")]
    assert [m.split(":")[0] for m in missing] == [
        "missing enum values",
        "missing state x disconnectType",
        "missing pairwise ordering",
    ]
    assert missing[0].endswith("and 22 more")  # 30 missing, 8 shown

    proc = _run("coverage", payload_file, "--show-missing", "0", cwd=tmp_path)
    assert "missing" not in proc.stdout


@pytest.mark.slow
def test_cli_unreadable_input_is_a_usage_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_bytes(b'[{"state": "connected"}, {"state": ')
    for args in ([broken], [tmp_path / "nope.jsonl"], [tmp_path]):
        proc = _run("coverage", *args, cwd=tmp_path)
        assert proc.returncode == 2, (args, proc.stdout)
        lines = proc.stderr.splitlines()
        assert len(lines) == 1, lines
        assert lines[0].startswith("callbacksim: error: ")
