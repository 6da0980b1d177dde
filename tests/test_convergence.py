"""Convergence and delivery faults: the one judgement and the one fault model that replay, load
and the checks share (`callbacksim.simulator.convergence`, `callbacksim.simulator.faults`)."""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from typing import Any

import orjson
import pytest
from buggy_targets import Store, app
from hypothesis import given
from hypothesis import strategies as st
from loopback import running

from callbacksim.errors import UsageError
from callbacksim.generation.chooser import RandomChooser
from callbacksim.generation.lifecycle import Lifecycle, simulate
from callbacksim.generation.participants import ANCHOR_MS
from callbacksim.model import Edition
from callbacksim.simulator import Faults, ReplayConfig, plan_deliveries, replay, verify_conversation
from callbacksim.simulator.adapters import StoreAdapter
from callbacksim.simulator.client import HttpClient, Request, Response
from callbacksim.simulator.convergence import ProblemKind


def parked(seed: int = 3) -> Lifecycle:
    return simulate(
        RandomChooser(seed), edition=Edition.SDK_269, start_ms=ANCHOR_MS, require=["park"]
    )


class FakeStore:
    """Answers reads from a dict of stored participants; ``broken`` answers every read 503."""

    def __init__(self, stored: dict[str, dict[str, Any]], *, broken: bool = False) -> None:
        self.stored = stored
        self.broken = broken
        self.reads: list[str] = []

    async def send(self, request: Request) -> Response:
        self.reads.append(request.path)
        if self.broken:
            return Response(503, b'{"error": "busy"}')
        parts = request.path.strip("/").split("/")
        if len(parts) == 4:
            found = self.stored.get(parts[3])
            return Response(200, orjson.dumps(found)) if found else Response(404, b"{}")
        body = {"id": parts[1], "participants": list(self.stored.values())}
        return Response(200, orjson.dumps(body))


def judge(store: FakeStore, lc: Lifecycle, edition: Edition) -> Any:
    coro = verify_conversation(store.send, StoreAdapter(), lc.finals(), lc.conversation_id, edition)
    return asyncio.run(coro)


def test_a_target_holding_the_final_snapshots_converges() -> None:
    lc = parked()
    verdict = judge(FakeStore({k: dict(v) for k, v in lc.finals().items()}), lc, Edition.SDK_269)
    assert verdict.converged
    assert verdict.participants == verdict.participants_converged == len(lc.finals())
    assert verdict.listing_checked


def test_the_newer_editions_properties_are_compared_in_that_edition() -> None:
    """A store that drops parkTime does not converge when sdk-269 is checked; in the seed edition
    parkTime is a property the edition does not define, which a store may drop."""
    lc = parked()
    stored = {k: dict(v) for k, v in lc.finals().items()}
    dropped = [pid for pid, p in stored.items() if p.pop("parkTime", None) is not None]
    assert dropped, "the park path puts parkTime on the agent"
    newer = judge(FakeStore(stored), lc, Edition.SDK_269)
    assert not newer.converged
    assert any("parkTime" in p.got for p in newer.problems)
    assert all(p.kind is ProblemKind.DIFFERS for p in newer.problems)
    assert judge(FakeStore(stored), lc, Edition.SEED).converged


def test_a_read_that_gets_no_usable_answer_is_not_a_difference() -> None:
    lc = parked()
    verdict = judge(FakeStore({}, broken=True), lc, Edition.SDK_269)
    assert not verdict.converged
    assert verdict.unreadable
    assert {p.kind for p in verdict.problems} == {ProblemKind.UNREADABLE}
    assert "could not read back" in str(verdict.problems[0])


def test_a_missing_participant_and_a_short_listing_are_differences() -> None:
    lc = parked()
    stored = {k: dict(v) for k, v in lc.finals().items()}
    gone = sorted(stored)[0]
    del stored[gone]
    verdict = judge(FakeStore(stored), lc, Edition.SDK_269)
    assert not verdict.unreadable
    assert any(p.participant_id == gone for p in verdict.problems)
    assert any(p.participant_id is None and gone in p.expected for p in verdict.problems)


@given(st.integers(0, 10_000), st.floats(0, 1), st.floats(0, 1))
def test_faults_keep_each_participant_within_one_place(
    seed: int, duplicates: float, reorder: float
) -> None:
    lc = simulate(RandomChooser(seed), start_ms=ANCHOR_MS)
    plan = plan_deliveries(lc.events, Faults(duplicates, reorder), random.Random(seed))
    firsts = [e for e, dup in plan if not dup]
    assert sorted(map(id, firsts)) == sorted(map(id, lc.events))  # each event once, no more
    # a duplicate follows its original at once
    for i, (event, dup) in enumerate(plan):
        if dup:
            assert plan[i - 1][0] is event
    # each participant's stream is out of order by at most one place
    streams: dict[str, list[int]] = defaultdict(list)
    for e in firsts:
        streams[e.participant_id].append(e.sequence)
    for sequences in streams.values():
        for i, s in enumerate(sequences):
            assert sorted(sequences).index(s) in (i - 1, i, i + 1)


def test_no_faults_is_the_identity_and_draws_nothing() -> None:
    lc = simulate(RandomChooser(5), start_ms=ANCHOR_MS)
    rng = random.Random(1)
    state = rng.getstate()
    assert [e for e, _ in plan_deliveries(lc.events, Faults(), rng)] == list(lc.events)
    assert rng.getstate() == state


@pytest.mark.parametrize("kwargs", [{"duplicates": 1.5}, {"reorder": -0.1}, {"jitter_ms": -1.0}])
def test_faults_out_of_range_are_refused_by_name(kwargs: dict[str, float]) -> None:
    with pytest.raises(UsageError, match=next(iter(kwargs))):
        Faults(**kwargs)


class DropsParkTime(Store):
    """Stores every participant without parkTime (a store built on the seed edition may)."""

    def transform(self, cid: str, pid: str, payload: dict[str, Any]) -> dict[str, Any]:
        payload.pop("parkTime", None)
        return payload


@pytest.mark.parametrize(("edition", "converged"), [(Edition.SDK_269, False), (Edition.SEED, True)])
def test_replay_judges_convergence_in_its_edition(edition: Edition, converged: bool) -> None:
    """Replay once compared only participant ids and ignored the edition: an sdk-269 replay
    never checked parkTime. It now uses the same judgement as the checks."""
    lcs = [parked(seed) for seed in range(3)]
    with running(app(DropsParkTime)) as url, HttpClient(url) as client:
        result = replay(client, StoreAdapter(), lcs, ReplayConfig(edition=edition))
    assert result.failed == 0
    assert result.read_back
    assert result.converged is converged
    if not converged:
        assert any("parkTime" in problem for problem in result.not_converged)
