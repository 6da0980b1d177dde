"""Latency: recorded cheaply as it comes, kept as HDR histograms, merged exactly.

Recording a value in the pure-Python HDR histogram costs more than the rest of a send, so a
`LatencyRecorder` only rounds each value (microseconds) down to its HDR bucket (three significant
digits: the top eleven bits) and counts it. `histogram` turns the counts into an `HdrHistogram`
whenever one is wanted; because each value was rounded exactly as the histogram would round it, the
result is the histogram the values would have made.

Histograms cross process boundaries encoded (`encode` / `decode`, HDR's own compressed format), and
adding decoded histograms is exact: the merge of several workers' latencies is the histogram of all
of them, not an average of their percentiles.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from hdrh.histogram import HdrHistogram

__all__ = [
    "HIGHEST_US",
    "PERCENTILES",
    "LatencyRecorder",
    "bucket",
    "buckets_ms",
    "decode",
    "encode",
    "histogram_of",
    "mean_us",
    "new_histogram",
    "request_name",
    "summary_ms",
]

HIGHEST_US = 3_600_000_000
"""The largest latency kept apart (one hour, in microseconds); longer ones count as one hour."""

PERCENTILES = (50.0, 90.0, 99.0, 99.9)
"""The percentiles every summary gives, with the maximum and the mean."""


def request_name(participant: Mapping[str, Any]) -> str:
    """The name a request is counted under, in replay and load alike: the participant's purpose
    and state (``agent:connected``), so the statistics show which step of a callback is slow."""
    return f"{participant.get('purpose')}:{participant.get('state')}"


def bucket(micros: int) -> int:
    """``micros`` rounded down to the lowest value of its HDR bucket (three significant digits)."""
    micros = min(max(micros, 1), HIGHEST_US)
    shift = micros.bit_length() - 11
    return (micros >> shift) << shift if shift > 0 else micros


def new_histogram() -> HdrHistogram:
    """An empty histogram: 1 µs to one hour, three significant digits."""
    return HdrHistogram(1, HIGHEST_US, 3)


class LatencyRecorder:
    """Counts of latencies by HDR bucket; `histogram` and `drain` hand them over."""

    __slots__ = ("counts",)

    def __init__(self) -> None:
        self.counts: Counter[int] = Counter()

    def record(self, micros: int) -> None:
        self.counts[bucket(micros)] += 1

    def record_seconds(self, seconds: float) -> None:
        self.counts[bucket(int(seconds * 1e6))] += 1

    def __len__(self) -> int:
        return sum(self.counts.values())

    def histogram(self) -> HdrHistogram:
        """The counts so far, as a histogram."""
        return histogram_of(self.counts.items())

    def drain(self) -> HdrHistogram:
        """The counts so far as a histogram, and start again from none."""
        h = self.histogram()
        self.counts = Counter()
        return h


def histogram_of(counts: Iterable[tuple[int, int]]) -> HdrHistogram:
    """A histogram of (microseconds, count) pairs."""
    h = new_histogram()
    for micros, count in counts:
        h.record_value(min(max(micros, 1), HIGHEST_US), count)
    return h


def encode(h: HdrHistogram) -> str:
    """HDR's compressed, base64 form of ``h`` (text, for JSON and messages)."""
    data: bytes = h.encode()
    return data.decode("ascii")


def decode(text: str) -> HdrHistogram:
    """A histogram from `encode`'s text; `ValueError` if it is not one."""
    h = new_histogram()
    if text:
        try:
            h.decode_and_add(text.encode("ascii"))
        except Exception as exc:  # hdrh raises plain exceptions of several kinds
            msg = f"not an encoded HDR histogram ({exc})"
            raise ValueError(msg) from None
    return h


def summary_ms(h: HdrHistogram) -> dict[str, float]:
    """p50, p90, p99, p99.9, max and mean of ``h``, in milliseconds (all 0 when it is empty)."""
    if h.get_total_count() == 0:
        return {**{f"p{p:g}": 0.0 for p in PERCENTILES}, "max": 0.0, "mean": 0.0}
    values = h.get_percentile_to_value_dict(list(PERCENTILES))
    out = {f"p{p:g}": values[p] / 1000 for p in PERCENTILES}
    out["max"] = h.get_max_value() / 1000
    out["mean"] = mean_us(h) / 1000
    return out


def mean_us(h: HdrHistogram) -> float:
    """The mean of ``h`` (each value taken as the middle of its bucket, as HDR does), in one pass
    over the counts (hdrh's own walks an iterator, a hundred times slower)."""
    total_count = int(h.get_total_count())
    if not total_count:
        return 0.0
    counts = h.counts
    last = h.get_counts_array_index(h.get_max_value())
    total = 0
    for index in range(min(last + 1, h.counts_len)):
        count = counts[index]
        if count:
            value = h.get_value_from_index(index)
            low = h.get_lowest_equivalent_value(value)
            high = h.get_highest_equivalent_value(value)
            total += count * (low + (high - low + 1) // 2)
    return float(total) / total_count


def buckets_ms(h: HdrHistogram) -> list[tuple[float, int]]:
    """The histogram's non-empty buckets: (milliseconds, count), for charts; each bucket at its
    highest value, as hdrh's recorded-values iterator gives them, in one pass over the counts (the
    iterator takes a tenth of a second for a few thousand buckets)."""
    if not h.get_total_count():
        return []
    counts = h.counts
    last = h.get_counts_array_index(h.get_max_value())
    out = []
    for index in range(min(last + 1, h.counts_len)):
        count = counts[index]
        if count:
            value = h.get_highest_equivalent_value(h.get_value_from_index(index))
            out.append((value / 1000, int(count)))
    return out
