"""The reference target under attack: generated hostile requests, never a 5xx.

The target runs as ``callbacksim serve`` (a process of its own, on 127.0.0.1, a temporary
database), and a raw asyncio client sends it more than 10,000 requests drawn from a seeded mix of
hostile inputs: wrong types, deep nesting, huge strings and maps, invalid UTF-8, duplicate keys,
numbers out of range, bodies over the limit, truncated bodies, wrong content types, malformed
request lines, headers and sequences, bad paths and methods, and slow clients that trickle a body.
Each request must end with a 4xx answer or a closed connection (a well-formed valid write may get
its 2xx); never a 5xx. Afterwards the process is alive and healthy, still stores and reads back,
and its memory has stayed bounded.
"""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from loopback import serving_process

from callbacksim.generation.chooser import RandomChooser
from callbacksim.generation.participants import Shape, build_participant, copy_payload

LIMIT = 64 * 1024
"""The target's body limit here (``--max-body``): small, so bodies over it are cheap to send."""
READ_TIMEOUT = 1.0
"""The target's ``--read-timeout``: a trickled body slower than this answers 408."""


@contextmanager
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str, int]]:
    options = ("--max-body", str(LIMIT), "--read-timeout", str(READ_TIMEOUT))
    db, log = tmp_path / "store.sqlite3", tmp_path / "serve.log"
    with serving_process(db, *options, log=log) as (process, url):
        yield process, "127.0.0.1", int(url.rsplit(":", 1)[1])


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (the peak) of a process, in kB."""
    out = {}
    for row in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = row.partition(":")
        if name in ("VmRSS", "VmHWM"):
            out[name] = int(value.split()[0])
    return out


# -- hostile requests -----------------------------------------------------------------------------

Request = tuple[str, bytes, float]
"""(kind, raw bytes of the request, seconds to trickle it over; 0: at once)."""


def http(
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    *,
    length: int | None = None,
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    if body is not None:
        all_headers["Content-Length"] = str(len(body) if length is None else length)
    lines += [f"{k}: {v}" for k, v in all_headers.items()]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head + (body or b"")


class Hostile:
    """Draws hostile requests from a seeded generator."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.chooser = RandomChooser(seed)
        self.n = 0

    def participant(self, pid: str) -> dict[str, object]:
        payload = copy_payload(build_participant(self.chooser, Shape()))
        payload["id"] = pid
        return payload

    def path(self) -> tuple[str, str]:
        self.n += 1
        pid = f"p{self.n}"
        return f"/conversations/c{self.n % 97}/participants/{pid}", pid

    def put(self, body: bytes, **headers: str) -> bytes:
        path, _ = self.path()
        return http("PUT", path, body, headers)

    def draw(self) -> Request:
        r = self.rng
        kind = r.choice(KINDS)
        path, pid = self.path()
        good = self.participant(pid)
        if kind == "wrong-types":
            key, value = r.choice(
                [
                    ("state", {"$": [1]}),
                    ("held", "yes"),
                    ("startTime", 1767225600000),
                    ("callbackNumbers", "+15550100"),
                    ("wrapup", [1, 2]),
                    ("id", 7),
                    ("direction", True),
                ]
            )
            good[key] = value
            return kind, http("PUT", path, json.dumps(good).encode()), 0
        if kind == "deep-nesting":
            depth = r.choice([1000, 10_000, 30_000])
            opener, closer = r.choice([(b"[", b"]"), (b'{"a":', b"}")])
            body = opener * depth + b"1" + closer * depth
            return kind, http("PUT", path, body[:LIMIT]), 0
        if kind == "huge-string":
            good["name"] = "x" * r.randint(LIMIT // 2, LIMIT - 2000)
            return kind, http("PUT", path, json.dumps(good).encode()), 0
        if kind == "huge-map":
            mapping = {f"k{i}": i for i in range(r.randint(1000, 5000))}
            target = r.choice(["top", "wrapup", "queue"])
            if target == "top":
                good.update(mapping)
            else:
                good[target] = mapping
            return kind, http("PUT", path, json.dumps(good).encode()[:LIMIT]), 0
        if kind == "invalid-utf8":
            raw = json.dumps(good).encode()
            at = r.randrange(1, len(raw) - 1)
            junk = r.choice([b"\xff", b"\xc3\x28", b"\xf8\x88\x80\x80\x80", b"\xc0\xaf"])
            return kind, http("PUT", path, raw[:at] + junk + raw[at:]), 0
        if kind == "duplicate-keys":
            raw = json.dumps(good).encode()
            dup = r.choice([b'"id":"other",', b'"state":1,', b'"startTime":"x",'])
            return kind, http("PUT", path, b"{" + dup + raw[1:]), 0
        if kind == "numbers-out-of-range":
            number = r.choice(
                [b"1e999", b"-1e999", b"1" * 400, b"-0.0e-99999", b"NaN", b"Infinity"]
            )
            field = r.choice([b"held", b"durationSeconds", b"x"])
            return kind, http("PUT", path, b'{"' + field + b'":' + number + b"}"), 0
        if kind == "over-the-limit":
            if r.random() < 0.5:  # announced: refused before it is read
                return kind, http("PUT", path, b"{}", length=LIMIT * 4), 0
            body = b" " * (LIMIT + 1)
            chunked = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
            head = http("PUT", path, None, {"Transfer-Encoding": "chunked"})
            return kind, head + chunked, 0
        if kind == "truncated":
            raw = json.dumps(good).encode()
            return kind, http("PUT", path, raw[: len(raw) // 2], length=len(raw)), 0
        if kind == "content-type":
            ctype = r.choice(["text/plain", "application/xml", "multipart/form-data", "", "\x01"])
            return kind, http("PUT", path, json.dumps(good).encode(), {"Content-Type": ctype}), 0
        if kind == "sequence":
            value = r.choice(["-1", "0", "x", "1e3", "9" * 40, "7,8", "0x10", "\t"])
            return kind, http("PUT", path, json.dumps(good).encode(), {"X-Sequence": value}), 0
        if kind == "request-line":
            line = r.choice(
                [
                    b"GARBAGE\r\n\r\n",
                    b"PUT /x HTTP/9.9\r\n\r\n",
                    b"PUT " + b"/a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
                    b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"h" * 20_000 + b"\r\n\r\n",
                    b"GET / HTTP/1.1\r\n" + b"X-A: 1\r\n" * 200 + b"\r\n",
                    bytes(r.randrange(256) for _ in range(64)) + b"\r\n\r\n",
                    b"PUT /x HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
                    b"PUT /x HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
                ]
            )
            return kind, line, 0
        if kind == "bad-path":
            bad = r.choice(
                [
                    "/conversations/%ff/participants/p",
                    "/conversations/c/participants/%ed%a0%80",
                    "/conversations//participants/p",
                    "/conversations/c/participants/p/extra",
                    "/../../etc/passwd",
                    "/conversations/%00/participants/%00",
                    "/conversations/c/participants/" + "p" * 4000,
                ]
            )
            method = r.choice(["GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "BREW"])
            body = json.dumps(good).encode() if method == "PUT" else None
            return kind, http(method, bad, body), 0
        assert kind == "valid"
        return kind, http("PUT", path, json.dumps(good).encode(), {"X-Sequence": "1"}), 0


REFUSED = [
    "wrong-types",
    "deep-nesting",
    "invalid-utf8",
    "over-the-limit",
    "truncated",
    "sequence",
    "request-line",
    "bad-path",
]
"""The kinds that can never be a valid write."""

KINDS = [
    "wrong-types",
    "deep-nesting",
    "huge-string",
    "huge-map",
    "invalid-utf8",
    "duplicate-keys",
    "numbers-out-of-range",
    "over-the-limit",
    "truncated",
    "content-type",
    "sequence",
    "request-line",
    "bad-path",
    "valid",
]


async def exchange(host: str, port: int, raw: bytes, trickle: float) -> int | None:
    """Send one request on a new connection; the status answered, or None when the connection
    was closed without an answer."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 10)
    except (OSError, TimeoutError):
        return None
    try:
        if trickle:
            pieces = 10
            step = max(1, len(raw) // pieces)
            for i in range(0, len(raw), step):
                writer.write(raw[i : i + step])
                await writer.drain()
                await asyncio.sleep(trickle / pieces)
        else:
            writer.write(raw)
            await writer.drain()
        if raw.startswith(b"PUT") and b"Content-Length" in raw:
            # A truncated body: say so by closing our side, as a client that died would.
            head, _, body = raw.partition(b"\r\n\r\n")
            declared = next(
                (int(x.split(b":")[1]) for x in head.split(b"\r\n") if x.startswith(b"Content-L")),
                None,
            )
            if declared is not None and 0 <= declared != len(body) and declared < LIMIT:
                writer.write_eof()
        line = await asyncio.wait_for(reader.readline(), 30)
        if not line:
            return None
        parts = line.split()
        return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
    except (ConnectionError, TimeoutError, asyncio.IncompleteReadError):
        return None
    finally:
        writer.close()
        with suppress(ConnectionError, OSError):
            await writer.wait_closed()


async def barrage(
    host: str,
    port: int,
    requests: Iterator[Request],
    workers: int,
    seen: Callable[[str, int | None], None],
) -> None:
    async def worker() -> None:
        for kind, raw, trickle in requests:
            seen(kind, await exchange(host, port, raw, trickle))

    await asyncio.gather(*(worker() for _ in range(workers)))


@pytest.mark.slow
def test_ten_thousand_hostile_requests_never_get_a_5xx(tmp_path: Path) -> None:
    total = 10_500
    hostile = Hostile(seed=12)
    trickled: list[Request] = []
    for _ in range(40):  # slow clients, all at once alongside the rest
        path, pid = hostile.path()
        raw = http("PUT", path, json.dumps(hostile.participant(pid)).encode())
        slow = len(trickled) % 2 == 0
        trickled.append(("trickle", raw, READ_TIMEOUT * (3.0 if slow else 0.3)))
    statuses: dict[str, Counter[int | None]] = {}

    def seen(kind: str, status: int | None) -> None:
        statuses.setdefault(kind, Counter())[status] += 1

    with served(tmp_path) as (process, host, port):
        base = memory_kb(process.pid)

        async def everything() -> None:
            quick = (hostile.draw() for _ in range(total - len(trickled)))
            await asyncio.gather(
                barrage(host, port, iter(trickled), len(trickled), seen),
                barrage(host, port, quick, 16, seen),
            )

        asyncio.run(everything())
        after = memory_kb(process.pid)
        assert process.poll() is None, "the target died"
        # Still healthy: it answers, stores and reads back.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(f"http://{host}:{port}/health", timeout=10) as health:
            assert health.status == 200
        path, pid = hostile.path()
        body = json.dumps(hostile.participant(pid)).encode()
        put = urllib.request.Request(f"http://{host}:{port}{path}", data=body, method="PUT")
        put.add_header("Content-Type", "application/json")
        with opener.open(put, timeout=10) as answer:
            assert answer.status == 201
        with opener.open(f"http://{host}:{port}{path}", timeout=10) as answer:
            assert json.loads(answer.read()) == json.loads(body)

    sent = sum(sum(c.values()) for c in statuses.values())
    five = {
        k: {s: n for s, n in c.items() if s is not None and s >= 500} for k, c in statuses.items()
    }
    five = {k: v for k, v in five.items() if v}
    print(
        f"\nhostile requests: {sent:,} sent, 5xx: {sum(sum(v.values()) for v in five.values())}; "
        f"target RSS {base['VmRSS'] / 1024:.0f} MB before, {after['VmRSS'] / 1024:.0f} MB after, "
        f"peak {after['VmHWM'] / 1024:.0f} MB"
    )
    for kind, counts in sorted(statuses.items()):
        print(f"  {kind:<22} {dict(sorted(counts.items(), key=str))}")
    assert sent >= 10_000
    assert five == {}
    assert set(statuses) == {*KINDS, "trickle"}
    for kind in REFUSED:  # certainly not a participant: refused, or the connection closed
        assert all(s is None or 400 <= s < 500 for s in statuses[kind]), (kind, statuses[kind])
    assert statuses["valid"][None] == 0
    assert set(statuses["valid"]) <= {200, 201}
    assert statuses["over-the-limit"][413] > 0
    assert statuses["trickle"][408] > 0  # the slow ones were cut off
    assert statuses["trickle"][201] > 0  # the others were served
    assert after["VmHWM"] < 300 * 1024, after
    assert after["VmRSS"] - base["VmRSS"] < 150 * 1024, (base, after)
    log = (tmp_path / "serve.log").read_text()
    assert "unexpected error" not in log  # no handler failed (what would have been a 500)
    assert len(log) < 10_000, log[:2000]  # hostile clients do not flood the log
