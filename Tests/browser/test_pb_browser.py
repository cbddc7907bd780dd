"""pb.js in a real Chromium, against the running server, the demo pages in Public/ and the stand-in for TikTok's
SDK (Public/events-stub.js, which behaves as section 6 of ../shared/reference/tiktok.md says the real one does).
Assertions are on what would reach TikTok (the stand-in's recorded payloads) and PixelEdge (the beacons)."""
import hashlib
import json
import urllib.request

from conftest import SECOND_CODE, PixelEdge, free_port

DEMO_CODE = "CPIXELEDGEDEMO000001"


def sha256(text):
    return hashlib.sha256(text.encode()).hexdigest()


def tags_page(*scripts):
    """A site's page with pb.js tags at the top of its head."""
    tags = "".join(f"<script src='{src}'></script>" for src in scripts)
    return f"<!doctype html><head>{tags}<link rel='icon' href='data:,'></head><body>a site</body>"


def sent(page, event=None):
    """What TikTok would have received from this page, in order."""
    payloads = page.evaluate("(window.__eventsStub && window.__eventsStub.sent) || []")
    return [payload for payload in payloads if event is None or payload["event"] == event]


def wait_sent(page, event, count=1):
    page.wait_for_function(
        "([event, count]) => window.__eventsStub && __eventsStub.sent.filter(p => p.event === event).length >= count",
        arg=[event, count])
    return sent(page, event)


def test_the_pixel_is_registered_before_the_next_script_runs_and_at_dom_ready(page, edge, collect):
    page.goto(edge + "/")
    [view] = wait_sent(page, "Pageview")
    assert page.evaluate("window.__inlineSaw") == [DEMO_CODE]
    assert page.evaluate("window.__domReadySaw") == [DEMO_CODE]
    loads = page.evaluate("window.__eventsStub.loads")
    assert loads == [{"src": f"{edge}/events-stub.js?sdkid={DEMO_CODE}&lib=ttq", "code": DEMO_CODE}]
    assert page.evaluate(f"window.ttq._i['{DEMO_CODE}']._u") == f"{edge}/events-stub.js"
    assert page.evaluate(f"window.ttq._i['{DEMO_CODE}'].info.pixelCode") == DEMO_CODE
    assert "is registered" in page.text_content("#pixel")
    beacon = collect.wait_for(lambda b: b.get("event_id") == view["event_id"])
    assert beacon["json"]["event"] == "Pageview"
    assert beacon["json"]["pixel"] == "demo"
    assert beacon["json"]["url"] == edge + "/"
    assert beacon["content_type"].startswith("text/plain")


def test_the_page_view_reaching_tiktok_has_the_event_id_of_its_server_copy_on_every_page(page, edge, collect):
    for path in ("/", "/second.html"):
        page.goto(edge + path)
        [view] = wait_sent(page, "Pageview")
        assert view["event_id"], "an empty event_id cannot deduplicate"
        assert view["context"]["page"]["url"] == edge + path
        beacon = collect.wait_for(lambda b: b.get("event_id") == view["event_id"])
        assert beacon["json"]["event"] == "Pageview"
        assert beacon["json"]["url"] == edge + path


def test_the_pixel_stays_registered_when_events_js_is_blocked_and_the_copy_still_goes(page, edge, collect):
    page.route("**/events-stub.js*", lambda route: route.abort())
    page.expected_errors.append("events-stub.js")
    page.expected_errors.append("net::ERR_FAILED")
    start = len(collect.bodies)
    page.goto(edge + "/second.html")
    page.wait_for_load_state("load")
    assert page.evaluate(f"Object.keys(window.ttq._i)") == [DEMO_CODE]
    assert page.evaluate("window.__eventsStub") is None
    # Without the pixel no _ttp ever comes: the copy goes after the 3 s it may wait for one.
    beacon = collect.wait_for(lambda b: b.get("event") == "Pageview" and b.get("url") == edge + "/second.html", after=start)
    assert "ttp" not in beacon["json"]
    assert all("events-stub.js" in e or "ERR_FAILED" in e for e in page.errors)


def test_a_new_visitors_first_page_view_copy_carries_the_ttp_the_pixel_uses(browser, edge, collect):
    """Measured over fresh profiles: the share of first-page server copies that carry the browser's _ttp."""
    with_ttp = 0
    visits = 10
    for _ in range(visits):
        context = browser.new_context()
        page = context.new_page()
        page.goto(edge + "/")
        [view] = wait_sent(page, "Pageview")
        anonymous_id = view["context"]["user"]["anonymous_id"]
        beacon = collect.wait_for(lambda b: b.get("event_id") == view["event_id"])
        if anonymous_id and beacon["json"].get("ttp") == anonymous_id:
            with_ttp += 1
        context.close()
    print(f"first-page server copies with the pixel's ttp: {with_ttp} of {visits}")
    assert with_ttp == visits


def test_typed_email_and_phone_reach_tiktok_hashed_and_the_lead_shares_its_event_id(page, edge, collect):
    page.goto(edge + "/")
    wait_sent(page, "Pageview")
    page.fill("input[name=email]", "  Jane.Doe@Example.com ")
    page.fill("input[name=phone]", "+44 20 7946 0958")
    page.fill("input[name=password]", "hunter2-secret")
    page.click("button")
    [lead] = wait_sent(page, "Lead")
    assert lead["context"]["user"]["email"] == sha256("jane.doe@example.com")
    assert lead["context"]["user"]["phone_number"] == sha256("+442079460958")
    page.wait_for_function("document.querySelector('#event').textContent.startsWith('Lead')")
    assert page.text_content("#event") == "Lead sent to TikTok with event_id " + lead["event_id"]
    beacon = collect.wait_for(lambda b: b.get("event") == "Lead" and b.get("event_id") == lead["event_id"])
    assert beacon["json"]["pixel"] == "demo"
    assert beacon["json"]["sha256_email"] == sha256("jane.doe@example.com")
    assert beacon["json"]["sha256_phone_number"] == sha256("+442079460958")
    for body in collect.bodies:
        # Whole values only: event_ids are random digits, so a short fragment of the number could appear by chance.
        for raw in ("Jane", "jane.doe", "Example.com", "+44 20 7946 0958", "442079460958", "2079460958", "hunter2"):
            assert raw not in body["raw"], f"{raw} in {body['raw']}"
    for payload in sent(page):
        assert "hunter2" not in json.dumps(payload)


def test_identify_reaches_both_sides_hashed(page, edge, collect):
    page.goto(edge + "/")
    wait_sent(page, "Pageview")
    page.evaluate("pb('identify', {email: 'Login@Example.com', phone: '+1 (555) 123-4567', external_id: 'member-7'}); pb('track', 'CompleteRegistration')")
    [done] = wait_sent(page, "CompleteRegistration")
    assert done["context"]["user"]["email"] == sha256("login@example.com")
    assert done["context"]["user"]["phone_number"] == sha256("+15551234567")
    assert done["context"]["user"]["external_id"] == sha256("member-7")
    beacon = collect.wait_for(lambda b: b.get("event_id") == done["event_id"])
    assert beacon["json"]["external_id"] == sha256("member-7")
    assert beacon["json"]["locale"] == page.evaluate("navigator.language")


def test_a_ttclid_from_the_landing_url_is_carried_by_the_next_page(page, edge, collect):
    page.goto(edge + "/?ttclid=abc")
    [landing_view] = wait_sent(page, "Pageview")
    assert landing_view["context"]["ad"]["callback"] == "abc"
    landing = collect.wait_for(lambda b: b.get("event_id") == landing_view["event_id"])
    assert landing["json"]["ttclid"] == "abc"
    assert landing["json"]["url"] == edge + "/"
    page.click("text=Second page")
    page.wait_for_url(edge + "/second.html")
    [second_view] = wait_sent(page, "Pageview")
    second = collect.wait_for(lambda b: b.get("event_id") == second_view["event_id"])
    assert second["json"]["ttclid"] == "abc"
    page.click("#add")
    [add] = wait_sent(page, "AddToCart")
    beacon = collect.wait_for(lambda b: b.get("event_id") == add["event_id"])
    assert beacon["json"]["ttclid"] == "abc"
    assert beacon["json"]["properties"]["value"] == 12.5
    [cookie] = [c for c in page.context.cookies() if c["name"] == "pb_ttclid"]
    assert cookie["value"] == "abc"
    assert cookie["sameSite"] == "Lax"
    assert cookie["secure"] is False
    assert 29 * 86400 < cookie["expires"] - page.evaluate("Date.now() / 1000") <= 30 * 86400


def test_direct_traffic_has_no_ttclid_and_no_errors(page, edge, collect):
    page.goto(edge + "/second.html")
    [view] = wait_sent(page, "Pageview")
    beacon = collect.wait_for(lambda b: b.get("event_id") == view["event_id"])
    assert "ttclid" not in beacon["json"]
    assert [c for c in page.context.cookies() if c["name"] in ("pb_ttclid", "ttclid")] == []


def test_a_route_change_is_one_page_view_with_its_copys_event_id_even_when_tiktok_sends_its_own(page, edge, collect):
    page.add_init_script("window.__eventsStubSettings = {historyPageViews: true}")
    page.goto(edge + "/")
    wait_sent(page, "Pageview")
    page.click("#spa")
    page.wait_for_function("window.__eventsStub.historyChanges >= 1")
    views = wait_sent(page, "Pageview", 2)
    assert len(views) == 2
    assert views[1]["context"]["page"]["url"] == edge + "/step-2"
    beacon = collect.wait_for(lambda b: b.get("event_id") == views[1]["event_id"])
    assert beacon["json"]["url"] == edge + "/step-2"
    page.go_back()
    page.wait_for_function("window.__eventsStub.historyChanges >= 2")
    views = wait_sent(page, "Pageview", 3)
    assert len(views) == 3
    assert views[2]["context"]["page"]["url"] == edge + "/"
    collect.wait_for(lambda b: b.get("event_id") == views[2]["event_id"])


def test_two_pixels_on_one_page_each_get_their_own_events(page, edge, collect, pages):
    url = pages.add("/two.html", tags_page(f"{edge}/p/demo/pb.js", f"{edge}/p/second/pb.js"))
    page.goto(url)
    page.wait_for_function("window.__eventsStub && __eventsStub.loads.length == 2")
    views = wait_sent(page, "Pageview", 2)
    assert sorted(view["context"]["pixel"]["code"] for view in views) == sorted([DEMO_CODE, SECOND_CODE])
    for view in views:
        beacon = collect.wait_for(lambda b: b.get("event_id") == view["event_id"] and b.get("event") == "Pageview")
        assert beacon["json"]["url"] == url
    page.evaluate("pb('track', 'Lead')")
    leads = wait_sent(page, "Lead", 2)
    by_code = {lead["context"]["pixel"]["code"]: lead["event_id"] for lead in leads}
    assert len(by_code) == 2
    demo = collect.wait_for(lambda b: b.get("event") == "Lead" and b.get("pixel") == "demo" and b.get("event_id") == by_code[DEMO_CODE])
    second = collect.wait_for(lambda b: b.get("event") == "Lead" and b.get("pixel") == "second" and b.get("event_id") == by_code[SECOND_CODE])
    assert demo["json"]["event_id"] != second["json"]["event_id"]


def test_the_relay_forwards_only_what_consent_allowed(browser, events_api, pages):
    """A pixel that requires consent, with its real relay: held and revoked events never reach the Events API,
    granted ones do, with the event_ids TikTok's pixel got."""
    port = free_port()
    token = "T" * 64
    server = PixelEdge("--events-js-url", f"http://127.0.0.1:{port}/events-stub.js", "--tiktok-api-base", events_api.base,
                       "--forward-window-ms", "50", port=port,
                       pixels={"shop": ["--tiktok-pixel-code", DEMO_CODE, "--tiktok-access-token", token, "--consent", "required"]})
    try:
        html = tags_page(f"{server.base}/p/shop/pb.js")
        pages.add("/held.html", html)
        granted_url = pages.add("/granted.html", html)
        context = browser.new_context()
        page = context.new_page()
        # Held, then revoked: nothing may leave.
        page.goto(pages.base + "/held.html")
        page.wait_for_function("window.__eventsStub && __eventsStub.loads.length == 1")
        page.evaluate("pb('track', 'Lead')")
        page.evaluate("pb('consent', 'revoke'); pb('track', 'Contact')")
        assert sent(page) == []
        # A later page, granted.
        page.goto(granted_url)
        page.wait_for_function("window.__eventsStub && __eventsStub.loads.length == 1")
        page.evaluate("pb('consent', 'grant'); pb('track', 'Purchase', {value: 5, currency: 'EUR'})")
        view = wait_sent(page, "Pageview")[0]
        purchase = wait_sent(page, "Purchase")[0]
        events_api.wait_for(lambda events: {e["event_id"] for e in events} >= {view["event_id"], purchase["event_id"]})
        forwarded = events_api.events
        assert sorted(e["event"] for e in forwarded) == ["Pageview", "Purchase"]
        assert {e["event_id"] for e in forwarded} == {view["event_id"], purchase["event_id"]}
        assert all(e["page"]["url"] == granted_url for e in forwarded)
        assert events_api.requests[0]["token"] == token
        # Nothing else reached /collect at all: the held and revoked copies never left the browser.
        assert server.metric("pixeledge_events_received_total") == 2
        context.close()
    finally:
        server.close()


def test_a_complete_payment_reaches_the_pixel_and_the_events_api_as_one_purchase(browser, events_api, pages):
    """TikTok deduplicates on pixel, event name and event_id: CompletePayment, which TikTok's SDK sends as
    Purchase, must reach the Events API as Purchase too, with the browser's event_id and currency."""
    port = free_port()
    server = PixelEdge("--events-js-url", f"http://127.0.0.1:{port}/events-stub.js", "--tiktok-api-base", events_api.base,
                       "--forward-window-ms", "50", port=port,
                       pixels={"shop": ["--tiktok-pixel-code", DEMO_CODE, "--tiktok-access-token", "T" * 64]})
    try:
        url = pages.add("/checkout.html", tags_page(f"{server.base}/p/shop/pb.js"))
        context = browser.new_context()
        page = context.new_page()
        page.goto(url)
        page.wait_for_function("window.__eventsStub && __eventsStub.loads.length == 1")
        page.evaluate("pb('track', 'CompletePayment', {value: 5, currency: 'eur'})")
        purchase = wait_sent(page, "Purchase")[0]
        assert purchase["properties"]["currency"] == "EUR"
        events_api.wait_for(lambda events: any(e["event_id"] == purchase["event_id"] for e in events))
        copy = next(e for e in events_api.events if e["event_id"] == purchase["event_id"])
        assert copy["event"] == "Purchase"
        assert copy["properties"]["currency"] == "EUR"
        assert not any(e["event"] == "CompletePayment" for e in events_api.events)
        context.close()
    finally:
        server.close()
