"""Fixture records in process: `participant_records` (modes, labels that are true, the edge
covering set, coverage fed on the way), and reading fixtures back (`iter_fixture`,
`load_labelled`, and a pytest run that parametrizes over a generated file).

A label is checked against `callbacksim.rules.check` on its own payload: an invalid record breaks
exactly its rules (judged with its ``pathId``), a valid or unusual one breaks none.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import orjson
import pytest

from callbacksim.coverage import Coverage, allowed_pairs
from callbacksim.errors import UsageError
from callbacksim.jobs.fixtures import (
    Labelled,
    Mode,
    iter_fixture,
    load_labelled,
    participant_records,
)
from callbacksim.jobs.generate import ParticipantJob, run_participants
from callbacksim.jobs.output import OutputFormat
from callbacksim.model import Edition
from callbacksim.rules import RuleSet, check, rule_ids

pytest_plugins = ["pytester"]

SEED = Edition.SEED
SDK = Edition.SDK_269
COMBOS = [(e, r) for e in Edition for r in RuleSet]


def _ids(record: Labelled, edition: Edition, rules: RuleSet) -> set[str]:
    return {
        v.rule for v in check(record.payload, edition=edition, rules=rules, path_id=record.path_id)
    }


def assert_labels_true(records: list[Labelled], edition: Edition, rules: RuleSet) -> None:
    for i, record in enumerate(records):
        found = _ids(record, edition, rules)
        if record.kind == "invalid":
            assert len(record.rules) == 1, (i, record)
            assert found == set(record.rules), (i, record.rules, found, record.payload)
            assert record.path_id is not None, i
        else:
            assert record.kind in ("valid", "unusual"), (i, record.kind)
            assert found == set(), (i, record.kind, record.features, found, record.payload)
            assert record.rules == ()


# -- Labelled ------------------------------------------------------------------------------------


def test_label_shape() -> None:
    assert Labelled({"id": "x"}).label(3) == {
        "index": 3,
        "kind": "valid",
        "rules": [],
        "features": [],
    }
    bad = Labelled([], "invalid", rules=("json.object",), path_id="p-1")
    assert bad.label(0) == {
        "index": 0,
        "kind": "invalid",
        "rules": ["json.object"],
        "features": [],
        "pathId": "p-1",
    }
    odd = Labelled({}, "unusual", features=("long-name", "emoji"))
    assert list(odd.label(1)) == ["index", "kind", "rules", "features"]


# -- participant_records -------------------------------------------------------------------------


@pytest.mark.parametrize(("edition", "rules"), COMBOS, ids=lambda v: str(v))
@pytest.mark.parametrize("mode", [Mode.VALID, Mode.UNUSUAL, Mode.INVALID])
def test_each_mode_gives_its_kind_with_true_labels(
    mode: Mode, edition: Edition, rules: RuleSet
) -> None:
    records = list(participant_records(5, count=150, mode=mode, edition=edition, rules=rules))
    assert len(records) == 150
    assert {r.kind for r in records} == {mode.value}
    assert_labels_true(records, edition, rules)
    if mode is Mode.UNUSUAL:
        assert all(r.features for r in records)
    if mode is Mode.INVALID:
        used = {r.rules[0] for r in records}
        assert used <= set(rule_ids(edition, rules))
        assert len(used) > 20  # drawn from every rule of the set, not a few


@pytest.mark.parametrize(("edition", "rules"), COMBOS, ids=lambda v: str(v))
def test_mixed_is_about_70_15_15_with_true_labels(edition: Edition, rules: RuleSet) -> None:
    records = list(
        participant_records(8, count=1000, mode=Mode.MIXED, edition=edition, rules=rules)
    )
    kinds = Counter(r.kind for r in records)
    assert sum(kinds.values()) == 1000
    assert 640 <= kinds["valid"] <= 760, kinds
    assert 110 <= kinds["unusual"] <= 190, kinds
    assert 110 <= kinds["invalid"] <= 190, kinds
    assert_labels_true(records, edition, rules)


def test_seeded_and_anchored() -> None:
    def payloads(seed: int, anchor: int | None = None) -> list[object]:
        return [
            r.payload
            for r in participant_records(seed, count=60, mode=Mode.MIXED, anchor_ms=anchor)
        ]

    assert payloads(1) == payloads(1)
    assert payloads(1) != payloads(2)
    assert payloads(1) != payloads(1, anchor=2_000_000_000_000)


def test_zero_records() -> None:
    assert list(participant_records(0, count=0, mode=Mode.MIXED)) == []


def test_exhaustive_sdk_is_refused_at_the_call() -> None:
    # Raised before iteration, so that `generate` has opened no file yet.
    with pytest.raises(UsageError, match="seed edition only"):
        participant_records(0, count=1, exhaustive=True, edition=SDK)


@pytest.mark.parametrize("mode", [Mode.MIXED, Mode.INVALID, Mode.VALID])
def test_coverage_is_fed_what_the_records_cover(mode: Mode) -> None:
    fed = Coverage(SEED)
    records = list(participant_records(4, count=400, mode=mode, coverage=fed))
    direct = Coverage(SEED).add_all(r.payload for r in records)
    assert fed.to_json()["sections"] == direct.to_json()["sections"]
    if mode is not Mode.VALID:  # bulk copies of valid records are fed once per shape
        assert fed.records == direct.records == 400


# -- the edge covering set -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def edge_80() -> list[Labelled]:
    return list(participant_records(0, count=80, mode=Mode.EDGE))


def test_edge_set_is_small_valid_and_covers_everything(edge_80: list[Labelled]) -> None:
    edge = [r for r in edge_80 if r.features == ("edge",)]
    assert edge == edge_80[: len(edge)]  # the covering set comes first
    # One record per allowed (state, disconnectType) pair: as small as a cover can be.
    assert len(edge) == len(allowed_pairs(SEED)) == 57
    assert all(r.kind == "valid" for r in edge)
    assert_labels_true(edge, SEED, RuleSet.STRICT)
    sections = {s.name: s for s in Coverage(SEED).add_all(r.payload for r in edge).sections()}
    for name in ("enum values", "state x disconnectType", "pairwise ordering"):
        assert sections[name].percent == 100.0, (name, sections[name].missing)


def test_edge_mode_fills_up_to_the_count_with_valid_records(edge_80: list[Labelled]) -> None:
    assert len(edge_80) == 80
    fill = edge_80[57:]
    assert all(r.features == () and r.kind == "valid" for r in fill)
    assert_labels_true(fill, SEED, RuleSet.STRICT)
    assert len({orjson.dumps(r.payload) for r in fill}) > 1


# -- reading fixtures back -----------------------------------------------------------------------


def _write(tmp_path: Path, name: str, *, fmt: OutputFormat = OutputFormat.JSONL) -> Path:
    out = tmp_path / name
    run_participants(
        ParticipantJob(
            count=120,
            seed=3,
            mode=Mode.MIXED,
            edition=SEED,
            rules=RuleSet.STRICT,
            exhaustive=False,
            fmt=fmt,
            out=str(out),
            labels=None,
            manifest=None,
            epoch_ms=None,
        )
    )
    return out


@pytest.mark.parametrize(
    ("name", "fmt"), [("mixed.jsonl", OutputFormat.JSONL), ("mixed.json", OutputFormat.JSON)]
)
def test_iter_fixture_gives_back_what_was_generated(
    tmp_path: Path, name: str, fmt: OutputFormat
) -> None:
    path = _write(tmp_path, name, fmt=fmt)
    assert (tmp_path / "mixed.labels.jsonl").exists()
    expected = list(participant_records(3, count=120, mode=Mode.MIXED))
    got = list(iter_fixture(path))
    assert got == expected
    assert {r.kind for r in got} == {"valid", "unusual", "invalid"}


def test_iter_fixture_labels_elsewhere_or_none(tmp_path: Path) -> None:
    path = _write(tmp_path, "mixed.jsonl")
    moved = tmp_path / "elsewhere.jsonl"
    (tmp_path / "mixed.labels.jsonl").rename(moved)
    assert {r.kind for r in iter_fixture(path)} == {"valid"}  # no labels: all count as valid
    assert list(iter_fixture(path, labels=moved)) == list(
        participant_records(3, count=120, mode=Mode.MIXED)
    )
    moved.write_bytes(b"".join(moved.read_bytes().splitlines(keepends=True)[:10]))
    with pytest.raises(UsageError, match="fewer labels"):
        list(iter_fixture(path, labels=moved))


def test_load_labelled_params(tmp_path: Path) -> None:
    path = _write(tmp_path, "mixed.jsonl")
    lines = (tmp_path / "mixed.labels.jsonl").read_bytes().splitlines()
    labels = [orjson.loads(line) for line in lines]
    params = load_labelled(path)
    assert len(params) == 120
    ids = [p.id for p in params]
    assert len(set(ids)) == 120
    for param, label in zip(params, labels, strict=True):
        (record,) = param.values
        assert isinstance(record, Labelled)
        assert record.kind == label["kind"]
        tag = (label["rules"] or ["+".join(label["features"]) or label["kind"]])[0]
        assert param.id == f"{label['index']}-{label['kind']}-{tag}"
    invalid = load_labelled(path, kind="invalid")
    assert [p.id for p in invalid] == [i for i in ids if "-invalid-" in i]
    assert all(p.values[0].kind == "invalid" for p in invalid)
    assert load_labelled(path, kind="nothing") == []


def test_a_test_module_parametrized_over_a_fixture_passes(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    path = _write(tmp_path, "mixed.jsonl")
    pytester.makepyfile(
        test_ingest=f"""
        import pytest

        from callbacksim.jobs.fixtures import load_labelled
        from callbacksim.rules import check

        FILE = {str(path)!r}


        @pytest.mark.parametrize("record", load_labelled(FILE))
        def test_label_is_true(record):
            found = {{v.rule for v in check(record.payload, path_id=record.path_id)}}
            assert found == set(record.rules)


        @pytest.mark.parametrize("record", load_labelled(FILE, kind="invalid"))
        def test_invalid_only(record):
            assert record.kind == "invalid" and record.path_id
        """
    )
    result = pytester.runpytest("-v", "-p", "no:cacheprovider")
    n_invalid = sum(r.kind == "invalid" for r in iter_fixture(path))
    result.assert_outcomes(passed=120 + n_invalid)
    result.stdout.fnmatch_lines(
        ["*test_label_is_true?0-valid-valid? PASSED*", "*test_invalid_only?*-invalid-*PASSED*"]
    )
