"""``callbacksim generate`` end to end, through real subprocesses: participants and lifecycles,
every mode and format, labels that are true, manifests that describe the bytes, byte-identical
reruns (another directory, another TZ, a clock years ahead), standard output, usage errors, flat
memory, and the round trip through ``callbacksim validate`` and ``callbacksim coverage``.

Expected verdicts are never written by hand: a label is checked against `callbacksim.rules.check`
on its own payload, and ``validate`` against the labels.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import attrs
import orjson
import pytest

from callbacksim.coverage import allowed_pairs
from callbacksim.model import Edition
from callbacksim.orderings import OrderingClass, classes
from callbacksim.rules import RuleSet, check, timestamps
from callbacksim.wiretime import parse_datetime

pytestmark = pytest.mark.slow

CLI = (sys.executable, "-m", "callbacksim.cli")
SEED = Edition.SEED
SDK = Edition.SDK_269

# The CLI with the clock moved years ahead (faketime is not available): every source of wall-clock
# time a generator could read goes through these.
FAKE_CLOCK = (
    sys.executable,
    "-c",
    "import runpy, sys, time\n"
    "shift = 7 * 365 * 86400 + 12_345\n"
    "real, real_ns = time.time, time.time_ns\n"
    "time.time = lambda: real() + shift\n"
    "time.time_ns = lambda: real_ns() + shift * 10**9\n"
    "sys.argv = ['callbacksim', *sys.argv[1:]]\n"
    "runpy.run_module('callbacksim.cli', run_name='__main__', alter_sys=True)\n",
)

WROTE = re.compile(r"^wrote (?P<what>.+) to (?P<out>\S+) \(sha256 (?P<sha>[0-9a-f]{16})\.\.\.\)$")


@attrs.frozen
class Run:
    code: int
    out: bytes
    err: str

    @property
    def err_lines(self) -> list[str]:
        return self.err.splitlines()


def run_cli(
    *args: str | Path,
    cwd: Path,
    tz: str | None = None,
    exe: Sequence[str] = CLI,
    timeout: float = 120,
) -> Run:
    env = dict(os.environ)
    if tz is not None:
        env["TZ"] = tz
    proc = subprocess.run(
        [*exe, *map(str, args)],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    err = proc.stderr.decode()
    assert "Traceback" not in err, err
    return Run(proc.returncode, proc.stdout, err)


def generate(*args: str | Path, cwd: Path, **kw: Any) -> Run:
    run = run_cli("generate", *args, cwd=cwd, **kw)
    assert run.code == 0, run.err
    return run


def jsonl(path: Path) -> list[Any]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def rule_ids_of(payload: Any, edition: Edition, rules: RuleSet, path_id: str | None) -> set[str]:
    return {v.rule for v in check(payload, edition=edition, rules=rules, path_id=path_id)}


def assert_labels_true(
    payloads: list[Any], labels: list[dict[str, Any]], edition: Edition, rules: RuleSet
) -> None:
    assert len(labels) == len(payloads)
    for i, (payload, label) in enumerate(zip(payloads, labels, strict=True)):
        assert label["index"] == i
        assert set(label) <= {"index", "kind", "rules", "features", "pathId"}
        found = rule_ids_of(payload, edition, rules, label.get("pathId"))
        if label["kind"] == "invalid":
            assert "pathId" in label, label
            assert found == set(label["rules"]), (label, found)
        else:
            assert label["kind"] in ("valid", "unusual"), label
            assert "pathId" not in label
            assert label["rules"] == []
            assert found == set(), (label, found)


def class_of(payload: dict[str, Any], edition: Edition) -> OrderingClass:
    """The ordering class of a payload, computed here from its timestamps."""
    instants: dict[datetime, list[str]] = {}
    for key in timestamps(edition):
        head, _, tail = key.partition(".")
        value = payload.get(head)
        if tail:
            value = value.get(tail) if isinstance(value, dict) else None
        if value is not None:
            instants.setdefault(parse_datetime(value), []).append(key)
    return OrderingClass(tuple(tuple(instants[t]) for t in sorted(instants)))


def assert_manifest_matches(
    manifest: dict[str, Any], labels: list[dict[str, Any]], digest: str
) -> None:
    assert manifest["sha256"] == digest
    assert manifest["records"] == len(labels)
    assert manifest["versions"]["callbacksim"] == version("callbacksim")
    assert manifest["versions"]["faker"] == version("faker")
    assert manifest["versions"]["hypothesis"] == version("hypothesis")
    counts = manifest["counts"]
    assert counts["byKind"] == dict(Counter(label["kind"] for label in labels))
    assert counts["byRule"] == dict(Counter(r for label in labels for r in label["rules"]))
    assert counts["byFeature"] == dict(Counter(f for label in labels for f in label["features"]))


# -- a mixed fixture: labels, manifest, standard error, reruns -------------------------------------

MIXED_ARGS = ("participants", "--mode", "mixed", "--count", "1500", "--seed", "11")


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Run]:
    where = tmp_path_factory.mktemp("mixed")
    run = generate(*MIXED_ARGS, "--out", "mixed.jsonl", cwd=where, tz="UTC")
    return where, run


def test_mixed_files_and_the_one_line_on_stderr(mixed: tuple[Path, Run]) -> None:
    where, run = mixed
    assert sorted(p.name for p in where.iterdir()) == [
        "mixed.jsonl",
        "mixed.labels.jsonl",
        "mixed.manifest.json",
    ]
    # Not a terminal: no progress bar, only the final line.
    (line,) = run.err_lines
    m = WROTE.match(line)
    assert m, line
    assert m["what"] == "1,500 participant(s)"
    assert m["out"] == "mixed.jsonl"
    assert sha256((where / "mixed.jsonl").read_bytes()).startswith(m["sha"])
    assert run.out == b""


def test_mixed_labels_are_true(mixed: tuple[Path, Run]) -> None:
    where, _ = mixed
    payloads, labels = jsonl(where / "mixed.jsonl"), jsonl(where / "mixed.labels.jsonl")
    assert len(payloads) == 1500
    kinds = Counter(label["kind"] for label in labels)
    assert set(kinds) == {"valid", "unusual", "invalid"}
    assert kinds["valid"] > kinds["unusual"] > 100
    assert kinds["invalid"] > 100
    assert_labels_true(payloads, labels, SEED, RuleSet.STRICT)


def test_mixed_manifest(mixed: tuple[Path, Run]) -> None:
    where, _ = mixed
    manifest = json.loads((where / "mixed.manifest.json").read_bytes())
    labels = jsonl(where / "mixed.labels.jsonl")
    assert_manifest_matches(manifest, labels, sha256((where / "mixed.jsonl").read_bytes()))
    assert manifest["seed"] == 11
    assert (manifest["edition"], manifest["rules"], manifest["mode"]) == ("seed", "strict", "mixed")
    assert (manifest["format"], manifest["exhaustive"], manifest["epochMs"]) == (
        "jsonl",
        False,
        None,
    )

    # The coverage summary is what `callbacksim coverage` says of the same file.
    run = run_cli("coverage", "mixed.jsonl", "--format", "json", cwd=where)
    assert run.code == 0, run.err
    report = json.loads(run.out)
    assert report["records"] == 1500
    for name, section in report["sections"].items():
        assert manifest["coverage"][name] == section | {"missing": section["missing"][:20]}, name


def test_mixed_round_trip_through_validate(mixed: tuple[Path, Run], tmp_path: Path) -> None:
    """validate's verdicts agree exactly with the labels: the request path's id of each record
    (``id.matches-path``) comes from the labels beside the fixture, and the summary says so."""
    where, _ = mixed
    labels = jsonl(where / "mixed.labels.jsonl")
    run = run_cli("validate", "mixed.jsonl", "--format", "json", cwd=where)
    assert run.code == 1
    results = [orjson.loads(line) for line in run.out.splitlines()]
    assert [r["index"] for r in results] == list(range(1500))
    for result, label in zip(results, labels, strict=True):
        assert {v["rule"] for v in result["violations"]} == set(label["rules"]), (result, label)
    path_only = sum(label["rules"] == ["id.matches-path"] for label in labels)
    assert path_only > 0  # the fixture has records only their request path makes invalid
    invalid = sum(label["kind"] == "invalid" for label in labels)
    text = run_cli("validate", "mixed.jsonl", cwd=where)
    summary = text.out.decode().splitlines()[-1]
    assert summary == (
        "1500 record(s) checked (strict rules, seed edition; path ids from mixed.labels.jsonl): "
        f"{invalid} invalid"
    )
    # The same records without their labels: those records cannot be judged, and it is said.
    (tmp_path / "bare.jsonl").write_bytes((where / "mixed.jsonl").read_bytes())
    bare = run_cli("validate", "bare.jsonl", cwd=tmp_path)
    assert bare.out.decode().splitlines()[-1] == (
        "1500 record(s) checked (strict rules, seed edition; id.matches-path unchecked: no "
        f"request paths): {invalid - path_only} invalid"
    )


@pytest.mark.parametrize("change", ["fewer", "more"])
def test_labels_that_are_not_the_fixtures_are_refused(
    mixed: tuple[Path, Run], tmp_path: Path, change: str
) -> None:
    """Labels beside a fixture with fewer or more labels than records belong to another file:
    validate says so and exits 2, rather than judge records against the wrong request paths."""
    where, _ = mixed
    records = (where / "mixed.jsonl").read_bytes().splitlines(keepends=True)
    labels = (where / "mixed.labels.jsonl").read_bytes().splitlines(keepends=True)
    if change == "fewer":
        labels = labels[:-1]
    else:
        records = records[:-1]
    (tmp_path / "f.jsonl").write_bytes(b"".join(records))
    (tmp_path / "f.labels.jsonl").write_bytes(b"".join(labels))
    run = run_cli("validate", "f.jsonl", cwd=tmp_path)
    assert run.code == 2
    err = run.err
    assert len(run.err_lines) == 1, err
    assert f"f.labels.jsonl has {'1,499 label(s)' if change == 'fewer' else 'more labels'}" in err
    assert "are not this fixture's" in err
    assert "Traceback" not in err


def test_rerun_elsewhere_other_tz_clock_ahead_is_byte_identical(
    mixed: tuple[Path, Run], tmp_path: Path
) -> None:
    where, _ = mixed
    other = tmp_path / "deeper" / "cwd"
    other.mkdir(parents=True)
    run = generate(
        *MIXED_ARGS, "--out", "mixed.jsonl", cwd=other, tz="Pacific/Kiritimati", exe=FAKE_CLOCK
    )
    assert WROTE.match(run.err)
    for name in ("mixed.jsonl", "mixed.labels.jsonl", "mixed.manifest.json"):
        assert (other / name).read_bytes() == (where / name).read_bytes(), name


def test_stdout_gets_only_the_records(mixed: tuple[Path, Run], tmp_path: Path) -> None:
    where, _ = mixed
    run = generate(*MIXED_ARGS, "--out", "-", cwd=tmp_path, tz="America/New_York")
    assert run.out == (where / "mixed.jsonl").read_bytes()
    assert run.err == ""
    assert list(tmp_path.iterdir()) == []  # no labels, no manifest


def test_other_seed_other_bytes(mixed: tuple[Path, Run], tmp_path: Path) -> None:
    where, _ = mixed
    args = [a if a != "11" else "12" for a in MIXED_ARGS]
    run = generate(*args, "--out", "-", cwd=tmp_path)
    assert run.out != (where / "mixed.jsonl").read_bytes()
    assert len(run.out.splitlines()) == 1500


# -- other modes, editions, rule sets and formats ------------------------------------------------


def test_invalid_sdk_structural_as_a_json_array(tmp_path: Path) -> None:
    generate(
        "participants", "--mode", "invalid", "--count", "400", "--seed", "2",
        "--edition", "sdk-269", "--rules", "structural", "--format", "json", "--out", "inv.json",
        cwd=tmp_path,
    )  # fmt: skip
    data = (tmp_path / "inv.json").read_bytes()
    assert data.startswith(b"[\n")
    assert data.endswith(b"\n]\n")
    payloads, labels = orjson.loads(data), jsonl(tmp_path / "inv.labels.jsonl")
    assert {label["kind"] for label in labels} == {"invalid"}
    assert_labels_true(payloads, labels, SDK, RuleSet.STRUCTURAL)
    manifest = json.loads((tmp_path / "inv.manifest.json").read_bytes())
    assert_manifest_matches(manifest, labels, sha256(data))
    assert (manifest["edition"], manifest["rules"], manifest["format"]) == (
        "sdk-269",
        "structural",
        "json",
    )

    run = run_cli(
        "validate", "inv.json", "--edition", "sdk-269", "--rules", "structural", "--format", "json",
        cwd=tmp_path,
    )  # fmt: skip
    results = [orjson.loads(line) for line in run.out.splitlines()]
    assert len(results) == 400
    for result, label in zip(results, labels, strict=True):  # path ids from the labels
        assert {v["rule"] for v in result["violations"]} == set(label["rules"]), (result, label)


def test_participants_as_a_directory(tmp_path: Path) -> None:
    generate(
        "participants", "--mode", "mixed", "--count", "150", "--seed", "9", "--format", "dir",
        "--out", "pdir", cwd=tmp_path,
    )  # fmt: skip
    root = tmp_path / "pdir"
    files = sorted(p for p in root.iterdir() if re.fullmatch(r"\d{7}\.json", p.name))
    assert [p.name for p in files] == [f"{i:07d}.json" for i in range(150)]
    assert sorted({p.name for p in root.iterdir()} - {p.name for p in files}) == [
        "labels.jsonl",
        "manifest.json",
    ]
    payloads = [orjson.loads(p.read_bytes()) for p in files]
    labels = jsonl(root / "labels.jsonl")
    assert_labels_true(payloads, labels, SEED, RuleSet.STRICT)
    manifest = json.loads((root / "manifest.json").read_bytes())
    assert_manifest_matches(manifest, labels, sha256(b"".join(p.read_bytes() for p in files)))

    # validate on each file. A record whose payload is a JSON array (a json.object case) cannot be
    # told from an array of participants once alone in a file: validate reads its items.
    run = run_cli("validate", *(p.name for p in files), "--format", "json", cwd=root)
    by_source: dict[str, list[dict[str, Any]]] = {}
    for line in run.out.splitlines():
        result = orjson.loads(line)
        by_source.setdefault(result["source"], []).append(result)
    for path, payload, label in zip(files, payloads, labels, strict=True):
        if isinstance(payload, list):
            assert label["rules"] == ["json.object"]
            assert len(by_source.get(path.name, [])) == len(payload)
            continue
        (result,) = by_source[path.name]
        expected = set(label["rules"]) - {"id.matches-path"}
        assert {v["rule"] for v in result["violations"]} == expected, (path.name, label)


@pytest.mark.parametrize(("edition", "size"), [(SEED, 57), (SDK, 73)])
def test_edge_set_covers_everything(tmp_path: Path, edition: Edition, size: int) -> None:
    generate(
        "participants", "--mode", "edge", "--count", "10", "--edition", edition.value,
        "--out", "edge.jsonl", cwd=tmp_path,
    )  # fmt: skip
    payloads, labels = jsonl(tmp_path / "edge.jsonl"), jsonl(tmp_path / "edge.labels.jsonl")
    # The whole covering set even past --count; one record per allowed state x disconnectType.
    assert len(payloads) == size == len(allowed_pairs(edition))
    assert size < 100
    assert all(label["features"] == ["edge"] for label in labels)
    assert_labels_true(payloads, labels, edition, RuleSet.STRICT)
    run = run_cli(
        "coverage", "edge.jsonl", "--edition", edition.value, "--format", "json", cwd=tmp_path
    )
    sections = json.loads(run.out)["sections"]
    for name in ("enum values", "state x disconnectType", "pairwise ordering"):
        assert sections[name]["percent"] == 100.0, (name, sections[name]["missing"])
    manifest = json.loads((tmp_path / "edge.manifest.json").read_bytes())
    assert manifest["coverage"]["pairwise ordering"]["percent"] == 100.0


def test_exhaustive_is_every_ordering_class_once(tmp_path: Path) -> None:
    generate("participants", "--exhaustive", "--count", "5", "--out", "all.jsonl", cwd=tmp_path)
    payloads = jsonl(tmp_path / "all.jsonl")
    assert len(payloads) == 21_092
    assert all(not check(p) for p in payloads)
    seen = [class_of(p, SEED) for p in payloads]
    assert len(set(seen)) == 21_092
    assert set(seen) == set(classes(SEED))
    manifest = json.loads((tmp_path / "all.manifest.json").read_bytes())
    assert manifest["records"] == 21_092
    assert manifest["exhaustive"] is True
    assert manifest["counts"]["byKind"] == {"valid": 21_092}
    assert manifest["coverage"]["ordering classes"]["percent"] == 100.0


def test_epoch_moves_every_time(tmp_path: Path) -> None:
    args = ("participants", "--count", "50", "--seed", "4", "--out", "-")
    plain = [orjson.loads(x) for x in generate(*args, cwd=tmp_path).out.splitlines()]
    moved_run = generate(*args, "--epoch", "2030-06-01T00:00:00Z", cwd=tmp_path)
    moved = [orjson.loads(x) for x in moved_run.out.splitlines()]
    shift = parse_datetime("2030-06-01T00:00:00Z") - parse_datetime("2026-01-01T00:00:00Z")
    checked = 0
    for a, b in zip(plain, moved, strict=True):
        for key in timestamps(SEED):
            head, _, tail = key.partition(".")
            va, vb = a.get(head), b.get(head)
            if tail:
                va = va.get(tail) if isinstance(va, dict) else None
                vb = vb.get(tail) if isinstance(vb, dict) else None
            assert (va is None) == (vb is None)
            if va is not None:
                assert parse_datetime(vb) - parse_datetime(va) == shift
                checked += 1
    assert checked > 100


# -- lifecycles ----------------------------------------------------------------------------------

LIFECYCLE_ARGS = (
    "lifecycles", "--count", "25", "--seed", "4", "--edition", "sdk-269", "--path", "hold",
    "--set", "park_probability=0", "--profile", "profile.toml",
)  # fmt: skip


@pytest.fixture(scope="module")
def lifecycles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("lifecycles")
    (where / "profile.toml").write_text("talk_median_s = 900\npark_probability = 0.5\n")
    generate(*LIFECYCLE_ARGS, "--out", "life.jsonl", cwd=where, tz="UTC")
    generate(*LIFECYCLE_ARGS, "--format", "dir", "--out", "convs", cwd=where, tz="UTC")
    return where


def test_lifecycle_events_are_ordered_and_valid(lifecycles: Path) -> None:
    events = jsonl(lifecycles / "life.jsonl")
    conversations = [
        (cid, list(group))
        for cid, group in itertools.groupby(events, lambda e: e["conversationId"])
    ]
    assert len(conversations) == len({cid for cid, _ in conversations}) == 25  # contiguous
    starts = [parse_datetime(group[0]["time"]) for _, group in conversations]
    assert starts == sorted(starts)
    for _, group in conversations:
        times = [parse_datetime(e["time"]) for e in group]
        assert times == sorted(times)
    for event in events:
        assert list(event) == ["time", "conversationId", "participantId", "sequence", "participant"]
        assert check(event["participant"], edition=SDK) == []


def test_lifecycle_manifest_and_profile_options(lifecycles: Path) -> None:
    data = (lifecycles / "life.jsonl").read_bytes()
    manifest = json.loads((lifecycles / "life.manifest.json").read_bytes())
    assert manifest["sha256"] == sha256(data)
    assert manifest["lifecycles"] == 25
    assert manifest["events"] == len(data.splitlines())
    assert manifest["paths"] == ["hold"]
    assert manifest["counts"]["byPath"]["hold"] == 25  # every lifecycle took the required path
    assert "park" not in manifest["counts"]["byPath"]
    # --profile then --set on top of it.
    assert manifest["profile"]["talk_median_s"] == 900
    assert manifest["profile"]["park_probability"] == 0
    assert manifest["edition"] == "sdk-269"
    assert manifest["epochMs"] == 1_767_225_600_000  # 2026-01-01T00:00:00Z
    assert manifest["versions"]["faker"] == version("faker")


def test_lifecycles_as_a_directory(lifecycles: Path) -> None:
    root = lifecycles / "convs"
    files = sorted(p for p in root.iterdir() if p.name != "manifest.json")
    assert len(files) == 25
    events = []
    for i, path in enumerate(files):
        doc = orjson.loads(path.read_bytes())
        assert path.name == f"{i:06d}-{doc['conversationId']}.json"
        assert {e["conversationId"] for e in doc["events"]} == {doc["conversationId"]}
        events.extend(doc["events"])
    assert events == jsonl(lifecycles / "life.jsonl")  # the same lifecycles as the JSONL file
    manifest = json.loads((root / "manifest.json").read_bytes())
    assert manifest["sha256"] == sha256(b"".join(p.read_bytes() for p in files))
    assert manifest["format"] == "dir"


def test_lifecycles_rerun_is_byte_identical_and_epoch_moves_them(
    lifecycles: Path, tmp_path: Path
) -> None:
    (tmp_path / "profile.toml").write_bytes((lifecycles / "profile.toml").read_bytes())
    generate(*LIFECYCLE_ARGS, "--out", "life.jsonl", cwd=tmp_path, tz="Asia/Tokyo", exe=FAKE_CLOCK)
    for name in ("life.jsonl", "life.manifest.json"):
        assert (tmp_path / name).read_bytes() == (lifecycles / name).read_bytes(), name
    run = generate(*LIFECYCLE_ARGS, "--epoch", "2031-02-03T04:05:06Z", "--out", "-", cwd=tmp_path)
    first = orjson.loads(run.out.splitlines()[0])
    assert first["time"] == "2031-02-03T04:05:06.000Z"
    assert run.err == ""


# -- usage errors --------------------------------------------------------------------------------

ERRORS = {
    "bad mode": (["participants", "--mode", "bogus"], "is not one of: valid, unusual"),
    "bad format": (["participants", "--format", "xml"], "is not one of: jsonl, json, dir"),
    "bad epoch": (["participants", "--epoch", "yesterday"], "--epoch"),
    "exhaustive sdk": (
        ["participants", "--exhaustive", "--edition", "sdk-269", "--out", "x.jsonl"],
        "seed edition only",
    ),
    "negative count": (["participants", "--count", "-1", "--out", "x.jsonl"], "got -1"),
    "negative lifecycles": (["lifecycles", "--count", "-1", "--out", "x.jsonl"], "got -1"),
    "dir to stdout": (["participants", "--format", "dir", "--out", "-"], "--format dir needs"),
    "lifecycle dir to stdout": (["lifecycles", "--format", "dir"], "--format dir needs"),
    "set for participants": (["participants", "--set", "talk_median_s=1"], "shape lifecycles"),
    "path for participants": (["participants", "--path", "hold"], "shape lifecycles"),
    "profile for participants": (["participants", "--profile", "p.toml"], "shape lifecycles"),
    "exhaustive for lifecycles": (["lifecycles", "--exhaustive"], "apply to participants"),
    "mode for lifecycles": (["lifecycles", "--mode", "edge"], "apply to participants"),
    "labels for lifecycles": (["lifecycles", "--labels", "l.jsonl"], "apply to participants"),
    "out under a file": (["participants", "--out", "afile/x.jsonl"], "cannot write"),
    "out is a directory": (["participants", "--out", "adir"], "adir is a directory"),
    "labels under a file": (
        ["participants", "--out", "x.jsonl", "--labels", "afile/l.jsonl"],
        "cannot write afile/l.jsonl",
    ),
    "manifest under a file": (
        ["participants", "--out", "x.jsonl", "--manifest", "afile/m.json"],
        "cannot write afile/m.json",
    ),
    "lifecycles out under a file": (["lifecycles", "--out", "afile/x.jsonl"], "cannot write"),
    "participants dir under a file": (
        ["participants", "--format", "dir", "--out", "afile/d"],
        "cannot write",
    ),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_usage_errors(case: str, tmp_path: Path) -> None:
    args, fragment = ERRORS[case]
    (tmp_path / "afile").write_text("not a directory")
    (tmp_path / "adir").mkdir()
    before = sorted(p.name for p in tmp_path.iterdir())
    run = run_cli("generate", "--count", "3", *args, cwd=tmp_path)
    assert run.code == 2, run
    assert run.out == b""
    first, *rest = run.err_lines
    assert first.startswith(("callbacksim: error: ", "callbacksim generate: error: ")), first
    assert fragment in first, first
    # argparse adds a pointer to --help; nothing else.
    assert rest in ([], ["(run 'callbacksim generate --help' for usage)"]), rest
    if case in ("exhaustive sdk", "negative count", "out is a directory"):
        assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written


# -- memory --------------------------------------------------------------------------------------

PEAK_RSS = (
    sys.executable,
    "-c",
    "import resource, subprocess, sys\n"
    "subprocess.run([sys.executable, '-m', 'callbacksim.cli', *sys.argv[1:]], check=True,\n"
    "               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n",
)


def test_memory_does_not_grow_with_count(tmp_path: Path) -> None:
    def peak(count: int) -> int:
        run = run_cli(
            "generate", "participants", "--count", str(count), "--out", f"p{count}.jsonl",
            cwd=tmp_path, exe=PEAK_RSS,
        )  # fmt: skip
        assert run.code == 0, run.err
        return int(run.out)

    small, big = peak(30_000), peak(300_000)
    assert len((tmp_path / "p300000.jsonl").read_bytes().splitlines()) == 300_000
    assert big < 1.3 * small, (small, big)
