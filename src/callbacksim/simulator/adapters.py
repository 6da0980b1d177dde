"""Adapters: how a lifecycle event becomes a request to a target, and how state is read back.

An adapter is built from plain values (`Delivery` in, `Request` out), so a service with another API
needs only a small class, named on the command line by its import path (``package.module:Class``).

The interface (see `Adapter`):

- ``request(delivery) -> Request``: the request that delivers one event;
- ``read_participant(cid, pid) -> Request | None`` and ``read_conversation(cid) -> Request | None``:
  how to read state back, or None when the target cannot be read (replay then skips convergence,
  and says so);
- ``parse_participant(body) / parse_conversation(body)``: the participant dict(s) in an answer.

Built in: ``store`` (the participant-store contract, the default), ``notification`` (a Genesys
notification envelope per event, POSTed to a webhook) and ``eventbridge`` (the same inside an
Amazon EventBridge envelope).
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

__all__ = ["ADAPTERS", "Adapter", "Delivery", "load_adapter"]

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


def notification_envelope(delivery: Delivery) -> dict[str, Any]:
    """A Genesys Cloud notification: topicName, version "2", the whole conversation snapshot as
    eventBody, and ``metadata.CorrelationId`` (capital C, as Genesys writes it)."""
    queue = _queue_id(delivery.conversation)
    return {
        "topicName": f"v2.routing.queues.{queue}.conversations.callbacks",
        "version": "2",
        "eventBody": {
            "id": delivery.event["conversationId"],
            "participants": list(delivery.conversation),
        },
        "metadata": {"CorrelationId": delivery.correlation_id},
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
