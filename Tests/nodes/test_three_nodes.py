"""Three PixelEdge nodes on one PostgreSQL database, as a site network runs them behind a load balancer:
configuration changes reach every node, events accepted by any node are sent once per claim, and a node
killed in the middle of a batch leaves its events to the others."""
import concurrent.futures
import itertools
import json
import signal
import time

from conftest import FakeEventsAPI, PixelEdge, eventually
from conftest import http_request as request

ADMIN = "a" * 40
CODE = "C4ABCDEFGHIJKLMNOPQR"
TOKEN = "T" * 64


def nodes(postgres, api, count=3, lease="3s"):
    return [
        PixelEdge("--tiktok-api-base", f"{api.base}/node-{index}", "--node-name", f"node-{index}", "--forward-window-ms", "50",
                  "--claim-lease", lease,
                  database=postgres.url, environment={"PIXELEDGE_ADMIN_TOKEN": ADMIN})
        for index in range(count)
    ]


def validators(node, pixel):
    status, headers, _ = request("GET", f"{node.base}/p/{pixel}/pb.js", headers={"Accept-Encoding": "gzip"})
    return status, headers.get("ETag"), headers.get("Last-Modified")


def test_a_change_made_on_one_node_is_served_by_the_others_within_a_second(postgres):
    api = FakeEventsAPI()
    servers = nodes(postgres, api)
    try:
        admin = {"Authorization": f"Bearer {ADMIN}", "Content-Type": "application/json"}
        status, _, _ = request("PUT", f"{servers[0].base}/admin/pixels/shop", {"tiktok": {"pixelCode": CODE}}, admin)
        assert status == 201
        first = eventually(lambda: all(validators(node, "shop")[0] == 200 for node in servers) and validators(servers[0], "shop"),
                           timeout=5, message="every node serves the new pixel")
        assert {validators(node, "shop") for node in servers} == {first}
        # A change on node A: B and C serve it within a second, the same validators on all three.
        changed = time.monotonic()
        status, _, _ = request("PUT", f"{servers[0].base}/admin/pixels/shop", {"tiktok": {"pixelCode": CODE}, "consent": "required"}, admin)
        assert status == 200
        seen = {}
        while len(seen) < 2 and time.monotonic() - changed < 5:
            for node in servers[1:]:
                if node.port not in seen and validators(node, "shop")[1] != first[1]:
                    seen[node.port] = time.monotonic() - changed
            time.sleep(0.01)
        print(f"seen by the other nodes after {sorted(round(t * 1000) for t in seen.values())} ms")
        assert len(seen) == 2 and max(seen.values()) < 1.0
        assert len({validators(node, "shop") for node in servers}) == 1
    finally:
        for node in servers:
            node.close()
        api.close()


def test_events_accepted_by_any_node_arrive_once_per_claim_and_a_killed_nodes_batch_is_taken_over(postgres):
    api = FakeEventsAPI(delay=0.3)
    # Node 2's first request stays in flight until the test kills it: node 2 dies with a claimed batch.
    api.hold("/node-2/")
    lease = 10
    servers = nodes(postgres, api, lease=f"{lease}s")
    try:
        servers[0].cli("pixels", "set", "shop", "--tiktok-pixel-code", CODE, "--tiktok-access-token", TOKEN, "--no-verify")
        eventually(lambda: all(validators(node, "shop")[0] == 200 for node in servers), timeout=5, message="every node knows the pixel")
        ids = [f"evt-{n}" for n in range(3000)]
        beacon = {"Content-Type": "text/plain"}

        def send(target):
            node, event_id = target
            body = json.dumps({"pixel": "shop", "event": "Lead", "event_id": event_id}).encode()
            return request("POST", f"{node.base}/collect", body, beacon)[0]

        def node_2_is_sending():
            return any(r["path"].startswith("/node-2/") for r in api.in_flight)

        # Events go to all three nodes, 60 at a time, until node 2 has claimed some and is sending them. Node 2
        # is killed then, not after the last event: its claim must still hold when it dies (the overlap check
        # below relies on it), however slow the machine is at accepting the 3,000 events.
        statuses = []
        sent_before_kill = 0
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            while not node_2_is_sending() and sent_before_kill < 1500:
                chunk = ids[sent_before_kill:sent_before_kill + 60]
                statuses += pool.map(send, zip(itertools.cycle(servers), chunk))
                sent_before_kill += len(chunk)
            api.wait_until(lambda api: node_2_is_sending(), timeout=30)
            # Node 2 dies in the middle of a batch it claimed and is sending.
            servers[2].process.send_signal(signal.SIGKILL)
            servers[2].process.wait()
            killed_at = time.monotonic()
            held = next(r for r in api.in_flight if r["path"].startswith("/node-2/"))
            assert killed_at - held["started"] < lease / 2, "node 2 was killed well before its claim ran out"
            api.release()
            # The rest go to the nodes left, while they take over.
            statuses += pool.map(send, zip(itertools.cycle(servers[:2]), ids[sent_before_kill:]))
        assert statuses == [204] * len(ids), "every event accepted durably"

        eventually(lambda: postgres.query("SELECT count(*) FROM outbox_event") == "0", timeout=60, message="the outbox is empty")
        assert set(ids) <= {e["event_id"] for r in api.requests for e in r["body"]["data"]}, "every accepted event arrived"
        # The batch the killed node had claimed (and maybe sent, but never recorded) was sent by another node,
        # once its claim had run out.
        orphaned = {e["event_id"] for r in api.requests if r["path"].startswith("/node-2/") and r["ended"] >= killed_at for e in r["body"]["data"]}
        taken_over = {e["event_id"] for r in api.requests if not r["path"].startswith("/node-2/") and r["started"] > killed_at
                      for e in r["body"]["data"]}
        assert orphaned and orphaned <= taken_over
        # While a claim holds, no other node sends its events: no event in two requests in flight at once.
        requests = sorted(api.requests, key=lambda r: r["started"])
        for first, second in itertools.combinations(requests, 2):
            if second["started"] < first["ended"]:
                overlap = {e["event_id"] for e in first["body"]["data"]} & {e["event_id"] for e in second["body"]["data"]}
                assert not overlap, f"{len(overlap)} events sent by two nodes at once"
        sent = [e["event_id"] for r in api.requests for e in r["body"]["data"]]
        print(f"{len(api.requests)} Events API requests, {len(sent)} events sent for {len(ids)} accepted "
              f"({len(sent) - len(set(sent))} sent again after the killed node's claim ran out)")
    finally:
        for node in servers:
            node.close()
        api.close()
