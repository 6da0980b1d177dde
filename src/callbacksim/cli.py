"""The ``callbacksim`` command: parses arguments, delegates, renders. No logic of its own.

Exit status: 0 when everything checked holds, 1 when something was found (an invalid record, a
failed property), 2 for a usage error or unreadable input, with one clear line and no traceback.

Options that several commands share are defined once, as parent parsers (`_Options`); what their
values may be is checked where they are used (the profile, the faults, the target's settings), not
here.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from enum import StrEnum
from pathlib import Path
from typing import IO, TextIO
from urllib.parse import urlsplit

import orjson

from callbacksim import __version__
from callbacksim.errors import CallbacksimError, JsonError, UsageError
from callbacksim.generation.participants import ANCHOR, ANCHOR_MS
from callbacksim.jobs.fixtures import Mode
from callbacksim.jobs.output import OutputFormat
from callbacksim.model import Edition
from callbacksim.records import (
    InputFormat,
    ParticipantRecords,
    lifecycle_events,
    open_source,
    read_records,
)
from callbacksim.rules import RULES, RuleSet, rule_ids
from callbacksim.schema import participant_fields
from callbacksim.validate import Result, judge
from callbacksim.wiretime import DatetimeFormatError, epoch_ms, format_datetime, parse_datetime

__all__ = ["build_parser", "main"]

Handler = Callable[[argparse.Namespace], int]

_ANCHOR_TEXT = format_datetime(ANCHOR)

WAIT_FOR_TARGET = 10.0
"""The default of ``--wait-for-target`` (the harness's own default is the same, `DEFAULT_WAIT_FOR`
in `callbacksim.simulator.client`; the CLI does not import the HTTP client just to read it)."""


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors name the fix the same way every other error does."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n(run '{self.prog} --help' for usage)\n")


def _command_parser(parser: argparse.ArgumentParser, command: str) -> argparse.ArgumentParser:
    """The parser of one command."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found: argparse.ArgumentParser = action.choices[command]
            return found
    return parser


# -- argument types -------------------------------------------------------------------------------


def _at_least(low: int) -> Callable[[str], int]:
    """An argparse type for a whole number of at least ``low``."""

    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if value < low:
            msg = f"{text!r} is not a whole number of {low} or more"
            raise argparse.ArgumentTypeError(msg)
        return value

    return convert


def _choice(enum: type[StrEnum]) -> Callable[[str], StrEnum]:
    """An argparse type for a StrEnum whose error lists the accepted values."""

    def convert(text: str) -> StrEnum:
        try:
            return enum(text)
        except ValueError:
            allowed = ", ".join(m.value for m in enum)
            msg = f"{text!r} is not one of: {allowed}"
            raise argparse.ArgumentTypeError(msg) from None

    return convert


def _epoch(text: str) -> int:
    try:
        return epoch_ms(parse_datetime(text))
    except DatetimeFormatError as exc:
        msg = f"{exc}; for example --epoch {_ANCHOR_TEXT}"
        raise argparse.ArgumentTypeError(msg) from None


def _url(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        msg = f"{text!r} is not an http(s) URL; for example http://127.0.0.1:8080"
        raise argparse.ArgumentTypeError(msg)
    return text


def _header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        msg = (
            f"expected 'Name: value', got {text!r}; for example --header 'Authorization: Bearer T'"
        )
        raise argparse.ArgumentTypeError(msg)
    return name.strip(), value.strip()


def _seconds(low: float, *, inclusive: bool) -> Callable[[str], float]:
    """An argparse type for a number of seconds above ``low`` (or equal, if ``inclusive``)."""

    def convert(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not (value >= low if inclusive else value > low) or value == float("inf"):
            bound = f"{low:g} or more" if inclusive else f"more than {low:g}"
            msg = f"{text!r} is not a number of seconds {bound}"
            raise argparse.ArgumentTypeError(msg)
        return value

    return convert


def _property_ids(text: str) -> list[str]:
    from callbacksim.simulator.properties import PROPERTIES

    ids = [p.strip() for p in text.split(",") if p.strip()]
    unknown = [p for p in ids if p not in PROPERTIES]
    if unknown:
        msg = f"unknown property id(s) {unknown}; choose from {', '.join(PROPERTIES)}"
        raise argparse.ArgumentTypeError(msg)
    return ids


# -- options shared by several commands -----------------------------------------------------------


class _Options:
    """The shared options, each defined once as a parent parser; a command lists the ones it takes
    (``parents=[...]``)."""

    def __init__(self) -> None:
        self.files = self._parent()
        self.files.add_argument(
            "files", nargs="+", metavar="FILE", help="input file, or - for standard input"
        )
        self.input_format = self._parent()
        self.input_format.add_argument(
            "--input-format",
            type=_choice(InputFormat),
            default=InputFormat.AUTO,
            help="how to read the input (default: auto, by extension and first line)",
        )
        self.edition = self._parent()
        self.edition.add_argument(
            "--edition",
            type=_choice(Edition),
            default=Edition.SEED,
            help="model edition: seed (the documented model, default) or sdk-269",
        )
        self.rules = self._parent()
        self.rules.add_argument(
            "--rules",
            type=_choice(RuleSet),
            default=RuleSet.STRICT,
            help="rule set: strict (every rule, default) or structural (types and formats only)",
        )
        self.seed = self._parent()
        self.seed.add_argument(
            "--seed", type=int, default=0, help="the seed of everything drawn (default 0)"
        )
        self.epoch = self._parent()
        self.epoch.add_argument(
            "--epoch",
            type=_epoch,
            help=f"the instant generated times start from (RFC 3339; default {_ANCHOR_TEXT})",
        )
        self.profile = self._parent()
        self.profile.add_argument(
            "--profile", help="realism profile overrides, a JSON or TOML file"
        )
        self.profile.add_argument(
            "--set",
            action="append",
            metavar="NAME=VALUE",
            help="override one profile parameter (repeatable); `callbacksim profile` lists them",
        )
        self.profile.add_argument(
            "--path",
            action="append",
            metavar="PATH",
            help="a path every lifecycle must take (repeatable): scheduled, hold, timeout, ...",
        )
        self.header = self._parent()
        self.header.add_argument(
            "--header", type=_header, action="append", help="'Name: value' sent with every request"
        )
        self.timeout = self._parent()
        self.timeout.add_argument(
            "--timeout",
            type=_seconds(0, inclusive=False),
            default=10.0,
            help="per-request timeout (default 10 s)",
        )
        self.timeout.add_argument(
            "--wait-for-target",
            type=_seconds(0, inclusive=True),
            default=WAIT_FOR_TARGET,
            metavar="SECONDS",
            help="wait this long for a target that does not answer yet "
            f"(default {WAIT_FOR_TARGET:g} s)",
        )
        self.adapter = self._parent()
        self.adapter.add_argument(
            "--adapter",
            default="store",
            help="how events reach the target: store (default), notification, eventbridge or "
            "package.module:Class; what needs to read the target back is skipped when the "
            "adapter cannot",
        )
        self.concurrency = self._parent()
        self.concurrency.add_argument(
            "--concurrency", type=int, default=32, help="conversations at once (default 32)"
        )

    @staticmethod
    def _parent() -> _Parser:
        return _Parser(add_help=False)


# -- handlers -------------------------------------------------------------------------------------


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _participants(stream: IO[bytes], name: str, args: argparse.Namespace) -> ParticipantRecords:
    """The participant records of one input, whatever kind of callbacksim file it is."""
    records = read_records(stream, fmt=args.input_format, name=name)
    return ParticipantRecords(records, name, participant_fields(args.edition))


def _tell(reading: ParticipantRecords) -> None:
    """Say what was read when it was not plain participants, and warn when nothing looked like
    one (on standard error, so that JSON output stays clean)."""
    note, warning = reading.note(), reading.warning()
    if note:
        print(f"callbacksim: note: {note}", file=sys.stderr)
    if warning:
        print(f"callbacksim: warning: {warning}", file=sys.stderr)


def _validate(args: argparse.Namespace) -> int:
    out: TextIO = sys.stdout
    total = invalid = 0
    as_json = args.format == "json"
    for source in args.files:
        name = "<stdin>" if source == "-" else source
        with open_source(source) as stream:
            records = _participants(stream, name, args)
            try:
                for result in judge(name, records, edition=args.edition, rules=args.rules):
                    total += 1
                    invalid += not result.valid
                    if as_json:
                        out.write(orjson.dumps(result.to_json()).decode() + "\n")
                    elif not result.valid:
                        _print_result(result, out)
            except JsonError as exc:
                out.flush()
                msg = f"{name}: {exc}"
                raise UsageError(msg) from None
        _tell(records)
    if not as_json:
        verdict = "all valid" if not invalid else f"{invalid} invalid"
        print(f"{total} record(s) checked ({args.rules} rules, {args.edition} edition): {verdict}")
    if total == 0:
        print("callbacksim: warning: no records in the input", file=sys.stderr)
    return 1 if invalid else 0


def _print_result(result: Result, out: TextIO) -> None:
    n = len(result.violations)
    out.write(f"{result.where}: invalid, {n} violation{'s' if n != 1 else ''}\n")
    for v in result.violations:
        out.write(f"  {v.rule}  {v.path}  {v.message}\n")


def _coverage(args: argparse.Namespace) -> int:
    from callbacksim.coverage import Coverage
    from callbacksim.views.terminal import coverage_table

    cov = Coverage(args.edition)
    for source in args.files:
        name = "<stdin>" if source == "-" else source
        with open_source(source) as stream:
            records = _participants(stream, name, args)
            try:
                for record in records:
                    if record.error is not None or not isinstance(record.payload, dict):
                        where = (
                            f"{name}[{record.index}]"
                            if record.line is None
                            else f"{name}:{record.line}"
                        )
                        why = record.error or "not a JSON object"
                        msg = f"{where}: {why}; coverage counts participant objects only"
                        raise UsageError(msg)
                    cov.add(record.payload)
            except JsonError as exc:
                msg = f"{name}: {exc}"
                raise UsageError(msg) from None
        _tell(records)
    if args.format == "json":
        print(orjson.dumps(cov.to_json(), option=orjson.OPT_INDENT_2).decode())
    else:
        coverage_table(cov, sys.stdout, missing=args.show_missing)
    return 0


def _generate(args: argparse.Namespace) -> int:
    from callbacksim.generation.profile import build_profile
    from callbacksim.jobs.generate import (
        LifecycleJob,
        ParticipantJob,
        run_lifecycles,
        run_participants,
    )

    if args.what == "participants":
        if args.path or args.set or args.profile:
            msg = "--path, --set and --profile shape lifecycles; drop them for participants"
            raise UsageError(msg)
        manifest = run_participants(
            ParticipantJob(
                count=args.count,
                seed=args.seed,
                mode=args.mode,
                edition=args.edition,
                rules=args.rules,
                exhaustive=args.exhaustive,
                fmt=args.format,
                out=args.out,
                labels=args.labels,
                manifest=args.manifest,
                epoch_ms=args.epoch,
            )
        )
        summary = f"{manifest['records']:,} participant(s)"
    else:
        if args.exhaustive or args.mode is not Mode.VALID or args.labels:
            msg = "--exhaustive, --mode and --labels apply to participants, not lifecycles"
            raise UsageError(msg)
        if args.rules is not RuleSet.STRICT:
            msg = "lifecycle snapshots always satisfy the strict rules; --rules is for participants"
            raise UsageError(msg)
        manifest = run_lifecycles(
            LifecycleJob(
                count=args.count,
                seed=args.seed,
                edition=args.edition,
                profile=build_profile(args.profile, args.set or ()),
                paths=tuple(args.path or ()),
                fmt=args.format,
                out=args.out,
                manifest=args.manifest,
                epoch_ms=args.epoch,
            )
        )
        summary = f"{manifest['lifecycles']:,} lifecycle(s), {manifest['events']:,} event(s)"
    if args.out != "-":
        print(
            f"wrote {summary} to {args.out} (sha256 {manifest['sha256'][:16]}...)", file=sys.stderr
        )
    return 0


def _show(args: argparse.Namespace) -> int:
    from rich.console import Console

    from callbacksim.generation.chooser import RandomChooser
    from callbacksim.generation.lifecycle import lifecycles_from_events, simulate
    from callbacksim.generation.profile import build_profile
    from callbacksim.views.picture import draw_terminal, to_html, to_svg

    if args.file:
        with open_source(args.file) as stream:
            records = read_records(stream, fmt=args.input_format, name=args.file)
            found = lifecycles_from_events(lifecycle_events(records, args.file))
        wanted = [lc for lc in found if args.conversation in (None, lc.conversation_id)]
        if not wanted:
            msg = (
                f"no lifecycle{' ' + args.conversation if args.conversation else ''} in {args.file}"
            )
            raise UsageError(msg)
        lifecycle = wanted[0]
    else:
        if args.seed is None:
            msg = "give a SEED, or --file FILE with lifecycle events"
            raise UsageError(msg)
        lifecycle = simulate(
            RandomChooser(args.seed),
            profile=build_profile(args.profile, args.set or ()),
            edition=args.edition,
            start_ms=ANCHOR_MS if args.epoch is None else args.epoch,
            require=tuple(args.path or ()),
        )
    plan = not args.file  # a file of events carries no plan
    if args.svg:
        Path(args.svg).write_text(to_svg(lifecycle, show_plan=plan), encoding="utf-8")
    if args.html:
        Path(args.html).write_text(to_html(lifecycle, show_plan=plan), encoding="utf-8")
    if not (args.svg or args.html) or args.terminal:
        draw_terminal(lifecycle, Console(), show_plan=plan)
    return 0


def _profile_list(args: argparse.Namespace) -> int:
    from callbacksim.generation.profile import Profile

    for name, default, basis in Profile.describe():
        print(f"{name:<30} {default:>12g}  {basis}")
    return 0


def _check(args: argparse.Namespace) -> int:
    from callbacksim.simulator.checks import CheckConfig, run_checks
    from callbacksim.simulator.client import require_reachable
    from callbacksim.simulator.properties import PROPERTIES, Outcome
    from callbacksim.views.terminal import CheckReporter, junit_xml

    headers = dict(args.header or [])
    chosen = [p for p in PROPERTIES if p in (args.properties or PROPERTIES)]
    chosen = [p for p in chosen if p not in (args.skip or [])]
    cfg = CheckConfig(
        url=args.url,
        budget=args.budget,
        seed=args.seed,
        rules=args.rules,
        edition=args.edition,
        properties=tuple(chosen),
        headers=headers,
        timeout=args.timeout,
        adapter=args.adapter,
    )
    require_reachable(args.url, headers, args.timeout, wait_for=args.wait_for_target, say=_say)
    reporter = CheckReporter(sys.stdout, args.url)
    print(
        f"checking {args.url}: {len(chosen)} propert{'y' if len(chosen) == 1 else 'ies'}, "
        f"budget {args.budget:g} s, seed {args.seed}"
    )
    outcomes = run_checks(cfg, on_start=reporter.start, on_done=reporter.done)
    done = {o.id for o in outcomes}
    unselected = [p for p in PROPERTIES if p not in done]
    everything = outcomes + [Outcome(p, "skipped", 0, 0.0, note="not selected") for p in unselected]
    reporter.summary(outcomes)
    if args.report:
        report = {
            "target": args.url,
            "seed": args.seed,
            "properties": [o.to_json(args.url) for o in everything],
        }
        Path(args.report).write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n")
    if args.junit:
        Path(args.junit).write_bytes(junit_xml(everything, args.url))
    return 1 if any(o.status == "failed" for o in outcomes) else 0


def _serve(args: argparse.Namespace) -> int:
    from callbacksim.target import ServerConfig, serve_forever

    config = ServerConfig(
        host=args.host,
        port=args.port,
        db=args.db,
        rules=args.rules,
        edition=args.edition,
        token=args.token,
        max_body=args.max_body,
        read_timeout=args.read_timeout,
    )
    serve_forever(
        config, ready=lambda url: print(f"callbacksim reference target at {url}", flush=True)
    )
    return 0


def _replay(args: argparse.Namespace) -> int:
    from rich.console import Console

    from callbacksim.generation.profile import build_profile
    from callbacksim.jobs.run import LifecycleSource, exit_status, run_replay
    from callbacksim.simulator.faults import Faults
    from callbacksim.simulator.replay import ReplayConfig
    from callbacksim.views.terminal import replay_summary

    if args.file and args.lifecycles is not None:
        msg = "give a FILE of lifecycle events or --lifecycles N, not both"
        raise UsageError(msg)
    source = LifecycleSource(
        file=args.file,
        count=args.lifecycles if args.lifecycles is not None else 100,
        seed=args.seed,
        edition=args.edition,
        profile=build_profile(args.profile, args.set or ()),
        paths=tuple(args.path or ()),
        epoch_ms=args.epoch,
    )
    if args.resume and args.ledger:
        msg = "give --ledger FILE for a new run or --resume FILE to continue one, not both"
        raise UsageError(msg)
    ledger = args.resume or args.ledger
    cfg = ReplayConfig(
        concurrency=args.concurrency,
        time_factor=args.time_factor,
        faults=Faults(args.duplicates, args.reorder, args.jitter),
        retries=args.retries,
        retry_for=args.retry_for,
        seed=args.seed,
        ledger=Path(ledger) if ledger else None,
        resume=args.resume is not None,
        verify=not args.no_verify,
        edition=args.edition,
    )
    result = run_replay(
        args.url,
        source,
        cfg,
        adapter_name=args.adapter,
        headers=dict(args.header or []),
        timeout=args.timeout,
        wait_for=args.wait_for_target,
        out=sys.stdout,
    )
    replay_summary(result, Console(highlight=False))
    if args.report:
        Path(args.report).write_bytes(orjson.dumps(result.to_json(), option=orjson.OPT_INDENT_2))
    stopped = exit_status(result.stopped)
    if stopped is not None:
        print(
            f"callbacksim: stopped by {result.stopped}; the ledger records what was done: "
            "continue with --resume LEDGER",
            file=sys.stderr,
        )
        return stopped
    return 0 if result.converged else 1


def _run(args: argparse.Namespace) -> int:
    from callbacksim.jobs.run import RunJob, run_main_job

    job = RunJob(
        target=args.target,
        budget=args.budget,
        lifecycles=args.lifecycles,
        seed=args.seed,
        edition=args.edition,
        rules=args.rules,
        concurrency=args.concurrency,
        html=args.html or None,
        headers=dict(args.header or []),
        timeout=args.timeout,
        wait_for=args.wait_for_target,
    )
    return run_main_job(job, sys.stdout)


def _rules(args: argparse.Namespace) -> int:
    wanted = set(rule_ids(args.edition, args.rules))
    for rule in RULES:
        if rule.id in wanted:
            print(f"{rule.id:<40} {rule.group:<11} {rule.summary}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from callbacksim.jobs.demo import run_demo

    return run_demo(sys.stdout)


# -- the parser -----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The whole command line: every command and its options."""
    parser = _Parser(
        prog="callbacksim",
        description="Generate, simulate and replay Genesys Cloud callback participants.",
    )
    parser.add_argument("--version", action="version", version=f"callbacksim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    o = _Options()

    p = sub.add_parser(
        "validate",
        parents=[o.files, o.input_format, o.edition, o.rules],
        help="check participant payloads against the validity rules",
        description=(
            "Check participant payloads (a JSON participant, a JSON array, or JSON Lines) against "
            "the validity rules and print every violation of every invalid record. Exit 0 if all "
            "are valid, 1 if any is invalid, 2 if an input cannot be read."
        ),
    )
    p.add_argument(
        "--format",
        choices=["text", "json"],
        default="text",
        help="text (invalid records and a summary, default) or json (JSON Lines, one per record)",
    )
    p.set_defaults(handler=_validate)

    p = sub.add_parser(
        "coverage",
        parents=[o.files, o.input_format, o.edition],
        help="how much of the participant space a file covers",
        description=(
            "Report enum-value, state x disconnectType, pairwise-ordering and ordering-class "
            "coverage of the participants in the given files."
        ),
    )
    p.add_argument("--format", choices=["text", "json"], default="text", help="text or json")
    p.add_argument(
        "--show-missing",
        type=_at_least(0),
        default=8,
        metavar="N",
        help="list up to N missing items per view (default 8)",
    )
    p.set_defaults(handler=_coverage)

    p = sub.add_parser(
        "generate",
        parents=[o.seed, o.edition, o.rules, o.epoch, o.profile],
        help="write fixture files of participants or lifecycles",
        description=(
            "Write deterministic fixture files: participants (valid, unusual, invalid, mixed or "
            "the compact edge set, labelled) or simulated lifecycles (snapshot events), with a "
            "manifest. The same arguments give the same bytes on any day."
        ),
    )
    p.add_argument("what", choices=["participants", "lifecycles"])
    p.add_argument("--count", type=int, default=100, help="records or lifecycles (default 100)")
    p.add_argument(
        "--mode",
        type=_choice(Mode),
        default=Mode.VALID,
        help="participants: valid, unusual, invalid, mixed (70/15/15) or edge (covering set)",
    )
    p.add_argument(
        "--exhaustive",
        action="store_true",
        help="one valid participant per ordering class (seed edition: 21,092); ignores --count",
    )
    p.add_argument(
        "--format",
        type=_choice(OutputFormat),
        default=OutputFormat.JSONL,
        help="jsonl (default), json (one array) or dir (a JSON file per record/conversation)",
    )
    p.add_argument("--out", default="-", help="output file or directory; - for stdout (default)")
    p.add_argument("--labels", help="labels file (default: OUT.labels.jsonl next to a file)")
    p.add_argument("--manifest", help="manifest file (default: OUT.manifest.json next to a file)")
    p.set_defaults(handler=_generate)

    p = sub.add_parser(
        "show",
        parents=[o.input_format, o.edition, o.epoch, o.profile],
        help="draw a lifecycle as a timeline (terminal, SVG or HTML)",
        description="Simulate the lifecycle of SEED (or read one from --file) and draw it.",
    )
    p.add_argument("seed", nargs="?", type=int, help="seed of the lifecycle to simulate")
    p.add_argument("--file", help="a file of lifecycle events (as `generate lifecycles` writes)")
    p.add_argument("--conversation", help="with --file: which conversation (default: the first)")
    p.add_argument("--svg", help="write an SVG picture to this file")
    p.add_argument("--html", help="write an HTML page to this file")
    p.add_argument(
        "--terminal", action="store_true", help="draw in the terminal too when writing files"
    )
    p.set_defaults(handler=_show)

    p = sub.add_parser(
        "check",
        parents=[o.seed, o.edition, o.rules, o.header, o.timeout, o.adapter],
        help="check a participant store's properties",
        description=(
            "Check the properties of the participant-store contract against the service at URL, "
            "with minimal failing examples and curl reproducers. Exit 0 when every checked "
            "property holds, 1 when any fails, 2 for a usage error or an unreachable target."
        ),
    )
    p.add_argument("url", type=_url, help="the service's base URL, e.g. http://127.0.0.1:8080")
    p.add_argument("--budget", type=float, default=60.0, help="seconds in all (default 60)")
    p.add_argument("--properties", type=_property_ids, help="comma-separated ids to check")
    p.add_argument("--skip", type=_property_ids, help="comma-separated ids to leave out")
    p.add_argument("--report", help="write a JSON report to this file")
    p.add_argument("--junit", help="write a JUnit XML report to this file")
    p.set_defaults(handler=_check)

    p = sub.add_parser(
        "serve",
        parents=[o.edition, o.rules],
        help="run the reference participant store",
        description="Run the reference implementation of the participant-store contract.",
    )
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1: this machine only; 0.0.0.0 for every interface)",
    )
    p.add_argument("--port", type=int, default=8080, help="port (default 8080; 0 picks one)")
    p.add_argument("--db", help="SQLite file (default: a temporary one, deleted on exit)")
    p.add_argument("--token", help="require 'Authorization: Bearer TOKEN'")
    p.add_argument("--max-body", type=int, default=1 << 20, help="body limit in bytes (1 MiB)")
    p.add_argument(
        "--read-timeout",
        type=_seconds(0, inclusive=False),
        default=30.0,
        metavar="SECONDS",
        help="a body slower to arrive answers 408 (default 30 s)",
    )
    p.set_defaults(handler=_serve)

    p = sub.add_parser(
        "replay",
        parents=[
            o.seed,
            o.edition,
            o.epoch,
            o.profile,
            o.adapter,
            o.concurrency,
            o.header,
            o.timeout,
        ],
        help="replay lifecycles against a target, with faults, a ledger and resume",
        description=(
            "Replay lifecycles (a FILE of events, or --lifecycles N generated from --seed) against "
            "the target at URL: conversations concurrently, each participant's snapshots in order, "
            "with optional delivery faults; every event's outcome goes to the ledger. Exit 0 when "
            "nothing failed and everything read back converged."
        ),
    )
    p.add_argument(
        "url", type=_url, help="the target's base URL (for notification adapters: the webhook)"
    )
    p.add_argument("file", nargs="?", help="lifecycle events (as `generate lifecycles` writes)")
    p.add_argument("--lifecycles", type=int, help="generate N lifecycles instead of a file")
    p.add_argument(
        "--time-factor",
        type=float,
        help="play on the lifecycles' own timeline scaled by F (0.01: 100x faster)",
    )
    p.add_argument("--duplicates", type=float, default=0.0, help="chance an event is sent twice")
    p.add_argument("--reorder", type=float, default=0.0, help="chance of a swap in a stream")
    p.add_argument("--jitter", type=float, default=0.0, help="largest random pause (ms)")
    p.add_argument(
        "--retries",
        type=int,
        help="at most N retries per request (default: as many as --retry-for allows)",
    )
    p.add_argument(
        "--retry-for",
        type=_seconds(0, inclusive=True),
        default=60.0,
        metavar="SECONDS",
        help="retry a request without a usable answer (no answer, 429, 5xx) for this long, "
        "backing off, honouring Retry-After (default 60 s)",
    )
    p.add_argument("--ledger", help="write every event's outcome to this JSONL file")
    p.add_argument("--resume", metavar="LEDGER", help="continue the run this ledger records")
    p.add_argument("--no-verify", action="store_true", help="do not read the target back")
    p.add_argument("--report", help="write the summary as JSON to this file")
    p.set_defaults(handler=_replay)

    p = sub.add_parser(
        "run",
        parents=[o.seed, o.edition, o.rules, o.concurrency, o.header, o.timeout],
        help="the main job: checks and a replay against the reference target or yours",
        description=(
            "Start the reference target (or use --target), check every property, replay a few "
            "hundred lifecycles with delivery faults, print a report and write an HTML one."
        ),
    )
    p.add_argument(
        "--target", type=_url, help="a running service's URL instead of the reference target"
    )
    p.add_argument("--budget", type=float, default=20.0, help="seconds for the checks (20)")
    p.add_argument("--lifecycles", type=int, default=300, help="lifecycles to replay (300)")
    p.add_argument(
        "--html",
        default="callbacksim-report.html",
        help="HTML report path (default callbacksim-report.html; '' for none)",
    )
    p.set_defaults(handler=_run)

    p = sub.add_parser("profile", help="list the realism profile's parameters and their basis")
    p.set_defaults(handler=_profile_list)

    p = sub.add_parser(
        "rules", parents=[o.edition, o.rules], help="list the validity rules and their ids"
    )
    p.set_defaults(handler=_rules)

    p = sub.add_parser("demo", help="a short tour on built-in examples")
    p.set_defaults(handler=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command ``argv`` (default: the process's arguments); the exit status."""
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        if extra:  # said by the command's own parser, which names the command's --help
            command = parser if args.command is None else _command_parser(parser, args.command)
            command.error(f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as exc:  # --help, --version and usage errors end here
        return 0 if exc.code is None else exc.code if isinstance(exc.code, int) else 2
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return handler(args)
    except CallbacksimError as exc:
        print(f"callbacksim: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("callbacksim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as exc:  # a file that cannot be written or read, wherever it was met
        where = f"cannot use {exc.filename}: " if exc.filename else ""
        print(f"callbacksim: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
