"""``callbacksim generate``: fixture files of participants or lifecycles, with a manifest.

Records stream from the generators to the file; labels (participants) and the manifest are
written beside it. The same arguments and callbacksim version give byte-identical files: the
manifest records the seed, the versions that decide the bytes, and a SHA-256 of the records.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import attrs
import orjson

from callbacksim.coverage import Coverage
from callbacksim.errors import UsageError
from callbacksim.generation.lifecycle import LifecycleStream
from callbacksim.generation.participants import ANCHOR_MS
from callbacksim.generation.profile import Profile
from callbacksim.jobs.fixtures import Labelled, Mode, participant_records, valid_only
from callbacksim.jobs.output import OutputFormat, RecordSink, manifest_versions, write_json
from callbacksim.model import Edition
from callbacksim.rules import RuleSet

__all__ = ["LifecycleJob", "ParticipantJob", "run_lifecycles", "run_participants"]


@attrs.frozen
class ParticipantJob:
    count: int
    seed: int
    mode: Mode
    edition: Edition
    rules: RuleSet
    exhaustive: bool
    fmt: OutputFormat
    out: str
    labels: str | None
    manifest: str | None
    epoch_ms: int | None


@attrs.frozen
class LifecycleJob:
    count: int
    seed: int
    edition: Edition
    profile: Profile
    paths: tuple[str, ...]
    fmt: OutputFormat
    out: str
    manifest: str | None
    epoch_ms: int | None
    """The first conversation's start (epoch ms); None: the anchor instant, `ANCHOR_MS`."""


@contextmanager
def _progress(total: int | None, enabled: bool, what: str) -> Iterator[Callable[[], None] | None]:
    """A progress bar on a terminal's standard error (a callback per record); None elsewhere."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import Progress

    with Progress(transient=True, console=None) as bar:
        task = bar.add_task(what, total=total)
        step = 0

        def advance() -> None:
            nonlocal step
            step += 1
            if step % 1000 == 0:
                bar.update(task, completed=step)

        yield advance


def _check_count(count: int) -> None:
    if count < 0:
        msg = f"--count must be 0 or more, got {count}"
        raise UsageError(msg)


def run_participants(job: ParticipantJob) -> dict[str, Any]:
    """Write a participant fixture; returns the manifest."""
    _check_count(job.count)
    sink = RecordSink(job.out, job.fmt, name_of=lambda i, _item: f"{i:07d}.json")
    coverage = Coverage(job.edition)
    by_kind: Counter[str] = Counter()
    by_rule: Counter[str] = Counter()
    by_feature: Counter[str] = Counter()
    # Called here, not in payloads(): its usage errors come before any file is opened.
    records = participant_records(
        job.seed,
        count=job.count,
        mode=job.mode,
        edition=job.edition,
        rules=job.rules,
        exhaustive=job.exhaustive,
        coverage=coverage,
        anchor_ms=job.epoch_ms,
    )
    label_path = Path(job.labels) if job.labels else sink.sidecar(".labels.jsonl")
    label_handle = _open_for_writing(label_path) if label_path is not None else None
    try:

        def valid_payloads() -> Iterator[Any]:
            # Plain valid mode: every label is alike but for its index, so records skip the
            # Labelled wrapper and labels are written a block at a time (millions of records).
            stream = valid_only(
                job.seed,
                job.count,
                edition=job.edition,
                rules=job.rules,
                anchor_ms=job.epoch_ms,
                coverage=coverage,
            )
            written = 0
            for count, payload in enumerate(stream, start=1):
                yield payload
                if label_handle is not None and count % 4096 == 0:
                    label_handle.write(_valid_labels(written, count))
                    written = count
            if label_handle is not None and written < job.count:
                label_handle.write(_valid_labels(written, job.count))
            by_kind["valid"] += job.count

        def payloads() -> Iterator[Any]:
            write_label = label_handle.write if label_handle is not None else None
            for index, record in enumerate(records):
                by_kind[record.kind] += 1
                if record.rules:
                    by_rule.update(record.rules)
                if record.features:
                    by_feature.update(record.features)
                if write_label is not None:
                    if record.kind == "valid" and not record.features:
                        write_label(b'{"index":%d,%s\n' % (index, _VALID_LABEL_TAIL))
                    else:
                        write_label(orjson.dumps(record.label(index)) + b"\n")
                yield record.payload

        total = None if job.exhaustive else job.count
        fast = job.mode is Mode.VALID and not job.exhaustive
        with _progress(total, not sink.to_stdout, "participants") as advance:
            sink.write_all(valid_payloads() if fast else payloads(), advance)
    finally:
        if label_handle is not None:
            label_handle.close()
    manifest = {
        "tool": "callbacksim generate participants",
        "seed": job.seed,
        "versions": manifest_versions(),
        "edition": job.edition.value,
        "rules": job.rules.value,
        "mode": job.mode.value,
        "exhaustive": job.exhaustive,
        "epochMs": job.epoch_ms,
        "format": job.fmt.value,
        "records": sink.count,
        "sha256": sink.digest.hash.hexdigest(),
        "counts": {
            "byKind": dict(sorted(by_kind.items())),
            "byRule": dict(sorted(by_rule.items())),
            "byFeature": dict(sorted(by_feature.items())),
        },
        "coverage": {
            s.name: s.to_json() | {"missing": list(s.missing[:20])} for s in coverage.sections()
        },
    }
    _write_manifest(job.manifest, sink, manifest)
    return manifest


# What orjson writes for a plain valid record's label after its index (kept byte-identical).
_VALID_LABEL_TAIL = orjson.dumps(Labelled(None).label(0))[len(b'{"index":0,') :]


def _valid_labels(start: int, stop: int) -> bytes:
    """The labels of plain valid records ``start`` to ``stop - 1``, one line each."""
    return b"".join(b'{"index":%d,%s\n' % (i, _VALID_LABEL_TAIL) for i in range(start, stop))


def _open_for_writing(path: Path) -> IO[bytes]:
    """A sidecar file (labels) opened for writing, its directory made; `UsageError` if not."""
    try:
        if not path.parent.exists():
            path.parent.mkdir(parents=True)
        return path.open("wb")
    except OSError as exc:
        msg = f"cannot write {path}: {exc.strerror}"
        raise UsageError(msg) from None


def _write_manifest(explicit: str | None, sink: RecordSink, manifest: dict[str, Any]) -> None:
    path = Path(explicit) if explicit else sink.sidecar(".manifest.json")
    if path is not None:
        try:
            if not path.parent.exists():
                path.parent.mkdir(parents=True)
            write_json(path, manifest)
        except OSError as exc:
            msg = f"cannot write {path}: {exc.strerror}"
            raise UsageError(msg) from None


def run_lifecycles(job: LifecycleJob) -> dict[str, Any]:
    """Write a lifecycle fixture (events in time order within each conversation, conversations in
    order of their start); returns the manifest."""
    _check_count(job.count)
    start_ms = ANCHOR_MS if job.epoch_ms is None else job.epoch_ms
    stream = LifecycleStream(
        job.seed,
        profile=job.profile,
        edition=job.edition,
        start_ms=start_ms,
        require=job.paths,
    )
    by_path: Counter[str] = Counter()
    by_role: Counter[str] = Counter()
    events = 0

    def items() -> Iterator[Any]:
        nonlocal events
        for _ in range(job.count):
            lifecycle = next(stream)
            by_path.update(lifecycle.plan.paths)
            by_role.update(p["purpose"] for p in lifecycle.finals().values())
            events += len(lifecycle.events)
            if job.fmt is OutputFormat.DIR:
                yield {"conversationId": lifecycle.conversation_id, "events": lifecycle.to_wire()}
            else:
                yield from lifecycle.to_wire()

    sink = RecordSink(
        job.out,
        job.fmt,
        name_of=lambda i, item: f"{i:06d}-{item['conversationId']}.json",
    )
    with _progress(
        job.count if job.fmt is OutputFormat.DIR else None, not sink.to_stdout, "lifecycles"
    ) as advance:
        sink.write_all(items(), advance)
    manifest = {
        "tool": "callbacksim generate lifecycles",
        "seed": job.seed,
        "versions": manifest_versions(),
        "edition": job.edition.value,
        "epochMs": start_ms,
        "paths": list(job.paths),
        "profile": attrs.asdict(job.profile),
        "format": job.fmt.value,
        "lifecycles": job.count,
        "events": events,
        "sha256": sink.digest.hash.hexdigest(),
        "counts": {
            "byPath": dict(sorted(by_path.items())),
            "participantsByPurpose": dict(sorted(by_role.items())),
        },
    }
    _write_manifest(job.manifest, sink, manifest)
    return manifest
