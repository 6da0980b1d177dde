"""Adapters: how a lifecycle event becomes a request to a target, and how state is read back.

An adapter is built from plain values (`Delivery` in, `Request` out), so a service with another API
needs only a small class, named on the command line by its import path (``package.module:Class``).

The interface (see `Adapter`):

- ``request(delivery) -> Request``: the request that delivers one event;
- ``read_participant(cid, pid) -> Request | None`` and ``read_conversation(cid) -> Request | None``:
  how to read state back, or None when the target cannot be read (replay then skips convergence,
  and says so);
- ``parse_participant(body) / parse_conversation(body)``: the participant dict(s) in an answer.

Built in: ``store`` (the participant-store contract, the default: each snapshot as the REST model
has it), ``notification`` (a Genesys notification envelope per event, POSTed to a webhook, its
participants in the topic model's shape) and ``eventbridge`` (the same inside an Amazon
EventBridge envelope).
"""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import attrs

from callbacksim.codec import dumps_payload, loads
from callbacksim.errors import JsonError, UsageError
from callbacksim.simulator.client import Request
from callbacksim.wiretime import parse_datetime

__all__ = [
    "ADAPTERS",
    "Adapter",
    "Delivery",
    "correlation_id",
    "load_adapter",
    "notification_envelope",
    "topic_participant",
]

JSON = {"Content-Type": "application/json"}


@attrs.frozen
class Delivery:
    """One event to deliver: the event as on the wire, and the conversation as it stands after it
    (each participant's latest snapshot), for adapters that send whole-conversation snapshots."""

    event: Mapping[str, Any]
    conversation: tuple[Mapping[str, Any], ...]
    correlation_id: str


@runtime_checkable
class Adapter(Protocol):
    name: str

    def request(self, delivery: Delivery) -> Request: ...

    def read_participant(self, cid: str, pid: str) -> Request | None: ...

    def read_conversation(self, cid: str) -> Request | None: ...

    def parse_participant(self, body: bytes) -> dict[str, Any] | None: ...

    def parse_conversation(self, body: bytes) -> list[dict[str, Any]] | None: ...


def _json(body: bytes) -> Any:
    # The codec's reader: it also takes what orjson refuses (lone surrogates, huge integers),
    # so a participant stored with them still reads back.
    try:
        return loads(body)
    except JsonError:
        return None


class StoreAdapter:
    """The participant-store contract: ``PUT /conversations/{cid}/participants/{pid}`` with
    ``X-Sequence``; reads back with GET."""

    name = "store"

    def request(self, delivery: Delivery) -> Request:
        e = delivery.event
        path = f"/conversations/{e['conversationId']}/participants/{e['participantId']}"
        headers = {**JSON, "X-Sequence": str(e["sequence"])}
        return Request("PUT", path, dumps_payload(e["participant"]), headers)

    def read_participant(self, cid: str, pid: str) -> Request | None:
        return Request("GET", f"/conversations/{cid}/participants/{pid}")

    def read_conversation(self, cid: str) -> Request | None:
        return Request("GET", f"/conversations/{cid}")

    def parse_participant(self, body: bytes) -> dict[str, Any] | None:
        value = _json(body)
        return value if isinstance(value, dict) else None

    def parse_conversation(self, body: bytes) -> list[dict[str, Any]] | None:
        value = _json(body)
        participants = value.get("participants") if isinstance(value, dict) else None
        if not isinstance(participants, list):
            return None
        return [p for p in participants if isinstance(p, dict)]


_CORRELATION = uuid.UUID("5d1b7a2e-3c4f-5a60-8b7c-9d0e1f2a3b4c")
"""The namespace correlation ids are made in: one UUID per event, the same on a redelivery."""

_CALLBACK_LEGS = frozenset({"customer", "external", "acd"})
_REFS = ("user", "queue", "team", "script", "externalContact", "externalOrganization")
_TOPIC_DISCONNECT = {
    "endpoint.donotdisturb": "endpoint.dnd",
    "transfer.donotdisturb": "transfer.dnd",
}


def correlation_id(delivery: Delivery) -> str:
    """``metadata.CorrelationId`` as Genesys sends it: a UUID, here derived from the delivery's
    own id, so a duplicate delivery of an event carries the same one."""
    return str(uuid.uuid5(_CORRELATION, delivery.correlation_id))


def _uri_reference(ref: Any) -> Any:
    if not isinstance(ref, Mapping):
        return ref
    return {k: ref[k] for k in ("id", "name") if k in ref}


def _initial_state(p: Mapping[str, Any]) -> str:
    """The communication's first state, as far as one snapshot tells it: agent legs start
    alerting; a callback leg whose callbackScheduledTime lies after its startTime started
    scheduled; every other leg started connected."""
    if p.get("purpose") == "agent":
        return "alerting"
    scheduled, start = p.get("callbackScheduledTime"), p.get("startTime")
    if p.get("purpose") in _CALLBACK_LEGS and isinstance(scheduled, str) and isinstance(start, str):
        try:
            if parse_datetime(scheduled) > parse_datetime(start):
                return "scheduled"
        except ValueError:
            pass
    return "connected"


def topic_participant(participant: Mapping[str, Any]) -> dict[str, Any]:
    """A participant snapshot (the REST model) as the callback notification topics show it.

    The topic model has ``scheduled`` in its state enum (a callback leg waiting to be routed shows
    it, whatever the REST read showed) and adds ``initialState``; it has no
    ``startAlertingTime``; its entity references are ``{id, name}``; its wrap-up has no ``name``
    or ``provisional``, and its ``code`` holds the code's name; its routing data has no
    ``skillExpression`` or ``label``, its preview no ``callbackAutoAnswer``, its phone-number
    columns no ``callableTimeColumnName``; do-not-disturb disconnect types are spelled ``.dnd``.
    """
    p = dict(participant)
    p.pop("startAlertingTime", None)
    waiting = "connectedTime" not in p and "endTime" not in p
    if p.get("purpose") in _CALLBACK_LEGS and waiting and p.get("state") in ("none", "scheduled"):
        p["state"] = "scheduled"
    p["initialState"] = _initial_state(participant)
    kind = p.get("disconnectType")
    if isinstance(kind, str) and kind in _TOPIC_DISCONNECT:
        p["disconnectType"] = _TOPIC_DISCONNECT[kind]
    for key in _REFS:
        if key in p:
            p[key] = _uri_reference(p[key])
    wrapup = p.get("wrapup")
    if isinstance(wrapup, Mapping):
        topic_wrapup = {k: v for k, v in wrapup.items() if k not in ("name", "provisional")}
        if "name" in wrapup:
            topic_wrapup["code"] = wrapup["name"]
        p["wrapup"] = topic_wrapup
    routing = p.get("conversationRoutingData")
    if isinstance(routing, Mapping):
        routing = {k: v for k, v in routing.items() if k not in ("skillExpression", "label")}
        agents = routing.get("scoredAgents")
        if isinstance(agents, list):
            routing["scoredAgents"] = [
                {**a, "agent": _uri_reference(a["agent"])}
                if isinstance(a, Mapping) and "agent" in a
                else a
                for a in agents
            ]
        p["conversationRoutingData"] = routing
    preview = p.get("outboundPreview")
    if isinstance(preview, Mapping):
        preview = {k: v for k, v in preview.items() if k != "callbackAutoAnswer"}
        columns = preview.get("phoneNumberColumns")
        if isinstance(columns, list):
            preview["phoneNumberColumns"] = [
                {k: v for k, v in c.items() if k != "callableTimeColumnName"}
                if isinstance(c, Mapping)
                else c
                for c in columns
            ]
        p["outboundPreview"] = preview
    return p


def notification_envelope(delivery: Delivery) -> dict[str, Any]:
    """A Genesys Cloud notification: topicName, version "2", the whole conversation snapshot as
    eventBody (each participant as the topic shows it, `topic_participant`), and
    ``metadata.CorrelationId`` (capital C, a UUID, as Genesys writes it)."""
    queue = _queue_id(delivery.conversation)
    return {
        "topicName": f"v2.routing.queues.{queue}.conversations.callbacks",
        "version": "2",
        "eventBody": {
            "id": delivery.event["conversationId"],
            "participants": [topic_participant(p) for p in delivery.conversation],
        },
        "metadata": {"CorrelationId": correlation_id(delivery)},
    }


def _queue_id(conversation: tuple[Mapping[str, Any], ...]) -> str:
    for participant in conversation:
        queue = participant.get("queue")
        if isinstance(queue, Mapping) and isinstance(queue.get("id"), str):
            return str(queue["id"])
    return "00000000-0000-0000-0000-000000000000"


class NotificationAdapter:
    """POSTs a notification envelope per event to the webhook URL itself (the target's base URL
    path, ``/`` by default). Write-only: nothing can be read back."""

    name = "notification"

    def __init__(self, path: str = "/") -> None:
        self.path = path

    def body(self, delivery: Delivery) -> dict[str, Any]:
        return notification_envelope(delivery)

    def request(self, delivery: Delivery) -> Request:
        return Request("POST", self.path, dumps_payload(self.body(delivery)), dict(JSON))

    def read_participant(self, cid: str, pid: str) -> Request | None:
        return None

    def read_conversation(self, cid: str) -> Request | None:
        return None

    def parse_participant(self, body: bytes) -> dict[str, Any] | None:
        return None

    def parse_conversation(self, body: bytes) -> list[dict[str, Any]] | None:
        return None


class EventBridgeAdapter(NotificationAdapter):
    """The notification envelope inside an Amazon EventBridge event: ``detail-type`` holds the
    topic pattern with a literal ``{id}``, ``detail`` the notification, ``time`` has seconds."""

    name = "eventbridge"

    def body(self, delivery: Delivery) -> dict[str, Any]:
        notification = notification_envelope(delivery)
        time = str(delivery.event["time"])
        return {
            "version": "0",
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, delivery.correlation_id)),
            "detail-type": "v2.routing.queues.{id}.conversations.callbacks",
            "source": "aws.partner/genesys.com/cloud/callbacksim/callbacks",
            "account": "000000000000",
            "time": time[:19] + "Z",
            "region": "us-east-1",
            "resources": [],
            "detail": notification,
        }


ADAPTERS: dict[str, type[Any]] = {
    "store": StoreAdapter,
    "notification": NotificationAdapter,
    "eventbridge": EventBridgeAdapter,
}


def load_adapter(name: str) -> Adapter:
    """A built-in adapter by name, or ``package.module:Class`` (constructed without arguments)."""
    if name in ADAPTERS:
        adapter: Adapter = ADAPTERS[name]()
        return adapter
    module_name, sep, attr = name.partition(":")
    if not sep or not module_name or not attr:
        msg = (
            f"unknown adapter {name!r}: use one of {', '.join(ADAPTERS)} or an import path such as "
            "mypackage.adapters:MyAdapter"
        )
        raise UsageError(msg)
    try:
        module = importlib.import_module(module_name)
        cls = getattr(module, attr)
    except (ImportError, AttributeError) as exc:
        msg = f"cannot load the adapter {name!r}: {exc}; is its package importable (PYTHONPATH)?"
        raise UsageError(msg) from None
    try:
        instance = cls()
    except TypeError as exc:  # not a class, or one that needs arguments
        msg = f"cannot load the adapter {name!r}: {attr} cannot be made without arguments ({exc})"
        raise UsageError(msg) from None
    needed = (
        "name",
        "request",
        "read_participant",
        "read_conversation",
        "parse_participant",
        "parse_conversation",
    )
    missing = [m for m in needed if not hasattr(instance, m)]
    if missing:
        msg = f"the adapter {name!r} lacks {missing}; see callbacksim.simulator.adapters"
        raise UsageError(msg)
    loaded: Adapter = instance
    return loaded
