"""``callbacksim demo``: a short, deterministic tour of what exists, on built-in examples.

It generates a handful of valid, unusual and invalid participants from a fixed seed, judges each
one with the rules (the same code path as ``callbacksim validate``), and shows the verdicts, so a
newcomer sees the model, the generators and the rules working together in a few seconds.
"""

from __future__ import annotations

from typing import TextIO

import orjson

from callbacksim.generation.chooser import RandomChooser
from callbacksim.generation.invalid import build_invalid
from callbacksim.generation.participants import Shape, build_participant
from callbacksim.generation.unusual import build_unusual
from callbacksim.model import Edition
from callbacksim.orderings import count_classes
from callbacksim.rules import RULES, check, rule_ids

__all__ = ["run_demo"]

_SEED = 2026
_SHOWCASE_RULES = (
    "type.held",
    "datetime.format",
    "order.connected<=end",
    "state.end-means-ended",
    "wrapup.skipped-has-none",
    "value.non-negative",
)


def run_demo(out: TextIO) -> int:
    ch = RandomChooser(_SEED)
    edition = Edition.SEED
    w = out.write
    w("callbacksim demo: generated participants judged by the validity rules\n")
    w(f"(seed {_SEED}, {edition.value} edition, strict rules; same output on every run)\n\n")

    w(f"The rules: {len(rule_ids(edition))} ids in the {edition.value} edition, ")
    w(f"{len(rule_ids(Edition.SDK_269))} in sdk-269, ")
    w(f"{len({r.group for r in RULES})} groups. Ordering classes (which timestamps, in which weak ")
    w(f"order): {count_classes(edition):,} valid in the {edition.value} edition.\n\n")

    w("1. A valid participant, built constructively:\n")
    payload = build_participant(ch, Shape(edition=edition, purpose="agent", state="disconnected"))
    w(_indent(orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode()) + "\n")
    w(f"   violations: {check(payload, edition=edition) or 'none'}\n\n")

    w("2. Valid but unusual payloads (a correct service must accept them):\n")
    for _ in range(4):
        unusual, features = build_unusual(ch, edition=edition)
        verdict = "valid" if not check(unusual, edition=edition) else "INVALID"
        w(f"   {', '.join(features):<55} -> {verdict}\n")
    w("\n3. Invalid payloads, each breaking exactly one named rule:\n")
    for rule in _SHOWCASE_RULES:
        bad = build_invalid(ch, rule, edition=edition)
        for v in check(bad.payload, edition=edition, path_id=bad.path_id):
            w(f"   {v.rule:<28} {v.path:<22} {v.message}\n")
    w("\nNext: `callbacksim validate FILE` judges your own payloads; `callbacksim rules` lists\n")
    w("every rule; `make test` runs the whole suite.\n")
    return 0


def _indent(text: str) -> str:
    return "\n".join("   " + line for line in text.splitlines())
