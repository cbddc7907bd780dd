"""pb.js in a real Chromium, against the running server and the demo pages in Public/."""
import hashlib

DEMO_CODE = "CPIXELEDGEDEMO000001"


def sha256(text):
    return hashlib.sha256(text.encode()).hexdigest()


def pixel_log(page, method):
    """The calls the demo pixel received, in order (queued before events.js, recorded by the stand-in after)."""
    return page.evaluate(
        "([code, method]) => [...window.ttq._i[code]].filter(e => Array.isArray(e) && e[0] === method)",
        [DEMO_CODE, method])


def test_the_pixel_is_registered_before_the_next_script_runs_and_at_dom_ready(page, edge, collect):
    page.goto(edge + "/")
    page.wait_for_function("window.__eventsStub && window.__eventsStub.loads.length > 0")
    assert page.evaluate("window.__inlineSaw") == [DEMO_CODE]
    assert page.evaluate("window.__domReadySaw") == [DEMO_CODE]
    loads = page.evaluate("window.__eventsStub.loads")
    assert loads == [{"src": f"{edge}/events-stub.js?sdkid={DEMO_CODE}&lib=ttq", "code": DEMO_CODE}]
    assert page.evaluate(f"window.ttq._i['{DEMO_CODE}']._u") == f"{edge}/events-stub.js"
    assert "is registered" in page.text_content("#pixel")
    [page_view] = pixel_log(page, "page")
    beacon = collect.wait_for(lambda b: b.get("event_id") == page_view[2]["event_id"])
    assert beacon["json"]["event"] == "Pageview"
    assert beacon["json"]["pixel"] == "demo"
    assert beacon["json"]["url"] == edge + "/"
    assert beacon["content_type"].startswith("text/plain")


def test_the_pixel_stays_registered_when_events_js_is_blocked(page, edge):
    page.route("**/events-stub.js*", lambda route: route.abort())
    page.expected_errors.append("events-stub.js")
    page.expected_errors.append("net::ERR_FAILED")
    page.goto(edge + "/")
    page.wait_for_load_state("load")
    assert page.evaluate("window.__inlineSaw") == [DEMO_CODE]
    assert page.evaluate("window.__domReadySaw") == [DEMO_CODE]
    assert page.evaluate("window.__eventsStub") is None
    assert len(pixel_log(page, "page")) == 1
    assert all("events-stub.js" in e or "ERR_FAILED" in e for e in page.errors)


def test_typed_email_and_phone_reach_identify_hashed_and_the_beacon_shares_the_event_id(page, edge, collect):
    page.goto(edge + "/")
    page.fill("input[name=email]", "  Jane.Doe@Example.com ")
    page.fill("input[name=phone]", "+44 20 7946 0958")
    page.fill("input[name=password]", "hunter2-secret")
    page.click("button")
    page.wait_for_function(
        "([code]) => [...window.ttq._i[code]].filter(e => e[0] === 'identify').length >= 2", arg=[DEMO_CODE])
    identified = {key: value for entry in pixel_log(page, "identify") for key, value in entry[1].items()}
    assert identified == {"sha256_email": sha256("jane.doe@example.com"), "sha256_phone_number": sha256("+442079460958")}
    [lead] = [entry for entry in pixel_log(page, "track") if entry[1] == "Lead"]
    event_id = lead[3]["event_id"]
    assert "Lead sent with event_id " + event_id == page.text_content("#event")
    beacon = collect.wait_for(lambda b: b.get("event") == "Lead" and b.get("event_id") == event_id)
    assert beacon["json"]["pixel"] == "demo"
    # A later event carries the hashes, never the values.
    page.evaluate("pb('track', 'Contact')")
    contact = collect.wait_for(lambda b: b.get("event") == "Contact" and "email" in b)
    assert contact["json"]["email"] == sha256("jane.doe@example.com")
    assert contact["json"]["phone_number"] == sha256("+442079460958")
    for body in collect.bodies:
        # Whole values only: event_ids are random digits, so a short fragment of the number could appear by chance.
        for raw in ("Jane", "jane.doe", "Example.com", "+44 20 7946 0958", "442079460958", "2079460958", "hunter2"):
            assert raw not in body["raw"], f"{raw} in {body['raw']}"


def test_a_ttclid_from_the_landing_url_is_carried_by_the_next_page(page, edge, collect):
    page.goto(edge + "/?ttclid=abc")
    [landing_view] = pixel_log(page, "page")
    landing = collect.wait_for(lambda b: b.get("event_id") == landing_view[2]["event_id"])
    assert landing["json"]["ttclid"] == "abc"
    assert landing["json"]["url"] == edge + "/"
    page.click("text=Second page")
    page.wait_for_url(edge + "/second.html")
    [second_view] = pixel_log(page, "page")
    second = collect.wait_for(lambda b: b.get("event_id") == second_view[2]["event_id"])
    assert second["json"]["ttclid"] == "abc"
    page.click("#add")
    [add] = [entry for entry in pixel_log(page, "track") if entry[1] == "AddToCart"]
    beacon = collect.wait_for(lambda b: b.get("event_id") == add[3]["event_id"])
    assert beacon["json"]["ttclid"] == "abc"
    assert beacon["json"]["properties"]["value"] == 12.5
    [cookie] = [c for c in page.context.cookies() if c["name"] == "ttclid"]
    assert cookie["value"] == "abc"
    assert cookie["sameSite"] == "Lax"
    assert cookie["secure"] is False
    assert 29 * 86400 < cookie["expires"] - page.evaluate("Date.now() / 1000") <= 30 * 86400


def test_direct_traffic_has_no_ttclid_and_no_errors(page, edge, collect):
    page.goto(edge + "/second.html")
    [view] = pixel_log(page, "page")
    beacon = collect.wait_for(lambda b: b.get("event_id") == view[2]["event_id"])
    assert "ttclid" not in beacon["json"]
    assert [c for c in page.context.cookies() if c["name"] == "ttclid"] == []
