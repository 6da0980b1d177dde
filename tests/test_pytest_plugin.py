"""The pytest plugin: light to load, seeded fixtures that give valid participants."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytest_plugins = ["pytester"]

HEAVY = ("hypothesis", "faker", "callbacksim.strategies", "callbacksim.generation")


@pytest.mark.slow
def test_importing_the_plugin_loads_nothing_heavy() -> None:
    code = (
        "import json, sys\n"
        "import callbacksim.pytest_plugin\n"
        f"heavy = {HEAVY!r}\n"
        "print(json.dumps(sorted(m for m in sys.modules\n"
        "    if any(m == h or m.startswith(h + '.') for h in heavy))))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out) == []


def test_plugin_is_registered_by_entry_point(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--trace-config", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*callbacksim*callbacksim/pytest_plugin.py*"])


def test_fixtures_give_valid_participants(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from faker import Faker

        from callbacksim import CallbackMediaParticipant, Edition, State, check
        from callbacksim.generation import vocab


        def test_faker(callbacksim_faker):
            assert isinstance(callbacksim_faker, Faker)
            assert callbacksim_faker.callback_number("JP").startswith("+81")
            assert callbacksim_faker.queue_name() in vocab.QUEUES


        def test_participant(callback_participant):
            assert isinstance(callback_participant, CallbackMediaParticipant)
            assert check(callback_participant) == []


        def test_factory(callback_participant_factory):
            made = [callback_participant_factory() for _ in range(30)]
            assert len({p.id for p in made}) == 30
            assert all(check(p) == [] for p in made)
            agent = callback_participant_factory(
                edition="sdk-269", purpose="agent", state="parked"
            )
            assert agent.purpose == "agent"
            assert agent.state is State.PARKED
            assert check(agent, edition=Edition.SDK_269) == []
            loose = callback_participant_factory(edition=Edition.SEED, rules="structural")
            assert isinstance(loose, CallbackMediaParticipant)
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


REPORT = """
    def test_report(callbacksim_seed, callbacksim_faker, callback_participant,
                    callback_participant_factory):
        made = [callback_participant_factory(edition="sdk-269").id for _ in range(3)]
        print("REPORT", callbacksim_seed, callback_participant.id, *made,
              callbacksim_faker.genesys_id())
"""


def report(pytester: pytest.Pytester, *args: str) -> list[str]:
    result = pytester.runpytest("-s", "-p", "no:cacheprovider", *args)
    result.assert_outcomes(passed=1)
    # With -s the printed line follows the test file's name on the same line.
    [line] = [line for line in result.outlines if "REPORT " in line]
    return line.split("REPORT ", 1)[1].split()


def test_fixtures_are_reproducible_for_a_seed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(REPORT)
    first = report(pytester, "--callbacksim-seed", "5")
    assert first[0] == "5"
    assert report(pytester, "--callbacksim-seed=5") == first
    other = report(pytester, "--callbacksim-seed", "6")
    assert other[0] == "6"
    assert set(other[1:]).isdisjoint(first[1:])


def test_default_seed_is_zero(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(REPORT)
    assert report(pytester) == report(pytester, "--callbacksim-seed", "0")
    assert report(pytester)[0] == "0"


def test_fixture_matches_the_seeded_provider(pytester: pytest.Pytester) -> None:
    import hypothesis  # noqa: F401  (before callbacksim.strategies)
    from faker import Faker

    from callbacksim.faker_provider import add_to

    pytester.makepyfile(REPORT)
    fake = add_to(Faker("en_US"))
    fake.seed_instance(42)
    expected = fake.callback_participant().id
    assert report(pytester, "--callbacksim-seed", "42")[1] == expected


def test_each_test_starts_from_the_seed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_one(callback_participant):
            print("ID", callback_participant.id)

        def test_two(callback_participant):
            print("ID", callback_participant.id)
        """
    )
    result = pytester.runpytest("-s", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    ids = [line.split("ID ", 1)[1].split()[0] for line in result.outlines if "ID " in line]
    assert len(ids) == 2
    assert ids[0] == ids[1]


def test_seed_from_ini_and_cli_wins(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ncallbacksim_seed = 7\n")
    pytester.makepyfile(REPORT)
    from_ini = report(pytester)
    assert from_ini[0] == "7"
    cli = report(pytester, "--callbacksim-seed", "8")
    assert cli[0] == "8"
    assert cli[1:] != from_ini[1:]


def test_seed_from_pyproject(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml("[tool.pytest.ini_options]\ncallbacksim_seed = '9'\n")
    pytester.makepyfile(REPORT)
    assert report(pytester)[0] == "9"


def test_bad_ini_seed_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ncallbacksim_seed = lots\n")
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*callbacksim_seed must be an integer*'lots'*"])


def test_bad_cli_seed_is_refused(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest("--callbacksim-seed", "x", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--callbacksim-seed*invalid int value*"])


def test_report_header_shows_the_seed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest("--callbacksim-seed", "31", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["callbacksim: seed=31 (reproduce with --callbacksim-seed=31)"])


def test_help_lists_the_option(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(["*--callbacksim-seed=N*", "*callbacksim_seed*"])


def test_locale_fixture_can_be_overridden(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import pytest

        @pytest.fixture
        def callbacksim_locale():
            return "ja_JP"
        """
    )
    pytester.makepyfile(
        """
        def test_names(callbacksim_faker, callback_participant_factory):
            name = callbacksim_faker.callback_display_name()
            assert any("\\u3040" <= c <= "\\u9fff" for c in name), name
            customer = callback_participant_factory(purpose="customer")
            assert any("\\u3040" <= c <= "\\u9fff" for c in customer.name), customer.name
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_plugin_can_be_disabled(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_uses(callback_participant):\n    pass\n")
    result = pytester.runpytest("-p", "no:callbacksim", "-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'callback_participant' not found*"])
