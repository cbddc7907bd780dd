// Tests of the rendered pb.js (node --test Tests/js), run in a fake page (harness.mjs) with the stand-in for
// TikTok's SDK (Public/events-stub.js, which does what ../shared/reference/tiktok.md section 6 says the real
// one does). They read what would reach TikTok (`page.tiktok()`) and PixelEdge (`page.copies()`), not the
// calls pb.js made.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { startServer, runBundle, field, CookieJar, MemoryStorage, CODE, OTHER_CODE, EVENTS_JS } from "./harness.mjs";

const sha256 = (text) => createHash("sha256").update(text).digest("hex");
const METHODS = ["page", "track", "identify", "instances", "debug", "on", "off", "once", "ready", "alias", "group",
  "enableCookie", "disableCookie", "holdConsent", "revokeConsent", "grantConsent"];

const bundles = {};
let server;
before(async () => {
  const pixels = {
    shop: ["--tiktok-pixel-code", CODE],
    other: ["--tiktok-pixel-code", OTHER_CODE],
    plain: [],
    consent: ["--tiktok-pixel-code", CODE, "--consent", "required"],
    uk: ["--tiktok-pixel-code", CODE, "--default-phone-country", "44", "--limited-data-use"],
    us: ["--tiktok-pixel-code", CODE, "--default-phone-country", "1"],
    nospa: ["--tiktok-pixel-code", CODE, "--no-spa-page-views"],
  };
  server = await startServer({ pixels });
  for (const id of Object.keys(pixels)) bundles[id] = await server.bundle(id);
});
after(() => server?.stop());

/** The events.js scripts the bundle inserted (pb-extras.js is the other). */
const sdkScripts = (page) => page.inserted.filter((script) => String(script.src).startsWith(EVENTS_JS));
const extrasScripts = (page) => page.inserted.filter((script) => String(script.src).endsWith("/pb-extras.js"));
const entries = (queue, method) => [...queue].filter((entry) => Array.isArray(entry) && entry[0] === method);
const ttpCookie = (jar) => jar.cookies.get("_ttp")?.value;

/** A page with the shop pixel (or `id`), the SDK loaded and the copies of its first events sent. */
async function loaded(id = "shop", options = {}) {
  const page = runBundle(bundles[id], options);
  await page.start();
  page.advance(100);
  return page;
}

describe("TikTok loader", () => {
  test("registers the pixel in ttq._i synchronously, with TikTok's base code shape", () => {
    const page = runBundle(bundles.shop);
    const ttq = page.window.ttq;
    assert.equal(page.window.TiktokAnalyticsObject, "ttq");
    assert.ok(Array.isArray(ttq));
    assert.deepEqual([...ttq.methods], METHODS);
    for (const method of [...METHODS, "setAndDefer", "instance", "load"]) assert.equal(typeof ttq[method], "function", method);
    assert.ok(Array.isArray(ttq._i[CODE]));
    assert.equal(typeof ttq._t[CODE], "number");
    assert.deepEqual({ ...ttq._o[CODE] }, {});
    assert.equal(sdkScripts(page).length, 1);
    assert.equal(sdkScripts(page)[0].tagName, "SCRIPT");
    assert.equal(sdkScripts(page)[0].src, `${EVENTS_JS}?sdkid=${CODE}&lib=ttq`);
    // Identity hashing and the form harvest come after, off the critical path.
    assert.equal(String(extrasScripts(page)[0].src), "https://edge.example.net/pb-extras.js");
  });

  test("the stand-in takes the pixel over as TikTok's SDK does: info and options on ttq._i[CODE], the queue replayed", async () => {
    const page = await loaded();
    const registered = page.window.ttq._i[CODE];
    assert.equal(registered.info.pixelCode, CODE);
    assert.equal(typeof registered._load, "number");
    assert.equal(entries(registered, "page").length, 0, "the queue was replayed");
    assert.equal(page.tiktok("Pageview").length, 1);
  });

  test("the stubs queue calls as TikTok's do", () => {
    const page = runBundle(bundles.shop);
    page.window.ttq.track("ViewContent", { value: 1 });
    assert.deepEqual([...page.window.ttq.at(-1)], ["track", "ViewContent", { value: 1 }]);
  });

  test("a pixel without TikTok, or with TikTok disabled, gets no TikTok code and adds only pb", () => {
    const page = runBundle(bundles.plain);
    assert.equal(page.window.ttq, undefined);
    assert.equal(sdkScripts(page).length, 0);
    assert.equal(page.inserted.length, extrasScripts(page).length);
    assert.deepEqual(page.addedGlobals, ["pb"]);
    assert.doesNotMatch(bundles.plain, /ttq|tiktok/i);
  });

  test("defines no globals beyond ttq, TiktokAnalyticsObject and pb", () => {
    assert.deepEqual(runBundle(bundles.shop).addedGlobals, ["TiktokAnalyticsObject", "pb", "ttq"]);
  });
});

describe("the stand-in is TikTok's SDK, not a recorder (section 6)", () => {
  test("page takes one argument: an event_id in a second argument is lost, as with the real SDK", () => {
    const page = runBundle("");
    page.run(`window.TiktokAnalyticsObject = "ttq"; window.ttq = []; ttq.methods = ${JSON.stringify(METHODS)};
      ttq.methods.forEach((m) => ttq[m] = (...a) => ttq.push([m, ...a])); ttq._i = {"${CODE}": []}; ttq._o = {};
      ttq.page({}, {event_id: "lost"}); ttq.track("CompletePayment", {currency: "eur", event_id: "props"}, {event_id: "options"});
      document.head.append({src: "${EVENTS_JS}?sdkid=${CODE}&lib=ttq"});`);
    page.loadScripts();
    const [view] = page.tiktok("Pageview");
    assert.equal(view.event_id, "");
    const [purchase] = page.tiktok("Purchase");
    assert.equal(purchase.event_id, "options");
    assert.equal(purchase.properties.currency, "EUR");
    assert.equal("event_id" in purchase.properties, false);
    page.run("ttq.page({event_id: 'kept'})");
    assert.equal(page.tiktok("Pageview").length, 1, "a second page view of the same URL sends nothing");
  });
});

describe("page views and their server copies share one event_id", () => {
  test("first page: TikTok's page view carries the event_id of the Pageview copy", async () => {
    const page = await loaded();
    const [view] = page.tiktok("Pageview");
    const [copy] = page.copies("Pageview");
    assert.match(view.event_id, /^\d+-\d+-\d+-\d+$/);
    assert.equal(view.event_id, copy.event_id);
    assert.equal(view.context.pixel.code, CODE);
    assert.equal("event_id" in view.properties, false, "moved out of the properties by the SDK");
  });

  test("a later page: a new page view, a new event_id, still the same on both sides", async () => {
    const jar = new CookieJar();
    const first = await loaded("shop", { jar });
    const second = await loaded("shop", { jar, url: "https://shop.example.co.uk/products/1" });
    const [view] = second.tiktok("Pageview");
    const [copy] = second.copies("Pageview");
    assert.equal(view.event_id, copy.event_id);
    assert.notEqual(view.event_id, first.tiktok("Pageview")[0].event_id);
  });

  test("the page view is sent when events.js loads after pb.js queued it, or is already there", async () => {
    const page = runBundle(bundles.shop);
    page.loadScripts();
    await page.start({ sdk: false });
    page.advance(100);
    assert.equal(page.tiktok("Pageview")[0].event_id, page.copies("Pageview")[0].event_id);
  });

  test("two pixels on one page: each gets one page view with its copy's event_id, and only its own events", async () => {
    const page = runBundle(bundles.shop);
    page.run(bundles.other);
    await page.start();
    page.advance(100);
    const views = page.tiktok("Pageview");
    assert.deepEqual(views.map((view) => view.context.pixel.code).sort(), [CODE, OTHER_CODE].sort());
    const copies = page.copies("Pageview");
    assert.deepEqual(copies.map((copy) => copy.pixel).sort(), ["other", "shop"]);
    for (const view of views) assert.ok(copies.some((copy) => copy.event_id === view.event_id));
    page.window.pb("track", "Lead", { value: 3 });
    await page.settled();
    const leads = page.tiktok("Lead");
    assert.equal(leads.length, 2);
    const copiesByPixel = Object.fromEntries(page.copies("Lead").map((copy) => [copy.pixel, copy.event_id]));
    assert.equal(leads.find((lead) => lead.context.pixel.code === CODE).event_id, copiesByPixel.shop);
    assert.equal(leads.find((lead) => lead.context.pixel.code === OTHER_CODE).event_id, copiesByPixel.other);
    assert.notEqual(copiesByPixel.shop, copiesByPixel.other);
  });

  test("pb.js included twice loads events.js once and sends one page view", async () => {
    const page = runBundle(bundles.shop);
    page.run(bundles.shop);
    await page.start();
    page.advance(100);
    assert.equal(sdkScripts(page).length, 1);
    assert.equal(extrasScripts(page).length, 1);
    assert.equal(page.tiktok("Pageview").length, 1);
    assert.equal(page.copies("Pageview").length, 1);
  });

  /** TikTok's official base code (tiktok.md section 1), today's (consent methods) or 2022-23's, loading events.js
   *  from the same URL as pb.js (in production both are analytics.tiktok.com's). */
  const baseCode = (methods = METHODS) => `!function (w, d, t) {
    w.TiktokAnalyticsObject = t; var ttq = w[t] = w[t] || [];
    ttq.methods = ${JSON.stringify(methods)};
    ttq.setAndDefer = function (t, e) { t[e] = function () { t.push([e].concat(Array.prototype.slice.call(arguments, 0))) } };
    for (var i = 0; i < ttq.methods.length; i++) ttq.setAndDefer(ttq, ttq.methods[i]);
    ttq.instance = function (t) { for (var e = ttq._i[t] || [], n = 0; n < ttq.methods.length; n++) ttq.setAndDefer(e, ttq.methods[n]); return e };
    ttq.load = function (e, n) { var r = "${EVENTS_JS}", o = n && n.partner; ttq._i = ttq._i || {}, ttq._i[e] = [], ttq._i[e]._u = r, ttq._t = ttq._t || {}, ttq._t[e] = +new Date, ttq._o = ttq._o || {}, ttq._o[e] = n || {}; n = document.createElement("script"); n.type = "text/javascript", n.async = !0, n.src = r + "?sdkid=" + e + "&lib=" + t; e = document.getElementsByTagName("script")[0]; e.parentNode.insertBefore(n, e) };
    ttq.load("${CODE}"); ttq.page();
  }(window, document, "ttq");`;
  const OLD_METHODS = METHODS.slice(0, METHODS.indexOf("disableCookie") + 1);

  /** A page with pb.js and TikTok's base code in the given order, loaded, then a Lead. */
  async function withBaseCode(order, methods) {
    const page = order === "before" ? runBundle(bundles.shop, { before: baseCode(methods) }) : runBundle(bundles.shop);
    if (order === "after") {
      // The next script of the head: the microtasks pb.js queued have run, as between two scripts.
      await page.settled();
      page.run(baseCode(methods));
    }
    await page.start();
    page.advance(100);
    if (order === "late") {
      // Injected by a tag manager once the SDK runs.
      page.run(baseCode(methods));
      await page.start();
      page.advance(100);
    }
    page.window.pb("track", "Lead", { value: 3 });
    await page.settled();
    page.advance(100);
    return page;
  }

  for (const order of ["before", "after", "late"]) {
    for (const [generation, methods] of [["today's", METHODS], ["2022-23's", OLD_METHODS]]) {
      test(`TikTok's base code (${generation}) ${order} pb.js: one events.js, one page view with pb.js's event_id and one copy`, async () => {
        const page = await withBaseCode(order, methods);
        assert.equal(sdkScripts(page).length, 1, "events.js is requested once");
        const views = page.tiktok("Pageview");
        assert.equal(views.length, 1, "one page view reaches TikTok");
        const copies = page.copies("Pageview");
        assert.equal(copies.length, 1, "one server copy");
        assert.equal(views[0].event_id, copies[0].event_id);
        assert.notEqual(views[0].event_id, "");
        assert.equal(page.tiktok("Lead")[0].event_id, page.copies("Lead")[0].event_id);
        // The install check: the base code is on the page, and the SDK loaded.
        assert.equal(page.copies("Lead")[0].base_code, 1);
        assert.equal(page.copies("Lead")[0].sdk, "loaded");
      });
    }
  }

  test("without another base code, the copies say none was found", async () => {
    const page = await loaded();
    assert.equal(page.copies("Pageview")[0].base_code, undefined);
    assert.equal(page.copies("Pageview")[0].sdk, "loaded");
  });
});

describe("single-page apps", () => {
  test("a route change is one page view per new URL, with the copy's event_id, whatever the SDK sends itself", async () => {
    const page = await loaded("shop", { sdkSettings: { historyPageViews: true } });
    page.navigate("/products/2");
    await page.settled();
    page.advance(100);
    const views = page.tiktok("Pageview");
    assert.equal(views.length, 2);
    assert.equal(views[1].context.page.url, "https://shop.example.co.uk/products/2");
    const copy = page.copies("Pageview").find((c) => c.url === "https://shop.example.co.uk/products/2");
    assert.equal(views[1].event_id, copy.event_id);
    assert.notEqual(views[1].event_id, "");
  });

  // Where today's SDK sends a page view of its own (historyPageViews on), pb.js sends one first, with its event_id:
  // the SDK's own is then the second of the URL, and dropped. Every page view TikTok gets carries an event_id
  // that a copy carries too.
  test("the SDK's URL rule: a new fragment, a new query and going back are page views; the same URL is not", async () => {
    const page = await loaded("shop", { url: "https://shop.example.co.uk/list", sdkSettings: { historyPageViews: true } });
    const step = async (move) => {
      move();
      await page.settled();
      page.advance(100);
      return page.tiktok("Pageview").length;
    };
    assert.equal(await step(() => page.navigate("/list", { replace: true })), 1);
    assert.equal(await step(() => page.navigate("/list#reviews")), 2);
    assert.equal(await step(() => page.navigate("/list?page=2")), 3);
    assert.equal(await step(() => page.navigate("/list?page=3", { replace: true })), 4);
    assert.equal(await step(() => page.back("/list?page=2")), 5);
    assert.equal(await step(() => page.back("/list#reviews")), 6);
    const ids = page.tiktok("Pageview").map((view) => view.event_id);
    assert.ok(ids.every((id) => id !== ""), "no page view of the SDK's own, without an event_id");
    assert.equal(new Set(ids).size, 6);
    assert.deepEqual(page.copies("Pageview").map((copy) => copy.event_id).sort(), [...ids].sort());
  });

  test("with spaPageViews off, route changes send nothing", async () => {
    const page = await loaded("nospa");
    page.navigate("/elsewhere");
    await page.settled();
    page.advance(100);
    assert.equal(page.tiktok("Pageview").length, 1);
    assert.equal(page.copies("Pageview").length, 1);
  });
});

describe("_ttp on the server copy", () => {
  test("a new visitor's first page view copy waits for the _ttp the pixel sets, and carries the same value", async () => {
    const page = runBundle(bundles.shop);
    await page.start({ sdk: false });
    page.advance(200);
    assert.equal(page.copies().length, 0, "held while the pixel has not set _ttp");
    page.loadScripts();
    page.advance(100);
    const [copy] = page.copies("Pageview");
    assert.ok(ttpCookie(page.jar), "the SDK set _ttp");
    assert.equal(copy.ttp, ttpCookie(page.jar));
    assert.equal(copy.ttp, page.tiktok("Pageview")[0].context.user.anonymous_id);
  });

  test("when events.js fails to load, the copies go at once, saying the SDK was blocked", async () => {
    const page = runBundle(bundles.shop, { sdkBlocked: true });
    await page.start();
    page.window.pb("track", "Lead");
    await page.settled();
    page.advance(100);
    assert.deepEqual(page.copies().map((copy) => copy.event), ["Pageview", "Lead"]);
    assert.ok(page.copies().every((copy) => copy.sdk === "blocked" && copy.ttp === undefined));
  });

  test("when events.js neither loads nor fails, the copies go after 1 s, saying so", async () => {
    const page = runBundle(bundles.shop);
    await page.start({ sdk: false });
    page.window.pb("track", "Lead");
    await page.settled();
    page.advance(900);
    assert.equal(page.copies().length, 0);
    page.advance(200);
    assert.deepEqual(page.copies().map((copy) => copy.event), ["Pageview", "Lead"]);
    assert.equal(page.copies()[0].sdk, "blocked");
  });

  test("when the SDK loads but sets no _ttp, the copies go after 3 s", async () => {
    const page = runBundle(bundles.shop);
    await page.start({ sdk: false });
    page.loadScripts();
    page.jar.cookies.delete("_ttp");
    page.advance(2900);
    assert.equal(page.copies().length, 0);
    page.advance(200);
    assert.equal(page.copies("Pageview")[0].sdk, "loaded");
  });

  test("a page left while waiting sends its copies at once", async () => {
    const page = runBundle(bundles.shop);
    await page.start({ sdk: false });
    page.hide();
    assert.equal(page.copies("Pageview").length, 1);
  });

  test("a returning visitor's copies go as soon as the SDK has run, with the _ttp they have", async () => {
    const jar = new CookieJar();
    jar.cookies.set("_ttp", { value: "2abcDEF123.tt.1", domain: "shop.example.co.uk", attrs: {} });
    const page = runBundle(bundles.shop, { jar });
    await page.start();
    page.advance(100);
    assert.equal(page.copies("Pageview")[0].ttp, "2abcDEF123.tt.1");
    assert.equal(page.copies("Pageview")[0].sdk, "loaded");
  });
});

describe("consent", () => {
  test("consent required: before a grant nothing is stored on the device and nothing is asked of TikTok or /collect", async () => {
    const page = runBundle(bundles.consent, { url: "https://shop.example.co.uk/landing?ttclid=E.C.P.abc" });
    assert.deepEqual([...page.window.ttq[0]], ["holdConsent"]);
    // Event Builder finds the pixel registered all the same.
    assert.ok(Array.isArray(page.window.ttq._i[CODE]));
    await page.start();
    page.advance(3000);
    page.window.pb("track", "Lead");
    await page.settled();
    page.advance(3000);
    assert.deepEqual(sdkScripts(page), [], "events.js is not fetched");
    assert.deepEqual(page.tiktok(), []);
    assert.deepEqual(page.copies(), []);
    assert.deepEqual(page.jar.writes, [], "no cookie is written, not even pb_ttclid");
    assert.equal(page.session.items.size, 0, "nothing in sessionStorage");
  });

  test("at the grant, events.js loads, _ttp and pb_ttclid are set, and the held events go with their event_ids and the ttclid", async () => {
    const page = runBundle(bundles.consent, { url: "https://shop.example.co.uk/landing?ttclid=E.C.P.abc" });
    await page.start();
    page.window.pb("track", "Lead");
    await page.settled();
    page.window.pb("consent", "grant");
    assert.equal(sdkScripts(page).length, 1);
    await page.start();
    page.advance(100);
    assert.equal(page.jar.cookies.get("pb_ttclid").value, "E.C.P.abc");
    assert.ok(ttpCookie(page.jar));
    const copies = page.copies();
    assert.deepEqual(copies.map((copy) => copy.event), ["Pageview", "Lead"]);
    assert.ok(copies.every((copy) => copy.ttclid === "E.C.P.abc" && copy.sdk === "loaded"));
    assert.deepEqual(page.tiktok().filter((p) => p.event !== "LandingPageView").map((p) => p.event_id), copies.map((copy) => copy.event_id));
    // A revoke after the grant stops further sending on both sides.
    page.window.pb("consent", "revoke");
    page.window.pb("track", "Contact");
    await page.settled();
    page.advance(3000);
    assert.equal(page.copies("Contact").length, 0);
    assert.equal(page.tiktok("Contact").length, 0);
  });

  test("pb('consent', 'grant') releases both sides with the same event_ids, and the copies say so", async () => {
    const page = runBundle(bundles.consent);
    await page.start();
    page.window.pb("track", "Lead");
    await page.settled();
    page.window.pb("consent", "grant");
    await page.start();
    page.advance(100);
    const sent = page.tiktok().filter((payload) => ["Pageview", "Lead"].includes(payload.event));
    const copies = page.copies();
    assert.deepEqual(sent.map((payload) => payload.event), ["Pageview", "Lead"]);
    assert.deepEqual(copies.map((copy) => copy.event_id), sent.map((payload) => payload.event_id));
    assert.ok(copies.every((copy) => copy.consent === "granted"));
    assert.equal(copies[0].ttp, ttpCookie(page.jar), "the _ttp the pixel set at the grant");
  });

  test("pb('consent', 'revoke') drops what was held, and nothing is sent until a grant", async () => {
    const page = runBundle(bundles.consent);
    await page.start();
    page.window.pb("consent", "revoke");
    page.window.pb("track", "Lead");
    await page.settled();
    page.advance(3000);
    assert.deepEqual(page.tiktok(), []);
    assert.deepEqual(page.copies(), []);
    page.window.pb("consent", "grant");
    page.window.pb("track", "Contact");
    await page.start();
    page.advance(100);
    assert.deepEqual(page.tiktok().map((payload) => payload.event).filter((event) => !["EnrichAM", "LandingPageView"].includes(event)), ["Contact"]);
    assert.deepEqual(page.copies().map((copy) => copy.event), ["Contact"]);
  });

  test("Google Consent Mode: a default that denies holds; an update that grants ad_storage and ad_user_data releases", async () => {
    const before = "window.dataLayer = []; function gtag() { dataLayer.push(arguments) } gtag('consent', 'default', {ad_storage: 'denied', ad_user_data: 'denied'});";
    const page = runBundle(bundles.consent, { before });
    await page.start();
    page.advance(1000);
    assert.deepEqual(page.copies(), []);
    page.run("gtag('consent', 'update', {ad_storage: 'granted', ad_user_data: 'granted'})");
    page.advance(600);
    await page.start();
    page.advance(100);
    assert.equal(page.tiktok("Pageview").length, 1);
    assert.equal(page.copies("Pageview").length, 1);
  });

  test("Google Consent Mode: an update that denies revokes", async () => {
    const before = "window.dataLayer = [['consent', 'default', {ad_storage: 'denied'}]];";
    const page = runBundle(bundles.consent, { before });
    await page.start();
    page.run("dataLayer.push(['consent', 'update', {ad_storage: 'granted', ad_user_data: 'denied'}])");
    page.advance(600);
    page.run("dataLayer.push(['consent', 'update', {ad_storage: 'granted', ad_user_data: 'granted'}])");
    page.advance(600);
    await page.start();
    page.advance(100);
    assert.equal(page.tiktok("Pageview").length, 0, "revoked before the grant: the held page view is gone");
    page.window.pb("track", "Lead");
    await page.settled();
    page.advance(100);
    assert.equal(page.copies("Lead").length, 1);
  });

  test("IAB TCF v2: purpose 1 consent grants, its refusal revokes, and pb('consent') wins over it", async () => {
    const cmp = (consents) => `window.__tcfapi = (command, version, callback) => {
      if (command === "addEventListener") callback({gdprApplies: true, eventStatus: "tcloaded", purpose: {consents: ${JSON.stringify(consents)}}}, true);
    };`;
    const granted = await loaded("consent", { before: cmp({ 1: true }) });
    await granted.start();
    granted.advance(100);
    assert.equal(granted.copies("Pageview")[0].consent, "granted");
    const refused = await loaded("consent", { before: cmp({ 1: false }) });
    assert.deepEqual(refused.copies(), []);
    refused.window.pb("consent", "grant");
    refused.window.pb("track", "Lead");
    await refused.start();
    refused.advance(100);
    assert.equal(refused.copies("Lead").length, 1);
  });

  test("with consent required, identities are hashed by pb-extras.js, loaded once for every pixel on the page", async () => {
    const page = runBundle(bundles.consent);
    page.run(bundles.consent.replace('"i":"consent"', '"i":"consent-two"'));
    assert.equal(page.inserted.filter((script) => String(script.src).endsWith("/pb-extras.js")).length, 1);
    assert.equal(String(page.inserted.find((script) => String(script.src).endsWith("/pb-extras.js")).src), "https://edge.example.net/pb-extras.js");
    page.window.pb("identify", { email: "Eu@Example.com" });
    page.window.pb("consent", "grant");
    page.window.pb("track", "Lead");
    await page.start();
    page.advance(100);
    const copies = page.copies("Lead");
    assert.equal(copies.length, 2);
    assert.ok(copies.every((copy) => copy.sha256_email === sha256("eu@example.com")));
    assert.equal(page.tiktok("Lead")[0].context.user.email, sha256("eu@example.com"));
  });

  test("when pb-extras.js cannot load, pb('consent') still decides and events go without identities", async () => {
    const cmp = `window.__tcfapi = (command, version, callback) => callback({gdprApplies: true, eventStatus: "tcloaded", purpose: {consents: {1: true}}}, true);`;
    const page = runBundle(bundles.consent, { extrasBlocked: true, before: cmp });
    page.window.pb("identify", { email: "eu@example.com" });
    await page.start();
    page.advance(1000);
    assert.deepEqual(page.copies(), [], "the CMP's signal is read by pb-extras.js only");
    page.window.pb("consent", "grant");
    page.window.pb("track", "Lead");
    await page.start();
    page.advance(100);
    const [lead] = page.copies("Lead");
    assert.equal(lead.consent, "granted");
    assert.equal(lead.sha256_email, undefined);
  });

  test("consent none (the default) holds nothing", () => {
    const page = runBundle(bundles.shop);
    assert.equal(entries(page.window.ttq, "holdConsent").length, 0);
    assert.doesNotMatch(bundles.shop, /__tcfapi|dataLayer|holdConsent\(\)/);
  });
});

describe("identity", () => {
  test("pb('identify') hashes email, phone and external_id for TikTok and the server copy, and the next event carries them", async () => {
    const page = await loaded("uk");
    page.window.pb("identify", { email: "  Jane.Doe@Example.COM ", phone: "07700 900123", external_id: " user-42 " });
    page.window.pb("track", "Purchase", { value: 10, currency: "gbp" });
    await page.settled();
    const [purchase] = page.tiktok("Purchase");
    assert.equal(purchase.context.user.email, sha256("jane.doe@example.com"));
    assert.equal(purchase.context.user.phone_number, sha256("+447700900123"));
    assert.equal(purchase.context.user.external_id, sha256("user-42"));
    const [copy] = page.copies("Purchase");
    assert.equal(copy.event_id, purchase.event_id);
    assert.equal(copy.sha256_email, sha256("jane.doe@example.com"));
    assert.equal(copy.sha256_phone_number, sha256("+447700900123"));
    assert.equal(copy.external_id, sha256("user-42"));
    for (const raw of ["jane", "07700", "900123", "user-42"]) assert.ok(!JSON.stringify(copy).includes(raw), raw);
  });

  test("phone numbers to E.164 with a default country (44): spaces, dashes, brackets, 00, a leading 0, extensions", async () => {
    for (const [typed, e164] of [
      ["07700 900123", "+447700900123"], ["07700-900-123", "+447700900123"], ["(07700) 900123", "+447700900123"],
      ["+44 (0)7700 900123", "+447700900123"], ["0044 7700 900123", "+447700900123"], ["+33 6 12 34 56 78", "+33612345678"],
      ["020 7946 0958 ext. 12", "+442079460958"], ["+44 20 7946 0958 x12", "+442079460958"], ["7700 900123", "+447700900123"],
    ]) {
      const page = await loaded("uk");
      page.window.pb("identify", { phone: typed });
      page.window.pb("track", "Contact");
      await page.settled();
      assert.equal(page.copies("Contact")[0].sha256_phone_number, sha256(e164), typed);
    }
  });

  test("North America (1): a leading 1 is the trunk prefix", async () => {
    for (const [typed, e164] of [["(555) 123-4567", "+15551234567"], ["1-555-123-4567", "+15551234567"], ["+1 555 123 4567 #89", "+15551234567"]]) {
      const page = await loaded("us");
      page.window.pb("identify", { phone: typed });
      page.window.pb("track", "Contact");
      await page.settled();
      assert.equal(page.copies("Contact")[0].sha256_phone_number, sha256(e164), typed);
    }
  });

  test("without a default country, a number without its country code is not sent; nor is anything that is not a number", async () => {
    for (const typed of ["07700 900123", "(555) 123-4567", "call me", "+44 12", "++44 7700 900123"]) {
      const page = await loaded("shop");
      page.window.pb("identify", { phone: typed });
      page.window.pb("track", "Contact");
      await page.settled();
      assert.equal(page.copies("Contact")[0].sha256_phone_number, undefined, typed);
      assert.equal(page.tiktok("EnrichAM").length, 0, typed);
    }
    const page = await loaded("shop");
    page.window.pb("identify", { phone: "+44 7700 900123" });
    page.window.pb("track", "Contact");
    await page.settled();
    assert.equal(page.copies("Contact")[0].sha256_phone_number, sha256("+447700900123"));
  });

  test("locale on the server copy; limitedDataUse on TikTok's payload", async () => {
    const page = await loaded("uk", { language: "en-GB" });
    assert.equal(page.copies("Pageview")[0].locale, "en-GB");
    assert.equal(page.tiktok("Pageview")[0].limited_data_use, true);
    const plain = await loaded("shop");
    assert.equal("limited_data_use" in plain.tiktok("Pageview")[0], false);
  });
});

describe("ttclid and _ttp", () => {
  test("ttclid from the landing URL is kept 30 days on the registrable domain, Secure on https", async () => {
    const page = await loaded("shop", { url: "https://www.shop.example.co.uk/landing?utm=x&ttclid=E.C.P.abc_123-x" });
    const stored = page.jar.cookies.get("pb_ttclid");
    assert.equal(stored.value, "E.C.P.abc_123-x");
    assert.equal(stored.domain, "example.co.uk", "the widest domain that is not a public suffix");
    assert.equal(stored.hostOnly, false);
    assert.equal(stored.attrs["max-age"], "2592000");
    assert.equal(stored.attrs.samesite, "Lax");
    assert.equal(stored.attrs.path, "/");
    assert.equal(stored.attrs.secure, true);
    assert.equal(page.copies("Pageview")[0].ttclid, "E.C.P.abc_123-x");
    assert.equal(page.tiktok("Pageview")[0].context.ad.callback, "E.C.P.abc_123-x");
    // TikTok's SDK writes a 1-day ttclid cookie of its own, which does not touch ours.
    assert.equal(page.jar.cookies.get("ttclid").attrs["max-age"], "86400");
    assert.equal(page.jar.cookies.get("pb_ttclid").attrs["max-age"], "2592000");
  });

  test("on http the cookie is not Secure; on localhost it is host-only", async () => {
    const http = await loaded("shop", { url: "http://shop.test.example/?ttclid=abc" });
    assert.equal(http.jar.cookies.get("pb_ttclid").attrs.secure, undefined);
    assert.equal(http.jar.cookies.get("pb_ttclid").domain, "test.example");
    const local = await loaded("shop", { url: "http://localhost:8080/?ttclid=abc" });
    assert.equal(local.jar.cookies.get("pb_ttclid").hostOnly, true);
  });

  test("a later page without ttclid carries the stored one; the URL wins over the stored value", async () => {
    const jar = new CookieJar();
    await loaded("shop", { url: "https://shop.example.co.uk/?ttclid=abc", jar });
    const second = await loaded("shop", { url: "https://shop.example.co.uk/products/1", jar });
    assert.equal(second.copies("Pageview")[0].ttclid, "abc");
    second.window.pb("track", "AddToCart");
    await second.settled();
    assert.equal(second.copies("AddToCart")[0].ttclid, "abc");
    const third = await loaded("shop", { url: "https://shop.example.co.uk/?ttclid=newer", jar });
    assert.equal(third.copies("Pageview")[0].ttclid, "newer");
    assert.equal(jar.cookies.get("pb_ttclid").value, "newer");
  });

  test("direct traffic has no ttclid, and that is normal", async () => {
    const page = await loaded("shop", { url: "https://shop.example.co.uk/" });
    assert.equal(page.jar.cookies.has("pb_ttclid"), false);
    assert.equal("ttclid" in page.copies("Pageview")[0], false);
  });
});

describe("harvest", () => {
  test("typed email and phone are normalised, hashed and reach TikTok and the next server copy", async () => {
    const page = await loaded("shop");
    page.dispatch("change", field({ type: "email", name: "email", value: "  John.Doe@Example.COM " }));
    page.dispatch("change", field({ type: "tel", name: "phone", value: "+1 (555) 123-4567" }));
    await page.settled();
    page.window.pb("track", "Lead");
    await page.settled();
    const [lead] = page.tiktok("Lead");
    assert.equal(lead.context.user.email, sha256("john.doe@example.com"));
    assert.equal(lead.context.user.phone_number, sha256("+15551234567"));
    const [copy] = page.copies("Lead");
    assert.equal(copy.sha256_email, sha256("john.doe@example.com"));
    assert.equal(copy.sha256_phone_number, sha256("+15551234567"));
  });

  test("recognises type, name and autocomplete; reads on submit, including forms added later", async () => {
    const page = await loaded("shop");
    const form = { tagName: "FORM", elements: [
      field({ type: "text", autocomplete: "email", value: "a@b.co" }),
      field({ type: "text", autocomplete: "tel", value: "+49 30 1234567" }),
    ] };
    page.dispatch("submit", form);
    page.window.pb("track", "Lead");
    await page.settled();
    const [copy] = page.copies("Lead");
    assert.equal(copy.sha256_email, sha256("a@b.co"));
    assert.equal(copy.sha256_phone_number, sha256("+49301234567"));
  });

  test("never reads password, hidden or card fields, nor values that are not addresses or numbers", async () => {
    const page = await loaded("shop");
    for (const ignored of [
      field({ type: "password", name: "email", value: "secret@example.com" }),
      field({ type: "hidden", name: "email", value: "hidden@example.com" }),
      field({ name: "card_phone", value: "4111111111111111" }),
      field({ name: "phone", autocomplete: "cc-number", value: "4111 1111 1111 1111" }),
      field({ name: "email", value: "not an address" }),
      field({ name: "phone", value: "12" }),
      field({ name: "city", value: "Paris" }),
    ]) page.dispatch("change", ignored);
    page.dispatch("change", page.document);
    await page.settled();
    assert.equal(page.tiktok("EnrichAM").length, 0);
    page.window.pb("track", "Lead");
    await page.settled();
    const [copy] = page.copies("Lead");
    assert.equal(copy.sha256_email, undefined);
    assert.equal(copy.sha256_phone_number, undefined);
  });

  test("without Web Crypto nothing is identified and nothing raw is sent", async () => {
    const page = await loaded("shop", { url: "http://shop.test.example/", webCrypto: false });
    page.dispatch("change", field({ name: "email", value: "raw@example.com" }));
    page.window.pb("identify", { email: "raw@example.com" });
    page.window.pb("track", "Lead");
    await page.settled();
    assert.equal(page.tiktok("EnrichAM").length, 0);
    assert.equal(page.copies("Lead").length, 1);
    assert.ok([...page.beacons, ...page.fetches].every((b) => !b.raw.includes("raw@example.com")));
    assert.ok(page.tiktok().every((payload) => !JSON.stringify(payload).includes("raw@example.com")));
  });
});

describe("events and the server-side copy", () => {
  test("pb('track') shares one event_id between TikTok and the copy", async () => {
    const page = await loaded("shop", { url: "https://shop.example.co.uk/checkout?step=2#top", referrer: "https://tiktok.com/ad?x=1" });
    page.window.pb("track", "CompletePayment", { value: 10.5, currency: "EUR" });
    await page.settled();
    // Renamed before either copy leaves, as TikTok's SDK would rename the browser's: one name, one event_id.
    const [purchase] = page.tiktok("Purchase");
    assert.equal(page.tiktok("CompletePayment").length, 0);
    assert.equal(page.copies("CompletePayment").length, 0);
    const copy = page.copies("Purchase")[0];
    const beacon = page.beacons.find((b) => b.body.event === "Purchase");
    assert.equal(beacon.url, "https://edge.example.net/collect");
    assert.equal(copy.event_id, purchase.event_id);
    assert.equal(copy.pixel, "shop");
    assert.deepEqual(copy.properties, { value: 10.5, currency: "EUR" });
    assert.equal(copy.url, "https://shop.example.co.uk/checkout");
    assert.equal(copy.referrer, "https://tiktok.com/ad");
  });

  test("SubmitForm goes as Lead on both sides; a custom event keeps its name", async () => {
    const page = await loaded("shop");
    page.window.pb("track", "SubmitForm", { currency: "gbp" });
    page.window.pb("track", "SignupStep2");
    await page.settled();
    const [lead] = page.tiktok("Lead");
    assert.equal(page.copies("Lead")[0].event_id, lead.event_id);
    assert.equal(page.copies("SubmitForm").length, 0);
    // The SDK upper-cases the browser copy's currency; /collect the server copy's (CollectRequestParser).
    assert.equal(lead.properties.currency, "GBP");
    assert.equal(page.tiktok("SignupStep2")[0].event_id, page.copies("SignupStep2")[0].event_id);
  });

  test("every call mints a new event_id", async () => {
    const page = await loaded("shop");
    for (let i = 0; i < 50; i++) page.window.pb("track", "ViewContent");
    await page.settled();
    const ids = page.copies().map((copy) => copy.event_id);
    assert.equal(ids.length, 51);
    assert.equal(new Set(ids).size, ids.length);
  });

  test("calls queued in pb.q before pb.js loads are replayed", async () => {
    const page = await loaded("shop", { before: "window.pb = window.pb || function () { (pb.q = pb.q || []).push(arguments) }; pb('identify', {email: 'q@example.com'}); pb('track', 'AddToCart', {value: 2});" });
    const [copy] = page.copies("AddToCart");
    assert.equal(page.tiktok("AddToCart")[0].event_id, copy.event_id);
    assert.equal(page.tiktok("AddToCart")[0].context.user.email, sha256("q@example.com"));
  });

  test("no raw email or phone in any beacon, even when a GET form put them in the URL", async () => {
    const page = await loaded("shop", { url: "https://shop.example.co.uk/thanks?email=jane%40example.com&phone=5551234567", referrer: "https://shop.example.co.uk/form?email=jane@example.com" });
    page.dispatch("change", field({ name: "email", value: "jane@example.com" }));
    page.dispatch("change", field({ name: "phone", value: "+1 555 123 4567" }));
    page.window.pb("track", "Lead");
    await page.settled();
    assert.ok(page.beacons.length >= 2);
    for (const beacon of page.beacons) {
      for (const raw of ["jane", "example.com", "5551234567", "555 123 4567", "%40"]) assert.ok(!beacon.raw.includes(raw), `${raw} in ${beacon.raw}`);
    }
  });

  test("the collect URL resolves against pb.js's own URL, falling back to the page", async () => {
    assert.equal((await loaded("shop", { scriptSrc: "https://edge.example.net/p/shop/pb.js" })).beacons[0].url, "https://edge.example.net/collect");
    assert.equal((await loaded("shop", { currentScript: false })).beacons[0].url, "https://shop.example.co.uk/collect");
  });

  test("a beacon the browser refuses is not tried again with fetch, which browsers refuse for the same reason", async () => {
    for (const options of [{ sendBeacon: false }, { beaconAccepts: false }]) {
      const page = await loaded("shop", options);
      page.window.pb("track", "Lead");
      await page.settled();
      assert.equal(page.fetches.length, 0);
    }
  });
});

describe("never throws into the page", () => {
  const hostile = {
    "cookies throw (sandboxed frame)": { cookiesThrow: true, url: "https://shop.example.co.uk/?ttclid=abc" },
    "no Web Crypto": { webCrypto: false },
    "no sendBeacon and fetch rejects": { sendBeacon: false, fetchRejects: true },
    "no currentScript": { currentScript: false },
    "pb is something else": { before: "window.pb = 42" },
    "pb.q holds garbage": { before: "window.pb = function () {}; pb.q = [null, 42, 'track', [], {length: 3}, ['identify', 5], ['consent', {}]]" },
    "ttq is a strange object": { before: "window.ttq = {methods: 1, _i: 5}" },
    "a strange dataLayer and CMP": { before: "window.dataLayer = 7; window.__tcfapi = () => { throw new Error('cmp') }" },
  };
  for (const [name, options] of Object.entries(hostile)) {
    test(name, async () => {
      const rejections = [];
      const onRejection = (reason) => rejections.push(reason);
      process.on("unhandledRejection", onRejection);
      try {
        for (const id of ["shop", "consent"]) {
          const page = runBundle(bundles[id], options);
          page.dispatch("change", field({ name: "email", value: "a@b.co" }));
          page.dispatch("submit", { tagName: "FORM" });
          page.dispatch("change", { nodeType: 3 });
          if (typeof page.window.pb === "function") {
            page.window.pb("track", "Lead");
            page.window.pb("identify", null);
            page.window.pb("identify", { email: {}, phone: [], external_id: Symbol.iterator.description });
            page.window.pb("consent", "grant");
          }
          await page.start();
          page.advance(3500);
          await new Promise((next) => setImmediate(next));
        }
      } finally {
        process.off("unhandledRejection", onRejection);
      }
      assert.deepEqual(rejections, []);
    });
  }

  test("with cookies throwing, the pixel still registers and events still go out", async () => {
    const page = runBundle(bundles.shop, { cookiesThrow: true, url: "https://shop.example.co.uk/?ttclid=abc" });
    assert.ok(page.window.ttq._i[CODE]);
    await page.start({ sdk: false });
    page.advance(3100);
    assert.equal(page.copies("Pageview")[0].ttclid, "abc");
  });
});
