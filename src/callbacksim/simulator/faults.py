"""Delivery faults: how a conversation's events can arrive other than once and in order.

One implementation, used by replay, by load and by the ``converges`` and ``isolated`` checks:

- **duplicates**: an event is sent a second time, right after the first;
- **reordering**: an event is swapped with the same participant's previous event when nothing of
  that participant lies between them, so a participant's stream is out of order by at most one
  place and other participants' events keep their order (``X-Sequence`` makes the order
  recoverable);
- **jitter**: a random pause, up to ``jitter_ms``, before a send;
- **loss**: an event is never delivered, as Genesys drops the notifications emitted while a
  consumer's WebSocket is closed (nothing retries them; a consumer recovers only by reading the
  conversation again). `split_lost` picks the lost events before the other faults apply, so a lost
  event is neither duplicated nor reordered; callers count it apart from the events sent.

Everything is drawn from the ``random.Random`` the caller passes, seeded per conversation, so the
same seed gives the same faults.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator, Sequence
from typing import Literal, Protocol, TypeVar

import attrs

from callbacksim.errors import UsageError

__all__ = ["Faults", "Send", "deliveries", "plan_deliveries", "split_lost"]


class _HasParticipant(Protocol):
    @property
    def participant_id(self) -> str: ...


E = TypeVar("E", bound=_HasParticipant)


def _probability(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0.0 <= value <= 1.0:
        msg = f"{attribute.name} {value} is not a probability; give a number from 0 to 1"
        raise UsageError(msg)


def _non_negative(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if value < 0:
        msg = f"{attribute.name} {value} must be 0 or more milliseconds"
        raise UsageError(msg)


@attrs.frozen
class Faults:
    """Delivery faults: probabilities per event, and the largest jitter in milliseconds."""

    duplicates: float = attrs.field(default=0.0, validator=_probability)
    reorder: float = attrs.field(default=0.0, validator=_probability)
    jitter_ms: float = attrs.field(default=0.0, validator=_non_negative)
    loss: float = attrs.field(default=0.0, validator=_probability)

    @property
    def any(self) -> bool:
        return bool(self.duplicates or self.reorder or self.jitter_ms or self.loss)

    def jitter_s(self, rng: random.Random) -> float:
        """A pause before one send, in seconds (0 without jitter; draws nothing then)."""
        return rng.random() * self.jitter_ms / 1000 if self.jitter_ms else 0.0

    def to_json(self) -> dict[str, float]:
        return {
            "duplicates": self.duplicates,
            "reorder": self.reorder,
            "jitter_ms": self.jitter_ms,
            "loss": self.loss,
        }


def split_lost(events: Iterable[E], faults: Faults, rng: random.Random) -> tuple[list[E], list[E]]:
    """The events that get through and those lost (``faults.loss``), each in their order. Draws
    nothing without loss, so the other faults of a seed stay as they were."""
    kept = list(events)
    if not faults.loss:
        return kept, []
    gone = [rng.random() < faults.loss for _ in kept]
    through = [e for e, g in zip(kept, gone, strict=True) if not g]
    lost = [e for e, g in zip(kept, gone, strict=True) if g]
    return through, lost


def plan_deliveries(
    events: Iterable[E], faults: Faults, rng: random.Random
) -> list[tuple[E, bool]]:
    """The sends of one conversation, in order: (event, is_duplicate), faults applied."""
    planned = list(events)
    if faults.reorder:
        last_of: dict[str, int] = {}
        for i, event in enumerate(planned):
            j = last_of.get(event.participant_id)
            # Swap with the participant's previous event when nothing of it lies between.
            if j is not None and j == i - 1 and rng.random() < faults.reorder:
                planned[j], planned[i] = planned[i], planned[j]
                # The delayed event (now at i) must not be swapped again, or it would slip
                # further back than one place.
                del last_of[event.participant_id]
                continue
            last_of[event.participant_id] = i
    out: list[tuple[E, bool]] = []
    for event in planned:
        out.append((event, False))
        if faults.duplicates and rng.random() < faults.duplicates:
            out.append((event, True))
    return out


Send = Literal["send", "duplicate", "lost"]
"""How a planned event goes: sent, sent again (a duplicate), or lost (never sent)."""


def deliveries(events: Sequence[E], faults: Faults, rng: random.Random) -> Iterator[tuple[E, Send]]:
    """Every fault applied to one conversation's ``events``: the lost ones picked first
    (`split_lost`), the others planned (`plan_deliveries`); each event with how it goes, a lost one
    at the place it had (just before the next event that is sent after it, or at the end), so that
    a caller keeping the conversation's latest snapshots sees what a lost event changed."""
    kept, lost = split_lost(events, faults, rng)
    planned = plan_deliveries(kept, faults, rng)
    if not lost:
        for event, duplicate in planned:
            yield event, "duplicate" if duplicate else "send"
        return
    position = {id(e): i for i, e in enumerate(events)}
    unsent = iter(lost)
    pending = next(unsent, None)
    for event, duplicate in planned:
        while pending is not None and position[id(pending)] < position[id(event)]:
            yield pending, "lost"
            pending = next(unsent, None)
        yield event, "duplicate" if duplicate else "send"
    while pending is not None:
        yield pending, "lost"
        pending = next(unsent, None)
