"""What comes back from outside: an Events API (or a proxy at --tiktok-api-base) and a CDN purge endpoint
that answer slowly, never finish, never answer, or redirect elsewhere. None may stall a node, hold another
pixel's deliveries, hold a configuration change or a SIGTERM past the documented times, or carry a secret to
another host."""
import json
import signal
import socket
import threading
import time

import pytest

from conftest import PixelEdge, eventually, free_port
from conftest import http_request as request

CODE = "C4ABCDEFGHIJKLMNOPQR"
SLOW_TOKEN = "s" * 64
FAST_TOKEN = "f" * 64
ADMIN = "outbound-admin-token-0123456789"
# The Events API's deadline (README: 10 s) plus slack for a loaded machine.
DEADLINE = 10 + 4


class HostileRemote:
    """A raw HTTP/1.1 server on loopback whose answer to each request is `behaviour(request)`: one of
    "ok" (TikTok's code 0), "trickle" (a head, then one byte of a long body every second), "endless" (a
    chunked body that never ends), "silent" (reads the request, never answers), or ("redirect", URL).
    Records each request's head (lowercased field names) and whether it was answered."""

    def __init__(self, behaviour, host="127.0.0.1"):
        self.behaviour = behaviour
        self.requests = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.listener = socket.create_server((host, 0))
        self.listener.settimeout(0.2)
        self.base = f"http://{host}:{self.listener.getsockname()[1]}"
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while not self.stopping.is_set():
            try:
                connection, _ = self.listener.accept()
            except OSError:
                continue
            threading.Thread(target=self.serve, args=(connection,), daemon=True).start()

    def serve(self, connection):
        with connection:
            connection.settimeout(60)
            try:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = connection.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                head, _, rest = data.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                fields = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    fields[name.strip().lower()] = value.strip()
                length = int(fields.get("content-length", 0))
                while len(rest) < length:
                    rest += connection.recv(65536)
                recorded = {"line": lines[0], "fields": fields, "body": rest}
                with self.lock:
                    self.requests.append(recorded)
                self.answer(connection, self.behaviour(recorded))
            except OSError:
                pass

    def answer(self, connection, behaviour):
        if behaviour == "ok":
            body = json.dumps({"code": 0, "message": "OK", "request_id": "r", "data": {}}).encode()
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        elif behaviour == "trickle":
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{")
            while not self.stopping.wait(1):
                connection.sendall(b" ")
        elif behaviour == "endless":
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
            while not self.stopping.wait(0.5):
                connection.sendall(b"1\r\n \r\n")
        elif behaviour == "silent":
            self.stopping.wait(120)
        elif behaviour[0] == "redirect":
            connection.sendall(b"HTTP/1.1 307 Temporary Redirect\r\nLocation: %s\r\nConnection: close\r\nContent-Length: 0\r\n\r\n" % behaviour[1].encode())

    def close(self):
        self.stopping.set()
        self.listener.close()


def events(server, pixel, *ids):
    for event_id in ids:
        body = json.dumps({"pixel": pixel, "event": "Lead", "event_id": event_id}).encode()
        assert request("POST", f"{server.base}/collect", body, {"Content-Type": "text/plain"})[0] == 204


def timed_sigterm(server):
    started = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    server.process.wait(timeout=30)
    return time.monotonic() - started


@pytest.mark.parametrize("behaviour", ["trickle", "endless", "silent"])
def test_an_events_api_answer_that_never_completes_holds_neither_the_test_nor_other_pixels_nor_sigterm(behaviour):
    # The slow pixel's requests get the hostile answer, the other pixel's a normal one.
    remote = HostileRemote(lambda r: behaviour if r["fields"].get("access-token") == SLOW_TOKEN else "ok")
    server = PixelEdge("--tiktok-api-base", remote.base, "--forward-window-ms", "50",
                       environment={"PIXELEDGE_ADMIN_TOKEN": ADMIN},
                       pixels={"slow": ["--tiktok-pixel-code", CODE, "--tiktok-access-token", SLOW_TOKEN],
                               "fast": ["--tiktok-pixel-code", CODE, "--tiktok-access-token", FAST_TOKEN]})
    try:
        events(server, "slow", "s1")
        eventually(lambda: any(r["fields"].get("access-token") == SLOW_TOKEN for r in remote.requests), timeout=5,
                   message="the slow pixel's batch is in flight")
        # Another pixel's events go while the slow one's answer hangs.
        events(server, "fast", "f1")
        eventually(lambda: any(r["fields"].get("access-token") == FAST_TOKEN and b'"f1"' in r["body"] for r in remote.requests),
                   timeout=5, message="the other pixel's event is delivered meanwhile")
        # The connection test is answered by its deadline, and says what happened.
        started = time.monotonic()
        status, _, body = request("POST", f"{server.base}/admin/pixels/slow/test", b"", {"Authorization": f"Bearer {ADMIN}"}, timeout=60)
        assert time.monotonic() - started < DEADLINE, "the connection test waited past its deadline"
        result = json.loads(body)
        assert result["ok"] is False and result["status"] == "unreachable", result
        # The slow pixel's event is kept for a later try.
        assert server.metric('pixeledge_events_forwarded_total{destination="tiktok"}') == 1
        elapsed = timed_sigterm(server)
        assert elapsed < DEADLINE + 2, f"SIGTERM took {elapsed:.1f} s"
    finally:
        server.close()
        remote.close()


def test_the_events_api_client_follows_no_redirect_with_the_token():
    elsewhere = HostileRemote(lambda r: "ok", host="127.0.0.2")
    remote = HostileRemote(lambda r: ("redirect", elsewhere.base + "/open_api/v1.3/event/track/"))
    server = PixelEdge("--tiktok-api-base", remote.base, "--forward-window-ms", "50",
                       pixels={"shop": ["--tiktok-pixel-code", CODE, "--tiktok-access-token", SLOW_TOKEN]})
    try:
        events(server, "shop", "e1")
        eventually(lambda: len(remote.requests) >= 2, timeout=10, message="the forwarder retried after the redirect")
        assert elsewhere.requests == [], "nothing reached the redirect's target"
    finally:
        server.close()
        remote.close()
        elsewhere.close()


META_ID = "1234567890123456"
META_TOKEN = "EAAB" + "h0st" * 30


@pytest.mark.parametrize("behaviour", ["trickle", "silent"])
def test_a_meta_answer_that_never_completes_holds_neither_tiktoks_deliveries_nor_the_test_nor_sigterm(behaviour):
    """Issue 21: Meta's Conversions API (or a proxy at --meta-api-base) that hangs. The same pixel's TikTok
    copies go meanwhile, the Meta test is answered by its deadline, and SIGTERM is not held."""
    meta = HostileRemote(lambda r: behaviour)
    tiktok = HostileRemote(lambda r: "ok")
    server = PixelEdge("--tiktok-api-base", tiktok.base, "--meta-api-base", meta.base, "--forward-window-ms", "50",
                       environment={"PIXELEDGE_ADMIN_TOKEN": ADMIN},
                       pixels={"shop": ["--tiktok-pixel-code", CODE, "--tiktok-access-token", FAST_TOKEN,
                                        "--meta-pixel-id", META_ID, "--meta-access-token", META_TOKEN]})
    try:
        events(server, "shop", "m1")
        eventually(lambda: len(meta.requests) >= 1, timeout=5, message="Meta's batch is in flight")
        events(server, "shop", "m2")
        eventually(lambda: any(b'"m2"' in r["body"] for r in tiktok.requests), timeout=5,
                   message="TikTok's copies are delivered while Meta's answer hangs")
        # The token travels in the Authorization header, never in the URL.
        assert all(META_TOKEN not in r["line"] for r in meta.requests)
        assert meta.requests[0]["fields"]["authorization"] == f"Bearer {META_TOKEN}"
        started = time.monotonic()
        status, _, body = request("POST", f"{server.base}/admin/pixels/shop/test?destination=meta", b"",
                                  {"Authorization": f"Bearer {ADMIN}"}, timeout=60)
        assert time.monotonic() - started < DEADLINE, "the connection test waited past its deadline"
        result = json.loads(body)
        assert result["ok"] is False and result["status"] == "unreachable" and result["destination"] == "meta", result
        assert "--meta-api-base" in result["explanation"]
        assert server.metric('pixeledge_events_forwarded_total{destination="meta"}') == 0
        elapsed = timed_sigterm(server)
        assert elapsed < DEADLINE + 2, f"SIGTERM took {elapsed:.1f} s"
    finally:
        server.close()
        meta.close()
        tiktok.close()


def test_the_meta_client_follows_no_redirect_with_the_token():
    elsewhere = HostileRemote(lambda r: "ok", host="127.0.0.2")
    remote = HostileRemote(lambda r: ("redirect", elsewhere.base + "/v26.0/" + META_ID + "/events"))
    server = PixelEdge("--meta-api-base", remote.base, "--forward-window-ms", "50",
                       pixels={"shop": ["--meta-pixel-id", META_ID, "--meta-access-token", META_TOKEN]})
    try:
        events(server, "shop", "e1")
        eventually(lambda: len(remote.requests) >= 2, timeout=10, message="the forwarder retried after the redirect")
        assert elsewhere.requests == [], "nothing reached the redirect's target"
    finally:
        server.close()
        remote.close()
        elsewhere.close()


@pytest.mark.parametrize("behaviour", ["trickle", "endless", "silent"])
def test_a_purge_endpoint_that_never_completes_holds_no_configuration_change_nor_sigterm(behaviour):
    remote = HostileRemote(lambda r: behaviour)
    server = PixelEdge("--purge-url", remote.base + "/purge/{key}", "--purge-header", "Fastly-Key: purge-secret",
                       environment={"PIXELEDGE_ADMIN_TOKEN": ADMIN})
    try:
        for number in range(3):
            pixel = f"new-{number}"
            started = time.monotonic()
            status, _, _ = request("PUT", f"{server.base}/admin/pixels/{pixel}", {"tiktok": {"pixelCode": CODE}},
                                   {"Authorization": f"Bearer {ADMIN}", "Content-Type": "application/json"}, timeout=30)
            assert status == 201
            assert time.monotonic() - started < 2, "the admin API waited for the CDN"
            eventually(lambda: request("GET", f"{server.base}/p/{pixel}/pb.js")[0] == 200, timeout=3,
                       message="the new pixel is served while the CDN hangs")
        server.cli("pixels", "set", "by-cli", "--tiktok-pixel-code", CODE)
        eventually(lambda: request("GET", f"{server.base}/p/by-cli/pb.js")[0] == 200, timeout=3,
                   message="a pixel set by the CLI is served while the CDN hangs")
        assert remote.requests, "the purges were sent"
        elapsed = timed_sigterm(server)
        assert elapsed < 10, f"SIGTERM took {elapsed:.1f} s"
    finally:
        server.close()
        remote.close()


def test_a_purge_follows_no_redirect_and_its_secret_goes_nowhere_else():
    elsewhere = HostileRemote(lambda r: "ok", host="127.0.0.2")
    remote = HostileRemote(lambda r: ("redirect", elsewhere.base + "/stolen"))
    server = PixelEdge("--purge-url", remote.base + "/purge/{key}", "--purge-header", "Fastly-Key: purge-secret",
                       environment={"PIXELEDGE_ADMIN_TOKEN": ADMIN})
    try:
        for pixel in ("a", "b"):
            request("PUT", f"{server.base}/admin/pixels/{pixel}", {"tiktok": {"pixelCode": CODE}},
                    {"Authorization": f"Bearer {ADMIN}", "Content-Type": "application/json"})
        eventually(lambda: len(remote.requests) >= 2, timeout=5, message="both purges were sent")
        assert all(r["fields"].get("fastly-key") == "purge-secret" for r in remote.requests)
        # Given time to follow, were it going to.
        eventually(lambda: "purge" in "".join(server.output), timeout=5, message="the purge's answer is logged")
        assert elsewhere.requests == [], "the purge's secret reached the redirect's target"
    finally:
        server.close()
        remote.close()
        elsewhere.close()
