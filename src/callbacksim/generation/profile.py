"""The realism profile: every number that shapes a simulated callback, named and documented.

Each parameter states its basis: an observation of real Genesys Cloud data where there is one, or
an explicit assumption where there is not. Durations are in milliseconds (``_ms``) or seconds
(``_s``); probabilities are in [0, 1]. Override any of them from a JSON or TOML file
(`load_profile`) or with ``name=value`` pairs (`Profile.with_overrides`), or both (`build_profile`,
what the CLI's ``--profile FILE`` and ``--set NAME=VALUE`` give).

Heavy-tailed durations are log-normal, given by their median and the sigma of their logarithm.
"""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs

from callbacksim.errors import UsageError

__all__ = ["DEFAULT", "Profile", "build_profile", "load_profile"]


def _p(value: float, basis: str) -> Any:
    return attrs.field(default=value, metadata={"basis": basis, "kind": "probability"})


def _n(value: float, basis: str) -> Any:
    return attrs.field(default=value, metadata={"basis": basis, "kind": "number"})


@attrs.frozen
class Profile:
    """Named parameters of the lifecycle simulator. See each field's ``basis`` metadata."""

    # -- creation and scheduling --
    scheduled_share: float = _p(
        0.6, "assumption: most callbacks are scheduled for later rather than placed at once"
    )
    schedule_min_s: float = _n(300, "assumption: a scheduled callback is at least 5 min out")
    schedule_max_s: float = _n(
        7 * 86_400,
        "scheduled-by-agent callbacks can be up to 30 days ahead (Genesys Resource Center); "
        "assumption: most are within a week (log-uniform between min and max)",
    )
    route_delay_min_ms: float = _n(1_000, "observed: queue connect 1.1 s after the scheduled time")
    route_delay_max_ms: float = _n(60_000, "observed: queue connect 60 s after the scheduled time")
    ivr_share: float = _p(0.3, "assumption: share of callbacks requested from an IVR flow")
    ivr_median_s: float = _n(45, "assumption: time spent in the flow before the callback request")
    preview_share: float = _p(
        0.1, "assumption: share of callbacks from outbound preview campaigns (outboundPreview)"
    )
    cancel_share: float = _p(
        0.03, "assumption: scheduled callbacks cancelled before they are routed"
    )
    abandon_share: float = _p(
        0.03, "assumption: callbacks disconnected by the customer while waiting for an agent"
    )
    # -- offers --
    queue_wait_median_s: float = _n(30, "assumption: time in queue before the first offer")
    queue_wait_sigma: float = _n(1.0, "assumption: spread of the queue wait (log-normal)")
    alert_start_min_ms: float = _n(
        9, "observed: alerting starts 9-36 ms after the agent leg starts"
    )
    alert_start_max_ms: float = _n(
        36, "observed: alerting starts 9-36 ms after the agent leg starts"
    )
    alerting_timeout_ms: float = _n(30_000, "observed: alertingTimeoutMs 30000")
    timeout_overrun_min_ms: float = _n(
        100, "observed: timed-out legs end 30.10-30.12 s after alerting"
    )
    timeout_overrun_max_ms: float = _n(
        120, "observed: timed-out legs end 30.10-30.12 s after alerting"
    )
    accept_probability: float = _p(0.75, "assumption: an offer is accepted")
    decline_probability: float = _p(
        0.1, "assumption: an offer is declined (the rest time out after alertingTimeoutMs)"
    )
    accept_min_s: float = _n(2, "assumption: fastest answer")
    accept_max_s: float = _n(20, "assumption: slowest answer before the 30 s timeout")
    decline_max_s: float = _n(25, "observed: a decline about 23 s into the offer")
    requeue_min_s: float = _n(1, "assumption: wait before the next offer after a missed one")
    requeue_max_s: float = _n(30, "assumption: wait before the next offer after a missed one")
    max_offers: float = _n(4, "assumption: offers before the callback is given up")
    # -- the call --
    talk_median_s: float = _n(240, "assumption: median talk time of a callback")
    talk_sigma: float = _n(0.9, "assumption: talk time is heavy-tailed (log-normal)")
    hold_probability: float = _p(0.25, "assumption: a call is put on hold at least once")
    max_holds: float = _n(3, "assumption: holds per call at most")
    hold_median_s: float = _n(45, "assumption: median hold")
    hold_sigma: float = _n(0.8, "assumption: spread of holds (log-normal)")
    park_probability: float = _p(0.05, "assumption: a call is parked (sdk-269 edition only)")
    park_median_s: float = _n(120, "assumption: median park")
    transfer_probability: float = _p(0.05, "assumption: the agent transfers to another queue")
    error_probability: float = _p(0.02, "assumption: the agent leg ends in an error")
    # -- after-call work --
    wrapup_required_probability: float = _p(0.8, "observed: wrapupRequired true on accepted legs")
    wrapup_skip_probability: float = _p(0.1, "assumption: the agent skips wrap-up")
    wrapup_timeout_probability: float = _p(0.05, "assumption: wrap-up is forced by its timeout")
    wrapup_timeout_ms: float = _n(
        60_000, "ACW timeout settings allow 1 s to 60 min; assumption: 60 s"
    )
    acw_median_s: float = _n(30, "assumption: median after-call work")
    acw_sigma: float = _n(0.7, "assumption: spread of after-call work (log-normal)")
    customer_end_delay_max_ms: float = _n(
        2_000, "assumption: the customer leg ends within 2 s of the agent leg"
    )
    # -- arrivals (bulk streams) --
    arrivals_per_hour: float = _n(600, "assumption: callbacks created per hour in bulk streams")

    def with_overrides(self, pairs: Iterable[str] | Mapping[str, Any]) -> Profile:
        """A copy with parameters replaced, from ``NAME=VALUE`` strings or a mapping."""
        items = pairs.items() if isinstance(pairs, Mapping) else (_split(p) for p in pairs)
        changes: dict[str, float] = {}
        fields = attrs.fields_dict(Profile)
        for name, raw in items:
            key = name.replace("-", "_")
            if key not in fields:
                close = [f for f in fields if key.split("_")[0] in f][:5]
                hint = f" (did you mean {', '.join(close)}?)" if close else ""
                msg = f"unknown profile parameter {name!r}{hint}; `callbacksim profile` lists them"
                raise UsageError(msg)
            changes[key] = _number(key, raw, fields[key].metadata["kind"])
        return attrs.evolve(self, **changes)

    @classmethod
    def describe(cls) -> list[tuple[str, float, str]]:
        """(name, default, basis) of every parameter."""
        return [(f.name, f.default, f.metadata["basis"]) for f in attrs.fields(cls)]


def _split(pair: str) -> tuple[str, str]:
    name, sep, value = pair.partition("=")
    if not sep or not name.strip():
        msg = f"expected NAME=VALUE, got {pair!r}; for example --set talk_median_s=300"
        raise UsageError(msg)
    return name.strip(), value.strip()


def _number(name: str, raw: Any, kind: str) -> float:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        msg = f"profile parameter {name} must be a number, got {raw!r}"
        raise UsageError(msg) from None
    if not math.isfinite(value) or value < 0 or (kind == "probability" and value > 1):
        bounds = "between 0 and 1" if kind == "probability" else "a finite number >= 0"
        msg = f"profile parameter {name} must be {bounds}, got {raw!r}"
        raise UsageError(msg)
    # Spreads and counts beyond these make no realistic callback and only overflow or hang.
    limit = 5.0 if name.endswith("_sigma") else 100.0 if name.startswith("max_") else None
    if limit is not None and value > limit:
        msg = f"profile parameter {name} must be at most {limit:g}, got {raw!r}"
        raise UsageError(msg)
    return value


DEFAULT = Profile()


def load_profile(path: str | Path, base: Profile = DEFAULT) -> Profile:
    """``base`` with the parameters of a JSON (``.json``) or TOML file replaced."""
    p = Path(path)
    try:
        text = p.read_bytes()
    except OSError as exc:
        msg = f"cannot read the profile {path}: {exc.strerror}"
        raise UsageError(msg) from None
    try:
        is_json = p.suffix.lower() == ".json"
        data = json.loads(text) if is_json else tomllib.loads(text.decode())
    except (ValueError, UnicodeDecodeError) as exc:
        msg = f"the profile {path} is not valid {'JSON' if is_json else 'TOML'}: {exc}"
        raise UsageError(msg) from None
    if not isinstance(data, dict):
        msg = f"the profile {path} must hold a table of NAME = VALUE"
        raise UsageError(msg)
    return base.with_overrides(data)


def build_profile(
    path: str | Path | None = None, overrides: Iterable[str] | Mapping[str, Any] = ()
) -> Profile:
    """The default profile with the parameters of the file at ``path`` (if any) replaced, then
    those of ``overrides`` (``NAME=VALUE`` strings or a mapping). `UsageError` names the file or
    the parameter that is wrong and why."""
    base = load_profile(path) if path is not None else DEFAULT
    return base.with_overrides(overrides)
