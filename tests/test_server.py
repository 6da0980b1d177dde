"""The reference target: every row and rule of the participant store contract."""

from __future__ import annotations

import asyncio
import json
import random
import signal
import tempfile
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from email.message import Message
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from loopback import serving_process

from callbacksim.errors import UsageError
from callbacksim.model import Edition
from callbacksim.rules import RuleSet, check
from callbacksim.target import (
    DEFAULT_MAX_BODY,
    BackgroundServer,
    ServerConfig,
    serve_forever,
    start,
)

TOKEN = "s3cret-token"

# urllib without proxies: the server is on 127.0.0.1.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Answer:
    def __init__(self, status: int, headers: Message[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"Answer({self.status}, {self.body[:300]!r})"


def call(
    url: str,
    method: str = "GET",
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
) -> Answer:
    all_headers = dict(headers or {})
    if body is not None:
        all_headers.setdefault("Content-Type", "application/json")
    request = urllib.request.Request(url, data=body, method=method, headers=all_headers)
    try:
        with _OPENER.open(request, timeout=30) as response:
            return Answer(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        with error:
            return Answer(error.code, error.headers, error.read())


def put(url: str, payload: object, *, seq: int | str | None = None, **headers: str) -> Answer:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    if seq is not None:
        headers["X-Sequence"] = str(seq)
    return call(url, "PUT", body, headers)


def ts(minute: int) -> str:
    return f"2026-11-24T03:{minute:02d}:00.000Z"


def participant(pid: str, **extra: Any) -> dict[str, Any]:
    """A valid connected customer participant (strict rules, seed edition)."""
    payload: dict[str, Any] = {
        "id": pid,
        "name": "Ada Lovelace",
        "address": "tel:+15550100",
        "purpose": "customer",
        "state": "connected",
        "direction": "inbound",
        "startTime": ts(0),
        "connectedTime": ts(1),
        "callbackNumbers": ["+15550100"],
    }
    payload.update(extra)
    return payload


def errors_of(answer: Answer) -> list[str]:
    return [e["rule"] for e in answer.json()["errors"]]


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with BackgroundServer(ServerConfig()) as url:
        yield url


@pytest.fixture
def conv(server: str) -> str:
    """A fresh conversation's URL on the shared server."""
    return f"{server}/conversations/c-{uuid.uuid4().hex[:12]}"


def test_valid_participant_round_trips(conv: str) -> None:
    payload = participant("p1")
    assert check(payload, path_id="p1") == []
    answer = put(f"{conv}/participants/p1", payload)
    assert 200 <= answer.status < 300, answer
    got = call(f"{conv}/participants/p1")
    assert got.status == 200
    assert got.headers["Content-Type"].startswith("application/json")
    assert got.json() == payload


def test_unknown_enum_values_and_extra_properties_are_kept(conv: str) -> None:
    payload = participant(
        "p1",
        state="hibernating",
        direction="sideways",
        parkTime=ts(2),
        vendorExtension={"nested": [1, 2.5, None, True, "x"]},
        connectedTime=None,
    )
    assert check(payload, path_id="p1") == []
    assert 200 <= put(f"{conv}/participants/p1", payload).status < 300
    assert call(f"{conv}/participants/p1").json() == payload


def test_id_may_be_left_out(conv: str) -> None:
    payload = participant("p1")
    del payload["id"]
    assert 200 <= put(f"{conv}/participants/p1", payload).status < 300
    assert call(f"{conv}/participants/p1").json() == payload


def test_invalid_participant_answers_422_with_the_rules_of_check(conv: str) -> None:
    payload = participant(
        "p1",
        startTime=ts(5),
        held="yes",
        timeoutSeconds=-3,
        endTime="yesterday",
        wrapup={"durationSeconds": "long"},
    )
    expected = check(payload, path_id="p1")
    assert len(expected) >= 4
    answer = put(f"{conv}/participants/p1", payload)
    assert answer.status == 422, answer
    assert answer.headers["Content-Type"].startswith("application/json")
    errors = answer.json()["errors"]
    assert [e["rule"] for e in errors] == [v.rule for v in expected]
    assert [e["path"] for e in errors] == [v.path for v in expected]
    assert all(isinstance(e["message"], str) and e["message"] for e in errors)
    assert call(f"{conv}/participants/p1").status == 404


def test_invalid_write_leaves_the_stored_participant(conv: str) -> None:
    good = participant("p1")
    assert put(f"{conv}/participants/p1", good, seq=1).status == 201
    bad = participant("p1", timeoutSeconds=-1)
    assert put(f"{conv}/participants/p1", bad, seq=2).status == 422
    assert call(f"{conv}/participants/p1").json() == good


@pytest.mark.parametrize(
    "body", [b"", b"{", b"not json", b'{"id": "p1",}', b"NaN", b"[1e400]", b"\xff\xfe{}"]
)
def test_a_body_that_is_not_json_answers_400_json_object(conv: str, body: bytes) -> None:
    answer = put(f"{conv}/participants/p1", body)
    assert answer.status == 400, answer
    assert errors_of(answer) == ["json.object"]
    assert answer.json()["errors"][0]["path"] == "$"


@pytest.mark.parametrize("body", [b"[]", b'[{"id": "p1"}]', b'"p1"', b"42", b"null", b"true"])
def test_json_that_is_not_an_object_answers_422_json_object(conv: str, body: bytes) -> None:
    answer = put(f"{conv}/participants/p1", body)
    assert answer.status == 422, answer
    assert errors_of(answer) == ["json.object"]


def test_id_mismatch_answers_422_id_matches_path(conv: str) -> None:
    answer = put(f"{conv}/participants/p1", participant("p2"))
    assert answer.status == 422, answer
    assert errors_of(answer) == ["id.matches-path"]
    assert answer.json()["errors"][0]["path"] == "$.id"


def test_deeply_nested_bodies_are_client_errors(conv: str) -> None:
    for body in (b"[" * 100_000, b'{"a":' * 5_000 + b"1" + b"}" * 5_000):
        answer = put(f"{conv}/participants/p1", body)
        assert answer.status == 400, answer
        assert errors_of(answer) == ["json.object"]


@pytest.mark.parametrize(
    "body",
    [
        b'{"id": "p1", "name": "\\ud800"}',
        b'{"id": "p1", "name": "a\\udfffb", "\\ud800": "\\udbff"}',
        b'{"id": "p1\\ud800"}',
        b'{"id": "p1", "state": "\\ud800", "startTime": "\\ud800"}',
        b'{"id": "p1", "timeoutSeconds": 123456789012345678901234567890}',
        b'{"id": "p1", "held": "\\ud800", "x": [123456789012345678901234567890, "\\udc00"]}',
        b'["\\ud800"]',
        b'"\\ud800',
    ],
)
def test_lone_surrogates_and_big_integers_never_give_5xx(conv: str, body: bytes) -> None:
    answer = put(f"{conv}/participants/p1", body)
    assert answer.status < 500, answer
    assert answer.status in (200, 201, 400, 422), answer
    answer.json()  # always a JSON answer
    if answer.status < 300:
        stored = call(f"{conv}/participants/p1")
        assert stored.status == 200
        assert stored.json() == json.loads(body)


def test_lone_surrogate_is_stored_and_read_back(conv: str) -> None:
    answer = put(f"{conv}/participants/p1", b'{"id": "p1", "name": "x\\ud800y"}')
    assert answer.status == 201, answer
    assert call(f"{conv}/participants/p1").json() == {"id": "p1", "name": "x\ud800y"}


# --------------------------------------------------------------------------------------------
# X-Sequence


@pytest.mark.parametrize("value", ["1", "7", "0042", str(2**63 - 1)])
def test_good_sequences_are_accepted(conv: str, value: str) -> None:
    answer = put(f"{conv}/participants/p1", participant("p1"), seq=value)
    assert answer.status == 201, answer
    assert answer.json()["sequence"] == int(value)


@pytest.mark.parametrize(
    "value", ["0", "-1", "1.5", "abc", "", "+1", "1e3", "0x10", "\u00b2", "1 2", str(2**63)]
)
def test_malformed_sequences_answer_400(conv: str, value: str) -> None:
    url = f"{conv}/participants/p1"
    answer = put(url, participant("p1"), seq=value)
    assert answer.status == 400, answer
    assert "X-Sequence" in answer.json()["error"]
    assert call(url).status == 404


def test_malformed_sequence_leaves_the_stored_participant(conv: str) -> None:
    url = f"{conv}/participants/p1"
    first = participant("p1")
    assert put(url, first, seq=3).status == 201
    assert put(url, participant("p1", name="Other"), seq="x").status == 400
    assert call(url).json() == first


def test_stale_sequence_answers_409_and_keeps_the_state(conv: str) -> None:
    url = f"{conv}/participants/p1"
    newer = participant("p1", name="Newer")
    assert put(url, newer, seq=5).status == 201
    answer = put(url, participant("p1", name="Older"), seq=4)
    assert answer.status == 409, answer
    assert "error" in answer.json()
    assert put(url, participant("p1", name="Oldest"), seq=1).status == 409
    assert call(url).json() == newer


def test_higher_sequence_replaces(conv: str) -> None:
    url = f"{conv}/participants/p1"
    assert put(url, participant("p1", name="One"), seq=1).status == 201
    later = participant("p1", name="Nine")
    assert put(url, later, seq=9).status == 200
    assert call(url).json() == later


def test_same_sequence_same_body_is_harmless(conv: str) -> None:
    url = f"{conv}/participants/p1"
    payload = participant("p1")
    assert put(url, payload, seq=2).status == 201
    for _ in range(2):
        answer = put(url, payload, seq=2)
        assert 200 <= answer.status < 300, answer
    # Same document, other key order and spacing: still the same body.
    reordered = json.dumps(dict(reversed(payload.items())), indent=2).encode()
    assert 200 <= put(url, reordered, seq=2).status < 300
    assert call(url).json() == payload


def test_same_sequence_different_body_answers_409(conv: str) -> None:
    url = f"{conv}/participants/p1"
    payload = participant("p1")
    assert put(url, payload, seq=2).status == 201
    answer = put(url, participant("p1", name="Someone else"), seq=2)
    assert answer.status == 409, answer
    assert call(url).json() == payload


def test_write_without_sequence_after_sequence_replaces_body_and_keeps_sequence(
    conv: str,
) -> None:
    url = f"{conv}/participants/p1"
    assert put(url, participant("p1", name="First"), seq=5).status == 201
    unsequenced = participant("p1", name="Unsequenced")
    answer = put(url, unsequenced)
    assert 200 <= answer.status < 300, answer
    assert answer.json()["sequence"] == 5
    assert call(url).json() == unsequenced
    # The sequence 5 is still stored: 4 is stale, 6 replaces.
    assert put(url, participant("p1", name="Four"), seq=4).status == 409
    assert call(url).json() == unsequenced
    six = participant("p1", name="Six")
    assert put(url, six, seq=6).status == 200
    assert call(url).json() == six


def test_writes_without_sequence_keep_the_last(conv: str) -> None:
    url = f"{conv}/participants/p1"
    for name in ("A", "B", "C"):
        assert 200 <= put(url, participant("p1", name=name)).status < 300
    assert call(url).json()["name"] == "C"
    # A first sequence after unsequenced writes is accepted.
    assert put(url, participant("p1", name="D"), seq=1).status == 200
    assert call(url).json()["name"] == "D"


def test_sequences_are_per_participant(conv: str, server: str) -> None:
    assert put(f"{conv}/participants/p1", participant("p1"), seq=50).status == 201
    assert put(f"{conv}/participants/p2", participant("p2"), seq=1).status == 201
    other = f"{server}/conversations/other-{uuid.uuid4().hex[:8]}"
    assert put(f"{other}/participants/p1", participant("p1"), seq=1).status == 201


# --------------------------------------------------------------------------------------------
# Reading


def test_conversation_lists_the_latest_of_every_participant(conv: str) -> None:
    latest = {}
    for pid in ("a", "b", "c"):
        assert put(f"{conv}/participants/{pid}", participant(pid, name="old"), seq=1).status == 201
        latest[pid] = participant(pid, name=f"new {pid}")
        assert put(f"{conv}/participants/{pid}", latest[pid], seq=2).status == 200
    answer = call(conv)
    assert answer.status == 200, answer
    got = answer.json()
    assert got["id"] == conv.rsplit("/", 1)[1]
    assert sorted(got["participants"], key=lambda p: p["id"]) == [latest[p] for p in "abc"]


def test_conversation_and_participant_404s(conv: str) -> None:
    assert call(conv).status == 404
    assert call(f"{conv}/participants/p1").status == 404
    assert put(f"{conv}/participants/p1", participant("p1")).status == 201
    assert call(f"{conv}/participants/p2").status == 404
    missing = call(f"{conv}x")
    assert missing.status == 404
    assert "error" in missing.json()


def test_invalid_writes_do_not_create_a_conversation(conv: str) -> None:
    assert put(f"{conv}/participants/p1", b"[]").status == 422
    assert call(conv).status == 404


@pytest.mark.parametrize(
    ("path", "method", "allowed"),
    [
        ("/conversations/c/participants/p", "DELETE", {"GET", "PUT"}),
        ("/conversations/c/participants/p", "POST", {"GET", "PUT"}),
        ("/conversations/c/participants/p", "PATCH", {"GET", "PUT"}),
        ("/conversations/c", "PUT", {"GET"}),
        ("/conversations/c", "DELETE", {"GET"}),
        ("/health", "POST", {"GET"}),
    ],
)
def test_other_methods_answer_405_with_allow(
    server: str, path: str, method: str, allowed: set[str]
) -> None:
    answer = call(server + path, method, b"{}")
    assert answer.status == 405, answer
    assert {m.strip() for m in answer.headers["Allow"].split(",")} == allowed
    assert "error" in answer.json()


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/nope",
        "/conversations",
        "/conversations/",
        "/conversations/c/participants",
        "/conversations/c/participants/",
        "/conversations/c/participants/p/extra",
        "/health/x",
    ],
)
def test_unknown_paths_answer_404(server: str, path: str) -> None:
    for method in ("GET", "PUT"):
        answer = call(server + path, method, b"{}" if method == "PUT" else None)
        assert answer.status == 404, (path, method, answer)
        assert "error" in answer.json()


def test_health(server: str) -> None:
    answer = call(f"{server}/health")
    assert answer.status == 200


# --------------------------------------------------------------------------------------------
# Size limit


def padded(pid: str, size: int) -> bytes:
    """A valid participant whose JSON is exactly ``size`` bytes, padded in a string field."""
    payload = participant(pid, name="")
    base = len(json.dumps(payload).encode())
    payload["name"] = "x" * (size - base)
    body = json.dumps(payload).encode()
    assert len(body) == size
    return body


def test_a_body_of_1_mib_is_accepted(conv: str) -> None:
    for size in (DEFAULT_MAX_BODY - 1, DEFAULT_MAX_BODY):
        url = f"{conv}/participants/p{size}"
        body = padded(f"p{size}", size)
        answer = put(url, body)
        assert answer.status == 201, answer
        assert call(url).json() == json.loads(body)


def test_a_body_over_the_limit_answers_413(conv: str) -> None:
    url = f"{conv}/participants/p1"
    answer = put(url, padded("p1", DEFAULT_MAX_BODY + 1))
    assert answer.status == 413, answer
    assert "error" in answer.json()
    assert call(url).status == 404
    assert put(url, b"[" * (3 * DEFAULT_MAX_BODY)).status == 413


def test_a_chunked_body_over_the_limit_answers_413(conv: str) -> None:
    async def main() -> tuple[int, int]:
        async def chunks(total: int) -> Any:
            sent = 0
            while sent < total:
                size = min(64 * 1024, total - sent)
                yield b" " * size
                sent += size

        async with aiohttp.ClientSession() as session:
            url = f"{conv}/participants/p1"
            async with session.put(url, data=chunks(DEFAULT_MAX_BODY + 1)) as over:
                over_status = over.status
            async with session.put(url, data=chunks(1000)) as under:
                under_status = under.status  # whitespace only: not JSON
        return over_status, under_status

    assert asyncio.run(main()) == (413, 400)


def test_a_smaller_configured_limit() -> None:
    with BackgroundServer(ServerConfig(max_body=100)) as url:
        target = f"{url}/conversations/c/participants/p"
        assert put(target, b'{"id": "p", "name": "' + b"x" * 77 + b'"}').status == 201
        assert put(target, b'{"id": "p", "name": "' + b"x" * 78 + b'"}').status == 413


# --------------------------------------------------------------------------------------------
# Options


def test_token_guards_every_endpoint_but_health() -> None:
    with BackgroundServer(ServerConfig(token=TOKEN)) as url:
        target = f"{url}/conversations/c1/participants/p1"
        good = {"Authorization": f"Bearer {TOKEN}"}
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
            for method, body in (("PUT", json.dumps(participant("p1")).encode()), ("GET", None)):
                answer = call(target, method, body, headers)
                assert answer.status == 401, (headers, method, answer)
                assert "error" in answer.json()
                assert answer.headers["WWW-Authenticate"].startswith("Bearer")
            assert call(f"{url}/conversations/c1", headers=headers).status == 401
        assert call(f"{url}/health").status == 200
        assert put(target, participant("p1"), **good).status == 201
        assert call(target, headers=good).status == 200
        assert call(f"{url}/conversations/c1", headers=good).status == 200
        assert call(target, headers={"Authorization": f"bearer {TOKEN}"}).status == 200
        # Unknown paths stay 404 and bad methods 405, token or not.
        assert call(f"{url}/nope").status == 404
        assert call(target, "DELETE").status == 405


def test_structural_rules_accept_what_strict_rejects() -> None:
    out_of_order = participant("p1", startTime=ts(9), connectedTime=ts(1))
    assert [v.rule for v in check(out_of_order, path_id="p1")] == ["order.start<=connected"]
    assert check(out_of_order, rules=RuleSet.STRUCTURAL, path_id="p1") == []
    with BackgroundServer(ServerConfig(rules="structural")) as url:
        target = f"{url}/conversations/c1/participants/p1"
        assert put(target, out_of_order).status == 201
        assert call(target).json() == out_of_order
        # Structural rules still apply.
        answer = put(target, participant("p1", held="yes"))
        assert answer.status == 422
        assert errors_of(answer) == ["type.held"]
        assert errors_of(put(target, participant("p2"))) == ["id.matches-path"]
    with BackgroundServer(ServerConfig()) as url:
        answer = put(f"{url}/conversations/c1/participants/p1", out_of_order)
        assert answer.status == 422
        assert errors_of(answer) == ["order.start<=connected"]


def test_edition_sdk_269_checks_its_properties() -> None:
    parked = participant("p1", state="parked", parkTime=ts(2), connectedTime=ts(3))
    expected = [v.rule for v in check(parked, edition=Edition.SDK_269, path_id="p1")]
    assert expected == ["order.connected<=park"]
    with BackgroundServer(ServerConfig(edition="sdk-269")) as url:
        answer = put(f"{url}/conversations/c1/participants/p1", parked)
        assert answer.status == 422
        assert errors_of(answer) == expected
    with BackgroundServer(ServerConfig()) as url:  # seed: parkTime is an unknown extra
        assert put(f"{url}/conversations/c1/participants/p1", parked).status == 201


def test_config_validation() -> None:
    config = ServerConfig(rules="structural", edition="sdk-269", db="x.sqlite3")
    assert config.rules is RuleSet.STRUCTURAL
    assert config.edition is Edition.SDK_269
    assert config.db == Path("x.sqlite3")
    with pytest.raises(UsageError, match="rule set"):
        ServerConfig(rules="lenient")
    with pytest.raises(UsageError, match="edition"):
        ServerConfig(edition="v2")
    with pytest.raises(UsageError, match="port"):
        ServerConfig(port=70000)
    with pytest.raises(UsageError, match="max_body"):
        ServerConfig(max_body=0)
    with pytest.raises(UsageError, match="token"):
        ServerConfig(token="")


def test_start_and_stop_in_a_running_loop(tmp_path: Path) -> None:
    db = tmp_path / "store.sqlite3"

    async def main() -> Any:
        server = await start(ServerConfig(db=db))
        try:
            assert server.url == f"http://127.0.0.1:{server.port}"
            async with aiohttp.ClientSession() as session:
                url = f"{server.url}/conversations/c/participants/p"
                async with session.put(url, json=participant("p")) as answer:
                    assert answer.status == 201
                async with session.get(url) as answer:
                    return await answer.json()
        finally:
            await server.stop()

    assert asyncio.run(main()) == participant("p")
    assert db.exists()


def test_the_temporary_database_is_deleted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with BackgroundServer() as url:
        (created,) = tmp_path.glob("callbacksim-target-*")
        assert put(f"{url}/conversations/c/participants/p", participant("p")).status == 201
        assert list(created.iterdir())
    assert list(tmp_path.iterdir()) == []


def test_a_database_that_cannot_be_opened(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot open the database"):
        BackgroundServer(ServerConfig(db=tmp_path / "missing" / "store.sqlite3")).start()
    (tmp_path / "junk.sqlite3").write_bytes(b"this is not a database" * 100)
    with pytest.raises(UsageError, match="cannot use the database"):
        BackgroundServer(ServerConfig(db=tmp_path / "junk.sqlite3")).start()


def test_serve_forever_rejects_a_port_in_use(server: str) -> None:
    port = int(server.rsplit(":", 1)[1])
    with pytest.raises(UsageError, match=rf"cannot listen on 127.0.0.1 port {port}: .*in use"):
        serve_forever(ServerConfig(port=port))


# --------------------------------------------------------------------------------------------
# Durability and concurrency


@pytest.mark.slow
def test_an_acknowledged_write_survives_sigkill(tmp_path: Path) -> None:
    db = tmp_path / "store.sqlite3"
    with serving_process(db) as (process, url):
        target = f"{url}/conversations/c1/participants/p1"
        payload = participant("p1")
        try:
            assert put(target, payload, seq=3).status == 201
            assert put(f"{url}/conversations/c1/participants/p2", participant("p2")).status == 201
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(10)
    assert process.returncode == -signal.SIGKILL

    with serving_process(db) as (process, url):
        target = f"{url}/conversations/c1/participants/p1"
        try:
            assert call(target).json() == payload
            assert put(target, participant("p1", name="stale"), seq=2).status == 409
            assert len(call(f"{url}/conversations/c1").json()["participants"]) == 2
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(10) == 0  # a clean shutdown on SIGTERM


def test_concurrent_writes(server: str) -> None:
    conv = f"{server}/conversations/c-{uuid.uuid4().hex[:12]}"
    rng = random.Random(7)

    async def main() -> tuple[list[int], list[tuple[int, int]], Any, list[Any]]:
        connector = aiohttp.TCPConnector(limit=100)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def put_one(pid: str, payload: object, seq: int | None = None) -> int:
                headers = {} if seq is None else {"X-Sequence": str(seq)}
                url = f"{conv}/participants/{pid}"
                async with session.put(url, json=payload, headers=headers) as answer:
                    await answer.read()
                    return answer.status

            async def get(url: str) -> Any:
                async with session.get(url) as answer:
                    assert answer.status == 200
                    return await answer.json()

            many = await asyncio.gather(
                *(put_one(f"m{i}", participant(f"m{i}", name=f"n{i}")) for i in range(50))
            )
            sequences = list(range(1, 51))
            rng.shuffle(sequences)
            one = await asyncio.gather(
                *(put_one("one", participant("one", name=f"seq {n}"), n) for n in sequences)
            )
            final = await get(f"{conv}/participants/one")
            each = await asyncio.gather(*(get(f"{conv}/participants/m{i}") for i in range(50)))
            return many, list(zip(sequences, one, strict=True)), final, each

    many, one, final, each = asyncio.run(main())
    assert many == [201] * 50
    assert each == [participant(f"m{i}", name=f"n{i}") for i in range(50)]
    assert final == participant("one", name="seq 50")
    assert {status for _, status in one} <= {200, 201, 409}
    assert dict(one)[50] in (200, 201)
