"""The contact centre that generated participants belong to: its queues, agents, teams and codes.

A real organisation has a fixed set of queues, agents and wrap-up codes, each with one id, so
generated participants draw their entity references from a `Population` instead of inventing a new
id every time: the same queue keeps the same id and name across a whole file, as in a real export.
The population is built deterministically from its own seed; `DEFAULT` (seed 0) is what every
generator uses unless told otherwise.

Entity references are shared, read-only dicts: a caller that edits a payload must copy it first
(`callbacksim.generation.participants.copy_payload`).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import attrs

from callbacksim.generation import vocab
from callbacksim.generation.chooser import RandomChooser

__all__ = ["Population", "default_population", "make_population"]

Ref = dict[str, Any]


@attrs.frozen
class Population:
    """Entity references by kind; each a tuple of wire-form dicts."""

    queues: tuple[Ref, ...]
    """``{"id", "name", "selfUri"}`` of each queue (``queue``)."""
    routing_queues: tuple[Ref, ...]
    """The same queues as ``AddressableEntityRef`` (``conversationRoutingData.queue``)."""
    agents: tuple[Ref, ...]
    """Users who take callbacks (``user``), with their display names."""
    agent_refs: tuple[Ref, ...]
    """The same agents as ``DomainEntityRef`` without a name (``scoredAgents[].agent``)."""
    teams: tuple[Ref, ...]
    scripts: tuple[Ref, ...]
    skills: tuple[Ref, ...]
    languages: tuple[Ref, ...]
    organizations: tuple[Ref, ...]
    wrapup_codes: tuple[tuple[str, str], ...]
    """(id, name) of each wrap-up code."""
    campaigns: tuple[tuple[str, str], ...]
    """(campaign id, contact list id) of each outbound campaign."""


def _refs(ch: RandomChooser, path: str, names: tuple[str, ...]) -> tuple[Ref, ...]:
    out = []
    for name in names:
        ident = vocab.entity_id(ch)
        out.append({"id": ident, "name": name, "selfUri": f"/api/v2/{path}/{ident}"})
    return tuple(out)


def _addressable(refs: tuple[Ref, ...]) -> tuple[Ref, ...]:
    return tuple({"id": r["id"], "selfUri": r["selfUri"]} for r in refs)


def make_population(seed: int = 0, *, agents: int = 120, locale: str | None = None) -> Population:
    """A population built from ``seed``: the vocabulary's queues, teams and codes, and ``agents``
    agents with display names in ``locale`` (every supported locale if None)."""
    ch = RandomChooser(seed)
    queues = _refs(ch, "routing/queues", vocab.QUEUES)
    people = tuple(vocab.person_name(ch, locale) for _ in range(agents))
    agent_refs = _refs(ch, "users", people)
    skills = _refs(ch, "routing/skills", vocab.SKILLS)
    languages = _refs(ch, "routing/languages", vocab.LANGUAGES)
    return Population(
        queues=queues,
        routing_queues=_addressable(queues),
        agents=agent_refs,
        agent_refs=_addressable(agent_refs),
        teams=_refs(ch, "teams", vocab.TEAMS),
        scripts=_refs(ch, "scripts", vocab.SCRIPTS),
        skills=_addressable(skills),
        languages=_addressable(languages),
        organizations=_refs(ch, "externalcontacts/organizations", vocab.ORGANIZATIONS),
        wrapup_codes=tuple((vocab.entity_id(ch), name) for name in vocab.WRAPUP_CODES),
        campaigns=tuple((vocab.entity_id(ch), vocab.entity_id(ch)) for _ in range(4)),
    )


@cache
def default_population(locale: str | None = None) -> Population:
    """The population every generator uses unless given another (seed 0), optionally with agent
    names in one ``locale``."""
    return make_population(0, locale=locale)
