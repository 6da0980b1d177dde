"""The ``callbacksim`` command: parses arguments, delegates, renders. No logic of its own.

Exit status: 0 when everything checked holds, 1 when something was found (an invalid record, a
failed property), 2 for a usage error or unreadable input, with one clear line and no traceback.

Options that several commands share are defined once, as parent parsers (`_Options`); what their
values may be is checked where they are used (the profile, the faults, the target's settings), not
here.
"""

from __future__ import annotations

import argparse
import difflib
import re
import shlex
import sys
from collections.abc import Callable, Sequence
from enum import StrEnum
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn, TextIO
from urllib.parse import urlsplit

import orjson

from callbacksim import __version__
from callbacksim.cli_help import epilog
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
    read_lines,
    read_records,
)
from callbacksim.rules import RULES, RuleSet, rule_ids
from callbacksim.schema import participant_fields
from callbacksim.validate import Result, Tally, judge
from callbacksim.wiretime import DatetimeFormatError, epoch_ms, format_datetime, parse_datetime

if TYPE_CHECKING:
    from callbacksim.jobs.anonymise import Personal
    from callbacksim.views.report import Made

__all__ = ["build_parser", "main"]

Handler = Callable[[argparse.Namespace], int]

_ANCHOR_TEXT = format_datetime(ANCHOR)

WAIT_FOR_TARGET = 10.0
"""The default of ``--wait-for-target`` (the harness's own default is the same, `DEFAULT_WAIT_FOR`
in `callbacksim.simulator.client`; the CLI does not import the HTTP client just to read it)."""


class _Formatter(argparse.HelpFormatter):
    """Wraps descriptions as usual, and keeps the examples section line by line."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith("examples:"):
            return "\n".join(indent + line for line in text.splitlines())
        return super()._fill_text(text, width, indent)


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors name the fix the same way every other error does, a mistyped
    command or flag gets "did you mean", and flags are never abbreviated (``--bud`` is not
    ``--budget``: a prefix that works today would break when a flag is added)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        choice = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if choice is not None:
            allowed = re.findall(r"'([^']*)'", choice.group(2))
            message += _did_you_mean(choice.group(1), allowed)
        self.exit(2, f"{self.prog}: error: {message}\n(run '{self.prog} --help' for usage)\n")

    def flags(self) -> list[str]:
        """Every option string this parser takes."""
        return [s for action in self._actions for s in action.option_strings]


def _did_you_mean(given: str, allowed: Sequence[str]) -> str:
    close = difflib.get_close_matches(given, allowed, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


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
            help="how to read the input: auto (by extension and first line), json, jsonl or "
            "document (default: auto)",
        )
        self.edition = self._parent()
        self.edition.add_argument(
            "--edition",
            type=_choice(Edition),
            default=Edition.SEED,
            help="model edition: seed (the documented model) or sdk-269 (default: seed)",
        )
        self.rules = self._parent()
        self.rules.add_argument(
            "--rules",
            type=_choice(RuleSet),
            default=RuleSet.STRICT,
            help="rule set: strict (every rule) or structural (types and formats only) "
            "(default: strict)",
        )
        self.seed = self._parent()
        self.seed.add_argument(
            "--seed", type=int, default=0, help="the seed of everything drawn (default: 0)"
        )
        self.epoch = self._parent()
        self.epoch.add_argument(
            "--epoch",
            type=_epoch,
            help=f"the instant generated times start from, RFC 3339 (default: {_ANCHOR_TEXT})",
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
            help="a path every lifecycle must take (repeatable): scheduled, hold, timeout, "
            "customer-first, ...; `--path list` prints every path with what it means",
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
            help="seconds to wait for each answer (default: 10)",
        )
        self.timeout.add_argument(
            "--wait-for-target",
            type=_seconds(0, inclusive=True),
            default=WAIT_FOR_TARGET,
            metavar="SECONDS",
            help="wait this long for a target that does not answer yet "
            f"(default: {WAIT_FOR_TARGET:g})",
        )
        self.adapter = self._parent()
        self.adapter.add_argument(
            "--adapter",
            default="store",
            help="how events reach the target: store, notification, eventbridge or "
            "package.module:Class; what needs to read the target back is skipped when the "
            "adapter cannot (default: store)",
        )
        self.personal = self._parent()
        self.personal.add_argument(
            "--personal",
            action="append",
            metavar="PATH[=KIND]",
            help="treat this participant path as personal too (repeatable), e.g. user.id=id; "
            "`callbacksim anonymise --list` shows the list and the kinds",
        )
        self.personal.add_argument(
            "--personal-file",
            metavar="FILE",
            help='a TOML file with a [personal] table of "PATH" = "KIND"',
        )
        self.concurrency = self._parent()
        self.concurrency.add_argument(
            "--concurrency", type=int, default=32, help="conversations at once (default: 32)"
        )
        self.faults = self._parent()
        self.faults.add_argument(
            "--duplicates", type=float, default=0.0, help="chance an event is sent twice"
        )
        self.faults.add_argument(
            "--reorder", type=float, default=0.0, help="chance of a swap in a stream"
        )
        self.faults.add_argument(
            "--jitter", type=float, default=0.0, help="largest random pause (ms)"
        )
        self.faults.add_argument(
            "--loss",
            type=float,
            default=0.0,
            help="chance an event is never sent, as a closed WebSocket loses it (counted as lost)",
        )
        self.time_factor = self._parent()
        self.time_factor.add_argument(
            "--time-factor",
            type=float,
            help="play on the lifecycles' own timeline scaled by F (0.01: 100x faster; "
            "default: as fast as possible)",
        )

    @staticmethod
    def _parent() -> _Parser:
        return _Parser(add_help=False)


# -- handlers -------------------------------------------------------------------------------------


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _participants(stream: IO[bytes], name: str, args: argparse.Namespace) -> ParticipantRecords:
    """The participant records of one input, whatever kind of callbacksim file it is."""
    records = read_lines(stream, fmt=args.input_format, name=name)
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
    from callbacksim.jobs.fixtures import PathIds, labels_beside

    out: TextIO = sys.stdout
    tally = Tally()
    as_json = args.format == "json"
    labelled: list[str] = []  # the labels files the request paths' ids came from
    bare = 0  # sources judged without request paths
    for source in args.files:
        name = "<stdin>" if source == "-" else source
        label_path = labels_beside(source)
        if label_path is not None:
            labelled.append(label_path.name)
        else:
            bare += 1
        ids = PathIds(label_path, name) if label_path is not None else None
        try:
            with open_source(source) as stream:
                records = _participants(stream, name, args)
                results = judge(
                    name,
                    records.items(),
                    edition=args.edition,
                    rules=args.rules,
                    tally=tally,
                    valid=as_json,
                    path_ids=ids,
                )
                try:
                    for result in results:
                        if as_json:
                            out.write(orjson.dumps(result.to_json()).decode() + "\n")
                        else:
                            _print_result(result, out)
                except JsonError as exc:
                    out.flush()
                    msg = f"{name}: {exc}"
                    raise UsageError(msg) from None
            _tell(records)
            if ids is not None:
                ids.finish()
        finally:
            if ids is not None:
                ids.close()
    total, invalid = tally.total, tally.invalid
    if not as_json:
        verdict = "all valid" if not invalid else f"{invalid} invalid"
        how = f"{args.rules} rules, {args.edition} edition"
        if labelled:
            how += f"; path ids from {', '.join(labelled)}"
        if bare and "id.matches-path" in rule_ids(args.edition, args.rules):
            # A bare record has no request path: the one rule that needs it cannot be checked.
            how += "; id.matches-path unchecked: no request paths"
        print(f"{total} record(s) checked ({how}): {verdict}")
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
    skipped, first_skipped = 0, ""
    for source in args.files:
        name = "<stdin>" if source == "-" else source
        with open_source(source) as stream:
            records = _participants(stream, name, args)
            try:
                for record in records:
                    where = (
                        f"{name}[{record.index}]"
                        if record.line is None
                        else f"{name}:{record.line}"
                    )
                    if record.error is not None:
                        msg = f"{where}: {record.error}; coverage counts participant objects only"
                        raise UsageError(msg)
                    if not isinstance(record.payload, dict):
                        # JSON but no object: an invalid fixture record breaking json.object,
                        # say. A record (as the fixture's manifest counts it) covering nothing;
                        # said below.
                        skipped += 1
                        first_skipped = first_skipped or where
                    cov.add(record.payload)
            except JsonError as exc:
                msg = f"{name}: {exc}"
                raise UsageError(msg) from None
        _tell(records)
    if skipped:
        if cov.records == skipped:
            msg = f"{first_skipped}: not a JSON object; coverage counts participant objects only"
            raise UsageError(msg)
        print(
            f"callbacksim: note: {skipped:,} record(s) are not JSON objects: counted as records, "
            f"they cover nothing (first: {first_skipped})",
            file=sys.stderr,
        )
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

    if args.what is None:
        msg = (
            "say what to generate: `callbacksim generate participants --mode mixed --count 1000 "
            "--out fixtures.jsonl` (labelled participant records) or `callbacksim generate "
            "lifecycles --count 100 --out conversations.jsonl` (simulated conversations); "
            "`callbacksim generate --help` lists the options"
        )
        raise UsageError(msg)
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
    from callbacksim.generation.lifecycle import Lifecycle, lifecycles_from_events, simulate
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
    command = _command(args)

    def page(lc: Lifecycle, *, show_plan: bool) -> str:
        return to_html(lc, show_plan=show_plan, version=__version__, command=command)

    for path, draw, what in ((args.svg, to_svg, "an SVG picture"), (args.html, page, "a page")):
        if path:
            try:
                Path(path).write_text(draw(lifecycle, show_plan=plan), encoding="utf-8")
            except OSError as exc:
                msg = f"cannot write {path}: {exc.strerror}; give a path in a writable folder"
                raise UsageError(msg) from None
            print(f"wrote {what} of conversation {lifecycle.conversation_id} to {path}")
    if not (args.svg or args.html) or args.terminal:
        draw_terminal(lifecycle, Console(), show_plan=plan)
    return 0


def _profile_list(args: argparse.Namespace) -> int:
    from callbacksim.generation.profile import Profile

    for p in Profile.describe():
        if args.source is None or p.source == args.source:
            print(f"{p.name:<30} {p.shown:>12}  {p.source:<10}  {p.basis}")
    return 0


def _key(text: str | None, path: str | None, flag: str) -> bytes | None:
    """A secret from ``--X KEY`` or ``--X-file FILE`` (its first line)."""
    if text is not None and path is not None:
        msg = f"give {flag} or {flag}-file, not both"
        raise UsageError(msg)
    if path is not None:
        try:
            lines = Path(path).read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            msg = f"cannot read the key file {path}: {exc.strerror}"
            raise UsageError(msg) from None
        text = lines[0].strip() if lines else ""
        if not text:
            msg = f"the key file {path} is empty; put a secret on its first line"
            raise UsageError(msg)
    return text.encode("utf-8") if text is not None else None


def _personal(args: argparse.Namespace) -> tuple[Personal, ...]:
    from callbacksim.jobs.anonymise import personal_list

    return personal_list(args.personal or (), args.personal_file)


def _import(args: argparse.Namespace) -> int:
    from callbacksim.jobs.importer import ImportJob, describe_assumptions, run_import
    from callbacksim.views.terminal import import_invalid, import_summary

    err: TextIO = sys.stderr
    key = _key(args.anonymise, args.anonymise_key_file, "--anonymise")
    job = ImportJob(
        files=tuple(args.files),
        out=args.out,
        edition=args.edition,
        input_format=args.input_format,
        anonymise_key=key,
        personal=_personal(args),
        skip_invalid=args.skip_invalid,
    )
    report = run_import(
        job,
        on_invalid=lambda where, cid, bad: import_invalid(where, cid, bad, err),
        on_problem=lambda where, text: print(f"{where}: {text}", file=err),
    )
    import_summary(report, list(describe_assumptions(report.assumptions)), err)
    return 1 if report.invalid else 0


def _anonymise(args: argparse.Namespace) -> int:
    from callbacksim.jobs.anonymise import KINDS, describe_personal, run_anonymise

    personal = _personal(args)
    if args.list:
        for path, kind, note in describe_personal(personal):
            print(f"{path:<36} {kind:<8} {note}")
        print("\nkinds:")
        for kind, text in KINDS.items():
            print(f"  {kind:<8} {text}")
        return 0
    if not args.files:
        msg = "give the FILE(s) to anonymise (or --list to see what is treated as personal)"
        raise UsageError(msg)
    key = _key(args.key, args.key_file, "--key")
    if key is None:
        msg = "give the anonymisation key: --key KEY or --key-file FILE"
        raise UsageError(msg)
    summary = run_anonymise(
        args.files,
        args.out,
        key,
        personal=personal,
        fmt=args.input_format,
    )
    for where in summary.not_json:
        print(f"{where}: not JSON, left out (it cannot be anonymised)", file=sys.stderr)
    if args.out != "-":
        print(f"wrote {summary.records:,} record(s) to {args.out}", file=sys.stderr)
    return 1 if summary.not_json else 0


def _profile_fit(args: argparse.Namespace) -> int:
    from callbacksim.jobs.fit import fit, observe_files, to_toml

    observed = observe_files(args.files, args.edition, args.input_format)
    fitted = fit(observed)
    text = to_toml(fitted, conversations=observed.conversations, sources=args.files)
    if args.out == "-":
        sys.stdout.write(text)
    else:
        try:
            Path(args.out).write_text(text, encoding="utf-8")
        except OSError as exc:
            msg = f"cannot write {args.out}: {exc.strerror}"
            raise UsageError(msg) from None
    informed = sum(f.informed for f in fitted)
    print(
        f"fitted {informed} of {len(fitted)} parameters to {observed.conversations:,} "
        "conversation(s); the rest keep their defaults",
        file=sys.stderr,
    )
    return 0


def _profile_compare(args: argparse.Namespace) -> int:
    from callbacksim.generation.profile import build_profile
    from callbacksim.jobs.fit import compare, observe_files, observe_profile
    from callbacksim.views.terminal import profile_comparison

    left = observe_files([args.left], args.edition, args.input_format)
    right_file = args.right
    if right_file is not None and right_file.lower().endswith(".toml"):
        if args.profile:
            msg = "give the profile as the second argument or with --profile, not both"
            raise UsageError(msg)
        args.profile, right_file = right_file, None
    if right_file is not None:
        if args.profile or args.set:
            msg = "--profile and --set describe the other side; drop them to compare two files"
            raise UsageError(msg)
        right = observe_files([right_file], args.edition, args.input_format)
        right_name = right_file
    else:
        profile = build_profile(args.profile, args.set or ())
        right = observe_profile(
            profile,
            count=args.count,
            seed=args.seed,
            edition=args.edition,
            paths=args.path or (),
        )
        right_name = f"{args.profile or 'the default profile'} ({args.count:,} generated)"
    profile_comparison(compare(left, right), args.left, right_name, sys.stdout)
    return 0


def _check(args: argparse.Namespace) -> int:
    from callbacksim.simulator.checks import (
        CheckConfig,
        keep_hypothesis_files_in_the_user_cache,
        run_checks,
    )
    from callbacksim.simulator.client import require_reachable
    from callbacksim.simulator.properties import PROPERTIES, Outcome
    from callbacksim.views.terminal import CheckReporter, junit_xml

    headers = dict(args.header or [])
    keep_hypothesis_files_in_the_user_cache()
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
    require_reachable(
        args.url,
        headers,
        args.timeout,
        wait_for=args.wait_for_target,
        say=_say,
        store=args.adapter == "store",
    )
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
            "edition": args.edition.value,
            "rules": args.rules.value,
            "budget": args.budget,
            "properties": [o.to_json(args.url) for o in everything],
        }
        Path(args.report).write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n")
    if args.junit:
        Path(args.junit).write_bytes(junit_xml(everything, args.url))
    return 1 if any(o.status in ("failed", "not-exercised") for o in outcomes) else 0


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
    from callbacksim.views.terminal import replay_start, replay_summary, replay_verdict

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
        faults=Faults(args.duplicates, args.reorder, args.jitter, args.loss),
        retries=args.retries,
        retry_for=args.retry_for,
        seed=args.seed,
        ledger=Path(ledger) if ledger else None,
        resume=args.resume is not None,
        verify=not args.no_verify,
        edition=args.edition,
    )
    console = Console(highlight=False)
    replay_start(source.describe(), args.url, args.adapter, cfg, console, command="replay")
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
    replay_summary(result, console)
    if args.report:
        Path(args.report).write_bytes(orjson.dumps(result.to_json(), option=orjson.OPT_INDENT_2))
    if args.html:
        from callbacksim.views.report import write_report

        write_report(
            Path(args.html),
            target=args.url,
            started_reference=False,
            outcomes=None,
            result=result,
            lifecycle=None,
            settings={
                "lifecycles": source.describe(),
                "adapter": args.adapter,
                "seed": args.seed,
                "edition": args.edition.value,
                "concurrency": args.concurrency,
                "ledger": str(ledger) if ledger else "none",
            },
            faults=cfg.faults.to_json(),
            made=_made(args),
        )
        console.print(f"HTML report: {args.html}", soft_wrap=True)
    passed = replay_verdict(result, console)
    stopped = exit_status(result.stopped)
    if stopped is not None:
        print(
            f"callbacksim: stopped by {result.stopped}; the ledger records what was done: "
            "continue with --resume LEDGER",
            file=sys.stderr,
        )
        return stopped
    return 0 if passed else 1


def _command(args: argparse.Namespace) -> str:
    """The command line that runs this command again (shell-quoted)."""
    return shlex.join(["callbacksim", *args.argv])


def _made(args: argparse.Namespace) -> Made:
    """When and how a report is made: the time (UTC, read here, at the edge), the version and
    the command that reproduces the run."""
    from datetime import UTC, datetime

    from callbacksim.views.report import Made

    return Made(
        at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        version=__version__,
        command=_command(args),
    )


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
        made=_made(args),
    )
    return run_main_job(job, sys.stdout)


def _load(args: argparse.Namespace) -> int:
    from callbacksim.jobs.load import LoadJob, join_master, run_load
    from callbacksim.load.plan import LoadSettings, Model, Ramp, parse_duration
    from callbacksim.simulator.faults import Faults

    if args.worker:
        if not args.master_host:
            msg = "--worker joins a master: give --master-host HOST (and --master-port)"
            raise UsageError(msg)
        return join_master(
            args.master_host, args.master_port or 5557, args.workers or 1, sys.stdout
        )
    if args.master_host:
        msg = "--master-host is for --worker; the master itself listens on --master-bind-host"
        raise UsageError(msg)
    open_model = args.arrival_rate is not None or args.model == "open"
    stages = Ramp.parse(args.stages) if args.stages else None
    users = args.users
    if not open_model and stages is None and users is None:
        users = 32
    settings = LoadSettings(
        seed=args.seed,
        edition=args.edition,
        adapter=args.adapter,
        time_factor=args.time_factor,
        model=Model.OPEN if open_model else Model.CLOSED,
        users=users,
        arrival_rate=args.arrival_rate,
        stages=stages,
        lifecycles=args.lifecycles,
        run_time=parse_duration(args.run_time, "--run-time") if args.run_time else None,
        max_in_flight=args.max_in_flight,
        faults=Faults(args.duplicates, args.reorder, args.jitter, args.loss),
        headers=tuple(args.header or ()),
        timeout=args.timeout,
    )
    from callbacksim.simulator.adapters import load_adapter

    load_adapter(settings.adapter)  # a bad adapter is a usage error here, not in every worker
    job = LoadJob(
        settings=settings,
        target=args.target,
        workers=args.workers or 0,
        expect_workers=args.expect_workers,
        master_bind_host=args.master_bind_host,
        master_port=args.master_port,
        fail_on=tuple(args.fail_on or ()),
        report=Path(args.report) if args.report else None,
        html=Path(args.html) if args.html else None,
        locust_csv=args.locust_csv,
        locust_html=args.locust_html,
        locust_args=tuple(args.locust_args or ()),
        wait_for=args.wait_for_target,
    )
    return run_load(job, sys.stdout).exit_code


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
    parser.commands = sub.choices  # type: ignore[attr-defined]
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
        help="text (invalid records and a summary) or json (JSON Lines, one per record) "
        "(default: text)",
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
        help="list up to N missing items per view (default: 8)",
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
    p.add_argument(
        "what",
        nargs="?",
        choices=["participants", "lifecycles"],
        help="participants (fixture records) or lifecycles (simulated conversations)",
    )
    both = p.add_argument_group("participants and lifecycles")
    both.add_argument(
        "--count",
        type=int,
        default=100,
        help="how many: participant records, or lifecycles; with --mode edge the covering set is "
        "written whole (57 records in the seed edition, 73 in sdk-269) and valid records are "
        "added up to the count (default: 100)",
    )
    records = p.add_argument_group("participants only")
    records.add_argument(
        "--mode",
        type=_choice(Mode),
        default=Mode.VALID,
        help="valid, unusual, invalid, mixed (70/15/15) or edge (the covering set first) "
        "(default: valid)",
    )
    records.add_argument(
        "--exhaustive",
        action="store_true",
        help="one valid participant per ordering class (seed edition: 21,092); ignores --count",
    )
    records.add_argument("--labels", help="labels file (default: OUT.labels.jsonl next to a file)")
    output = p.add_argument_group("output")
    output.add_argument(
        "--format",
        type=_choice(OutputFormat),
        default=OutputFormat.JSONL,
        help="jsonl, json (one array) or dir (a JSON file per record or conversation) "
        "(default: jsonl)",
    )
    output.add_argument(
        "--out", default="-", help="output file or directory, - for stdout (default: -)"
    )
    output.add_argument(
        "--manifest", help="manifest file (default: OUT.manifest.json next to a file)"
    )
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
    p.add_argument(
        "--budget",
        type=float,
        default=60.0,
        help="seconds for all the properties together (default: 60)",
    )
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
        help="address to bind, 0.0.0.0 for every interface (default: 127.0.0.1, this machine only)",
    )
    p.add_argument(
        "--port",
        type=int,
        default=8080,
        help="port to listen on, 0 for any free one (default: 8080)",
    )
    p.add_argument("--db", help="SQLite file (default: a temporary one, deleted on exit)")
    p.add_argument("--token", help="require 'Authorization: Bearer TOKEN'")
    p.add_argument(
        "--max-body",
        type=int,
        default=1 << 20,
        help="largest body accepted, in bytes (default: 1048576, 1 MiB)",
    )
    p.add_argument(
        "--read-timeout",
        type=_seconds(0, inclusive=False),
        default=30.0,
        metavar="SECONDS",
        help="a body slower to arrive answers 408 (default: 30)",
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
            o.faults,
            o.time_factor,
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
        "backing off, honouring Retry-After (default: 60)",
    )
    p.add_argument("--ledger", help="write every event's outcome to this JSONL file")
    p.add_argument("--resume", metavar="LEDGER", help="continue the run this ledger records")
    p.add_argument("--no-verify", action="store_true", help="do not read the target back")
    p.add_argument("--report", help="write the summary as JSON to this file")
    p.add_argument(
        "--html",
        metavar="FILE",
        help="write an HTML report (counts, answers explained, latency by request name, "
        "rejected events, charts) to FILE",
    )
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
    p.add_argument(
        "--budget", type=float, default=20.0, help="seconds for the property checks (default: 20)"
    )
    p.add_argument(
        "--lifecycles", type=int, default=300, help="lifecycles to replay (default: 300)"
    )
    p.add_argument(
        "--html",
        default="callbacksim-report.html",
        help="HTML report path, '' for none (default: callbacksim-report.html)",
    )
    p.set_defaults(handler=_run)

    p = sub.add_parser(
        "import",
        parents=[o.files, o.input_format, o.edition, o.personal],
        help="turn exported callback conversations into a lifecycle file",
        description=(
            "Read exported callback conversations (GET /api/v2/conversations/callbacks/{id}: one "
            "conversation, a JSON array, JSON Lines, or listing pages with entities), judge every "
            "participant with the rules, and rebuild each conversation's lifecycle (the snapshot "
            "events Genesys Cloud would have sent) from its participants' final states. The result "
            "is a lifecycle file that replay, show --file and profile fit read. Invalid "
            "participants are kept, marked and reported; every assumption the rebuild makes is "
            "reported once. Exit 0, or 1 when some participant is invalid."
        ),
    )
    p.add_argument(
        "--out", default="-", help="the lifecycle file (JSON Lines), - for stdout (default: -)"
    )
    p.add_argument("--anonymise", metavar="KEY", help="anonymise personal data with this key first")
    p.add_argument(
        "--anonymise-key-file", metavar="FILE", help="read the anonymisation key from FILE"
    )
    p.add_argument(
        "--skip-invalid",
        action="store_true",
        help="leave invalid participants out of the file (they are still reported)",
    )
    p.set_defaults(handler=_import)

    p = sub.add_parser(
        "load",
        parents=[o.seed, o.edition, o.adapter, o.header, o.timeout, o.faults, o.time_factor],
        help="load-test a target with callback conversations, on Locust",
        description=(
            "Load-test a target with simulated callback conversations on Locust: a closed model "
            "(--users) or an open one (--arrival-rate), ramped by --stages, on one process, a "
            "master with --workers, or across machines (--expect-workers here, --worker there). "
            "Latency goes into HDR histograms merged across workers. Exit 0 when every "
            "--fail-on threshold holds (default: no failed request), every --lifecycles "
            "conversation was played and the target converged; 1 otherwise; 2 for a usage error "
            "or an unreachable target. Arguments after -- go to Locust as they are."
        ),
    )
    p.add_argument(
        "--target",
        type=_url,
        help="the service's URL (default: start the reference target on a free loopback port)",
    )
    load_model = p.add_argument_group("the load")
    load_model.add_argument(
        "--users", type=int, help="closed model: conversations in flight (default: 32)"
    )
    load_model.add_argument(
        "--arrival-rate",
        type=float,
        metavar="R",
        help="open model: new conversations per second (a Poisson process), whether or not "
        "the target keeps up",
    )
    load_model.add_argument(
        "--model",
        choices=["closed", "open"],
        help="which model --stages gives (closed: users; open: arrivals per second)",
    )
    load_model.add_argument(
        "--stages",
        help="the load over time, ramping linearly from 0: DURATION:LEVEL,... "
        "(e.g. 30s:10,2m:50,30s:0); the run ends with the last stage",
    )
    load_model.add_argument(
        "--lifecycles", type=int, help="play exactly N conversations in all, then read back"
    )
    load_model.add_argument("--run-time", help="stop after this long (90s, 2m, 1h30m)")
    load_model.add_argument(
        "--max-in-flight",
        type=int,
        default=10_000,
        help="open model: conversations in flight per worker before arrivals are late (10000)",
    )
    dist = p.add_argument_group("distribution")
    dist.add_argument(
        "--workers", type=int, help="worker processes on this machine (default: one process)"
    )
    dist.add_argument(
        "--expect-workers",
        type=int,
        help="workers the master waits for in all, with those joining from other machines",
    )
    dist.add_argument(
        "--master-bind-host",
        help="where the master listens; all interfaces with remote workers (default: 127.0.0.1)",
    )
    dist.add_argument("--master-port", type=int, help="the master's port (default: a free one)")
    dist.add_argument(
        "--worker", action="store_true", help="join a master elsewhere as --workers worker(s)"
    )
    dist.add_argument("--master-host", help="with --worker: the master's address")
    results = p.add_argument_group("results")
    results.add_argument(
        "--fail-on",
        action="append",
        metavar="EXPR",
        help="threshold(s), e.g. p99<250ms, p99.9<1s, failures<0.5%%, late-arrivals<1%%, "
        "rps>500, agent:connected:p99<100ms (repeatable or comma-separated)",
    )
    results.add_argument("--report", help="write the results as JSON to this file")
    results.add_argument("--html", help="write an HTML report with charts to this file")
    results.add_argument("--locust-csv", metavar="PREFIX", help="Locust's own CSV files")
    results.add_argument("--locust-html", metavar="FILE", help="Locust's own HTML report")
    p.add_argument("locust_args", nargs="*", metavar="-- LOCUST-ARGS", help=argparse.SUPPRESS)
    p.set_defaults(handler=_load)

    p = sub.add_parser(
        "anonymise",
        parents=[o.input_format, o.personal],
        help="replace personal data in exports or lifecycle files, keyed",
        description=(
            "Replace the personal data of every participant in the given files (exports, listing "
            "pages or lifecycle files) with realistic fakes, the same value by the same fake "
            "everywhere. The fakes are seeded by an HMAC of each value under KEY: the same key "
            "gives the same bytes, another key other fakes. Timing, states, enum values, ids' "
            "shapes and structure stay. Writes JSON Lines, one line per input record. --list "
            "shows what is treated as personal."
        ),
    )
    p.add_argument("files", nargs="*", metavar="FILE", help="input file, or - for standard input")
    p.add_argument("--key", help="the secret the fakes are keyed with")
    p.add_argument("--key-file", help="read the key from the first line of this file")
    p.add_argument("--out", default="-", help="output file (JSON Lines), - for stdout (default: -)")
    p.add_argument("--list", action="store_true", help="list the personal paths and kinds")
    p.set_defaults(handler=_anonymise)

    source = _Options._parent()
    source.add_argument(
        "--source",
        choices=("observed", "documented", "assumption"),
        help="list only the parameters with this source",
    )
    p = sub.add_parser(
        "profile",
        parents=[source],
        help="the realism profile: list it, fit it to conversations, compare",
        description=(
            "Without a subcommand (or with show): every realism parameter with its default, its "
            "source (observed: read from captured Genesys data; documented: from Genesys "
            "documentation or SDK models; assumption: nothing real backs it) and its basis. fit: "
            "estimate the parameters from a lifecycle file. compare: two files, or a file and a "
            "profile, side by side. Change parameters with --profile FILE or --set."
        ),
    )
    p.set_defaults(handler=_profile_list, source=None)
    profile_sub = p.add_subparsers(
        dest="profile_command", metavar="SUBCOMMAND", parser_class=_Parser
    )
    q = profile_sub.add_parser(
        "show",
        parents=[source],
        help="every parameter: default, source and basis",
        description="Every realism parameter with its default, its source and its basis.",
    )
    q.set_defaults(handler=_profile_list)
    q = profile_sub.add_parser(
        "fit",
        parents=[o.files, o.input_format, o.edition],
        help="estimate the profile from lifecycle files (as import writes)",
        description=(
            "Estimate every realism parameter the conversations inform and print a TOML profile "
            "that --profile takes; parameters they do not inform are commented out, so they keep "
            "their defaults, with the reason."
        ),
    )
    q.add_argument("--out", default="-", help="write the profile here, - for stdout (default: -)")
    q.set_defaults(handler=_profile_fit)
    q = profile_sub.add_parser(
        "compare",
        parents=[o.input_format, o.edition, o.seed, o.profile],
        help="two lifecycle files, or one and a profile, side by side",
        description=(
            "Per parameter, what each side shows (count, median and p90, or a rate) and what it "
            "fits to. The other side is a second lifecycle file, a TOML profile, or (without it) "
            "--count lifecycles generated from --profile/--set (default: the default profile)."
        ),
    )
    q.add_argument("left", metavar="FILE", help="a lifecycle file")
    q.add_argument("right", nargs="?", metavar="OTHER", help="a lifecycle file or a .toml profile")
    q.add_argument(
        "--count",
        type=int,
        default=2000,
        help="lifecycles generated from a profile (default: 2000)",
    )
    q.set_defaults(handler=_profile_compare)

    p = sub.add_parser(
        "rules",
        parents=[o.edition, o.rules],
        help="list the validity rules and their ids",
        description="List every validity rule of the edition and rule set: its id (as "
        "violations, labels and manifests name it), its group and what it requires.",
    )
    p.set_defaults(handler=_rules)

    p = sub.add_parser(
        "demo",
        help="a short tour on built-in examples",
        description="A guided tour: a short main job against the built-in target, then judging "
        "payloads, writing fixtures, looking at a simulated callback, and what to run next.",
    )
    p.set_defaults(handler=_demo)
    for name, command in sub.choices.items():
        command.epilog = epilog(name)
    for name, command in profile_sub.choices.items():
        command.epilog = epilog(f"profile {name}")
    return parser


def _unknown_flags_first(parser: argparse.ArgumentParser, argv: list[str]) -> None:
    """Refuse a flag the command does not take before its values are judged, so that
    ``check --bud 2 URL`` is about ``--bud``, not about ``2`` not being a URL."""
    commands: dict[str, _Parser] = getattr(parser, "commands", {})
    command = next((commands[a] for a in argv if a in commands), None)
    if command is None or "--" in argv:
        return
    # The deepest subcommand named (`profile fit`), whose flags are the ones that count.
    while True:
        subs = [a for a in command._actions if isinstance(a, argparse._SubParsersAction)]
        inner = next((subs[0].choices[a] for a in argv if subs and a in subs[0].choices), None)
        if not isinstance(inner, _Parser):
            break
        command = inner
    known = set(command.flags()) | {"-h", "--help"}
    for arg in argv:
        flag = arg.split("=", 1)[0]
        if flag.startswith("--") and flag not in known:
            command.error(f"unrecognized argument: {flag}{_did_you_mean(flag, sorted(known))}")


def _unrecognised(
    parser: argparse.ArgumentParser, args: argparse.Namespace, extra: list[str]
) -> None:
    """Refuse arguments no parser took, in the words of the command they were given to."""
    command: _Parser | None = getattr(parser, "commands", {}).get(getattr(args, "command", None))
    where = command if command is not None else parser
    first = extra[0]
    hint = ""
    if first.startswith("-") and isinstance(where, _Parser):
        hint = _did_you_mean(first.split("=", 1)[0], where.flags())
    noun = "argument" if len(extra) == 1 else "arguments"
    where.error(f"unrecognized {noun}: {' '.join(extra)}{hint}")


def _list_paths() -> int:
    """``--path list``: every path a lifecycle can be made to take, with what it means."""
    from callbacksim.generation.lifecycle import PATHS

    width = max(map(len, PATHS))
    for name, meaning in PATHS.items():
        print(f"{name:<{width}}  {meaning}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command ``argv`` (default: the process's arguments); the exit status."""
    parser = build_parser()
    try:
        _unknown_flags_first(parser, list(sys.argv[1:] if argv is None else argv))
        args, extra = parser.parse_known_args(argv)
        if extra:
            _unrecognised(parser, args, extra)
        args.argv = list(sys.argv[1:] if argv is None else argv)
    except SystemExit as exc:  # --help, --version and usage errors end here
        return 0 if exc.code is None else exc.code if isinstance(exc.code, int) else 2
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    if "list" in (getattr(args, "path", None) or ()):
        return _list_paths()
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
