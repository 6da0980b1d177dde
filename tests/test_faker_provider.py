"""The Faker provider: reproducible under a seed, realistic values, valid participants."""

from __future__ import annotations

import random
import re
import uuid
from typing import Any

import hypothesis  # noqa: F401  (before callbacksim.strategies; see the pytest plugin's note)
import pytest
from faker import Faker
from faker.generator import Generator

from callbacksim.codec import decode
from callbacksim.faker_provider import REF_KINDS, CallbackProvider, add_to
from callbacksim.generation import vocab
from callbacksim.model import CallbackMediaParticipant, Edition, State
from callbacksim.rules import RuleSet, check

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
BOTH = (Edition.SEED, Edition.SDK_269)


def fake_for(seed: int, locale: str | list[str] = "en_US") -> Faker:
    fake = add_to(Faker(locale))
    fake.seed_instance(seed)
    return fake


def sample(fake: Faker) -> list[Any]:
    """One of everything the provider makes, in a fixed order."""
    return [
        fake.callback_display_name(),
        fake.callback_display_name(locale="ja_JP"),
        fake.callback_number(),
        fake.callback_number("GB"),
        fake.queue_name(),
        fake.team_name(),
        fake.wrapup_code_name(),
        fake.skill_name(),
        fake.genesys_id(),
        fake.entity_ref(),
        fake.entity_ref("user"),
        fake.callback_participant_payload(),
        fake.callback_participant_payload(edition="sdk-269", rules="structural"),
        fake.callback_participant(purpose="agent"),
    ]


def names_of(locale: str) -> tuple[set[str], set[str]]:
    given, family, _ = vocab.LOCALES[locale]
    return set(given), set(family)


def is_name_of(name: str, locale: str) -> bool:
    given, family = names_of(locale)
    return any(name in (f"{g} {f}", f"{f} {g}", f"{f}{g}") for g in given for f in family)


# Reproducibility ----------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 12345, 2**40])
def test_same_seed_same_values(seed: int) -> None:
    assert sample(fake_for(seed)) == sample(fake_for(seed))


def test_different_seeds_different_values() -> None:
    samples = [sample(fake_for(seed)) for seed in range(5)]
    for i, a in enumerate(samples):
        for b in samples[i + 1 :]:
            assert a != b
            # Each value-rich method differs, not just one of them.
            assert a[8] != b[8]  # genesys_id
            assert a[11] != b[11]  # payload


def test_reseeding_restarts_the_sequence() -> None:
    fake = fake_for(7)
    first = sample(fake)
    assert sample(fake) != first
    fake.seed_instance(7)
    assert sample(fake) == first


def test_class_level_seed_reproduces_unseeded_instances() -> None:
    Faker.seed(99)
    first = sample(add_to(Faker()))
    Faker.seed(99)
    assert sample(add_to(Faker())) == first


def test_draws_only_through_the_generators_random() -> None:
    # The global random module and Faker's own methods on another instance do not disturb it.
    random.seed(1)
    first = sample(fake_for(3))
    random.seed(2)
    other = fake_for(4)
    other.name()
    other.address()
    assert sample(fake_for(3)) == first


def test_output_depends_on_the_seed_not_the_faker_locale_tables() -> None:
    # Locale-independent methods draw the same values in any locale with the same seed: nothing
    # but the seeded Random is involved.
    a, b = fake_for(5, "en_US"), fake_for(5, "de_DE")
    assert [a.callback_number("DE"), a.genesys_id(), a.queue_name()] == [
        b.callback_number("DE"),
        b.genesys_id(),
        b.queue_name(),
    ]


# Phone numbers ------------------------------------------------------------------------------------


@pytest.mark.parametrize("country", sorted(vocab.COUNTRIES))
def test_numbers_are_e164_of_the_country(country: str) -> None:
    calling, prefixes, rest = vocab.COUNTRIES[country]
    fake = fake_for(11)
    for _ in range(200):
        number = fake.callback_number(country)
        assert E164.match(number), number
        assert number.startswith(f"+{calling}")
        national = number[1 + len(calling) :]
        assert any(national.startswith(p) and len(national) == len(p) + rest for p in prefixes)


def test_default_numbers_are_e164_of_some_supported_country() -> None:
    fake = fake_for(12)
    callings = {calling for calling, _, _ in vocab.COUNTRIES.values()}
    seen = set()
    for _ in range(500):
        number = fake.callback_number()
        assert E164.match(number), number
        matches = [c for c in callings if number.startswith(f"+{c}")]
        assert matches, number
        seen.update(matches)
    assert len(seen) > 5


@pytest.mark.parametrize("country", ["ZZ", "de", "", "USA"])
def test_unknown_country_names_the_supported_ones(country: str) -> None:
    with pytest.raises(ValueError, match=r"Expected country to be one of \[.*'DE'.*'US'") as info:
        fake_for(0).callback_number(country)
    assert repr(country) in str(info.value)


# Names --------------------------------------------------------------------------------------------


def has_cjk(text: str) -> bool:
    return any("\u3040" <= c <= "\u9fff" for c in text)


def test_japanese_faker_gives_japanese_names() -> None:
    fake = fake_for(1, "ja_JP")
    for _ in range(100):
        name = fake.callback_display_name()
        assert has_cjk(name), name
        assert " " not in name
        assert is_name_of(name, "ja_JP")


@pytest.mark.parametrize("locale", sorted(vocab.LOCALES))
def test_faker_locale_picks_the_names(locale: str) -> None:
    fake = fake_for(2, locale)
    for _ in range(100):
        assert is_name_of(fake.callback_display_name(), locale)


@pytest.mark.parametrize("locale", sorted(vocab.LOCALES))
def test_explicit_locale_wins(locale: str) -> None:
    fake = fake_for(3, "de_DE")
    for _ in range(50):
        assert is_name_of(fake.callback_display_name(locale=locale), locale)


def test_arabic_names_are_arabic_script() -> None:
    fake = fake_for(4, "ar_SA")
    for _ in range(50):
        name = fake.callback_display_name()
        assert all("\u0600" <= c <= "\u06ff" or c == " " for c in name), name


def test_unsupported_faker_locale_draws_from_every_locale() -> None:
    fake = fake_for(5, "it_IT")
    found = set()
    for _ in range(500):
        name = fake.callback_display_name()
        matching = [loc for loc in vocab.LOCALES if is_name_of(name, loc)]
        assert matching, name
        found.update(matching)
    assert found == set(vocab.LOCALES)


def test_bare_generator_draws_from_every_locale() -> None:
    generator = Generator()
    generator.add_provider(CallbackProvider)
    generator.seed_instance(6)
    names = {generator.format("callback_display_name") for _ in range(300)}
    assert {loc for loc in vocab.LOCALES for n in names if is_name_of(n, loc)} == set(vocab.LOCALES)


@pytest.mark.parametrize("locale", ["xx_XX", "ja", "it_IT"])
def test_unknown_locale_argument_is_refused(locale: str) -> None:
    with pytest.raises(ValueError, match=r"Expected locale to be one of .*'ja_JP'"):
        fake_for(0).callback_display_name(locale=locale)


def test_multi_locale_faker() -> None:
    fake = fake_for(8, ["ja_JP", "de_DE"])
    names = [fake.callback_display_name() for _ in range(200)]
    assert all(is_name_of(n, "ja_JP") or is_name_of(n, "de_DE") for n in names)
    assert any(has_cjk(n) for n in names)
    assert not all(has_cjk(n) for n in names)
    again = fake_for(8, ["ja_JP", "de_DE"])
    assert [again.callback_display_name() for _ in range(200)] == names


# Vocabulary, ids and references -------------------------------------------------------------------


def test_vocabulary_methods() -> None:
    fake = fake_for(9)
    for _ in range(50):
        assert fake.queue_name() in vocab.QUEUES
        assert fake.team_name() in vocab.TEAMS
        assert fake.wrapup_code_name() in vocab.WRAPUP_CODES
        assert fake.skill_name() in vocab.SKILLS


def test_genesys_ids_are_uuid4() -> None:
    fake = fake_for(10)
    ids = [fake.genesys_id() for _ in range(300)]
    for ident in ids:
        parsed = uuid.UUID(ident)
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
        assert str(parsed) == ident
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("kind", sorted(REF_KINDS))
def test_entity_refs(kind: str) -> None:
    path, names = REF_KINDS[kind]
    fake = fake_for(11, "fr_FR")
    for _ in range(30):
        ref = fake.entity_ref(kind)
        assert list(ref) == ["id", "name", "selfUri"]
        assert uuid.UUID(ref["id"]).version == 4
        assert ref["selfUri"] == f"/api/v2/{path}/{ref['id']}"
        if names is None:
            assert is_name_of(ref["name"], "fr_FR")
        else:
            assert ref["name"] in names


def test_entity_ref_default_is_a_queue() -> None:
    ref = fake_for(12).entity_ref()
    assert ref["selfUri"].startswith("/api/v2/routing/queues/")
    assert ref["name"] in vocab.QUEUES


def test_unknown_entity_kind() -> None:
    with pytest.raises(ValueError, match=r"Expected kind to be one of .*'queue'"):
        fake_for(0).entity_ref("flow")


# Participants -------------------------------------------------------------------------------------


@pytest.mark.parametrize("edition", BOTH)
def test_payloads_are_valid_for_many_seeds(edition: Edition) -> None:
    purposes, states = set(), set()
    for seed in range(300):
        payload = fake_for(seed).callback_participant_payload(edition=edition)
        assert check(payload, edition=edition) == [], payload
        purposes.add(payload["purpose"])
        states.add(payload["state"])
    assert {"customer", "agent", "acd"} <= purposes
    assert {"connected", "disconnected"} <= states


@pytest.mark.parametrize("edition", BOTH)
def test_participants_are_valid_for_many_seeds(edition: Edition) -> None:
    fake = fake_for(0)
    for seed in range(300):
        fake.seed_instance(seed)
        participant = fake.callback_participant(edition=edition.value)
        assert isinstance(participant, CallbackMediaParticipant)
        assert check(participant, edition=edition) == []


@pytest.mark.parametrize("edition", BOTH)
def test_structural_payloads_are_structurally_valid(edition: Edition) -> None:
    fake = fake_for(1)
    for _ in range(200):
        payload = fake.callback_participant_payload(edition=edition, rules=RuleSet.STRUCTURAL)
        assert check(payload, edition=edition, rules=RuleSet.STRUCTURAL) == []


def test_participant_is_the_decoded_payload() -> None:
    for edition in BOTH:
        payload = fake_for(2).callback_participant_payload(edition=edition, purpose="customer")
        participant = fake_for(2).callback_participant(edition=edition, purpose="customer")
        assert participant == decode(payload, edition=edition)


@pytest.mark.parametrize(
    ("edition", "purpose", "state"),
    [
        (Edition.SEED, "agent", "disconnected"),
        (Edition.SEED, "customer", "connected"),
        (Edition.SEED, "acd", "alerting"),
        (Edition.SDK_269, "agent", "parked"),
        (Edition.SDK_269, "ivr", "terminated"),
    ],
)
def test_fixed_purpose_and_state(edition: Edition, purpose: str, state: str) -> None:
    fake = fake_for(3)
    for _ in range(50):
        payload = fake.callback_participant_payload(edition=edition, purpose=purpose, state=state)
        assert (payload["purpose"], payload["state"]) == (purpose, state)
        assert check(payload, edition=edition) == []


def test_participant_names_follow_the_faker_locale() -> None:
    fake = fake_for(4, "ja_JP")
    for _ in range(50):
        participant = fake.callback_participant(purpose="customer")
        assert participant.name is not None
        assert is_name_of(participant.name, "ja_JP")
        assert participant.callback_user_name == participant.name
        agent = fake.callback_participant(purpose="agent")
        assert agent.user is not None
        assert agent.user.name is not None
        assert is_name_of(agent.user.name, "ja_JP")


def test_customer_numbers_are_e164() -> None:
    fake = fake_for(5)
    for _ in range(100):
        participant = fake.callback_participant(purpose="customer")
        assert participant.address is not None
        assert E164.match(participant.address)
        assert all(E164.match(n) for n in participant.callback_numbers or ())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"edition": "sdk-270"}, r"Expected edition to be one of 'seed', 'sdk-269'"),
        ({"rules": "lenient"}, r"Expected rules to be 'strict' or 'structural'"),
        ({"state": "parked"}, r"seed edition's states .* but got state='parked'"),
        ({"state": "on-hold", "edition": "sdk-269"}, r"but got state='on-hold'"),
    ],
)
def test_bad_participant_arguments(kwargs: dict[str, Any], message: str) -> None:
    fake = fake_for(0)
    with pytest.raises(ValueError, match=message):
        fake.callback_participant_payload(**kwargs)
    with pytest.raises(ValueError, match=message):
        fake.callback_participant(**kwargs)


def test_parked_needs_the_sdk_edition() -> None:
    participant = fake_for(6).callback_participant(edition="sdk-269", state="parked")
    assert participant.state is State.PARKED
    assert participant.park_time is not None


# Registration -------------------------------------------------------------------------------------


def test_add_to_returns_the_faker_and_is_idempotent() -> None:
    fake = Faker()
    assert add_to(fake) is fake
    add_to(fake)
    generator = fake.factories[0]
    assert sum(isinstance(p, CallbackProvider) for p in generator.get_providers()) == 1


def test_add_provider_directly_works_too() -> None:
    fake = Faker("de_DE")
    fake.add_provider(CallbackProvider)
    fake.seed_instance(1)
    direct = [fake.callback_display_name(), fake.callback_participant_payload()]
    via_add_to = fake_for(1, "de_DE")
    assert direct == [via_add_to.callback_display_name(), via_add_to.callback_participant_payload()]
    assert is_name_of(direct[0], "de_DE")
