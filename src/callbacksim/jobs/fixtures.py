"""Fixture records: what `callbacksim generate` writes, and how tests load it back.

A participant fixture is a stream of `Labelled` records. The payload is exactly what would go on
the wire; what the record is meant to be (valid, unusual, invalid) travels beside it, as a label:

- ``valid``: a valid participant;
- ``unusual``: valid, with unusual features (``features`` names them);
- ``invalid``: breaks exactly the rules in ``rules`` (one), judged against ``pathId`` as the
  participant id of the request path.

Modes choose the mix: ``valid``, ``unusual``, ``invalid``, ``mixed`` (70/15/15) and ``edge``: a
compact covering set first (every enum value, every allowed state x disconnectType pair, every
pairwise timestamp relation and every timestamp present and absent), then varied valid records up
to the count. ``exhaustive`` gives one valid participant per ordering class of the seed edition.

Everything is seeded; no wall-clock time enters, so the same arguments give the same records.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import Any

import attrs
import orjson

from callbacksim.coverage import Coverage
from callbacksim.errors import UsageError
from callbacksim.generation.bulk import BulkParticipants
from callbacksim.generation.chooser import RandomChooser
from callbacksim.generation.edge import edge_cover
from callbacksim.generation.invalid import build_invalid
from callbacksim.generation.participants import (
    Shape,
    build_participant,
    states_for,
)
from callbacksim.generation.unusual import build_unusual
from callbacksim.jobs.output import sidecar_path
from callbacksim.model import (
    Edition,
)
from callbacksim.orderings import classes
from callbacksim.rules import RuleSet, rule_ids

__all__ = [
    "Labelled",
    "Mode",
    "PathIds",
    "iter_fixture",
    "labels_beside",
    "load_labelled",
    "participant_records",
    "valid_only",
]


class Mode(StrEnum):
    VALID = "valid"
    UNUSUAL = "unusual"
    INVALID = "invalid"
    MIXED = "mixed"
    EDGE = "edge"


@attrs.frozen
class Labelled:
    """A payload and its label."""

    payload: Any
    kind: str = "valid"
    rules: tuple[str, ...] = ()
    features: tuple[str, ...] = ()
    path_id: str | None = None

    def label(self, index: int) -> dict[str, Any]:
        out: dict[str, Any] = {
            "index": index,
            "kind": self.kind,
            "rules": list(self.rules),
            "features": list(self.features),
        }
        if self.path_id is not None:
            out["pathId"] = self.path_id
        return out


def participant_records(
    seed: int,
    *,
    count: int,
    mode: Mode = Mode.VALID,
    edition: Edition = Edition.SEED,
    rules: RuleSet = RuleSet.STRICT,
    exhaustive: bool = False,
    coverage: Coverage | None = None,
    anchor_ms: int | None = None,
) -> Iterator[Labelled]:
    """The records of a participant fixture, streamed. ``coverage``, if given, is fed every
    distinct record shape (bulk copies share their shape with the record they were made from).

    A usage error (``exhaustive`` with the sdk-269 edition) is raised here, at the call, before
    anything is written."""
    if exhaustive:
        if edition is not Edition.SEED:
            msg = "--exhaustive lists every ordering class of the seed edition only (the sdk-269 "
            msg += "edition has 6.7 million); drop --edition sdk-269"
            raise UsageError(msg)
        return _exhaustive(seed, coverage, anchor_ms)
    return _records(seed, count, mode, edition, rules, coverage, anchor_ms)


def _records(
    seed: int,
    count: int,
    mode: Mode,
    edition: Edition,
    rules: RuleSet,
    coverage: Coverage | None,
    anchor_ms: int | None,
) -> Iterator[Labelled]:
    ch = RandomChooser(seed)
    bulk = valid_stream(seed, edition, rules, anchor_ms)
    produced = 0
    if mode is Mode.EDGE:
        # The whole covering set, even past the count: it is the point of the mode.
        for payload in edge_cover(ch, edition, rules, anchor_ms):
            if coverage is not None:
                coverage.add(payload)
            yield Labelled(payload, features=("edge",))
            produced += 1
    invalid_ids = rule_ids(edition, rules)
    while produced < count:
        kind = mode.value
        if mode is Mode.MIXED:
            roll = ch.rng.random()
            kind = "valid" if roll < 0.7 else "unusual" if roll < 0.85 else "invalid"
        elif mode is Mode.EDGE:
            kind = "valid"
        if kind == "valid":
            payload = next(bulk)
            if coverage is not None and bulk.fresh:
                coverage.add(payload)
            record = Labelled(payload)
        elif kind == "unusual":
            payload, features = build_unusual(ch, edition=edition, anchor_ms=anchor_ms)
            if coverage is not None:
                coverage.add(payload)
            record = Labelled(payload, "unusual", features=features)
        else:
            bad = build_invalid(ch, ch.pick(invalid_ids), edition=edition, rules=rules)
            if coverage is not None:
                coverage.add(bad.payload)
            record = Labelled(bad.payload, "invalid", rules=(bad.rule,), path_id=bad.path_id)
        yield record
        produced += 1


def valid_stream(
    seed: int, edition: Edition, rules: RuleSet, anchor_ms: int | None
) -> BulkParticipants:
    """The bulk stream every fixture's valid records come from (for ``seed``)."""
    return BulkParticipants(seed + 1, Shape(edition=edition, rules=rules, anchor_ms=anchor_ms))


def valid_only(
    seed: int,
    count: int,
    *,
    edition: Edition,
    rules: RuleSet,
    anchor_ms: int | None,
    coverage: Coverage | None,
) -> Iterator[dict[str, Any]]:
    """The payloads of ``participant_records`` in ``valid`` mode, without their (all alike)
    labels: the same records, for writers that stream millions of them."""
    bulk = valid_stream(seed, edition, rules, anchor_ms)
    for _ in range(count):
        payload = next(bulk)
        if coverage is not None and bulk.fresh:
            coverage.add(payload)
        yield payload


def _exhaustive(seed: int, coverage: Coverage | None, anchor_ms: int | None) -> Iterator[Labelled]:
    ch = RandomChooser(seed)
    for cls in classes(Edition.SEED):
        state = ch.pick(states_for(cls, Edition.SEED))
        shape = Shape(state=state.value, ordering=cls, anchor_ms=anchor_ms)
        payload = build_participant(ch, shape)
        if coverage is not None:
            coverage.add(payload)
        yield Labelled(payload)


# -- reading fixtures back --------------------------------------------------------------------


def iter_fixture(path: str | Path, labels: str | Path | None = None) -> Iterator[Labelled]:
    """The records of a participant fixture file with their labels (from ``labels``, or the
    ``.labels.jsonl`` file next to it; every record counts as valid if there is none)."""
    from callbacksim.records import open_source, read_records

    p = Path(path)
    label_path = Path(labels) if labels is not None else sidecar_path(p, ".labels.jsonl")
    label_lines: Iterable[bytes] = ()
    handle = None
    if label_path.exists():
        handle = label_path.open("rb")
        label_lines = handle
    try:
        label_iter = iter(label_lines)
        with open_source(str(p)) as stream:
            for record in read_records(stream, name=p.name):
                line = next(label_iter, None)
                if handle is not None and line is None:
                    msg = f"{label_path} has fewer labels than {p} has records"
                    raise UsageError(msg)
                label = orjson.loads(line) if line else {"kind": "valid"}
                yield Labelled(
                    record.payload,
                    label.get("kind", "valid"),
                    tuple(label.get("rules", ())),
                    tuple(label.get("features", ())),
                    label.get("pathId"),
                )
    finally:
        if handle is not None:
            handle.close()


def labels_beside(source: str) -> Path | None:
    """The labels file beside the fixture ``source`` (``a.jsonl`` -> ``a.labels.jsonl``), if
    there is one (never for standard input)."""
    if source == "-":
        return None
    label_path = sidecar_path(Path(source), ".labels.jsonl")
    return label_path if label_path.is_file() else None


class PathIds:
    """The request path's participant id of each record of a fixture, in order, from its labels
    (None where a label gives none): what ``id.matches-path`` is judged against. Read a line at a
    time. Labels that are not the fixture's are refused (`UsageError`): asked for an id past the
    last label, or `finish` finding labels left over."""

    def __init__(self, label_path: Path, fixture: str) -> None:
        self.path = label_path
        self._fixture = fixture
        self._lines = label_path.open("rb")
        self.count = 0

    def __iter__(self) -> PathIds:
        return self

    def _next_label(self) -> tuple[bool, str | None]:
        for line in self._lines:
            if line.strip():
                try:
                    label = orjson.loads(line)
                except orjson.JSONDecodeError:
                    self.close()
                    msg = f"{self.path}: label {self.count + 1} is not JSON; regenerate the fixture"
                    raise UsageError(msg) from None
                self.count += 1
                return True, label.get("pathId") if isinstance(label, dict) else None
        return False, None

    def __next__(self) -> str | None:
        found, path_id = self._next_label()
        if not found:
            self.close()
            msg = (
                f"{self.path} has {self.count:,} label(s) but {self._fixture} has more records: "
                "the labels are not this fixture's; regenerate it, or move the labels file away"
            )
            raise UsageError(msg)
        return path_id

    def finish(self) -> None:
        """`UsageError` if labels are left over once every record was judged; closes the file."""
        found, _ = self._next_label()
        self.close()
        if found:
            msg = (
                f"{self.path} has more labels than {self._fixture} has records "
                f"({self.count - 1:,}): the labels are not this fixture's; regenerate it, or move "
                "the labels file away"
            )
            raise UsageError(msg)

    def close(self) -> None:
        self._lines.close()


def load_labelled(path: str | Path, *, kind: str | None = None) -> list[Any]:
    """``pytest.param`` objects for ``@pytest.mark.parametrize("record", load_labelled(path))``:
    one per record (of ``kind`` only, if given), each a `Labelled`, with a readable test id."""
    import pytest

    out = []
    for index, record in enumerate(iter_fixture(path)):
        if kind is not None and record.kind != kind:
            continue
        tag = record.rules[0] if record.rules else "+".join(record.features) or record.kind
        out.append(pytest.param(record, id=f"{index}-{record.kind}-{tag}"))
    return out
