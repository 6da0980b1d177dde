"""Interoperability with the official Genesys Cloud Python SDK (purecloudplatformclientv2 269.0.0).

The contract: every participant the codec writes deserializes into the SDK's
``CallbackMediaParticipant`` model without error, and what the SDK serializes from that model reads
back through the codec to an equal participant, with equal instants. The SDK is a declared dev
dependency, so it is imported plainly: a missing SDK fails these tests instead of skipping them.

The SDK is driven the way it handles a real HTTP response: the JSON bytes go into its own
``RESTResponse`` (wrapping a urllib3 response with ``Content-Type: application/json``), then
``ApiClient.deserialize(response, "CallbackMediaParticipant")``; the model is written back with
``ApiClient.sanitize_for_serialization`` (camelCase names, absent properties omitted, datetimes by
``datetime.isoformat()``) and ``json.dumps``, which is what the SDK sends as a request body.

Where the SDK loses information, the loss is named here rather than hidden:

- LOSSY #1, enum values the SDK does not know. The enum setters of the SDK models
  (``models/callback_media_participant.py``: ``state``, ``direction``, ``disconnect_type``,
  ``flagged_reason``; ``models/voicemail.py``: ``upload_status``) replace any value outside their
  ``allowed_values`` list (compared case-insensitively) with the literal ``"outdated_sdk_version"``
  and write that back. Our sentinel ``OutdatedSdkVersion`` is not in those lists, so it is among
  the values replaced. `sdk_view` computes the expected result from the SDK's own lists.
- LOSSY #2, unknown properties. The SDK reads only the properties its model declares and drops the
  rest, at every nesting level. The codec never writes a property the SDK model lacks (both models
  have the same 47 properties, checked below), so this only matters for extras from elsewhere.
- LOSSY #3, the model's own ``to_json()``. It is not the wire form: it writes Python attribute
  names (``start_time``) with explicit nulls, which the codec reads as unknown extras and drops.
  Only ``sanitize_for_serialization`` writes the wire form.

Other differences, which lose nothing for what the codec writes:

- An explicit ``null`` for an enum property makes the SDK raise ``AttributeError`` (its setter
  calls ``None.lower()``); the codec reads ``null`` as absent and never writes one.
- The SDK matches enum values case-insensitively and keeps the spelling (``ALERTING`` is a known
  state to it); the codec keeps ``ALERTING`` verbatim as an unknown value. Both write it back as
  sent, so it survives.
- Datetimes come back in the SDK's form, ``2026-03-02T09:15:00.250000+00:00`` (an offset, never
  ``Z``; six fraction digits, or none when the microsecond is 0), which the codec reads to the same
  instant.
"""

from __future__ import annotations

import ast
import inspect
import json
import re
import textwrap
from datetime import UTC, datetime, timedelta, timezone
from enum import StrEnum
from functools import cache
from typing import Any

import attrs
import pytest
import urllib3
from hypothesis import event, example, given, settings
from hypothesis import strategies as st
from PureCloudPlatformClientV2 import ApiClient
from PureCloudPlatformClientV2 import models as sdk_models
from PureCloudPlatformClientV2.rest import RESTResponse

from callbacksim import codec
from callbacksim.model import (
    AddressableEntityRef,
    CallbackMediaParticipant,
    ConversationRoutingData,
    DialerPreview,
    Direction,
    DisconnectType,
    DomainEntityRef,
    Edition,
    ErrorInfo,
    FlaggedReason,
    JourneyAction,
    JourneyActionMap,
    JourneyContext,
    JourneyCustomer,
    JourneyCustomerSession,
    PhoneNumberColumn,
    ScoredAgent,
    State,
    UploadStatus,
    Voicemail,
    Wrapup,
    known_values,
)
from callbacksim.rules import check
from callbacksim.schema import Kind, fields_of
from callbacksim.strategies import participants
from callbacksim.wiretime import format_datetime, parse_datetime

SDK = ApiClient()

SDK_UNKNOWN = "outdated_sdk_version"
"""What an SDK enum setter stores (and the SDK writes back) for a value it does not know."""

SDK_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?[+-]\d{2}:\d{2}")
"""``datetime.isoformat()`` of an aware datetime with a whole-minute offset: what the SDK writes."""

MODEL_CLASSES: tuple[type[Any], ...] = (
    CallbackMediaParticipant,
    DomainEntityRef,
    AddressableEntityRef,
    ErrorInfo,
    Wrapup,
    JourneyContext,
    JourneyCustomer,
    JourneyCustomerSession,
    JourneyAction,
    JourneyActionMap,
    ConversationRoutingData,
    ScoredAgent,
    DialerPreview,
    PhoneNumberColumn,
    Voicemail,
)


# --------------------------------------------------------------------------------------------
# Driving the SDK


def sdk_read(body: bytes | str) -> Any:
    """The SDK's ``CallbackMediaParticipant`` for a JSON body, read as the SDK reads a response."""
    raw = body.encode() if isinstance(body, str) else body
    response = RESTResponse(
        urllib3.HTTPResponse(
            body=raw, status=200, headers={"Content-Type": "application/json"}, preload_content=True
        )
    )
    response.data = response.data.decode("utf8")  # as the SDK's RESTClientObject.request does
    return SDK.deserialize(response, "CallbackMediaParticipant")


def sdk_write(model: Any) -> str:
    """The JSON text the SDK makes of one of its models (the body of an SDK request)."""
    return json.dumps(SDK.sanitize_for_serialization(model))


def through_sdk(
    participant: CallbackMediaParticipant, edition: Edition
) -> tuple[Any, str, CallbackMediaParticipant]:
    """codec -> SDK model -> SDK JSON -> codec: the SDK model, its JSON and what the codec reads."""
    model = sdk_read(codec.dumps(participant))
    assert type(model) is sdk_models.CallbackMediaParticipant
    text = sdk_write(model)
    return model, text, codec.loads_participant(text, edition=edition)


# --------------------------------------------------------------------------------------------
# What the SDK knows: its enum tables, read from the setters' source


@cache
def sdk_allowed_values(owner: type[Any], attr: str) -> frozenset[str]:
    """The ``allowed_values`` list in the setter of the SDK model property ``owner.attr``.

    ``owner`` is one of our model classes; the SDK class of the same name is looked up. The
    literal is read from the setter's source, so a newer SDK's tables are picked up as they are.
    """
    prop = getattr(getattr(sdk_models, owner.__name__), attr)
    tree = ast.parse(textwrap.dedent(inspect.getsource(prop.fset)))
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "allowed_values" for t in node.targets
        ):
            return frozenset(ast.literal_eval(node.value))
    msg = f"no allowed_values in the SDK setter {owner.__name__}.{attr}"
    raise AssertionError(msg)


def sdk_knows(owner: type[Any], attr: str, value: str) -> bool:
    """Whether the SDK's setter keeps ``value`` (it compares case-insensitively)."""
    return value.lower() in {v.lower() for v in sdk_allowed_values(owner, attr)}


def enum_fields() -> list[tuple[type[Any], str, type[StrEnum]]]:
    return [
        (cls, spec.attr, spec.enum)
        for cls in MODEL_CLASSES
        for spec in fields_of(cls)
        if spec.kind is Kind.ENUM and spec.enum is not None
    ]


def sdk_view(obj: Any) -> Any:
    """``obj`` as it comes back from the SDK: LOSSY #1 applied, nothing else changed.

    Every enum value the SDK's setter does not know (computed from its ``allowed_values``; this
    includes our sentinel ``OutdatedSdkVersion``) becomes ``"outdated_sdk_version"``, at any depth.
    """
    changes: dict[str, Any] = {}
    for spec in fields_of(type(obj)):
        value = getattr(obj, spec.attr)
        if value is None:
            continue
        if spec.kind is Kind.ENUM and not sdk_knows(type(obj), spec.attr, str(value)):
            changes[spec.attr] = SDK_UNKNOWN
        elif spec.kind is Kind.OBJECT:
            changes[spec.attr] = sdk_view(value)
        elif spec.kind is Kind.OBJECT_LIST:
            changes[spec.attr] = tuple(sdk_view(item) for item in value)
    return attrs.evolve(obj, **changes)


def test_both_models_have_the_same_properties() -> None:
    """Same classes, same properties in the same order, same wire names, same JSON types."""
    sdk_type = {
        Kind.STRING: "str",
        Kind.ENUM: "str",
        Kind.BOOLEAN: "bool",
        Kind.INTEGER: "int",
        Kind.DATETIME: "datetime",
        Kind.STRING_LIST: "list[str]",
        Kind.STRING_MAP: "dict(str, str)",
    }
    for cls in MODEL_CLASSES:
        sdk = getattr(sdk_models, cls.__name__)()
        ours = fields_of(cls)
        assert [f.attr for f in ours] == list(sdk.swagger_types), cls.__name__
        for spec in ours:
            assert sdk.attribute_map[spec.attr] == spec.wire, (cls.__name__, spec.attr)
            if spec.kind is Kind.OBJECT:
                assert spec.nested is not None
                expected = spec.nested.__name__
            elif spec.kind is Kind.OBJECT_LIST:
                assert spec.nested is not None
                expected = f"list[{spec.nested.__name__}]"
            else:
                expected = sdk_type[spec.kind]
            assert sdk.swagger_types[spec.attr] == expected, (cls.__name__, spec.attr)
    assert len(fields_of(CallbackMediaParticipant)) == 47


def test_sdk_enum_tables_are_the_sdk_269_edition_without_the_sentinel() -> None:
    """The sdk-269 edition knows exactly the SDK's values, plus our sentinel, which the SDK lacks;
    the seed edition knows a subset. So LOSSY #1 hits exactly the sentinel and unknown strings."""
    fields = enum_fields()
    assert {(c.__name__, a) for c, a, _ in fields} == {
        ("CallbackMediaParticipant", "state"),
        ("CallbackMediaParticipant", "direction"),
        ("CallbackMediaParticipant", "disconnect_type"),
        ("CallbackMediaParticipant", "flagged_reason"),
        ("Voicemail", "upload_status"),
    }
    for cls, attr, enum in fields:
        sdk = sdk_allowed_values(cls, attr)
        ours = {m.value for m in known_values(enum, Edition.SDK_269)}
        assert sdk == ours - {"OutdatedSdkVersion"}, (cls.__name__, attr)
        assert {m.value for m in known_values(enum, Edition.SEED)} - {"OutdatedSdkVersion"} <= sdk
        if "OutdatedSdkVersion" in ours:
            assert not sdk_knows(cls, attr, "OutdatedSdkVersion")


# --------------------------------------------------------------------------------------------
# 1. Every generated participant survives the SDK, up to the named lossy spots


def _round_trip_property(participant: CallbackMediaParticipant, edition: Edition) -> None:
    model, text, back = through_sdk(participant, edition)
    expected = sdk_view(participant)
    if expected != participant:
        event("LOSSY #1: an enum value the SDK does not know")
    assert back == expected
    # The same participant, so the same canonical wire form (every instant in UTC with Z).
    assert codec.encode(back) == codec.encode(expected)
    # The SDK wrote every property the codec wrote, and nothing else.
    assert set(json.loads(text)) == set(codec.encode(participant))
    # And a second pass through the SDK changes nothing: the SDK's own output is a fixed point.
    assert sdk_write(sdk_read(text)) == text
    assert model.id == participant.id


@settings(max_examples=150, deadline=None)
@given(participants(edition="sdk-269"))
def test_sdk_269_participants_survive_the_sdk(participant: CallbackMediaParticipant) -> None:
    _round_trip_property(participant, Edition.SDK_269)


@settings(max_examples=150, deadline=None)
@given(participants(edition="seed"))
def test_seed_participants_survive_the_sdk(participant: CallbackMediaParticipant) -> None:
    _round_trip_property(participant, Edition.SEED)


@settings(max_examples=100, deadline=None)
@given(participants(edition="sdk-269", rules="structural"))
def test_structurally_valid_participants_survive_the_sdk(
    participant: CallbackMediaParticipant,
) -> None:
    """Also out-of-order and negative-valued ones: the SDK judges no rule, it carries values."""
    _round_trip_property(participant, Edition.SDK_269)


# --------------------------------------------------------------------------------------------
# 2. Datetimes: the SDK's written forms, and codec -> SDK -> codec for any instant


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Six fraction digits and +00:00: what the SDK writes for what the codec sent.
        ("2024-03-01T10:00:00.123000+00:00", datetime(2024, 3, 1, 10, 0, 0, 123_000, tzinfo=UTC)),
        # No fraction at all when the microsecond is 0.
        ("2024-03-01T10:00:00+00:00", datetime(2024, 3, 1, 10, 0, tzinfo=UTC)),
        ("2024-03-01T10:00:00.000001+00:00", datetime(2024, 3, 1, 10, 0, 0, 1, tzinfo=UTC)),
        ("2024-03-01T10:00:00.999999+00:00", datetime(2024, 3, 1, 10, 0, 0, 999_999, tzinfo=UTC)),
        # Other offsets, for datetimes the SDK got from elsewhere.
        ("2024-03-01T15:30:00.123000+05:30", datetime(2024, 3, 1, 10, 0, 0, 123_000, tzinfo=UTC)),
        ("2024-03-01T04:00:00-06:00", datetime(2024, 3, 1, 10, 0, tzinfo=UTC)),
        ("2024-03-01T00:00:00-10:00", datetime(2024, 3, 1, 10, 0, tzinfo=UTC)),
        ("0001-01-01T00:00:00+00:00", datetime(1, 1, 1, tzinfo=UTC)),
        ("9999-12-31T23:59:59.999999+00:00", datetime(9999, 12, 31, 23, 59, 59, 999_999, UTC)),
    ],
)
def test_codec_reads_the_datetime_forms_the_sdk_writes(text: str, expected: datetime) -> None:
    assert SDK_DATETIME.fullmatch(text)
    parsed = parse_datetime(text)
    assert parsed == expected
    assert parsed.microsecond == expected.astimezone(parsed.tzinfo).microsecond


_WHOLE_MINUTE_OFFSETS = st.one_of(
    st.just(UTC),
    st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(lambda m: timezone(timedelta(minutes=m))),
)


@settings(max_examples=300, deadline=None)
@given(st.datetimes(timezones=_WHOLE_MINUTE_OFFSETS))
def test_every_datetime_the_sdk_writes_is_read_to_the_same_instant(value: datetime) -> None:
    """Any aware datetime the SDK holds (whole-minute offset, years 0001-9999), as it writes it."""
    text = SDK.sanitize_for_serialization(value)
    assert text == value.isoformat()
    assert SDK_DATETIME.fullmatch(text)
    assert not text.endswith("Z")
    assert parse_datetime(text) == value


@settings(max_examples=300, deadline=None)
@given(st.datetimes(timezones=_WHOLE_MINUTE_OFFSETS))
# The codec writes these with their offset: their UTC form is outside the calendar.
@example(datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5))))
@example(datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=timezone(timedelta(hours=-5))))
@example(datetime(2026, 1, 1, 0, 0, 0, 1, tzinfo=UTC))
def test_every_datetime_the_codec_writes_survives_the_sdk(value: datetime) -> None:
    """codec text -> SDK datetime -> SDK text -> codec: the same instant and the same digits, over
    the whole calendar, including instants written with an offset because their UTC form falls
    outside years 0001-9999."""
    participant = CallbackMediaParticipant(start_time=value, wrapup=Wrapup(end_time=value))
    model, text, back = through_sdk(participant, Edition.SEED)
    assert model.start_time == value
    assert model.wrapup.end_time == value
    assert SDK_DATETIME.fullmatch(json.loads(text)["startTime"])
    assert back == participant
    assert back.start_time is not None
    assert format_datetime(back.start_time) == format_datetime(value)


def test_sub_minute_offset_outside_the_utc_calendar_is_refused_not_mangled() -> None:
    # Such an instant has no UTC form in years 0001-9999 and no RFC 3339 offset form either:
    # writing it must fail loudly instead of producing text that reads back as another instant.
    value = datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5, seconds=15)))
    with pytest.raises(ValueError, match="whole-minute offset"):
        codec.dumps(CallbackMediaParticipant(start_time=value))


# --------------------------------------------------------------------------------------------
# 3. A participant with every property and every nested type, field by field


def _at(hh: int, mm: int, ss: int, ms: int = 0) -> datetime:
    return datetime(2026, 3, 2, hh, mm, ss, ms * 1000, tzinfo=UTC)


FULL = CallbackMediaParticipant(
    id="6f1c2a34-5b6d-4e7f-8a9b-0c1d2e3f4a5b",
    name="Ana Agent",
    address="+4930123456",
    start_time=_at(9, 15, 0),
    start_alerting_time=_at(9, 15, 0, 20),
    # Given in +01:00; the same instant as 09:16:05.250Z.
    connected_time=datetime(2026, 3, 2, 10, 16, 5, 250_000, tzinfo=timezone(timedelta(hours=1))),
    end_time=_at(9, 25, 0),
    start_hold_time=_at(9, 17, 0),
    purpose="agent",
    state=State.DISCONNECTED,
    direction=Direction.OUTBOUND,
    disconnect_type=DisconnectType.TRANSFER_DONOTDISTURB,
    held=False,
    wrapup_required=True,
    wrapup_prompt="mandatory",
    media_roles=("full", "listen"),
    user=DomainEntityRef(
        id="0a1b2c3d-0000-4000-8000-000000000001",
        name="Ana Agent",
        self_uri="/api/v2/users/0a1b2c3d-0000-4000-8000-000000000001",
    ),
    queue=DomainEntityRef(
        id="0a1b2c3d-0000-4000-8000-000000000002",
        name="Support",
        self_uri="/api/v2/routing/queues/0a1b2c3d-0000-4000-8000-000000000002",
    ),
    team=DomainEntityRef(
        id="0a1b2c3d-0000-4000-8000-000000000003",
        name="Blue",
        self_uri="/api/v2/teams/0a1b2c3d-0000-4000-8000-000000000003",
    ),
    attributes={"orderId": "A-1001", "tier": "gold", "note": "Grüße, 你好"},
    error_info=ErrorInfo(message="Remote party unreachable", code="error.unreachable"),
    script=DomainEntityRef(
        id="0a1b2c3d-0000-4000-8000-000000000004",
        name="Default script",
        self_uri="/api/v2/scripts/0a1b2c3d-0000-4000-8000-000000000004",
    ),
    wrapup_timeout_ms=60_000,
    wrapup_skipped=False,
    alerting_timeout_ms=30_000,
    provider="PureCloud Callback",
    external_contact=DomainEntityRef(
        id="0a1b2c3d-0000-4000-8000-000000000005",
        name="Chris Customer",
        self_uri="/api/v2/externalcontacts/contacts/0a1b2c3d-0000-4000-8000-000000000005",
    ),
    external_contact_initial_division_id="0a1b2c3d-0000-4000-8000-000000000006",
    external_organization=DomainEntityRef(
        id="0a1b2c3d-0000-4000-8000-000000000007",
        name="Acme",
        self_uri="/api/v2/externalcontacts/organizations/0a1b2c3d-0000-4000-8000-000000000007",
    ),
    wrapup=Wrapup(
        code="0a1b2c3d-0000-4000-8000-000000000008",
        name="Resolved",
        notes="Called back, issue fixed",
        tags=("billing", "vip"),
        duration_seconds=42,
        end_time=_at(9, 25, 42),
        provisional=False,
    ),
    peer="0a1b2c3d-0000-4000-8000-000000000009",
    flagged_reason=FlaggedReason.GENERAL,
    journey_context=JourneyContext(
        customer=JourneyCustomer(id="0a1b2c3d-0000-4000-8000-00000000000a", id_type="cookie"),
        customer_session=JourneyCustomerSession(
            id="0a1b2c3d-0000-4000-8000-00000000000b", type="web"
        ),
        triggering_action=JourneyAction(
            id="0a1b2c3d-0000-4000-8000-00000000000c",
            action_map=JourneyActionMap(id="0a1b2c3d-0000-4000-8000-00000000000d", version=7),
        ),
    ),
    conversation_routing_data=ConversationRoutingData(
        queue=AddressableEntityRef(
            id="0a1b2c3d-0000-4000-8000-000000000002",
            self_uri="/api/v2/routing/queues/0a1b2c3d-0000-4000-8000-000000000002",
        ),
        language=AddressableEntityRef(
            id="0a1b2c3d-0000-4000-8000-00000000000e",
            self_uri="/api/v2/routing/languages/0a1b2c3d-0000-4000-8000-00000000000e",
        ),
        priority=3,
        skills=(
            AddressableEntityRef(
                id="0a1b2c3d-0000-4000-8000-00000000000f",
                self_uri="/api/v2/routing/skills/0a1b2c3d-0000-4000-8000-00000000000f",
            ),
            AddressableEntityRef(
                id="0a1b2c3d-0000-4000-8000-000000000010",
                self_uri="/api/v2/routing/skills/0a1b2c3d-0000-4000-8000-000000000010",
            ),
        ),
        skill_expression="billing >= 3 AND german >= 2",
        skill_expression_id="0a1b2c3d-0000-4000-8000-000000000011",
        scored_agents=(
            ScoredAgent(
                agent=DomainEntityRef(
                    id="0a1b2c3d-0000-4000-8000-000000000001",
                    name="Ana Agent",
                    self_uri="/api/v2/users/0a1b2c3d-0000-4000-8000-000000000001",
                ),
                score=93,
            ),
            ScoredAgent(
                agent=DomainEntityRef(
                    id="0a1b2c3d-0000-4000-8000-000000000012",
                    name="Ben Backup",
                    self_uri="/api/v2/users/0a1b2c3d-0000-4000-8000-000000000012",
                ),
                score=0,
            ),
        ),
        label="callback",
    ),
    start_acw_time=_at(9, 25, 0),
    end_acw_time=_at(9, 26, 0),
    park_time=_at(9, 18, 0),
    resume_time=_at(9, 19, 30),
    outbound_preview=DialerPreview(
        id="0a1b2c3d-0000-4000-8000-000000000013",
        contact_id="0a1b2c3d-0000-4000-8000-000000000014",
        contact_list_id="0a1b2c3d-0000-4000-8000-000000000015",
        campaign_id="0a1b2c3d-0000-4000-8000-000000000016",
        phone_number_columns=(
            PhoneNumberColumn(
                column_name="Cell", type="cell", callable_time_column_name="Cell callable time"
            ),
            PhoneNumberColumn(
                column_name="Home", type="home", callable_time_column_name="Home callable time"
            ),
        ),
        callback_auto_answer=True,
    ),
    voicemail=Voicemail(
        id="0a1b2c3d-0000-4000-8000-000000000017", upload_status=UploadStatus.COMPLETE
    ),
    callback_numbers=("+4930123456", "+4915112345678"),
    callback_user_name="Chris Customer",
    external_campaign=False,
    skip_enabled=True,
    timeout_seconds=0,
    automated_callback_config_id="0a1b2c3d-0000-4000-8000-000000000018",
    # Microsecond precision: the codec writes six digits for it.
    callback_scheduled_time=datetime(2026, 3, 2, 8, 0, 0, 123_456, tzinfo=UTC),
)


def _absent(obj: Any, path: str = "$") -> list[str]:
    """Paths of every property of ``obj`` (at any depth) that is None or an empty collection."""
    out: list[str] = []
    for spec in fields_of(type(obj)):
        value = getattr(obj, spec.attr)
        here = f"{path}.{spec.wire}"
        if value is None or (isinstance(value, str | tuple | dict) and not value):
            out.append(here)
        elif spec.kind is Kind.OBJECT:
            out.extend(_absent(value, here))
        elif spec.kind is Kind.OBJECT_LIST:
            for i, item in enumerate(value):
                out.extend(_absent(item, f"{here}[{i}]"))
    return out


def assert_sdk_model_matches(ours: Any, sdk: Any, path: str = "$") -> None:
    """Our object and the SDK's model hold the same values, property by property, at any depth."""
    assert type(sdk).__name__ == type(ours).__name__, path
    for spec in fields_of(type(ours)):
        value, sdk_value = getattr(ours, spec.attr), getattr(sdk, spec.attr)
        here = f"{path}.{spec.wire}"
        if value is None:
            assert sdk_value is None, here
        elif spec.kind is Kind.DATETIME:
            assert isinstance(sdk_value, datetime), here
            assert sdk_value == value, here  # the same instant
            assert sdk_value.utcoffset() is not None, here
        elif spec.kind is Kind.ENUM:
            assert sdk_value == str(value), here
        elif spec.kind is Kind.STRING_LIST:
            assert sdk_value == list(value), here
        elif spec.kind is Kind.STRING_MAP:
            assert sdk_value == dict(value), here
        elif spec.kind is Kind.OBJECT:
            assert_sdk_model_matches(value, sdk_value, here)
        elif spec.kind is Kind.OBJECT_LIST:
            assert isinstance(sdk_value, list), here
            assert len(sdk_value) == len(value), here
            for i, (item, sdk_item) in enumerate(zip(value, sdk_value, strict=True)):
                assert_sdk_model_matches(item, sdk_item, f"{here}[{i}]")
        else:
            assert sdk_value == value, here
            assert type(sdk_value) is type(value), here  # a bool stays a bool, an int an int


def test_the_full_participant_is_full_and_valid() -> None:
    assert _absent(FULL) == []
    assert check(FULL, edition=Edition.SDK_269) == []
    # The SDK knows every enum value used, so nothing here is lossy.
    assert sdk_view(FULL) == FULL


def test_full_participant_survives_the_sdk_field_by_field() -> None:
    model, text, back = through_sdk(FULL, Edition.SDK_269)
    assert_sdk_model_matches(FULL, model)
    assert back == FULL
    for spec in fields_of(CallbackMediaParticipant):
        assert getattr(back, spec.attr) == getattr(FULL, spec.attr), spec.wire
    assert_sdk_model_matches(back, model)

    # Spot checks through the SDK's own attribute names.
    assert model.wrapup.duration_seconds == 42
    assert model.wrapup.tags == ["billing", "vip"]
    assert model.wrapup.provisional is False
    assert model.journey_context.triggering_action.action_map.version == 7
    assert model.journey_context.customer.id_type == "cookie"
    assert model.conversation_routing_data.scored_agents[1].agent.name == "Ben Backup"
    assert model.conversation_routing_data.scored_agents[1].score == 0
    assert model.conversation_routing_data.skills[1].self_uri.endswith("000000000010")
    assert model.outbound_preview.phone_number_columns[0].callable_time_column_name == (
        "Cell callable time"
    )
    assert model.outbound_preview.callback_auto_answer is True
    assert model.voicemail.upload_status == "complete"
    assert model.disconnect_type == "transfer.donotdisturb"
    assert model.attributes == {"orderId": "A-1001", "tier": "gold", "note": "Grüße, 你好"}
    assert model.timeout_seconds == 0
    assert model.media_roles == ["full", "listen"]

    # The SDK's datetime forms, read back to equal instants.
    sdk_json = json.loads(text)
    assert sdk_json["startTime"] == "2026-03-02T09:15:00+00:00"
    assert sdk_json["connectedTime"] == "2026-03-02T09:16:05.250000+00:00"
    assert sdk_json["callbackScheduledTime"] == "2026-03-02T08:00:00.123456+00:00"
    assert sdk_json["wrapup"]["endTime"] == "2026-03-02T09:25:42+00:00"
    assert back.connected_time == FULL.connected_time
    # The same JSON shape as the codec's, key for key, at every depth; only datetime text differs.
    assert _shape(sdk_json) == _shape(codec.encode(FULL))


def _shape(value: Any) -> Any:
    """A JSON value with every string that is a datetime replaced by its instant."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(v) for v in value]
    if isinstance(value, str) and re.match(r"\d{4}-\d{2}-\d{2}T", value):
        return parse_datetime(value)
    return value


def test_the_seed_edition_of_the_full_participant_survives_the_sdk() -> None:
    """Seed decoding drops the sdk-269 properties (codec rule, not the SDK's); the rest survives."""
    seed = attrs.evolve(
        FULL,
        start_alerting_time=None,
        media_roles=None,
        external_contact_initial_division_id=None,
        park_time=None,
        resume_time=None,
        disconnect_type=DisconnectType.TRANSFER,
    )
    model, _text, back = through_sdk(seed, Edition.SEED)
    assert_sdk_model_matches(seed, model)
    assert back == seed
    # The SDK itself keeps the sdk-269 properties of the full participant even when the codec
    # reads its output with the seed edition.
    model, text, back = through_sdk(FULL, Edition.SEED)
    assert model.park_time == FULL.park_time
    assert "parkTime" in json.loads(text)
    assert back.park_time is None


# --------------------------------------------------------------------------------------------
# 4. The lossy spots, each demonstrated


def wire_name(attr: str) -> str:
    """The wire name of a participant property."""
    (spec,) = [s for s in fields_of(CallbackMediaParticipant) if s.attr == attr]
    return spec.wire


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("state", "OutdatedSdkVersion"),
        ("state", "onhold"),
        ("direction", "OutdatedSdkVersion"),
        ("direction", "sideways"),
        ("disconnect_type", "OutdatedSdkVersion"),
        ("disconnect_type", "transfer.voicemail"),
        ("flagged_reason", "OutdatedSdkVersion"),
        ("flagged_reason", "abuse"),
    ],
)
def test_lossy_1_unknown_enum_values_become_outdated_sdk_version(field: str, value: str) -> None:
    participant = attrs.evolve(FULL, **{field: value})
    model, text, back = through_sdk(participant, Edition.SDK_269)
    assert getattr(model, field) == SDK_UNKNOWN
    assert json.loads(text)[wire_name(field)] == SDK_UNKNOWN
    assert getattr(back, field) == SDK_UNKNOWN
    assert back != participant  # lost: the original value is gone
    assert back == attrs.evolve(participant, **{field: SDK_UNKNOWN}) == sdk_view(participant)


@pytest.mark.parametrize("value", ["OutdatedSdkVersion", "archived"])
def test_lossy_1_applies_to_nested_enums_too(value: str) -> None:
    participant = attrs.evolve(FULL, voicemail=Voicemail(id="v-1", upload_status=value))
    model, _text, back = through_sdk(participant, Edition.SDK_269)
    assert model.voicemail.upload_status == SDK_UNKNOWN
    assert back.voicemail == Voicemail(id="v-1", upload_status=SDK_UNKNOWN)
    assert back == sdk_view(participant)


def test_the_sdk_matches_enum_values_case_insensitively_and_keeps_the_spelling() -> None:
    """Not lossy: ``ALERTING`` is a known state to the SDK and an unknown string to the codec, and
    both keep it as written."""
    participant = attrs.evolve(FULL, state="ALERTING", direction="Outbound")
    assert participant.state == "ALERTING"
    assert not isinstance(participant.state, State)  # the codec's table is case-sensitive
    model, _text, back = through_sdk(participant, Edition.SDK_269)
    assert model.state == "ALERTING"
    assert model.direction == "Outbound"
    assert back == participant


def test_lossy_2_the_sdk_drops_unknown_properties() -> None:
    payload = codec.encode(FULL)
    payload["someFutureProperty"] = "kept by the codec's rules, dropped by the SDK"
    payload["wrapup"] = {**payload["wrapup"], "futureNested": 1}
    payload["conversationRoutingData"]["scoredAgents"][0]["futureInList"] = True
    model = sdk_read(json.dumps(payload))
    out = json.loads(sdk_write(model))
    assert "someFutureProperty" not in out
    assert not hasattr(model, "some_future_property")
    assert "futureNested" not in out["wrapup"]
    assert "futureInList" not in out["conversationRoutingData"]["scoredAgents"][0]
    # Everything the model defines is still there.
    assert codec.decode(out, edition=Edition.SDK_269) == FULL
    # The codec accepts such extras as valid (and also does not keep them).
    assert codec.decode(payload, edition=Edition.SDK_269) == FULL


def test_lossy_3_the_models_to_json_is_not_the_wire_form() -> None:
    """``to_json()`` writes Python attribute names and nulls; the codec reads those as unknown
    extras, so only the properties whose name is one word (``id``, ``state``...) survive."""
    model = sdk_read(codec.dumps(FULL))
    raw = json.loads(model.to_json())
    assert "start_time" in raw
    assert "startTime" not in raw
    back = codec.loads_participant(model.to_json(), edition=Edition.SDK_269)
    assert back.id == FULL.id
    assert back.state == FULL.state
    assert back.start_time is None  # lost
    assert back.wrapup is not None
    assert back.wrapup.duration_seconds is None  # lost: the nested dict is snake_case too
    # sanitize_for_serialization is the wire form.
    assert codec.loads_participant(sdk_write(model), edition=Edition.SDK_269) == FULL


@pytest.mark.parametrize(
    "payload",
    [
        {"state": None},
        {"direction": None},
        {"disconnectType": None},
        {"flaggedReason": None},
        {"voicemail": {"id": "v-1", "uploadStatus": None}},
    ],
)
def test_explicit_null_enum_breaks_the_sdk_and_the_codec_never_writes_one(
    payload: dict[str, Any],
) -> None:
    with pytest.raises(AttributeError):
        sdk_read(json.dumps(payload))
    # The codec reads null as absent ...
    assert codec.decode(payload, edition=Edition.SDK_269) == CallbackMediaParticipant(
        voicemail=Voicemail(id="v-1") if "voicemail" in payload else None
    )
    # ... and writes no null at all, for the fullest participant and the emptiest.
    assert b"null" not in codec.dumps(FULL)
    assert codec.dumps(CallbackMediaParticipant()) == b"{}"


def test_null_for_other_properties_is_read_as_absent_by_both() -> None:
    payload = {
        "id": "p-1",
        "name": None,
        "startTime": None,
        "wrapup": None,
        "callbackNumbers": None,
    }
    model = sdk_read(json.dumps(payload))
    assert json.loads(sdk_write(model)) == {"id": "p-1"}
    assert codec.decode(payload) == CallbackMediaParticipant(id="p-1")
