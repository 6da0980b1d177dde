"""The callback participant model: frozen attrs classes, their enums and the two editions.

The classes hold values, nothing else: they do not read or write JSON (that is `callbacksim.codec`)
and they do not judge validity beyond their Python types (that is `callbacksim.rules`).

Conventions that hold for every class here:

- Every property is optional; ``None`` means absent.
- Lists are tuples and maps are dicts, so a participant compares by value.
- Datetimes are timezone-aware ``datetime`` objects. Naive datetimes are refused, since the wire
  format always carries a zone.
- An enum property holds a member of its enum when the value is in the table, and the plain string
  otherwise: Genesys adds enum values over time, and a value this edition does not know is kept
  verbatim instead of being mapped to a sentinel.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from functools import cache
from typing import Any

import attrs

__all__ = [
    "AddressableEntityRef",
    "CallbackMediaParticipant",
    "ConversationRoutingData",
    "DialerPreview",
    "Direction",
    "DisconnectType",
    "DomainEntityRef",
    "Edition",
    "ErrorInfo",
    "FlaggedReason",
    "JourneyAction",
    "JourneyActionMap",
    "JourneyContext",
    "JourneyCustomer",
    "JourneyCustomerSession",
    "PhoneNumberColumn",
    "ScoredAgent",
    "State",
    "UploadStatus",
    "Voicemail",
    "Wrapup",
    "coerce_enum",
    "known_values",
]


class Edition(StrEnum):
    """Which edition of the model: what is generated and which enum values count as known.

    Editions are declared oldest first, and each has everything the ones before it have: a property,
    enum value or rule introduced in one edition (its ``since``) is in that edition and every later
    one. A new edition is one more member at the end.
    """

    SEED = "seed"
    """The model as documented on the Genesys Cloud Java SDK page: 42 properties, 4 enums."""
    SDK_269 = "sdk-269"
    """The Python SDK 269.0.0 edition: 5 more properties, the state ``parked`` and 5 more
    disconnect types."""

    def includes(self, since: Edition | None) -> bool:
        """Whether this edition has what ``since`` introduced (None: what every edition has)."""
        return since is None or _RANK[since] <= _RANK[self]

    @classmethod
    def latest(cls) -> Edition:
        """The newest edition, which has everything any edition has."""
        return _LATEST


_RANK: dict[Edition, int] = {edition: rank for rank, edition in enumerate(Edition)}
_LATEST = list(Edition)[-1]


class State(StrEnum):
    OUTDATED_SDK_VERSION = "OutdatedSdkVersion"
    ALERTING = "alerting"
    DIALING = "dialing"
    CONTACTING = "contacting"
    OFFERING = "offering"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    TERMINATED = "terminated"
    CONVERTING = "converting"
    UPLOADING = "uploading"
    TRANSMITTING = "transmitting"
    PARKED = "parked"
    NONE = "none"


class Direction(StrEnum):
    OUTDATED_SDK_VERSION = "OutdatedSdkVersion"
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class DisconnectType(StrEnum):
    OUTDATED_SDK_VERSION = "OutdatedSdkVersion"
    ENDPOINT = "endpoint"
    ENDPOINT_DONOTDISTURB = "endpoint.donotdisturb"
    CLIENT = "client"
    SYSTEM = "system"
    TRANSFER = "transfer"
    TRANSFER_CONFERENCE = "transfer.conference"
    TRANSFER_CONSULT = "transfer.consult"
    TRANSFER_DONOTDISTURB = "transfer.donotdisturb"
    TRANSFER_FORWARD = "transfer.forward"
    TRANSFER_NOANSWER = "transfer.noanswer"
    TRANSFER_NOTAVAILABLE = "transfer.notavailable"
    TRANSPORT_FAILURE = "transport.failure"
    ERROR = "error"
    PEER = "peer"
    OTHER = "other"
    SPAM = "spam"
    INACTIVITY = "inactivity"
    SESSION_EXPIRED = "session.expired"
    TAKEOVER = "takeover"


class FlaggedReason(StrEnum):
    OUTDATED_SDK_VERSION = "OutdatedSdkVersion"
    GENERAL = "general"


class UploadStatus(StrEnum):
    """``voicemail.uploadStatus``."""

    PENDING = "pending"
    COMPLETE = "complete"
    FAILED = "failed"
    TIMEOUT = "timeout"
    NONE = "none"


# Enum values introduced after the seed edition, with the edition that introduced them; every other
# value is in every edition.
_VALUE_SINCE: Mapping[StrEnum, Edition] = {
    State.PARKED: Edition.SDK_269,
    DisconnectType.ENDPOINT_DONOTDISTURB: Edition.SDK_269,
    DisconnectType.TRANSFER_DONOTDISTURB: Edition.SDK_269,
    DisconnectType.INACTIVITY: Edition.SDK_269,
    DisconnectType.SESSION_EXPIRED: Edition.SDK_269,
    DisconnectType.TAKEOVER: Edition.SDK_269,
}

SINCE = "callbacksim.since"
"""Field metadata key: the edition that introduced a property (absent: every edition has it)."""


@cache
def known_values(enum: type[StrEnum], edition: Edition) -> tuple[StrEnum, ...]:
    """The members of ``enum`` that ``edition`` knows, in table order."""
    return tuple(m for m in enum if edition.includes(_VALUE_SINCE.get(m)))


def coerce_enum(enum: type[StrEnum]) -> Any:
    """An attrs converter: a string in ``enum``'s table becomes its member; others stay strings."""

    values = {m.value: m for m in enum}

    def convert(value: object) -> object:
        if isinstance(value, str) and not isinstance(value, StrEnum):
            return values.get(value, value)
        return value

    convert.__name__ = f"coerce_{enum.__name__}"
    return convert


def _aware(_instance: object, attribute: attrs.Attribute[Any], value: datetime | None) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        msg = (
            f"{attribute.name} must be a timezone-aware datetime (got the naive {value!r}); "
            "pass tzinfo=datetime.UTC or another zone"
        )
        raise ValueError(msg)


def _tuple_or_none(value: object) -> object:
    if value is None or isinstance(value, tuple):
        return value
    if isinstance(value, list):
        return tuple(value)
    return value


def _since(since: Edition | None) -> dict[str, Any]:
    return {SINCE: since} if since else {}


def _opt(*, since: Edition | None = None, **kwargs: Any) -> Any:
    return attrs.field(default=None, kw_only=True, metadata=_since(since), **kwargs)


def _dt(*, since: Edition | None = None) -> Any:
    return attrs.field(default=None, kw_only=True, validator=_aware, metadata=_since(since))


def _enum(enum: type[StrEnum]) -> Any:
    return attrs.field(default=None, kw_only=True, converter=coerce_enum(enum))


def _list(*, since: Edition | None = None) -> Any:
    return attrs.field(default=None, kw_only=True, converter=_tuple_or_none, metadata=_since(since))


@attrs.frozen
class DomainEntityRef:
    id: str | None = _opt()
    name: str | None = _opt()
    self_uri: str | None = _opt()


@attrs.frozen
class AddressableEntityRef:
    id: str | None = _opt()
    self_uri: str | None = _opt()


@attrs.frozen
class ErrorInfo:
    message: str | None = _opt()
    code: str | None = _opt()


@attrs.frozen
class Wrapup:
    code: str | None = _opt()
    name: str | None = _opt()
    notes: str | None = _opt()
    tags: tuple[str, ...] | None = _list()
    duration_seconds: int | None = _opt()
    end_time: datetime | None = _dt()
    provisional: bool | None = _opt()


@attrs.frozen
class JourneyCustomer:
    id: str | None = _opt()
    id_type: str | None = _opt()


@attrs.frozen
class JourneyCustomerSession:
    id: str | None = _opt()
    type: str | None = _opt()


@attrs.frozen
class JourneyActionMap:
    id: str | None = _opt()
    version: int | None = _opt()


@attrs.frozen
class JourneyAction:
    id: str | None = _opt()
    action_map: JourneyActionMap | None = _opt()


@attrs.frozen
class JourneyContext:
    customer: JourneyCustomer | None = _opt()
    customer_session: JourneyCustomerSession | None = _opt()
    triggering_action: JourneyAction | None = _opt()


@attrs.frozen
class ScoredAgent:
    agent: DomainEntityRef | None = _opt()
    score: int | None = _opt()


@attrs.frozen
class ConversationRoutingData:
    queue: AddressableEntityRef | None = _opt()
    language: AddressableEntityRef | None = _opt()
    priority: int | None = _opt()
    skills: tuple[AddressableEntityRef, ...] | None = _list()
    skill_expression: str | None = _opt()
    skill_expression_id: str | None = _opt()
    scored_agents: tuple[ScoredAgent, ...] | None = _list()
    label: str | None = _opt()


@attrs.frozen
class PhoneNumberColumn:
    column_name: str | None = _opt()
    type: str | None = _opt()
    callable_time_column_name: str | None = _opt()


@attrs.frozen
class DialerPreview:
    id: str | None = _opt()
    contact_id: str | None = _opt()
    contact_list_id: str | None = _opt()
    campaign_id: str | None = _opt()
    phone_number_columns: tuple[PhoneNumberColumn, ...] | None = _list()
    callback_auto_answer: bool | None = _opt()


@attrs.frozen
class Voicemail:
    id: str | None = _opt()
    upload_status: UploadStatus | str | None = _enum(UploadStatus)


def _attributes_field() -> Any:
    # A dict is not hashable: the participant still compares by value, it just has no hash.
    return attrs.field(default=None, kw_only=True, hash=False)


@attrs.frozen
class CallbackMediaParticipant:
    """One participant of a callback conversation, as Genesys Cloud's REST API shows it.

    Properties are in the order of the SDK model; those marked with the ``sdk-269`` edition in their
    metadata exist only in that edition. Change a participant with ``attrs.evolve``.
    """

    id: str | None = _opt()
    name: str | None = _opt()
    address: str | None = _opt()
    start_time: datetime | None = _dt()
    start_alerting_time: datetime | None = _dt(since=Edition.SDK_269)
    connected_time: datetime | None = _dt()
    end_time: datetime | None = _dt()
    start_hold_time: datetime | None = _dt()
    purpose: str | None = _opt()
    state: State | str | None = _enum(State)
    direction: Direction | str | None = _enum(Direction)
    disconnect_type: DisconnectType | str | None = _enum(DisconnectType)
    held: bool | None = _opt()
    wrapup_required: bool | None = _opt()
    wrapup_prompt: str | None = _opt()
    media_roles: tuple[str, ...] | None = _list(since=Edition.SDK_269)
    user: DomainEntityRef | None = _opt()
    queue: DomainEntityRef | None = _opt()
    team: DomainEntityRef | None = _opt()
    attributes: Mapping[str, str] | None = _attributes_field()
    error_info: ErrorInfo | None = _opt()
    script: DomainEntityRef | None = _opt()
    wrapup_timeout_ms: int | None = _opt()
    wrapup_skipped: bool | None = _opt()
    alerting_timeout_ms: int | None = _opt()
    provider: str | None = _opt()
    external_contact: DomainEntityRef | None = _opt()
    external_contact_initial_division_id: str | None = _opt(since=Edition.SDK_269)
    external_organization: DomainEntityRef | None = _opt()
    wrapup: Wrapup | None = _opt()
    peer: str | None = _opt()
    flagged_reason: FlaggedReason | str | None = _enum(FlaggedReason)
    journey_context: JourneyContext | None = _opt()
    conversation_routing_data: ConversationRoutingData | None = _opt()
    start_acw_time: datetime | None = _dt()
    end_acw_time: datetime | None = _dt()
    park_time: datetime | None = _dt(since=Edition.SDK_269)
    resume_time: datetime | None = _dt(since=Edition.SDK_269)
    outbound_preview: DialerPreview | None = _opt()
    voicemail: Voicemail | None = _opt()
    callback_numbers: tuple[str, ...] | None = _list()
    callback_user_name: str | None = _opt()
    external_campaign: bool | None = _opt()
    skip_enabled: bool | None = _opt()
    timeout_seconds: int | None = _opt()
    automated_callback_config_id: str | None = _opt()
    callback_scheduled_time: datetime | None = _dt()
