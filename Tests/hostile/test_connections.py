"""The connection limit keeps the server answering new clients: past it, the connection idle the longest
is closed for each new one (issue 13, point 3). And a connection that only asks for cached bundles stays
small (issue 22)."""
import resource
import time

from conftest import PixelEdge
from rawhttp import Reader, connect, exchange, request


def test_past_the_limit_the_longest_idle_connections_make_room():
    server = PixelEdge("--demo", "--max-connections", "40", "--idle-timeout", "60", "--head-timeout", "60")
    try:
        idle = []
        for index in range(40):
            sock = connect(server.base)
            if index % 2:
                # Half of them idle after a request, half stuck in a head: both can be evicted.
                sock.sendall(request("GET", "/p/demo/pb.js"))
                assert Reader(sock).response().status == 200
            else:
                sock.sendall(b"GET /p/demo/pb.js HTTP/1.1\r\n")
            idle.append(sock)
        started = time.monotonic()
        for _ in range(40):
            responses, how, _ = exchange(server.base, request("GET", "/p/demo/pb.js", [("Connection", "close")]))
            assert [r.status for r in responses] == [200]
        # Each new client was answered at once, not after a timeout.
        assert time.monotonic() - started < 5
        assert server.metric('pixeledge_connections_closed_total{reason="evicted"}') >= 40
        # The evicted connections were ended in order: end of stream, no reset.
        for sock in idle:
            sock.settimeout(5)
            how, _ = Reader(sock).close_kind()
            assert how == "eof"
            sock.close()
    finally:
        server.close()


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


def test_connections_that_only_ask_for_bundles_hold_no_http_handlers():
    """A connection whose requests the head reader answers never gets NIO's decoder, Hummingbird's handlers
    or their async channel (they are added on its first other request): 2,000 such connections kept open
    cost about 13 KiB each, against about 21 KiB when every connection had them from the start."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(soft, 8192), hard), hard))
    server = PixelEdge("--demo", "--max-connections", "3000")
    kept = []
    try:
        # The bundle is cached, and the server's own start-up allocations are behind it.
        assert exchange(server.base, request("GET", "/p/demo/pb.js", [("Accept-Encoding", "gzip"), ("Connection", "close")]))[0][0].status == 200
        before = rss_kib(server.process.pid)
        for _ in range(2000):
            sock = connect(server.base)
            sock.sendall(request("GET", "/p/demo/pb.js", [("Accept-Encoding", "gzip")]))
            kept.append(sock)
        for sock in kept:
            assert Reader(sock).response().status == 200
        per_connection = (rss_kib(server.process.pid) - before) * 1024 / len(kept)
        assert per_connection < 17 * 1024, f"{per_connection:.0f} bytes per kept-alive connection"
    finally:
        for sock in kept:
            sock.close()
        server.close()
