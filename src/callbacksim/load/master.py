"""The master side of a load run: it hands out slots, sums the workers' reports, decides when the
run ends, and writes the results.

In Locust's distributed mode this is the master process; on one machine it is the same process as
the only worker (Locust's local runner delivers our messages in-process). The run's load over time
is a Locust `LoadTestShape` (`CallbackLoadShape` in `callbacksim.load.users`) that asks `MasterSide`
each second how many users to run and whether the run is over:

- closed model: the users the ramp gives (``--users``, or ``--stages``);
- open model: one scheduler user per worker (the arrival rate is the workers' business);
- over when every slot has played and read back its share of ``--lifecycles``, when
  ``--run-time`` has passed, or when the last stage has ended. The workers are then stopped (those
  still playing cut what is in flight), their final reports awaited, and the results written:
  ``--callbacksim-results`` (JSON), a summary in the log, and thresholds to the exit status.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import gevent
import orjson

from callbacksim.load.plan import LoadSettings, Model
from callbacksim.load.results import Aggregate, Convergence, LoadResult
from callbacksim.load.thresholds import Threshold, judge

__all__ = ["MasterSide"]

log = logging.getLogger("callbacksim.load")

STATUS_EVERY_S = 2.0
FINAL_REPORTS_WAIT_S = 15.0


class MasterSide:
    """The master's part of one run."""

    def __init__(
        self,
        settings: LoadSettings,
        *,
        thresholds: list[Threshold],
        results: str | None,
        status: str | None,
    ) -> None:
        self.settings = settings
        self.thresholds = thresholds
        self.results_path = Path(results) if results else None
        self.status_path = Path(status) if status else None
        self.aggregate = Aggregate()
        self.slots = 0
        self.host = ""
        self.started: float | None = None
        self.loaded_at: dict[int, float] = {}
        self.ended: float | None = None
        self.stopped_by: str | None = None
        self.result: LoadResult | None = None
        self.exit_code: int | None = None
        self._status: Any = None
        self._last_requests = 0
        self._last_time = 0.0

    # -- the run ----------------------------------------------------------------------------------

    def begin(self, slots: int, host: str) -> None:
        self.slots = slots
        self.host = host
        self.started = time.perf_counter()
        self._last_time = self.started
        if self._status is None:
            self._status = gevent.spawn(self._status_loop)

    def on_report(self, data: dict[str, Any]) -> None:
        self.aggregate.add(data)
        if data.get("loaded"):
            self.loaded_at.setdefault(int(data["slot"]), time.perf_counter())

    def elapsed(self) -> float:
        return time.perf_counter() - self.started if self.started is not None else 0.0

    def over(self, run_time: float) -> str | None:
        """Why the run is over at ``run_time`` seconds, or None while it goes on."""
        s = self.settings
        if s.lifecycles is not None and self.slots and len(self.aggregate.finals) >= self.slots:
            return "lifecycles"
        if s.run_time is not None and run_time >= s.run_time:
            return "run-time"
        end = s.ramp.end
        if end is not None and run_time >= end:
            return "stages"
        return None

    def users(self, run_time: float, workers: int) -> tuple[int, float]:
        """Users and spawn rate for this second of the run, with ``workers`` connected."""
        s = self.settings
        if s.model is Model.OPEN:
            slots = max(self.slots or workers, 1)
            return slots, float(slots)
        target = round(s.ramp.level_at(run_time))
        if s.stages is None and s.spawn_rate is not None:
            return target, s.spawn_rate
        # Follow a linear stage closely: start what the next second needs within the second.
        ahead = round(s.ramp.level_at(run_time + 1.0))
        return target, float(max(abs(ahead - target), target, 1))

    def wait_for_finals(self) -> None:
        """After the workers were stopped: their last reports, for a while."""
        deadline = time.perf_counter() + FINAL_REPORTS_WAIT_S
        while len(self.aggregate.finals) < self.slots and time.perf_counter() < deadline:
            gevent.sleep(0.1)
        missing = self.slots - len(self.aggregate.finals)
        if missing:
            log.warning("%d worker(s) sent no final report; their last counts are missing", missing)

    def finish(self, stopped_by: str) -> LoadResult:
        """The run is over: build the result, write it, judge it (once)."""
        if self.result is not None:
            return self.result
        self.stopped_by = stopped_by
        if self.ended is None:
            self.ended = time.perf_counter()
        if self._status is not None:
            self._status.kill(block=False)
        start = self.started if self.started is not None else self.ended
        end = max(self.loaded_at.values()) if stopped_by == "lifecycles" else self.ended
        parts = [self.aggregate.verification[s] for s in sorted(self.aggregate.verification)]
        convergence = Convergence.merge(parts)
        if self.settings.lifecycles is None:
            convergence = Convergence(False, "only a run of --lifecycles N reads the target back")
        result = self.aggregate.result(
            target=self.host,
            settings=self.settings.describe(),
            workers=self.slots,
            seconds=max(end - start, 0.0),
            stopped_by=stopped_by,
            measured_from="due" if self.settings.model is Model.OPEN else "sent",
            convergence=convergence,
        )
        self.result = result
        verdicts = judge(self.thresholds, result)
        failed = [v for v in verdicts if not v.holds]
        problems = [str(v) for v in failed]
        if not result.complete:
            problems.append(f"only {result.done} of {result.requested} conversations were done")
        if convergence.read_back and not convergence.converged:
            problems.append("the target did not converge")
        self.exit_code = 1 if problems else 0
        self._write_status("done")
        if self.results_path is not None:
            self.results_path.parent.mkdir(parents=True, exist_ok=True)
            payload = result.to_json()
            payload["thresholds"] = [
                {"expression": v.threshold.text, "holds": v.holds, "actual": v.actual}
                for v in verdicts
            ]
            self.results_path.write_bytes(orjson.dumps(payload, option=orjson.OPT_INDENT_2))
        self._log_summary(result, [str(v) for v in verdicts], problems)
        return result

    # -- what a person sees while it runs ---------------------------------------------------------

    def status(self, phase: str) -> dict[str, Any]:
        now = time.perf_counter()
        requests = sum(self.aggregate.requests.values())
        window = now - self._last_time
        rps = (requests - self._last_requests) / window if window > 0 else 0.0
        self._last_requests, self._last_time = requests, now
        out = self.aggregate.status(self.elapsed(), rps)
        out["phase"] = phase
        out["requested"] = self.settings.lifecycles
        return out

    def _write_status(self, phase: str) -> None:
        status = self.status(phase)
        if self.status_path is not None:
            with self.status_path.open("ab") as handle:
                handle.write(orjson.dumps(status) + b"\n")
        else:
            log.info(
                "%.0f s: conversations %d started, %d done; %d requests (%.0f/s); "
                "%d failures; p50 %.1f ms, p99 %.1f ms",
                status["elapsed"],
                status["started"],
                status["done"],
                status["requests"],
                status["rps"],
                status["failures"],
                status["p50"],
                status["p99"],
            )

    def _status_loop(self) -> None:
        while True:
            gevent.sleep(STATUS_EVERY_S)
            loading = len(self.loaded_at) < self.slots or self.settings.lifecycles is None
            self._write_status("load" if loading else "reading back")

    def _log_summary(self, result: LoadResult, verdicts: list[str], problems: list[str]) -> None:
        lat = result.total.latency_ms
        log.info(
            "callbacksim: %d conversation(s) done in %.1f s (%s); %d requests, %.0f/s, "
            "%d failure(s); latency from %s: p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms",
            result.done,
            result.seconds,
            result.stopped_by,
            result.requests,
            result.rps,
            result.failures,
            result.measured_from,
            lat["p50"],
            lat["p99"],
            lat["p99.9"],
            lat["max"],
        )
        for line in verdicts:
            log.info("callbacksim: threshold %s", line)
        for line in problems:
            log.warning("callbacksim: %s", line)
