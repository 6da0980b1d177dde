"""``callbacksim anonymise``: personal data in exports and lifecycle files replaced, keyed.

Every value at a personal path (`PERSONAL`, which the user can extend) is replaced by a realistic
fake drawn from Faker, seeded with the HMAC-SHA256 of the value under the user's key. So:

- the same value becomes the same fake everywhere, in every file of a run and every snapshot of a
  participant (a customer's number in ``address``, ``callbackNumbers`` and an attribute alike);
- the same key gives the same bytes, run after run; another key gives other fakes, and without
  the key a fake cannot be traced back to its value;
- memory stays flat: nothing is remembered between values (a bounded cache only saves time).

Timing, states, enum values, the structure of every record and the shapes of values stay: an E.164
number becomes an E.164 number of the same country, a UUID another UUID, ``CASE-10442`` something
like ``QWLM-83710``. Two different values may, rarely, draw the same fake (names especially: the
vocabulary of display names is small).

What counts as personal is a list of wire paths inside a participant, each with the kind of
replacement (`KINDS`): ``callbackNumbers[]`` is every item of the list, ``attributes.*`` every
value of the map. `personal_list` adds the user's own entries (``--personal PATH=KIND`` or a TOML
file); the kind ``keep`` takes a path off the list.
"""

from __future__ import annotations

import functools
import hmac
import random
import re
import tomllib
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs

from callbacksim.errors import JsonError, UsageError
from callbacksim.generation import vocab
from callbacksim.records import InputFormat, open_source, read_records

__all__ = [
    "KINDS",
    "PERSONAL",
    "AnonymiseSummary",
    "Anonymiser",
    "Personal",
    "describe_personal",
    "personal_list",
    "run_anonymise",
]

KINDS: dict[str, str] = {
    "name": "a person's display name: a fake name in the same script (Japanese stays Japanese)",
    "phone": "a phone number: an E.164 number of the same country (a tel: prefix is kept)",
    "address": (
        "a participant address: a phone number as phone, a SIP URI with its user part replaced, "
        "anything else as value"
    ),
    "id": "an identifier: a UUID becomes another UUID, anything else keeps its shape",
    "uri": "a URI such as selfUri: every UUID in it is replaced as id (so it matches the id)",
    "company": "an organisation's name: a fake company name",
    "text": "free text (notes): a fake sentence of as many words",
    "value": (
        "any value: an e-mail address, phone number or UUID as such; words by fake words; "
        "otherwise every letter and digit replaced, case and punctuation kept"
    ),
    "keep": "not personal: takes the path off the list",
}
"""The kinds of replacement, by name."""


@attrs.frozen
class Personal:
    """A personal value: its wire path inside a participant and the kind of its replacement.

    The path is dotted (``wrapup.notes``); ``[]`` after a name means every item of that list and
    ``*`` every value of a map. ``unless_purpose`` lists the participant purposes where the path
    holds nothing personal (the ``name`` of a queue leg is the queue's name).
    """

    path: str
    kind: str
    unless_purpose: tuple[str, ...] = ()


PERSONAL: tuple[Personal, ...] = (
    Personal("name", "name", unless_purpose=("acd", "ivr", "workflow")),
    Personal("address", "address"),
    Personal("callbackUserName", "name"),
    Personal("callbackNumbers[]", "phone"),
    Personal("user.name", "name"),
    Personal("externalContact.id", "id"),
    Personal("externalContact.name", "name"),
    Personal("externalContact.selfUri", "uri"),
    Personal("externalOrganization.id", "id"),
    Personal("externalOrganization.name", "company"),
    Personal("externalOrganization.selfUri", "uri"),
    Personal("attributes.*", "value"),
    Personal("wrapup.notes", "text"),
    Personal("journeyContext.customer.id", "id"),
    Personal("journeyContext.customerSession.id", "id"),
    Personal("outboundPreview.contactId", "id"),
    Personal("voicemail.id", "id"),
)
"""What is personal by default: names (customers', agents', external contacts'), addresses and
callback numbers, external contact and organisation ids and names, participant attributes,
wrap-up notes, journey customer and session ids, the dialer contact id and the voicemail id."""

_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\[\])?(\.([A-Za-z_][A-Za-z0-9_]*(\[\])?|\*))*")


def personal_list(
    extra: Iterable[str] = (), file: str | Path | None = None, base: Sequence[Personal] = PERSONAL
) -> tuple[Personal, ...]:
    """``base`` with the entries of a TOML ``file`` (a ``[personal]`` table of ``"PATH" =
    "KIND"``) and then ``extra`` (``PATH`` or ``PATH=KIND``; the kind defaults to ``value``)
    added; an entry for a path already listed replaces it, and ``keep`` removes it."""
    entries: list[tuple[str, str]] = []
    if file is not None:
        entries += _from_file(Path(file))
    for item in extra:
        path, _, kind = item.partition("=")
        entries.append((path.strip(), kind.strip() or "value"))
    out = {p.path: p for p in base}
    for path, kind in entries:
        if not _PATH.fullmatch(path):
            msg = (
                f"{path!r} is not a personal path; write a dotted wire path such as "
                "wrapup.notes, callbackNumbers[] or attributes.*"
            )
            raise UsageError(msg)
        if kind not in KINDS:
            msg = f"unknown kind {kind!r} for {path}; choose from {', '.join(KINDS)}"
            raise UsageError(msg)
        out.pop(path, None)
        if kind != "keep":
            out[path] = Personal(path, kind)
    return tuple(out.values())


def _from_file(path: Path) -> list[tuple[str, str]]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        msg = f"cannot read the personal-data list {path}: {exc.strerror}"
        raise UsageError(msg) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        msg = f"the personal-data list {path} is not valid TOML: {exc}"
        raise UsageError(msg) from None
    table = data.get("personal")
    if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
        msg = f'{path} must hold a [personal] table of "PATH" = "KIND", e.g. "user.id" = "id"'
        raise UsageError(msg)
    return [(str(k), str(v)) for k, v in table.items()]


# -- replacing values -----------------------------------------------------------------------------

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")
_PHONE = re.compile(r"\+?[0-9][0-9 ()./-]{5,}[0-9]")
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_WORDS = re.compile(r"[^\W\d_]+(?: [^\W\d_]+)*")
_LATIN_LOCALES = tuple(code for code in vocab.LOCALES if code not in ("ja_JP", "ar_SA"))
_CALLING = sorted(
    ((calling, country) for country, (calling, _, _) in vocab.COUNTRIES.items()),
    key=lambda item: -len(item[0]),
)


class Anonymiser:
    """Replaces the personal values of records under a key (see the module docstring)."""

    def __init__(self, key: bytes, personal: Sequence[Personal] = PERSONAL) -> None:
        if not key:
            msg = "the anonymisation key is empty; give a secret of your own (--key)"
            raise UsageError(msg)
        from faker import Faker

        from callbacksim.faker_provider import add_to

        self._key = key
        self._fake = add_to(Faker("en_US"))
        self._rules = [(_segments(p.path), p) for p in personal]
        self.value: Callable[[str, str], str] = functools.lru_cache(maxsize=1 << 16)(self._value)
        """The fake for a value of a kind (`KINDS`)."""

    # -- records --

    def record(self, value: Any) -> Any:
        """A record with every participant in it anonymised: a lifecycle event, a conversation, a
        listing page, a ``{"events": [...]}`` document, a participant, or an array of these."""
        if isinstance(value, list):
            return [self.record(item) for item in value]
        if not isinstance(value, dict):
            return value
        if isinstance(value.get("participant"), dict) and "participantId" in value:
            return value | {"participant": self.participant(value["participant"])}
        for key in ("participants", "entities", "events"):
            if isinstance(value.get(key), list):
                inner = self.participant if key == "participants" else self.record
                items = [inner(item) if isinstance(item, dict) else item for item in value[key]]
                return value | {key: items}
        return self.participant(value)

    def participant(self, payload: dict[str, Any]) -> dict[str, Any]:
        """A copy of one participant's payload with its personal values replaced."""
        purpose = payload.get("purpose")
        out = payload
        for segments, rule in self._rules:
            if purpose in rule.unless_purpose or segments[0] not in out:
                continue
            out = _replace(out, segments, functools.partial(self._leaf, rule.kind))
        return out

    def _leaf(self, kind: str, leaf: Any) -> Any:
        if isinstance(leaf, str):
            return self.value(kind, leaf)
        if isinstance(leaf, int) and not isinstance(leaf, bool):
            digits = self._shape("number", str(abs(leaf)))
            return int(digits) * (-1 if leaf < 0 else 1)
        if isinstance(leaf, list):
            return [self._leaf(kind, item) for item in leaf]
        if isinstance(leaf, dict):
            return {k: self._leaf(kind, v) for k, v in leaf.items()}
        return leaf

    # -- one value --

    def _seed(self, domain: str, text: str) -> int:
        digest = hmac.digest(self._key, f"{domain}\0{text}".encode(), "sha256")
        return int.from_bytes(digest, "big")

    def _faker(self, domain: str, text: str) -> Any:
        self._fake.seed_instance(self._seed(domain, text))
        return self._fake

    def _value(self, kind: str, text: str) -> str:
        """The fake for ``text`` of ``kind`` (`KINDS`); cached, as it is a function of both."""
        if not text:
            return text
        if kind == "name":
            return self._name(text)
        if kind == "phone":
            return self._phone(text)
        if kind == "address":
            return self._address(text)
        if kind == "id":
            return self._id(text)
        if kind == "uri":
            return _UUID.sub(lambda m: self._id(m.group(0)), text)
        if kind == "company":
            return str(self._faker("company", text).company())
        if kind == "text":
            words = max(1, len(text.split()))
            fake = self._faker("text", text)
            return str(fake.sentence(nb_words=words, variable_nb_words=False))
        return self._any(text)

    def _name(self, text: str) -> str:
        if any("\u3040" <= c <= "\u9fff" for c in text):
            locale = "ja_JP"
        elif any("\u0600" <= c <= "\u06ff" for c in text):
            locale = "ar_SA"
        else:
            locale = _LATIN_LOCALES[self._seed("locale", text) % len(_LATIN_LOCALES)]
        return str(self._faker("name", text).callback_display_name(locale))

    def _phone(self, text: str) -> str:
        prefix, _, number = text.rpartition(":") if text.startswith("tel:") else ("", "", text)
        compact = re.sub(r"[ ()./-]", "", number)
        if not _E164.fullmatch(compact):
            return text[: len(text) - len(number)] + self._shape("phone", number)
        digits = compact[1:]
        country = next((c for calling, c in _CALLING if digits.startswith(calling)), None)
        fake = str(self._faker("phone", compact).callback_number(country))
        if number != compact and len(fake) == len(compact):
            # Written with spaces or dashes: the fake is written the same way.
            digits_left = iter(fake)
            fake = "".join(next(digits_left) if c.isdigit() or c == "+" else c for c in number)
        return f"{prefix}:{fake}" if prefix else fake

    def _address(self, text: str) -> str:
        lower = text.lower()
        if lower.startswith("tel:") or _E164.fullmatch(re.sub(r"[ ()./-]", "", text)):
            return self._phone(text)
        if lower.startswith(("sip:", "sips:")):
            scheme, _, rest = text.partition(":")
            user, at, host = rest.partition("@")
            if at:
                return f"{scheme}:{self._replace_user(user)}@{host}"
            return f"{scheme}:{self._shape('address', rest)}"
        return self._any(text)

    def _replace_user(self, user: str) -> str:
        if _E164.fullmatch(user) or user.isdigit():
            return self._phone(user) if user.startswith("+") else self._shape("phone", user)
        return self._shape("address", user)

    def _id(self, text: str) -> str:
        if _UUID.fullmatch(text):
            fake = vocab.uuid_text(self._seed("id", text.lower()) >> 128)
            return fake.upper() if text.isupper() else fake
        return self._shape("id", text)

    def _any(self, text: str) -> str:
        if _UUID.fullmatch(text):
            return self._id(text)
        if _EMAIL.fullmatch(text):
            return str(self._faker("email", text.lower()).safe_email())
        if _PHONE.fullmatch(text) and sum(c.isdigit() for c in text) >= 7:
            return self._phone(text)
        if _WORDS.fullmatch(text):
            words = text.split(" ")
            fakes = self._faker("words", text).words(len(words))
            return " ".join(
                f.capitalize() if w[:1].isupper() else f for w, f in zip(words, fakes, strict=True)
            )
        return self._shape("value", text)

    def _shape(self, domain: str, text: str) -> str:
        """``text`` with every ASCII digit and letter replaced (keyed), case and the rest kept."""
        rng = random.Random(self._seed(domain, text))
        out: list[str] = []
        for c in text:
            if "0" <= c <= "9":
                # A leading zero stays (0151... keeps its trunk prefix); another stays non-zero.
                lead = not out and len(text) > 1
                out.append("0" if lead and c == "0" else str(rng.randrange(1 if lead else 0, 10)))
            elif c.isalpha():
                letter = chr(ord("a") + rng.randrange(26))
                out.append(letter.upper() if c.isupper() else letter)
            else:
                out.append(c)
        return "".join(out)


def _segments(path: str) -> tuple[str, ...]:
    out: list[str] = []
    for part in path.split("."):
        if part.endswith("[]"):
            out += [part[:-2], "[]"]
        else:
            out.append(part)
    return tuple(out)


def _replace(node: Any, segments: Sequence[str], leaf: Callable[[Any], Any]) -> Any:
    """A copy of ``node`` with ``leaf`` applied at the path ``segments``; ``node`` itself when
    the path is not there."""
    if not segments:
        return leaf(node) if node is not None else None
    head, rest = segments[0], segments[1:]
    if head == "[]":
        return [_replace(item, rest, leaf) for item in node] if isinstance(node, list) else node
    if not isinstance(node, dict):
        return node
    if head == "*":
        return {k: _replace(v, rest, leaf) for k, v in node.items()}
    if head not in node:
        return node
    return node | {head: _replace(node[head], rest, leaf)}


# -- the job --------------------------------------------------------------------------------------


@attrs.frozen
class AnonymiseSummary:
    records: int
    not_json: tuple[str, ...]
    """Where a record that is not JSON was (left out: it cannot be anonymised)."""


def anonymised_records(
    files: Sequence[str], anonymiser: Anonymiser, fmt: InputFormat, not_json: list[str]
) -> Iterator[Any]:
    """Every record of ``files``, anonymised; where non-JSON records were goes to ``not_json``."""
    for source in files:
        name = "<stdin>" if source == "-" else source
        with open_source(source) as stream:
            try:
                for record in read_records(stream, fmt=fmt, name=name):
                    if record.error is not None:
                        line = record.line if record.line is not None else record.index
                        not_json.append(f"{name}:{line}")
                        continue
                    yield anonymiser.record(record.payload)
            except JsonError as exc:
                msg = f"{name}: {exc}"
                raise UsageError(msg) from None


def run_anonymise(
    files: Sequence[str],
    out: str,
    key: bytes,
    *,
    personal: Sequence[Personal] = PERSONAL,
    fmt: InputFormat = InputFormat.AUTO,
) -> AnonymiseSummary:
    """Anonymise every record of ``files`` into the JSON Lines file ``out`` (``-``: stdout)."""
    from callbacksim.jobs.output import OutputFormat, RecordSink

    anonymiser = Anonymiser(key, personal)
    not_json: list[str] = []
    sink = RecordSink(out, OutputFormat.JSONL, name_of=lambda i, _item: f"{i}.json")
    sink.write_all(anonymised_records(files, anonymiser, fmt, not_json))
    return AnonymiseSummary(sink.count, tuple(not_json))


def describe_personal(personal: Sequence[Personal] = PERSONAL) -> list[tuple[str, str, str]]:
    """(path, kind, note) of every entry, for listing."""
    rows = []
    for p in personal:
        note = f"not on {', '.join(p.unless_purpose)} legs" if p.unless_purpose else ""
        rows.append((p.path, p.kind, note))
    return rows
