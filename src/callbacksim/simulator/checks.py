"""Property checks of a participant store, each by its contract id.

===================  ======================================================================
property             holds when
===================  ======================================================================
not-found            GET of a never-written participant or conversation answers 404
accepts-valid        every valid participant gets 2xx
rejects-invalid      every invalid payload gets 400/422 (or another 4xx but 404/409/413)
no-server-errors     no request, valid or not, gets a 5xx or no answer at all
tolerates-unknown    unknown enum strings and unknown properties get 2xx; enum strings come back
                     verbatim
round-trips          after a 2xx write, GET returns a semantically equal participant
idempotent           repeating the latest write changes nothing
converges            after a whole lifecycle (in order, or with duplicates and reordering when
                     sequences are sent) every participant and the conversation read back as the
                     lifecycle's final snapshots
isolated             many lifecycles replayed concurrently all converge
===================  ======================================================================

Each property is checked in two phases. The **covering phase** tries one example of every class
of its input (`callbacksim.simulator.covering`: every rule, every enum value and allowed pairing,
every unusual feature, every lifecycle path, every kind of garbage), deterministic for the seed,
so that no class is left to chance. The **exploring phase** spends what is left of the property's
share of the budget on a Hypothesis test over the project's own strategies. A failure from either
phase is minimal where it can be: Hypothesis shrinks what it explored, and a failing covering
example gives way to a smaller failing example of its own class, drawn again: the class's simplest
example first (`generation.chooser.MinimalChooser`), then a few more, falling back to the covering
example itself when none smaller fails. The check records the requests of
the failing example, so the report can show what was sent, what was expected, what came, and
``curl`` lines that reproduce it. ``isolated`` replays many lifecycles at once (seeded, not
shrunk: a race needs the crowd) and reports the first participant that did not converge.

A property whose preconditions never held (no write got a 2xx answer, so nothing could be read
back) is *not exercised*, which is not a pass. When the budget runs out before a covering phase
ends, the outcome says which classes were not tried and what budget would try them.

A time budget is shared among the properties by weight; a property that runs out of time stops
generating unless it has already failed, in which case shrinking is allowed to finish.
"""

from __future__ import annotations

import math
import os
import random
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import attrs
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from callbacksim.codec import dumps_payload, loads
from callbacksim.errors import JsonError, UsageError
from callbacksim.generation.chooser import Chooser, MinimalChooser, RandomChooser
from callbacksim.generation.lifecycle import Lifecycle, LifecycleStream
from callbacksim.generation.participants import ANCHOR_MS
from callbacksim.model import Edition
from callbacksim.rules import RuleSet, check
from callbacksim.schema import enum_paths, value_at
from callbacksim.semantic import differences
from callbacksim.simulator.adapters import Adapter, Delivery, StoreAdapter, load_adapter
from callbacksim.simulator.client import HttpClient, Request, Response
from callbacksim.simulator.convergence import verify_conversation
from callbacksim.simulator.covering import (
    GARBAGE,
    Case,
    CoveringPlan,
    covering_plan,
    draw_example,
    example_seed,
)
from callbacksim.simulator.faults import Faults, plan_deliveries
from callbacksim.simulator.properties import PROPERTIES, Failure, Outcome, Status
from callbacksim.simulator.retry import RetryPolicy, send_with_retries
from callbacksim.strategies import (
    built_by,
    invalid_payloads,
    lifecycles,
    unusual_payloads,
    valid_payloads,
)
from callbacksim.wiretime import format_epoch_ms

__all__ = ["CheckConfig", "keep_hypothesis_files_in_the_user_cache", "run_checks"]

JSON = {"Content-Type": "application/json"}


def _positive(flag: str, unit: str) -> Callable[[object, attrs.Attribute[Any], Any], None]:
    def check(_instance: object, _attribute: attrs.Attribute[Any], value: Any) -> None:
        if value <= 0:
            msg = f"{flag} must be a positive number of {unit}, got {value}"
            raise UsageError(msg)

    return check


@attrs.frozen
class CheckConfig:
    """How to check: the target, the budget, the seed and which properties."""

    url: str
    budget: float = attrs.field(default=60.0, validator=_positive("--budget", "seconds"))
    seed: int = 0
    rules: RuleSet = RuleSet.STRICT
    edition: Edition = Edition.SEED
    properties: tuple[str, ...] = tuple(PROPERTIES)
    headers: dict[str, str] = attrs.field(factory=dict)
    timeout: float = attrs.field(default=10.0, validator=_positive("--timeout", "seconds"))
    concurrency: int = attrs.field(default=32, validator=_positive("--concurrency", "requests"))
    max_examples: int = 10_000
    """At most this many explored examples per property (the covering phase comes on top)."""
    adapter: str = attrs.field(default="store", validator=lambda _i, _a, v: load_adapter(v))
    """A built-in adapter's name or ``package.module:Class`` (loaded here, so a wrong one is said
    before anything is sent)."""
    shrink_seconds: float = attrs.field(default=20.0)
    """Seconds a failed property may keep shrinking after its share of the budget is spent."""

    @shrink_seconds.validator
    def _shrink(self, _attribute: attrs.Attribute[float], value: float) -> None:
        if value < 0:
            msg = f"shrink_seconds must be 0 or more, got {value}"
            raise UsageError(msg)


_FIRST_REQUEST_ESTIMATE = 0.005
"""Seconds a request of a covering phase is expected to take before any was measured (the
reference target answers in 2 to 5 ms)."""

_RESEARCH_DRAWS = 8
"""Examples of a failing covering example's class drawn again, to find a smaller failure."""


class _OutOfTime(BaseException):
    """Raised inside a test body when the property's budget is spent (BaseException: Hypothesis
    lets it through at once instead of treating it as a failure)."""


class _Broken(AssertionError):
    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.summary)
        self.failure = failure


class _Session:
    """One example's conversation with the target, through the adapter; its requests are kept for
    the reproducer. ``exercised`` turns False when the example's precondition did not hold (its
    write was refused, so there was nothing to judge), with the reason in ``why_not``."""

    def __init__(self, client: HttpClient, adapter: Adapter) -> None:
        self.client = client
        self.adapter = adapter
        self.log: list[Request] = []
        self.exercised = True
        self.why_not = ""

    def send(self, request: Request) -> Response:
        self.log.append(request)
        return self.client.request(request)

    async def send_async(self, request: Request) -> Response:
        """`send`, from a coroutine on the client's loop."""
        self.log.append(request)
        return await self.client.send(request)

    def put(
        self,
        cid: str,
        pid: str,
        payload: Any,
        sequence: int | None = None,
        *,
        raw: bytes | None = None,
    ) -> Response:
        """Deliver ``payload`` as participant ``pid`` of ``cid`` (``raw``: exactly these bytes)."""
        body = raw if raw is not None else dumps_payload(payload)
        if isinstance(self.adapter, StoreAdapter):
            headers = dict(JSON)
            if sequence is not None:
                headers["X-Sequence"] = str(sequence)
            return self.send(Request("PUT", _participant_path(cid, pid), body, headers))
        event = {
            "time": format_epoch_ms(ANCHOR_MS),
            "conversationId": cid,
            "participantId": pid,
            "sequence": sequence or 1,
            "participant": payload,
        }
        delivery = Delivery(event, (payload,) if isinstance(payload, dict) else (), f"{cid}:{pid}")
        request = self.adapter.request(delivery)
        if raw is not None:
            request = attrs.evolve(request, body=raw)
        return self.send(request)

    def read(self, cid: str, pid: str) -> tuple[Response, dict[str, Any] | None]:
        request = self.adapter.read_participant(cid, pid)
        assert request is not None, "properties needing a read-back are skipped without one"
        response = self.send(request)
        parsed = self.adapter.parse_participant(response.body) if response.status == 200 else None
        return response, parsed

    def read_conversation(self, cid: str) -> tuple[Response, list[dict[str, Any]] | None]:
        request = self.adapter.read_conversation(cid)
        if request is None:
            return Response(None, error="the adapter cannot read conversations"), None
        response = self.send(request)
        parsed = self.adapter.parse_conversation(response.body) if response.status == 200 else None
        return response, parsed

    def unexercised(self, why: str) -> None:
        """The example's precondition did not hold: nothing was judged."""
        self.exercised = False
        self.why_not = self.why_not or why

    def fail(self, summary: str, expected: str, got: str, example: Any = None) -> NoReturn:
        raise _Broken(Failure(summary, expected, got, tuple(self.log), example))


def _participant_path(cid: str, pid: str) -> str:
    return f"/conversations/{cid}/participants/{pid}"


def _ok(response: Response) -> bool:
    return response.status is not None and 200 <= response.status < 300


def _json(response: Response) -> Any:
    try:
        return loads(response.body)
    except JsonError:
        return None


def _refused(what: str, response: Response) -> str:
    return f"no {what} got a 2xx answer, so nothing could be judged (first: {response.describe()})"


# -- the properties ---------------------------------------------------------------------------

Body = Callable[[_Session, Any], None]


def _fresh() -> str:
    """A conversation id no earlier example (or earlier run against a kept database) used, so
    examples never see each other's data. Not drawn by Hypothesis: ids shrink toward zero."""
    return str(uuid.uuid4())


def _not_found(cfg: CheckConfig) -> tuple[st.SearchStrategy[Any], Body]:
    def body(s: _Session, item: tuple[bool, dict[str, Any]]) -> None:
        neighbour, payload = item
        cid, pid = _fresh(), _fresh()
        if neighbour:
            # Another participant of the same conversation exists; this one still does not.
            stored = s.put(cid, payload["id"], payload)
            if not _ok(stored):
                s.unexercised(_refused("write of a neighbour", stored))
        r, _ = s.read(cid, pid)
        if r.status != 404:
            s.fail("reading a participant never written", "404", r.describe())
        if not neighbour:
            r, _ = s.read_conversation(cid)
            if r.status is not None and r.status != 404:
                s.fail("reading a conversation never written", "404", r.describe())

    return st.tuples(st.booleans(), valid_payloads(edition=cfg.edition, rules=cfg.rules)), body


def _accepts_valid(cfg: CheckConfig) -> tuple[st.SearchStrategy[Any], Body]:
    def body(s: _Session, item: tuple[dict[str, Any], tuple[str, ...]]) -> None:
        payload, features = item
        r = s.put(_fresh(), payload["id"], payload)
        if not _ok(r):
            what = f"valid participant ({', '.join(features)})" if features else "valid participant"
            s.fail(f"a {what} was refused", "2xx", r.describe(), payload)

    # Unusual payloads are valid participants too: a store must take them as well.
    payloads = st.one_of(
        valid_payloads(edition=cfg.edition, rules=cfg.rules).map(lambda p: (p, ())),
        unusual_payloads(edition=cfg.edition).map(lambda u: (u.payload, u.features)),
    )
    return payloads, body


def _rejects_invalid(cfg: CheckConfig) -> tuple[st.SearchStrategy[Any], Body]:
    def body(s: _Session, invalid: Any) -> None:
        r = s.put(_fresh(), invalid.path_id, invalid.payload)
        status = r.status
        rejected = status is not None and 400 <= status < 500 and status not in (404, 409, 413)
        if not rejected:
            summary = f"a payload breaking {invalid.rule} was not rejected"
            older = [
                e.value
                for e in Edition
                if cfg.edition.includes(e)
                and e is not cfg.edition
                and not check(invalid.payload, edition=e, rules=cfg.rules, path_id=invalid.path_id)
            ]
            if older:
                # Rightly accepted by a target built on that older edition: say how to check one.
                summary += (
                    f" (it is valid in the {older[-1]} edition, which does not have that rule: "
                    f"a target built on it accepts it rightly; check such a target with --edition "
                    f"{older[-1]})"
                )
            s.fail(
                summary,
                "400 or 422",
                r.describe(),
                invalid.payload,
            )

    return invalid_payloads(edition=cfg.edition, rules=cfg.rules), body


def _garbage() -> st.SearchStrategy[tuple[bytes, dict[str, str]]]:
    """Bodies and headers no store expects (`covering.GARBAGE`), each kind drawn afresh."""
    return st.sampled_from(GARBAGE).flatmap(lambda kind: built_by(kind.build))


def _no_server_errors(cfg: CheckConfig) -> tuple[st.SearchStrategy[Any], Body]:
    def body(s: _Session, request: Any) -> None:
        cid, pid = _fresh(), _fresh()
        if isinstance(request, tuple):
            data, headers = request
            if isinstance(s.adapter, StoreAdapter):
                path = _participant_path(cid, pid)
                r = s.send(Request("PUT", path, data, {**JSON, **headers}))
            else:
                r = s.put(cid, pid, {}, raw=data)
        elif isinstance(request, dict):
            r = s.put(cid, str(request.get("id", pid)), request)
        else:
            r = s.put(cid, request.path_id, request.payload)
        if r.status is None or r.status >= 500:
            s.fail("the target failed on a request", "any answer below 500", r.describe())

    requests = st.one_of(
        valid_payloads(edition=cfg.edition, rules=cfg.rules),
        unusual_payloads(edition=cfg.edition).map(lambda u: u.payload),
        invalid_payloads(edition=cfg.edition, rules=cfg.rules),
        _garbage(),
    )
    return requests, body


_UNKNOWN = ("unknown-enum", "unknown-property", "outdated-sdk-version")


def _tolerates_unknown(cfg: CheckConfig) -> tuple[st.SearchStrategy[Any], Body]:
    def body(s: _Session, item: tuple[dict[str, Any], tuple[str, ...]]) -> None:
        payload, features = item
        cid = _fresh()
        r = s.put(cid, payload["id"], payload)
        if not _ok(r):
            s.fail(
                f"a payload with {', '.join(features)} was refused",
                "2xx",
                r.describe(),
                payload,
            )
        back = s.read(cid, payload["id"])[1]
        if not isinstance(back, dict):
            s.fail("the stored participant could not be read back", "200 with JSON", "nothing")
        for field in enum_paths(cfg.edition):
            sent, got = value_at(payload, field), value_at(back, field)
            if isinstance(sent, str) and sent != got:
                s.fail(f"{field} did not come back verbatim", repr(sent), repr(got), payload)

    strategy = st.sampled_from(_UNKNOWN).flatmap(
        lambda f: unusual_payloads(edition=cfg.edition, features=[f])
    )
    return strategy.map(lambda u: (u.payload, u.features)), body


def _round_trip(s: _Session, cid: str, payload: dict[str, Any], edition: Edition) -> bool:
    """Write ``payload`` and read it back: False when the write was refused (nothing to judge)."""
    r = s.put(cid, payload["id"], payload)
    if not _ok(r):
        s.unexercised(_refused("write", r))
        return False
    got, back = s.read(cid, payload["id"])
    diff = differences(payload, back, edition=edition)
    if got.status != 200 or diff:
        s.fail(
            "what was stored did not read back equal",
            "200 with a semantically equal participant",
            got.describe() if got.status != 200 else "; ".join(diff[:5]),
            payload,
        )
    return True


def _round_trips(cfg: CheckConfig) -> tuple[st.SearchStrategy[Any], Body]:
    def body(s: _Session, item: dict[str, Any] | Lifecycle) -> None:
        # Acceptance is accepts-valid's business; this judges what was accepted.
        if isinstance(item, Lifecycle):
            cid = _fresh()
            exercised = [_round_trip(s, cid, e.participant, cfg.edition) for e in item.events]
            s.exercised = any(exercised)
        else:
            _round_trip(s, _fresh(), item, cfg.edition)

    payloads = st.one_of(
        valid_payloads(edition=cfg.edition, rules=cfg.rules),
        unusual_payloads(edition=cfg.edition).map(lambda u: u.payload),
    )
    return payloads, body


def _repeat_latest(
    s: _Session, cid: str, payload: dict[str, Any], sequence: int | None, example: Any
) -> None:
    before = s.read(cid, payload["id"])[1]
    again = s.put(cid, payload["id"], payload, sequence)
    after = s.read(cid, payload["id"])[1]
    if not _ok(again):
        s.fail("repeating the latest write was refused", "2xx", again.describe(), example)
    if after != before:
        s.fail(
            "repeating the latest write changed the stored participant",
            repr(before)[:200],
            repr(after)[:200],
            example,
        )


def _idempotent(cfg: CheckConfig) -> tuple[st.SearchStrategy[Any], Body]:
    def body(s: _Session, item: tuple[dict[str, Any], int | None] | Lifecycle) -> None:
        cid = _fresh()
        if isinstance(item, Lifecycle):
            # The whole lifecycle in order, then each participant's latest write once more.
            latest: dict[str, Any] = {}
            for e in item.events:
                r = s.put(cid, e.participant_id, e.participant, e.sequence)
                if _ok(r):
                    latest[e.participant_id] = e
                else:
                    s.unexercised(_refused("write", r))
            s.exercised = bool(latest)
            example = [e.to_wire() for e in item.events]
            for e in latest.values():
                _repeat_latest(s, cid, e.participant, e.sequence, example)
            return
        payload, sequence = item
        first = s.put(cid, payload["id"], payload, sequence)
        if not _ok(first):
            s.unexercised(_refused("write", first))
            return
        _repeat_latest(s, cid, payload, sequence, payload)

    sequences = st.one_of(st.none(), st.integers(1, 1000))
    return st.tuples(valid_payloads(edition=cfg.edition, rules=cfg.rules), sequences), body


_CHECK_FAULTS = Faults(duplicates=0.2, reorder=0.3)
"""The delivery faults ``converges`` applies to a lifecycle drawn with faults."""


_READ_RETRY = RetryPolicy(retries=3, backoff_ms=200.0)
"""How a read-back without a usable answer (no answer, 429, 5xx) is asked again before it counts
as unreadable: it says nothing of the data."""


def _converged(s: _Session, lifecycle: Lifecycle, cid: str, edition: Edition) -> None:
    """Every participant of ``lifecycle``, stored under conversation ``cid``, reads back as its
    last snapshot, and the conversation lists exactly them, each as its last snapshot."""
    rng = random.Random(0)  # the retries' jitter

    async def read(request: Request) -> Response:
        return (await send_with_retries(s.send_async, request, _READ_RETRY, rng)).response

    verdict = s.client.run(verify_conversation(read, s.adapter, lifecycle.finals(), cid, edition))
    if verdict.problems:
        first = verdict.problems[0]
        summary = first.summary
        if first.participant_id is not None:
            summary = f"participant {first.participant_id}: {summary}"
        if first.kind == "unreadable":
            summary = f"could not read back participant {first.participant_id or cid}"
        s.fail(summary, first.expected, first.got, [e.to_wire() for e in lifecycle.events])


def _converges(cfg: CheckConfig) -> tuple[st.SearchStrategy[Any], Body]:
    def body(s: _Session, item: tuple[Lifecycle, bool | Faults, int]) -> None:
        lifecycle, faults, shuffle_seed = item
        if not isinstance(faults, Faults):
            faults = _CHECK_FAULTS if faults else Faults()
        cid = _fresh()
        plan = plan_deliveries(lifecycle.events, faults, random.Random(shuffle_seed))
        for event, _duplicate in plan:
            s.put(cid, event.participant_id, event.participant, event.sequence)
        _converged(s, lifecycle, cid, cfg.edition)

    strategy = st.tuples(lifecycles(edition=cfg.edition), st.booleans(), st.integers(0, 2**16))
    return strategy, body


_CHECKS: dict[str, Callable[[CheckConfig], tuple[st.SearchStrategy[Any], Body]]] = {
    "not-found": _not_found,
    "accepts-valid": _accepts_valid,
    "rejects-invalid": _rejects_invalid,
    "no-server-errors": _no_server_errors,
    "tolerates-unknown": _tolerates_unknown,
    "round-trips": _round_trips,
    "idempotent": _idempotent,
    "converges": _converges,
}


_missing = set(PROPERTIES) - set(_CHECKS) - {"isolated"}
if _missing:  # pragma: no cover - a registry entry without an implementation
    msg = f"properties declared without a check: {sorted(_missing)}"
    raise ImportError(msg)


# -- running a property: covering, then exploring -------------------------------------------


@attrs.define
class _Search:
    """What one Hypothesis search found."""

    examples: int = 0
    exercised: int = 0
    why_not: str = ""
    failures: list[Failure] = attrs.field(factory=list)
    crash: Exception | None = None


def _search(
    strategy: st.SearchStrategy[Any],
    body: Body,
    cfg: CheckConfig,
    client: HttpClient,
    adapter: Adapter,
    deadline: float,
    max_examples: int,
) -> _Search:
    """A Hypothesis test of ``body`` over ``strategy`` until ``deadline`` (or ``max_examples``);
    after a failure, shrinking may go on for ``cfg.shrink_seconds`` more."""
    found = _Search()

    @seed(cfg.seed)
    @settings(
        max_examples=max(1, max_examples),
        deadline=None,
        database=None,
        derandomize=False,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
        report_multiple_bugs=False,
        print_blob=False,
    )
    @given(strategy)
    def test(item: Any) -> None:
        now = time.monotonic()
        # Out of time: stop generating; once failed, shrink a while longer, then settle for the
        # smallest failing example found so far.
        if now > deadline and (not found.failures or now > deadline + cfg.shrink_seconds):
            raise _OutOfTime
        found.examples += 1
        session = _Session(client, adapter)
        try:
            body(session, item)
        except _Broken as broken:
            found.failures.append(attrs.evolve(broken.failure, case=None))
            raise
        finally:
            if session.exercised:
                found.exercised += 1
            else:
                found.why_not = found.why_not or session.why_not

    try:
        test()
    except (_OutOfTime, _Broken):
        pass
    except Exception as exc:  # a bug in the harness, not in the target: say so, do not blame it
        found.crash = exc
    return found


def _crashed(pid: str, exc: Exception, examples: int, started: float) -> Outcome:
    note = f"the check itself crashed ({type(exc).__name__}: {exc}); please report it"
    return Outcome(pid, Status.ERROR, examples, time.monotonic() - started, note=note)


@attrs.define
class _Tally:
    """What a covering phase reached: classes covered, tried but not exercised, and not tried."""

    plan: CoveringPlan
    covered: dict[str, set[str]] = attrs.field(factory=dict)
    tried: dict[str, set[str]] = attrs.field(factory=dict)
    cases: int = 0
    exercised: int = 0
    why_not: str = ""

    def add(self, case: Case, session: _Session) -> None:
        self.cases += 1
        for dimension, name in case.classes:
            self.tried.setdefault(dimension, set()).add(name)
            if session.exercised:
                self.covered.setdefault(dimension, set()).add(name)
        if session.exercised:
            self.exercised += 1
        else:
            self.why_not = self.why_not or session.why_not

    def counts(self) -> dict[str, tuple[int, int]]:
        return {
            d: (len(self.covered.get(d, set()) & set(names)), len(names))
            for d, names in self.plan.dimensions.items()
        }

    def missing(self, *, tried: bool) -> dict[str, tuple[str, ...]]:
        """Classes tried but never exercised (``tried``), or never tried at all."""
        out = {}
        for d, names in self.plan.dimensions.items():
            done, reached = self.covered.get(d, set()), self.tried.get(d, set())
            left = [n for n in names if n not in done and (n in reached) == tried]
            if left:
                out[d] = tuple(left)
        return out


def _research(
    case: Case, body: Body, cfg: CheckConfig, client: HttpClient, adapter: Adapter, first: _Broken
) -> tuple[Failure, int]:
    """The smallest failing example of ``case``'s class among a few drawn again: the class's
    simplest example first, then `_RESEARCH_DRAWS` more from seeds of their own; the covering
    example's own failure when none smaller fails. Also how many were tried."""
    best, best_size = first.failure, _size(first.failure.example)
    choosers: list[Chooser] = [MinimalChooser()]
    choosers += [
        RandomChooser(example_seed(cfg.seed, f"{case.label} #{i}")) for i in range(_RESEARCH_DRAWS)
    ]
    tried = 0
    for n, chooser in enumerate(choosers):
        item = case.build(chooser)
        session = _Session(client, adapter)
        tried += 1
        try:
            body(session, item)
        except _Broken as broken:
            size = _size(broken.failure.example)
            if size < best_size:
                best, best_size = broken.failure, size
            if n == 0:
                break  # the simplest example of the class fails: nothing smaller to find
    return attrs.evolve(best, case=case.label), tried


def _size(example: Any) -> int:
    """How big an example is, to prefer the smaller of two failures."""
    return len(repr(example))


def _suggested_budget(cfg: CheckConfig, fraction: float, tally: _Tally, seconds: float) -> float:
    """A budget that would let the whole covering phase run, with as much again to explore after
    it: the time per case so far, for every case, over the property's share of the budget."""
    needed = seconds / max(1, tally.cases) * len(tally.plan.cases)
    budget = math.ceil(needed * 2 / max(fraction, 1e-3) / 10) * 10
    return float(max(budget, math.ceil(cfg.budget / 10) * 10 + 10))


def _property(
    pid: str,
    plan: CoveringPlan,
    cfg: CheckConfig,
    client: HttpClient,
    adapter: Adapter,
    deadline: float,
    fraction: float,
) -> Outcome:
    """Cover (``plan``), then explore, property ``pid`` until ``deadline``; ``fraction`` is its
    share of the whole budget (to suggest a budget when the covering phase could not end)."""
    strategy, body = _CHECKS[pid](cfg)
    tally = _Tally(plan)
    started = time.monotonic()
    for case in plan.cases:
        if time.monotonic() > deadline:
            break
        session = _Session(client, adapter)
        try:
            body(session, draw_example(case, cfg.seed))
        except _Broken as broken:
            covering_seconds = time.monotonic() - started
            try:
                failure, more = _research(case, body, cfg, client, adapter, broken)
            except Exception as exc:  # a bug in the harness, not in the target
                return _crashed(pid, exc, tally.cases + 1, started)
            return Outcome(
                pid,
                Status.FAILED,
                tally.cases + 1 + more,
                time.monotonic() - started,
                failure,
                covered=tally.counts(),
                covering_seconds=covering_seconds,
            )
        except Exception as exc:  # a bug in the harness, not in the target
            return _crashed(pid, exc, tally.cases, started)
        tally.add(case, session)
    covering_seconds = time.monotonic() - started
    untried = tally.missing(tried=False)
    suggestion = _suggested_budget(cfg, fraction, tally, covering_seconds) if untried else None
    explored = _Search()
    if not untried:
        explored = _search(strategy, body, cfg, client, adapter, deadline, cfg.max_examples)
        if explored.crash is not None:
            return _crashed(pid, explored.crash, tally.cases + explored.examples, started)
    examples = tally.cases + explored.examples
    common: dict[str, Any] = {
        "covered": tally.counts(),
        "covering_seconds": covering_seconds,
        "explored": explored.examples,
        "untried": untried,
        "unexercised": tally.missing(tried=True),
        "suggested_budget": suggestion,
    }
    elapsed = time.monotonic() - started
    if explored.failures:
        # Hypothesis runs the minimal example last.
        return Outcome(pid, Status.FAILED, examples, elapsed, explored.failures[-1], **common)
    if tally.exercised + explored.exercised == 0:
        why = tally.why_not or explored.why_not or "the budget ran out before any example"
        return Outcome(pid, Status.NOT_EXERCISED, examples, elapsed, note=why, **common)
    return Outcome(pid, Status.PASSED, examples, elapsed, **common)


def _isolated(cfg: CheckConfig, client: HttpClient, adapter: Adapter, deadline: float) -> Outcome:
    """Waves of concurrent lifecycles: each participant's events in order, all conversations at
    once; then every one of them must have converged."""
    started = time.monotonic()
    stream = LifecycleStream(cfg.seed, edition=cfg.edition, start_ms=ANCHOR_MS)
    examples = 0
    wave = max(8, cfg.concurrency)
    while True:
        batch = [(next(stream), _fresh()) for _ in range(wave)]
        examples += len(batch)

        def puts(lifecycle: Lifecycle, cid: str) -> list[Request]:
            requests, latest = [], {}
            for e in lifecycle.events:
                latest[e.participant_id] = e.participant
                wire = {**e.to_wire(), "conversationId": cid}
                delivery = Delivery(wire, tuple(latest.values()), f"{cid}:{e.participant_id}")
                requests.append(adapter.request(delivery))
            return requests

        async def replay(lifecycle: Lifecycle, cid: str) -> None:
            for request in puts(lifecycle, cid):
                await client.send(request)

        client.gather(replay(lc, cid) for lc, cid in batch)
        for lifecycle, cid in batch:
            session = _Session(client, adapter)
            try:
                _converged(session, lifecycle, cid, cfg.edition)
            except _Broken as broken:
                failure = attrs.evolve(
                    broken.failure,
                    summary=f"{broken.failure.summary} after {len(batch)} lifecycles were "
                    f"replayed concurrently (seed {cfg.seed})",
                    requests=(*puts(lifecycle, cid), *broken.failure.requests),
                )
                return Outcome(
                    "isolated",
                    Status.FAILED,
                    examples,
                    time.monotonic() - started,
                    failure,
                    explored=examples,
                )
        if time.monotonic() > deadline or examples >= 4 * wave:
            return Outcome(
                "isolated",
                Status.PASSED,
                examples,
                time.monotonic() - started,
                explored=examples,
            )


def keep_hypothesis_files_in_the_user_cache() -> Path:
    """Point Hypothesis's files (its cache of constants) at the user's cache directory,
    ``$XDG_CACHE_HOME/callbacksim/hypothesis`` (``~/.cache/...`` by default), instead of a
    ``.hypothesis/`` folder in the working directory; ``HYPOTHESIS_STORAGE_DIRECTORY`` still wins.

    For the commands only: it changes the whole process's setting, which a test suite that runs
    the checks as pytest items keeps for its own example database.
    """
    given = os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY")
    if given:
        return Path(given)
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    home = base / "callbacksim" / "hypothesis"
    set_hypothesis_home_dir(str(home))
    return home


def run_checks(
    cfg: CheckConfig,
    *,
    on_start: Callable[[str], None] | None = None,
    on_done: Callable[[Outcome], None] | None = None,
    client: HttpClient | None = None,
) -> list[Outcome]:
    """Check every property of ``cfg.properties`` in order.

    The time budget goes to the covering phases first: each property's deadline leaves, out of
    what remains, enough for the covering phases still to come (estimated from their requests and
    the time per request so far); the rest is shared by weight for exploring, and what a property
    leaves unused passes on to the next."""
    adapter = load_adapter(cfg.adapter)
    own = client is None
    http = client or HttpClient(cfg.url, headers=cfg.headers, timeout=cfg.timeout)
    outcomes: list[Outcome] = []
    try:
        chosen = [p for p in PROPERTIES if p in cfg.properties]
        if adapter.read_participant("c", "p") is None:
            # Without a way to read the target back, these cannot be judged: say so.
            note = f"needs a read-back, and the {adapter.name!r} adapter has none"
            for pid in [p for p in chosen if PROPERTIES[p].read_back]:
                outcome = Outcome(pid, Status.SKIPPED, 0, 0.0, note=note)
                outcomes.append(outcome)
                if on_done:
                    on_done(outcome)
            chosen = [p for p in chosen if not PROPERTIES[p].read_back]
        total_weight = sum(PROPERTIES[p].weight for p in chosen)
        # Worked out before the clock starts: the budget is for talking to the target.
        plans = {pid: covering_plan(pid, cfg.edition, cfg.rules) for pid in chosen}
        start = time.monotonic()
        per_cost, cost_done, covering_done = _FIRST_REQUEST_ESTIMATE, 0.0, 0.0
        for index, pid in enumerate(chosen):
            plan = plans[pid]
            remaining = cfg.budget - (time.monotonic() - start)
            reserve = per_cost * sum(plans[p].cost for p in chosen[index:])
            weights = sum(PROPERTIES[p].weight for p in chosen[index:])
            exploring = max(0.0, remaining - reserve) * PROPERTIES[pid].weight / weights
            covering = min(per_cost * plan.cost, max(0.0, remaining))
            deadline = time.monotonic() + max(0.5, covering + exploring)
            if on_start:
                on_start(pid)
            if pid == "isolated":
                outcome = _isolated(cfg, http, adapter, deadline)
            else:
                fraction = PROPERTIES[pid].weight / total_weight
                outcome = _property(pid, plan, cfg, http, adapter, deadline, fraction)
            outcomes.append(outcome)
            if plan.cases:
                tried = min(1.0, (outcome.examples - outcome.explored) / len(plan.cases))
                cost_done += plan.cost * tried
                covering_done += outcome.covering_seconds
            if cost_done:
                per_cost = covering_done / cost_done
            if on_done:
                on_done(outcome)
    finally:
        if own:
            http.close()
    return outcomes
