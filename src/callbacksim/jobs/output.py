"""Writing fixture files: records as JSON Lines, a JSON array or a directory, with labels and a
manifest beside them. Streams: memory does not grow with the number of records.

Byte-stable by design: compact JSON (orjson) with keys in generation order, ``\\n`` line ends, file
names derived from indexes, and no time of writing anywhere.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

import orjson

from callbacksim.errors import UsageError

__all__ = ["OutputFormat", "RecordSink", "manifest_versions", "sidecar_path", "write_json"]


class OutputFormat(StrEnum):
    JSONL = "jsonl"
    JSON = "json"
    DIR = "dir"


def write_json(path: Path, value: Any) -> None:
    """A small JSON document (manifest), indented, keys as given, newline at the end."""
    path.write_bytes(orjson.dumps(value, option=orjson.OPT_INDENT_2) + b"\n")


def manifest_versions() -> dict[str, str]:
    """Versions of what decides the bytes of a fixture: callbacksim, Faker, Hypothesis, Python."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("callbacksim", "faker", "hypothesis"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:  # pragma: no cover - all three are dependencies
            out[name] = "not installed"
    out["python"] = ".".join(map(str, sys.version_info[:3]))
    return out


def sidecar_path(path: Path, suffix: str) -> Path:
    """The file next to ``path`` with its JSON extension replaced by ``suffix``
    (``a.jsonl`` -> ``a.labels.jsonl``)."""
    name = path.name
    for ext in (".jsonl", ".ndjson", ".json"):
        if name.endswith(ext):
            name = name[: -len(ext)]
            break
    return path.with_name(name + suffix)


class _Digest:
    """SHA-256 of everything written to the records file(s), for the manifest."""

    def __init__(self) -> None:
        self.hash = hashlib.sha256()

    def wrap(self, write: Callable[[bytes], Any]) -> Callable[[bytes], None]:
        def tee(data: bytes) -> None:
            self.hash.update(data)
            write(data)

        return tee


class RecordSink:
    """Where records go: ``out`` is a file path, a directory (``dir`` format) or ``-``."""

    def __init__(self, out: str, fmt: OutputFormat, *, name_of: Callable[[int, Any], str]) -> None:
        self.out = out
        self.fmt = fmt
        self.name_of = name_of
        self.count = 0
        self.digest = _Digest()
        if out == "-" and fmt is OutputFormat.DIR:
            msg = "--format dir needs a directory for --out, not - (standard output)"
            raise UsageError(msg)
        if out != "-" and fmt is not OutputFormat.DIR and Path(out).is_dir():
            msg = f"{out} is a directory; pass a file path, or use --format dir"
            raise UsageError(msg)

    @property
    def to_stdout(self) -> bool:
        return self.out == "-"

    def sidecar(self, suffix: str) -> Path | None:
        """The default path of a labels or manifest file next to the output (None for stdout)."""
        if self.to_stdout:
            return None
        p = Path(self.out)
        if self.fmt is OutputFormat.DIR:
            return p / suffix.lstrip(".")
        return sidecar_path(p, suffix)

    @contextmanager
    def _stream(self) -> Iterator[IO[bytes]]:
        if self.to_stdout:
            yield sys.stdout.buffer
            sys.stdout.buffer.flush()
            return
        path = Path(self.out)
        try:
            if not path.parent.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("wb") as handle:
                yield handle
        except IsADirectoryError:
            msg = f"{self.out} is a directory; pass a file path, or use --format dir"
            raise UsageError(msg) from None
        except OSError as exc:
            msg = f"cannot write {self.out}: {exc.strerror}"
            raise UsageError(msg) from None

    def write_all(self, items: Iterable[Any], on_item: Callable[[], None] | None = None) -> None:
        """Write every item (a JSON value) in the sink's format."""
        dumps = orjson.dumps
        if self.fmt is OutputFormat.DIR:
            root = Path(self.out)
            try:
                root.mkdir(parents=True, exist_ok=True)
                for item in items:
                    data = dumps(item, option=orjson.OPT_INDENT_2) + b"\n"
                    self.digest.hash.update(data)
                    (root / self.name_of(self.count, item)).write_bytes(data)
                    self.count += 1
                    if on_item:
                        on_item()
            except OSError as exc:
                msg = f"cannot write into {self.out}: {exc.strerror}"
                raise UsageError(msg) from None
            return
        with self._stream() as handle:
            write = self.digest.wrap(handle.write)
            if self.fmt is OutputFormat.JSONL:
                # Lines are joined in batches: one write and one hash update per thousand records.
                batch: list[bytes] = []
                for item in items:
                    batch.append(dumps(item))
                    if len(batch) == 1024:
                        batch.append(b"")
                        write(b"\n".join(batch))
                        batch.clear()
                    self.count += 1
                    if on_item:
                        on_item()
                if batch:
                    batch.append(b"")
                    write(b"\n".join(batch))
            elif self.fmt is OutputFormat.JSON:
                write(b"[")
                for item in items:
                    write((b"\n" if self.count == 0 else b",\n") + dumps(item))
                    self.count += 1
                    if on_item:
                        on_item()
                write(b"\n]\n")
