"""``callbacksim demo``: a short tour of the main job and the four things a user does first.

It runs a small main job (the reference target checked and replayed, as ``callbacksim run``
does), then shows, on built-in examples, what a user does next: judge payloads with the rules,
write a fixture file with its labels and manifest, draw a simulated callback, and point the
harness at their own service. It ends with the commands to run next. Everything but the main job's
timings is the same on every run.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import TextIO

import orjson
from rich.console import Console

from callbacksim.generation.chooser import RandomChooser
from callbacksim.generation.invalid import build_invalid
from callbacksim.generation.lifecycle import simulate
from callbacksim.generation.participants import ANCHOR_MS, Shape, build_participant
from callbacksim.generation.unusual import build_unusual
from callbacksim.jobs.fixtures import Mode
from callbacksim.jobs.generate import ParticipantJob, run_participants
from callbacksim.jobs.output import OutputFormat
from callbacksim.jobs.run import RunJob, run_main_job
from callbacksim.model import Edition
from callbacksim.rules import RuleSet, check, rule_ids
from callbacksim.views.picture import draw_terminal

__all__ = ["run_demo"]

_SEED = 2026
_SHOWCASE_RULES = ("type.held", "order.connected<=end", "state.end-means-ended")


def run_demo(out: TextIO, *, lifecycles: int = 40, budget: float = 8.0) -> int:
    """The tour; 0 when the main job passed (it runs against the built-in target)."""
    w = out.write
    edition = Edition.SEED
    w("callbacksim demo: the main job, then the four things you will do first\n\n")

    w("== 1. The main job: `callbacksim run` (here a short one)\n")
    w("It starts the reference participant store, checks every property of the store contract,\n")
    w("replays simulated callback conversations with duplicated, reordered and delayed\n")
    w("deliveries, and says whether everything held and converged.\n\n")
    code = run_main_job(RunJob(lifecycles=lifecycles, budget=budget, seed=_SEED, html=None), out)

    ch = RandomChooser(_SEED)
    w("\n== 2. Judge payloads: `callbacksim validate FILE`\n")
    w(f"Every rule has an id ({len(rule_ids(edition))} in the {edition.value} edition; ")
    w("`callbacksim rules` lists them).\nA valid participant, built constructively:\n")
    payload = build_participant(ch, Shape(edition=edition, purpose="agent", state="disconnected"))
    short = {k: payload[k] for k in list(payload)[:6]}
    w(_indent(orjson.dumps(short, option=orjson.OPT_INDENT_2).decode()) + "\n")
    violations = check(payload, edition=edition)
    w(f"   ... {len(payload)} properties; violations: {violations or 'none'}\n")
    unusual, features = build_unusual(ch, edition=edition)
    verdict = "valid" if not check(unusual, edition=edition) else "INVALID"
    w(f"Valid but unusual ({', '.join(features)}): {verdict}; a correct service accepts it.\n")
    w("Invalid ones, each breaking exactly one named rule:\n")
    for rule in _SHOWCASE_RULES:
        bad = build_invalid(ch, rule, edition=edition)
        for v in check(bad.payload, edition=edition, path_id=bad.path_id):
            w(f"   {v.rule:<26} {v.path:<18} {v.message}\n")

    w("\n== 3. Write fixtures for your tests: `callbacksim generate participants`\n")
    with tempfile.TemporaryDirectory(prefix="callbacksim-demo-") as folder:
        path = Path(folder) / "mixed.jsonl"
        job = ParticipantJob(
            count=200,
            seed=_SEED,
            mode=Mode.MIXED,
            edition=edition,
            rules=RuleSet.STRICT,
            exhaustive=False,
            fmt=OutputFormat.JSONL,
            out=str(path),
            labels=None,
            manifest=None,
            epoch_ms=None,
        )
        manifest = run_participants(job)
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(manifest["counts"]["byKind"].items()))
        w(f"200 records ({kinds}), each labelled beside the file\n")
        w("(mixed.labels.jsonl), and a manifest (mixed.manifest.json) with the seed, versions,\n")
        w("counts, coverage and a SHA-256; the same seed gives the same bytes:\n")
        w(f"   sha256 {manifest['sha256']}\n")

    w("\n== 4. Look at a simulated callback: `callbacksim show SEED`\n")
    lifecycle = simulate(RandomChooser(42), edition=edition, start_ms=ANCHOR_MS)
    picture = io.StringIO()
    draw_terminal(lifecycle, Console(file=picture, width=100, color_system=None))
    w(picture.getvalue())

    w("\n== Next: point it at your own service\n")
    w("   callbacksim check http://127.0.0.1:8080           which contract properties it breaks\n")
    w("   callbacksim replay http://127.0.0.1:8080 --lifecycles 1000 --duplicates 0.05\n")
    w("   callbacksim run --target http://127.0.0.1:8080    the main job against it\n")
    w("   callbacksim generate participants --mode mixed --count 5000 --out fixtures.jsonl\n")
    w("   callbacksim COMMAND --help                        options and examples of each command\n")
    return code


def _indent(text: str) -> str:
    return "\n".join("   " + line for line in text.splitlines())
