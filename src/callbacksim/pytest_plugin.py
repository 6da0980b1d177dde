"""pytest plugin: seeded fixtures that hand tests valid callback participants.

Installed with callbacksim (entry point ``pytest11``), so the fixtures are available in every test
of a project that has callbacksim installed; disable with ``-p no:callbacksim``.

Fixtures:

- ``callbacksim_seed``: the seed of the run: ``--callbacksim-seed N`` on the command line, else the
  ``callbacksim_seed`` ini option, else 0. It is shown in the report header.
- ``callbacksim_locale``: the Faker locale of ``callbacksim_faker`` (``"en_US"``); override it in a
  conftest.py or test module to get display names of another locale (``"ja_JP"``).
- ``callbacksim_faker``: a ``Faker`` with `callbacksim.strategies.faker_provider.CallbackProvider`
  added, freshly seeded with the seed for each test, so every test sees the same sequence whatever
  the order tests run in.
- ``callback_participant``: one valid `CallbackMediaParticipant` (seed edition, strict rules) drawn
  from ``callbacksim_faker``.
- ``callback_participant_factory``: a callable, ``factory(edition=..., rules=..., purpose=...,
  state=...)``, returning a new valid participant at each call; the sequence is the same for the
  same seed.

This module is imported when pytest starts, in every project that installs callbacksim, so it
imports nothing heavy at module level: Faker, Hypothesis and the generators load only inside the
fixtures that need them (a test checks that importing it loads neither Hypothesis nor Faker).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import pytest

if TYPE_CHECKING:
    from faker import Faker

    from callbacksim.model import CallbackMediaParticipant, Edition
    from callbacksim.rules import RuleSet

__all__ = [
    "ParticipantFactory",
    "callback_participant",
    "callback_participant_factory",
    "callbacksim_faker",
    "callbacksim_locale",
    "callbacksim_seed",
]

_SEED_OPTION = "--callbacksim-seed"
_SEED_INI = "callbacksim_seed"


class ParticipantFactory(Protocol):
    """What ``callback_participant_factory`` returns."""

    def __call__(
        self,
        *,
        edition: Edition | str = ...,
        rules: RuleSet | str = ...,
        purpose: str | None = None,
        state: str | None = None,
    ) -> CallbackMediaParticipant: ...


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("callbacksim", "callbacksim generated participants")
    group.addoption(
        _SEED_OPTION,
        type=int,
        default=None,
        dest="callbacksim_seed",
        metavar="N",
        help="Seed of the callbacksim fixtures (default: the callbacksim_seed ini option, else 0).",
    )
    parser.addini(
        _SEED_INI,
        help="Seed of the callbacksim fixtures (an integer; default 0).",
        default="0",
    )
    # Property checks against a running target: one test item per property.
    group.addoption(
        "--callbacksim-target",
        default=None,
        metavar="URL",
        help="Check the participant-store properties of the service at URL (one test each).",
    )
    group.addoption(
        "--callbacksim-budget",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="Time for all property checks together (default 60).",
    )
    group.addoption(
        "--callbacksim-header",
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="A header sent with every check request (repeatable), e.g. for auth.",
    )
    group.addoption(
        "--callbacksim-properties",
        default=None,
        metavar="IDS",
        help="Comma-separated property ids to check (default: all).",
    )


def _seed(config: pytest.Config) -> int:
    given: Any = config.getoption("callbacksim_seed")
    if given is not None:
        return int(given)
    raw: Any = config.getini(_SEED_INI)
    try:
        return int(str(raw).strip())
    except ValueError:
        msg = f"{_SEED_INI} must be an integer, but the ini file gives {raw!r}"
        raise pytest.UsageError(msg) from None


def pytest_configure(config: pytest.Config) -> None:
    _seed(config)  # refuse a bad ini value at start-up, not in the first test that uses it


def pytest_report_header(config: pytest.Config) -> str:
    seed = _seed(config)
    return f"callbacksim: seed={seed} (reproduce with {_SEED_OPTION}={seed})"


@pytest.fixture(scope="session")
def callbacksim_seed(pytestconfig: pytest.Config) -> int:
    """The seed of the callbacksim fixtures: ``--callbacksim-seed``, the ini option, or 0."""
    return _seed(pytestconfig)


@pytest.fixture
def callbacksim_locale() -> str | list[str]:
    """The locale(s) of ``callbacksim_faker``; override to change display names."""
    return "en_US"


@pytest.fixture
def callbacksim_faker(callbacksim_seed: int, callbacksim_locale: str | list[str]) -> Faker:
    """A Faker with the callback provider, seeded with ``callbacksim_seed`` for this test."""
    # Hypothesis first: its start-up runs callbacksim's ``hypothesis`` entry point, which imports
    # callbacksim.strategies; starting from that package instead would let the hook see it only
    # half-initialised (ImportError). The provider's package loads Hypothesis anyway.
    import hypothesis  # noqa: F401
    from faker import Faker

    from callbacksim.faker_provider import add_to

    fake = add_to(Faker(callbacksim_locale))
    fake.seed_instance(callbacksim_seed)
    return fake


@pytest.fixture
def callback_participant(callbacksim_faker: Faker) -> CallbackMediaParticipant:
    """One valid participant (seed edition, strict rules) from the seeded provider."""
    participant: CallbackMediaParticipant = callbacksim_faker.callback_participant()
    return participant


@pytest.fixture
def callback_participant_factory(callbacksim_faker: Faker) -> ParticipantFactory:
    """A callable making a new valid participant per call, reproducibly for the seed."""
    from callbacksim.model import Edition
    from callbacksim.rules import RuleSet

    def factory(
        *,
        edition: Edition | str = Edition.SEED,
        rules: RuleSet | str = RuleSet.STRICT,
        purpose: str | None = None,
        state: str | None = None,
    ) -> CallbackMediaParticipant:
        participant: CallbackMediaParticipant = callbacksim_faker.callback_participant(
            edition=edition, rules=rules, purpose=purpose, state=state
        )
        return participant

    return factory


# -- property checks as test items ---------------------------------------------------------------


class CallbacksimPropertyItem(pytest.Item):
    """One contract property of the target given by ``--callbacksim-target``."""

    def __init__(self, *, property_id: str, share: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.property_id = property_id
        self.share = share

    def runtest(self) -> None:
        from callbacksim.simulator.checks import CheckConfig, run_checks

        config = self.config
        url = str(config.getoption("callbacksim_target"))
        headers = {}
        for raw in config.getoption("callbacksim_header"):
            name, _, value = str(raw).partition(":")
            headers[name.strip()] = value.strip()
        cfg = CheckConfig(
            url=url,
            budget=self.share,
            seed=_seed(config),
            headers=headers,
            properties=(self.property_id,),
        )
        (outcome,) = run_checks(cfg)
        self.user_properties.append(("callbacksim-coverage", outcome.coverage()))
        if outcome.status == "failed" and outcome.failure is not None:
            f = outcome.failure
            lines = [f.summary, f"expected: {f.expected}", f"got: {f.got}", "reproduce:"]
            lines += [r.curl(url) for r in f.requests[-8:]]
            raise CallbacksimPropertyFailed("\n".join(lines))
        if outcome.status == "not-exercised":
            msg = f"{self.property_id} was not exercised: {outcome.note}"
            raise CallbacksimPropertyFailed(msg)
        if outcome.status == "error":
            raise RuntimeError(outcome.note)

    def repr_failure(self, excinfo: Any, style: Any = None) -> str:
        if isinstance(excinfo.value, CallbacksimPropertyFailed):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[str, int | None, str]:
        return "callbacksim", None, f"property {self.property_id}"


class CallbacksimPropertyFailed(AssertionError):
    """A property of the target does not hold (the message has the reproducer)."""


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    url = config.getoption("callbacksim_target")
    if not url:
        return
    from callbacksim.simulator.properties import PROPERTIES

    chosen_text = config.getoption("callbacksim_properties")
    chosen = [p.strip() for p in chosen_text.split(",")] if chosen_text else list(PROPERTIES)
    unknown = [p for p in chosen if p not in PROPERTIES]
    if unknown:
        allowed = ", ".join(PROPERTIES)
        msg = f"--callbacksim-properties: unknown id(s) {unknown}; choose from {allowed}"
        raise pytest.UsageError(msg)
    budget = float(config.getoption("callbacksim_budget"))
    share = max(1.0, budget / len(chosen))
    for pid in chosen:
        items.append(
            CallbacksimPropertyItem.from_parent(
                session, name=f"callbacksim[{pid}]", property_id=pid, share=share
            )
        )
