"""What a load run counted: per worker as it goes (`WorkerTally`), merged on the master
(`Aggregate`), and the run's `LoadResult` (written as JSON, read back by ``callbacksim load``).

A worker's tally sends *deltas*: every report carries only what happened since the previous one,
latencies as encoded HDR histograms per request name (`callbacksim.simulator.latency`). The master
adds them up; adding histograms is exact, so the merged percentiles are those of every request of
every worker. Nothing here keeps one entry per request or per conversation: memory stays flat
however long the run.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import attrs

from callbacksim.simulator.latency import (
    LatencyRecorder,
    buckets_ms,
    decode,
    encode,
    new_histogram,
    summary_ms,
)

__all__ = ["Aggregate", "Convergence", "LoadResult", "NameStats", "WorkerTally"]

_EXAMPLES = 20
_MEMORY_SAMPLES = 240
"""At most this many memory samples are kept per worker: past it, every other one is dropped and
samples are taken half as often, so a long run keeps a coarser series, never a longer one."""


class WorkerTally:
    """One worker's counts since its last report."""

    __slots__ = (
        "arrivals",
        "cut",
        "done",
        "failed",
        "in_flight",
        "late",
        "lost",
        "reasons",
        "recorders",
        "requests",
        "seconds",
        "slot",
        "started",
    )

    def __init__(self, slot: int) -> None:
        self.slot = slot
        self._reset()

    def _reset(self) -> None:
        self.recorders: dict[str, LatencyRecorder] = {}
        self.requests: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()
        self.reasons: Counter[str] = Counter()
        self.seconds: Counter[int] = Counter()
        self.started = self.done = self.cut = self.arrivals = self.late = self.lost = 0
        self.in_flight = 0
        """The most conversations in flight at once since the last report."""

    def record(self, name: str, micros: int, second: int, failure: str | None) -> None:
        """One request named ``name``: its latency, the (epoch) second it ended, and why it
        failed (None: it did not)."""
        recorder = self.recorders.get(name)
        if recorder is None:
            recorder = self.recorders[name] = LatencyRecorder()
        recorder.record(micros)
        self.requests[name] += 1
        self.seconds[second] += 1
        if failure is not None:
            self.failed[name] += 1
            self.reasons[failure] += 1

    def report(self, **extra: Any) -> dict[str, Any]:
        """Everything since the last report, as plain values (for a Locust message), and start
        again from nothing. ``extra`` rides along (memory, verification, ``final``)."""
        out = {
            "slot": self.slot,
            "histograms": {name: encode(r.histogram()) for name, r in self.recorders.items()},
            "requests": dict(self.requests),
            "failed": dict(self.failed),
            "reasons": dict(self.reasons),
            "seconds": {str(k): v for k, v in self.seconds.items()},
            "started": self.started,
            "done": self.done,
            "cut": self.cut,
            "arrivals": self.arrivals,
            "late": self.late,
            "lost": self.lost,
            "in_flight": self.in_flight,
            **extra,
        }
        self._reset()
        return out


@attrs.frozen
class NameStats:
    """The requests of one name (``agent:connected``), or of all."""

    requests: int
    failures: int
    latency_ms: dict[str, float]
    histogram: str
    """The encoded HDR histogram of their latencies, in microseconds."""


@attrs.frozen
class Convergence:
    """The read-back at the end of a run of ``--lifecycles``."""

    read_back: bool
    note: str = ""
    """Why the target was not read back, when it was not."""
    conversations: int = 0
    conversations_converged: int = 0
    participants: int = 0
    participants_converged: int = 0
    unreadable: int = 0
    examples: tuple[str, ...] = ()

    @property
    def converged(self) -> bool:
        return (
            self.conversations_converged == self.conversations
            and self.participants_converged == self.participants
        )

    @classmethod
    def merge(cls, parts: list[dict[str, Any]]) -> Convergence:
        if not parts:
            return cls(False, "no worker read the target back")
        if not all(p.get("read_back") for p in parts):
            notes = sorted({str(p.get("note") or "") for p in parts if not p.get("read_back")})
            return cls(False, "; ".join(n for n in notes if n))
        examples = [e for p in parts for e in p.get("examples", ())][:_EXAMPLES]
        return cls(
            True,
            conversations=sum(int(p["conversations"]) for p in parts),
            conversations_converged=sum(int(p["conversations_converged"]) for p in parts),
            participants=sum(int(p["participants"]) for p in parts),
            participants_converged=sum(int(p["participants_converged"]) for p in parts),
            unreadable=sum(int(p["unreadable"]) for p in parts),
            examples=tuple(examples),
        )


@attrs.frozen
class LoadResult:
    """A whole run, as ``callbacksim load`` reports it and ``--report`` writes it."""

    target: str
    settings: dict[str, Any]
    workers: int
    seconds: float
    """From the first conversation to the end of the load (the read-back excluded)."""
    stopped_by: str
    """lifecycles (all done), run-time, stages (the last ended) or stopped (by hand)."""
    measured_from: str
    """due (open model: from when each request was due) or sent (closed model)."""
    started: int
    done: int
    cut: int
    """Conversations stopped part-way when the run ended."""
    arrivals: int
    late: int
    """Open model: arrivals that could not start when due (the in-flight cap was reached)."""
    requests: int
    failures: int
    reasons: dict[str, int]
    total: NameStats
    names: dict[str, NameStats]
    timeline: list[int]
    """Requests answered in each second of the run."""
    convergence: Convergence
    per_worker: list[dict[str, Any]]
    lost: int = 0
    """Events the loss fault dropped (never sent), as a closed WebSocket drops them."""

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    def name_rows(self) -> list[tuple[str, int, int, dict[str, float]]]:
        """(name, requests, failures, latency in ms) for each of `names` in order, then the
        ``all`` row: what the views show."""
        every = [*self.names.items(), ("all", self.total)]
        return [(name, st.requests, st.failures, st.latency_ms) for name, st in every]

    @property
    def requested(self) -> int | None:
        value = self.settings.get("lifecycles")
        return int(value) if value is not None else None

    @property
    def complete(self) -> bool:
        """Every requested conversation done (always, without ``--lifecycles``)."""
        return self.requested is None or self.done == self.requested

    def histogram_buckets(self) -> list[tuple[float, int]]:
        return buckets_ms(decode(self.total.histogram))

    def to_json(self) -> dict[str, Any]:
        out = attrs.asdict(self)
        out["rps"] = round(self.rps, 3)
        out["convergence"]["converged"] = self.convergence.converged
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LoadResult:
        fields = {f.name for f in attrs.fields(cls)}
        values = {k: v for k, v in data.items() if k in fields}
        values["total"] = NameStats(**values["total"])
        values["names"] = {k: NameStats(**v) for k, v in values["names"].items()}
        conv = dict(values["convergence"])
        conv.pop("converged", None)
        conv["examples"] = tuple(conv.get("examples", ()))
        values["convergence"] = Convergence(**conv)
        return cls(**values)


class Aggregate:
    """The master's sum of every worker's reports."""

    def __init__(self) -> None:
        self.histograms: dict[str, Any] = {}
        self.total = new_histogram()
        self.requests: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()
        self.reasons: Counter[str] = Counter()
        self.seconds: Counter[int] = Counter()
        self.counts: Counter[str] = Counter()
        self.per_worker: dict[int, dict[str, Any]] = {}
        self.verification: dict[int, dict[str, Any]] = {}
        self.finals: set[int] = set()

    def add(self, report: dict[str, Any]) -> None:
        slot = int(report["slot"])
        for name, text in report["histograms"].items():
            h = decode(text)
            if name not in self.histograms:
                self.histograms[name] = new_histogram()
            self.histograms[name].add(h)
            self.total.add(h)
        self.requests.update(report["requests"])
        self.failed.update(report["failed"])
        self.reasons.update(report["reasons"])
        self.seconds.update({int(k): v for k, v in report["seconds"].items()})
        worker = self.per_worker.setdefault(
            slot,
            {"slot": slot, "conversations": 0, "requests": 0, "rss_mb": [], "_memory": [0, 1, 0.0]},
        )
        for key in ("started", "done", "cut", "arrivals", "late", "lost"):
            self.counts[key] += int(report.get(key, 0))
        worker["conversations"] += int(report["done"])
        worker["in_flight_max"] = max(worker.get("in_flight_max", 0), int(report["in_flight"]))
        worker["requests"] += sum(report["requests"].values())
        if report.get("rss_mb") is not None:
            self._memory(worker, round(float(report["rss_mb"]), 1))
        if report.get("verification") is not None:
            self.verification[slot] = report["verification"]
        if report.get("final"):
            self.finals.add(slot)

    @staticmethod
    def _memory(worker: dict[str, Any], mb: float) -> None:
        seen, stride, peak = worker["_memory"]
        samples: list[float] = worker["rss_mb"]
        if seen % stride == 0:
            samples.append(mb)
        if len(samples) > _MEMORY_SAMPLES:
            del samples[1::2]
            stride *= 2
        worker["_memory"] = [seen + 1, stride, max(peak, mb)]
        worker["_last"] = mb

    def status(self, elapsed: float, window_rps: float) -> dict[str, Any]:
        """The live line's numbers."""
        pct = summary_ms(self.total)
        return {
            "elapsed": round(elapsed, 1),
            "started": self.counts["started"],
            "done": self.counts["done"],
            "requests": sum(self.requests.values()),
            "rps": round(window_rps, 1),
            "failures": sum(self.failed.values()),
            "late": self.counts["late"],
            "arrivals": self.counts["arrivals"],
            "p50": pct["p50"],
            "p99": pct["p99"],
        }

    def result(
        self,
        *,
        target: str,
        settings: dict[str, Any],
        workers: int,
        seconds: float,
        stopped_by: str,
        measured_from: str,
        convergence: Convergence,
    ) -> LoadResult:
        names = {
            name: NameStats(self.requests[name], self.failed[name], summary_ms(h), encode(h))
            for name, h in sorted(self.histograms.items())
        }
        requests, failures = sum(self.requests.values()), sum(self.failed.values())
        first = min(self.seconds, default=0)
        last = max(self.seconds, default=-1)
        per_worker = []
        for slot in sorted(self.per_worker):
            w = dict(self.per_worker[slot])
            rss = w.pop("rss_mb")
            _seen, _stride, peak = w.pop("_memory")
            latest = w.pop("_last", None)
            if rss:
                w["rss_mb"] = {"first": rss[0], "max": peak, "last": latest, "samples": rss}
            per_worker.append(w)
        return LoadResult(
            target=target,
            settings=settings,
            workers=workers,
            seconds=seconds,
            stopped_by=stopped_by,
            measured_from=measured_from,
            started=self.counts["started"],
            done=self.counts["done"],
            cut=self.counts["cut"],
            arrivals=self.counts["arrivals"],
            late=self.counts["late"],
            requests=requests,
            failures=failures,
            reasons=dict(self.reasons.most_common()),
            total=NameStats(requests, failures, summary_ms(self.total), encode(self.total)),
            names=names,
            timeline=[self.seconds[s] for s in range(first, last + 1)],
            convergence=convergence,
            per_worker=per_worker,
            lost=self.counts["lost"],
        )
