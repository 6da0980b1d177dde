"""The covering phases: what each covers (derived from the rules, the features and the paths, never
listed by hand), that their examples are what their classes say, and proof in the seeded-bug
catalog that a store which mishandles one class is caught within the covering phase.

The catalog runs here check one property each against an in-process store, with few explored
examples: the covering phase finds the bug by itself, and its research for a smaller example of
the failing class is bounded by the same example count.
"""

from __future__ import annotations

import pytest
from buggy_targets import app, refuses_value, running, skips_rule

from callbacksim.coverage import Coverage
from callbacksim.generation.edge import edge_plan, recipe_items
from callbacksim.generation.invalid import Invalid
from callbacksim.generation.lifecycle import PATHS, Lifecycle
from callbacksim.generation.unusual import FEATURES
from callbacksim.model import Edition, known_values
from callbacksim.rules import RuleSet, check, rule_ids
from callbacksim.schema import enum_paths, value_at
from callbacksim.simulator.checks import CheckConfig, run_checks
from callbacksim.simulator.covering import GARBAGE, covering_plan, draw_example
from callbacksim.simulator.properties import PROPERTIES, Outcome

SEED = Edition.SEED
SDK = Edition.SDK_269
STRICT = RuleSet.STRICT

EXAMPLES = 10
"""Explored examples, and examples of the failing class researched, per catalog run."""


def check_one(url: str, pid: str, edition: Edition = SDK) -> Outcome:
    cfg = CheckConfig(
        url=url,
        budget=60.0,
        seed=0,
        edition=edition,
        properties=(pid,),
        max_examples=EXAMPLES,
        shrink_seconds=0.0,  # the class's simplest failing example, drawn first, is kept
    )
    (outcome,) = run_checks(cfg)
    return outcome


# -- what each phase covers ---------------------------------------------------------------------


@pytest.mark.parametrize("edition", list(Edition))
@pytest.mark.parametrize("rules", list(RuleSet))
def test_each_plan_covers_every_class_of_its_property(edition: Edition, rules: RuleSet) -> None:
    paths = tuple(p for p in PATHS if p != "park" or edition is SDK)
    expected = {
        "rejects-invalid": {"rules": rule_ids(edition, rules)},
        "no-server-errors": {"garbage": tuple(g.name for g in GARBAGE)},
        "tolerates-unknown": {
            "features": tuple(FEATURES),
            "enum properties": tuple(enum_paths(edition)),
        },
        **{
            pid: {"features": tuple(FEATURES), "paths": paths}
            for pid in ("round-trips", "idempotent", "converges")
        },
    }
    for pid in PROPERTIES:
        plan = covering_plan(pid, edition, rules)
        if pid in expected:
            assert plan.dimensions == expected[pid], pid
        covered = {(d, n) for case in plan.cases for d, n in case.classes}
        wanted = {(d, n) for d, names in plan.dimensions.items() for n in names}
        assert covered == wanted, (pid, wanted - covered)
        assert len({c.label for c in plan.cases}) == len(plan.cases), pid
    edge = covering_plan("accepts-valid", edition, rules).dimensions
    sections = {s.name: s.total for s in Coverage(edition).sections()}
    assert {d: len(n) for d, n in edge.items()} == {
        **{k: v for k, v in sections.items() if k != "ordering classes"},
        "features": len(FEATURES),
    }


@pytest.mark.parametrize("edition", list(Edition))
def test_edge_records_cover_what_their_recipes_say(edition: Edition) -> None:
    plan = covering_plan("accepts-valid", edition, STRICT)
    edges = [c for c in plan.cases if c.label.startswith("edge record")]
    for case, recipe in zip(edges, edge_plan(edition), strict=True):
        payload, _ = draw_example(case, 3)
        assert check(payload, edition=edition) == []
        seen = Coverage(edition).add_all([payload]).sections()
        found = {s.name: set(s.missing) for s in seen}
        for section, items in recipe_items(recipe, edition).items():
            assert not set(items) & found[section], (case.label, section)


@pytest.mark.parametrize("edition", list(Edition))
def test_covering_examples_are_what_their_classes_say(edition: Edition) -> None:
    for case in covering_plan("rejects-invalid", edition, STRICT).cases:
        invalid = draw_example(case, 5)
        assert isinstance(invalid, Invalid)
        ((_, rule),) = case.classes
        assert invalid.rule == rule
    for case in covering_plan("tolerates-unknown", edition, STRICT).cases:
        payload, features = draw_example(case, 5)
        ((dimension, name),) = case.classes
        assert features == ((name,) if dimension == "features" else ("unknown-enum",))
        for later in (e for e in Edition if e.includes(edition)):
            assert check(payload, edition=later) == [], (case.label, later)
    for case in covering_plan("converges", edition, STRICT).cases:
        lifecycle = draw_example(case, 5)[0]
        assert isinstance(lifecycle, Lifecycle)
        ((dimension, name),) = case.classes
        if dimension == "paths":
            assert name in lifecycle.plan.paths


def test_covering_examples_depend_on_the_seed_and_their_class_alone() -> None:
    plan = covering_plan("round-trips", SEED, STRICT)
    first = [draw_example(c, 7) for c in plan.cases[:5]]
    again = [draw_example(c, 7) for c in reversed(plan.cases[:5])][::-1]
    assert [repr(x) for x in first] == [repr(x) for x in again]
    assert repr(draw_example(plan.cases[0], 8)) != repr(first[0])


# -- proof in the catalog -------------------------------------------------------------------------


@pytest.mark.parametrize("rule", rule_ids(SDK, STRICT))
def test_a_store_skipping_one_rule_fails_rejects_invalid_while_covering(rule: str) -> None:
    with running(app(skips_rule(rule, SDK))) as url:
        outcome = check_one(url, "rejects-invalid")
    assert outcome.status == "failed", outcome
    failure = outcome.failure
    assert failure is not None
    assert failure.case == f"rule {rule}"
    assert failure.summary.startswith(f"a payload breaking {rule} was not rejected")
    # A rule the older edition lacks: the report says a target built on it rightly accepts.
    older = check(failure.example, edition=SEED, path_id=failure.requests[0].path.split("/")[-1])
    assert ("valid in the seed edition" in failure.summary) == (not older), failure.summary
    assert outcome.explored == 0
    assert failure.expected == "400 or 422"
    assert failure.got.startswith("20")
    assert failure.requests
    assert {v.rule for v in check(failure.example, edition=SDK)} == {rule} or (
        rule == "id.matches-path"
    )


VALUES = [(f, m.value) for f, enum in enum_paths(SDK).items() for m in known_values(enum, SDK)]


@pytest.mark.parametrize(("field", "value"), VALUES, ids=[f"{f}={v}" for f, v in VALUES])
def test_a_store_refusing_one_enum_value_fails_accepts_valid_while_covering(
    field: str, value: str
) -> None:
    with running(app(refuses_value(field, value, SDK))) as url:
        outcome = check_one(url, "accepts-valid")
    assert outcome.status == "failed", outcome
    failure = outcome.failure
    assert failure is not None
    assert failure.case is not None
    assert failure.case.startswith("edge record")
    assert outcome.explored == 0
    assert value_at(failure.example, field) == value
    assert failure.got.startswith("422")
