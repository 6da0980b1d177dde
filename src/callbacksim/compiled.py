"""The rules compiled into one Python function per edition and rule set: the fast path of `check`.

The general check (`callbacksim.rules`) walks the schema and runs each rule in turn, collecting
every violation with its path and message. Most records are valid, and for them that work is
spent on nothing. The compiled check answers one question, much faster: is this raw payload
certainly valid? It is Python source generated from the same declarations the general check reads
(the schema's properties and kinds, the edition's rules), compiled once and cached:

- one straight pass over the properties the edition defines, each fetched once and type-checked
  inline, nested objects and arrays included;
- each timestamp parsed once: the usual form (``2026-11-24T03:38:49.123Z``) by a fixed-shape
  match and the C parser, any other form by `callbacksim.wiretime.parse_datetime`;
- then the semantic rules as plain comparisons over those locals (each rule writes its own
  condition, see `Source`).

It says True only when the general check would find nothing; False means "look closer", and the
caller then runs the general check, which reports every violation. So the answer for an invalid
payload (and for an unusual one the compiled check does not handle, a ``dict`` subclass, say) is
always the general check's. A test holds the two to the same verdicts on generated valid, unusual
and invalid payloads and on random damage.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable
from datetime import datetime
from typing import Any

from callbacksim.model import Edition
from callbacksim.schema import FieldSpec, Kind, fields_of, participant_fields
from callbacksim.wiretime import parse_datetime

__all__ = ["FastCheck", "Source"]

FastCheck = Callable[[object, "str | None"], bool]
"""``fast(payload, path_id)``: True when ``payload`` is certainly valid; False: ask the general
check."""

# The form every writer of the wire format uses: UTC, ``Z``, milliseconds. Its shape is fixed, so
# a string of that shape is an RFC 3339 date-time exactly when the C parser accepts it (which
# refuses impossible dates, hour 24, second 60 and year 0, as `parse_datetime` does).
_USUAL_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z"
).fullmatch


class Source:
    """The source of one compiled check, being written.

    Semantic rules describe themselves through it: `var` names the local that holds the value at
    a wire path (``endTime``, ``wrapup.endTime``; None when absent, a parsed ``datetime`` for a
    timestamp), `known` the local that says whether ``state`` holds a state the edition knows, and
    `const` binds any other value the condition needs. A condition is a Python expression that is
    true when the rule is broken; `build` compiles the structural pass followed by them.
    """

    def __init__(self, edition: Edition, known_states: Collection[str]) -> None:
        self.edition = edition
        self._known_states = frozenset(known_states)
        self._names: dict[str, Any] = {
            "_usual": _USUAL_DATETIME,
            "_iso": datetime.fromisoformat,
            "_parse": parse_datetime,
        }
        self._vars: dict[str, str] = {}
        self._known = False
        self._lines: list[str] = []

    # -- what the rules use ------------------------------------------------------------------

    def var(self, key: str) -> str:
        """The local holding the (well-typed) value at wire path ``key``, None when absent."""
        name = self._vars.get(key)
        if name is None:
            head, _, tail = key.partition(".")
            spec = participant_fields(self.edition).get(head)
            if spec is None or (
                tail and (spec.nested is None or tail not in {f.wire for f in _fields(spec)})
            ):
                msg = f"{key!r} is not a property of the {self.edition.value} edition"
                raise ValueError(msg)
            name = self._vars[key] = f"f{len(self._vars)}"
        return name

    def known(self) -> str:
        """The local that is True when ``state`` is a state the edition knows."""
        self.var("state")
        self._known = True
        return "known"

    def const(self, value: object) -> str:
        """A global name bound to ``value`` in the compiled function."""
        name = f"_c{len(self._names)}"
        self._names[name] = value
        return name

    # -- writing ------------------------------------------------------------------------------

    def _line(self, depth: int, text: str) -> None:
        self._lines.append("    " * depth + text)

    def build(self, conditions: Iterable[str]) -> FastCheck:
        """The compiled check: the edition's structural rules, then each condition."""
        conditions = list(conditions)  # written first: they decide which values are kept
        self._lines = [
            "def fast(p, path_id):",
            "    if type(p) is not dict:",
            "        return False",
        ]
        nested = sorted({k for k in self._vars if "." in k})
        for key in nested:
            self._line(1, f"{self._vars[key]} = None")
        self._line(1, "try:")
        self._line(2, "g = p.get")
        for spec in participant_fields(self.edition).values():
            name = self._vars.get(spec.wire, "v")
            self._line(2, f"{name} = g({spec.wire!r})")
            self._line(2, f"if {name} is not None:")
            self._value(spec, name, 3, spec.wire)
            if spec.wire == "id":
                self._line(3, f"if path_id is not None and {name} != path_id:")
                self._line(4, "return False")
        self._line(1, "except ValueError:")
        self._line(2, "return False")
        if self._known:
            states = self.const(self._known_states)
            self._line(1, f"known = {self._vars['state']} in {states}")
        for condition in conditions:
            self._line(1, f"if {condition}:")
            self._line(2, "return False")
        self._line(1, "return True")
        source = "\n".join(self._lines) + "\n"
        namespace = dict(self._names)
        exec(compile(source, f"<callbacksim check {self.edition.value}>", "exec"), namespace)
        fast: FastCheck = namespace["fast"]
        fast.__doc__ = source
        return fast

    def _value(self, spec: FieldSpec, name: str, depth: int, key: str | None) -> None:
        """Lines that return False unless the value in local ``name`` (not None) is well-typed;
        a timestamp is left parsed in ``name``."""
        line, kind = self._line, spec.kind
        if kind is Kind.STRING or kind is Kind.ENUM:
            line(depth, f"if {_not_str(name)}:")
        elif kind is Kind.BOOLEAN:
            line(depth, f"if {name} is not True and {name} is not False:")
        elif kind is Kind.INTEGER:
            line(depth, f"if type({name}) is not int:")
        elif kind is Kind.DATETIME:
            line(depth, f"if {_not_str(name)}:")
            line(depth + 1, "return False")
            # A ValueError from either parser ends the pass (the caller falls back).
            line(depth, f"{name} = _iso({name}) if _usual({name}) else _parse({name})")
            return
        elif kind is Kind.STRING_LIST or kind is Kind.STRING_MAP:
            container, items = ("list", name) if kind is Kind.STRING_LIST else ("dict", "")
            line(depth, f"if type({name}) is not {container}:")
            line(depth + 1, "return False")
            each = items or f"{name}.values()"
            line(depth, f"for x in {each}:")
            line(depth + 1, f"if {_not_str('x')}:")
            line(depth + 2, "return False")
            return
        elif kind is Kind.OBJECT:
            line(depth, f"if type({name}) is not dict:")
            line(depth + 1, "return False")
            self._object(spec, name, depth, key)
            return
        else:
            item = f"i{depth}"
            line(depth, f"if type({name}) is not list:")
            line(depth + 1, "return False")
            line(depth, f"for {item} in {name}:")
            line(depth + 1, f"if type({item}) is not dict:")
            line(depth + 2, "return False")
            self._object(spec, item, depth + 1, None)
            return
        line(depth + 1, "return False")

    def _object(self, spec: FieldSpec, obj: str, depth: int, key: str | None) -> None:
        for inner in _fields(spec):
            path = f"{key}.{inner.wire}" if key is not None and "." not in key else None
            name = self._vars.get(path, f"v{depth}") if path is not None else f"v{depth}"
            self._line(depth, f"{name} = {obj}.get({inner.wire!r})")
            self._line(depth, f"if {name} is not None:")
            self._value(inner, name, depth + 1, path)


def _not_str(name: str) -> str:
    # Enum members (StrEnum) are strings too; the first test decides for plain ones, cheaply.
    return f"type({name}) is not str and not isinstance({name}, str)"


def _fields(spec: FieldSpec) -> tuple[FieldSpec, ...]:
    assert spec.nested is not None
    return fields_of(spec.nested)
