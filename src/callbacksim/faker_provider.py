"""A Faker provider for callback data: display names, E.164 numbers, queues, ids, participants.

Add it to a Faker instance and draw::

    from faker import Faker
    from callbacksim.faker_provider import add_to

    fake = add_to(Faker("de_DE"))
    fake.seed_instance(42)
    fake.callback_display_name()  # a German name, e.g. 'Lukas Weber'
    fake.callback_number("DE")  # '+49151...'
    fake.callback_participant(edition="sdk-269")  # a valid CallbackMediaParticipant

Every value comes from the same vocabulary and the same construction as the seeded bulk generator
and the Hypothesis strategies (`callbacksim.generation`), so a participant made here passes
``callbacksim.rules.check`` for its edition.

Determinism
-----------
The provider draws only through the Faker generator's own ``random.Random``
(``self.generator.random``), so ``Faker.seed(n)`` and ``fake.seed_instance(n)`` reproduce its
output.

- This provider's own draws depend only on Python's ``random.Random`` given the seed (its
  ``random()`` and ``getrandbits()`` streams, which CPython keeps stable for integer seeds) plus the
  callbacksim version (vocabulary and generation logic may change between callbacksim releases).
  They do not depend on the Faker version, as long as only this provider's methods draw from the
  seeded instance.
- Faker's own seeded output does change between Faker versions (Faker's README says so: pin the
  version if tests depend on exact values). A test that mixes Faker's methods (``fake.name()``)
  with this provider's on one instance shares one random stream, so everything drawn after the
  first Faker call depends on the Faker version too. Fixture bytes that must be stable therefore
  depend on the pinned Faker series in pyproject.toml (``faker>=40,<41``); change that pin only
  together with regenerated fixtures.

Locale
------
Display names follow the Faker instance's locale when `callbacksim.generation.vocab.LOCALES` has it
(``Faker("ja_JP")`` gives Japanese names, family name first); for any other locale names come from
every supported locale. In a multi-locale Faker each locale's generator gets its own provider, and
Faker picks the locale per call as it does for its own methods. Phone numbers are of any supported
country unless a country is given.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from faker import Faker
from faker.providers import BaseProvider

from callbacksim.codec import decode
from callbacksim.generation import vocab
from callbacksim.generation.chooser import Chooser, RandomChooser
from callbacksim.generation.participants import Shape, build_participant, states
from callbacksim.generation.population import default_population
from callbacksim.model import CallbackMediaParticipant, Edition
from callbacksim.rules import RuleSet

__all__ = ["REF_KINDS", "CallbackProvider", "add_to"]

REF_KINDS = vocab.REF_KINDS
"""Entity kinds `CallbackProvider.entity_ref` makes: kind -> (API path, names, None meaning person
names)."""


def _generator_locale(generator: Any) -> str | None:
    """The locale a Faker ``Generator`` was created for, if it says (``Factory.create`` records it
    in the generator's configuration); None for a bare ``Generator()``."""
    config = getattr(generator, "_Generator__config", None)
    locale = config.get("locale") if isinstance(config, dict) else None
    return locale if isinstance(locale, str) else None


def _edition(edition: Edition | str) -> Edition:
    try:
        return Edition(edition)
    except ValueError:
        allowed = ", ".join(repr(e.value) for e in Edition)
        msg = f"Expected edition to be one of {allowed}, but got edition={edition!r}"
        raise ValueError(msg) from None


def _rules(rules: RuleSet | str) -> RuleSet:
    try:
        return RuleSet(rules)
    except ValueError:
        msg = f"Expected rules to be 'strict' or 'structural', but got rules={rules!r}"
        raise ValueError(msg) from None


class CallbackProvider(BaseProvider):
    """Realistic Genesys Cloud callback values for Faker; see the module docstring."""

    def __init__(self, generator: Any) -> None:
        super().__init__(generator)
        locale = _generator_locale(generator)
        self._locale: str | None = locale if locale in vocab.LOCALES else None

    def _chooser(self) -> Chooser:
        # Built per call: seed_instance() may replace the generator's Random object.
        return RandomChooser(self.generator.random)

    def _person(self, ch: Chooser) -> str:
        return vocab.person_name(ch, self._locale)

    def callback_display_name(self, locale: str | None = None) -> str:
        """A person's display name in ``locale`` (one of `vocab.LOCALES`); by default in the Faker
        instance's locale if supported, else in any supported locale."""
        if locale is not None and locale not in vocab.LOCALES:
            msg = f"Expected locale to be one of {sorted(vocab.LOCALES)}, but got locale={locale!r}"
            raise ValueError(msg)
        return vocab.person_name(self._chooser(), locale or self._locale)

    def callback_number(self, country: str | None = None) -> str:
        """An E.164 mobile number (``+4915112345678``) of ``country`` (ISO 3166 alpha-2 code, one
        of `vocab.COUNTRIES`), or of any supported country."""
        if country is not None and country not in vocab.COUNTRIES:
            msg = (
                f"Expected country to be one of {sorted(vocab.COUNTRIES)}, but got "
                f"country={country!r}"
            )
            raise ValueError(msg)
        return vocab.e164_number(self._chooser(), country)

    def queue_name(self) -> str:
        """A routing queue name (``'Billing'``)."""
        return self._chooser().pick(vocab.QUEUES)

    def team_name(self) -> str:
        """A team name (``'Tier 2'``)."""
        return self._chooser().pick(vocab.TEAMS)

    def wrapup_code_name(self) -> str:
        """A wrap-up code name (``'Callback Completed'``)."""
        return self._chooser().pick(vocab.WRAPUP_CODES)

    def skill_name(self) -> str:
        """A routing skill name (``'Spanish'``)."""
        return self._chooser().pick(vocab.SKILLS)

    def genesys_id(self) -> str:
        """A Genesys Cloud id: a version-4 UUID in lower-case hex."""
        return vocab.entity_id(self._chooser())

    def entity_ref(self, kind: str = "queue") -> dict[str, str]:
        """A reference to an entity of ``kind`` (one of `REF_KINDS`) as the wire shows it:
        ``{"id": ..., "name": ..., "selfUri": "/api/v2/<path>/<id>"}``."""
        if kind not in REF_KINDS:
            msg = f"Expected kind to be one of {sorted(REF_KINDS)}, but got kind={kind!r}"
            raise ValueError(msg)
        path, names = REF_KINDS[kind]
        ch = self._chooser()
        ident = vocab.entity_id(ch)
        name = ch.pick(names) if names is not None else self._person(ch)
        return {"id": ident, "name": name, "selfUri": f"/api/v2/{path}/{ident}"}

    def callback_participant_payload(
        self,
        edition: Edition | str = Edition.SEED,
        rules: RuleSet | str = RuleSet.STRICT,
        purpose: str | None = None,
        state: str | None = None,
    ) -> dict[str, Any]:
        """The wire payload (a dict of JSON values) of one valid participant of ``edition``.

        ``rules="structural"`` makes participants that are only structurally valid (any timestamp
        order). ``purpose`` (``'customer'``, ``'agent'``, ``'acd'``...) and ``state`` fix those.
        """
        ed, rs = _edition(edition), _rules(rules)
        if state is not None:
            allowed = [s.value for s in states(ed)]
            if state not in allowed:
                msg = (
                    f"Expected state to be one of the {ed.value} edition's states {allowed}, "
                    f"but got state={state!r}"
                )
                raise ValueError(msg)
        shape = Shape(edition=ed, rules=rs, purpose=purpose, state=state)
        person: Callable[[Chooser], str] = self._person
        population = default_population(self._locale)
        return build_participant(self._chooser(), shape, person=person, population=population)

    def callback_participant(
        self,
        edition: Edition | str = Edition.SEED,
        rules: RuleSet | str = RuleSet.STRICT,
        purpose: str | None = None,
        state: str | None = None,
    ) -> CallbackMediaParticipant:
        """`callback_participant_payload`, decoded into a `CallbackMediaParticipant` of
        ``edition``."""
        payload = self.callback_participant_payload(edition, rules, purpose, state)
        return decode(payload, edition=_edition(edition))


def add_to(fake: Faker) -> Faker:
    """Add `CallbackProvider` to every locale of ``fake`` (once) and return ``fake``."""
    for factory in fake.factories:
        if not any(isinstance(p, CallbackProvider) for p in factory.get_providers()):
            factory.add_provider(CallbackProvider)
    return fake
