"""Anonymising: keyed (same key, same bytes; another key, other bytes), consistent everywhere,
realistic in shape, and nothing but the personal values changed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson
import pytest
from export_shapes import EXAMPLE, export, generated

from callbacksim.cli import main
from callbacksim.errors import UsageError
from callbacksim.generation.lifecycle import lifecycles_from_events
from callbacksim.jobs.anonymise import PERSONAL, Anonymiser, personal_list
from callbacksim.model import Edition
from callbacksim.rules import check

KEY = b"correct horse battery staple"

CONTACT = "0b0c6a6e-1f5e-4c51-9a0b-4dc7e3d1a111"
CUSTOMER: dict[str, Any] = {
    "id": "9f1c3c4e-7d0b-4f7a-8e62-6a9d2f1b0c11",
    "name": "Jane Doe",
    "address": "+4915112345678",
    "purpose": "customer",
    "state": "connected",
    "connectedTime": "2026-01-01T00:00:00.000Z",
    "callbackUserName": "Jane Doe",
    "callbackNumbers": ["+4915112345678", "tel:+14155550123", "+44 7700 900123"],
    "attributes": {
        "email": "jane.doe@mail.example",
        "caseId": "CASE-10442",
        "reason": "Billing question",
        "mobile": "+4915112345678",
        "contact": CONTACT,
    },
    "externalContact": {
        "id": CONTACT,
        "name": "Jane Doe",
        "selfUri": f"/api/v2/externalcontacts/contacts/{CONTACT}",
    },
    "externalOrganization": {"id": "7c2a0e4b-1d1e-4c33-9a55-0f6a1c2b3d44", "name": "Acme Corp"},
    "wrapup": {"code": "c1", "notes": "Asked for a refund of order 4471."},
    "journeyContext": {"customer": {"id": "cust-88213", "idType": "cookie"}},
    "queue": {"id": "q1", "name": "Billing"},
}


def test_personal_values_are_replaced_consistently_and_keep_their_shape() -> None:
    out = Anonymiser(KEY).participant(CUSTOMER)
    assert out["name"] == out["callbackUserName"] == out["externalContact"]["name"]
    assert out["name"] != "Jane Doe"
    numbers = out["callbackNumbers"]
    assert out["address"] == numbers[0] == out["attributes"]["mobile"]
    assert re.fullmatch(r"\+49\d{9,12}", numbers[0])
    assert numbers[0] != "+4915112345678"
    assert re.fullmatch(r"tel:\+1\d{10}", numbers[1])
    assert re.fullmatch(r"\+44 \d{4} \d{6}", numbers[2])
    attrs_ = out["attributes"]
    assert re.fullmatch(r"[^@]+@example\.(com|org|net)", attrs_["email"])
    assert re.fullmatch(r"[A-Z]{4}-\d{5}", attrs_["caseId"])
    assert attrs_["caseId"] != "CASE-10442"
    assert re.fullmatch(r"[A-Z][a-z]+ [a-z]+", attrs_["reason"])
    contact = out["externalContact"]["id"]
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", contact
    )
    assert contact != CONTACT
    assert attrs_["contact"] == contact
    assert out["externalContact"]["selfUri"] == f"/api/v2/externalcontacts/contacts/{contact}"
    assert out["externalOrganization"]["name"] != "Acme Corp"
    assert out["externalOrganization"]["id"] != CUSTOMER["externalOrganization"]["id"]
    assert out["wrapup"]["notes"] != CUSTOMER["wrapup"]["notes"]
    assert len(out["wrapup"]["notes"].split()) == len(CUSTOMER["wrapup"]["notes"].split())
    assert re.fullmatch(r"[a-z]{4}-\d{5}", out["journeyContext"]["customer"]["id"])
    # Not personal: kept as it was, and in its place.
    for key in ("id", "purpose", "state", "connectedTime", "queue"):
        assert out[key] == CUSTOMER[key]
    assert out["wrapup"]["code"] == "c1"
    assert out["journeyContext"]["customer"]["idType"] == "cookie"
    assert list(out) == list(CUSTOMER)
    assert CUSTOMER["name"] == "Jane Doe", "the input is not changed"


def test_the_key_decides_the_fakes() -> None:
    same = Anonymiser(KEY).participant(CUSTOMER)
    assert Anonymiser(KEY).participant(CUSTOMER) == same
    other = Anonymiser(b"another key").participant(CUSTOMER)
    for path in ("name", "address"):
        assert other[path] != same[path]
    assert other["externalContact"]["id"] != same["externalContact"]["id"]
    with pytest.raises(UsageError, match="key is empty"):
        Anonymiser(b"")


def test_queue_and_flow_names_are_not_personal() -> None:
    a = Anonymiser(KEY)
    assert a.participant({"purpose": "acd", "name": "Billing"})["name"] == "Billing"
    assert a.participant({"purpose": "ivr", "name": "Main IVR"})["name"] == "Main IVR"
    assert a.participant({"purpose": "agent", "name": "Ann Lee"})["name"] != "Ann Lee"


def test_names_keep_their_script() -> None:
    a = Anonymiser(KEY)
    japanese = a.value("name", "佐藤翔")
    assert japanese != "佐藤翔"
    assert all("\u3040" <= c <= "\u9fff" for c in japanese)
    arabic = a.value("name", "محمد العتيبي")
    assert any("\u0600" <= c <= "\u06ff" for c in arabic)


def run(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def lifecycle_file(tmp_path: Path) -> Path:
    path = tmp_path / "conversations.jsonl"
    lines = [orjson.dumps(e.to_wire()) for lc in generated(30, seed=5) for e in lc.events]
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def personal_strings(payload: dict[str, Any]) -> set[str]:
    """Customers' and agents' names and every phone number of a participant."""
    found = set(payload.get("callbackNumbers", ()))
    if payload.get("purpose") in ("customer", "agent"):
        found.add(payload["name"])
    if payload.get("address"):
        found.add(payload["address"])
    return found


def without_personal(payload: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in payload.items() if k not in ("name", "address", "callbackUserName")}
    out.pop("callbackNumbers", None)
    if "attributes" in out:  # every value replaced, the keys kept
        out["attributes"] = sorted(out["attributes"])
    if "user" in out:
        out["user"] = {k: v for k, v in out["user"].items() if k != "name"}
    if "wrapup" in out:
        out["wrapup"] = {k: v for k, v in out["wrapup"].items() if k != "notes"}
    if "outboundPreview" in out:
        out["outboundPreview"] = {
            k: v for k, v in out["outboundPreview"].items() if k != "contactId"
        }
    return out


def test_anonymising_a_lifecycle_file_same_key_same_bytes(
    capsys: pytest.CaptureFixture[str], lifecycle_file: Path, tmp_path: Path
) -> None:
    outs = []
    for name, key in (("a", "k1"), ("b", "k1"), ("c", "k2")):
        out = tmp_path / f"{name}.jsonl"
        code, _, err = run(capsys, "anonymise", lifecycle_file, "--key", key, "--out", out)
        assert code == 0, err
        assert "wrote" in err
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    assert outs[0] != outs[2]
    original = [orjson.loads(line) for line in lifecycle_file.read_bytes().splitlines()]
    anonymised = [orjson.loads(line) for line in outs[0].splitlines()]
    assert len(anonymised) == len(original)
    secrets = {s for e in original for s in personal_strings(e["participant"])}
    numbers = {s for s in secrets if s.startswith("+")}
    assert len(numbers) > 30
    text = outs[0].decode()
    assert not [n for n in numbers if n in text], "no phone number survives"
    for before, after in zip(original, anonymised, strict=True):
        assert {k: v for k, v in before.items() if k != "participant"} == {
            k: v for k, v in after.items() if k != "participant"
        }
        assert without_personal(after["participant"]) == without_personal(before["participant"])
        assert check(after["participant"]) == []
    # One customer: the same fake in every snapshot, in every leg that carries the number.
    lcs = lifecycles_from_events(anonymised)
    for lc in lcs:
        numbers_seen = {
            tuple(p.get("callbackNumbers", ())) for e in lc.events for p in [e.participant]
        }
        numbers_seen.discard(())
        assert len(numbers_seen) == 1


def test_import_with_anonymise_is_anonymise_after_import(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Anonymising the export before the rebuild or the lifecycle after it gives the same bytes:
    the fakes depend on the values alone."""
    plain, first, second = tmp_path / "plain.jsonl", tmp_path / "1.jsonl", tmp_path / "2.jsonl"
    assert run(capsys, "import", EXAMPLE, "--out", plain)[0] == 0
    assert run(capsys, "import", EXAMPLE, "--anonymise", "k", "--out", first)[0] == 0
    assert run(capsys, "anonymise", plain, "--key", "k", "--out", second)[0] == 0
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes() != plain.read_bytes()
    key_file = tmp_path / "key.txt"
    key_file.write_text("k\n", encoding="utf-8")
    third = tmp_path / "3.jsonl"
    assert run(capsys, "import", EXAMPLE, "--anonymise-key-file", key_file, "--out", third)[0] == 0
    assert third.read_bytes() == first.read_bytes()


def test_exports_and_listing_pages_are_anonymised_participant_by_participant(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "anon.jsonl"
    code, _, _ = run(capsys, "anonymise", EXAMPLE, "--key", "k", "--out", out)
    assert code == 0
    (page,) = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    original = orjson.loads(EXAMPLE.read_bytes())
    assert page.keys() == original.keys()
    assert len(page["entities"]) == len(original["entities"])
    for before, after in zip(original["entities"], page["entities"], strict=True):
        assert after["id"] == before["id"]
        for p, q in zip(before["participants"], after["participants"], strict=True):
            assert without_personal(q) == without_personal(p)
            if p["purpose"] == "customer":
                assert q["name"] != p["name"]


def test_the_list_of_personal_paths_can_be_extended(tmp_path: Path) -> None:
    agent = {"purpose": "agent", "user": {"id": "u-1", "name": "Ann Lee"}, "peer": "p-77"}
    assert Anonymiser(KEY).participant(agent)["user"]["id"] == "u-1"
    extended = personal_list(["user.id=id", "peer"])
    out = Anonymiser(KEY, extended).participant(agent)
    assert out["user"]["id"] != "u-1"
    assert re.fullmatch(r"[a-z]-\d", out["user"]["id"])
    assert out["peer"] != "p-77"
    file = tmp_path / "personal.toml"
    file.write_text('[personal]\n"user.id" = "id"\n"user.name" = "keep"\n', encoding="utf-8")
    from_file = personal_list(file=file)
    assert "user.name" not in {p.path for p in from_file}
    kept = Anonymiser(KEY, from_file).participant(agent)
    assert kept["user"] == {"id": out["user"]["id"], "name": "Ann Lee"}
    assert len(personal_list()) == len(PERSONAL)
    with pytest.raises(UsageError, match=r"unknown kind 'secret' for user\.id; choose from name"):
        personal_list(["user.id=secret"])
    with pytest.raises(UsageError, match="is not a personal path"):
        personal_list(["user..id"])
    file.write_text("personal = 3\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"must hold a \[personal\] table"):
        personal_list(file=file)


def test_anonymise_command_errors_and_list(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = run(capsys, "anonymise", "--list")
    assert code == 0
    assert "callbackNumbers[]" in out
    assert "attributes.*" in out
    assert "not on acd, ivr, workflow legs" in out
    code, out, _ = run(capsys, "anonymise", "--list", "--personal", "user.id=id")
    assert "user.id" in out
    code, _, err = run(capsys, "anonymise", str(EXAMPLE))
    assert code == 2
    assert "give the anonymisation key: --key KEY or --key-file FILE" in err
    code, _, err = run(capsys, "anonymise", "--key", "k")
    assert code == 2
    assert "give the FILE(s) to anonymise" in err
    broken = tmp_path / "broken.jsonl"
    broken.write_bytes(orjson.dumps(export(generated(1)[0])) + b"\nnot json\n")
    code, out, err = run(capsys, "anonymise", broken, "--key", "k")
    assert code == 1
    assert len(out.splitlines()) == 1
    assert f"{broken}:2: not JSON, left out" in err


def test_anonymised_snapshots_stay_valid_in_the_sdk_edition() -> None:
    a = Anonymiser(KEY)
    for lc in generated(40, seed=12, edition=Edition.SDK_269):
        for event in lc.events:
            assert check(a.participant(event.participant), edition=Edition.SDK_269) == []
