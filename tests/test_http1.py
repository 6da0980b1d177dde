"""The harness's HTTP/1.1 client against a scripted server that writes raw bytes.

The server (`Scripted`, threads on 127.0.0.1) reads each request whole, records it with the
connection it came on, and answers with what the test's ``answer`` function returns: bytes to
write, optionally closing the connection after them, or nothing at all (close at once). So every
test sees exactly the bytes the client wrote and decides exactly the bytes it reads.
"""

from __future__ import annotations

import gzip
import socket
import ssl
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import attrs
import psutil
import pytest
import trustme

from callbacksim.errors import UsageError
from callbacksim.simulator.client import HttpClient, Request


@attrs.define
class Seen:
    connection: int
    number: int  # of the request on its connection, from 0
    head: str
    body: bytes

    @property
    def line(self) -> str:
        return self.head.split("\r\n", 1)[0]

    def header(self, name: str) -> list[str]:
        lines = self.head.split("\r\n")[1:]
        return [v.strip() for k, _, v in (h.partition(":") for h in lines) if k.lower() == name]


Answer = tuple[bytes | None, bool | str]
"""Bytes to write (None: close at once), and whether to close after them: True closes, "reset"
resets the connection (RST), False keeps it open."""
Script = Callable[[Seen], Answer]


def ok(body: bytes = b"{}", *extra: str, close: bool = False) -> Answer:
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n" + "".join(
        f"{h}\r\n" for h in extra
    )
    return (head + "\r\n").encode() + body, close


class Scripted:
    """``idle``: seconds a kept-alive connection may wait for its next request before the server
    closes it, as servers do (None: 10 s)."""

    def __init__(
        self, answer: Script, tls: ssl.SSLContext | None = None, idle: float | None = None
    ) -> None:
        self.answer = answer
        self.tls = tls
        self.idle = 10.0 if idle is None else idle
        self.seen: list[Seen] = []
        self.connections = 0
        self.open_now = 0
        self.most_open = 0
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.2)
        scheme = "https" if tls is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self._server.getsockname()[1]}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            with self._lock:
                index = self.connections
                self.connections += 1
                self.open_now += 1
                self.most_open = max(self.most_open, self.open_now)
            threading.Thread(target=self._serve, args=(conn, index), daemon=True).start()

    def _serve(self, conn: socket.socket, index: int) -> None:
        buffer = b""
        number = 0
        conn.settimeout(10)
        try:
            if self.tls is not None:
                conn = self.tls.wrap_socket(conn, server_side=True)
            while True:
                conn.settimeout(self.idle if number else 10)
                while b"\r\n\r\n" not in buffer:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                text = head.decode("latin-1")
                seen = Seen(index, number, text, b"")
                length = int((seen.header("content-length") or ["0"])[0])
                while len(buffer) < length:
                    buffer += conn.recv(65536)
                seen.body, buffer = buffer[:length], buffer[length:]
                with self._lock:
                    self.seen.append(seen)
                number += 1
                data, close = self.answer(seen)
                if data is None:
                    return
                conn.sendall(data)
                if close == "reset":
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                if close:
                    return
        except OSError:
            return
        finally:
            conn.close()
            with self._lock:
                self.open_now -= 1

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._server.close()


@contextmanager
def scripted(
    answer: Script, idle: float | None = None, **options: object
) -> Iterator[tuple[Scripted, HttpClient]]:
    server = Scripted(answer, idle=idle)
    try:
        with HttpClient(server.url, **options) as client:  # type: ignore[arg-type]
            yield server, client
    finally:
        server.close()


def put(path: str = "/p", body: bytes = b'{"a":1}', **headers: str) -> Request:
    return Request("PUT", path, body=body, headers=headers)


def test_requests_share_one_kept_alive_connection_and_carry_their_headers() -> None:
    with scripted(lambda s: ok(b'{"n":%d}' % s.number)) as (server, client):
        answers = [client.request(put(body=b"x" * n)) for n in range(5)]
    assert [a.status for a in answers] == [200] * 5
    assert [a.body for a in answers] == [b'{"n":%d}' % n for n in range(5)]
    assert server.connections == 1
    first = server.seen[0]
    assert first.line == "PUT /p HTTP/1.1"
    assert first.header("host") == [server.url.removeprefix("http://")]
    assert first.header("user-agent")[0].startswith("callbacksim/")
    assert [s.header("content-length") for s in server.seen] == [[str(n)] for n in range(5)]
    assert [s.body for s in server.seen] == [b"x" * n for n in range(5)]


def test_a_request_header_replaces_the_clients_of_the_same_name_and_framing_is_the_clients() -> (
    None
):
    options = {"headers": {"Authorization": "Bearer A", "X-Team": "t"}}
    with scripted(lambda s: ok(), **options) as (server, client):
        client.request(put(authorization="Bearer B", **{"Content-Length": "999"}))
        client.request(Request("GET", "/health"))
    replaced, plain = server.seen
    assert replaced.header("authorization") == ["Bearer B"]
    assert replaced.header("x-team") == ["t"]
    assert replaced.header("content-length") == [str(len(b'{"a":1}'))]
    assert plain.header("authorization") == ["Bearer A"]
    assert plain.header("content-length") == []  # a GET without a body says nothing of one


def test_the_base_path_is_kept_and_unsafe_characters_are_percent_encoded() -> None:
    server = Scripted(lambda s: ok())
    try:
        with HttpClient(server.url + "/api/v1/") as client:
            client.request(Request("GET", "/conversations/c 1/participants/é?x=1&y=2"))
    finally:
        server.close()
    assert (
        server.seen[0].line
        == "GET /api/v1/conversations/c%201/participants/%C3%A9?x=1&y=2 HTTP/1.1"
    )


def test_chunked_close_delimited_and_compressed_bodies_are_read_whole() -> None:
    body = b'{"participants": []}' * 50

    def answer(s: Seen) -> Answer:
        if s.line.startswith("GET /chunked"):
            chunks = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in (body[:7], body[7:]))
            return (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n",
                False,
            )
        if s.line.startswith("GET /gzip"):
            return ok(gzip.compress(body), "Content-Encoding: gzip")
        if s.line.startswith("GET /deflate"):
            return ok(zlib.compress(body), "Content-Encoding: deflate")
        return b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + body, True

    with scripted(answer) as (server, client):
        got = [
            client.request(Request("GET", f"/{kind}"))
            for kind in ("chunked", "gzip", "closing", "deflate")
        ]
    assert [g.status for g in got] == [200] * 4
    assert all(g.body == body for g in got), [g.body[:40] for g in got]
    # The close-delimited answer ended its connection; the next request opened another.
    assert server.connections == 2


def test_an_answer_to_head_has_no_body_and_an_interim_answer_is_skipped() -> None:
    def answer(s: Seen) -> Answer:
        if s.line.startswith("HEAD"):
            return b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", False
        if s.number == 1:
            return b"HTTP/1.1 100 Continue\r\n\r\n" + ok(b"after")[0], False
        return ok(b"next")

    with scripted(answer) as (server, client):
        head = client.request(Request("HEAD", "/health"))
        interim = client.request(put())
        after = client.request(put())
    assert (head.status, head.body, head.headers.get("Content-Length")) == (200, b"", "10")
    assert (interim.status, interim.body) == (200, b"after")
    assert (after.status, after.body) == (200, b"next")
    assert server.connections == 1


def test_a_kept_alive_connection_closed_as_a_request_goes_out_is_retried_once_if_idempotent() -> (
    None
):
    def answer(s: Seen) -> Answer:
        if s.connection == 0 and s.number == 1:
            return None, True  # read the request, close without a byte of answer
        return ok()

    with scripted(answer) as (server, client):
        assert client.request(put()).status == 200
        again = client.request(put(body=b"second"))
    assert again.status == 200
    assert [(s.connection, s.body) for s in server.seen[1:]] == [(0, b"second"), (1, b"second")]

    with scripted(answer) as (server, client):
        assert client.request(Request("POST", "/p", body=b"{}")).status == 200
        lost = client.request(Request("POST", "/p", body=b"second"))
    assert lost.status is None
    assert lost.error is not None
    assert "before the answer was complete" in lost.error
    assert len(server.seen) == 2  # not sent again: POST is not idempotent


def test_a_request_whose_answer_had_begun_is_never_sent_twice() -> None:
    def answer(s: Seen) -> Answer:
        if s.number == 1:
            return b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{", True
        return ok()

    with scripted(answer) as (server, client):
        assert client.request(put()).status == 200
        cut = client.request(put())
    assert cut.status is None
    assert cut.error == "connection closed before the answer was complete"
    assert len(server.seen) == 2


def test_a_first_request_on_a_new_connection_is_never_sent_twice() -> None:
    with scripted(lambda s: (None, True)) as (server, client):
        lost = client.request(put())
    assert lost.status is None
    assert lost.error is not None
    assert len(server.seen) == 1


def test_a_malformed_answer_is_a_failure_and_its_connection_is_not_reused() -> None:
    def answer(s: Seen) -> Answer:
        if s.number == 0 and s.connection == 0:
            return b"HTTP/1.1 2x0 Nonsense\r\n\r\n", False
        return ok()

    with scripted(answer) as (server, client):
        bad = client.request(put())
        good = client.request(put())
    assert bad.status is None
    assert bad.error is not None
    assert bad.error.startswith("malformed answer")
    assert good.status == 200
    assert server.connections == 2


def test_a_truncated_body_is_a_failure() -> None:
    with scripted(lambda s: (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{", True)) as (
        _,
        client,
    ):
        got = client.request(put())
    assert got.status is None
    assert got.error == "connection closed before the answer was complete"


def test_a_silent_target_times_out_and_the_next_request_gets_a_fresh_connection() -> None:
    def answer(s: Seen) -> Answer:
        if s.connection == 0:
            time.sleep(1.0)
            return None, True
        return ok()

    with scripted(answer, timeout=0.3) as (server, client):
        started = time.monotonic()
        silent = client.request(put())
        waited = time.monotonic() - started
        after = client.request(put())
    assert silent.status is None
    assert silent.error == "no answer within 0.3 s (timed out)"
    assert 0.25 < waited < 0.9
    assert after.status == 200
    assert server.connections == 2


def test_in_flight_requests_are_bounded_by_the_connections() -> None:
    def answer(s: Seen) -> Answer:
        time.sleep(0.05)
        return ok()

    with scripted(answer, connections=3) as (server, client):
        answers = client.gather(client.send(put(f"/p{i}")) for i in range(15))
    assert [a.status for a in answers] == [200] * 15
    assert server.connections == 3
    assert server.most_open == 3


def test_a_refused_connection_says_so() -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    with HttpClient(f"http://127.0.0.1:{port}") as client:
        got = client.request(Request("GET", "/health"))
    assert (got.status, got.error) == (None, "cannot connect (refused)")


@pytest.mark.parametrize(
    "url", ["127.0.0.1:8080", "ftp://127.0.0.1/", "http://", "http://127.0.0.1:99999"]
)
def test_a_url_that_is_not_http_is_refused_at_once(url: str) -> None:
    with pytest.raises(UsageError, match="base URL"):
        HttpClient(url)


def test_a_header_with_a_line_break_is_refused() -> None:
    with pytest.raises(UsageError, match="line break"):
        HttpClient("http://127.0.0.1:1", headers={"X-A": "a\r\nX-Injected: 1"})
    with scripted(lambda s: ok()) as (server, client):
        with pytest.raises(UsageError, match="line break"):
            client.request(put(**{"X-A": "a\nb"}))
        assert client.request(put()).status == 200
    assert len(server.seen) == 1


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


def _tls_server(authority: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)
    return context


def test_an_https_target_is_spoken_to_over_verified_tls(
    authority: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))  # the system's trust store, as users set it
    server = Scripted(lambda s: ok(b'{"tls":true}'), tls=_tls_server(authority))
    try:
        with HttpClient(server.url) as client:
            answers = [client.request(put()) for _ in range(3)]
    finally:
        server.close()
    assert [(a.status, a.body) for a in answers] == [(200, b'{"tls":true}')] * 3
    assert server.connections == 1


def test_a_certificate_nobody_vouches_for_is_refused(authority: trustme.CA) -> None:
    server = Scripted(lambda s: ok(), tls=_tls_server(authority))
    try:
        with HttpClient(server.url) as client:
            got = client.request(put())
    finally:
        server.close()
    assert got.status is None
    assert got.error is not None
    assert got.error.startswith("cannot connect (TLS: its certificate is not trusted: ")
    assert "set SSL_CERT_FILE" in got.error
    assert server.seen == []


def test_bytes_nobody_asked_for_never_reach_the_next_answer() -> None:
    def answer(s: Seen) -> Answer:
        if s.connection == 0 and s.number == 0:  # a second answer, unasked, in the same write
            return ok(b"first")[0] + ok(b"STALE", "X-Stale: yes")[0], False
        if s.line.startswith("HEAD"):  # the answer to HEAD with a body it must not have
            return b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nJUNK", False
        return ok(b"clean")

    with scripted(answer) as (server, client):
        first = client.request(put())
        second = client.request(put())
        head = client.request(Request("HEAD", "/p"))
        after = client.request(put())
    assert (first.body, second.body, head.body, after.body) == (b"first", b"clean", b"", b"clean")
    assert "X-Stale" not in second.headers
    assert second.headers["Content-Length"] == "5"
    assert server.connections == 3  # each stray answer ended its connection


def test_closing_the_client_ends_what_is_in_flight_and_opens_nothing_more() -> None:
    def answer(s: Seen) -> Answer:
        if s.number == 0 and s.connection == 0:
            return ok()
        time.sleep(1.5)
        return ok()

    server = Scripted(answer)
    try:
        client = HttpClient(server.url, connections=1, timeout=20)
        assert client.request(put()).status == 200
        results: dict[int, object] = {}

        def call(i: int) -> None:
            results[i] = client.request(put(f"/{i}"))

        threads = [threading.Thread(target=call, args=(i,), daemon=True) for i in range(3)]
        for thread in threads:
            thread.start()
        time.sleep(0.3)  # one request on the wire, two waiting for the one connection
        started = time.monotonic()
        client.close()
        for thread in threads:
            thread.join(5)
        assert time.monotonic() - started < 3
        assert not any(thread.is_alive() for thread in threads)
        errors = [getattr(r, "error", None) for r in results.values()]
        assert len(errors) == 3
        assert all(e is not None and "closed" in e for e in errors), errors
        time.sleep(0.2)
        assert server.connections == 1  # nothing sent again, nothing opened after close
    finally:
        server.close()


def test_a_connection_given_up_on_is_ended_even_with_bytes_it_could_not_send() -> None:
    listener = socket.create_server(("127.0.0.1", 0))  # accepts, never reads
    port = listener.getsockname()[1]
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()

    def ours() -> list[object]:
        return [
            c
            for c in psutil.Process().net_connections(kind="tcp")
            if c.raddr and c.raddr.port == port and c.status == psutil.CONN_ESTABLISHED
        ]

    try:
        with HttpClient(f"http://127.0.0.1:{port}", timeout=0.5, connections=2) as client:
            big = put(body=b"x" * (32 * 2**20))  # more than the socket buffers hold
            got = client.gather(client.send(big) for _ in range(2))
            assert [g.error for g in got] == ["no answer within 0.5 s (timed out)"] * 2
            time.sleep(0.2)
            assert ours() == []  # aborted, not left open waiting to send the rest
    finally:
        stop.set()
        thread.join(5)
        for conn in accepted:
            conn.close()
        listener.close()


def test_a_body_of_several_gzip_members_is_decoded_whole() -> None:
    parts = [b'{"a": [1, ', b"2, ", b"3]}"]
    body = b"".join(gzip.compress(p) for p in parts)
    with scripted(lambda s: ok(body, "Content-Encoding: gzip")) as (_, client):
        got = client.request(Request("GET", "/p"))
    assert (got.status, got.body) == (200, b'{"a": [1, 2, 3]}')


def test_a_body_running_to_the_close_under_another_transfer_coding_is_read() -> None:
    answer = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\nwhole body", True
    with scripted(lambda s: answer) as (_, client):
        got = client.request(Request("GET", "/p"))
    assert (got.status, got.body) == (200, b"whole body")


def test_a_close_delimited_body_cut_by_a_reset_is_a_failure() -> None:
    cut = b"HTTP/1.1 200 OK\r\n\r\n" + b'{"participants": [1, 2,', "reset"
    with scripted(lambda s: cut) as (_, client):
        got = client.request(Request("GET", "/p"))
    assert got.status is None
    assert got.error is not None
    assert got.error.startswith("connection reset")


def test_header_values_travel_as_utf_8_both_ways() -> None:
    def raw_ok(s: Seen) -> Answer:
        return b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Name: Zo\xc3\xab\r\n\r\n{}", False

    with scripted(raw_ok) as (server, client):
        got = client.request(put(**{"X-Name": "Zoë 日本"}))
    assert got.headers["X-Name"] == "Zoë"
    sent = server.seen[0].header("x-name")[0].encode("latin-1").decode("utf-8")
    assert sent == "Zoë 日本"


def test_a_request_without_a_body_says_its_length_where_its_method_may_have_one() -> None:
    with scripted(lambda s: ok()) as (server, client):
        for method in ("POST", "PUT", "PATCH", "DELETE", "GET", "OPTIONS"):
            assert client.request(Request(method, "/p")).status == 200
    lengths = {s.line.split()[0]: s.header("content-length") for s in server.seen}
    assert lengths == {
        "POST": ["0"],
        "PUT": ["0"],
        "PATCH": ["0"],
        "DELETE": ["0"],
        "GET": [],
        "OPTIONS": [],
    }


def test_refused_on_every_address_of_a_name_says_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    both = [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))
        for address in ("127.0.0.1", "127.0.0.2")
    ]
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: both)
    with HttpClient(f"http://loopback.test:{port}") as client:
        got = client.request(Request("GET", "/health"))
    assert (got.status, got.error) == (None, "cannot connect (refused)")


def test_an_idle_connection_the_target_closed_is_not_used_while_the_loop_was_busy() -> None:
    with scripted(lambda s: ok(), idle=0.1) as (server, client):

        async def posts() -> list[int | None]:
            out = []
            for i in range(4):
                out.append((await client.send(Request("POST", f"/{i}", body=b"{}"))).status)
                time.sleep(0.3)  # the loop is busy while the target closes the idle connection
            return out

        assert client.run(posts()) == [200] * 4
    assert server.connections == 4


def test_a_switch_of_protocols_ends_the_connection_quietly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def answer(s: Seen) -> Answer:
        if s.number == 0 and s.connection == 0:
            upgrade = b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
            return upgrade + b"Upgrade: websocket\r\n\r\n\x81\x00", False
        return ok(b"next")

    with scripted(answer) as (server, client):
        switched = client.request(Request("GET", "/ws"))
        after = client.request(Request("GET", "/p"))
    assert switched.status == 101
    assert (after.status, after.body) == (200, b"next")
    assert server.connections == 2
    assert not [r for r in caplog.records if r.name == "asyncio"]


@pytest.mark.parametrize(
    ("path", "line"),
    [
        ("/a#b", "/a%23b"),
        ("/100%", "/100%25"),
        ("/done%20ok", "/done%20ok"),
        ("/é%zz", "/%C3%A9%25zz"),
    ],
)
def test_a_path_is_sent_as_a_valid_request_target(path: str, line: str) -> None:
    with scripted(lambda s: ok()) as (server, client):
        assert client.request(Request("GET", path)).status == 200
    assert server.seen[0].line == f"GET {line} HTTP/1.1"


def test_a_method_that_is_not_a_token_is_refused() -> None:
    with (
        scripted(lambda s: ok()) as (server, client),
        pytest.raises(UsageError, match="not an HTTP method"),
    ):
        client.request(Request("GET /x HTTP/1.1\r\nX:", "/p"))
    assert server.seen == []


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://user:secret@127.0.0.1:8080", "credentials in a header"),
        ("http://127.0.0.1:8080/api?x=1", "query or a fragment"),
        ("http://127.0.0.1:8080/#top", "query or a fragment"),
    ],
)
def test_a_base_url_with_credentials_or_a_query_is_refused(url: str, says: str) -> None:
    with pytest.raises(UsageError, match=says) as caught:
        HttpClient(url)
    assert "secret" not in str(caught.value)
