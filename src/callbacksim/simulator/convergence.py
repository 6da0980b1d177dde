"""Convergence: whether a target holds a lifecycle's final snapshots.

One judgement, used by the ``converges`` and ``isolated`` checks, by replay and by load: after
every event of a conversation was delivered, each participant reads back semantically equal to its
last snapshot (in the edition under test, so properties only a newer edition defines are compared
when that edition is checked), and the conversation, where the adapter can read it, lists exactly
those participants, each as its last snapshot.

A read that gets no usable answer (no answer, 429, 5xx) is not a difference: the target's data may
be right. It is reported apart, as *could not read back*.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from enum import StrEnum
from typing import Any

import attrs
import orjson

from callbacksim.model import Edition
from callbacksim.semantic import differences
from callbacksim.simulator.adapters import Adapter
from callbacksim.simulator.client import Request, Response

__all__ = ["ConversationVerdict", "Problem", "ProblemKind", "Send", "verify_conversation"]

Send = Callable[[Request], Awaitable[Response]]
"""How the verifier sends a read: the caller's own send (with its retries, or its request log)."""


class ProblemKind(StrEnum):
    DIFFERS = "differs"
    """The target answered, and what it holds is not the final snapshot."""
    UNREADABLE = "unreadable"
    """No usable answer to the read (no answer, 429, 5xx): nothing is known either way."""


@attrs.frozen
class Problem:
    """One thing that did not converge, with what was expected and what came."""

    kind: ProblemKind
    conversation_id: str
    participant_id: str | None
    """None: the conversation listing."""
    summary: str
    expected: str
    got: str

    def __str__(self) -> str:
        where = self.conversation_id
        if self.participant_id is not None:
            where += f"/{self.participant_id}"
        if self.kind is ProblemKind.UNREADABLE:
            return f"{where}: could not read back ({self.got})"
        return f"{where}: {self.summary}: expected {self.expected}, got {self.got}"


@attrs.frozen
class ConversationVerdict:
    """How one conversation stands on the target."""

    conversation_id: str
    participants: int
    participants_converged: int
    listing_checked: bool
    """Whether the conversation listing was read (the adapter can, and the read answered)."""
    problems: tuple[Problem, ...]

    @property
    def converged(self) -> bool:
        """Every participant, and the listing where it was read, as the final snapshots."""
        return not self.problems

    @property
    def unreadable(self) -> bool:
        """Some read got no usable answer (and nothing read differed)."""
        kinds = {p.kind for p in self.problems}
        return kinds == {ProblemKind.UNREADABLE}


def _usable(response: Response) -> bool:
    status = response.status
    return status is not None and status != 429 and status < 500


async def verify_conversation(
    send: Send,
    adapter: Adapter,
    finals: Mapping[str, Mapping[str, Any]],
    conversation_id: str,
    edition: Edition,
) -> ConversationVerdict:
    """Read conversation ``conversation_id`` back and compare it with ``finals`` (each
    participant's last snapshot, by participant id)."""
    cid = conversation_id
    problems: list[Problem] = []
    converged = 0
    for pid, final in finals.items():
        request = adapter.read_participant(cid, pid)
        if request is None:
            msg = f"the {adapter.name!r} adapter cannot read participants back"
            raise ValueError(msg)
        got = await send(request)
        state = final.get("state")
        if not _usable(got):
            problems.append(
                Problem(ProblemKind.UNREADABLE, cid, pid, "read failed", "200", got.describe())
            )
            continue
        body = adapter.parse_participant(got.body) if got.status == 200 else None
        diff = differences(dict(final), body, edition=edition) if body is not None else None
        if diff is None:
            what = f"{final.get('purpose')} participant did not read back"
            problems.append(Problem(ProblemKind.DIFFERS, cid, pid, what, "200", got.describe()))
        elif diff:
            what = f"{final.get('purpose')} participant is not its last snapshot"
            expected = f"its last snapshot (state {orjson.dumps(state).decode()})"
            problems.append(
                Problem(ProblemKind.DIFFERS, cid, pid, what, expected, "; ".join(diff[:5]))
            )
        else:
            converged += 1
    listing_checked = False
    whole = adapter.read_conversation(cid)
    if whole is not None:
        answer = await send(whole)
        if not _usable(answer):
            problems.append(
                Problem(ProblemKind.UNREADABLE, cid, None, "read failed", "200", answer.describe())
            )
        else:
            listing_checked = True
            problems.extend(_listing(cid, finals, answer, adapter, edition))
    return ConversationVerdict(cid, len(finals), converged, listing_checked, tuple(problems))


def _listing(
    cid: str,
    finals: Mapping[str, Mapping[str, Any]],
    answer: Response,
    adapter: Adapter,
    edition: Edition,
) -> list[Problem]:
    summary = "the conversation does not list its participants' final snapshots"
    listed = adapter.parse_conversation(answer.body) if answer.status == 200 else None
    if listed is None:
        return [Problem(ProblemKind.DIFFERS, cid, None, summary, "200", answer.describe())]
    ids = sorted(str(p.get("id")) for p in listed)
    if ids != sorted(finals):
        expected = f"participants {', '.join(sorted(finals))}"
        got = f"participants {', '.join(ids)}" if ids else "no participants"
        return [Problem(ProblemKind.DIFFERS, cid, None, summary, expected, got)]
    out = []
    for entry in listed:
        pid = str(entry.get("id"))
        diff = differences(dict(finals[pid]), entry, edition=edition)
        if diff:
            expected = f"participant {pid} as its last snapshot"
            out.append(
                Problem(ProblemKind.DIFFERS, cid, None, summary, expected, "; ".join(diff[:5]))
            )
    return out
