"""The ``callbacksim`` command: parses arguments, delegates, renders. No logic of its own.

Exit status: 0 when everything checked holds, 1 when something was found (an invalid record, a
failed property), 2 for a usage error or unreadable input, with one clear line and no traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import TextIO

import orjson

from callbacksim import __version__
from callbacksim.errors import CallbacksimError, JsonError, UsageError
from callbacksim.model import Edition
from callbacksim.records import InputFormat, open_source, read_records
from callbacksim.rules import RULES, RuleSet, rule_ids
from callbacksim.validate import Result, judge

__all__ = ["main"]

Handler = Callable[[argparse.Namespace], int]


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors name the fix the same way every other error does."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n(run '{self.prog} --help' for usage)\n")


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


def _add_model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--edition",
        type=_choice(Edition),
        default=Edition.SEED,
        help="model edition: seed (the documented model, default) or sdk-269",
    )
    p.add_argument(
        "--rules",
        type=_choice(RuleSet),
        default=RuleSet.STRICT,
        help="rule set: strict (every rule, default) or structural (types and formats only)",
    )


def _validate(args: argparse.Namespace) -> int:
    out: TextIO = sys.stdout
    total = invalid = 0
    as_json = args.format == "json"
    for source in args.files:
        name = "<stdin>" if source == "-" else source
        with open_source(source) as stream:
            records = read_records(stream, fmt=args.input_format, name=name)
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
    from callbacksim.render import coverage_table

    cov = Coverage(args.edition)
    for source in args.files:
        name = "<stdin>" if source == "-" else source
        with open_source(source) as stream:
            try:
                for record in read_records(stream, fmt=args.input_format, name=name):
                    cov.add(record.payload)
            except JsonError as exc:
                msg = f"{name}: {exc}"
                raise UsageError(msg) from None
    if args.format == "json":
        print(orjson.dumps(cov.to_json(), option=orjson.OPT_INDENT_2).decode())
    else:
        coverage_table(cov, sys.stdout, missing=args.show_missing)
    return 0


def _rules(args: argparse.Namespace) -> int:
    wanted = set(rule_ids(args.edition, args.rules))
    for rule in RULES:
        if rule.id in wanted:
            print(f"{rule.id:<40} {rule.group:<11} {rule.summary}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from callbacksim.demo import run_demo

    return run_demo(sys.stdout)


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="callbacksim",
        description="Generate, simulate and replay Genesys Cloud callback participants.",
    )
    parser.add_argument("--version", action="version", version=f"callbacksim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser(
        "validate",
        help="check participant payloads against the validity rules",
        description=(
            "Check participant payloads (a JSON participant, a JSON array, or JSON Lines) against "
            "the validity rules and print every violation of every invalid record. Exit 0 if all "
            "are valid, 1 if any is invalid, 2 if an input cannot be read."
        ),
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="input file, or - for standard input")
    _add_model_options(p)
    p.add_argument(
        "--format",
        choices=["text", "json"],
        default="text",
        help="text (invalid records and a summary, default) or json (JSON Lines, one per record)",
    )
    p.add_argument(
        "--input-format",
        type=_choice(InputFormat),
        default=InputFormat.AUTO,
        help="how to read the inputs (default: auto, by extension and first line)",
    )
    p.set_defaults(handler=_validate)

    p = sub.add_parser(
        "coverage",
        help="how much of the participant space a file covers",
        description=(
            "Report enum-value, state x disconnectType, pairwise-ordering and ordering-class "
            "coverage of the participants in the given files."
        ),
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="input file, or - for standard input")
    p.add_argument(
        "--edition",
        type=_choice(Edition),
        default=Edition.SEED,
        help="model edition: seed (default) or sdk-269",
    )
    p.add_argument("--format", choices=["text", "json"], default="text", help="text or json")
    p.add_argument(
        "--input-format",
        type=_choice(InputFormat),
        default=InputFormat.AUTO,
        help="how to read the inputs (default: auto)",
    )
    p.add_argument(
        "--show-missing",
        type=int,
        default=8,
        metavar="N",
        help="list up to N missing items per view (default 8)",
    )
    p.set_defaults(handler=_coverage)

    p = sub.add_parser("rules", help="list the validity rules and their ids")
    _add_model_options(p)
    p.set_defaults(handler=_rules)

    p = sub.add_parser("demo", help="a short tour on built-in examples")
    p.set_defaults(handler=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
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


if __name__ == "__main__":
    sys.exit(main())
