"""Meta beside TikTok, end to end in a real Chromium: pb.js with the stand-ins for both browser SDKs
(Public/events-stub.js; Public/fbevents-stub.js, which behaves as ../shared/reference/meta.md section 7 says a
faithful one must), the relay, and fakes of both server APIs that judge requests as the platforms do
(servers.FakeEventsAPI, servers.FakeGraphAPI). Assertions are on what the stand-ins would send to the platforms
and what the fake APIs accepted, never on pb.js's own calls."""
import hashlib
import json
import signal
import urllib.request

import pytest

from conftest import FakeGraphAPI, PixelEdge, free_port

TIKTOK_CODE = "CPIXELEDGEDEMO000001"
META_ID = "1234567890123456"
META_TOKEN = "EAAB" + "xYz0" * 40
TIKTOK_TOKEN = "T" * 64


def sha256(text):
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def graph_api():
    api = FakeGraphAPI(META_ID, META_TOKEN)
    yield api
    api.close()


def edge_with_both(events_api, graph_api, *extra, port=None, database=None, pixels=True):
    """pixel-edge serve with the stand-ins of both SDKs and fakes of both APIs, and a pixel "shop" with both."""
    port = port or free_port()
    return PixelEdge(
        "--demo", "--events-js-url", f"http://127.0.0.1:{port}/events-stub.js", "--fbevents-js-url", f"http://127.0.0.1:{port}/fbevents-stub.js",
        "--tiktok-api-base", events_api.base, "--meta-api-base", graph_api.base, "--forward-window-ms", "50", *extra, port=port, database=database,
        pixels={"shop": ["--tiktok-pixel-code", TIKTOK_CODE, "--tiktok-access-token", TIKTOK_TOKEN, "--meta-pixel-id", META_ID,
                         "--meta-access-token", META_TOKEN, "--default-phone-country", "44"]} if pixels else None)


def tags_page(src):
    return f"<!doctype html><head><script src='{src}'></script><link rel='icon' href='data:,'></head><body><button>Buy</button></body>"


def meta_sent(page, ev):
    page.wait_for_function("(ev) => window.__fbeventsStub && __fbeventsStub.sent.some(r => r.ev === ev)", arg=ev)
    return [r for r in page.evaluate("window.__fbeventsStub.sent") if r["ev"] == ev]


def tiktok_sent(page, event):
    page.wait_for_function("(event) => window.__eventsStub && __eventsStub.sent.some(p => p.event === event)", arg=event)
    return [p for p in page.evaluate("window.__eventsStub.sent") if p["event"] == event]


def test_one_purchase_reaches_both_pixels_and_both_apis_with_one_event_id_and_matching_hashes(page, events_api, graph_api, pages):
    server = edge_with_both(events_api, graph_api)
    try:
        page.goto(pages.add("/checkout.html", tags_page(f"{server.base}/p/shop/pb.js")))
        [view] = meta_sent(page, "PageView")
        page.evaluate("pb('identify', {email: ' Ann@Example.com', phone: '07700 900123', external_id: 'User-42'})")
        page.evaluate("pb('track', 'CompletePayment', {value: 5, currency: 'eur', contents: [{content_id: 'sku-1', price: 5, quantity: 1}]})")
        [meta] = meta_sent(page, "Purchase")
        [tiktok] = tiktok_sent(page, "Purchase")
        event_id = meta["eid"]
        assert event_id and tiktok["event_id"] == event_id
        assert meta["ud"] == {"em": sha256("ann@example.com"), "ph": sha256("447700900123"), "external_id": sha256("user-42")}
        assert "ud_raw" not in meta
        graph_api.wait_for(lambda events: any(e["event_id"] == event_id for e in events))
        events_api.wait_for(lambda events: any(e["event_id"] == event_id for e in events))
        server_meta = next(e for e in graph_api.events if e["event_id"] == event_id)
        server_tiktok = next(e for e in events_api.events if e["event_id"] == event_id)
        assert server_meta["event_name"] == "Purchase" and server_tiktok["event"] == "Purchase"
        # The hashes the browser pixel sent are the ones Meta's server copy carries; TikTok's are its own.
        assert server_meta["user_data"]["em"] == [meta["ud"]["em"]]
        assert server_meta["user_data"]["ph"] == [meta["ud"]["ph"]]
        assert server_meta["user_data"]["external_id"] == [meta["ud"]["external_id"]]
        assert server_meta["user_data"]["fbp"] == meta["fbp"] == view["fbp"]
        assert server_tiktok["user"]["email"] == meta["ud"]["em"]
        assert server_tiktok["user"]["phone"] == sha256("+447700900123")
        assert server_meta["custom_data"]["contents"] == [{"id": "sku-1", "item_price": 5, "quantity": 1}]
        assert server_meta["custom_data"]["currency"] == "EUR"
        # The page view too: one event id for the pixel and the server copy.
        graph_api.wait_for(lambda events: any(e["event_id"] == view["eid"] and e["event_name"] == "PageView" for e in events))
        # The token only in the Authorization header, never in a URL.
        assert all(META_TOKEN not in request["path"] for request in graph_api.requests)
    finally:
        server.close()


def test_a_blocked_fbevents_js_still_yields_metas_server_copy_with_fbp(browser, events_api, graph_api, pages):
    server = edge_with_both(events_api, graph_api)
    try:
        context = browser.new_context()
        context.route("**/fbevents-stub.js", lambda route: route.abort())
        page = context.new_page()
        page.goto(pages.add("/blocked.html", tags_page(f"{server.base}/p/shop/pb.js")))
        graph_api.wait_for(lambda events: any(e["event_name"] == "PageView" for e in events))
        [view] = [e for e in graph_api.events if e["event_name"] == "PageView"]
        assert view["user_data"]["fbp"].startswith("fb.")
        assert page.evaluate("window.__fbeventsStub") is None
        context.close()
    finally:
        server.close()


def test_a_meta_outage_leaves_tiktoks_deliveries_untouched(page, events_api, graph_api, pages):
    graph_api.outage = True
    server = edge_with_both(events_api, graph_api)
    try:
        page.goto(pages.add("/outage.html", tags_page(f"{server.base}/p/shop/pb.js")))
        page.evaluate("pb('track', 'Lead')")
        [lead] = tiktok_sent(page, "Lead")
        events_api.wait_for(lambda events: any(e["event_id"] == lead["event_id"] for e in events))
        graph_api.wait_until(lambda api: len(api.requests) >= 1)
        assert graph_api.events == []
        # Meta back: its copies, kept meanwhile, arrive with their event ids (the forwarder's backoff starts at 1 s).
        graph_api.outage = False
        graph_api.wait_for(lambda events: any(e["event_id"] == lead["event_id"] for e in events), timeout=30)
        assert server.metric('pixeledge_events_forwarded_total{destination="tiktok"}') >= 2
    finally:
        server.close()


def collect(server, event, event_id):
    body = json.dumps({"pixel": "shop", "event": event, "event_id": event_id, "url": "https://shop.example/thanks",
                       "fbp": "fb.1.1796524117400.421151950958298220"}).encode()
    request = urllib.request.Request(server.base + "/collect", data=body, headers={"Content-Type": "text/plain", "User-Agent": "Mozilla/5.0"})
    with urllib.request.urlopen(request, timeout=5) as answer:
        assert answer.status == 204


def test_kill_9_loses_nothing_for_either_destination(events_api, graph_api):
    """Accepted events are on disk before the 204: a server killed before it forwards them sends them, to both
    platforms, when it starts again."""
    # Both APIs unreachable at first (a closed port): the events wait in the outbox.
    closed = f"http://127.0.0.1:{free_port()}"
    first = PixelEdge("--tiktok-api-base", closed, "--meta-api-base", closed, "--forward-window-ms", "50",
                      pixels={"shop": ["--tiktok-pixel-code", TIKTOK_CODE, "--tiktok-access-token", TIKTOK_TOKEN,
                                       "--meta-pixel-id", META_ID, "--meta-access-token", META_TOKEN]})
    ids = [f"kill-{n}" for n in range(20)]
    for event_id in ids:
        collect(first, "Purchase", event_id)
    first.process.send_signal(signal.SIGKILL)
    first.process.wait()
    second = PixelEdge("--tiktok-api-base", events_api.base, "--meta-api-base", graph_api.base, "--forward-window-ms", "50",
                       database=first.database)
    try:
        events_api.wait_for(lambda events: set(ids) <= {e["event_id"] for e in events}, timeout=30)
        graph_api.wait_for(lambda events: set(ids) <= {e["event_id"] for e in events}, timeout=30)
        assert all(e["user_data"]["fbp"] == "fb.1.1796524117400.421151950958298220" for e in graph_api.events)
    finally:
        second.close()
    first.close()
