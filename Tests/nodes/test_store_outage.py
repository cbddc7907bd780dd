"""A node whose PostgreSQL goes away: bundles are still served from memory, events are refused with a
clear 503 (never accepted and lost), readiness says so, and all of it recovers when the database is back."""
import json
import re

from conftest import FakeEventsAPI, PixelEdge, eventually
from conftest import http_request as request

CODE = "C4ABCDEFGHIJKLMNOPQR"
TOKEN = "T" * 64


def collect(node, event_id):
    body = json.dumps({"pixel": "shop", "event": "Lead", "event_id": event_id}).encode()
    return request("POST", f"{node.base}/collect", body, {"Content-Type": "text/plain"})


def test_a_node_keeps_serving_bundles_refuses_events_clearly_and_recovers_when_postgresql_comes_back(postgres):
    api = FakeEventsAPI()
    node = PixelEdge("--tiktok-api-base", api.base, "--forward-window-ms", "50", database=postgres.url)
    try:
        node.cli("pixels", "set", "shop", "--tiktok-pixel-code", CODE, "--tiktok-access-token", TOKEN, "--no-verify")
        eventually(lambda: request("GET", f"{node.base}/p/shop/pb.js")[0] == 200, timeout=5, message="the pixel is served")
        assert collect(node, "before")[0] == 204
        api.wait_for(lambda events: [e["event_id"] for e in events] == ["before"])

        postgres.stop()
        refused = eventually(lambda: (lambda answer: answer if answer[0] == 503 else None)(collect(node, "during")), timeout=30,
                             message="/collect refuses events while PostgreSQL is away")
        status, headers, body = refused
        assert headers.get("Retry-After") == "30"
        error = json.loads(body)["error"]
        assert error["status"] == 503 and "(io_error)" in error["message"], error
        # Unauthenticated health checks say what is wrong in general words, never the database's address.
        for path in ("/readyz", "/healthz"):
            eventually(lambda: request("GET", f"{node.base}{path}")[0] == 503 or path == "/healthz", timeout=15, message=f"{path} says so")
            status, _, text = request("GET", f"{node.base}{path}")
            for secret in (str(postgres.port), "pixeledge@", "127.0.0.1", "/postgres"):
                assert secret.encode() not in text, (path, text)
        # Logged with the request's own logger: its id (set on the logger, rendered only for a line written)
        # beside the line's error, in swift-log's text format (`TextLogHandler`).
        line = re.compile(r" error pixel-edge: error=.+ hb\.request\.id=\S+ \[PixelEdgeHTTP\] the store cannot be read$")
        eventually(lambda: any(line.search(text.rstrip("\n")) for text in list(node.output)), timeout=10,
                   message="the node logs why /healthz failed, with the request's id")
        assert request("GET", f"{node.base}/readyz")[1] is not None
        assert b"database unreachable" in request("GET", f"{node.base}/readyz")[2]
        status, _, script = request("GET", f"{node.base}/p/shop/pb.js")
        assert status == 200 and CODE.encode() in script, "bundles are served from memory meanwhile"

        postgres.start()
        eventually(lambda: collect(node, "after")[0] == 204, timeout=30, message="/collect accepts again once PostgreSQL is back")
        eventually(lambda: request("GET", f"{node.base}/readyz")[0] == 200, timeout=15, message="the node is ready again")
        api.wait_for(lambda events: {"before", "after"} <= {e["event_id"] for e in events})
        assert "during" not in {e["event_id"] for e in api.events}, "a refused event was never stored"
    finally:
        node.close()
        api.close()
