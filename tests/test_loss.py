"""The loss fault: events dropped as a closed WebSocket drops them, counted apart, never sent.

`split_lost` is checked on its own (validation, rate, order, no draws without loss), then through a
replay against a recording target (127.0.0.1, stopped by each test) and the reference target: what
is lost never arrives, the ledger and the result account for every event (sent + lost = events),
a resumed run sends nothing again, the notifications after a loss still show the whole
conversation, and a store that missed a final snapshot is caught by the read-back.
"""

from __future__ import annotations

import contextlib
import itertools
import random
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from aiohttp import web
from loopback import running

from callbacksim.cli import main
from callbacksim.errors import UsageError
from callbacksim.generation.lifecycle import Lifecycle, LifecycleStream
from callbacksim.generation.participants import ANCHOR
from callbacksim.simulator.adapters import NotificationAdapter, StoreAdapter
from callbacksim.simulator.client import HttpClient
from callbacksim.simulator.faults import Faults, deliveries, plan_deliveries, split_lost
from callbacksim.simulator.replay import ReplayConfig, replay
from callbacksim.target import BackgroundServer, ServerConfig
from callbacksim.wiretime import epoch_ms

START_MS = epoch_ms(ANCHOR)


def lifecycles(n: int, seed: int = 3) -> list[Lifecycle]:
    return list(itertools.islice(LifecycleStream(seed, start_ms=START_MS), n))


# -- the fault itself ---------------------------------------------------------------------------


@pytest.mark.parametrize("loss", [-0.1, 1.5, float("nan")])
def test_loss_must_be_a_probability(loss: float) -> None:
    with pytest.raises(UsageError, match=r"loss .* is not a probability; give a number from 0"):
        Faults(loss=loss)


def test_without_loss_nothing_is_lost_and_nothing_is_drawn() -> None:
    events = list(range(50))
    rng = random.Random(7)
    state = rng.getstate()
    assert split_lost(events, Faults(duplicates=0.5), rng) == (events, [])
    assert rng.getstate() == state  # the other faults of a seed stay as they were
    assert not Faults().any
    assert Faults(loss=0.1).any
    assert Faults(loss=0.1).to_json()["loss"] == 0.1


def test_loss_drops_about_its_share_keeping_the_order() -> None:
    events = list(range(4000))
    kept, lost = split_lost(events, Faults(loss=0.3), random.Random(1))
    assert sorted(kept + lost) == events
    assert kept == sorted(kept)
    assert lost == sorted(lost)
    assert 0.27 < len(lost) / len(events) < 0.33
    assert split_lost(events, Faults(loss=0.3), random.Random(1)) == (kept, lost)
    assert split_lost(events, Faults(loss=1.0), random.Random(1)) == ([], events)


def test_lost_events_are_neither_duplicated_nor_reordered() -> None:
    lc = lifecycles(1)[0]
    rng = random.Random(5)
    faults = Faults(duplicates=1.0, reorder=1.0, loss=0.5)
    kept, lost = split_lost(lc.events, faults, rng)
    sends = plan_deliveries(kept, faults, rng)
    assert lost
    assert not {id(e) for e, _ in sends} & {id(e) for e in lost}


@pytest.mark.parametrize("seed", range(20))
def test_deliveries_put_each_lost_event_at_its_place(seed: int) -> None:
    """`deliveries` is `split_lost` then `plan_deliveries`, with each lost event yielded where it
    was: after every event that came before it, before the next one sent after it."""
    lc = lifecycles(1, seed=seed)[0]
    faults = Faults(duplicates=0.3, reorder=0.3, loss=0.3)
    plan = list(deliveries(lc.events, faults, random.Random(seed)))
    rng = random.Random(seed)
    kept, lost = split_lost(lc.events, faults, rng)
    sends = plan_deliveries(kept, faults, rng)
    assert [(e, how) for e, how in plan if how != "lost"] == [
        (e, "duplicate" if d else "send") for e, d in sends
    ]
    assert [e for e, how in plan if how == "lost"] == lost
    order = {id(e): i for i, e in enumerate(lc.events)}
    sent = [(at, order[id(e)]) for at, (e, how) in enumerate(plan) if how != "lost"]
    for at, (event, how) in enumerate(plan):
        if how == "lost":
            before = [o for a, o in sent if a < at][-1:]
            after = [o for a, o in sent if a > at][:1]
            assert all(o < order[id(event)] for o in before), (seed, at)
            assert all(o > order[id(event)] for o in after), (seed, at)


# -- through a replay ---------------------------------------------------------------------------


class Recorder:
    """Answers 200 to every request and keeps the bodies."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.paths: list[tuple[str, str | None]] = []

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.bodies.append(await request.read())
        self.paths.append((request.path, request.headers.get("X-Sequence")))
        return web.json_response({"ok": True})


@contextlib.contextmanager
def recording() -> Iterator[tuple[str, Recorder]]:
    recorder = Recorder()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", recorder.handle)
    with running(app) as url:
        yield url, recorder


def test_a_replay_never_sends_a_lost_event_and_accounts_for_it(tmp_path: Path) -> None:
    lcs = lifecycles(6)
    ledger = tmp_path / "run.ledger.jsonl"
    cfg = ReplayConfig(concurrency=2, faults=Faults(loss=0.3), seed=9, ledger=ledger, verify=False)
    with recording() as (url, recorder):
        with HttpClient(url) as client:
            result = replay(client, StoreAdapter(), lcs, cfg)
        arrived = {(path.rsplit("/", 1)[1], int(str(seq))) for path, seq in recorder.paths}
        bodies = len(recorder.bodies)
        # A resumed run (same target: the ledger records it) sends nothing again.
        again = ReplayConfig(
            concurrency=2, faults=Faults(loss=0.3), seed=9, ledger=ledger, resume=True, verify=False
        )
        recorder.bodies.clear()
        with HttpClient(url) as client:
            resumed = replay(client, StoreAdapter(), lcs, again)
        resent = list(recorder.bodies)
    total = sum(len(lc.events) for lc in lcs)
    assert result.events == total
    assert result.lost > 0
    assert result.delivered + result.lost == total  # sent + lost = events
    assert bodies == result.delivered == result.requests
    entries = [
        e for e in map(orjson.loads, ledger.read_bytes().splitlines()) if "outcome" in e
    ]  # the event lines (the header and the conversations' lines apart)
    assert len(entries) == total
    lost = {(e["participantId"], e["sequence"]) for e in entries if e["outcome"] == "lost"}
    assert len(lost) == result.lost
    assert all(e["attempts"] == 0 for e in entries if e["outcome"] == "lost")
    assert not arrived & lost
    assert result.converged  # nothing failed; nothing was read back
    assert resent == []  # the resumed run sent nothing again, and counts nothing twice:
    assert resumed.skipped == result.delivered  # a lost event is lost, not skipped
    assert (resumed.lost, resumed.delivered, resumed.events) == (
        result.lost,
        result.delivered,
        total,
    )
    assert resumed.throughput == 0.0  # nothing was sent
    lines = [orjson.loads(line) for line in ledger.read_bytes().splitlines()]
    assert sum("outcome" in e for e in lines) == total  # nothing recorded twice


def test_notifications_after_a_loss_still_carry_the_whole_conversation() -> None:
    lc = lifecycles(1, seed=11)[0]
    cfg = ReplayConfig(concurrency=1, faults=Faults(loss=0.4), seed=2, verify=False)
    with recording() as (url, recorder), HttpClient(url) as client:
        result = replay(client, NotificationAdapter(), [lc], cfg)
    assert 0 < result.lost < len(lc.events)
    last = orjson.loads(recorder.bodies[-1])
    shown = {p["id"] for p in last["eventBody"]["participants"]}
    # Every participant that existed by the last delivered event is in it, lost updates or not.
    kept, _ = split_lost(lc.events, cfg.faults, random.Random(f"{cfg.seed}:{lc.conversation_id}"))
    cutoff = lc.events.index(kept[-1])
    assert shown == {e.participant_id for e in lc.events[: cutoff + 1]}


def test_a_store_that_missed_final_snapshots_does_not_converge() -> None:
    lcs = lifecycles(8, seed=4)
    with BackgroundServer(ServerConfig()) as url, HttpClient(url) as client:
        clean = replay(client, StoreAdapter(), lcs, ReplayConfig(concurrency=4, seed=1))
        lossy = replay(
            client,
            StoreAdapter(),
            lifecycles(8, seed=5),
            ReplayConfig(concurrency=4, faults=Faults(loss=0.5), seed=1),
        )
    assert clean.converged
    assert lossy.read_back
    assert lossy.lost > 0
    assert not lossy.converged
    assert lossy.participants_converged < lossy.participants_checked


def test_the_replay_command_takes_loss(capsys: pytest.CaptureFixture[str]) -> None:
    with recording() as (url, recorder):
        code = main(["replay", url, "--lifecycles", "4", "--loss", "0.5", "--no-verify"])
        out, _ = capsys.readouterr()
    assert code == 0
    assert "lost (loss fault, never sent)" in out
    assert recorder.bodies
    code = main(["replay", "http://127.0.0.1:9", "--lifecycles", "1", "--loss", "2"])
    _, err = capsys.readouterr()
    assert code == 2
    assert "loss 2.0 is not a probability" in err
    assert "Traceback" not in err
