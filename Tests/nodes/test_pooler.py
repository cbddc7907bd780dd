"""A node behind a connection pooler that refuses startup parameters it does not know, as PgBouncer does
(`unsupported startup parameter: X`, SQLSTATE 08P01, unless X is in its `track_extra_parameters` or
`ignore_startup_parameters`), in session mode, the one LISTEN works in: PixelEdge logs in with nothing such
a pooler refuses, and sets pixels, accepts events, forwards them and records their delivery through it."""
import json
import socket
import struct
import threading

from conftest import FakeEventsAPI, PixelEdge, eventually
from conftest import http_request as request

CODE = "C4ABCDEFGHIJKLMNOPQR"
TOKEN = "T" * 64


class RefusingPooler:
    """What PgBouncer does with a client's startup packet, in front of a real PostgreSQL: `SSLRequest` is
    answered `N` (no TLS here), a startup parameter outside PgBouncer's own list is refused with PgBouncer's
    FATAL 08P01, and anything else is relayed byte for byte both ways (a session of its own per client, as
    in PgBouncer's session mode, the one LISTEN works in)."""

    # PgBouncer 1.22's startup parameters (its `varcache` and the ones it reads itself).
    KNOWN = {"user", "database", "application_name", "client_encoding", "datestyle", "timezone", "standard_conforming_strings",
             "replication", "options"}

    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.refused = []
        self.sessions = 0
        self.parameters = set()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(client,), daemon=True).start()

    @staticmethod
    def read_packet(sock):
        header = b""
        while len(header) < 4:
            chunk = sock.recv(4 - len(header))
            if not chunk:
                return None
            header += chunk
        length = struct.unpack("!I", header)[0]
        body = b""
        while len(body) < length - 4:
            chunk = sock.recv(length - 4 - len(body))
            if not chunk:
                return None
            body += chunk
        return header + body

    def serve(self, client):
        packet = self.read_packet(client)
        if packet is not None and packet[4:8] == struct.pack("!I", 80877103):  # SSLRequest
            client.sendall(b"N")
            packet = self.read_packet(client)
        if packet is None:
            client.close()
            return
        fields = packet[8:].split(b"\0")
        parameters = dict(zip(fields[0::2], fields[1::2]))
        self.parameters |= {name.decode() for name in parameters if name}
        unknown = [name.decode() for name in parameters if name and name.decode().lower() not in self.KNOWN]
        if unknown:
            self.refused.append(unknown[0])
            message = f"unsupported startup parameter: {unknown[0]}".encode()
            fields = b"SFATAL\0VFATAL\0C08P01\0M" + message + b"\0\0"
            client.sendall(b"E" + struct.pack("!I", 4 + len(fields)) + fields)
            client.close()
            return
        self.sessions += 1
        upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
        upstream.sendall(packet)
        for source, target in ((client, upstream), (upstream, client)):
            threading.Thread(target=self.relay, args=(source, target), daemon=True).start()

    @staticmethod
    def relay(source, target):
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.listener.close()


def test_a_node_behind_a_pooler_that_refuses_unknown_startup_parameters_works_as_without_it(postgres):
    pooler = RefusingPooler(postgres.port)
    api = FakeEventsAPI()
    url = f"postgres://pixeledge@127.0.0.1:{pooler.port}/postgres?sslmode=disable"
    node = PixelEdge("--tiktok-api-base", api.base, "--forward-window-ms", "50", database=url)
    try:
        node.cli("pixels", "set", "shop", "--tiktok-pixel-code", CODE, "--tiktok-access-token", TOKEN, "--no-verify")
        # The node hears of the change through the pooler (LISTEN/NOTIFY in session mode).
        eventually(lambda: request("GET", f"{node.base}/p/shop/pb.js")[0] == 200, timeout=10, message="the pixel is served")
        for event_id in ("a", "b", "c"):
            body = json.dumps({"pixel": "shop", "event": "Lead", "event_id": event_id}).encode()
            assert request("POST", f"{node.base}/collect", body, {"Content-Type": "text/plain"})[0] == 204
        api.wait_for(lambda events: sorted(e["event_id"] for e in events) == ["a", "b", "c"])
        # The deliveries were recorded: nothing is left to send, and nothing was sent twice.
        eventually(lambda: postgres.query("SELECT count(*) FROM outbox_event") == "0", timeout=10, message="the outbox is empty")
        assert postgres.query("SELECT sent_count FROM delivery_status WHERE pixel_id = 'shop'") == "3"
        assert sorted(e["event_id"] for e in api.events) == ["a", "b", "c"]
        assert pooler.refused == [], "no startup parameter the pooler refuses"
        assert pooler.sessions > 0, "the node's connections went through the pooler"
        assert pooler.parameters == {"user", "database"}, pooler.parameters
    finally:
        node.close()
        api.close()
        pooler.close()
