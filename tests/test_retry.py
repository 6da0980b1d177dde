"""Retries: the policy alone, with a scripted ``send`` and no network."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest

from callbacksim.errors import UsageError
from callbacksim.simulator.client import Request, Response
from callbacksim.simulator.retry import RetryPolicy, Sent, retry_after, send_with_retries

REQUEST = Request("PUT", "/conversations/c/participants/p", b"{}", {"X-Sequence": "3"})


def scripted(*answers: Response) -> tuple[Callable[[Request], Awaitable[Response]], list[float]]:
    """A send that answers ``answers`` in turn (the last one for ever after), noting when."""
    at: list[float] = []

    async def send(request: Request) -> Response:
        assert request is REQUEST  # the very same request, X-Sequence included, every time
        at.append(time.monotonic())
        return answers[min(len(at) - 1, len(answers) - 1)]

    return send, at


def go(send: Callable[[Request], Awaitable[Response]], policy: RetryPolicy, **kw: object) -> Sent:
    return asyncio.run(send_with_retries(send, REQUEST, policy, random.Random(1), **kw))  # type: ignore[arg-type]


def test_the_backoff_grows_is_capped_and_jittered() -> None:
    policy = RetryPolicy(backoff_ms=100, backoff_cap_ms=800)
    rng = random.Random(3)
    for retry, step in [(1, 0.1), (2, 0.2), (3, 0.4), (4, 0.8), (5, 0.8), (60, 0.8), (500, 0.8)]:
        pauses = [policy.backoff(retry, rng) for _ in range(200)]
        assert all(step / 2 <= p <= step for p in pauses), (retry, min(pauses), max(pauses))
        assert max(pauses) - min(pauses) > step / 4  # jittered, not in step


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("2", 2.0),
        ("0.25", 0.25),
        ("-4", 0.0),
        ("Wed, 01 Jan 2031 00:00:10 GMT", 10.0),
        ("Wed, 01 Jan 2031 00:00:00 GMT", 0.0),
        ("soon", None),
        ("nan", None),
    ],
)
def test_retry_after_in_seconds_or_as_a_date(header: str, seconds: float | None) -> None:
    now = datetime(2031, 1, 1, tzinfo=UTC)
    answer = Response(503, headers={"retry-after": header})
    assert retry_after(answer, now=lambda: now) == seconds
    assert retry_after(Response(503)) is None
    assert retry_after(Response(None, error="reset")) is None


def test_retried_until_usable_with_the_same_request() -> None:
    send, _at = scripted(Response(None, error="reset"), Response(503), Response(429), Response(201))
    sent = go(send, RetryPolicy(backoff_ms=1))
    assert (sent.response.status, sent.attempts, sent.gave_up, sent.abandoned) == (
        201,
        4,
        None,
        False,
    )


def test_a_refusal_is_an_answer_and_is_not_retried() -> None:
    send, _at = scripted(Response(409, b"stale"))
    sent = go(send, RetryPolicy(backoff_ms=1))
    assert (sent.response.status, sent.attempts, sent.gave_up) == (409, 1, None)


def test_retry_after_is_honoured() -> None:
    send, at = scripted(Response(429, headers={"Retry-After": "0.3"}), Response(200))
    sent = go(send, RetryPolicy(backoff_ms=1))
    assert sent.attempts == 2
    assert at[1] - at[0] >= 0.3


def test_retrying_stops_at_the_deadline_with_the_reason() -> None:
    send, at = scripted(Response(503))
    started = time.monotonic()
    sent = go(send, RetryPolicy(retry_for=0.4, backoff_ms=20, backoff_cap_ms=100))
    took = time.monotonic() - started
    assert sent.response.status == 503
    assert sent.attempts == len(at) >= 4
    assert 0.2 <= took <= 0.6
    assert sent.gave_up is not None
    assert sent.gave_up.startswith(f"status 503 after {sent.attempts} attempt(s) in ")
    assert sent.gave_up.endswith("(--retry-for 0.4 s)")


def test_a_retry_after_past_the_deadline_gives_up_at_once() -> None:
    send, _at = scripted(Response(503, headers={"Retry-After": "120"}))
    sent = go(send, RetryPolicy(retry_for=60))
    assert sent.attempts == 1
    assert sent.gave_up is not None
    assert "Retry-After 120 s ends past --retry-for 60 s" in sent.gave_up


def test_a_count_of_retries_stops_first_when_given() -> None:
    send, _at = scripted(Response(None, error="timed out"))
    sent = go(send, RetryPolicy(retries=2, backoff_ms=1))
    assert (sent.attempts, sent.gave_up) == (3, "timed out after 3 attempt(s)")
    sent = go(scripted(Response(500))[0], RetryPolicy(retries=0))
    assert (sent.attempts, sent.gave_up) == (1, "status 500 after 1 attempt(s)")


def test_a_stop_abandons_the_wait_at_once() -> None:
    send, _at = scripted(Response(503, headers={"Retry-After": "30"}))

    async def main() -> tuple[Sent, float]:
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(0.1, stop.set)
        started = time.monotonic()
        sent = await send_with_retries(send, REQUEST, RetryPolicy(), random.Random(1), stop=stop)
        return sent, time.monotonic() - started

    sent, took = asyncio.run(main())
    assert sent.abandoned
    assert sent.attempts == 1
    assert took < 5


@pytest.mark.parametrize(
    ("settings", "says"),
    [
        ({"retry_for": -1}, "--retry-for must be a number of seconds"),
        ({"retry_for": float("inf")}, "--retry-for must be a number of seconds"),
        ({"retries": -1}, "--retries must be 0 or more"),
    ],
)
def test_a_policy_out_of_range_is_a_usage_error(settings: dict[str, float], says: str) -> None:
    with pytest.raises(UsageError, match=says):
        RetryPolicy(**settings)  # type: ignore[arg-type]
