"""Request bodies against the real web server (chorus_site.webserver, as `start` runs it): a body is refused
before it is read, by its Content-Length or as it streams, and a request without a credential gets none read at
all, so no web page the user visits can fill the server's memory or disk."""

import json
import select
import socket

import psutil
import pytest
from django.conf import settings

pytestmark = pytest.mark.integration

MiB = 1024 * 1024


def stream(port: int, head: str, total: int, chunked: bool = False) -> tuple[int, dict, int]:
    """Send `head`, then up to `total` body bytes while listening: (status, JSON answer, bytes the server let in)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(head.encode())
    piece = b"x" * 65536
    chunk = b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece
    answer, sent = b"", 0
    sock.setblocking(False)
    try:
        while sent < total:
            readable, writable, _ = select.select([sock], [sock], [], 10)
            if readable:
                data = sock.recv(65536)
                answer += data
                if not data or b"\r\n\r\n" in answer:
                    break
            if writable:
                try:
                    sent += sock.send(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    break
        sock.setblocking(True)
        while b"\r\n\r\n" not in answer or len(answer.partition(b"\r\n\r\n")[2]) < _length(answer):
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    finally:
        sock.close()
    head_part, _, body = answer.partition(b"\r\n\r\n")
    return int(head_part.split()[1]), json.loads(body), sent


def _length(answer: bytes) -> int:
    for line in answer.partition(b"\r\n\r\n")[0].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


def rss(server) -> int:
    return psutil.Process(server.process.pid).memory_info().rss


def post(path: str, length: str, extra: str = "") -> str:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: http://evil.example\r\nContent-Type: text/plain\r\n"
        f"{length}{extra}\r\n"
    )


def test_an_unauthenticated_cross_origin_post_of_300_mib_gets_401_without_its_body_being_read(shared_server):
    before = rss(shared_server)
    status, answer, sent = stream(shared_server.port, post("/api/tasks", f"Content-Length: {300 * MiB}\r\n"), 300 * MiB)
    assert (status, answer["detail"].split(":")[0]) == (401, "Authentication required")
    assert sent < 16 * MiB  # what the sockets' buffers took before the answer came back
    assert rss(shared_server) - before < 20 * MiB


def test_an_unauthenticated_chunked_body_is_refused_at_its_first_chunk(shared_server):
    status, _, sent = stream(
        shared_server.port, post("/api/tasks", "Transfer-Encoding: chunked\r\n"), 300 * MiB, chunked=True
    )
    assert status == 401
    assert sent < 16 * MiB


def test_an_authenticated_body_longer_than_the_limit_is_refused_by_its_length_before_it_is_read(shared_server):
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    auth = f"Authorization: Bearer {settings.CHORUS_TOKEN}\r\n"
    status, answer, sent = stream(
        shared_server.port, post("/api/tasks", f"Content-Length: {100 * MiB}\r\n", auth), 100 * MiB
    )
    assert status == 413
    assert f"at most {limit} are accepted" in answer["detail"]
    assert sent < 16 * MiB


def test_an_authenticated_chunked_body_is_refused_once_it_passes_the_limit(shared_server):
    before = rss(shared_server)
    auth = f"Authorization: Bearer {settings.CHORUS_TOKEN}\r\n"
    status, _, sent = stream(
        shared_server.port, post("/api/tasks", "Transfer-Encoding: chunked\r\n", auth), 300 * MiB, chunked=True
    )
    assert status == 413
    assert sent < settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 16 * MiB
    assert rss(shared_server) - before < 20 * MiB
