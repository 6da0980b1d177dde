"""Adapters: the wire format of each built-in adapter, custom adapters loaded by import path, and
how replay treats a target that cannot be read back.

Requests are checked both as the adapter builds them and as a recording target (a small aiohttp
app on 127.0.0.1, stopped by each test) receives them from a replay.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import orjson
import pytest
from aiohttp import web
from loopback import running

from callbacksim.codec import dumps_payload
from callbacksim.errors import UsageError
from callbacksim.generation.lifecycle import Event, Lifecycle, LifecycleStream
from callbacksim.generation.participants import ANCHOR
from callbacksim.simulator.adapters import (
    ADAPTERS,
    Adapter,
    Delivery,
    EventBridgeAdapter,
    NotificationAdapter,
    StoreAdapter,
    correlation_id,
    load_adapter,
    topic_participant,
)
from callbacksim.simulator.client import HttpClient, Request
from callbacksim.simulator.replay import ReplayConfig, ReplayResult, replay
from callbacksim.target import BackgroundServer, ServerConfig
from callbacksim.wiretime import epoch_ms

START_MS = epoch_ms(ANCHOR)
TOPIC = re.compile(r"v2\.routing\.queues\.([0-9a-f-]{36})\.conversations\.callbacks")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
ZERO_QUEUE = "00000000-0000-0000-0000-000000000000"


def lifecycles(n: int, seed: int = 2) -> list[Lifecycle]:
    return list(itertools.islice(LifecycleStream(seed, start_ms=START_MS), n))


def deliveries(lc: Lifecycle) -> list[tuple[Event, Delivery]]:
    """Each event with the delivery replay builds for it: the latest snapshot of every participant
    seen so far, in order of first appearance."""
    latest: dict[str, dict[str, Any]] = {}
    out = []
    for e in lc.events:
        latest[e.participant_id] = e.participant
        correlation = f"{e.conversation_id}:{e.participant_id}:{e.sequence}"
        out.append((e, Delivery(e.to_wire(), tuple(latest.values()), correlation)))
    return out


def queue_of(conversation: Iterable[Mapping[str, Any]]) -> str | None:
    for p in conversation:
        if p.get("purpose") == "acd":
            return str(p["queue"]["id"])
    return None


# -- a recording target -----------------------------------------------------------------------


class Arrival(NamedTuple):
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class Target:
    """An aiohttp app answering 200 to anything, recording each request, on a thread of its own."""

    def __init__(self) -> None:
        self.arrivals: list[Arrival] = []
        self.url = ""
        self._serving = contextlib.ExitStack()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.arrivals.append(Arrival(request.method, request.path, dict(request.headers), body))
        return web.json_response({"ok": True})

    def __enter__(self) -> Target:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self.url = self._serving.enter_context(running(app))
        return self

    def __exit__(self, *exc: object) -> None:
        self._serving.close()


def replay_to(
    url: str, adapter: Adapter, lcs: list[Lifecycle], *, verify: bool = True
) -> ReplayResult:
    # One conversation at a time, no faults: requests arrive in event order.
    with HttpClient(url) as client:
        return replay(client, adapter, lcs, ReplayConfig(concurrency=1, verify=verify))


def all_events(lcs: list[Lifecycle]) -> list[tuple[Event, Delivery]]:
    return [pair for lc in lcs for pair in deliveries(lc)]


# -- store ------------------------------------------------------------------------------------


def test_store_puts_each_snapshot_with_its_sequence() -> None:
    lcs = lifecycles(3)
    adapter = StoreAdapter()
    with Target() as target:
        result = replay_to(target.url, adapter, lcs, verify=False)
    sent = all_events(lcs)
    assert result.delivered == result.events == len(sent) == len(target.arrivals)
    for (event, delivery), arrival in zip(sent, target.arrivals, strict=True):
        cid, pid = event.conversation_id, event.participant_id
        assert arrival.method == "PUT"
        assert arrival.path == f"/conversations/{cid}/participants/{pid}"
        assert arrival.headers["X-Sequence"] == str(event.sequence)
        assert arrival.headers["Content-Type"] == "application/json"
        assert orjson.loads(arrival.body) == event.participant  # the body is the snapshot itself
        request = adapter.request(delivery)
        assert request.body == dumps_payload(event.participant) == arrival.body


def test_store_reads_back() -> None:
    adapter = StoreAdapter()
    assert adapter.read_participant("c1", "p1") == Request(
        "GET", "/conversations/c1/participants/p1"
    )
    assert adapter.read_conversation("c1") == Request("GET", "/conversations/c1")
    assert adapter.parse_participant(b'{"id": "p1"}') == {"id": "p1"}
    assert adapter.parse_participant(b"[1]") is None
    assert adapter.parse_participant(b"not json") is None
    body = b'{"id": "c1", "participants": [{"id": "p1"}, 3, {"id": "p2"}]}'
    assert adapter.parse_conversation(body) == [{"id": "p1"}, {"id": "p2"}]
    assert adapter.parse_conversation(b'{"id": "c1"}') is None
    assert adapter.parse_conversation(b"nope") is None


def test_store_replay_converges_on_the_reference_target() -> None:
    lcs = lifecycles(5)
    with BackgroundServer(ServerConfig()) as url:
        result = replay_to(url, StoreAdapter(), lcs)
    assert result.read_back
    assert result.participants_checked == sum(len(lc.finals()) for lc in lcs)
    assert result.participants_converged == result.participants_checked
    assert result.conversations_converged == 5


# -- notification -----------------------------------------------------------------------------


def check_notification(envelope: dict[str, Any], event: Event, delivery: Delivery) -> None:
    assert set(envelope) == {"topicName", "version", "eventBody", "metadata"}
    assert envelope["version"] == "2"
    match = TOPIC.fullmatch(envelope["topicName"])
    assert match is not None, envelope["topicName"]
    queue = queue_of(delivery.conversation)
    if queue is not None:
        assert match.group(1) == queue
    # Before the queue leg appears there is no queue id to name.
    else:
        assert match.group(1) == ZERO_QUEUE
    body = envelope["eventBody"]
    assert body["id"] == event.conversation_id
    assert body["participants"] == [topic_participant(p) for p in delivery.conversation]
    assert [p["id"] for p in body["participants"]] == [p["id"] for p in delivery.conversation]
    # A UUID, as Genesys sends it, derived from the event: the same on a redelivery.
    assert envelope["metadata"] == {"CorrelationId": correlation_id(delivery)}
    assert UUID.fullmatch(envelope["metadata"]["CorrelationId"])
    assert "correlationId" not in envelope["metadata"]


def test_notification_posts_the_conversation_so_far() -> None:
    lcs = lifecycles(4)
    with Target() as target:
        result = replay_to(target.url, NotificationAdapter(), lcs)
    sent = all_events(lcs)
    assert len(target.arrivals) == len(sent) == result.delivered
    for (event, delivery), arrival in zip(sent, target.arrivals, strict=True):
        assert (arrival.method, arrival.path) == ("POST", "/")
        assert arrival.headers["Content-Type"] == "application/json"
        check_notification(orjson.loads(arrival.body), event, delivery)
    # The last notification of a conversation lists every participant in its final state.
    last = orjson.loads(target.arrivals[len(lcs[0].events) - 1].body)
    finals = [topic_participant(p) for p in lcs[0].finals().values()]
    assert last["eventBody"]["participants"] == finals
    assert len(last["eventBody"]["participants"]) == len(lcs[0].finals())
    # The conversation grows: participants so far, never fewer.
    sizes = [len(orjson.loads(a.body)["eventBody"]["participants"]) for a in target.arrivals]
    assert sizes[0] == 1


def test_notification_path_can_be_chosen() -> None:
    lc = lifecycles(1)[0]
    event, delivery = deliveries(lc)[0]
    request = NotificationAdapter("/hooks/genesys").request(delivery)
    assert (request.method, request.path) == ("POST", "/hooks/genesys")
    check_notification(orjson.loads(request.body or b""), event, delivery)


def test_correlation_ids_are_uuids_one_per_event_stable_on_redelivery() -> None:
    sent = all_events(lifecycles(3))
    ids = [correlation_id(delivery) for _, delivery in sent]
    assert all(UUID.fullmatch(i) for i in ids)
    assert len(set(ids)) == len(ids)
    _, first = sent[0]
    again = Delivery(first.event, first.conversation, first.correlation_id)
    assert correlation_id(again) == ids[0]
    # Not the EventBridge event id, which is another UUID of the same event.
    bridged = orjson.loads(EventBridgeAdapter().request(first).body or b"")
    assert bridged["id"] != ids[0]
    assert bridged["detail"]["metadata"]["CorrelationId"] == ids[0]


def _first_with(lcs: Iterable[Lifecycle], test: Any) -> dict[str, Any]:
    for lc in lcs:
        for e in lc.events:
            if test(e.participant):
                return e.participant
    raise AssertionError("no such snapshot")


def test_topic_shape_shows_scheduled_and_the_initial_state() -> None:
    scheduled = list(
        itertools.islice(
            LifecycleStream(4, start_ms=START_MS, require=["scheduled", "accepted"]), 5
        )
    )
    waiting = _first_with(scheduled, lambda p: p["purpose"] == "acd" and p["state"] == "none")
    shown = topic_participant(waiting)
    assert (shown["state"], shown["initialState"]) == ("scheduled", "scheduled")
    assert waiting["state"] == "none"  # the REST snapshot itself is left as it was
    routed = _first_with(scheduled, lambda p: p["purpose"] == "acd" and p["state"] == "connected")
    assert topic_participant(routed)["state"] == "connected"
    assert topic_participant(routed)["initialState"] == "scheduled"
    immediate = list(
        itertools.islice(LifecycleStream(4, start_ms=START_MS, require=["immediate"]), 5)
    )
    customer = _first_with(immediate, lambda p: p["purpose"] in {"customer", "external"})
    assert topic_participant(customer)["initialState"] == "connected"
    agent = _first_with(immediate, lambda p: p["purpose"] == "agent")
    assert topic_participant(agent)["initialState"] == "alerting"


def test_topic_shape_has_the_topic_models_fields() -> None:
    rest = {
        "id": "a1",
        "purpose": "agent",
        "state": "terminated",
        "startTime": "2026-01-01T00:00:00.000Z",
        "startAlertingTime": "2026-01-01T00:00:00.020Z",
        "disconnectType": "endpoint.donotdisturb",
        "user": {"id": "u1", "name": "Ann Lee", "selfUri": "/api/v2/users/u1"},
        "queue": {"id": "q1", "name": "Support", "selfUri": "/api/v2/routing/queues/q1"},
        "wrapup": {"code": "c1", "name": "Resolved", "provisional": False, "durationSeconds": 3},
        "conversationRoutingData": {
            "queue": {"id": "q1", "selfUri": "/api/v2/routing/queues/q1"},
            "skillExpression": "x",
            "label": "l",
            "scoredAgents": [{"agent": {"id": "u1", "selfUri": "/u1"}, "score": 100}],
        },
        "outboundPreview": {
            "id": "p1",
            "callbackAutoAnswer": True,
            "phoneNumberColumns": [{"columnName": "Cell", "callableTimeColumnName": "t"}],
        },
    }
    shown = topic_participant(rest)
    assert "startAlertingTime" not in shown
    assert shown["disconnectType"] == "endpoint.dnd"
    assert shown["user"] == {"id": "u1", "name": "Ann Lee"}
    assert shown["queue"] == {"id": "q1", "name": "Support"}
    assert shown["wrapup"] == {"code": "Resolved", "durationSeconds": 3}
    routing = shown["conversationRoutingData"]
    assert set(routing) == {"queue", "scoredAgents"}
    assert routing["scoredAgents"] == [{"agent": {"id": "u1"}, "score": 100}]
    assert shown["outboundPreview"] == {"id": "p1", "phoneNumberColumns": [{"columnName": "Cell"}]}
    assert shown["initialState"] == "alerting"
    assert rest["user"]["selfUri"] == "/api/v2/users/u1"  # the input is not changed


# -- eventbridge ------------------------------------------------------------------------------


def test_eventbridge_wraps_the_notification() -> None:
    lcs = lifecycles(3)
    with Target() as target:
        result = replay_to(target.url, EventBridgeAdapter(), lcs)
    sent = all_events(lcs)
    assert len(target.arrivals) == len(sent) == result.delivered
    ids = set()
    for (event, delivery), arrival in zip(sent, target.arrivals, strict=True):
        assert (arrival.method, arrival.path) == ("POST", "/")
        envelope = orjson.loads(arrival.body)
        assert list(envelope) == [
            "version",
            "id",
            "detail-type",
            "source",
            "account",
            "time",
            "region",
            "resources",
            "detail",
        ]
        assert envelope["version"] == "0"
        assert str(uuid.UUID(envelope["id"])) == envelope["id"]
        ids.add(envelope["id"])
        assert envelope["detail-type"] == "v2.routing.queues.{id}.conversations.callbacks"
        assert envelope["source"].startswith("aws.partner/genesys.com/")
        assert re.fullmatch(r"[0-9]{12}", envelope["account"])
        time = envelope["time"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", time), time
        assert time[:19] == event.to_wire()["time"][:19]
        assert envelope["region"] == "us-east-1"
        assert envelope["resources"] == []
        check_notification(envelope["detail"], event, delivery)
    assert len(ids) == len(sent)  # one id per event


def test_eventbridge_id_is_stable_for_a_redelivery() -> None:
    _, delivery = deliveries(lifecycles(1)[0])[0]
    adapter = EventBridgeAdapter()
    first, again = (orjson.loads(adapter.request(delivery).body or b"") for _ in range(2))
    assert first == again


# -- write-only adapters and verification -----------------------------------------------------


@pytest.mark.parametrize("name", ["notification", "eventbridge"])
def test_write_only_adapters_skip_verification(name: str) -> None:
    adapter = load_adapter(name)
    assert adapter.read_participant("c", "p") is None
    assert adapter.read_conversation("c") is None
    lcs = lifecycles(2)
    with Target() as target:
        result = replay_to(target.url, adapter, lcs, verify=True)
    assert not result.read_back
    assert result.participants_checked == result.participants_converged == 0
    assert result.conversations_converged == 0
    assert result.not_converged == []
    assert {a.method for a in target.arrivals} == {"POST"}  # nothing was read back
    assert len(target.arrivals) == result.events == result.delivered


def test_built_in_adapters_by_name() -> None:
    assert set(ADAPTERS) == {"store", "notification", "eventbridge"}
    for name, cls in ADAPTERS.items():
        adapter = load_adapter(name)
        assert type(adapter) is cls
        assert adapter.name == name
        assert isinstance(adapter, Adapter)


# -- custom adapters --------------------------------------------------------------------------

CUSTOM = """
from callbacksim.simulator.client import Request


class Hook:
    name = "hook"

    def request(self, delivery):
        e = delivery.event
        body = b"%d" % e["sequence"]
        headers = {"X-Participant": e["participantId"], "X-Correlation": delivery.correlation_id}
        return Request("POST", "/hook/" + e["conversationId"], body, headers)

    def read_participant(self, cid, pid):
        return None

    def read_conversation(self, cid):
        return None

    def parse_participant(self, body):
        return None

    def parse_conversation(self, body):
        return None


class Incomplete:
    name = "incomplete"

    def request(self, delivery):
        return None


class NeedsArguments(Hook):
    def __init__(self, url):
        self.url = url


NOT_A_CLASS = "a string"
"""


@pytest.fixture
def custom_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A module with adapters in ``tmp_path``, importable for this test only."""
    name = f"custom_adapters_{uuid.uuid4().hex}"
    (tmp_path / f"{name}.py").write_text(CUSTOM)
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


def test_custom_adapter_by_import_path(custom_module: str) -> None:
    adapter = load_adapter(f"{custom_module}:Hook")
    assert adapter.name == "hook"
    assert isinstance(adapter, Adapter)
    lcs = lifecycles(2)
    with Target() as target:
        result = replay_to(target.url, adapter, lcs)
    sent = all_events(lcs)
    assert result.delivered == result.events == len(sent) == len(target.arrivals)
    for (event, delivery), arrival in zip(sent, target.arrivals, strict=True):
        assert (arrival.method, arrival.path) == ("POST", f"/hook/{event.conversation_id}")
        assert arrival.body == str(event.sequence).encode()
        assert arrival.headers["X-Participant"] == event.participant_id
        assert arrival.headers["X-Correlation"] == delivery.correlation_id
    assert not result.read_back
    assert result.participants_checked == 0


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("nosuchadapter", "unknown adapter 'nosuchadapter'"),
        ("{module}", "unknown adapter"),
        ("{module}:", "unknown adapter"),
        (":Hook", "unknown adapter"),
        ("no_such_module_for_callbacksim:Hook", "cannot load the adapter"),
        ("{module}:Missing", "cannot load the adapter"),
        ("{module}:Incomplete", "lacks"),
        ("{module}:NeedsArguments", "cannot load the adapter"),
        ("{module}:NOT_A_CLASS", "cannot load the adapter"),
    ],
)
def test_bad_adapter_paths(path: str, message: str, custom_module: str) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        load_adapter(path.format(module=custom_module))
