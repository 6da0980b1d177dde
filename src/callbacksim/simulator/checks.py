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

Each check is a Hypothesis test over the project's own strategies, so a failure shrinks to a small
example; the check records the requests of the failing example, so the report can show what was
sent, what was expected, what came, and ``curl`` lines that reproduce it. ``isolated`` replays many
lifecycles at once (seeded, not shrunk: a race needs the crowd) and reports the first participant
that did not converge.

A time budget is shared among the properties; a property that runs out of time stops generating
(it passes with the examples it tried) unless it has already failed, in which case shrinking is
allowed to finish.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from typing import Any, NoReturn

import attrs
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from callbacksim.codec import dumps_payload, loads
from callbacksim.errors import JsonError, UsageError
from callbacksim.generation.lifecycle import Lifecycle, LifecycleStream
from callbacksim.generation.participants import ANCHOR_MS
from callbacksim.model import Edition
from callbacksim.rules import RuleSet
from callbacksim.schema import enum_paths, value_at
from callbacksim.semantic import differences
from callbacksim.simulator.adapters import Adapter, Delivery, StoreAdapter, load_adapter
from callbacksim.simulator.client import HttpClient, Request, Response
from callbacksim.simulator.convergence import verify_conversation
from callbacksim.simulator.faults import Faults, plan_deliveries
from callbacksim.simulator.properties import PROPERTIES, Failure, Outcome, Status
from callbacksim.strategies import (
    invalid_payloads,
    lifecycles,
    unusual_payloads,
    valid_payloads,
)
from callbacksim.wiretime import format_epoch_ms

__all__ = ["CheckConfig", "run_checks"]

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
    adapter: str = attrs.field(default="store", validator=lambda _i, _a, v: load_adapter(v))
    """A built-in adapter's name or ``package.module:Class`` (loaded here, so a wrong one is said
    before anything is sent)."""


_SHRINK_GRACE = 20.0
"""Seconds a failed property may keep shrinking after its share of the budget is spent."""


class _OutOfTime(BaseException):
    """Raised inside a test body when the property's budget is spent (BaseException: Hypothesis
    lets it through at once instead of treating it as a failure)."""


class _Broken(AssertionError):
    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.summary)
        self.failure = failure


class _Session:
    """One example's conversation with the target, through the adapter; its requests are kept for
    the reproducer."""

    def __init__(self, client: HttpClient, adapter: Adapter) -> None:
        self.client = client
        self.adapter = adapter
        self.log: list[Request] = []

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
            s.put(cid, payload["id"], payload)
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
            s.fail(
                f"a payload breaking {invalid.rule} was not rejected",
                "400 or 422",
                r.describe(),
                invalid.payload,
            )

    return invalid_payloads(edition=cfg.edition, rules=cfg.rules), body


def _garbage() -> st.SearchStrategy[tuple[bytes, dict[str, str]]]:
    """Bodies and headers no store expects: not JSON, not UTF-8, deep nesting, lone surrogates,
    huge numbers, bad sequence headers, wrong content types."""
    deep = st.integers(50, 3000).map(lambda n: b"[" * n + b"]" * n)
    texts = st.binary(max_size=200)
    json_ish = st.sampled_from(
        [
            b'{"id": "\\ud800"}',
            b'{"name": "\\udfff\\ud800"}',
            b'{"wrapupTimeoutMs": 123456789012345678901234567890}',
            b'{"startTime": "2026-02-30T00:00:00Z"}',
            b'{"held": NaN}',
            b'{"attributes": {"a": {"b": {"c": [1, 2, {"d": null}]}}}}',
            b"\xef\xbb\xbf{}",
            b"",
            b"null",
            b'"\\u0000"',
        ]
    )
    bodies = st.one_of(json_ish, texts, deep)
    odd_headers = st.fixed_dictionaries(
        {},
        optional={
            "X-Sequence": st.sampled_from(["0", "-1", "1.5", "abc", "", "99999999999999999999999"]),
            "Content-Type": st.sampled_from(
                ["text/plain", "application/xml", "application/json; charset=latin-1"]
            ),
        },
    )
    # Mostly plain headers: a malformed X-Sequence is refused before the body is read, which
    # would hide what the body does to the target.
    plain: st.SearchStrategy[dict[str, str]] = st.just({})
    headers = st.one_of(plain, plain, plain, odd_headers)
    return st.tuples(bodies, headers)


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
    def body(s: _Session, unusual: Any) -> None:
        cid = _fresh()
        payload = unusual.payload
        r = s.put(cid, payload["id"], payload)
        if not _ok(r):
            s.fail(
                f"a payload with {', '.join(unusual.features)} was refused",
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
    return strategy, body


def _round_trips(cfg: CheckConfig) -> tuple[st.SearchStrategy[Any], Body]:
    def body(s: _Session, payload: dict[str, Any]) -> None:
        cid = _fresh()
        r = s.put(cid, payload["id"], payload)
        if not _ok(r):
            return  # acceptance is accepts-valid's business; this judges what was accepted
        got, back = s.read(cid, payload["id"])
        diff = differences(payload, back, edition=cfg.edition)
        if got.status != 200 or diff:
            s.fail(
                "what was stored did not read back equal",
                "200 with a semantically equal participant",
                got.describe() if got.status != 200 else "; ".join(diff[:5]),
                payload,
            )

    payloads = st.one_of(
        valid_payloads(edition=cfg.edition, rules=cfg.rules),
        unusual_payloads(edition=cfg.edition).map(lambda u: u.payload),
    )
    return payloads, body


def _idempotent(cfg: CheckConfig) -> tuple[st.SearchStrategy[Any], Body]:
    def body(s: _Session, item: tuple[dict[str, Any], int | None]) -> None:
        payload, sequence = item
        cid = _fresh()
        first = s.put(cid, payload["id"], payload, sequence)
        if not _ok(first):
            return
        before = s.read(cid, payload["id"])[1]
        again = s.put(cid, payload["id"], payload, sequence)
        after = s.read(cid, payload["id"])[1]
        if not _ok(again):
            s.fail("repeating the latest write was refused", "2xx", again.describe(), payload)
        if after != before:
            s.fail(
                "repeating the latest write changed the stored participant",
                repr(before)[:200],
                repr(after)[:200],
                payload,
            )

    sequences = st.one_of(st.none(), st.integers(1, 1000))
    return st.tuples(valid_payloads(edition=cfg.edition, rules=cfg.rules), sequences), body


_CHECK_FAULTS = Faults(duplicates=0.2, reorder=0.3)
"""The delivery faults ``converges`` applies to a lifecycle drawn with faults."""


def _converged(s: _Session, lifecycle: Lifecycle, cid: str, edition: Edition) -> None:
    """Every participant of ``lifecycle``, stored under conversation ``cid``, reads back as its
    last snapshot, and the conversation lists exactly them, each as its last snapshot."""
    verdict = s.client.run(
        verify_conversation(s.send_async, s.adapter, lifecycle.finals(), cid, edition)
    )
    if verdict.problems:
        first = verdict.problems[0]
        summary = first.summary
        if first.participant_id is not None:
            summary = f"participant {first.participant_id}: {summary}"
        if first.kind == "unreadable":
            summary = f"could not read back participant {first.participant_id or cid}"
        s.fail(summary, first.expected, first.got, [e.to_wire() for e in lifecycle.events])


def _converges(cfg: CheckConfig) -> tuple[st.SearchStrategy[Any], Body]:
    def body(s: _Session, item: tuple[Lifecycle, bool, int]) -> None:
        lifecycle, faults, shuffle_seed = item
        cid = _fresh()
        plan = plan_deliveries(
            lifecycle.events, _CHECK_FAULTS if faults else Faults(), random.Random(shuffle_seed)
        )
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


def _hypothesis_property(
    pid: str, cfg: CheckConfig, client: HttpClient, adapter: Adapter, deadline: float
) -> Outcome:
    strategy, body = _CHECKS[pid](cfg)
    examples = 0
    failing: list[Failure] = []
    started = time.monotonic()

    @seed(cfg.seed)
    @settings(
        max_examples=cfg.max_examples,
        deadline=None,
        database=None,
        derandomize=False,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
        report_multiple_bugs=False,
        print_blob=False,
    )
    @given(strategy)
    def test(item: Any) -> None:
        nonlocal examples
        now = time.monotonic()
        # Out of time: stop generating; once failed, shrink a while longer, then settle for the
        # smallest failing example found so far.
        if now > deadline and (not failing or now > deadline + _SHRINK_GRACE):
            raise _OutOfTime
        examples += 1
        session = _Session(client, adapter)
        try:
            body(session, item)
        except _Broken as broken:
            failing.append(broken.failure)
            raise

    try:
        test()
    except _OutOfTime:
        pass
    except _Broken:
        pass
    except Exception as exc:  # a bug in the harness, not in the target: say so, do not blame it
        note = f"the check itself crashed ({type(exc).__name__}: {exc}); please report it"
        return Outcome(pid, Status.ERROR, examples, time.monotonic() - started, note=note)
    elapsed = time.monotonic() - started
    if failing:
        # Hypothesis runs the minimal example last.
        return Outcome(pid, Status.FAILED, examples, elapsed, failing[-1])
    return Outcome(pid, Status.PASSED, examples, elapsed)


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
                    "isolated", Status.FAILED, examples, time.monotonic() - started, failure
                )
        if time.monotonic() > deadline or examples >= 4 * wave:
            return Outcome("isolated", Status.PASSED, examples, time.monotonic() - started)


def run_checks(
    cfg: CheckConfig,
    *,
    on_start: Callable[[str], None] | None = None,
    on_done: Callable[[Outcome], None] | None = None,
    client: HttpClient | None = None,
) -> list[Outcome]:
    """Check every property of ``cfg.properties`` in order; the time budget is shared by weight,
    and what a property leaves unused passes on to the next."""
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
        start = time.monotonic()
        for index, pid in enumerate(chosen):
            remaining = cfg.budget - (time.monotonic() - start)
            weights = sum(PROPERTIES[p].weight for p in chosen[index:])
            share = max(0.5, remaining * PROPERTIES[pid].weight / weights)
            deadline = time.monotonic() + share
            if on_start:
                on_start(pid)
            if pid == "isolated":
                outcome = _isolated(cfg, http, adapter, deadline)
            else:
                outcome = _hypothesis_property(pid, cfg, http, adapter, deadline)
            outcomes.append(outcome)
            if on_done:
                on_done(outcome)
    finally:
        if own:
            http.close()
    return outcomes
