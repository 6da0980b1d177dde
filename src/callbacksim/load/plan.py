"""What a load run does, decided before it starts: settings, stages, shares and conversations.

Nothing here imports Locust, so the command line, the jobs and the tests use it as freely as the
Locust-facing modules do.

- `LoadSettings`: every setting of a run, validated on construction (a `UsageError` names the
  setting and the fix). `OPTIONS` is the one table of the Locust options that carry them
  (``--callbacksim-seed`` ...), read by the locustfile's parser and written by ``callbacksim load``.
- `Ramp`: a level (users, or arrivals per second) over time, linear between stages
  (``30s:10,2m:50,30s:0``), with the arrival times of a Poisson process whose rate follows it.
- `shares`: N conversations split exactly among the workers.
- `conversation`: conversation ``n`` of worker slot ``slot``, drawn from (seed, slot, n) alone, so
  no two workers or users ever draw the same one, and any worker's traffic can be regenerated
  offline (`conversations`).
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Iterator, Sequence
from enum import StrEnum
from typing import Any

import attrs

from callbacksim.errors import UsageError
from callbacksim.generation.chooser import RandomChooser
from callbacksim.generation.lifecycle import Lifecycle, simulate
from callbacksim.generation.participants import ANCHOR_MS
from callbacksim.model import Edition
from callbacksim.simulator.faults import Faults

__all__ = [
    "CONVERSATION_GAP_MS",
    "OPTIONS",
    "LoadSettings",
    "Model",
    "Option",
    "Ramp",
    "conversation",
    "conversations",
    "parse_duration",
    "shares",
]

CONVERSATION_GAP_MS = 6_000
"""Conversation ``n`` starts ``n`` times this many milliseconds after the anchor instant (the
realism profile's default rate of 600 callbacks an hour), so a run's conversations spread in time
the way a day's callbacks do."""


# -- durations and stages ------------------------------------------------------------------------

_DURATION = re.compile(r"(?P<number>\d+(?:\.\d+)?)(?P<unit>ms|s|m|h)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str, what: str = "duration") -> float:
    """Seconds from ``90``, ``90s``, ``1.5m``, ``2m30s``, ``1h`` or ``500ms``."""
    raw = text.strip()
    try:
        seconds = float(raw)
    except ValueError:
        parts = list(_DURATION.finditer(raw))
        if not parts or "".join(p.group(0) for p in parts) != raw:
            msg = f"{what} {text!r} is not a duration; for example 90, 90s, 2m30s, 1h or 500ms"
            raise UsageError(msg) from None
        seconds = sum(float(p["number"]) * _UNITS[p["unit"]] for p in parts)
    if not math.isfinite(seconds) or seconds < 0:
        msg = f"{what} {text!r} must be a finite duration of 0 or more"
        raise UsageError(msg)
    return seconds


@attrs.frozen
class Ramp:
    """A level over time: ``start`` at 0 s, then linear to each point's level at its time.

    ``points`` are (seconds since the start, level), increasing in time. After the last point the
    run is over (`end`); a ramp without points holds ``start`` for ever (`end` is None).
    """

    start: float
    points: tuple[tuple[float, float], ...] = ()

    @classmethod
    def constant(cls, level: float) -> Ramp:
        return cls(level)

    @classmethod
    def parse(cls, text: str) -> Ramp:
        """Stages ``DURATION:LEVEL,...`` (``30s:10,2m:50,30s:0``), ramping linearly from 0."""
        points: list[tuple[float, float]] = []
        at = 0.0
        for part in (p.strip() for p in text.split(",")):
            duration, sep, level = part.rpartition(":")
            if not sep or not duration:
                msg = (
                    f"stage {part!r} in --stages {text!r} is not DURATION:LEVEL; for example "
                    "--stages 30s:10,2m:50,30s:0"
                )
                raise UsageError(msg)
            seconds = parse_duration(duration, f"the duration of stage {part!r}")
            try:
                value = float(level)
            except ValueError:
                value = math.nan
            if not math.isfinite(value) or value < 0:
                msg = f"the level of stage {part!r} must be a number of 0 or more, got {level!r}"
                raise UsageError(msg)
            at += seconds
            points.append((at, value))
        return cls(0.0, tuple(points))

    @property
    def end(self) -> float | None:
        """When the last stage ends (None: never)."""
        return self.points[-1][0] if self.points else None

    @property
    def peak(self) -> float:
        return max([self.start, *(level for _, level in self.points)])

    def _segments(self) -> Iterator[tuple[float, float, float, float]]:
        """(from, to, level at from, level at to); the last holds for ever without points."""
        t, level = 0.0, self.start
        for when, value in self.points:
            yield t, when, level, value
            t, level = when, value
        if not self.points:
            yield t, math.inf, level, level

    def level_at(self, t: float) -> float:
        """The level at ``t`` seconds (the last level once the ramp is over)."""
        for lo, hi, a, b in self._segments():
            if t < hi:
                return a if hi == lo or math.isinf(hi) else a + (b - a) * (t - lo) / (hi - lo)
        return self.points[-1][1] if self.points else self.start

    def next_arrival(self, t: float, area: float) -> float | None:
        """The time ``t'`` > ``t`` at which the rate's integral from ``t`` reaches ``area``; None
        when it never does before the ramp ends.

        With ``area`` drawn from an exponential distribution of mean 1, the successive times are
        the arrivals of a Poisson process whose rate follows the ramp (time-rescaling)."""
        left = area
        for lo, hi, a, b in self._segments():
            if hi <= t:
                continue
            slope = 0.0 if math.isinf(hi) or hi == lo else (b - a) / (hi - lo)
            begin = max(t, lo)
            r0 = a + slope * (begin - lo)
            span = hi - begin
            whole = math.inf if math.isinf(span) else r0 * span + slope * span * span / 2
            if whole < left:
                left -= whole
                continue
            if slope == 0.0:
                if r0 <= 0:
                    return None
                return begin + left / r0
            # r0*dt + slope*dt^2/2 = left, the root in [0, span] (stable form).
            disc = max(r0 * r0 + 2 * slope * left, 0.0)
            return begin + 2 * left / (r0 + math.sqrt(disc))
        return None


def shares(total: int, slots: int) -> list[int]:
    """``total`` split among ``slots`` as evenly as can be: the first get one more."""
    if slots < 1:
        msg = f"cannot split work among {slots} workers"
        raise ValueError(msg)
    base, extra = divmod(total, slots)
    return [base + (i < extra) for i in range(slots)]


# -- conversations -------------------------------------------------------------------------------


def conversation(seed: int, slot: int, n: int, edition: Edition = Edition.SEED) -> Lifecycle:
    """Conversation ``n`` of worker slot ``slot`` in the run of ``seed``: the same bytes every
    time, in any process."""
    rng = random.Random(f"callbacksim-load:{seed}:{slot}:{n}")
    return simulate(
        RandomChooser(rng), edition=edition, start_ms=ANCHOR_MS + n * CONVERSATION_GAP_MS
    )


def conversations(
    seed: int, slot: int, count: int, edition: Edition = Edition.SEED
) -> Iterator[Lifecycle]:
    """Conversations 0 to ``count`` - 1 of ``slot``: everything that slot sent in a run of
    ``--lifecycles``."""
    for n in range(count):
        yield conversation(seed, slot, n, edition)


# -- settings ------------------------------------------------------------------------------------


class Model(StrEnum):
    CLOSED = "closed"
    """A fixed number of users, each playing one conversation after another."""
    OPEN = "open"
    """New conversations arriving at a rate, whether or not the target keeps up."""


def _positive_or_none(name: str) -> Any:
    def check(_instance: object, _attribute: object, value: float | None) -> None:
        if value is not None and not (math.isfinite(value) and value > 0):
            msg = f"{name} must be positive, got {value}"
            raise UsageError(msg)

    return check


def _at_least(name: str, low: int) -> Any:
    def check(_instance: object, _attribute: object, value: int | None) -> None:
        if value is not None and value < low:
            msg = f"{name} must be {low} or more, got {value}"
            raise UsageError(msg)

    return check


@attrs.frozen(kw_only=True)
class LoadSettings:
    """Every setting of a load run. Exactly one of ``users``, ``arrival_rate`` and ``stages``
    gives the load unless ``stages`` does with ``model``; something must end the run."""

    seed: int = 0
    edition: Edition = Edition.SEED
    adapter: str = "store"
    time_factor: float | None = attrs.field(
        default=None, validator=_positive_or_none("--time-factor")
    )
    model: Model = Model.CLOSED
    users: int | None = attrs.field(default=None, validator=_at_least("--users", 1))
    spawn_rate: float | None = attrs.field(
        default=None, validator=_positive_or_none("--spawn-rate")
    )
    """Closed model without stages: users started per second (default: all at once)."""
    arrival_rate: float | None = attrs.field(
        default=None, validator=_positive_or_none("--arrival-rate")
    )
    stages: Ramp | None = None
    lifecycles: int | None = attrs.field(default=None, validator=_at_least("--lifecycles", 1))
    run_time: float | None = attrs.field(default=None, validator=_positive_or_none("--run-time"))
    max_in_flight: int = attrs.field(default=10_000, validator=_at_least("--max-in-flight", 1))
    faults: Faults = attrs.field(factory=Faults)
    headers: tuple[tuple[str, str], ...] = ()
    timeout: float = attrs.field(default=10.0, validator=_positive_or_none("--timeout"))

    def __attrs_post_init__(self) -> None:
        if self.model is Model.CLOSED and self.arrival_rate is not None:
            msg = "--arrival-rate is the open model; drop --users, or drop --arrival-rate"
            raise UsageError(msg)
        if self.model is Model.OPEN and self.users is not None:
            msg = "give --users (closed model) or --arrival-rate (open model), not both"
            raise UsageError(msg)
        if self.model is Model.OPEN and self.arrival_rate is None and self.stages is None:
            msg = "the open model needs --arrival-rate R or --stages"
            raise UsageError(msg)
        if self.stages is not None and (self.users is not None or self.arrival_rate is not None):
            what = "--users" if self.model is Model.CLOSED else "--arrival-rate"
            msg = f"--stages sets the load over time; drop {what}"
            raise UsageError(msg)
        if self.stages is not None and self.model is Model.CLOSED:
            bad = [level for _, level in self.stages.points if level != int(level)]
            if bad:
                msg = f"closed-model stages give numbers of users; {bad[0]:g} is not whole"
                raise UsageError(msg)
        if self.model is Model.CLOSED and self.stages is None and self.users is None:
            msg = "the closed model needs --users N or --stages"
            raise UsageError(msg)

    @property
    def ends(self) -> bool:
        """Whether something ends the run by itself: a count, a run time or stages."""
        return self.lifecycles is not None or self.run_time is not None or self.stages is not None

    @property
    def ramp(self) -> Ramp:
        """Users (closed) or arrivals per second (open) over time."""
        if self.stages is not None:
            return self.stages
        if self.model is Model.OPEN:
            assert self.arrival_rate is not None
            return Ramp.constant(self.arrival_rate)
        assert self.users is not None
        return Ramp.constant(self.users)

    def describe(self) -> dict[str, Any]:
        """The settings as plain values, for reports."""
        out: dict[str, Any] = {
            "model": self.model.value,
            "seed": self.seed,
            "edition": self.edition.value,
            "adapter": self.adapter,
            "time_factor": self.time_factor,
            "lifecycles": self.lifecycles,
            "run_time_s": self.run_time,
        }
        if self.stages is not None:
            out["stages"] = [list(p) for p in self.stages.points]
        elif self.model is Model.OPEN:
            out["arrival_rate"] = self.arrival_rate
        else:
            out["users"] = self.users
        if self.model is Model.OPEN:
            out["max_in_flight"] = self.max_in_flight
        if self.faults.any:
            out["faults"] = self.faults.to_json()
        return out

    # The Locust options that carry these settings to every process.

    def to_options(self) -> list[str]:
        """The ``--callbacksim-*`` arguments that give these settings to Locust (the closed
        model's users and the run time go as Locust's own ``-u`` and ``-t``)."""
        args = [
            "--callbacksim-seed", str(self.seed),
            "--callbacksim-edition", self.edition.value,
            "--callbacksim-adapter", self.adapter,
            "--callbacksim-max-in-flight", str(self.max_in_flight),
            "--callbacksim-timeout", repr(self.timeout),
        ]  # fmt: skip
        if self.time_factor is not None:
            args += ["--callbacksim-time-factor", repr(self.time_factor)]
        if self.arrival_rate is not None:
            args += ["--callbacksim-arrival-rate", repr(self.arrival_rate)]
        if self.model is Model.OPEN:
            args += ["--callbacksim-model", Model.OPEN.value]
        if self.stages is not None:
            args += ["--callbacksim-stages", _stages_text(self.stages)]
        if self.lifecycles is not None:
            args += ["--callbacksim-lifecycles", str(self.lifecycles)]
        if self.users is not None:
            rate = self.spawn_rate if self.spawn_rate is not None else self.users
            args += ["--users", str(self.users), "--spawn-rate", repr(float(rate))]
        if self.run_time is not None:
            args += ["--callbacksim-run-time", repr(self.run_time)]
        f = self.faults
        if f.any:
            args += ["--callbacksim-duplicates", repr(f.duplicates)]
            args += ["--callbacksim-reorder", repr(f.reorder)]
            args += ["--callbacksim-jitter", repr(f.jitter_ms)]
            args += ["--callbacksim-loss", repr(f.loss)]
        for name, value in self.headers:
            args += ["--callbacksim-header", f"{name}: {value}"]
        return args

    @classmethod
    def from_options(cls, options: Any) -> LoadSettings:
        """The settings from Locust's parsed options (the ``--callbacksim-*`` ones, and ``-u``
        and ``-t`` when ours do not say)."""
        get = options.__dict__.get
        model = Model(get("callbacksim_model") or Model.CLOSED.value)
        if get("callbacksim_arrival_rate") is not None:
            model = Model.OPEN
        stages_text = get("callbacksim_stages")
        stages = Ramp.parse(stages_text) if stages_text else None
        closed = model is Model.CLOSED and stages is None
        users = int(get("num_users") or 1) if closed else None
        spawn_rate = get("spawn_rate") if closed else None
        run_time = get("callbacksim_run_time") or get("run_time") or None
        headers = []
        for text in get("callbacksim_header") or ():
            name, sep, value = str(text).partition(":")
            if not sep or not name.strip():
                msg = f"--callbacksim-header {text!r} is not 'Name: value'"
                raise UsageError(msg)
            headers.append((name.strip(), value.strip()))
        return cls(
            seed=int(get("callbacksim_seed") or 0),
            edition=Edition(get("callbacksim_edition") or Edition.SEED.value),
            adapter=str(get("callbacksim_adapter") or "store"),
            time_factor=get("callbacksim_time_factor") or None,
            model=model,
            users=users,
            spawn_rate=float(spawn_rate) if spawn_rate else None,
            arrival_rate=get("callbacksim_arrival_rate"),
            stages=stages,
            lifecycles=get("callbacksim_lifecycles"),
            run_time=float(run_time) if run_time else None,
            max_in_flight=int(get("callbacksim_max_in_flight") or 10_000),
            faults=Faults(
                float(get("callbacksim_duplicates") or 0.0),
                float(get("callbacksim_reorder") or 0.0),
                float(get("callbacksim_jitter") or 0.0),
                float(get("callbacksim_loss") or 0.0),
            ),
            headers=tuple(headers),
            timeout=float(get("callbacksim_timeout") or 10.0),
        )


def _stages_text(ramp: Ramp) -> str:
    parts, at = [], 0.0
    for when, level in ramp.points:
        parts.append(f"{when - at!r}s:{level:g}")
        at = when
    return ",".join(parts)


@attrs.frozen
class Option:
    """One Locust option of ours: its flag, the environment variable that can set it, its type
    and help."""

    flag: str
    env: str
    type: Any
    help: str
    default: Any = None
    choices: Sequence[str] | None = None
    append: bool = False


OPTIONS: tuple[Option, ...] = (
    Option("--callbacksim-seed", "CALLBACKSIM_SEED", int, "seed of every conversation (0)", 0),
    Option(
        "--callbacksim-edition",
        "CALLBACKSIM_EDITION",
        str,
        "model edition of the conversations",
        Edition.SEED.value,
        choices=[e.value for e in Edition],
    ),
    Option(
        "--callbacksim-adapter",
        "CALLBACKSIM_ADAPTER",
        str,
        "how events reach the target: store, notification, eventbridge or package.module:Class",
        "store",
    ),
    Option(
        "--callbacksim-model",
        "CALLBACKSIM_MODEL",
        str,
        "closed (users, the default) or open (arrivals per second)",
        None,
        choices=[m.value for m in Model],
    ),
    Option(
        "--callbacksim-arrival-rate",
        "CALLBACKSIM_ARRIVAL_RATE",
        float,
        "open model: new conversations per second, a Poisson process",
    ),
    Option(
        "--callbacksim-stages",
        "CALLBACKSIM_STAGES",
        str,
        "load over time, ramping linearly: DURATION:LEVEL,... (users, or arrivals per second)",
    ),
    Option(
        "--callbacksim-lifecycles",
        "CALLBACKSIM_LIFECYCLES",
        int,
        "play exactly N conversations in all, then read the target back and stop",
    ),
    Option(
        "--callbacksim-run-time",
        "CALLBACKSIM_RUN_TIME",
        float,
        "stop after this many seconds (Locust's -t works too)",
    ),
    Option(
        "--callbacksim-time-factor",
        "CALLBACKSIM_TIME_FACTOR",
        float,
        "play each conversation on its own timeline scaled by F (default: as fast as possible)",
    ),
    Option(
        "--callbacksim-max-in-flight",
        "CALLBACKSIM_MAX_IN_FLIGHT",
        int,
        "open model: conversations in flight per worker before arrivals are late (10000)",
        10_000,
    ),
    Option(
        "--callbacksim-duplicates",
        "CALLBACKSIM_DUPLICATES",
        float,
        "chance an event is sent twice",
    ),
    Option("--callbacksim-reorder", "CALLBACKSIM_REORDER", float, "chance of a swap"),
    Option("--callbacksim-jitter", "CALLBACKSIM_JITTER", float, "largest random pause (ms)"),
    Option(
        "--callbacksim-loss",
        "CALLBACKSIM_LOSS",
        float,
        "chance an event is never sent, as a closed WebSocket loses it",
    ),
    Option(
        "--callbacksim-header",
        "CALLBACKSIM_HEADER",
        str,
        "'Name: value' sent with every request (repeatable)",
        append=True,
    ),
    Option("--callbacksim-timeout", "CALLBACKSIM_TIMEOUT", float, "per-request timeout (10 s)"),
    Option(
        "--callbacksim-fail-on",
        "CALLBACKSIM_FAIL_ON",
        str,
        "thresholds, e.g. 'p99<250ms,failures<0.5%%'; the exit status is 1 when one fails",
    ),
    Option(
        "--callbacksim-results",
        "CALLBACKSIM_RESULTS",
        str,
        "write the run's results (merged HDR histograms, counts, convergence) as JSON here",
    ),
    Option(
        "--callbacksim-status",
        "CALLBACKSIM_STATUS",
        str,
        "append a JSON status line here every few seconds while the run goes",
    ),
)
