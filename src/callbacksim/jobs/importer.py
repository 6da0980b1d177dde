"""``callbacksim import``: exported callback conversations turned into a lifecycle file.

Each conversation of each file is read (`callbacksim.exports`), optionally anonymised
(`callbacksim.jobs.anonymise`), every participant is judged by the rules, and the conversation's
lifecycle is rebuilt from its participants' final states (`callbacksim.reconstruct`). The events go
to a JSON Lines file, conversation after conversation: the file that ``replay``, ``show --file`` and
``profile fit`` read.

Nothing is dropped silently. A participant that breaks rules is kept as one snapshot marked
``"invalid": [rule ids]`` (or, with ``skip_invalid``, left out), and reported with its rule ids; a
value that is not a conversation, a conversation that repeats an id already imported, and anything
the rebuild had to change are reported too. Memory holds one conversation at a time, plus an 8-byte
hash of each conversation id imported so far (to catch repeats).
"""

from __future__ import annotations

import hashlib
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import attrs

from callbacksim.errors import JsonError, UsageError
from callbacksim.exports import read_conversations
from callbacksim.generation.participants import ANCHOR_MS
from callbacksim.jobs.anonymise import PERSONAL, Anonymiser, Personal
from callbacksim.jobs.output import OutputFormat, RecordSink
from callbacksim.model import Edition
from callbacksim.reconstruct import ASSUMPTIONS, Invalid, rebuild
from callbacksim.records import InputFormat, open_source

__all__ = ["ImportJob", "ImportReport", "describe_assumptions", "run_import"]


@attrs.frozen
class ImportJob:
    files: tuple[str, ...]
    out: str = "-"
    edition: Edition = Edition.SEED
    input_format: InputFormat = InputFormat.AUTO
    anonymise_key: bytes | None = None
    """Anonymise with this key before anything else (so no report shows personal data)."""
    personal: tuple[Personal, ...] = PERSONAL
    skip_invalid: bool = False
    """Leave participants that break rules out of the file (they are still reported)."""


@attrs.define
class ImportReport:
    """What an import read, wrote and found."""

    conversations: int = 0
    participants: int = 0
    events: int = 0
    invalid: int = 0
    by_rule: Counter[str] = attrs.field(factory=Counter)
    assumptions: Counter[str] = attrs.field(factory=Counter)
    problems: int = 0
    """Values that are not conversations, repeated conversations, and what the rebuild changed."""


def run_import(
    job: ImportJob,
    *,
    on_invalid: Callable[[str, str, Invalid], None] | None = None,
    on_problem: Callable[[str, str], None] | None = None,
) -> ImportReport:
    """Import ``job.files`` into ``job.out``; ``on_invalid(where, conversation id, invalid)`` and
    ``on_problem(where, sentence)`` hear of each finding as it is made."""
    report = ImportReport()
    anonymiser = Anonymiser(job.anonymise_key, job.personal) if job.anonymise_key else None
    seen: set[int] = set()

    def problem(where: str, text: str) -> None:
        report.problems += 1
        if on_problem is not None:
            on_problem(where, text)

    def events() -> Iterator[dict[str, Any]]:
        for source in job.files:
            name = "<stdin>" if source == "-" else source
            with open_source(source) as stream:
                try:
                    for exported in read_conversations(stream, name=name, fmt=job.input_format):
                        if exported.problem is not None:
                            problem(exported.where, exported.problem)
                            continue
                        payload = exported.payload
                        if anonymiser is not None:
                            payload = anonymiser.record(payload)
                        yield from _conversation(exported.where, payload)
                except JsonError as exc:
                    msg = f"{name}: {exc}"
                    raise UsageError(msg) from None

    def _conversation(where: str, payload: dict[str, Any]) -> Iterator[dict[str, Any]]:
        rebuilt = rebuild(
            payload,
            edition=job.edition,
            fallback_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"callbacksim:{where}")),
            fallback_ms=ANCHOR_MS,
        )
        key = int.from_bytes(
            hashlib.blake2b(rebuilt.conversation_id.encode(), digest_size=8).digest(), "big"
        )
        if key in seen:
            problem(
                where,
                f"conversation {rebuilt.conversation_id} was imported already; this copy is "
                "left out",
            )
            return
        seen.add(key)
        report.conversations += 1
        report.participants += rebuilt.participants
        report.assumptions.update(rebuilt.assumptions)
        for text in rebuilt.problems:
            problem(where, text)
        for bad in rebuilt.invalid:
            report.invalid += 1
            report.by_rule.update({v.rule for v in bad.violations})
            if on_invalid is not None:
                on_invalid(where, rebuilt.conversation_id, bad)
        for event in rebuilt.events:
            if job.skip_invalid and "invalid" in event:
                continue
            report.events += 1
            yield event

    sink = RecordSink(job.out, OutputFormat.JSONL, name_of=lambda i, _item: f"{i}.json")
    sink.write_all(events())
    return report


def describe_assumptions(counts: Counter[str]) -> Sequence[tuple[str, int, str]]:
    """(kind, participants, what was assumed) of each assumption made, most frequent first."""
    return [(kind, n, ASSUMPTIONS[kind]) for kind, n in counts.most_common()]
