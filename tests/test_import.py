"""``callbacksim import``: exports in, an ordinary lifecycle file out, everything found reported;
and the file replays to convergence against the reference target."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import orjson
import pytest
from buggy_targets import ConversationKeepsFirst, app, running
from export_shapes import EXAMPLE, example_export, export, generated, pages

from callbacksim.cli import main
from callbacksim.generation.lifecycle import Lifecycle, lifecycles_from_events, stream_lifecycles
from callbacksim.model import Edition
from callbacksim.records import open_source, read_records
from callbacksim.rules import check
from callbacksim.simulator import Faults, ReplayConfig, ReplayResult, replay
from callbacksim.simulator.adapters import StoreAdapter
from callbacksim.simulator.client import HttpClient
from callbacksim.target import BackgroundServer, ServerConfig


def run(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def events_of(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def test_the_example_export_is_what_the_helper_makes() -> None:
    """The example shipped with the tests is reproducible: `python tests/export_shapes.py`."""
    assert EXAMPLE.read_bytes() == example_export()


def test_importing_the_example_gives_an_ordinary_lifecycle_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "conversations.jsonl"
    code, stdout, err = run(capsys, "import", EXAMPLE, "--out", out)
    assert code == 0, err
    assert stdout == ""
    page = orjson.loads(EXAMPLE.read_bytes())
    assert err.splitlines()[-1] == (
        "imported 20 conversation(s), 71 participant(s): all valid; "
        f"wrote {len(events_of(out))} event(s)"
    )
    # Each assumption made is said once, with how many participants needed it.
    assumed = [line for line in err.splitlines() if line.startswith("assumed (")]
    kinds = [line.split(",")[0].removeprefix("assumed (") for line in assumed]
    assert len(kinds) == len(set(kinds))
    assert {"waits-none", "alerting-from-start"} <= set(kinds)
    # Streamed back by the readers replay and show use, the finals are the export's.
    with open_source(str(out)) as stream:
        lcs = list(stream_lifecycles(r.payload for r in read_records(stream, name=str(out))))
    assert [lc.conversation_id for lc in lcs] == [c["id"] for c in page["entities"]]
    for lc, conversation in zip(lcs, page["entities"], strict=True):
        assert list(lc.finals().values()) == conversation["participants"]
        assert all(check(e.participant) == [] for e in lc.events)
    code, shown, _ = run(capsys, "show", "--file", out, "--conversation", lcs[3].conversation_id)
    assert code == 0
    assert lcs[3].conversation_id in shown
    # The same input gives the same bytes.
    again = tmp_path / "again.jsonl"
    assert run(capsys, "import", EXAMPLE, "--out", again)[0] == 0
    assert again.read_bytes() == out.read_bytes()


def test_every_shape_imports_to_the_same_lifecycles(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    conversations = [export(lc) for lc in generated(9, seed=21)]
    shapes = {
        "one.json": [orjson.dumps(c, option=orjson.OPT_INDENT_2) for c in conversations[:1]],
        "array.json": [orjson.dumps(conversations)],
        "lines.jsonl": [b"\n".join(orjson.dumps(c) for c in conversations)],
        "pages.json": [orjson.dumps(pages(conversations, 4))],
        "pages.jsonl": [b"\n".join(orjson.dumps(p) for p in pages(conversations, 4))],
    }
    outputs = {}
    for name, chunks in shapes.items():
        source = tmp_path / name
        source.write_bytes(b"".join(chunks))
        out = tmp_path / f"{name}.out.jsonl"
        code, _, err = run(capsys, "import", source, "--out", out)
        assert code == 0, err
        outputs[name] = out.read_bytes()
    assert outputs["array.json"] == outputs["lines.jsonl"] == outputs["pages.json"]
    assert outputs["pages.jsonl"] == outputs["array.json"]
    assert outputs["array.json"].startswith(outputs["one.json"])
    # Several files in one run: one lifecycle file.
    out = tmp_path / "both.jsonl"
    first, rest = tmp_path / "first.json", tmp_path / "rest.json"
    first.write_bytes(orjson.dumps(conversations[:4]))
    rest.write_bytes(orjson.dumps(conversations[4:]))
    assert run(capsys, "import", first, rest, "--out", out)[0] == 0
    assert out.read_bytes() == outputs["array.json"]


def test_invalid_participants_are_reported_kept_and_marked(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    page = orjson.loads(EXAMPLE.read_bytes())
    broken = copy.deepcopy(page)
    victim = broken["entities"][2]["participants"][1]
    victim["held"] = "no"
    victim["endTime"] = "2020-01-01T00:00:00Z"  # before its start
    source = tmp_path / "broken.json"
    source.write_bytes(orjson.dumps(broken))
    out = tmp_path / "out.jsonl"
    code, _, err = run(capsys, "import", source, "--out", out)
    assert code == 1
    cid = broken["entities"][2]["id"]
    assert f"{source}.entities[2]: conversation {cid}, participant {victim['id']}: invalid" in err
    assert "  type.held  $.held  expected a boolean (true or false), got the string 'no'" in err
    assert "order.start<=end" in err
    assert "rules broken: order.connected<=end (1), order.start<=end (1), type.held (1)" in err
    assert "1 invalid (kept, marked)" in err
    marked = [e for e in events_of(out) if "invalid" in e]
    assert len(marked) == 1
    assert marked[0]["participant"] == victim
    assert marked[0]["invalid"] == ["order.connected<=end", "order.start<=end", "type.held"]
    # Readers of lifecycle files take the marked file as it is.
    assert len(lifecycles_from_events(events_of(out))) == 20
    skipped = tmp_path / "skipped.jsonl"
    code, _, err = run(capsys, "import", source, "--out", skipped, "--skip-invalid")
    assert code == 1
    assert "participant " + victim["id"] in err
    assert victim["id"] not in {e["participantId"] for e in events_of(skipped)}
    assert len(events_of(skipped)) == len(events_of(out)) - 1


def test_what_is_not_imported_is_reported(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    conversations = [export(lc) for lc in generated(3, seed=2)]
    source = tmp_path / "mixed.jsonl"
    lines = [orjson.dumps(c) for c in conversations]
    lines += [b"[1, 2]", b"{not json", orjson.dumps(conversations[0])]
    source.write_bytes(b"\n".join(lines))
    out = tmp_path / "out.jsonl"
    code, _, err = run(capsys, "import", source, "--out", out)
    assert code == 0
    assert f"{source}:4: not a JSON object (a conversation is one)" in err
    assert f"{source}:5: not JSON" in err
    assert f"{source}:6: conversation {conversations[0]['id']} was imported already" in err
    assert "imported 3 conversation(s)" in err
    assert "3 problem(s) reported" in err


def test_usage_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "import", tmp_path / "missing.json")
    assert code == 2
    assert "missing.json: no such file" in err
    cut = tmp_path / "cut.json"
    cut.write_bytes(EXAMPLE.read_bytes()[:5000])
    code, _, err = run(capsys, "import", cut, "--out", tmp_path / "o.jsonl")
    assert code == 2
    assert f"callbacksim: error: {cut}: {cut} is not valid JSON" in err
    code, _, err = run(capsys, "import", EXAMPLE, "--anonymise", "a", "--anonymise-key-file", cut)
    assert code == 2
    assert "give --anonymise or --anonymise-file, not both" in err.replace("-key-file", "-file")


def replay_file(url: str, path: Path, cfg: ReplayConfig) -> ReplayResult:
    with open_source(str(path)) as stream:
        lcs: list[Lifecycle] = list(
            stream_lifecycles(r.payload for r in read_records(stream, name=str(path)))
        )
    with HttpClient(url) as client:
        return replay(client, StoreAdapter(), lcs, cfg)


@pytest.mark.slow
@pytest.mark.parametrize("edition", [Edition.SEED, Edition.SDK_269])
def test_an_imported_export_replays_to_convergence(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, edition: Edition
) -> None:
    source = tmp_path / "export.json"
    conversations = [export(lc) for lc in generated(60, seed=8, edition=edition)]
    source.write_bytes(orjson.dumps(pages(conversations, 25)))
    out = tmp_path / "conversations.jsonl"
    code, _, err = run(capsys, "import", source, "--edition", edition, "--out", out)
    assert code == 0, err
    cfg = ReplayConfig(faults=Faults(duplicates=0.2, reorder=0.3), edition=edition)
    with BackgroundServer(ServerConfig(port=0, edition=edition)) as url:
        result = replay_file(url, out, cfg)
    assert result.failed == 0
    assert set(result.rejections) <= {"409"}  # only stale snapshots overtaken by newer ones
    assert result.read_back
    assert result.conversations == result.conversations_converged == 60
    assert result.participants_checked == sum(len(c["participants"]) for c in conversations)
    assert result.participants_converged == result.participants_checked
    assert result.not_converged == []


@pytest.mark.slow
def test_an_imported_export_catches_a_target_that_keeps_stale_conversations(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "conversations.jsonl"
    assert run(capsys, "import", EXAMPLE, "--out", out)[0] == 0
    with running(app(ConversationKeepsFirst)) as url:
        result = replay_file(url, out, ReplayConfig())
    assert result.failed == 0
    assert result.conversations_converged < result.conversations == 20


@pytest.mark.slow
def test_import_memory_does_not_grow_with_the_export(tmp_path: Path) -> None:
    """Four times the conversations, not four times the memory: one conversation is held at a
    time (and the ids seen, a few bytes each)."""
    import tracemalloc

    from callbacksim.jobs.importer import ImportJob, run_import

    conversations = [export(lc) for lc in generated(400, seed=31)]

    def peak(n: int) -> int:
        source = tmp_path / f"{n}.json"
        source.write_bytes(orjson.dumps(conversations[:n]))
        job = ImportJob((str(source),), out=str(tmp_path / f"{n}.jsonl"))
        tracemalloc.start()
        try:
            run_import(job)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    peak(20)  # caches and lazy imports are filled once
    small, large = peak(100), peak(400)
    assert large < 1.25 * small, (small, large)
