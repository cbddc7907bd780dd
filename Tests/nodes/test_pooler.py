"""A node behind a connection pooler that refuses the bookkeeping pool's startup parameter, as PgBouncer
does (`unsupported startup parameter: synchronous_commit`, SQLSTATE 08P01, unless the parameter is in its
`track_extra_parameters` or `ignore_startup_parameters`): the node says so once, in words an operator can
act on, and forwards as before, its bookkeeping waiting for the flush as its events do."""
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
        unknown = [name.decode() for name in parameters if name and name.decode().lower() not in self.KNOWN]
        if unknown:
            self.refused.append(unknown[0])
            message = f"unsupported startup parameter: {unknown[0]}".encode()
            fields = b"SFATAL\0VFATAL\0C08P01\0M" + message + b"\0\0"
            client.sendall(b"E" + struct.pack("!I", 4 + len(fields)) + fields)
            client.close()
            return
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


def test_a_pooler_refusing_the_bookkeepings_startup_parameter_is_said_once_and_events_are_still_forwarded(postgres):
    pooler = RefusingPooler(postgres.port)
    api = FakeEventsAPI()
    url = f"postgres://pixeledge@127.0.0.1:{pooler.port}/postgres?sslmode=disable"
    node = PixelEdge("--tiktok-api-base", api.base, "--forward-window-ms", "50", database=url)
    try:
        node.cli("pixels", "set", "shop", "--tiktok-pixel-code", CODE, "--tiktok-access-token", TOKEN, "--no-verify")
        warning = "refused the startup parameter synchronous_commit (08P01: unsupported startup parameter: synchronous_commit)"
        eventually(lambda: any(warning in line for line in list(node.output)), timeout=15, message="the node says what the pooler refused")
        line = next(line for line in list(node.output) if warning in line)
        assert "track_extra_parameters" in line and "ignore_startup_parameters" in line, line
        assert str(pooler.port) in line and "pixeledge@127.0.0.1" in line, "names the database it means"

        for event_id in ("a", "b", "c"):
            body = json.dumps({"pixel": "shop", "event": "Lead", "event_id": event_id}).encode()
            assert request("POST", f"{node.base}/collect", body, {"Content-Type": "text/plain"})[0] == 204
        api.wait_for(lambda events: sorted(e["event_id"] for e in events) == ["a", "b", "c"])
        # The deliveries were recorded (on the durable pool): nothing is left to send, and nothing is sent twice.
        eventually(lambda: postgres.query("SELECT count(*) FROM outbox_event") == "0", timeout=10, message="the outbox is empty")
        assert postgres.query("SELECT sent_count FROM delivery_status WHERE pixel_id = 'shop'") == "3"
        assert sorted(e["event_id"] for e in api.events) == ["a", "b", "c"]
        assert sum(warning in line for line in list(node.output)) == 1, "said once"
        assert not any("without waiting for PostgreSQL's WAL flush" in line for line in list(node.output))
        assert set(pooler.refused) == {"synchronous_commit"}
        assert "pixel-edge bookkeeping" not in postgres.query("SELECT string_agg(application_name, ',') FROM pg_stat_activity")
    finally:
        node.close()
        api.close()
        pooler.close()


def test_without_a_pooler_the_bookkeeping_has_its_own_connections(postgres):
    api = FakeEventsAPI()
    node = PixelEdge("--tiktok-api-base", api.base, "--forward-window-ms", "50", database=postgres.url)
    try:
        node.cli("pixels", "set", "shop", "--tiktok-pixel-code", CODE, "--tiktok-access-token", TOKEN, "--no-verify")
        # Until the server has accepted the pool's login, the bookkeeping runs on the durable pool.
        accepted = "the forwarder's bookkeeping commits without waiting for PostgreSQL's WAL flush"
        eventually(lambda: any(accepted in line for line in list(node.output)), timeout=15, message="the node says the login was accepted")
        body = json.dumps({"pixel": "shop", "event": "Lead", "event_id": "a"}).encode()
        assert request("POST", f"{node.base}/collect", body, {"Content-Type": "text/plain"})[0] == 204
        api.wait_for(lambda events: [e["event_id"] for e in events] == ["a"])
        eventually(lambda: "pixel-edge bookkeeping" in postgres.query("SELECT string_agg(application_name, ',') FROM pg_stat_activity"),
                   timeout=10, message="a connection of the bookkeeping's pool")
        assert not any("refused the startup parameter" in line for line in list(node.output))
    finally:
        node.close()
        api.close()
