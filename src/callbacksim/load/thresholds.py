"""Thresholds: ``--fail-on`` expressions, judged against a run's results.

An expression is ``[NAME:]METRIC OP VALUE``:

- METRIC: a latency percentile (``p50``, ``p90``, ``p99``, ``p99.9``, any ``pN``), ``max`` or
  ``mean``, with a unit (``us``, ``ms``, ``s``; a bare number is milliseconds); ``failures`` and
  ``late-arrivals``, as a share (``0.5%``) or a count (``10``); ``rps``, requests per second;
- OP: ``<``, ``<=``, ``>``, ``>=``;
- NAME: a request name (``agent:connected``), to judge those requests only; without it, all.

``late-arrivals`` is about the open model only (arrivals that could not start when due). Several
expressions are separated by commas or given one per option.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable

import attrs

from callbacksim.errors import UsageError
from callbacksim.load.results import LoadResult, NameStats
from callbacksim.simulator.latency import decode

__all__ = ["Threshold", "Verdict", "judge", "parse_thresholds"]

_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
}
_EXPRESSION = re.compile(
    r"^(?:(?P<name>.+):)?(?P<metric>p\d+(?:\.\d+)?|max|mean|failures|late-arrivals|rps)\s*"
    r"(?P<op><=|>=|<|>)\s*(?P<value>\d+(?:\.\d+)?|\.\d+)\s*(?P<unit>us|ms|s|%|/s)?$"
)
_TO_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, None: 1.0}
_EXAMPLES = "for example p99<250ms, p99.9<1s, failures<0.5%, late-arrivals<1%, rps>500"


@attrs.frozen
class Threshold:
    """One parsed expression; ``value`` in milliseconds for latencies, percent for shares."""

    text: str
    name: str | None
    metric: str
    op: str
    value: float
    share: bool = False

    @property
    def latency(self) -> bool:
        return self.metric not in ("failures", "late-arrivals", "rps")


@attrs.frozen
class Verdict:
    threshold: Threshold
    holds: bool
    actual: str
    """What was measured, in the threshold's own terms (``p99 was 412.3 ms``)."""

    def __str__(self) -> str:
        mark = "holds" if self.holds else "FAILS"
        return f"{self.threshold.text}: {mark} ({self.actual})"


def parse_thresholds(texts: Iterable[str], *, open_model: bool) -> list[Threshold]:
    """Parse ``--fail-on`` values; `UsageError` naming the bad expression and the form."""
    out = []
    for text in texts:
        for part in (p.strip() for p in text.split(",")):
            if part:
                out.append(_parse(part, open_model))
    return out


def _parse(text: str, open_model: bool) -> Threshold:
    match = _EXPRESSION.match(text)
    if match is None:
        msg = f"--fail-on {text!r} is not [NAME:]METRIC OP VALUE; {_EXAMPLES}"
        raise UsageError(msg)
    name, metric, op, unit = match["name"], match["metric"], match["op"], match["unit"]
    value = float(match["value"])
    latency = metric not in ("failures", "late-arrivals", "rps")
    if metric.startswith("p") and not 0 < float(metric[1:]) < 100:
        msg = f"--fail-on {text!r}: a percentile is between 0 and 100 (p50, p99, p99.9)"
        raise UsageError(msg)
    if latency and unit not in _TO_MS:
        msg = f"--fail-on {text!r}: a latency takes us, ms or s"
        raise UsageError(msg)
    if metric in ("failures", "late-arrivals") and unit not in (None, "%"):
        msg = f"--fail-on {text!r}: {metric} is a share (0.5%) or a count (10)"
        raise UsageError(msg)
    if metric == "rps" and unit not in (None, "/s"):
        msg = f"--fail-on {text!r}: rps is requests per second (rps>500)"
        raise UsageError(msg)
    if metric == "late-arrivals" and not open_model:
        msg = f"--fail-on {text!r}: late arrivals are counted in the open model (--arrival-rate)"
        raise UsageError(msg)
    if metric == "late-arrivals" and name is not None:
        msg = f"--fail-on {text!r}: late arrivals are counted for the whole run, not by name"
        raise UsageError(msg)
    if latency:
        value *= _TO_MS[unit]
    return Threshold(text, name, metric, op, value, share=unit == "%")


def judge(thresholds: Iterable[Threshold], result: LoadResult) -> list[Verdict]:
    """Each threshold against ``result``. A threshold naming requests the run did not make
    fails, and says which names there were."""
    return [_judge(t, result) for t in thresholds]


def _judge(t: Threshold, result: LoadResult) -> Verdict:
    stats: NameStats = result.total
    if t.name is not None:
        if t.name not in result.names:
            known = ", ".join(result.names) or "none"
            return Verdict(t, False, f"no request named {t.name!r} in this run (names: {known})")
        stats = result.names[t.name]
    compare = _OPS[t.op]
    if t.latency:
        if stats.requests == 0:
            return Verdict(t, False, "no requests were measured")
        if t.metric.startswith("p"):
            micros = decode(stats.histogram).get_value_at_percentile(float(t.metric[1:]))
            measured = micros / 1000
        else:
            measured = stats.latency_ms[t.metric]
        return Verdict(t, compare(measured, t.value), f"{t.metric} was {_ms(measured)}")
    if t.metric == "rps":
        seconds = result.seconds
        measured = stats.requests / seconds if seconds > 0 else 0.0
        return Verdict(t, compare(measured, t.value), f"{measured:,.1f} requests/s")
    if t.metric == "failures":
        count, of, what = stats.failures, stats.requests, "requests"
    else:
        count, of, what = result.late, result.arrivals, "arrivals"
    if t.share:
        share = 100 * count / of if of else 0.0
        return Verdict(t, compare(share, t.value), f"{count:,} of {of:,} {what}, {share:.3g}%")
    return Verdict(t, compare(count, t.value), f"{count:,} of {of:,} {what}")


def _ms(value: float) -> str:
    return f"{value / 1000:.3g} s" if value >= 1000 else f"{value:.3g} ms"
