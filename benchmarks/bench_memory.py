"""Peak memory of ``callbacksim replay`` at two sizes, and of ``--resume``: flat, or not.

The command runs as a process of its own, exactly as a user runs it: generated lifecycles (the
default profile), verification on (every conversation read back) and a ledger. The target is a
correct, minimal store in another process that forgets a conversation once its listing has been
read (the last read of a verification), so it stays small and quick; only the replay's memory is
measured, as the peak resident set size the kernel reports for the process (``ru_maxrss``).

For each size: a full replay; then the same replay stopped half-way by SIGINT (as Ctrl-C would),
and ``--resume`` finishing it. Printed: peak RSS of the full replay and of the resume, the slope in
bytes per conversation between the two sizes, and the peak RSS that slope predicts at 1,000,000
conversations (target: under 300 MB).

Usage: ``python benchmarks/bench_memory.py [SMALL LARGE]`` (default 20000 100000 conversations;
the large run takes a few minutes per 100,000 conversations on a small machine).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import stubs

SMALL, LARGE = (int(sys.argv[1]), int(sys.argv[2])) if len(sys.argv) > 2 else (20_000, 100_000)
MILLION = 1_000_000
LIMIT_MB = 300


def measured(argv: list[str], *, stop_at: tuple[Path, int] | None = None) -> tuple[int, float, str]:
    """Run ``callbacksim`` with ``argv``; (peak RSS in bytes, seconds, what it printed).
    ``stop_at`` (a file and a size): SIGINT once the file has grown to that many bytes."""
    started = time.monotonic()
    with tempfile.TemporaryFile("w+") as output:
        child = subprocess.Popen(
            [sys.executable, "-m", "callbacksim.cli", *argv], stdout=output, stderr=output
        )
        if stop_at is not None:
            path, size = stop_at
            while child.poll() is None and (not path.exists() or path.stat().st_size < size):
                time.sleep(0.05)
            child.send_signal(signal.SIGINT)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        printed = output.read()
    seconds = time.monotonic() - started
    expected = 130 if stop_at is not None else 0
    if child.returncode != expected:
        sys.exit(f"callbacksim {' '.join(argv)} exited {child.returncode}:\n{printed}")
    return usage.ru_maxrss * 1024, seconds, printed


def one_size(url: str, n: int, workdir: Path) -> tuple[int, int]:
    argv = ["replay", url, "--lifecycles", str(n), "--concurrency", "32"]
    ledger = workdir / f"ledger-{n}.jsonl"
    rss, seconds, out = measured([*argv, "--seed", "1", "--ledger", str(ledger)])
    assert "yes:" in out, out
    print(f"  {n:>9,} conversations: replay   peak RSS {rss / 2**20:6.1f} MB ({seconds:,.0f} s)")
    size = ledger.stat().st_size
    ledger.unlink()
    half = workdir / f"half-{n}.jsonl"
    measured([*argv, "--seed", "2", "--ledger", str(half)], stop_at=(half, size // 2))
    kept = half.stat().st_size
    resumed, seconds, out = measured([*argv, "--seed", "2", "--resume", str(half)])
    assert "yes:" in out, out
    print(
        f"  {n:>9,} conversations: --resume peak RSS {resumed / 2**20:6.1f} MB ({seconds:,.0f} s, "
        f"of a run stopped by SIGINT at {kept / size:.0%} of its ledger)"
    )
    half.unlink()
    return rss, resumed


def main() -> None:
    _, other = stubs.cpus()
    target, url = stubs.start(stubs.FORGETFUL, other)
    print("== peak memory of replay (generated lifecycles, verification, a ledger)")
    try:
        with tempfile.TemporaryDirectory(prefix="callbacksim-bench-") as tmp:
            small = one_size(url, SMALL, Path(tmp))
            large = one_size(url, LARGE, Path(tmp))
    finally:
        stubs.stop(target)
    for name, a, b in (("replay", small[0], large[0]), ("--resume", small[1], large[1])):
        slope = (b - a) / (LARGE - SMALL)
        predicted = (b + slope * (MILLION - LARGE)) / 2**20
        verdict = "OK" if predicted < LIMIT_MB else "OVER"
        print(
            f"  {name:<8} slope {slope:7.1f} bytes/conversation; predicted peak at "
            f"{MILLION:,} conversations {predicted:6.1f} MB (limit {LIMIT_MB} MB): {verdict}"
        )


if __name__ == "__main__":
    main()
