"""Hypothesis strategies for callback participants.

Every strategy here draws through the same generation logic as the bulk generators
(`callbacksim.generation`), so "valid" means one thing everywhere. Validity comes by construction:
no strategy filters or calls ``assume``, so none trips a health check, and all shrink toward a
small, readable participant: optional properties absent, the first vocabulary entry, timestamps
tied at the anchor instant (`callbacksim.generation.participants.ANCHOR`).

After installing callbacksim, ``st.from_type(CallbackMediaParticipant)`` is `participants()`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any, TypeVar

import attrs
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from callbacksim.codec import decode
from callbacksim.generation import vocab
from callbacksim.generation.chooser import Chooser
from callbacksim.generation.invalid import Invalid, build_invalid
from callbacksim.generation.participants import (
    ANCHOR_MS,
    PURPOSES,
    Shape,
    build_participant,
    layout,
    state_bounds,
    states,
)
from callbacksim.generation.unusual import FEATURES, build_unusual
from callbacksim.model import CallbackMediaParticipant, DomainEntityRef, Edition, State
from callbacksim.orderings import OrderingClass, is_valid, walk
from callbacksim.rules import RuleSet, timestamps
from callbacksim.rules import rule_ids as _rule_ids
from callbacksim.strategies._chooser import HypothesisChooser

__all__ = [
    "FEATURES",
    "PURPOSES",
    "Invalid",
    "Unusual",
    "built_by",
    "callback_numbers",
    "entity_refs",
    "invalid_payloads",
    "lifecycles",
    "ordering_classes",
    "participants",
    "timestamps_in_order",
    "unusual_payloads",
    "valid_payloads",
]


@attrs.frozen
class Unusual:
    """A valid but unusual wire payload, and the names of its unusual features."""

    payload: dict[str, Any]
    features: tuple[str, ...]


if TYPE_CHECKING:
    from callbacksim.generation.lifecycle import Lifecycle
    from callbacksim.generation.profile import Profile

T = TypeVar("T")


def built_by(build: Callable[[Chooser], T]) -> st.SearchStrategy[T]:
    """What ``build`` makes from a `Chooser`, as a strategy that shrinks like the others.

    Any generation function written against `callbacksim.generation.chooser.Chooser` can be driven
    this way; ``build`` must draw everything it varies through the chooser. The property checks
    use it to draw smaller examples of the very class a covering example belongs to.
    """
    given: object = build
    if not callable(given):
        msg = f"Expected build to be a function of a Chooser, but got build={build!r}"
        raise InvalidArgument(msg)

    @st.composite
    def drawn(draw: st.DrawFn) -> T:
        return build(HypothesisChooser(draw))

    return drawn()


def _check_edition(edition: object) -> Edition:
    if not isinstance(edition, Edition):
        try:
            return Edition(str(edition))
        except ValueError:
            allowed = ", ".join(repr(e.value) for e in Edition)
            msg = f"Expected edition to be one of {allowed}, but got edition={edition!r}"
            raise InvalidArgument(msg) from None
    return edition


def _check_rules(rules: object) -> RuleSet:
    try:
        return RuleSet(str(rules))
    except ValueError:
        msg = f"Expected rules to be 'strict' or 'structural', but got rules={rules!r}"
        raise InvalidArgument(msg) from None


def _shape(
    edition: object,
    rules: object,
    purpose: object,
    state: str | None,
    ordering: object,
) -> Shape:
    ed, rs = _check_edition(edition), _check_rules(rules)
    if purpose is not None and not isinstance(purpose, str):
        msg = f"Expected purpose to be a string such as 'agent', but got purpose={purpose!r}"
        raise InvalidArgument(msg)
    if state is not None:
        allowed = [s.value for s in states(ed)]
        if state not in allowed:
            msg = (
                f"Expected state to be one of the {ed.value} edition's states {allowed}, but got "
                f"state={state!r}"
                + (" (use edition='sdk-269' for 'parked')" if state == State.PARKED else "")
            )
            raise InvalidArgument(msg)
    if ordering is not None and not isinstance(ordering, OrderingClass):
        msg = f"Expected ordering to be an OrderingClass, but got ordering={ordering!r}"
        raise InvalidArgument(msg)
    if ordering is not None:
        _check_ordering(ordering, ed, rs, state)
    return Shape(edition=ed, rules=rs, purpose=purpose, state=state, ordering=ordering)


def _check_ordering(
    ordering: OrderingClass, edition: Edition, rules: RuleSet, state: str | None
) -> None:
    unknown = ordering.present - set(timestamps(edition))
    if unknown:
        msg = (
            f"ordering={ordering} names timestamps the {edition.value} edition lacks: "
            f"{sorted(unknown)}"
        )
        raise InvalidArgument(msg)
    if rules is RuleSet.STRICT and not is_valid(ordering, edition):
        msg = f"ordering={ordering} breaks the ordering rules; no valid participant has it"
        raise InvalidArgument(msg)
    if state is not None and rules is RuleSet.STRICT:
        require, forbid = state_bounds(state, edition)
        if not require <= ordering.present or forbid & ordering.present:
            msg = (
                f"No valid participant in state={state!r} has ordering={ordering}: that state "
                f"needs {sorted(require) or 'nothing'} present and "
                f"{sorted(forbid) or 'nothing'} absent"
            )
            raise InvalidArgument(msg)


def valid_payloads(
    *,
    edition: Edition | str = Edition.SEED,
    rules: RuleSet | str = RuleSet.STRICT,
    purpose: str | None = None,
    state: str | None = None,
    ordering: OrderingClass | None = None,
) -> st.SearchStrategy[dict[str, Any]]:
    """Wire payloads (dicts of JSON values) of valid participants.

    ``purpose``, ``state`` and ``ordering`` fix those aspects; an impossible combination raises
    `InvalidArgument` at once rather than generating nothing.
    """
    shape = _shape(edition, rules, purpose, state, ordering)

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        return build_participant(HypothesisChooser(draw), shape, base_ms=_base(draw))

    return build()


def _base(draw: st.DrawFn) -> int:
    # Shrinks to the anchor; spans a year after it.
    offset: int = draw(st.integers(0, 365 * 86_400_000))
    return ANCHOR_MS + offset


def participants(
    *,
    edition: Edition | str = Edition.SEED,
    rules: RuleSet | str = RuleSet.STRICT,
    purpose: str | None = None,
    state: str | None = None,
    ordering: OrderingClass | None = None,
) -> st.SearchStrategy[CallbackMediaParticipant]:
    """Valid `CallbackMediaParticipant` objects; see `valid_payloads` for the arguments."""
    ed = _check_edition(edition)
    return valid_payloads(
        edition=ed, rules=rules, purpose=purpose, state=state, ordering=ordering
    ).map(lambda payload: decode(payload, edition=ed))


def ordering_classes(
    *,
    edition: Edition | str = Edition.SEED,
    require: Collection[str] = (),
    forbid: Collection[str] = (),
) -> st.SearchStrategy[OrderingClass]:
    """Valid ordering classes (every one can come out); shrinks toward fewer timestamps and ties.

    ``require`` and ``forbid`` name timestamps that must be present or absent.
    """
    ed = _check_edition(edition)
    keys = set(timestamps(ed))
    for name, given in (("require", require), ("forbid", forbid)):
        unknown = set(given) - keys
        if unknown:
            msg = (
                f"{name}={sorted(given)} names timestamps the {ed.value} edition lacks: "
                f"{sorted(unknown)}"
            )
            raise InvalidArgument(msg)
    if set(require) & set(forbid):
        msg = f"require and forbid share {sorted(set(require) & set(forbid))}"
        raise InvalidArgument(msg)
    if "startAcwTime" in require and "endTime" in forbid:
        msg = (
            f"require={sorted(require)} and forbid={sorted(forbid)} conflict: startAcwTime cannot "
            "be present without endTime (state.acw-after-end)"
        )
        raise InvalidArgument(msg)
    if "startAcwTime" in require:
        # walk() places startAcwTime only after endTime, so a required one needs endTime too.
        require = {*require, "endTime"}

    @st.composite
    def build(draw: st.DrawFn) -> OrderingClass:
        ch = HypothesisChooser(draw)
        return walk(
            ed,
            lambda _key: ch.chance(0.5),
            lambda _key, n: ch.below(n),
            require=require,
            forbid=forbid,
        )

    return build()


def timestamps_in_order(ordering: OrderingClass) -> st.SearchStrategy[dict[str, Any]]:
    """Aware datetimes for each timestamp of ``ordering``, realizing exactly its order and ties."""
    from datetime import UTC, datetime, timedelta

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        times = layout(HypothesisChooser(draw), ordering, _base(draw))
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        return {k: epoch + timedelta(milliseconds=v) for k, v in times.items()}

    return build()


def callback_numbers(*, country: str | None = None) -> st.SearchStrategy[str]:
    """E.164 phone numbers (``+4915112345678``), of ``country`` (ISO code) or any supported one."""
    if country is not None and country not in vocab.COUNTRIES:
        msg = (
            f"Expected country to be one of {sorted(vocab.COUNTRIES)}, but got country={country!r}"
        )
        raise InvalidArgument(msg)

    @st.composite
    def build(draw: st.DrawFn) -> str:
        return vocab.e164_number(HypothesisChooser(draw), country)

    return build()


def entity_refs(*, kind: str = "queue") -> st.SearchStrategy[DomainEntityRef]:
    """`DomainEntityRef` values with a UUID id, a name and the matching ``selfUri``."""
    if kind not in vocab.REF_KINDS:
        msg = f"Expected kind to be one of {sorted(vocab.REF_KINDS)}, but got kind={kind!r}"
        raise InvalidArgument(msg)
    path, names = vocab.REF_KINDS[kind]

    @st.composite
    def build(draw: st.DrawFn) -> DomainEntityRef:
        ch = HypothesisChooser(draw)
        ident = vocab.entity_id(ch)
        name = ch.pick(names) if names else vocab.person_name(ch)
        return DomainEntityRef(id=ident, name=name, self_uri=f"/api/v2/{path}/{ident}")

    return build()


def unusual_payloads(
    *,
    edition: Edition | str = Edition.SEED,
    features: Collection[str] | None = None,
) -> st.SearchStrategy[Unusual]:
    """Valid payloads with unusual features (see `FEATURES`) that a correct service must accept.

    ``features`` asks for particular ones; by default one to three are drawn (``near-size-limit``,
    whose bodies reach 1 MB, only when asked for). Shrinks toward one feature on a small
    participant.
    """
    ed = _check_edition(edition)
    wanted = None if features is None else tuple(features)
    if wanted is not None:
        unknown = set(wanted) - set(FEATURES)
        if unknown or not wanted:
            msg = f"Expected features from {sorted(FEATURES)}, but got features={sorted(wanted)}"
            raise InvalidArgument(msg)

    @st.composite
    def build(draw: st.DrawFn) -> Unusual:
        payload, applied = build_unusual(HypothesisChooser(draw), edition=ed, features=wanted)
        return Unusual(payload, applied)

    return build()


def invalid_payloads(
    *,
    edition: Edition | str = Edition.SEED,
    rules: RuleSet | str = RuleSet.STRICT,
    rule_ids: Collection[str] | None = None,
) -> st.SearchStrategy[Invalid]:
    """Payloads that break exactly one rule, labelled with it (``.rule``), with the participant id
    their request path should use (``.path_id``, which matters for ``id.matches-path``).

    ``rule_ids`` limits the rules broken (default: every rule of the edition and rule set). The
    label is checked against the rules on every draw, shrunk examples included.
    """
    ed, rs = _check_edition(edition), _check_rules(rules)
    available = _rule_ids(ed, rs)
    wanted = tuple(available if rule_ids is None else rule_ids)
    unknown = [r for r in wanted if r not in available]
    if unknown or not wanted:
        msg = (
            f"Expected rule_ids from the {ed.value} edition's {rs.value} rules "
            f"({', '.join(available)}), but got rule_ids={list(wanted)}"
        )
        raise InvalidArgument(msg)

    @st.composite
    def build(draw: st.DrawFn) -> Invalid:
        rule = draw(st.sampled_from(wanted))
        return build_invalid(HypothesisChooser(draw), rule, edition=ed, rules=rs)

    return build()


def lifecycles(
    *,
    edition: Edition | str = Edition.SEED,
    profile: Profile | None = None,
    paths: Collection[str] = (),
) -> st.SearchStrategy[Lifecycle]:
    """Simulated callback conversations (`callbacksim.simulator.lifecycle.Lifecycle`).

    ``paths`` names paths every lifecycle must take (see ``PATHS`` in that module: "hold",
    "timeout", "wrapup-skipped", ...); ``profile`` tunes the timing. Shrinks toward a short, simple
    conversation: an immediate callback accepted at the first offer, with no hold and an optional
    wrap-up applied (eight events), or one cancelled before routing.
    """
    from callbacksim.generation.lifecycle import path_conflicts, simulate
    from callbacksim.generation.profile import DEFAULT

    ed = _check_edition(edition)
    required = tuple(paths)
    problem = path_conflicts(required, ed)
    if problem:
        msg = f"paths={sorted(required)}: {problem}"
        raise InvalidArgument(msg)
    chosen = DEFAULT if profile is None else profile

    @st.composite
    def build(draw: st.DrawFn) -> Lifecycle:
        return simulate(
            HypothesisChooser(draw),
            profile=chosen,
            edition=ed,
            start_ms=_base(draw),
            require=required,
        )

    return build()
