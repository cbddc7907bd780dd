"""The operator console at /admin/, driven in Debian's Chromium against a running `pixel-edge serve` and the
fake Events API (which answers a revoked token as TikTok does, 40105): issue 12's acceptance."""
import json
import re
import subprocess

import pytest
from playwright.sync_api import expect

from conftest import BENCH, BINARY, PixelEdge, free_port, http_request
from servers import FakeEventsAPI

ADMIN_TOKEN = "console-test-admin-token"
CODE = "C4ABCDEFGHIJKLMNOPQR"
GOOD_TOKEN = "g00d" * 16
REVOKED_TOKEN = "r3v0k3d" * 10
EXPIRED_TOKEN = "3xp1r3d" * 10
THROTTLED_TOKEN = "thr0ttl3d" * 8
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "frame-ancestors 'none'; base-uri 'none'; form-action 'none'")


@pytest.fixture(scope="module")
def api():
    fake = FakeEventsAPI()
    fake.revoked_tokens.add(REVOKED_TOKEN)
    fake.token_answers[EXPIRED_TOKEN] = {"code": 40102, "message": "Access token has expired"}
    fake.token_answers[THROTTLED_TOKEN] = {"code": 40132, "message": "Request frequency limited"}
    yield fake
    fake.close()


@pytest.fixture(scope="module")
def console(api):
    port = free_port()
    server = PixelEdge("--demo", "--tiktok-api-base", api.base, "--forward-window-ms", "50",
                       "--events-js-url", f"http://127.0.0.1:{port}/events-stub.js", port=port,
                       environment={"PIXELEDGE_ADMIN_TOKEN": ADMIN_TOKEN})
    yield server
    server.close()


def admin(console, method, path, body=None):
    status, _, answer = http_request(method, f"{console.base}/admin/{path}", body,
                                     {"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/json"})
    return status, json.loads(answer) if answer else None


def log_in(page, console):
    page.goto(f"{console.base}/admin/")
    page.fill("#login-token", ADMIN_TOKEN)
    page.click("#login-form button")
    expect(page.locator("#pixels")).to_be_visible()


def card(page, pixel):
    return page.locator(f'.card[data-pixel="{pixel}"]')


def fill_new_pixel(page, pixel, code, token="", test_event_code=""):
    page.click("#new-pixel")
    page.fill("#f-id", pixel)
    page.fill("#f-pixel-code", code)
    page.fill("#f-access-token", token)
    page.fill("#f-test-event-code", test_event_code)


def test_the_console_is_served_only_with_the_admin_token_and_under_a_strict_policy(console):
    for path in ["/admin/", "/admin", "/admin/console.js", "/admin/console.css"]:
        status, headers, _ = http_request("GET", console.base + path)
        assert status == 200, path
        assert headers["Content-Security-Policy"] == CSP
        assert headers["X-Content-Type-Options"] == "nosniff"
    assert http_request("GET", console.base + "/admin/index.html")[0] == 404, "the folder is not served as plain files"
    assert http_request("GET", console.base + "/admin/pixels")[0] == 401, "the API it calls needs the token"
    without = PixelEdge("--demo")
    try:
        for path in ["/admin/", "/admin/console.js", "/admin/index.html", "/admin/pixels"]:
            assert http_request("GET", without.base + path)[0] == 404, path
    finally:
        without.close()


def test_logging_in_asks_for_the_admin_token_once_per_tab(page, console):
    page.expected_errors.append("401")  # Chromium logs the refused attempt's response
    page.goto(f"{console.base}/admin/")
    page.fill("#login-token", "not-the-token")
    page.click("#login-form button")
    expect(page.locator("#login-error")).to_have_text("Wrong admin token: it is the server's PIXELEDGE_ADMIN_TOKEN.")
    expect(page.locator("#pixels")).to_be_hidden()
    page.fill("#login-token", ADMIN_TOKEN)
    page.click("#login-form button")
    expect(card(page, "demo")).to_be_visible()
    page.reload()
    expect(card(page, "demo")).to_be_visible()  # the tab keeps the token
    page.click("#logout")
    expect(page.locator("#login")).to_be_visible()


def test_a_lowercase_pixel_code_is_explained_beside_its_field_and_nothing_is_stored(page, console):
    log_in(page, console)
    fill_new_pixel(page, "lower", CODE.lower(), token="short-token")
    message = page.locator('.message[data-for="tiktok.pixelCode"]')
    expect(message).to_have_text(f'TikTok Pixel Code "{CODE.lower()}" contains lowercase letters: TikTok Pixel Codes are '
                                 'uppercase and case-sensitive, re-copy it from Events Manager')
    expect(message).to_have_class(re.compile(r"\berror\b"))
    expect(page.locator("#save")).to_be_disabled()
    page.fill("#f-pixel-code", CODE[:12])
    expect(message).to_have_text(f'TikTok Pixel Code "{CODE[:12]}" is 12 characters long: it must be exactly 20, check that the whole code was copied')
    # Pasted with whitespace: accepted, with the warnings a save would give (the short token's too).
    page.fill("#f-pixel-code", f" {CODE}\t")
    expect(message).to_have_text("removed whitespace around the TikTok Pixel Code")
    expect(message).to_have_class(re.compile(r"\bwarning\b"))
    expect(page.locator('.message[data-for="tiktok.accessToken"]')).to_have_text(
        "access token is only 11 characters long (TikTok's are usually 60 or more): it may be a partial copy")
    expect(page.locator("#save")).to_be_enabled()
    page.click("#cancel")
    expect(card(page, "lower")).to_have_count(0)
    assert admin(console, "GET", "pixels/lower")[0] == 404


def test_a_refused_token_turns_the_card_red_with_the_fix_and_a_new_one_green(page, console, api):
    log_in(page, console)
    fill_new_pixel(page, "shop", CODE, token=REVOKED_TOKEN)
    page.click("#save")
    shop = card(page, "shop")
    expect(shop).to_have_class(re.compile(r"\bred\b"))
    expect(shop.locator(".card-status")).to_have_text(
        "TikTok rejected the access token (40105: Access token is incorrect or has been revoked.). "
        f"Generate a new one in Events Manager > pixel {CODE} > Settings and save it with the pixel. "
        "Its events are kept and sent once it is saved.")
    assert REVOKED_TOKEN not in page.content(), "the token never comes back to the page"
    checks = [r for r in api.requests if r["token"] == REVOKED_TOKEN]
    assert checks and checks[-1]["body"]["data"] == [] and "test_event_code" not in checks[-1]["body"], \
        "without a Test Event Code, the check sends no event"

    shop.locator(".edit").click()
    expect(page.locator("#f-access-token")).to_have_attribute("placeholder", f"****{REVOKED_TOKEN[-4:]} (stored: leave empty to keep it)")
    page.fill("#f-access-token", GOOD_TOKEN)
    page.click("#save")
    expect(shop).to_have_class(re.compile(r"\bgreen\b"))
    expect(shop.locator(".card-status")).to_have_text("TikTok accepted the last test or batch.")
    expect(shop.locator(".test-mode")).to_be_hidden()

    shop.locator(".edit").click()
    page.fill("#f-test-event-code", "TEST_12345678")
    page.click("#save")
    expect(shop.locator(".test-mode")).to_be_visible()
    expect(shop.locator(".test-mode")).to_have_text("Test mode")
    assert api.requests[-1]["body"]["test_event_code"] == "TEST_12345678"
    assert admin(console, "GET", "pixels/shop")[1]["tiktok"]["status"] == "ok"

    shop.locator(".edit").click()
    page.fill("#f-test-event-code", "")
    page.click("#save")
    expect(shop.locator(".test-mode")).to_be_hidden()


def test_an_expired_token_is_red_and_throttling_orange_each_with_its_fix(page, console, api):
    log_in(page, console)
    fill_new_pixel(page, "expired", CODE, token=EXPIRED_TOKEN)
    page.click("#save")
    expired = card(page, "expired")
    expect(expired).to_have_class(re.compile(r"\bred\b"))
    expect(expired.locator(".card-status")).to_contain_text(
        "TikTok says the access token has expired (40102: Access token has expired). Generate a new one")
    fill_new_pixel(page, "throttled", CODE, token=THROTTLED_TOKEN)
    page.click("#save")
    throttled = card(page, "throttled")
    expect(throttled).to_have_class(re.compile(r"\borange\b"))
    expect(throttled.locator(".card-status")).to_contain_text(
        "TikTok is rate-limiting this access token (40132: Request frequency limited). Events are kept and retried")
    for pixel in ("expired", "throttled"):
        assert admin(console, "DELETE", f"pixels/{pixel}")[0] in (200, 204)


def test_events_sent_from_the_demo_page_appear_with_their_event_ids_and_keys(page, console, api, browser):
    log_in(page, console)
    card(page, "demo").locator(".edit").click()
    page.fill("#f-access-token", GOOD_TOKEN)
    page.click("#save")
    expect(card(page, "demo")).to_have_class(re.compile(r"\bgreen\b"))
    card(page, "demo").locator(".open").click()
    expect(page.locator("#no-events")).to_be_visible()

    site = browser.new_context().new_page()
    site.goto(console.base + "/")
    site.fill('input[name="email"]', " Jane.Doe@Example.com ")
    site.fill('input[name="phone"]', "+44 20 7946 0958")
    site.click("#lead button")
    # The demo page shows the event_id the browser pixel (the stand-in for events.js) was given.
    expect(site.locator("#event")).to_have_text(re.compile(r"^Lead sent to TikTok with event_id \S+$"))
    browser_event_id = site.text_content("#event").rsplit(" ", 1)[1]
    site.context.close()

    # Every copy the Events API received for the demo pixel is listed, by its event_id, live. The page sends
    # two, its page view's and the Lead's, which may leave in passes of their own and in either order: the
    # test waits for both (it once read the requests when only the Lead had arrived, under load).
    def demo_events():
        return [e for r in api.requests if r["body"].get("event_source_id") == "CPIXELEDGEDEMO000001" for e in r["body"]["data"]]
    api.wait_until(lambda _: sorted(e["event"] for e in demo_events()) == ["Lead", "Pageview"], timeout=15)
    demo = demo_events()
    rows = page.locator("#events tbody tr")
    expect(rows).to_have_count(len(demo))
    lead = next(e for e in demo if e["event"] == "Lead")
    assert lead["event_id"] == browser_event_id, "one event_id for the browser pixel and the server copy"
    lead_row = page.locator(f'#events tbody tr[data-event-id="{lead["event_id"]}"]')
    expect(lead_row.locator("td").nth(1)).to_have_text("TikTok")
    expect(lead_row.locator("td").nth(2)).to_have_text("Lead")
    expect(lead_row.locator(".key")).to_have_text(["email", "phone", "ttp", "ip", "user_agent"])
    expect(lead_row.locator("td").nth(5)).to_have_text(re.compile(r"^sent · request_id req-\d+$"))

    # Coverage: one event in len(demo) carried an email.
    share = f"{round(100 / len(demo))}%"
    expect(page.locator('#coverage tr[data-key="email"] td').nth(1)).to_have_text("TikTok, Meta")
    expect(page.locator('#coverage tr[data-key="email"] td').nth(2)).to_have_text("1")
    expect(page.locator('#coverage tr[data-key="fbp"]')).to_have_count(0)
    expect(page.locator('#coverage tr[data-key="email"] .share span')).to_have_text(share)
    expect(page.locator('#coverage tr[data-key="user_agent"] .share span')).to_have_text("100%")
    expect(page.locator("#coverage-summary")).to_have_text(re.compile(rf"^{len(demo)} server-side events since "))
    expect(page.locator("#hints li").filter(has_text="ttclid comes only with visitors who arrive from a TikTok ad")).to_have_count(1)
    expect(page.locator('#coverage tr[data-key="ttclid"]')).to_have_class("low")
    expect(page.locator('#coverage tr[data-key="external_id"]')).not_to_have_class("low")


def test_the_install_snippet_is_the_tag_for_this_pixel_and_copies(page, console):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=console.base)
    log_in(page, console)
    card(page, "demo").locator(".open").click()
    tag = f'<script src="{console.base}/p/demo/pb.js"></script>'
    expect(page.locator("#snippet")).to_have_text(tag)
    page.click("#copy-snippet")
    expect(page.locator("#copy-status")).to_have_text("Copied: paste it at the top of the site's <head>.")
    assert page.evaluate("() => navigator.clipboard.readText()") == tag
    assert http_request("GET", f"{console.base}/p/demo/pb.js")[0] == 200, "the tag's URL serves the bundle"


def test_delete_asks_first(page, console):
    assert admin(console, "PUT", "pixels/gone", {"tiktok": None})[0] == 201
    log_in(page, console)
    gone = card(page, "gone")
    gone.locator(".delete").click()
    expect(gone.locator(".confirm-text")).to_have_text("Delete pixel gone? Sites with its tag get a 404 for pb.js from now on.")
    gone.locator(".confirm-cancel").click()
    expect(gone.locator(".confirm")).to_be_hidden()
    assert admin(console, "GET", "pixels/gone")[0] == 200
    gone.locator(".delete").click()
    gone.locator(".confirm-delete").click()
    expect(gone).to_have_count(0)
    assert admin(console, "GET", "pixels/gone")[0] == 404


def test_the_console_works_at_a_phone_width(page, console):
    page.set_viewport_size({"width": 375, "height": 740})
    log_in(page, console)
    overflow = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    assert page.evaluate(overflow) == 0, "the list fits"
    box = card(page, "demo").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 375
    page.click("#new-pixel")
    assert page.evaluate(overflow) == 0, "the form fits"
    page.click("#cancel")
    card(page, "demo").locator(".open").click()
    expect(page.locator("#snippet")).to_be_visible()
    assert page.evaluate(overflow) == 0, "the events fit (their table scrolls inside its panel)"


def test_many_pixels_come_a_page_at_a_time_and_can_be_searched(page, tmp_path):
    database = tmp_path / "many.sqlite"
    subprocess.run([str(BENCH), "seed", "--pixels", "250", "--database", str(database)], check=True, capture_output=True)
    server = PixelEdge(database=str(database), environment={"PIXELEDGE_ADMIN_TOKEN": ADMIN_TOKEN})
    try:
        log_in(page, server)
        cards = page.locator(".card")
        more = page.locator("#more-pixels")
        expect(cards).to_have_count(100)
        more.click()
        expect(cards).to_have_count(200)
        more.click()
        expect(cards).to_have_count(250)
        expect(more).to_be_hidden()

        page.fill("#search", "SEED-24")
        expect(cards).to_have_count(11)  # seed-24 and seed-240 to seed-249
        expect(card(page, "seed-24")).to_be_visible()
        page.fill("#search", "c4000000000000000199")
        expect(cards).to_have_count(1)
        expect(card(page, "seed-199")).to_be_visible()
        page.fill("#search", "no-such-pixel")
        expect(cards).to_have_count(0)
        expect(page.locator("#no-match")).to_have_text("No pixel's id or Pixel Code contains “no-such-pixel”.")
        expect(page.locator("#no-pixels")).to_be_hidden()
        page.fill("#search", "")
        expect(cards).to_have_count(100)
    finally:
        server.close()


def test_the_install_snippet_names_the_public_url_when_one_is_set(page):
    server = PixelEdge("--demo", "--public-url", "https://edge.example.com/", environment={"PIXELEDGE_ADMIN_TOKEN": ADMIN_TOKEN})
    try:
        log_in(page, server)
        card(page, "demo").locator(".open").click()
        expect(page.locator("#snippet")).to_have_text('<script src="https://edge.example.com/p/demo/pb.js"></script>')
    finally:
        server.close()


META_ID = "1234567890123456"
META_TOKEN = "EAAB" + "m3ta" * 30


def test_a_pixel_with_meta_has_a_card_per_destination_with_its_own_status_and_test_mode(page, browser, api, pages):
    """Issue 21: the Meta destination in the console, as TikTok's is: its fields in the editor, its status on
    the card (save-and-verify against the fake Graph API, which judges tokens as Meta does), its Test-mode
    badge, a card per destination on the pixel's page, each copy's destination in the recent events and
    Meta's match keys in the coverage."""
    from servers import FakeGraphAPI
    graph = FakeGraphAPI(META_ID, META_TOKEN)
    port = free_port()
    server = PixelEdge("--demo", "--tiktok-api-base", api.base, "--meta-api-base", graph.base, "--forward-window-ms", "50",
                       "--events-js-url", f"http://127.0.0.1:{port}/events-stub.js",
                       "--fbevents-js-url", f"http://127.0.0.1:{port}/fbevents-stub.js", port=port,
                       environment={"PIXELEDGE_ADMIN_TOKEN": ADMIN_TOKEN})
    try:
        log_in(page, server)
        fill_new_pixel(page, "both", CODE, GOOD_TOKEN)
        page.fill("#f-meta-pixel-id", f" {META_ID} ")
        page.fill("#f-meta-access-token", "EAAB-not-the-right-token-at-all")
        page.click("#save")
        both = card(page, "both")
        # TikTok accepted, Meta refused the token: the card is red, and Meta's line says what to do.
        expect(both).to_have_class(re.compile(r"\bred\b"))
        expect(both.locator(".card-status")).to_have_text("TikTok accepted the last test or batch.")
        expect(both.locator(".card-meta")).to_have_class(re.compile(r"\bred\b"))
        expect(both.locator(".meta-status")).to_contain_text("Meta rejected the access token")
        expect(both.locator(".meta-status")).to_contain_text("Generate a new one in Events Manager")
        expect(both.locator(".meta-name")).not_to_contain_text("EAAB-not-the-right")

        both.locator(".edit").click()
        page.fill("#f-meta-access-token", META_TOKEN)
        page.fill("#f-meta-test-event-code", "TEST4242")
        page.click("#save")
        expect(both).to_have_class(re.compile(r"\bgreen\b"))
        expect(both.locator(".meta-status")).to_have_text("Meta accepted the last test or batch.")
        expect(both.locator(".meta-test-mode")).to_be_visible()
        expect(both.locator(".test-mode")).to_be_hidden()

        both.locator(".test-meta").click()
        expect(both.locator(".meta-status")).to_have_text("Meta accepted the last test or batch.")
        assert graph.requests[-1]["body"]["test_event_code"] == "TEST4242"

        both.locator(".open").click()
        destinations = page.locator("#destinations li")
        expect(destinations).to_have_count(2)
        expect(page.locator('#destinations li[data-destination="meta"]')).to_have_class(re.compile(r"\bgreen\b"))
        expect(page.locator('#destinations li[data-destination="meta"] .test-mode')).to_be_visible()

        site = browser.new_context().new_page()
        site.goto(pages.add("/both.html", f"<!doctype html><head><script src='{server.base}/p/both/pb.js'></script></head><body>a site</body>"))
        site.evaluate("pb('track', 'Lead')")
        site.wait_for_function("window.__fbeventsStub && __fbeventsStub.sent.some(r => r.ev === 'Lead')")
        event_id = site.evaluate("__fbeventsStub.sent.find(r => r.ev === 'Lead').eid")
        site.context.close()
        rows = page.locator(f'#events tbody tr[data-event-id="{event_id}"]')
        expect(rows).to_have_count(2)
        expect(page.locator(f'#events tbody tr[data-event-id="{event_id}"][data-destination="meta"] td').nth(1)).to_have_text("Meta")
        expect(page.locator(f'#events tbody tr[data-event-id="{event_id}"][data-destination="meta"] td').nth(5)).to_have_text(
            re.compile(r"^sent · fbtrace_id trace-ok$"))
        expect(page.locator('#coverage tr[data-key="fbp"] td').nth(1)).to_have_text("Meta")
        expect(page.locator('#coverage tr[data-key="ttclid"] td').nth(1)).to_have_text("TikTok")
    finally:
        server.close()
        graph.close()

