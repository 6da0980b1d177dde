"""What a target's answers mean: every answer that is not 2xx, explained once.

A replay counts the events a target refused by *cause* as they come (`cause`: the status, and
for a 409 what its body says) and the answers it retried by status (`retried_as`). `explain`
turns those counts into one `Explanation` each: what it is, how many, whether it was expected,
and why, or what to do about it. `verdict` is the replay's one-line verdict. The terminal summary
and the HTML report both print these, so a number is never shown without its reason.

The reference target answers a write older than the stored sequence with 409 and a body starting
``stale write``, and a write of the stored sequence with another body with 409 ``conflict``. A
replay knows, besides, whether a 409 answered the *first* event of a participant it sent: a
reordered or duplicated delivery cannot explain that one, only a target that already held a newer
snapshot of the participant before the run (a replay of the same lifecycles again, say).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

__all__ = [
    "HELD",
    "Explanation",
    "cause",
    "explain",
    "failure_of",
    "retried_as",
    "verdict",
]

HELD = "409 held"
"""A stale 409 to the first event of a participant this run sent (and the participant's later
stale ones): the target held newer data before the run."""
STALE = "409 stale"
"""A stale 409 otherwise: a reordered delivery rightly refused."""
CONFLICT = "409 conflict"
"""A 409 for the stored sequence with another body: other data under the same ids."""

EXPECTED, WARNING, ERROR = "expected", "warning", "error"


def cause(status: int | None, body: bytes, *, held: bool) -> str:
    """What a refusal was: its status, and for a 409 whether its body names a stale sequence
    (``held``: the participant's first event this run was refused as stale) or a conflict."""
    if status != 409:
        return str(status)
    text = body[:300].lower()
    if b"stale" in text or b"older" in text:
        return HELD if held else STALE
    if b"conflict" in text or b"different body" in text:
        return CONFLICT
    return "409"


def retried_as(status: int | None) -> str:
    """The key a retried answer is counted under: its status, or ``no answer``."""
    return "no answer" if status is None else str(status)


def failure_of(status: int | None) -> bool:
    """Whether an answer counts as a failure in the per-name statistics (as in load): no answer,
    a 5xx, or a 4xx other than 409 (a stale sequence, rightly refused when deliveries overtake
    each other)."""
    return status is None or status >= 500 or (status >= 400 and status != 409)


@attrs.frozen
class Explanation:
    """One kind of answer that was not 2xx: ``what`` (``409 stale``), how many, ``severity``
    (``expected``, ``warning``: the run holds but something is off, ``error``: the run fails)
    and ``why``."""

    what: str
    count: int
    severity: str
    why: str

    @property
    def expected(self) -> bool:
        return self.severity == EXPECTED

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def explain(
    causes: Mapping[str, int],
    retried: Mapping[str, int],
    *,
    failed: int = 0,
    faults: Mapping[str, float] | None = None,
    target: str = "",
    retry_for: float | None = None,
) -> list[Explanation]:
    """Every refusal cause in ``causes`` (events), every retried answer in ``retried`` (answers)
    and the ``failed`` events, explained; in a fixed order, the expected ones last."""
    faults = faults or {}
    reorder, duplicates = faults.get("reorder", 0.0), faults.get("duplicates", 0.0)
    out: list[Explanation] = []
    for what, n in sorted(causes.items()):
        events = _plural(n, "event")
        if what == HELD:
            out.append(
                Explanation(
                    "409 stale (already held)",
                    n,
                    WARNING,
                    f"the target already held {n:,} of these events (a newer X-Sequence was stored "
                    "before this run, even for a participant's first event): it was not empty. "
                    "Replay against a fresh target or store, or use another --seed",
                )
            )
        elif what == STALE:
            if reorder:
                out.append(
                    Explanation(
                        "409 stale",
                        n,
                        EXPECTED,
                        f"{events} delivered out of order (--reorder {reorder:g}) came after a "
                        "newer snapshot and were rightly refused for their stale X-Sequence; "
                        "the target kept the newer one",
                    )
                )
            else:
                out.append(
                    Explanation(
                        "409 stale",
                        n,
                        WARNING,
                        f"{events} refused for a stale X-Sequence though no reordering was asked "
                        "for: the target held newer snapshots from before this run (it was not "
                        "empty), or it orders sequences wrongly",
                    )
                )
        elif what == CONFLICT:
            out.append(
                Explanation(
                    "409 conflict",
                    n,
                    WARNING,
                    f"the target already held other data under the same ids and X-Sequence for "
                    f"{events}: it was not empty. Replay against a fresh target or store, or use "
                    "another --seed",
                )
            )
        elif what == "409":
            if reorder or duplicates:
                out.append(
                    Explanation(
                        "409",
                        n,
                        EXPECTED,
                        f"{events} refused as conflicts: with deliveries reordered or duplicated "
                        "(faults on) a stale X-Sequence is rightly refused",
                    )
                )
            else:
                out.append(
                    Explanation(
                        "409",
                        n,
                        WARNING,
                        f"{events} refused as conflicts though no fault was asked for: the "
                        "target most likely already held these conversations (was it empty?)",
                    )
                )
        elif what == "404":
            out.append(
                Explanation(
                    "404",
                    n,
                    ERROR,
                    f"{events} answered 404: the target has no such route. Is the base path in "
                    f"the URL right{f' ({target})' if target else ''}?",
                )
            )
        elif what in ("400", "422"):
            out.append(
                Explanation(
                    what,
                    n,
                    ERROR,
                    f"the target refused {events} as invalid, yet every event replayed is valid: "
                    "a target bug (or a target built for another edition or rule set; the "
                    "bodies below say what it objected to)",
                )
            )
        elif what in ("401", "403"):
            out.append(
                Explanation(
                    what,
                    n,
                    ERROR,
                    f"{events} not authorised: give the target's credentials with --header "
                    "'Authorization: ...'",
                )
            )
        elif what == "408":
            out.append(
                Explanation(what, n, ERROR, f"the target timed out reading the body of {events}")
            )
        elif what == "413":
            out.append(
                Explanation(what, n, ERROR, f"the target found the body of {events} too large")
            )
        else:
            out.append(
                Explanation(
                    what,
                    n,
                    ERROR,
                    f"{events} refused with an answer the store contract does not expect",
                )
            )
    for what, n in sorted(retried.items()):
        if what == "no answer":
            head = f"{_plural(n, 'request')} got no answer (refused, reset or timed out)"
        elif what == "429":
            head = f"{_plural(n, 'answer')} asked to slow down (429)"
        else:
            head = f"{_plural(n, 'answer')} were server errors ({what})"
        tail = "; retrying gave up on some (failed, above)" if failed else ""
        out.append(
            Explanation(
                what,
                n,
                WARNING if failed else EXPECTED,
                f"{head}: sent again, backing off and honouring Retry-After{tail}",
            )
        )
    if failed:
        within = f" within --retry-for {retry_for:g} s" if retry_for is not None else ""
        out.append(
            Explanation(
                "failed",
                failed,
                ERROR,
                f"{_plural(failed, 'event')} never got a usable answer{within}: retrying gave up",
            )
        )
    rank = {ERROR: 0, WARNING: 1, EXPECTED: 2}
    return sorted(out, key=lambda e: rank[e.severity])


def verdict(
    *, converged: bool, read_back: bool, stopped: str | None, explained: list[Explanation]
) -> tuple[bool, str]:
    """(passed, the one line that says so): a replay passes when it ran to the end, the target
    read back as the final snapshots (where it could be read) and no answer was an error."""
    errors = [e for e in explained if e.severity == ERROR]
    warnings = [e for e in explained if e.severity == WARNING]
    if stopped:
        return False, f"STOPPED by {stopped}: continue with --resume LEDGER"
    reasons = [f"{e.what} x{e.count:,}" for e in errors]
    if read_back and not converged:
        reasons.insert(0, "the target does not hold the final snapshots")
    if reasons:
        return False, "FAILED: " + "; ".join(reasons)
    what = "converged" if read_back else "delivered (not read back)"
    line = f"PASSED: {what}"
    if warnings:
        line += ", but " + "; ".join(f"{e.what} x{e.count:,}" for e in warnings) + " (see above)"
    return True, line
