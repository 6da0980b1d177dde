"""Retries: how a request that got no usable answer is sent again, governed by time.

A request is tried again when no HTTP answer came (refused, reset, timed out, a malformed answer),
or the answer was 429 or a 5xx. The pause before each retry grows exponentially from
``backoff_ms``, capped at ``backoff_cap_ms``, with jitter (a random half of it) so that many
senders do not retry in step; a ``Retry-After`` header (seconds or an HTTP date) is honoured: the
pause is never shorter than it asks. Retrying stops at the first of:

- the answer is usable (2xx, or another 4xx: a refusal is an answer, not a fault);
- ``retry_for`` seconds have passed since the first attempt (the next pause would end after it);
- ``retries`` retries were made, when a count is given;
- the caller asks to stop (the retry is then *abandoned*: the request's outcome is unknown).

A retry sends the very same request again, headers included: a write the target may have applied
before the connection dropped carries the same ``X-Sequence``, so applying it twice changes nothing.
Replay, the verification reads and load use this one policy.
"""

from __future__ import annotations

import asyncio
import email.utils
import math
import random
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import attrs

from callbacksim.errors import UsageError
from callbacksim.simulator.client import Request, Response

__all__ = ["RetryPolicy", "Sent", "retry_after", "retryable", "send_with_retries"]


def _non_negative(flag: str) -> Callable[[object, attrs.Attribute[float], float], None]:
    def check(_instance: object, _attribute: attrs.Attribute[float], value: float) -> None:
        if not value >= 0 or math.isinf(value):
            msg = f"{flag} must be a number of seconds, 0 or more, got {value}"
            raise UsageError(msg)

    return check


def _count(_instance: object, _attribute: attrs.Attribute[int | None], value: int | None) -> None:
    if value is not None and value < 0:
        msg = f"--retries must be 0 or more, got {value}"
        raise UsageError(msg)


@attrs.frozen
class RetryPolicy:
    """When and how often a request is sent again; see the module docstring."""

    retry_for: float = attrs.field(default=60.0, validator=_non_negative("--retry-for"))
    """Seconds, from the first attempt, within which retries may start."""
    retries: int | None = attrs.field(default=None, validator=_count)
    """At most this many retries; None: as many as ``retry_for`` allows."""
    backoff_ms: float = attrs.field(default=50.0, validator=_non_negative("the backoff"))
    """The pause before the first retry (before jitter)."""
    backoff_cap_ms: float = attrs.field(default=2000.0, validator=_non_negative("the backoff cap"))
    """The longest pause the backoff alone makes (``Retry-After`` may ask for longer)."""

    def backoff(self, retry: int, rng: random.Random) -> float:
        """The pause in seconds before retry number ``retry`` (1 for the first), jitter included:
        between half of and the whole capped exponential step."""
        step: float = min(self.backoff_cap_ms, self.backoff_ms * 2.0 ** min(retry - 1, 60)) / 1000
        return step * (0.5 + 0.5 * rng.random())


def retryable(response: Response) -> bool:
    """No usable answer: nothing came, or 429, or a 5xx."""
    status = response.status
    return status is None or status == 429 or status >= 500


def retry_after(response: Response, now: Callable[[], datetime] | None = None) -> float | None:
    """The pause ``Retry-After`` asks for, in seconds (None when absent or unreadable)."""
    if response.status is None:
        return None
    text = next((v for k, v in response.headers.items() if k.lower() == "retry-after"), None)
    if text is None:
        return None
    text = text.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or (lambda: datetime.now(UTC)))()).total_seconds()
    if math.isnan(seconds):
        return None
    return max(0.0, seconds)


@attrs.frozen
class Sent:
    """How sending one request ended."""

    response: Response
    """The last answer (or the last failure to get one)."""
    attempts: int
    abandoned: bool = False
    """The caller asked to stop before a needed retry: the request's outcome is unknown."""
    gave_up: str | None = None
    """Why retrying stopped while the answer was still unusable (None when it was usable)."""


async def send_with_retries(
    send: Callable[[Request], Awaitable[Response]],
    request: Request,
    policy: RetryPolicy,
    rng: random.Random,
    *,
    usable: Callable[[Response], bool] = lambda r: not retryable(r),
    on_answer: Callable[[Response, float], None] | None = None,
    stop: asyncio.Event | None = None,
) -> Sent:
    """Send ``request`` until ``usable`` holds for its answer or the policy gives up.

    ``on_answer(response, seconds)`` is called after every attempt (for latency and request
    counts). ``stop``, once set, ends the waiting before a retry at once and abandons the request.
    """
    first = time.monotonic()
    attempt = 0
    while True:
        attempt += 1
        started = time.monotonic()
        response = await send(request)
        if on_answer is not None:
            on_answer(response, time.monotonic() - started)
        if usable(response):
            return Sent(response, attempt)
        what = response.error or f"status {response.status}"
        if policy.retries is not None and attempt > policy.retries:
            return Sent(response, attempt, gave_up=f"{what} after {attempt} attempt(s)")
        pause = policy.backoff(attempt, rng)
        asked = retry_after(response)
        if asked is not None:
            pause = max(pause, asked)
        elapsed = time.monotonic() - first
        if elapsed + pause > policy.retry_for:
            why = f"{what} after {attempt} attempt(s) in {elapsed:.1f} s"
            if asked is not None and elapsed + asked > policy.retry_for:
                why += f" (Retry-After {asked:g} s ends past --retry-for {policy.retry_for:g} s)"
            else:
                why += f" (--retry-for {policy.retry_for:g} s)"
            return Sent(response, attempt, gave_up=why)
        if stop is None:
            await asyncio.sleep(pause)
        else:
            try:
                await asyncio.wait_for(stop.wait(), pause)
            except TimeoutError:
                pass
            else:
                return Sent(response, attempt, abandoned=True)
