"""Slow clients: every way of holding a connection without finishing a request ends within its timeout,
and while they wait, everyone else is answered (issue 13, point 3)."""
import os
import socket
import subprocess
import threading
import time

import pytest

from conftest import PixelEdge, eventually
from rawhttp import SHOP, Closed, Reader, connect, exchange, request

TIMEOUTS = ["--idle-timeout", "1", "--head-timeout", "1", "--body-timeout", "1", "--send-timeout", "2"]
MARGIN = 2.0


@pytest.fixture(scope="module")
def edge():
    server = PixelEdge("--demo", *TIMEOUTS, pixels=SHOP)
    yield server
    server.close()


def trickle(sock, data, stop, every=0.25):
    """A slowloris client: one byte at a time, for as long as the server listens."""
    for byte in data:
        if stop.wait(every):
            return
        try:
            sock.send(bytes([byte]))
        except OSError:
            return


def test_an_idle_connection_is_closed_in_order(edge):
    with connect(edge.base) as sock:
        started = time.monotonic()
        how, received = Reader(sock).close_kind()
        elapsed = time.monotonic() - started
    assert (how, received) == ("eof", b"")
    assert 0.8 <= elapsed <= 1 + MARGIN, elapsed


def test_a_keep_alive_connection_is_closed_after_its_idle_time(edge):
    with connect(edge.base) as sock:
        sock.sendall(request("GET", "/p/demo/pb.js"))
        reader = Reader(sock)
        assert reader.response().status == 200
        started = time.monotonic()
        assert reader.close_kind() == ("eof", b"")
        assert 0.8 <= time.monotonic() - started <= 1 + MARGIN


@pytest.mark.parametrize("head, body", [
    (b"GET /p/demo/pb.js HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200, b""),
    (request("POST", "/collect", [("Content-Type", "text/plain"), ("Content-Length", "500")]), b"{" + b" " * 499),
])
def test_a_slow_head_or_body_gets_408_whatever_it_keeps_sending(edge, head, body):
    """The timeouts run from the request's start: a byte now and then does not extend them."""
    with connect(edge.base) as sock:
        sock.sendall(head[:20] if not body else head)
        stop = threading.Event()
        sender = threading.Thread(target=trickle, args=(sock, head[20:] if not body else body, stop))
        started = time.monotonic()
        sender.start()
        reader = Reader(sock)
        try:
            response = reader.response()
        finally:
            stop.set()
            sender.join()
        assert response.status == 408
        assert response.header("connection") == "close"
        assert time.monotonic() - started <= 1 + MARGIN
        assert reader.close_kind()[0] == "eof"


def test_the_listen_backlog_holds_a_burst_of_connections(edge):
    """With Hummingbird's 256, a burst of a few hundred connections overflowed the accept queue under load:
    Linux dropped the SYN and the client's retry came a second later (CI saw the next test take 1.02 s)."""
    port = edge.base.rsplit(":", 1)[1]
    listening = subprocess.run(["ss", "-Hltn", f"sport = :{port}"], check=True, capture_output=True, text=True).stdout.split()
    assert listening[0] == "LISTEN" and int(listening[2]) == 4096, listening


def test_many_slowloris_connections_do_not_keep_others_waiting(edge):
    slow = []
    try:
        for _ in range(300):
            sock = connect(edge.base)
            sock.sendall(b"GET /p/demo/pb.js HTTP/1.1\r\nHost: x\r\n")
            slow.append(sock)
        started = time.monotonic()
        responses, _, _ = exchange(edge.base, request("GET", "/p/demo/pb.js", [("Connection", "close")]))
        assert [r.status for r in responses] == [200]
        assert time.monotonic() - started < 1.0
        # Every one of them is answered 408 and closed within the head timeout.
        for sock in slow:
            sock.settimeout(1 + MARGIN * 2)
            reader = Reader(sock)
            assert reader.response().status == 408
    finally:
        for sock in slow:
            sock.close()


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


def test_a_client_that_never_reads_is_dropped_and_costs_little_memory(edge):
    """200,000 pipelined requests for a 3 KB bundle would be 640 MB of answers waiting to be written:
    the server stops reading while the client does not read, then drops it after the send timeout."""
    before = rss_kib(edge.process.pid)
    closed_before = edge.metric('pixeledge_connections_closed_total{reason="send_timeout"}')
    with connect(edge.base) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        payload = request("GET", "/p/demo/pb.js") * 200_000
        sent = 0
        deadline = time.monotonic() + 10
        while sent < len(payload) and time.monotonic() < deadline:
            try:
                sent += sock.send(payload[sent:sent + 65536])
            except BlockingIOError:
                # The server has stopped reading: its buffers and ours are full.
                break
            except OSError:
                break
        eventually(lambda: edge.metric('pixeledge_connections_closed_total{reason="send_timeout"}') > closed_before,
                   timeout=2 + MARGIN * 2, message="the connection dropped after the send timeout")
    grown = rss_kib(edge.process.pid) - before
    assert grown < 40 * 1024, f"the server grew by {grown} KiB for a client that does not read"
    assert sent < len(payload), "the server read every request without the client reading any answer"
