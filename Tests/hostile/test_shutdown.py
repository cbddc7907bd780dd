"""SIGTERM: the server stops accepting, answers what it has received with `Connection: close`, stores the
events it accepted, and exits within its drain time; keep-alive clients see orderly closes, never a reset
or a truncated response (issue 13, point 6)."""
import signal
import socket
import sqlite3
import threading
import time

from conftest import PixelEdge, eventually
from rawhttp import SHOP, Closed, Reader, connect, request

DRAIN = 3


def keep_alive_client(base, path, outcomes, index, started):
    """Sends requests one after another on one connection until the server ends it, and records how."""
    answered = 0
    try:
        with connect(base, timeout=15) as sock:
            reader = Reader(sock)
            while True:
                sock.sendall(request("GET", path, [("Accept-Encoding", "gzip")]))
                response = reader.response()
                assert response.status == 200, response
                answered += 1
                started.set()
                if response.header("connection") == "close":
                    outcomes[index] = ("close-header", answered)
                    return
    except Closed as closed:
        outcomes[index] = (closed.how, answered)
    except (BrokenPipeError, ConnectionResetError) as error:
        outcomes[index] = (f"reset ({error})", answered)
    except socket.timeout:
        outcomes[index] = ("timeout", answered)


def test_sigterm_drains_in_order():
    server = PixelEdge("--drain-timeout", str(DRAIN), "--tiktok-api-base", "http://127.0.0.1:9", pixels=SHOP)
    try:
        # A beacon in flight: its head and half its body before SIGTERM, the rest after.
        body = b'{"pixel":"shop","event":"Lead","event_id":"in-flight-1"}'
        beacon = connect(server.base, timeout=15)
        beacon.sendall(request("POST", "/collect", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]) + body[:10])

        outcomes = [None] * 16
        running = [threading.Event() for _ in outcomes]
        paths = ["/p/shop/pb.js", "/healthz"]  # the fast path and Hummingbird's
        clients = [threading.Thread(target=keep_alive_client, args=(server.base, paths[i % 2], outcomes, i, running[i])) for i in range(16)]
        for client in clients:
            client.start()
        for event in running:
            assert event.wait(10)

        terminated = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        # New connections are refused once the listener is closed.
        refused = False
        deadline = time.monotonic() + 5
        while not refused and time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", server.port), timeout=1).close()
            except (ConnectionRefusedError, ConnectionResetError):
                # Refused, or reset when it was still in the backlog as the listener closed.
                refused = True
        assert refused, "still accepting connections after SIGTERM"

        # The listener closes first; each connection hears of the shutdown afterwards, on its own event
        # loop. So the beacon is finished once the keep-alive clients, on both loops, have been closed:
        # a request completed before its connection heard is answered without `Connection: close`.
        for client in clients:
            client.join(15)
        beacon.sendall(body[10:])
        reader = Reader(beacon)
        answer = reader.response()
        assert answer.status == 204
        assert answer.header("connection") == "close"
        assert reader.close_kind()[0] == "eof"
        beacon.close()

        kinds = {outcome[0] for outcome in outcomes}
        assert kinds <= {"eof", "close-header"}, outcomes
        assert all(outcome[1] > 0 for outcome in outcomes)

        assert server.process.wait(timeout=DRAIN + 15) == 0
        # Exit within the drain time, plus the Events API timeout for a batch in flight.
        assert time.monotonic() - terminated < DRAIN + 10 + 2
        # The operator reads when the shutdown began and that it ended (the output is read on its own thread).
        def notices():
            lines = [line for line in server.output if " notice " in line]
            return ([index for index, line in enumerate(lines) if "stopping: no new connections" in line and "drainTimeout=3 s" in line],
                    [index for index, line in enumerate(lines) if line.rstrip().endswith("] stopped")])
        eventually(lambda: all(notices()), message="the stopping and stopped notices")
        stopping, stopped = notices()
        assert len(stopping) == 1 and len(stopped) == 1 and stopping[0] < stopped[0], "".join(server.output)
        with sqlite3.connect(server.database) as database:
            stored = [row[0] for row in database.execute("SELECT event_id FROM outbox_event")]
        assert stored == ["in-flight-1"]
    finally:
        server.close()


def test_a_request_that_never_finishes_does_not_hold_the_exit():
    server = PixelEdge("--drain-timeout", "1", "--body-timeout", "60", pixels=SHOP)
    try:
        sock = connect(server.base, timeout=15)
        sock.sendall(request("POST", "/collect", [("Content-Type", "text/plain"), ("Content-Length", "1000")]) + b"{")
        # The request is read (its head) before the signal.
        eventually(lambda: server.metric("pixeledge_events_received_total") == 1, message="the request reached /collect")
        terminated = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=15) == 0
        assert time.monotonic() - terminated < 1 + 3
        sock.close()
    finally:
        server.close()


class SilentEventsAPI:
    """An Events API that accepts connections and never answers: every send waits for its timeout."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=256)
        self.base = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.connections = []
        self.condition = threading.Condition()
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            with self.condition:
                self.connections.append(connection)
                self.condition.notify_all()

    def wait_for_connections(self, count, timeout=30):
        with self.condition:
            assert self.condition.wait_for(lambda: len(self.connections) >= count, timeout), "the forwarder did not send"

    def close(self):
        self.listener.close()
        for connection in self.connections:
            connection.close()


def test_a_pass_over_many_pixels_with_a_silent_events_api_does_not_hold_the_exit():
    """200 pixels with events, 16 sends at once, each waiting 10 s for an answer that never comes: the pass
    would take two minutes. On SIGTERM the sends in flight finish (time out), no new one starts."""
    api = SilentEventsAPI()
    server = PixelEdge("--drain-timeout", "1", "--tiktok-api-base", api.base)
    try:
        server.seed("--pixels", "200", "--events-per-pixel", "2", "--tiktok-access-token", "T" * 64)
        api.wait_for_connections(16)
        terminated = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=60) == 0
        # The drain, plus the Events API timeout of the sends in flight.
        assert time.monotonic() - terminated < 1 + 10 + 3
        with sqlite3.connect(server.database) as database:
            assert database.execute("SELECT count(*) FROM outbox_event").fetchone()[0] == 400, "nothing lost"
    finally:
        server.close()
        api.close()
