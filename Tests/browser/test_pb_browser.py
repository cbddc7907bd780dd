"""pb.js in a real Chromium, against the running server, the demo pages in Public/ and the stand-in for TikTok's
SDK (Public/events-stub.js, which behaves as section 6 of ../shared/reference/tiktok.md says the real one does).
Assertions are on what would reach TikTok (the stand-in's recorded payloads) and PixelEdge (the beacons)."""
import hashlib
import json
import threading
import urllib.request

import pytest

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
    # When each beacon left, in the page's own clock (a loaded machine's page load is not the copy's wait).
    page.add_init_script("const send = navigator.sendBeacon.bind(navigator);"
                         "navigator.sendBeacon = (url, body) => ((window.__beaconsAt ||= []).push(performance.now()), send(url, body));")
    page.goto(edge + "/second.html")
    page.wait_for_load_state("load")
    assert page.evaluate(f"Object.keys(window.ttq._i)") == [DEMO_CODE]
    assert page.evaluate("window.__eventsStub") is None
    # events.js failed: no _ttp will come, and the copy goes at once, saying the SDK was blocked.
    beacon = collect.wait_for(lambda b: b.get("event") == "Pageview" and b.get("url") == edge + "/second.html", after=start)
    waited = page.evaluate("window.__beaconsAt[0] - performance.getEntriesByType('resource').find((e) => e.name.endsWith('/pb.js')).responseEnd")
    assert waited < 1000, f"the copy waited {waited:.0f} ms for an SDK that could not come"
    assert "ttp" not in beacon["json"]
    assert beacon["json"]["sdk"] == "blocked"
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
    server = PixelEdge("--demo", "--events-js-url", f"http://127.0.0.1:{port}/events-stub.js", "--tiktok-api-base", events_api.base,
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
        # Before a grant TikTok's SDK is not even fetched; pb-extras.js (the CMP readers) has come.
        page.wait_for_function("() => window.pb.x.then((module) => !!module)")
        page.evaluate("pb('track', 'Lead')")
        page.evaluate("pb('consent', 'revoke'); pb('track', 'Contact')")
        assert sent(page) == []
        assert page.evaluate("window.__eventsStub") is None
        # A later page, granted.
        page.goto(granted_url)
        page.wait_for_function("() => window.pb.x.then((module) => !!module)")
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
    server = PixelEdge("--demo", "--events-js-url", f"http://127.0.0.1:{port}/events-stub.js", "--tiktok-api-base", events_api.base,
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


def base_code(events_js, code=DEMO_CODE):
    """TikTok's official base code of today (../shared/reference/tiktok.md section 1), loading `events_js`."""
    methods = json.dumps(["page", "track", "identify", "instances", "debug", "on", "off", "once", "ready", "alias", "group",
                          "enableCookie", "disableCookie", "holdConsent", "revokeConsent", "grantConsent"])
    return ("!function (w, d, t) { w.TiktokAnalyticsObject = t; var ttq = w[t] = w[t] || []; ttq.methods = " + methods + ";"
            " ttq.setAndDefer = function (t, e) { t[e] = function () { t.push([e].concat(Array.prototype.slice.call(arguments, 0))) } };"
            " for (var i = 0; i < ttq.methods.length; i++) ttq.setAndDefer(ttq, ttq.methods[i]);"
            " ttq.instance = function (t) { for (var e = ttq._i[t] || [], n = 0; n < ttq.methods.length; n++) ttq.setAndDefer(e, ttq.methods[n]); return e };"
            " ttq.load = function (e, n) { var r = '" + events_js + "', o = n && n.partner; ttq._i = ttq._i || {}, ttq._i[e] = [], ttq._i[e]._u = r,"
            " ttq._t = ttq._t || {}, ttq._t[e] = +new Date, ttq._o = ttq._o || {}, ttq._o[e] = n || {}; n = document.createElement('script');"
            " n.type = 'text/javascript', n.async = !0, n.src = r + '?sdkid=' + e + '&lib=' + t; e = document.getElementsByTagName('script')[0];"
            " e.parentNode.insertBefore(n, e) }; ttq.load('" + code + "'); ttq.page(); }(window, document, 'ttq');")


@pytest.mark.parametrize("order", ["before", "after", "late"])
def test_tiktoks_base_code_beside_the_tag_costs_no_second_page_view_nor_events_js(page, edge, collect, pages, order):
    """The base code an agency pasted years ago, before pb.js, right after it, or injected later by a tag
    manager: one events.js, one page view per URL with pb.js's event_id, one server copy, and the copies say
    that the base code is there."""
    # Before pb.js, the base code's events.js races pb.js: when it runs first, its page view has gone without
    # our event_id and nothing can pair it (README, pb.js item 2). The test holds events.js until pb.js has
    # been fetched, as on the pages where pb.js wins the race, which is what this order tests.
    pb_fetched = threading.Event()
    page.on("requestfinished", lambda request: request.url.endswith("/p/demo/pb.js") and pb_fetched.set())
    stub = urllib.request.urlopen(edge + "/events-stub.js").read().decode()
    slow_events_js = pages.add("/events.js", stub, gate=pb_fetched)
    snippet = f"<script>{base_code(slow_events_js if order == 'before' else edge + '/events-stub.js')}</script>"
    tag = f"<script src='{edge}/p/demo/pb.js'></script>"
    late = (f"<script>addEventListener('load', () => setTimeout(() => {{ {base_code(edge + '/events-stub.js')}; window.__late = 1 }}, 300))"
            "</script>")
    head = {"before": snippet + tag, "after": tag + snippet, "late": tag + late}[order]
    url = pages.add(f"/{order}.html", f"<!doctype html><head>{head}<link rel='icon' href='data:,'></head><body>a shop</body>")
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    start = len(collect.bodies)
    page.goto(url)
    [view] = wait_sent(page, "Pageview")
    if order == "late":
        # Injected once the SDK runs; what it would send, the SDK sends (or drops) in the same task.
        page.wait_for_function("window.__late === 1")
    page.evaluate("pb('track', 'Lead')")
    wait_sent(page, "Lead")
    assert len(sent(page, "Pageview")) == 1, "one page view reaches TikTok"
    assert view["event_id"], "with pb.js's event_id"
    copy = collect.wait_for(lambda b: b.get("event") == "Pageview" and b.get("url") == url, after=start)
    assert copy["json"]["event_id"] == view["event_id"]
    lead = collect.wait_for(lambda b: b.get("event") == "Lead" and b.get("url") == url, after=start)
    assert lead["json"]["base_code"] == 1
    assert len([r for r in requested if "/events-stub.js?sdkid=" in r or "/events.js?sdkid=" in r]) == 1, requested
    assert len([b for b in collect.bodies[start:] if b["json"].get("event") == "Pageview" and b["json"].get("url") == url]) == 1


def test_page_views_where_the_sdk_sends_its_own_an_anchor_and_going_back(page, edge, collect, pages):
    """Today's SDK sends a page view of its own after an anchor-only change and after going back (the
    stand-in does too, with historyPageViews): pb.js sends one first, with its event_id and a copy."""
    url = pages.add("/spa.html", "<!doctype html><head><script>window.__eventsStubSettings = {historyPageViews: true}</script>"
                                 f"<script src='{edge}/p/demo/pb.js'></script><link rel='icon' href='data:,'></head>"
                                 "<body><a id=reviews href='#reviews'>reviews</a></body>")
    start = len(collect.bodies)
    page.goto(url)
    wait_sent(page, "Pageview")
    page.click("#reviews")
    wait_sent(page, "Pageview", 2)
    page.go_back()
    views = wait_sent(page, "Pageview", 3)
    page.wait_for_function("window.__eventsStub.historyChanges >= 2")
    views = sent(page, "Pageview")
    assert [v["context"]["page"]["url"] for v in views] == [url, url + "#reviews", url]
    assert all(v["event_id"] for v in views), "no page view of the SDK's own, without an event_id"
    for view in views:
        collect.wait_for(lambda b: b.get("event_id") == view["event_id"], after=start)


def test_consent_required_stores_nothing_and_asks_tiktok_nothing_before_the_grant(browser, collect, pages):
    port = free_port()
    server = PixelEdge("--demo", "--events-js-url", f"http://127.0.0.1:{port}/events-stub.js", "--collect-url", collect.url, port=port,
                       pixels={"eu": ["--tiktok-pixel-code", DEMO_CODE, "--consent", "required"]})
    try:
        url = pages.add("/eu.html", tags_page(f"{server.base}/p/eu/pb.js"))
        context = browser.new_context()
        page = context.new_page()
        requested = []
        page.on("request", lambda request: requested.append(request.url))
        start = len(collect.bodies)
        page.goto(url + "?ttclid=E.C.P.consent")
        page.wait_for_load_state("load")
        page.evaluate("pb('track', 'Lead')")
        # Event Builder finds the pixel registered before any consent.
        assert page.evaluate(f"Array.isArray(window.ttq._i['{DEMO_CODE}'])")
        # pb-extras.js has come and read the (absent) CMP signals; then the page is hidden, when pb.js sends
        # everything it may send at once: what consent holds must still not leave.
        page.wait_for_function("() => window.pb.x.then((module) => !!module)")
        page.evaluate("Object.defineProperty(document, 'hidden', {value: true, configurable: true});"
                      "document.dispatchEvent(new Event('visibilitychange', {bubbles: true}))")
        page.evaluate("delete document.hidden")
        assert context.cookies() == [], "nothing stored on the device before the grant"
        assert page.evaluate("sessionStorage.length + localStorage.length") == 0
        assert not [r for r in requested if "events-stub.js" in r or r.startswith(collect.url)], requested
        assert collect.bodies[start:] == []
        page.evaluate("pb('consent', 'grant')")
        view = wait_sent(page, "Pageview")[0]
        lead = wait_sent(page, "Lead")[0]
        copies = [collect.wait_for(lambda b: b.get("event_id") == sent_id, after=start)["json"] for sent_id in (view["event_id"], lead["event_id"])]
        assert all(copy["ttclid"] == "E.C.P.consent" and copy["consent"] == "granted" for copy in copies)
        names = {cookie["name"] for cookie in context.cookies()}
        assert {"_ttp", "pb_ttclid"} <= names, names
        context.close()
    finally:
        server.close()
