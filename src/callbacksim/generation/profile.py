"""The realism profile: every number and choice that shapes a simulated callback, named and sourced.

Each parameter states its **source** and its **basis**. The source is one of three words:

- ``observed``: read from captured Genesys Cloud data (a real callback conversation's snapshots);
- ``documented``: taken from Genesys documentation or the published SDK models (a setting's
  documented default, a documented value);
- ``assumption``: nothing real backs the value; it is a plausible choice, and the basis says what
  is assumed (and which documented range or observation it stays within, if any).

`callbacksim profile` prints them all. Durations are in milliseconds (``_ms``) or seconds (``_s``);
probabilities and shares are in [0, 1]. A *choice* parameter names one value, or several with
weights (``"peer:1,endpoint:2"``: peer a third of the time), from a fixed set of options. Override
any parameter from a JSON or TOML file (`load_profile`) or with ``name=value`` pairs
(`Profile.with_overrides`), or both (`build_profile`, what the CLI's ``--profile FILE`` and
``--set NAME=VALUE`` give).

Heavy-tailed durations are log-normal, given by their median and the sigma of their logarithm.
"""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any, Literal

import attrs

from callbacksim.errors import UsageError
from callbacksim.generation import vocab
from callbacksim.model import DisconnectType, Edition, known_values

__all__ = [
    "DEFAULT",
    "MACHINE_REACTIONS",
    "SOURCES",
    "WAITING_STATES",
    "Parameter",
    "Profile",
    "build_profile",
    "load_profile",
    "mix_weights",
]

Source = Literal["observed", "documented", "assumption"]
SOURCES: tuple[str, ...] = ("observed", "documented", "assumption")
"""What a parameter's value rests on, from the firmest to none."""

_DISCONNECT_TYPES: tuple[str, ...] = tuple(
    str(m.value)
    for m in known_values(DisconnectType, Edition.SEED)
    if m is not DisconnectType.OUTDATED_SDK_VERSION
)

MACHINE_REACTIONS: tuple[str, ...] = ("hang-up", "transfer-to-queue", "transfer-to-flow")
"""What a Customer First queue does when an answering machine picks up (HangUp, TransferToQueue,
TransferToFlow)."""

WAITING_STATES: tuple[str, ...] = ("none", "scheduled")
"""What a customer or queue leg may show as its ``state`` before the callback is routed."""


def _field(value: Any, source: Source, basis: str, kind: str, options: tuple[str, ...] = ()) -> Any:
    meta = {"source": source, "basis": basis, "kind": kind, "options": options}
    return attrs.field(default=value, metadata=meta)


def _p(value: float, source: Source, basis: str) -> Any:
    return _field(value, source, basis, "probability")


def _n(value: float, source: Source, basis: str) -> Any:
    return _field(value, source, basis, "number")


def _c(value: str, options: tuple[str, ...], source: Source, basis: str) -> Any:
    return _field(value, source, basis, "choice", options)


@attrs.frozen
class Parameter:
    """One parameter as `Profile.describe` lists it."""

    name: str
    default: float | str
    source: str
    basis: str
    kind: str
    options: tuple[str, ...] = ()

    @property
    def shown(self) -> str:
        """The default as `callbacksim profile` prints it."""
        return self.default if isinstance(self.default, str) else f"{self.default:g}"


@attrs.frozen
class Profile:
    """Named parameters of the lifecycle simulator. See each field's ``source`` and ``basis``
    metadata, or `describe`."""

    # -- creation and scheduling --
    scheduled_share: float = _p(
        0.6, "assumption", "most callbacks are scheduled for later rather than placed at once"
    )
    schedule_min_s: float = _n(300, "assumption", "a scheduled callback is at least 5 min out")
    schedule_max_s: float = _n(
        7 * 86_400,
        "assumption",
        "most scheduled callbacks fall within a week (log-uniform between min and max); "
        "documented: an agent may schedule up to 30 days ahead",
    )
    elapsed_schedule_share: float = _p(
        0.05,
        "assumption",
        "share of the callbacks placed at once whose callbackScheduledTime is at or before their "
        "creation; documented: such a time places the callback immediately",
    )
    elapsed_schedule_max_s: float = _n(
        600, "assumption", "how far before its creation such a callbackScheduledTime lies, at most"
    )
    route_delay_min_ms: float = _n(
        1_000, "observed", "queue connect 1.1 s after the scheduled time"
    )
    route_delay_max_ms: float = _n(
        60_000, "observed", "queue connect 60 s after the scheduled time"
    )
    pre_routing_state: str = _c(
        "none",
        WAITING_STATES,
        "assumption",
        "the state customer and queue legs show before routing. documented: 'scheduled' is the "
        "callback communication's initialState, in the notification topic's enum but not in the "
        "REST participant enum (SDKs turn it into their unknown-value sentinel); whether a REST "
        "read shows it is not known, so the default is the REST enum's 'none'. The notification "
        "adapter shows 'scheduled' whatever this says",
    )
    ivr_share: float = _p(0.3, "assumption", "share of callbacks requested from an IVR flow")
    ivr_median_s: float = _n(
        45,
        "assumption",
        "time spent in a flow (before the callback request, or after an "
        "answering machine is sent to one)",
    )
    preview_share: float = _p(
        0.1, "assumption", "share of callbacks from outbound preview campaigns (outboundPreview)"
    )
    external_dialing_share: float = _p(
        0.2,
        "assumption",
        "share of preview callbacks dialled externally; documented: externalCampaign means the "
        "callback uses external dialing. Assumed: their customer participant has purpose "
        "'external' (a documented purpose)",
    )
    attributes_share: float = _p(
        0.5,
        "assumption",
        "share of callbacks created with data; documented: the create request's data becomes the "
        "participants' attributes",
    )
    script_share: float = _p(
        0.3, "assumption", "share of callbacks created with a script (documented field scriptId)"
    )
    cancel_share: float = _p(
        0.03, "assumption", "scheduled callbacks cancelled before they are routed"
    )
    abandon_share: float = _p(
        0.03, "assumption", "callbacks disconnected by the customer while waiting for an agent"
    )
    # -- agents who keep a callback --
    self_scheduled_share: float = _p(
        0.1,
        "assumption",
        "share of scheduled callbacks an agent schedules to themselves ('route to me'); "
        "documented: offered to that agent first, to the next available agent if missed",
    )
    preferred_agent_score: float = _n(
        50,
        "assumption",
        "the score conversationRoutingData.scoredAgents gives the agent of a 'route to me' "
        "callback; documented: a score of 100 marks an agent-owned callback instead",
    )
    agent_owned_share: float = _p(
        0.05,
        "assumption",
        "share of callbacks owned by one agent (documented: one scored agent, score 100)",
    )
    ownership_expiry_s: float = _n(
        86_400,
        "assumption",
        "how long an agent-owned callback waits for its owner: 24 h; documented: a configured "
        "1 h to 30 days",
    )
    owner_misses_probability: float = _p(
        0.2,
        "assumption",
        "the owner is unavailable until ownership expires (documented: then the callback is "
        "removed, or re-queued if the queue is configured to)",
    )
    ownership_requeue_probability: float = _p(
        0.5, "assumption", "an expired agent-owned callback is re-queued rather than removed"
    )
    # -- Customer First delivery --
    customer_first_share: float = _p(
        0.1,
        "assumption",
        "share of callbacks from Customer First queues (documented mode: the customer is dialled "
        "before an agent is offered the callback)",
    )
    dial_answer_probability: float = _p(
        0.7, "assumption", "a Customer First dial attempt is answered"
    )
    dial_ring_s: float = _n(30, "assumption", "an unanswered dial attempt rings this long at most")
    max_dial_retries: float = _n(
        2,
        "assumption",
        "retries after an unanswered first attempt (documented setting "
        "maxRetryCount; its value here is assumed)",
    )
    dial_retry_delay_s: float = _n(
        300,
        "assumption",
        "wait between dial attempts (documented setting retryDelaySeconds; "
        "its value here is assumed)",
    )
    answering_machine_probability: float = _p(
        0.15, "assumption", "an answered dial attempt reaches an answering machine"
    )
    machine_reaction: str = _c(
        "hang-up:1,transfer-to-queue:1,transfer-to-flow:1",
        MACHINE_REACTIONS,
        "assumption",
        "what the queue does when a machine answers; documented options HangUp, "
        "TransferToQueue, TransferToFlow; their weights are assumed",
    )
    # -- offers --
    queue_wait_median_s: float = _n(30, "assumption", "time in queue before the first offer")
    queue_wait_sigma: float = _n(1.0, "assumption", "spread of the queue wait (log-normal)")
    alert_start_min_ms: float = _n(
        9, "observed", "alerting starts 9-36 ms after the agent leg starts"
    )
    alert_start_max_ms: float = _n(
        36, "observed", "alerting starts 9-36 ms after the agent leg starts"
    )
    alerting_timeout_ms: float = _n(30_000, "observed", "alertingTimeoutMs 30000")
    timeout_overrun_min_ms: float = _n(
        100, "observed", "timed-out legs end 30.10-30.12 s after alerting"
    )
    timeout_overrun_max_ms: float = _n(
        120, "observed", "timed-out legs end 30.10-30.12 s after alerting"
    )
    accept_probability: float = _p(0.75, "assumption", "an offer is accepted")
    decline_probability: float = _p(
        0.1, "assumption", "an offer is declined (the rest time out after alertingTimeoutMs)"
    )
    accept_min_s: float = _n(2, "assumption", "fastest answer")
    accept_max_s: float = _n(20, "assumption", "slowest answer before the 30 s timeout")
    decline_max_s: float = _n(
        25,
        "assumption",
        "latest decline after alerting; observed: one decline ended about 23 s after the queue "
        "leg connected, before the 30 s timeout",
    )
    requeue_min_s: float = _n(1, "assumption", "wait before the next offer after a missed one")
    requeue_max_s: float = _n(30, "assumption", "wait before the next offer after a missed one")
    max_offers: float = _n(
        4, "assumption", "offers before the system gives the callback up (all of them missed)"
    )
    # -- the call --
    talk_median_s: float = _n(240, "assumption", "median talk time of a callback")
    talk_sigma: float = _n(0.9, "assumption", "talk time is heavy-tailed (log-normal)")
    hold_probability: float = _p(0.25, "assumption", "a call is put on hold at least once")
    max_holds: float = _n(3, "assumption", "holds per call at most")
    hold_median_s: float = _n(45, "assumption", "median hold")
    hold_sigma: float = _n(0.8, "assumption", "spread of holds (log-normal)")
    park_probability: float = _p(0.05, "assumption", "a call is parked (sdk-269 edition only)")
    park_median_s: float = _n(120, "assumption", "median park")
    transfer_probability: float = _p(0.05, "assumption", "the agent transfers to another queue")
    error_probability: float = _p(0.02, "assumption", "the agent leg ends in an error")
    reschedule_probability: float = _p(
        0.05,
        "assumption",
        "the customer does not answer the agent's call and the agent reschedules the callback "
        "(documented: the agent must then reschedule it by hand)",
    )
    auto_dial_share: float = _p(
        0.1,
        "assumption",
        "share of callbacks from queues with auto-dial and auto-end (documented setting "
        "enableAutoDialAndEnd)",
    )
    auto_dial_delay_s: float = _n(
        300,
        "documented",
        "autoDialDelaySeconds, from the agent's connect to the automatic dial: 0-1200 s, "
        "default 300",
    )
    auto_end_delay_s: float = _n(
        300,
        "documented",
        "autoEndDelaySeconds, from the end of the call to the automatic end of the callback: "
        "0-1200 s, default 300",
    )
    # -- after-call work --
    wrapup_prompt: str = _c(
        "optional:6,mandatory:1.5,timeout:1,forcedTimeout:0.5,agentRequested:1",
        vocab.WRAPUP_PROMPTS,
        "assumption",
        "the agent legs' wrapupPrompt; documented kinds (the queue's after-call-work setting), "
        "observed 'optional'; the weights are assumed. The wrap-up follows the prompt: "
        "optional may be skipped, mandatory never is, the time-boxed ones may run out",
    )
    wrapup_skip_probability: float = _p(
        0.1, "assumption", "the agent skips wrap-up (optional prompt only)"
    )
    wrapup_timeout_probability: float = _p(
        0.2,
        "assumption",
        "under a time-boxed prompt (timeout, forcedTimeout, agentRequested) the time runs out "
        "before a code is entered, and the system applies its timeout code",
    )
    acw_request_probability: float = _p(
        0.5,
        "assumption",
        "under the agentRequested prompt the agent asks for after-call work; otherwise there is "
        "none and wrapupRequired stays false (every other accepted leg shows wrapupRequired "
        "true, as observed)",
    )
    wrapup_timeout_ms: float = _n(
        60_000,
        "assumption",
        "wrapupTimeoutMs of the time-boxed prompts: 60 s; documented: 1 s to 60 min",
    )
    acw_median_s: float = _n(30, "assumption", "median after-call work")
    acw_sigma: float = _n(0.7, "assumption", "spread of after-call work (log-normal)")
    customer_end_delay_max_ms: float = _n(
        2_000, "assumption", "the customer leg ends within 2 s of the agent leg"
    )
    # -- how legs end (the facts are silent on these) --
    customer_end_disconnect: str = _c(
        "endpoint:1,peer:1,client:1",
        _DISCONNECT_TYPES,
        "assumption",
        "the customer's disconnectType when a served callback ends",
    )
    cancel_customer_disconnect: str = _c(
        "client",
        _DISCONNECT_TYPES,
        "assumption",
        "the customer's disconnectType when a scheduled callback is cancelled (an open question)",
    )
    cancel_queue_disconnect: str = _c(
        "system",
        _DISCONNECT_TYPES,
        "assumption",
        "the queue leg's disconnectType when a scheduled callback is cancelled (an open question)",
    )
    abandon_customer_disconnect: str = _c(
        "endpoint",
        _DISCONNECT_TYPES,
        "assumption",
        "the customer's disconnectType when they leave while waiting",
    )
    abandon_queue_disconnect: str = _c(
        "system",
        _DISCONNECT_TYPES,
        "assumption",
        "the queue leg's disconnectType when the customer leaves while waiting",
    )
    system_end_disconnect: str = _c(
        "system",
        _DISCONNECT_TYPES,
        "assumption",
        "disconnectType of legs the system ends: an expired agent-owned callback removed, a "
        "callback given up after its last offer or its last dial attempt, an answering machine "
        "hung up on or sent to a flow, an agent leg auto-ended",
    )
    # -- arrivals (bulk streams) --
    arrivals_per_hour: float = _n(600, "assumption", "callbacks created per hour in bulk streams")

    def with_overrides(self, pairs: Iterable[str] | Mapping[str, Any]) -> Profile:
        """A copy with parameters replaced, from ``NAME=VALUE`` strings or a mapping."""
        items = pairs.items() if isinstance(pairs, Mapping) else (_split(p) for p in pairs)
        changes: dict[str, Any] = {}
        fields = attrs.fields_dict(Profile)
        for name, raw in items:
            key = name.replace("-", "_")
            if key not in fields:
                close = [f for f in fields if key.split("_")[0] in f][:5]
                hint = f" (did you mean {', '.join(close)}?)" if close else ""
                msg = f"unknown profile parameter {name!r}{hint}; `callbacksim profile` lists them"
                raise UsageError(msg)
            meta = fields[key].metadata
            if meta["kind"] == "choice":
                changes[key] = _choice(key, raw, meta["options"])
            else:
                changes[key] = _number(key, raw, meta["kind"])
        return attrs.evolve(self, **changes)

    @classmethod
    def describe(cls) -> list[Parameter]:
        """Every parameter: name, default, source, basis, kind and (for a choice) options."""
        # Each field's metadata (`_field`) holds exactly Parameter's remaining fields.
        return [Parameter(f.name, f.default, **f.metadata) for f in attrs.fields(cls)]


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


def _choice(name: str, raw: Any, options: tuple[str, ...]) -> str:
    """``raw`` as a canonical choice: ``option`` or ``option:weight,...``."""
    hint = (
        f"give one of {', '.join(options)}, or several with weights such as "
        f"{options[0]}:2,{options[-1]}:1"
    )
    if not isinstance(raw, str) or not raw.strip():
        msg = f"profile parameter {name} must name a value; {hint}, got {raw!r}"
        raise UsageError(msg)
    try:
        weights = _parse_mix(raw, options)
    except ValueError as exc:
        msg = f"profile parameter {name}: {exc}; {hint}"
        raise UsageError(msg) from None
    if len(weights) == 1:
        return weights[0][0]
    return ",".join(f"{option}:{weight:g}" for option, weight in weights)


def _parse_mix(text: str, options: tuple[str, ...]) -> tuple[tuple[str, float], ...]:
    out: dict[str, float] = {}
    for part in text.split(","):
        option, sep, weight_text = part.strip().partition(":")
        option = option.strip()
        if option not in options:
            msg = f"{option!r} is not an option"
            raise ValueError(msg)
        try:
            weight = float(weight_text) if sep else 1.0
        except ValueError:
            msg = f"the weight of {option} must be a number, got {weight_text.strip()!r}"
            raise ValueError(msg) from None
        if not math.isfinite(weight) or weight < 0:
            msg = f"the weight of {option} must be a finite number >= 0, got {weight_text!r}"
            raise ValueError(msg)
        if option in out:
            msg = f"{option} is named twice"
            raise ValueError(msg)
        out[option] = weight
    if not any(out.values()):
        msg = "at least one weight must be above 0"
        raise ValueError(msg)
    return tuple(out.items())


@cache
def mix_weights(value: str) -> tuple[tuple[str, float], ...]:
    """The (option, weight) pairs of a choice parameter's value, in the order written; options
    with weight 0 are left out."""
    pairs = []
    for part in value.split(","):
        option, sep, weight = part.partition(":")
        w = float(weight) if sep else 1.0
        if w > 0:
            pairs.append((option.strip(), w))
    return tuple(pairs)


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
