"""The connection limit keeps the server answering new clients: past it, the connection idle the longest
is closed for each new one (issue 13, point 3)."""
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
