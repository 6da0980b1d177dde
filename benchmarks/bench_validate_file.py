"""``callbacksim validate`` on a large JSON Lines file, against the same work done in-process.

The script writes a JSON Lines file of generated participants (1 GB by default) in a temporary
directory, then measures:

- in-process: lines of that file already in memory, each parsed with orjson and judged by
  `callbacksim.check` (strict rules): the work itself, with no file, no process and no report;
- the command: ``callbacksim validate FILE`` in its own process (start-up included), reading the
  file from disk and printing its summary;

the records/s of each (by wall time, and by CPU time, which other load on a shared machine
disturbs less), their ratio, and the command's peak resident memory on the large file and on a
small one (memory stays flat when the two are close). The command runs twice, and the in-process
rounds (each over a sample of the file's lines) run before, between and after, so that both sides
see the machine's load alike; the medians are compared. The file is deleted at the end.

Target: the command within 10% of the in-process figure (ratio >= 0.9), memory flat.

Usage: ``python benchmarks/bench_validate_file.py [MEGABYTES]`` (default 1024).
"""

from __future__ import annotations

import itertools
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

from callbacksim.generation.bulk import BulkParticipants
from callbacksim.rules import check

MEGABYTES = int(sys.argv[1]) if len(sys.argv) > 1 else 1024
SMALL_MEGABYTES = 16
SAMPLE = 100_000
RUNS = 2
TARGET_RATIO = 0.9
COMMAND = [sys.executable, "-m", "callbacksim.cli", "validate"]


def write_file(path: Path, megabytes: int) -> int:
    """Generated participants as JSON Lines, until the file holds ``megabytes``; the count."""
    limit = megabytes * 1024 * 1024
    size = count = 0
    stream = BulkParticipants(2026)
    with path.open("wb") as out:
        while size < limit:
            chunk = b"".join(orjson.dumps(p) + b"\n" for p in itertools.islice(stream, 10_000))
            out.write(chunk)
            size += len(chunk)
            count += 10_000
    return count


def in_process(lines: list[bytes]) -> tuple[float, float]:
    """(records/s by wall time, records/s by CPU time) of parse-and-check over ``lines``."""
    wall, cpu = time.perf_counter(), time.process_time()
    for line in lines:
        if check(orjson.loads(line)):
            raise AssertionError("a generated record is invalid")
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return len(lines) / wall, len(lines) / cpu


def peak_rss(pid: int) -> int | None:
    """The peak resident KiB of a running process since it started its program (``VmHWM``)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return None


def command(path: Path, out: Path) -> tuple[float, float, int, str]:
    """(wall seconds, CPU seconds, peak resident KiB, last output line) of the command.

    The peak is read from ``/proc`` while the command runs: the rusage of a child counts the
    memory of this process too, which the child shares between fork and exec."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with out.open("wb") as sink:
        proc = subprocess.Popen([*COMMAND, str(path)], stdout=sink)
        peak = 0
        while proc.poll() is None:
            peak = max(peak, peak_rss(proc.pid) or 0)
            time.sleep(0.05)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    output = out.read_text().strip()
    last = output.splitlines()[-1] if output else ""
    if proc.returncode != 0:
        raise AssertionError(f"validate exited with {proc.returncode}: {last}")
    return wall, cpu, peak, last


def main() -> None:
    temp = Path(tempfile.mkdtemp(prefix="callbacksim-bench-"))
    try:
        big, small = temp / "participants.jsonl", temp / "small.jsonl"
        started = time.perf_counter()
        n = write_file(big, MEGABYTES)
        written = time.perf_counter() - started
        write_file(small, SMALL_MEGABYTES)
        with big.open("rb") as f:
            lines = list(itertools.islice(f, SAMPLE))
        print("== callbacksim validate on a large JSON Lines file")
        print(
            f"  file {big.stat().st_size / 1e9:.2f} GB, {n:,} records "
            f"(written in {written:.0f} s); in-process sample {SAMPLE:,} records"
        )
        _, _, small_rss, _ = command(small, temp / "out.txt")
        rounds = [in_process(lines)]
        runs = []
        for _ in range(RUNS):
            runs.append(command(big, temp / "out.txt"))
            rounds.append(in_process(lines))
        base_wall = statistics.median(r[0] for r in rounds)
        base_cpu = statistics.median(r[1] for r in rounds)
        wall = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        rss = max(r[2] for r in runs)
        print(f"  validate says: {runs[-1][3]}")
        print(
            f"  in-process (orjson + check): {base_wall:>9,.0f} records/s ({base_cpu:,.0f} by CPU)"
        )
        print(f"  callbacksim validate FILE:   {n / wall:>9,.0f} records/s ({n / cpu:,.0f} by CPU)")
        print(
            f"  peak RSS of validate: {rss / 1024:.0f} MiB on {MEGABYTES} MB, "
            f"{small_rss / 1024:.0f} MiB on {SMALL_MEGABYTES} MB"
        )
        ratio = (n / wall) / base_wall
        verdict = "OK" if ratio >= TARGET_RATIO else "BELOW TARGET"
        print(f"  ratio validate / in-process: {ratio:.2f} (target >= {TARGET_RATIO}): {verdict}")
        print(f"  ratio by CPU time: {(n / cpu) / base_cpu:.2f}")
    finally:
        shutil.rmtree(temp, ignore_errors=True)


if __name__ == "__main__":
    main()
