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
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import attrs
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


Answer = tuple[bytes | None, bool]  # (bytes to write or None to close at once, close after)
Script = Callable[[Seen], Answer]


def ok(body: bytes = b"{}", *extra: str, close: bool = False) -> Answer:
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n" + "".join(
        f"{h}\r\n" for h in extra
    )
    return (head + "\r\n").encode() + body, close


class Scripted:
    def __init__(self, answer: Script, tls: ssl.SSLContext | None = None) -> None:
        self.answer = answer
        self.tls = tls
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
def scripted(answer: Script, **options: object) -> Iterator[tuple[Scripted, HttpClient]]:
    server = Scripted(answer)
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
