"""The codec: participants to and from their JSON wire form."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest

from callbacksim.codec import decode, dumps, dumps_payload, encode, loads, loads_participant
from callbacksim.errors import CallbacksimError, DecodeError, JsonError
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
)
from callbacksim.schema import participant_fields

SEED = Edition.SEED
SDK = Edition.SDK_269

PLUS2 = timezone(timedelta(hours=2))


def at(minute: int, second: int = 0, ms: int = 0) -> datetime:
    return datetime(2026, 11, 24, 3, minute, second, ms * 1000, tzinfo=UTC)


def ref(n: str) -> DomainEntityRef:
    return DomainEntityRef(id=f"{n}-id", name=f"{n} name", self_uri=f"/api/v2/{n}")


def full_participant() -> CallbackMediaParticipant:
    """Every property and every nested property set, in the sdk-269 edition."""
    return CallbackMediaParticipant(
        id="p-1",
        name="Ada",
        address="tel:+15550100",
        start_time=at(0),
        start_alerting_time=at(1),
        connected_time=at(2),
        end_time=at(30),
        start_hold_time=at(5, 0, 250),
        purpose="customer",
        state=State.DISCONNECTED,
        direction=Direction.OUTBOUND,
        disconnect_type=DisconnectType.TRANSFER_NOANSWER,
        held=False,
        wrapup_required=True,
        wrapup_prompt="mandatory",
        media_roles=("full", "reduced"),
        user=ref("user"),
        queue=ref("queue"),
        team=ref("team"),
        attributes={"crm": "42", "": "empty key", "ünïcode": "✓"},
        error_info=ErrorInfo(message="boom", code="E1"),
        script=ref("script"),
        wrapup_timeout_ms=60_000,
        wrapup_skipped=False,
        alerting_timeout_ms=0,
        provider="PureCloud",
        external_contact=ref("contact"),
        external_contact_initial_division_id="div-1",
        external_organization=ref("org"),
        wrapup=Wrapup(
            code="resolved",
            name="Resolved",
            notes="called back",
            tags=("a", "b"),
            duration_seconds=17,
            end_time=at(40, 1, 999),
            provisional=True,
        ),
        peer="peer-1",
        flagged_reason=FlaggedReason.GENERAL,
        journey_context=JourneyContext(
            customer=JourneyCustomer(id="c-1", id_type="cookie"),
            customer_session=JourneyCustomerSession(id="s-1", type="web"),
            triggering_action=JourneyAction(
                id="a-1", action_map=JourneyActionMap(id="m-1", version=3)
            ),
        ),
        conversation_routing_data=ConversationRoutingData(
            queue=AddressableEntityRef(id="q-1", self_uri="/q/1"),
            language=AddressableEntityRef(id="en", self_uri="/l/en"),
            priority=5,
            skills=(
                AddressableEntityRef(id="sk-1", self_uri="/s/1"),
                AddressableEntityRef(id="sk-2", self_uri="/s/2"),
            ),
            skill_expression="java AND go",
            skill_expression_id="se-1",
            scored_agents=(ScoredAgent(agent=ref("agent"), score=90),),
            label="vip",
        ),
        start_acw_time=at(31),
        end_acw_time=at(40),
        park_time=at(3),
        resume_time=at(4),
        outbound_preview=DialerPreview(
            id="pv-1",
            contact_id="ct-1",
            contact_list_id="cl-1",
            campaign_id="cp-1",
            phone_number_columns=(
                PhoneNumberColumn(column_name="cell", type="mobile", callable_time_column_name="t"),
            ),
            callback_auto_answer=True,
        ),
        voicemail=Voicemail(id="vm-1", upload_status=UploadStatus.COMPLETE),
        callback_numbers=("+15550100", "+15550101"),
        callback_user_name="Ada L.",
        external_campaign=False,
        skip_enabled=True,
        timeout_seconds=120,
        automated_callback_config_id="acc-1",
        callback_scheduled_time=datetime(2026, 11, 25, 11, 0, tzinfo=PLUS2),
    )


def unset_fields(obj: Any, path: str = "$") -> list[str]:
    """Paths of every attrs field left None, at every depth (lists: every item)."""
    missing = []
    for a in attrs.fields(type(obj)):
        value = getattr(obj, a.name)
        here = f"{path}.{a.name}"
        if value is None:
            missing.append(here)
        elif attrs.has(type(value)):
            missing += unset_fields(value, here)
        elif isinstance(value, tuple):
            for i, item in enumerate(value):
                if attrs.has(type(item)):
                    missing += unset_fields(item, f"{here}[{i}]")
    return missing


# --------------------------------------------------------------------------------------------
# Round trips


def test_full_participant_sets_everything() -> None:
    # If the model gains a property, full_participant() must set it for the round trip to mean much.
    assert unset_fields(full_participant()) == []


def test_roundtrip_full_participant() -> None:
    p = full_participant()
    assert decode(encode(p), edition=SDK) == p
    assert loads_participant(dumps(p), edition=SDK) == p
    assert decode(loads(dumps(p)), edition=SDK) == p


def test_roundtrip_is_json_only() -> None:
    wire = encode(full_participant())
    # Only JSON types: the stdlib encoder would refuse anything else (tuples become lists too).
    assert json.loads(json.dumps(wire, allow_nan=False)) == wire
    assert loads(dumps(full_participant())) == wire


def test_seed_edition_drops_sdk_269_properties() -> None:
    p = full_participant()
    wire = encode(p)
    seed = decode(wire, edition=SEED)
    assert seed == attrs.evolve(
        p,
        start_alerting_time=None,
        media_roles=None,
        external_contact_initial_division_id=None,
        park_time=None,
        resume_time=None,
    )
    assert decode(encode(seed), edition=SEED) == seed
    assert set(encode(seed)) == set(participant_fields(SEED))


def test_encoded_names_are_the_edition_properties() -> None:
    assert set(encode(full_participant())) == set(participant_fields(SDK))


# --------------------------------------------------------------------------------------------
# Encoding


def test_encode_camel_case_and_formats() -> None:
    p = CallbackMediaParticipant(
        start_acw_time=datetime(2026, 11, 24, 5, 38, 49, 123_000, tzinfo=PLUS2),
        external_contact_initial_division_id="d",
        state=State.CONNECTED,
        disconnect_type="some.future.type",
        wrapup=Wrapup(duration_seconds=0, end_time=datetime(2026, 11, 24, 3, 38, 49, tzinfo=UTC)),
        conversation_routing_data=ConversationRoutingData(
            skill_expression_id="x",
            scored_agents=(ScoredAgent(agent=DomainEntityRef(self_uri="/u"), score=1),),
        ),
        journey_context=JourneyContext(
            customer=JourneyCustomer(id_type="t"),
            customer_session=JourneyCustomerSession(type="web"),
            triggering_action=JourneyAction(action_map=JourneyActionMap(version=2)),
        ),
        outbound_preview=DialerPreview(
            phone_number_columns=(PhoneNumberColumn(callable_time_column_name="c"),),
            callback_auto_answer=False,
        ),
        voicemail=Voicemail(upload_status=UploadStatus.TIMEOUT),
        callback_numbers=["+1"],
    )
    assert encode(p) == {
        "startAcwTime": "2026-11-24T03:38:49.123Z",
        "externalContactInitialDivisionId": "d",
        "state": "connected",
        "disconnectType": "some.future.type",
        "wrapup": {"durationSeconds": 0, "endTime": "2026-11-24T03:38:49.000Z"},
        "conversationRoutingData": {
            "skillExpressionId": "x",
            "scoredAgents": [{"agent": {"selfUri": "/u"}, "score": 1}],
        },
        "journeyContext": {
            "customer": {"idType": "t"},
            "customerSession": {"type": "web"},
            "triggeringAction": {"actionMap": {"version": 2}},
        },
        "outboundPreview": {
            "phoneNumberColumns": [{"callableTimeColumnName": "c"}],
            "callbackAutoAnswer": False,
        },
        "voicemail": {"uploadStatus": "timeout"},
        "callbackNumbers": ["+1"],
    }
    assert json.loads(dumps(p)) == encode(p)


def test_absent_properties_are_omitted() -> None:
    assert encode(CallbackMediaParticipant()) == {}
    assert dumps(CallbackMediaParticipant()) == b"{}"
    assert encode(CallbackMediaParticipant(wrapup=Wrapup())) == {"wrapup": {}}


def test_falsy_values_are_not_absent() -> None:
    p = CallbackMediaParticipant(
        name="",
        held=False,
        timeout_seconds=0,
        callback_numbers=(),
        attributes={},
        wrapup=Wrapup(tags=(), provisional=False, duration_seconds=0),
    )
    wire = encode(p)
    assert wire == {
        "name": "",
        "held": False,
        "timeoutSeconds": 0,
        "callbackNumbers": [],
        "attributes": {},
        "wrapup": {"tags": [], "provisional": False, "durationSeconds": 0},
    }
    assert decode(wire) == p


def test_encode_writes_utc_milliseconds() -> None:
    p = CallbackMediaParticipant(
        start_time=datetime(
            2026, 11, 23, 22, 8, 49, 5000, tzinfo=timezone(-timedelta(hours=5, minutes=30))
        ),
        end_time=datetime(2026, 11, 24, 3, 38, 49, 123_456, tzinfo=UTC),
    )
    wire = encode(p)
    assert wire["startTime"] == "2026-11-24T03:38:49.005Z"
    # Sub-millisecond digits are not lost.
    assert wire["endTime"] == "2026-11-24T03:38:49.123456Z"
    assert decode(wire) == p


# --------------------------------------------------------------------------------------------
# Decoding


def test_decode_any_rfc3339_form() -> None:
    p = decode(
        {
            "startTime": "2026-11-24t05:38:49.1234567+02:00",
            "endTime": "2026-11-24T03:38:49z",
        }
    )
    assert p.start_time == datetime(2026, 11, 24, 3, 38, 49, 123_456, tzinfo=UTC)
    assert p.end_time == datetime(2026, 11, 24, 3, 38, 49, tzinfo=UTC)
    assert encode(p)["startTime"] == "2026-11-24T03:38:49.123456Z"


def test_null_is_absent() -> None:
    assert decode(dict.fromkeys(participant_fields(SDK)), edition=SDK) == (
        CallbackMediaParticipant()
    )
    nested = {
        "wrapup": {"code": None, "tags": None, "endTime": None, "durationSeconds": None},
        "voicemail": {"uploadStatus": None},
        "journeyContext": {"customer": None, "triggeringAction": {"actionMap": None}},
        "conversationRoutingData": {"skills": None, "scoredAgents": [{"agent": None}]},
    }
    assert decode(nested) == CallbackMediaParticipant(
        wrapup=Wrapup(),
        voicemail=Voicemail(),
        journey_context=JourneyContext(triggering_action=JourneyAction()),
        conversation_routing_data=ConversationRoutingData(scored_agents=(ScoredAgent(),)),
    )


def test_unknown_properties_are_ignored() -> None:
    p = decode(
        {
            "name": "x",
            "someFutureProperty": {"a": [1, 2.5]},
            "wrapup": {"code": "c", "someFutureNested": True},
            "conversationRoutingData": {"skills": [{"id": "s", "weight": 0.5}]},
        }
    )
    assert p == CallbackMediaParticipant(
        name="x",
        wrapup=Wrapup(code="c"),
        conversation_routing_data=ConversationRoutingData(skills=(AddressableEntityRef(id="s"),)),
    )


def test_sdk_269_properties_kept_only_by_that_edition() -> None:
    payload = {
        "startAlertingTime": "2026-11-24T03:38:49Z",
        "parkTime": "2026-11-24T05:38:49+02:00",
        "resumeTime": "2026-11-24T03:39:00Z",
        "mediaRoles": ["full"],
        "externalContactInitialDivisionId": "div",
    }
    assert decode(payload, edition=SEED) == CallbackMediaParticipant()
    p = decode(payload, edition=SDK)
    assert p == CallbackMediaParticipant(
        start_alerting_time=datetime(2026, 11, 24, 3, 38, 49, tzinfo=UTC),
        park_time=datetime(2026, 11, 24, 3, 38, 49, tzinfo=UTC),
        resume_time=datetime(2026, 11, 24, 3, 39, tzinfo=UTC),
        media_roles=("full",),
        external_contact_initial_division_id="div",
    )
    # In the seed edition these are unknown extras: not even their types are checked.
    assert decode({"parkTime": 5, "mediaRoles": "full"}, edition=SEED) == CallbackMediaParticipant()
    with pytest.raises(DecodeError) as excinfo:
        decode({"parkTime": 5, "mediaRoles": "full"}, edition=SDK)
    assert {(v.rule, v.path) for v in excinfo.value.violations} == {
        ("type.parkTime", "$.parkTime"),
        ("type.mediaRoles", "$.mediaRoles"),
    }


@pytest.mark.parametrize(
    ("key", "value", "member"),
    [
        ("state", "connected", State.CONNECTED),
        ("state", "OutdatedSdkVersion", State.OUTDATED_SDK_VERSION),
        ("direction", "inbound", Direction.INBOUND),
        ("disconnectType", "transfer.noanswer", DisconnectType.TRANSFER_NOANSWER),
        ("flaggedReason", "general", FlaggedReason.GENERAL),
    ],
)
def test_known_enum_values_become_members(key: str, value: str, member: Any) -> None:
    p = decode({key: value})
    attr = {"disconnectType": "disconnect_type", "flaggedReason": "flagged_reason"}.get(key, key)
    assert getattr(p, attr) is member
    assert encode(p) == {key: value}


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("state", "someFutureState"),
        ("state", "Connected"),
        ("direction", "sideways"),
        ("disconnectType", "brand.new.reason"),
        ("flaggedReason", ""),
    ],
)
def test_unknown_enum_values_kept_verbatim(key: str, value: str) -> None:
    p = decode({key: value})
    attr = {"disconnectType": "disconnect_type", "flaggedReason": "flagged_reason"}.get(key, key)
    kept = getattr(p, attr)
    assert kept == value
    assert type(kept) is str
    assert encode(p) == {key: value}
    assert json.loads(dumps(p)) == {key: value}


def test_nested_enum_values() -> None:
    assert decode({"voicemail": {"uploadStatus": "pending"}}).voicemail == Voicemail(
        upload_status=UploadStatus.PENDING
    )
    vm = decode({"voicemail": {"uploadStatus": "archived"}}).voicemail
    assert vm is not None
    assert vm.upload_status == "archived"
    assert type(vm.upload_status) is str


@pytest.mark.parametrize("value", [2.0, 2e3, 1.5, True, False, "2", -0.0])
def test_integers_must_be_json_integers(value: Any) -> None:
    with pytest.raises(DecodeError) as excinfo:
        decode({"timeoutSeconds": value})
    assert [(v.rule, v.path) for v in excinfo.value.violations] == [
        ("type.timeoutSeconds", "$.timeoutSeconds")
    ]


@pytest.mark.parametrize("text", ["2.0", "2e3", "2E3", "2.5e1", "-0.0"])
def test_integers_must_be_json_integers_on_the_wire(text: str) -> None:
    data = '{"wrapup": {"durationSeconds": %s}}' % text  # noqa: UP031
    with pytest.raises(DecodeError, match=r"\$\.wrapup\.durationSeconds"):
        loads_participant(data)


def test_integers_beyond_64_bits() -> None:
    big = 2**70
    below = -(2**63) - 1
    data = f'{{"timeoutSeconds": {big}, "wrapupTimeoutMs": {2**64}, "alertingTimeoutMs": {below}}}'
    payload = loads(data)
    assert payload == {
        "timeoutSeconds": big,
        "wrapupTimeoutMs": 2**64,
        "alertingTimeoutMs": below,
    }
    assert all(type(v) is int for v in payload.values())
    p = loads_participant(data)
    assert p.timeout_seconds == big
    assert loads_participant(dumps(p)) == p
    assert loads(dumps_payload(payload)) == payload


def test_decode_does_not_judge_semantic_rules() -> None:
    payload = {
        "state": "disconnected",
        "held": True,
        "startTime": "2026-11-24T04:00:00Z",
        "connectedTime": "2026-11-24T03:00:00Z",
        "timeoutSeconds": -1,
    }
    p = decode(payload)
    assert p.state is State.DISCONNECTED
    assert p.timeout_seconds == -1


def test_decode_error_lists_every_problem() -> None:
    payload = {
        "held": "yes",
        "timeoutSeconds": 2.0,
        "startTime": "2026-11-24 03:38:49Z",
        "wrapup": {"durationSeconds": True, "tags": ["a", 1]},
        "conversationRoutingData": {"skills": [{"id": "s"}, "s2"]},
        "attributes": {"k": 5},
        "state": "disconnected",  # a semantic problem: not reported by decode
    }
    with pytest.raises(DecodeError) as excinfo:
        decode(payload)
    error = excinfo.value
    expected = {
        ("type.held", "$.held"),
        ("type.timeoutSeconds", "$.timeoutSeconds"),
        ("datetime.format", "$.startTime"),
        ("type.wrapup", "$.wrapup.durationSeconds"),
        ("type.wrapup", "$.wrapup.tags[1]"),
        ("type.conversationRoutingData", "$.conversationRoutingData.skills[1]"),
        ("type.attributes", "$.attributes.k"),
    }
    assert {(v.rule, v.path) for v in error.violations} == expected
    assert len(error.violations) == len(expected)
    text = str(error)
    assert "7 problem" in text
    for rule, path in expected:
        assert path in text
        assert rule in text
    assert "'yes'" in text
    assert isinstance(error, ValueError)
    assert isinstance(error, CallbacksimError)


@pytest.mark.parametrize("payload", [[], "x", None, 5, [{"id": "a"}]])
def test_decode_refuses_non_objects(payload: Any) -> None:
    with pytest.raises(DecodeError) as excinfo:
        decode(payload)
    assert [(v.rule, v.path) for v in excinfo.value.violations] == [("json.object", "$")]


# --------------------------------------------------------------------------------------------
# loads / dumps_payload


@pytest.mark.parametrize(
    "data",
    [
        "NaN",
        "[NaN]",
        "[Infinity]",
        '{"a": -Infinity}',
        "nan",
        # A document the fast parser refuses for another reason must still refuse the constants.
        '["\\ud800", NaN]',
        f"[{2**70}, Infinity]",
        # Numbers that overflow a double are infinities in disguise.
        "[1e400]",
        '["\\ud800", -1e999]',
        "{",
        "",
        "   ",
        "{'a': 1}",
        '{"a": 1} x',
        '{"a": 1,}',
        "[1,]",
        "[01]",
        '{"a" 1}',
        b"\xff",
        b'{"a": "\xff"}',
    ],
)
def test_loads_refuses_non_json(data: str | bytes) -> None:
    with pytest.raises(JsonError, match="not a JSON document"):
        loads(data)


def test_json_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="not a JSON document"):
        loads("{")
    assert issubclass(JsonError, CallbacksimError)


@pytest.mark.parametrize(
    ("data", "value"),
    [
        ('{"name": "\\ud800"}', {"name": "\ud800"}),
        (b'{"name": "a\\udfffb"}', {"name": "a\udfffb"}),
        (f"[{2**64}]", [2**64]),
        (f"{-(2**70)}", -(2**70)),
        ('{"a": [1, 2.5, "x", true, null]}', {"a": [1, 2.5, "x", True, None]}),
        (b'{"name": "\xc3\xa9"}', {"name": "é"}),
        # Long digit runs inside strings and fractions are not integers.
        ('{"n": "12345678901234567890123"}', {"n": "12345678901234567890123"}),
        ("[0.1234567890123456789012]", [0.1234567890123456789012]),
    ],
)
def test_loads_accepts(data: str | bytes, value: Any) -> None:
    loaded = loads(data)
    assert loaded == value
    assert repr(loaded) == repr(value)  # the same types at every depth: no int read as a float


def test_lone_surrogates_decode_and_dump() -> None:
    p = loads_participant('{"name": "\\ud800", "callbackNumbers": ["\\udc00x"]}')
    assert p.name == "\ud800"
    assert p.callback_numbers == ("\udc00x",)
    data = dumps(p)
    assert b"\\ud800" in data
    assert loads_participant(data) == p


def test_dumps_payload() -> None:
    assert dumps_payload({"a": [1, "é", None, True]}) == '{"a":[1,"é",null,true]}'.encode()
    surrogate = dumps_payload({"name": "\ud800", "ok": "é"})
    assert surrogate == b'{"name":"\\ud800","ok":"\\u00e9"}'
    assert loads(surrogate) == {"name": "\ud800", "ok": "é"}
    big = dumps_payload({"timeoutSeconds": 2**70, "n": -(2**64)})
    assert big == b'{"timeoutSeconds":1180591620717411303424,"n":-18446744073709551616}'
    assert loads(big) == {"timeoutSeconds": 2**70, "n": -(2**64)}
    # Invalid payloads are written as they are, for the rules to judge.
    assert loads(dumps_payload({"held": "yes", "timeoutSeconds": 2.0})) == {
        "held": "yes",
        "timeoutSeconds": 2.0,
    }
    assert loads(dumps_payload([1, 2])) == [1, 2]


# --------------------------------------------------------------------------------------------
# The model refuses naive datetimes.


def test_model_refuses_naive_datetimes() -> None:
    naive = datetime(2026, 11, 24, 3, 38, 49)
    with pytest.raises(ValueError, match="start_time") as excinfo:
        CallbackMediaParticipant(start_time=naive)
    message = str(excinfo.value)
    assert "timezone-aware" in message
    assert "naive" in message
    with pytest.raises(ValueError, match="end_time"):
        Wrapup(end_time=naive)
    with pytest.raises(ValueError, match="park_time"):
        attrs.evolve(CallbackMediaParticipant(), park_time=naive)
    assert CallbackMediaParticipant(start_time=naive.replace(tzinfo=UTC)).start_time is not None
