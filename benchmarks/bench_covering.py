"""The covering phases against the reference target, measured against the default budget.

For each edition, the reference target (SQLite, on 127.0.0.1) is started and every property is
checked with the default budget (60 s) but a single explored example, so that the run is the
covering phases and little else. Per property it prints the classes covered (what of what), the
cases tried and the seconds the covering phase took (the median of the rounds), then the covering
phases' total as a share of the default budget. Target: at most one fifth (0.2) of it.

Usage: ``python benchmarks/bench_covering.py [ROUNDS]`` (default 3).
"""

from __future__ import annotations

import statistics
import sys

from callbacksim.model import Edition
from callbacksim.simulator.checks import CheckConfig, run_checks
from callbacksim.simulator.properties import PROPERTIES
from callbacksim.target import BackgroundServer, ServerConfig

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 3
BUDGET = CheckConfig(url="http://127.0.0.1").budget
TARGET_SHARE = 0.2


def main() -> int:
    worst = 0.0
    for edition in Edition:
        seconds: dict[str, list[float]] = {pid: [] for pid in PROPERTIES}
        sizes: dict[str, str] = {}
        cases: dict[str, int] = {}
        with BackgroundServer(ServerConfig(edition=edition)) as url:
            for _ in range(ROUNDS):
                cfg = CheckConfig(url=url, seed=0, edition=edition, max_examples=1)
                for outcome in run_checks(cfg):
                    if outcome.status != "passed" or not outcome.complete:
                        print(f"{outcome.id}: {outcome.verdict}: {outcome.coverage()}")
                        return 1
                    seconds[outcome.id].append(outcome.covering_seconds)
                    sizes[outcome.id] = ", ".join(
                        f"{d} {c}/{t}" for d, (c, t) in outcome.covered.items()
                    )
                    cases[outcome.id] = outcome.examples - outcome.explored
        print(f"== {edition.value} edition ({ROUNDS} rounds, medians)")
        total = 0.0
        for pid in PROPERTIES:
            median = statistics.median(seconds[pid])
            total += median
            print(f"{pid:<18} {cases[pid]:>4} cases {median:6.2f} s  {sizes[pid] or '-'}")
        share = total / BUDGET
        worst = max(worst, share)
        print(f"covering phases: {total:.2f} s of the {BUDGET:g} s default budget: {share:.3f}")
    verdict = "met" if worst <= TARGET_SHARE else "NOT met"
    print(f"worst share {worst:.3f} (target <= {TARGET_SHARE}): {verdict}")
    return 0 if worst <= TARGET_SHARE else 1


if __name__ == "__main__":
    sys.exit(main())
