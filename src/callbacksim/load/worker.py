"""The worker side of a load run: conversations played against the target, counted, read back.

Each worker process holds one `WorkerSide` per run, made when the run starts, for the slot the
master gave it (``slot`` of ``slots``; a single process is slot 0 of 1). Conversations are
numbered within the slot and drawn from (seed, slot, number) (`callbacksim.load.plan`), so nothing
is handed out centrally and nothing is played twice. With ``--lifecycles N`` the slot plays its
exact share of N, reads each of those conversations back with the convergence check, then sends
its final report.

Requests go through geventhttpclient with the bytes prepared when the conversation is drawn (the
adapter builds each request once), and each is reported to Locust's own statistics through
``events.request`` as well as to the run's HDR histograms.

- Closed model: a user plays one conversation after another; latency is measured from the send.
- Open model: one scheduler per worker starts conversations as a Poisson process at the slot's
  share of the rate, each in a greenlet of its own, up to ``max_in_flight`` at once. Latency is
  measured from when each request was *due* (the arrival, or its place on the conversation's
  timeline with ``--time-factor``, or the answer to the previous request), so a target that
  stalls cannot hide it by slowing the sender down. An arrival that finds the cap reached waits
  for room, is counted late, and its wait counts in its latency.
"""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import gevent
import psutil
from gevent.event import Event as GeventEvent
from gevent.pool import Group, Pool
from geventhttpclient import HTTPClient
from locust.exception import CatchResponseError

from callbacksim.load.plan import LoadSettings, Model, conversation, shares
from callbacksim.load.results import WorkerTally
from callbacksim.simulator.adapters import Adapter, Delivery, load_adapter
from callbacksim.simulator.answers import failure_of as is_failure
from callbacksim.simulator.client import Request, Response
from callbacksim.simulator.convergence import ConversationVerdict, verify_conversation
from callbacksim.simulator.faults import deliveries
from callbacksim.simulator.latency import request_name

__all__ = ["Step", "Target", "WorkerSide"]

log = logging.getLogger("callbacksim.load")

REPORT_EVERY_S = 2.0
"""How often a worker sends its counts to the master."""

READ_BACK_CONCURRENCY = 16

Step = tuple[float, str, str, bytes | None, dict[str, str], str, float]
"""One request of a conversation, ready to send: (seconds after the conversation's first event,
method, path, body, headers, name, jitter pause in seconds)."""


class Target:
    """The target's address as geventhttpclient wants it: a pooled client and a path prefix."""

    def __init__(self, url: str, headers: dict[str, str], timeout: float) -> None:
        self.url = url
        self.prefix = urlsplit(url).path.rstrip("/")
        self.headers = headers
        self.timeout = timeout

    def client(self, connections: int) -> HTTPClient:
        return HTTPClient.from_url(
            self.url,
            concurrency=connections,
            connection_timeout=self.timeout,
            network_timeout=self.timeout,
        )


def send(client: HTTPClient, method: str, path: str, body: bytes | None, headers: Any) -> Response:
    """One request; a transport failure comes back as a `Response` with status None."""
    try:
        with client.request(method, path, body=body or b"", headers=headers) as answer:
            data = answer.read()
            return Response(answer.status_code, data, {})
    except Exception as exc:  # refused, reset, timed out, a malformed answer: no answer at all
        return Response(None, error=f"{type(exc).__name__}: {exc}".rstrip(": "))


def failure_of(response: Response) -> str | None:
    """Why a load request failed (`callbacksim.simulator.answers.failure_of` says which do), or
    None."""
    status = response.status
    if not is_failure(status):
        return None
    if status is None:
        error = response.error or "no answer"
        return f"no answer ({error.partition(':')[0]})"
    return f"HTTP {status}"


def _rss_mb() -> float:
    return float(psutil.Process().memory_info().rss) / 1e6


def _run_sync(coro: Any) -> Any:
    """Run a coroutine whose every await is of a send that answers at once (as the read-back's
    sends here do: they block the greenlet, not an event loop)."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    coro.close()
    msg = "the read-back waited on something other than its own requests"
    raise RuntimeError(msg)


class WorkerSide:
    """One worker's part of a run: its share, its counts, its conversations."""

    def __init__(
        self,
        settings: LoadSettings,
        *,
        host: str,
        slot: int,
        slots: int,
        request_event: Any,
        send_report: Callable[[dict[str, Any]], None],
    ) -> None:
        self.settings = settings
        self.slot, self.slots = slot, slots
        self.adapter: Adapter = load_adapter(settings.adapter)
        self.target = Target(host, dict(settings.headers), settings.timeout)
        self.quota = (
            shares(settings.lifecycles, slots)[slot] if settings.lifecycles is not None else None
        )
        self.tally = WorkerTally(slot)
        self.next_number = 0
        self.active = 0
        self.loaded = False
        self.final_sent = False
        self.finishing = False
        self.scheduler_claimed = False
        self.conversations = Group()
        self._room = GeventEvent()
        self._room.set()
        self._request_event = request_event
        self._send_report = send_report
        self._open = settings.model is Model.OPEN
        self._reporter = gevent.spawn(self._report_loop)
        if self.quota == 0:
            self._loaded()

    # -- the share -------------------------------------------------------------------------------

    def stopping(self) -> bool:
        """Whether the run is ending (it can change whenever this greenlet waits)."""
        return self.finishing

    def take(self) -> int | None:
        """The next conversation number of this slot, or None when its share is used up."""
        if self.finishing or (self.quota is not None and self.next_number >= self.quota):
            return None
        n = self.next_number
        self.next_number += 1
        return n

    def _maybe_loaded(self) -> None:
        if (
            self.quota is not None
            and not self.loaded
            and self.next_number >= self.quota
            and self.active == 0
        ):
            self._loaded()

    def _loaded(self) -> None:
        """Every conversation of the share is done: say so, read them back, send the final
        report."""
        self.loaded = True
        self.report(loaded=True)
        gevent.spawn(self._read_back_and_report)

    # -- playing conversations -------------------------------------------------------------------

    def prepare(self, n: int) -> list[Step]:
        """Conversation ``n``'s requests, built once: what is sent is these bytes."""
        lifecycle = conversation(self.settings.seed, self.slot, n, self.settings.edition)
        rng = random.Random(
            f"callbacksim-load-faults:{self.settings.seed}:{lifecycle.conversation_id}"
        )
        faults = self.settings.faults
        first = lifecycle.events[0].time_ms
        latest: dict[str, dict[str, Any]] = {}
        prefix, extra = self.target.prefix, self.target.headers
        steps: list[Step] = []
        for event, how in deliveries(lifecycle.events, faults, rng):
            # A lost event still happened: later snapshots of the conversation show it.
            latest[event.participant_id] = event.participant
            if how == "lost":
                self.tally.lost += 1
                continue
            request = self.adapter.request(
                Delivery(
                    event.to_wire(),
                    tuple(latest.values()),
                    f"{lifecycle.conversation_id}:{event.participant_id}:{event.sequence}",
                )
            )
            headers = {**dict(request.headers), **extra} if extra else dict(request.headers)
            steps.append(
                (
                    (event.time_ms - first) / 1000,
                    request.method,
                    prefix + request.path,
                    request.body,
                    headers,
                    request_name(event.participant),
                    faults.jitter_s(rng),
                )
            )
        return steps

    def begin(self) -> None:
        """A conversation starts: it is in flight from now (before its greenlet first runs, so
        the open model's cap counts it at once)."""
        tally = self.tally
        tally.started += 1
        self.active += 1
        if self.active > tally.in_flight:
            tally.in_flight = self.active

    def play(self, client: HTTPClient, steps: list[Step], due: float | None = None) -> None:
        """Send one conversation's requests in order (`begin` was called for it). ``due`` (open
        model): when it arrived."""
        tally = self.tally
        factor = self.settings.time_factor
        fire = self._request_event.fire
        start = due if due is not None else time.perf_counter()
        ready = start  # when the next request is due, with no timeline: once the last answered
        try:
            for offset, method, path, body, headers, name, jitter in steps:
                if factor is not None:
                    ready = start + offset * factor
                    pause = ready - time.perf_counter()
                    if pause > 0:
                        gevent.sleep(pause)
                if jitter:
                    gevent.sleep(jitter)
                    ready += jitter
                sent = time.perf_counter()
                response = send(client, method, path, body, headers)
                ended = time.perf_counter()
                failure = failure_of(response)
                began = ready if self._open else sent
                micros = int((ended - began) * 1e6)
                tally.record(name, micros, int(time.time()), failure)
                fire(
                    request_type=method,
                    name=name,
                    response_time=micros / 1000,
                    response_length=len(response.body),
                    exception=CatchResponseError(failure) if failure else None,
                    context={},
                    response=None,
                    url=path,
                    start_time=time.time() - micros / 1e6,
                )
                ready = ended
            tally.done += 1
        except gevent.GreenletExit:
            tally.cut += 1
            raise
        finally:
            self.active -= 1
            if self.active < self.settings.max_in_flight:
                self._room.set()
            self._maybe_loaded()

    def schedule(self, ramp_start: float | None = None) -> None:
        """The open model's arrivals for this slot, until the ramp or the share ends."""
        settings = self.settings
        ramp = settings.ramp
        rng = random.Random(f"callbacksim-load-arrivals:{settings.seed}:{self.slot}")
        client = self.target.client(min(settings.max_in_flight, 1024))
        t0 = time.perf_counter() if ramp_start is None else ramp_start
        t = 0.0
        cap = settings.max_in_flight
        while not self.stopping():
            nxt = ramp.next_arrival(t, rng.expovariate(1.0) * self.slots)
            if nxt is None:
                break
            n = self.take()
            if n is None:
                break
            t = nxt
            steps = self.prepare(n)  # drawn ahead of its time
            due = t0 + t
            pause = due - time.perf_counter()
            if pause > 0:
                gevent.sleep(pause)
            late = self.active >= cap
            while self.active >= cap and not self.stopping():
                self._room.clear()
                self._room.wait(1.0)
            if self.stopping():
                self.next_number -= 1  # never started: not part of the run
                break
            self.tally.arrivals += 1
            self.tally.late += late
            self.begin()
            self.conversations.spawn(self.play, client, steps, due)
        self._maybe_loaded()

    # -- reports and the read-back ----------------------------------------------------------------

    def report(self, **extra: Any) -> None:
        self._send_report(self.tally.report(rss_mb=_rss_mb(), **extra))
        self.tally.in_flight = self.active

    def _report_loop(self) -> None:
        while not self.final_sent:
            gevent.sleep(REPORT_EVERY_S)
            if not self.final_sent:
                self.report()

    def stop(self) -> None:
        """The run is ending: stop starting conversations, cut those in flight, send the final
        report (without a read-back, unless it was already made)."""
        self.finishing = True
        self._room.set()
        self.conversations.kill(block=True)
        if self.active and self._open:  # begun, killed before their greenlet first ran
            self.tally.cut += self.active
            self.active = 0
        if not self.final_sent:
            self.final_sent = True
            note = "the run stopped before every conversation was done"
            if self.quota is None:
                note = "only a run of --lifecycles N reads the target back"
            self.report(final=True, verification={"read_back": False, "note": note})
        self._reporter.kill(block=False)

    def _read_back_and_report(self) -> None:
        verification = self.read_back()
        if not self.final_sent:
            self.final_sent = True
            self.report(final=True, verification=verification)
        self._reporter.kill(block=False)

    def read_back(self) -> dict[str, Any]:
        """Read this slot's conversations back from the target (convergence); the counts."""
        adapter = self.adapter
        if adapter.read_participant("c", "p") is None:
            note = f"the {adapter.name!r} adapter cannot read the target back"
            return {"read_back": False, "note": note}
        assert self.quota is not None
        client = self.target.client(READ_BACK_CONCURRENCY)
        extra, prefix = self.target.headers, self.target.prefix

        async def through(request: Request) -> Response:
            headers = {**dict(request.headers), **extra}
            return send(client, request.method, prefix + request.path, request.body, headers)

        counts: Counter[str] = Counter()
        examples: list[str] = []

        def one(n: int) -> None:
            lc = conversation(self.settings.seed, self.slot, n, self.settings.edition)
            verdict: ConversationVerdict = _run_sync(
                verify_conversation(
                    through, adapter, lc.finals(), lc.conversation_id, self.settings.edition
                )
            )
            counts["conversations"] += 1
            counts["conversations_converged"] += verdict.converged
            counts["participants"] += verdict.participants
            counts["participants_converged"] += verdict.participants_converged
            counts["unreadable"] += verdict.unreadable
            for problem in verdict.problems:
                if len(examples) < 20:
                    examples.append(str(problem))

        pool = Pool(READ_BACK_CONCURRENCY)
        for n in range(self.quota):
            if self.finishing:
                break
            pool.spawn(one, n)
        pool.join()
        client.close()
        log.info(
            "slot %d read back %d conversation(s): %d converged",
            self.slot,
            counts["conversations"],
            counts["conversations_converged"],
        )
        keys = (
            "conversations",
            "conversations_converged",
            "participants",
            "participants_converged",
            "unreadable",
        )
        return {"read_back": True, **{k: counts[k] for k in keys}, "examples": examples}
