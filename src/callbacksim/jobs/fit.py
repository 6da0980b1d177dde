"""``callbacksim profile fit`` and ``profile compare``: a realism profile fitted to conversations.

Each parameter of the profile that the data can inform has one estimator, declared in
`ESTIMATORS`: the observation it reads (`callbacksim.jobs.measure.METRICS`) and how it turns it
into a value. A parameter without an entry, or whose observation is empty, keeps its default and is
marked "not informed by the data" (in the TOML file, its line is commented out). A new profile
parameter therefore needs one entry here to be fitted, and nothing else.

The estimators follow how the simulator draws each parameter, so that a profile fitted to
generated conversations gives back the profile they came from:

- shares: hits over trials;
- log-normal durations (a median and a sigma): the exponential of the mean of the logarithms, and
  their standard deviation;
- uniform ranges (a min and a max): the sample's extremes widened by one average gap,
  ``(max - min) / (n - 1)``, on a log scale for log-uniform ranges;
- settings (``alertingTimeoutMs``, ``wrapupTimeoutMs``): the median of the values seen;
- bounds on counts (``max_offers``, ``max_holds``): the largest count seen;
- offer outcomes: per offer of the first queue visit of each served conversation, leaving out an
  accept at the last position reached (the simulator's forced accept once the offers run out);
- arrivals: the number of gaps between conversation starts over their span.

Choice-valued parameters (``wrapup_prompt``, the disconnect types) have no estimator yet: they
keep their defaults. Wrap-up is read under the prompt that governs it: skips under ``optional``,
timeouts under the time-boxed prompts, after-call work lengths under the untimed ones.

Holds leave no timestamp once they end, so an export rebuilt by ``callbacksim import`` shows none:
when no hold is seen the hold parameters are not informed, rather than fitted to zero.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import attrs

from callbacksim.errors import JsonError, UsageError
from callbacksim.generation.lifecycle import Lifecycle
from callbacksim.generation.profile import DEFAULT, Profile
from callbacksim.jobs.measure import (
    METRICS,
    Durations,
    Instants,
    Observed,
    Offers,
    Share,
    number,
)
from callbacksim.model import Edition
from callbacksim.records import InputFormat, Record

__all__ = [
    "ESTIMATORS",
    "Estimate",
    "Estimator",
    "Fitted",
    "Row",
    "compare",
    "fit",
    "fitted_profile",
    "observe",
    "observe_files",
    "observe_profile",
    "to_toml",
]


@attrs.frozen
class Estimate:
    """A value estimated from ``n`` observations, or None with the reason it is not informed."""

    value: float | None
    n: int
    note: str


@attrs.frozen
class Estimator:
    """How one parameter is estimated: the observation it reads and the function that does it."""

    metric: str
    how: str
    estimate: Callable[[Any], Estimate] = attrs.field(eq=False, repr=False)


def _too_few(n: int) -> str:
    return "none observed" if n == 0 else f"only {n} observed, 2 needed"


def _share(
    metric: str, *, need_hits: str | None = None, no_trials: str = "no chance for it in the data"
) -> Estimator:
    """Hits over trials; with ``need_hits``, not informed while nothing was hit (the reason)."""

    def estimate(s: Share) -> Estimate:
        if not s.trials:
            return Estimate(None, 0, no_trials)
        if need_hits and not s.hits:
            return Estimate(None, s.trials, need_hits)
        return Estimate(s.rate, s.trials, f"{s.hits:,} of {s.trials:,}")

    return Estimator(metric, "share", estimate)


def _log_median(metric: str) -> Estimator:
    def estimate(d: Durations) -> Estimate:
        if not d.count or math.isnan(d.log_mean):
            return Estimate(None, d.count, "none observed")
        return Estimate(math.exp(d.log_mean), d.count, f"log-normal median of {d.count:,}")

    return Estimator(metric, "log-normal median", estimate)


def _log_sigma(metric: str) -> Estimator:
    def estimate(d: Durations) -> Estimate:
        if d.count < 2 or math.isnan(d.log_sigma):
            return Estimate(None, d.count, _too_few(d.count))
        return Estimate(d.log_sigma, d.count, f"sd of log of {d.count:,}")

    return Estimator(metric, "log-normal sigma", estimate)


def _bound(metric: str, *, upper: bool, log: bool = False, from_zero: bool = False) -> Estimator:
    """An end of a uniform (``log``: log-uniform) range: the extreme widened by one mean gap."""

    def estimate(d: Durations) -> Estimate:
        if d.count < 2 or (log and d.min <= 0):
            return Estimate(None, d.count, _too_few(d.count))
        lo, hi = (math.log(d.min), math.log(d.max)) if log else (d.min, d.max)
        if from_zero:
            value = d.max * (d.count + 1) / d.count
        else:
            gap = (hi - lo) / (d.count - 1)
            value = hi + gap if upper else lo - gap
            value = math.exp(value) if log else max(0.0, value)
        side = "max" if upper else "min"
        return Estimate(value, d.count, f"{side} of {d.count:,}, widened by one mean gap")

    kind = "log-uniform" if log else "uniform"
    return Estimator(metric, f"{kind} {'max' if upper else 'min'}", estimate)


def _setting(metric: str) -> Estimator:
    def estimate(d: Durations) -> Estimate:
        if not d.count:
            return Estimate(None, 0, "never set in the data")
        return Estimate(d.quantile(0.5), d.count, f"median of {d.count:,} values")

    return Estimator(metric, "median value", estimate)


def _most(metric: str) -> Estimator:
    def estimate(d: Durations) -> Estimate:
        if not d.count:
            return Estimate(None, 0, "none observed")
        return Estimate(d.max, d.count, f"largest of {d.count:,}")

    return Estimator(metric, "largest", estimate)


def _offer_rate(outcome: str) -> Estimator:
    def estimate(o: Offers) -> Estimate:
        last = max((position for position, _ in o.by_position), default=-1)
        trials = hits = 0
        for (position, kind), n in o.by_position.items():
            if position == last and last > 0 and kind == "accept":
                continue  # the accept forced when the offers run out
            trials += n
            hits += n if kind == outcome else 0
        if not trials:
            return Estimate(None, 0, "no offers observed")
        return Estimate(hits / trials, trials, f"{hits:,} of {trials:,} offers")

    return Estimator("offers", f"share of offers ({outcome})", estimate)


def _arrivals(metric: str) -> Estimator:
    def estimate(i: Instants) -> Estimate:
        if math.isnan(i.per_hour):
            return Estimate(None, i.count, "fewer than 2 conversations, or all at one instant")
        return Estimate(i.per_hour, i.count, f"{i.count - 1:,} gaps between starts")

    return Estimator(metric, "rate", estimate)


_NO_HOLD = "no hold seen (an export keeps no timestamps of holds that ended)"

ESTIMATORS: dict[str, Estimator] = {
    "scheduled_share": _share("scheduled"),
    "schedule_min_s": _bound("schedule_lead_s", upper=False, log=True),
    "schedule_max_s": _bound("schedule_lead_s", upper=True, log=True),
    "route_delay_min_ms": _bound("route_delay_ms", upper=False),
    "route_delay_max_ms": _bound("route_delay_ms", upper=True),
    "ivr_share": _share("ivr"),
    "ivr_median_s": _log_median("ivr_s"),
    "preview_share": _share("preview"),
    "cancel_share": _share("cancelled"),
    "abandon_share": _share("abandoned"),
    "queue_wait_median_s": _log_median("queue_wait_s"),
    "queue_wait_sigma": _log_sigma("queue_wait_s"),
    "alert_start_min_ms": _bound("alert_start_ms", upper=False),
    "alert_start_max_ms": _bound("alert_start_ms", upper=True),
    "alerting_timeout_ms": _setting("alerting_timeout_ms"),
    "timeout_overrun_min_ms": _bound("timeout_overrun_ms", upper=False),
    "timeout_overrun_max_ms": _bound("timeout_overrun_ms", upper=True),
    "accept_probability": _offer_rate("accept"),
    "decline_probability": _offer_rate("decline"),
    "accept_min_s": _bound("answer_s", upper=False),
    "accept_max_s": _bound("answer_s", upper=True),
    "decline_max_s": _bound("decline_s", upper=True),
    "requeue_min_s": _bound("requeue_s", upper=False),
    "requeue_max_s": _bound("requeue_s", upper=True),
    "max_offers": _most("offers_per_visit"),
    "talk_median_s": _log_median("talk_s"),
    "talk_sigma": _log_sigma("talk_s"),
    "hold_probability": _share("hold", need_hits=_NO_HOLD),
    "max_holds": _most("holds_per_call"),
    "hold_median_s": _log_median("hold_s"),
    "hold_sigma": _log_sigma("hold_s"),
    "park_probability": _share(
        "park", no_trials="no served call, or an edition without parkTime (try --edition sdk-269)"
    ),
    "park_median_s": _log_median("park_s"),
    "transfer_probability": _share("transfer"),
    "error_probability": _share("agent_error"),
    "wrapup_skip_probability": _share("wrapup_skipped"),
    "wrapup_timeout_probability": _share("wrapup_timeout"),
    "acw_request_probability": _share("acw_requested"),
    "wrapup_timeout_ms": _setting("wrapup_timeout_setting_ms"),
    "acw_median_s": _log_median("acw_s"),
    "acw_sigma": _log_sigma("acw_s"),
    "customer_end_delay_max_ms": _bound("customer_end_delay_ms", upper=True, from_zero=True),
    "arrivals_per_hour": _arrivals("starts"),
}
"""One estimator per parameter the data informs, by parameter name."""


@attrs.frozen
class Fitted:
    """One parameter after a fit: its value (the default when not informed) and why."""

    name: str
    value: float | str
    """A number, or for a choice-valued parameter its canonical text (``option:weight,...``)."""
    default: float | str
    informed: bool
    n: int
    note: str


def observe(lifecycles: Iterable[Lifecycle], edition: Edition) -> Observed:
    """The observations of ``lifecycles`` (streamed: one conversation at a time)."""
    return Observed(edition).add_all(lifecycles)


def observe_files(
    files: Sequence[str], edition: Edition, fmt: InputFormat = InputFormat.AUTO
) -> Observed:
    """The observations of lifecycle files (as ``generate lifecycles`` and ``import`` write)."""
    from callbacksim.generation.lifecycle import stream_lifecycles
    from callbacksim.records import open_source, read_records

    observed = Observed(edition)
    for source in files:
        name = "<stdin>" if source == "-" else source
        with open_source(source) as stream:
            try:
                records = _lifecycle_events(read_records(stream, fmt=fmt, name=name), name)
                observed.add_all(stream_lifecycles(records))
            except JsonError as exc:
                msg = f"{name}: {exc}"
                raise UsageError(msg) from None
    return observed


def _lifecycle_events(records: Iterable[Record], name: str) -> Iterator[Any]:
    for record in records:
        payload = record.payload
        if record.error is not None:
            msg = f"{name}: record {record.index} is not JSON ({record.error})"
            raise UsageError(msg)
        if isinstance(payload, dict) and ("participants" in payload or "entities" in payload):
            msg = (
                f"{name} holds exported conversations, not lifecycle events; turn them into "
                f"lifecycles first: callbacksim import {name} --out conversations.jsonl"
            )
            raise UsageError(msg)
        yield payload


def observe_profile(
    profile: Profile,
    *,
    count: int,
    seed: int,
    edition: Edition,
    paths: Sequence[str] = (),
) -> Observed:
    """The observations of ``count`` lifecycles generated from ``profile``."""
    from callbacksim.generation.lifecycle import LifecycleStream
    from callbacksim.generation.participants import ANCHOR_MS

    if count < 2:
        msg = f"--count must be 2 or more to compare against a profile, got {count}"
        raise UsageError(msg)
    stream = LifecycleStream(
        seed, profile=profile, edition=edition, start_ms=ANCHOR_MS, require=tuple(paths)
    )
    return observe(itertools.islice(stream, count), edition)


def fit(observed: Observed, base: Profile = DEFAULT) -> list[Fitted]:
    """Every parameter of the profile, in declaration order: estimated where `ESTIMATORS` has an
    entry and the data informs it, else ``base``'s value, marked not informed."""
    out = []
    for field in attrs.fields(Profile):
        kind = field.metadata.get("kind", "number")
        raw = getattr(base, field.name)
        default: float | str = raw if kind == "choice" else float(raw)
        estimator = ESTIMATORS.get(field.name)
        if estimator is None:
            out.append(Fitted(field.name, default, default, False, 0, "no estimator"))
            continue
        est = estimator.estimate(observed[estimator.metric])
        if est.value is None or not math.isfinite(est.value):
            out.append(Fitted(field.name, default, default, False, est.n, est.note))
            continue
        value = _admissible(field.name, kind, est.value)
        out.append(Fitted(field.name, value, default, True, est.n, est.note))
    return out


def _admissible(name: str, kind: str, value: float) -> float:
    """``value`` rounded to 4 significant digits and kept within what the profile accepts."""
    value = max(0.0, value)
    if kind == "probability":
        value = min(1.0, value)
    if name.endswith("_sigma"):
        value = min(5.0, value)
    if name.startswith("max_"):
        return float(min(100, max(1, round(value))))
    return float(f"{value:.4g}")


def fitted_profile(fitted: Sequence[Fitted]) -> Profile:
    """The profile a fit describes (what ``--profile`` gives for its TOML file)."""
    return DEFAULT.with_overrides({f.name: f.value for f in fitted if f.informed})


def _shown(f: Fitted) -> str:
    if not f.informed:
        return "-"
    return f.value if isinstance(f.value, str) else number(f.value)


def _number(value: float | str) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    text = f"{value:.6g}"
    return text if any(c in text for c in ".en") else text + ".0"


def to_toml(fitted: Sequence[Fitted], *, conversations: int, sources: Sequence[str]) -> str:
    """The fitted profile as TOML that ``--profile`` reads: a line per parameter with how it was
    estimated; parameters the data does not inform are commented out, so they keep their
    defaults."""
    informed = sum(f.informed for f in fitted)
    lines = [
        "# A realism profile fitted by `callbacksim profile fit` to "
        f"{conversations:,} conversation(s) from {', '.join(sources)}.",
        f"# {informed} of {len(fitted)} parameters are informed by the data. The others are "
        "commented out",
        "# and keep their defaults. Use it with --profile FILE.",
        "",
    ]
    for f in fitted:
        if f.informed:
            lines.append(f"{f.name} = {_number(f.value)}  # {f.note}")
        else:
            lines.append(f"# {f.name} = {_number(f.value)}  # not informed by the data: {f.note}")
    return "\n".join(lines) + "\n"


@attrs.frozen
class Row:
    """One parameter compared: what each side shows and what each side fits to."""

    name: str
    metric: str
    what: str
    left: str
    right: str
    left_fit: str
    """The fitted value, or ``-`` when the data does not inform it."""
    right_fit: str


def compare(left: Observed, right: Observed) -> list[Row]:
    """Per parameter with an estimator: the distribution each side shows, and the fit."""
    fit_left = {f.name: f for f in fit(left)}
    fit_right = {f.name: f for f in fit(right)}
    rows = []
    for field in attrs.fields(Profile):
        estimator = ESTIMATORS.get(field.name)
        if estimator is None:
            continue
        metric = estimator.metric
        a, b = fit_left[field.name], fit_right[field.name]
        rows.append(
            Row(
                field.name,
                metric,
                METRICS[metric][1],
                left[metric].summary(),
                right[metric].summary(),
                _shown(a),
                _shown(b),
            )
        )
    return rows
