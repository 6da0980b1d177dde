"""The examples each command's ``--help`` ends with: what a user runs first, with a word on each.

They are real command lines: the test suite runs every one of them (on small inputs, against a
reference target it starts) so the help never shows a command that does not work. They share a
few names so that they chain: ``fixtures.jsonl`` (participants), ``conversations.jsonl``
(lifecycle events) and a service at ``http://127.0.0.1:8080``.
"""

from __future__ import annotations

__all__ = ["EXAMPLES", "epilog"]

EXAMPLES: dict[str, tuple[tuple[str, str], ...]] = {
    "validate": (
        ("judge every record of a file; exit 1 lists each violation", "validate fixtures.jsonl"),
        (
            "one verdict per record as JSON Lines, for a script",
            "validate --format json fixtures.jsonl",
        ),
        (
            "an export of the newer SDK edition, types and formats only",
            "validate --edition sdk-269 --rules structural fixtures.jsonl",
        ),
    ),
    "coverage": (
        ("which enum values, states and orderings a file covers", "coverage fixtures.jsonl"),
        ("the same as JSON", "coverage --format json --show-missing 20 fixtures.jsonl"),
    ),
    "generate": (
        (
            "valid, unusual and invalid participants (70/15/15), labelled",
            "generate participants --mode mixed --count 5000 --seed 7 --out fixtures.jsonl",
        ),
        (
            "the covering set: every enum value, state pair and ordering relation",
            "generate participants --mode edge --out edge.json --format json",
        ),
        (
            "simulated callback conversations, as snapshot events",
            "generate lifecycles --count 500 --edition sdk-269 --out conversations.jsonl",
        ),
    ),
    "show": (
        ("draw the simulated conversation of seed 42", "show 42"),
        ("require paths, and keep a picture", "show 42 --path hold --path transfer --svg call.svg"),
        ("draw a conversation read from a file", "show --file conversations.jsonl"),
    ),
    "check": (
        ("every property of the store contract", "check http://127.0.0.1:8080 --budget 60"),
        (
            "two properties, with a token, and reports for CI",
            "check http://127.0.0.1:8080 --properties converges,isolated --budget 20 "
            "--header 'Authorization: Bearer T' --report check.json --junit junit.xml",
        ),
    ),
    "serve": (
        ("the reference store on port 8080, kept in a file", "serve --port 8080 --db store.sqlite"),
        ("any free port, a token required", "serve --port 0 --token s3cret"),
    ),
    "replay": (
        (
            "1,000 generated conversations with delivery faults and a ledger",
            "replay http://127.0.0.1:8080 --lifecycles 1000 --seed 3 --duplicates 0.05 "
            "--reorder 0.05 --ledger run.ledger.jsonl",
        ),
        (
            "a file of conversations, with an HTML report",
            "replay http://127.0.0.1:8080 conversations.jsonl --html replay.html",
        ),
        (
            "on the conversations' own timeline, ten thousand times faster",
            "replay http://127.0.0.1:8080 --lifecycles 20 --time-factor 0.0001",
        ),
    ),
    "run": (
        ("the main job against the built-in target", "run"),
        (
            "against your service, with a report",
            "run --target http://127.0.0.1:8080 --lifecycles 300 --html report.html",
        ),
    ),
    "load": (
        ("closed model: 8 conversations in flight, 40 in all", "load --users 8 --lifecycles 40"),
        (
            "open model: 20 new conversations a second, with a latency threshold",
            "load --arrival-rate 20 --run-time 5s --fail-on 'p99<2s'",
        ),
        ("a master and two local workers", "load --workers 2 --lifecycles 200"),
    ),
    "profile": (
        ("every realism parameter, its default and its basis", "profile"),
        (
            "a profile fitted to your conversations",
            "profile fit conversations.jsonl --out mine.toml",
        ),
        ("your conversations next to the default profile", "profile compare conversations.jsonl"),
    ),
    "profile show": (
        ("every realism parameter, its default, source and basis", "profile show"),
        ("only what rests on captured Genesys data", "profile show --source observed"),
    ),
    "profile fit": (
        (
            "estimate the profile from imported conversations",
            "profile fit conversations.jsonl --out mine.toml",
        ),
    ),
    "profile compare": (
        (
            "two lifecycle files side by side",
            "profile compare conversations.jsonl conversations.jsonl",
        ),
        ("a file next to generated traffic", "profile compare conversations.jsonl --count 200"),
    ),
    "import": (
        (
            "exported conversations to a lifecycle file replay and show take",
            "import export.json --out imported.jsonl",
        ),
        (
            "the same, personal data replaced by keyed fakes first",
            "import export.json --anonymise s3cret --out imported.jsonl",
        ),
    ),
    "anonymise": (
        (
            "keyed fakes for every personal value",
            "anonymise export.json --key s3cret --out safe.jsonl",
        ),
        ("what is treated as personal", "anonymise --list"),
    ),
    "rules": (
        ("every rule id of the documented model", "rules"),
        (
            "the type and format rules of the newer edition",
            "rules --edition sdk-269 --rules structural",
        ),
    ),
    "demo": (("a guided tour on built-in examples", "demo"),),
}
"""By command: (what it shows, the command line after ``callbacksim``)."""


def epilog(command: str) -> str | None:
    """The examples section of ``command``'s help, or None when it has none."""
    examples = EXAMPLES.get(command)
    if not examples:
        return None
    lines = ["examples:"]
    for what, line in examples:
        lines += [f"  # {what}", f"  callbacksim {line}"]
    return "\n".join(lines)
