// Unit tests of the rendered pb.js (node --test Tests/js). See harness.mjs for the fake page.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { startServer, runBundle, field, CookieJar, CODE, OTHER_CODE, EVENTS_JS } from "./harness.mjs";

const sha256 = (text) => createHash("sha256").update(text).digest("hex");
const METHODS = ["page", "track", "identify", "instances", "debug", "on", "off", "once", "ready", "alias", "group",
  "enableCookie", "disableCookie", "holdConsent", "revokeConsent", "grantConsent"];

let server, shop, other, plain;
before(async () => {
  server = await startServer({
    pixels: { shop: ["--tiktok-pixel-code", CODE], other: ["--tiktok-pixel-code", OTHER_CODE], plain: [] },
  });
  [shop, other, plain] = await Promise.all(["shop", "other", "plain"].map((id) => server.bundle(id)));
});
after(() => server?.stop());

const entries = (queue, method) => [...queue].filter((entry) => Array.isArray(entry) && entry[0] === method);

describe("TikTok loader", () => {
  test("registers the pixel in ttq._i synchronously, with TikTok's base code shape", () => {
    const page = runBundle(shop);
    const ttq = page.window.ttq;
    assert.equal(page.window.TiktokAnalyticsObject, "ttq");
    assert.ok(Array.isArray(ttq));
    assert.deepEqual([...ttq.methods], METHODS);
    for (const method of [...METHODS, "setAndDefer", "instance", "load"]) assert.equal(typeof ttq[method], "function", method);
    assert.ok(Array.isArray(ttq._i[CODE]));
    assert.equal(ttq._i[CODE]._u, EVENTS_JS);
    assert.equal(typeof ttq._t[CODE], "number");
    assert.deepEqual({ ...ttq._o[CODE] }, {});
    assert.equal(page.inserted.length, 1);
    assert.equal(page.inserted[0].tagName, "SCRIPT");
    assert.equal(page.inserted[0].src, `${EVENTS_JS}?sdkid=${CODE}&lib=ttq`);
    const pages = entries(ttq._i[CODE], "page");
    assert.equal(pages.length, 1);
    assert.equal(typeof pages[0][2].event_id, "string");
  });

  test("the stubs queue calls as TikTok's do", () => {
    const page = runBundle(shop);
    page.window.ttq.track("ViewContent", { value: 1 });
    assert.deepEqual([...page.window.ttq.at(-1)], ["track", "ViewContent", { value: 1 }]);
  });

  test("a pixel without TikTok, or with TikTok disabled, gets no TikTok code and adds only pb", () => {
    const page = runBundle(plain);
    assert.equal(page.window.ttq, undefined);
    assert.equal(page.inserted.length, 0);
    assert.deepEqual(page.addedGlobals, ["pb"]);
    assert.doesNotMatch(plain, /ttq|tiktok/i);
  });

  test("defines no globals beyond ttq, TiktokAnalyticsObject and pb", () => {
    assert.deepEqual(runBundle(shop).addedGlobals, ["TiktokAnalyticsObject", "pb", "ttq"]);
  });
});

describe("idempotence", () => {
  test("pb.js included twice loads events.js once and sends one page view", () => {
    const page = runBundle(shop);
    page.run(shop);
    assert.equal(page.inserted.length, 1);
    assert.equal(entries(page.window.ttq._i[CODE], "page").length, 1);
    assert.equal(page.beacons.filter((b) => b.body.event === "Pageview").length, 1);
  });

  test("a page that already has TikTok's base code for the pixel keeps it: no second events.js, no second page view", () => {
    const baseCode = `!function (w, d, t) { w.TiktokAnalyticsObject = t; var ttq = w[t] = w[t] || [];
      ttq.methods = ${JSON.stringify(METHODS)};
      ttq.setAndDefer = function (t, e) { t[e] = function () { t.push([e].concat(Array.prototype.slice.call(arguments, 0))) } };
      for (var i = 0; i < ttq.methods.length; i++) ttq.setAndDefer(ttq, ttq.methods[i]);
      ttq.instance = function (t) { for (var e = ttq._i[t] || [], n = 0; n < ttq.methods.length; n++) ttq.setAndDefer(e, ttq.methods[n]); return e };
      ttq.load = function (e, n) { ttq._i = ttq._i || {}, ttq._i[e] = [], ttq._i[e]._u = "site", ttq._t = ttq._t || {}, ttq._t[e] = +new Date, ttq._o = ttq._o || {}, ttq._o[e] = n || {}; w.siteLoads = (w.siteLoads || 0) + 1 };
      ttq.load("${CODE}"); ttq.page(); }(window, document, "ttq");`;
    const page = runBundle(shop, { before: baseCode });
    assert.equal(page.inserted.length, 0);
    assert.equal(page.window.siteLoads, 1);
    assert.equal(page.window.ttq._i[CODE]._u, "site");
    assert.equal(entries(page.window.ttq, "page").length, 1, "only the site's own page view");
    assert.equal(entries(page.window.ttq._i[CODE], "page").length, 0);
    assert.equal(page.beacons.filter((b) => b.body.event === "Pageview").length, 0);
    // The site's stubs were kept, and pb's events still reach the pixel.
    page.window.pb("track", "Lead", { value: 3 });
    assert.equal(entries(page.window.ttq._i[CODE], "track").length, 1);
  });

  test("a second pixel code gets its own _i entry and events reach each pixel through its instance", () => {
    const page = runBundle(shop);
    page.run(other);
    const ttq = page.window.ttq;
    assert.deepEqual(Object.keys(ttq._i).sort(), [CODE, OTHER_CODE].sort());
    assert.equal(page.inserted.length, 2);
    assert.equal(page.inserted[1].src, `${EVENTS_JS}?sdkid=${OTHER_CODE}&lib=ttq`);
    page.window.pb("track", "Lead", { value: 3 });
    const shopTrack = entries(ttq._i[CODE], "track");
    const otherTrack = entries(ttq._i[OTHER_CODE], "track");
    assert.equal(shopTrack.length, 1);
    assert.equal(otherTrack.length, 1);
    assert.equal(entries(ttq, "track").length, 0, "nothing sent to every pixel at once");
    assert.deepEqual(page.beacons.filter((b) => b.body.event === "Lead").map((b) => b.body.pixel).sort(), ["other", "shop"]);
  });
});

describe("ttclid and _ttp", () => {
  test("ttclid from the landing URL is kept 30 days on the registrable domain, Secure on https", () => {
    const page = runBundle(shop, { url: "https://www.shop.example.co.uk/landing?utm=x&ttclid=E.C.P.abc_123-x" });
    const stored = page.jar.cookies.get("ttclid");
    assert.equal(stored.value, "E.C.P.abc_123-x");
    assert.equal(stored.domain, "example.co.uk", "the widest domain that is not a public suffix");
    assert.equal(stored.hostOnly, false);
    assert.equal(stored.attrs["max-age"], "2592000");
    assert.equal(stored.attrs.samesite, "Lax");
    assert.equal(stored.attrs.path, "/");
    assert.equal(stored.attrs.secure, true);
    assert.equal(page.beacons[0].body.ttclid, "E.C.P.abc_123-x");
  });

  test("on http the cookie is not Secure; on localhost it is host-only", () => {
    const http = runBundle(shop, { url: "http://shop.test.example/?ttclid=abc" });
    assert.equal(http.jar.cookies.get("ttclid").attrs.secure, undefined);
    assert.equal(http.jar.cookies.get("ttclid").domain, "test.example");
    const local = runBundle(shop, { url: "http://localhost:8080/?ttclid=abc" });
    assert.equal(local.jar.cookies.get("ttclid").hostOnly, true);
  });

  test("a later page without ttclid carries the stored one; the URL wins over the stored value", () => {
    const jar = new CookieJar();
    runBundle(shop, { url: "https://shop.example.co.uk/?ttclid=abc", jar });
    const second = runBundle(shop, { url: "https://shop.example.co.uk/products/1", jar });
    assert.equal(second.beacons[0].body.ttclid, "abc");
    second.window.pb("track", "AddToCart");
    assert.equal(second.beacons[1].body.ttclid, "abc");
    const third = runBundle(shop, { url: "https://shop.example.co.uk/?ttclid=newer", jar });
    assert.equal(third.beacons[0].body.ttclid, "newer");
    assert.equal(jar.cookies.get("ttclid").value, "newer");
  });

  test("direct traffic has no ttclid, and that is normal", () => {
    const page = runBundle(shop, { url: "https://shop.example.co.uk/" });
    assert.equal(page.jar.cookies.has("ttclid"), false);
    assert.equal("ttclid" in page.beacons[0].body, false);
  });

  test("_ttp is read from its cookie", () => {
    const jar = new CookieJar();
    jar.cookies.set("_ttp", { value: "2abcDEF123", domain: "shop.example.co.uk", attrs: {} });
    const page = runBundle(shop, { jar });
    assert.equal(page.beacons[0].body.ttp, "2abcDEF123");
  });
});

describe("harvest", () => {
  test("normalises and hashes email and phone, hands the hashes to ttq.identify and the server", async () => {
    const page = runBundle(shop);
    page.dispatch("change", field({ type: "email", name: "email", value: "  John.Doe@Example.COM " }));
    page.dispatch("change", field({ type: "tel", name: "phone", value: "+1 (555) 123-4567" }));
    await page.settled();
    const identify = entries(page.window.ttq._i[CODE], "identify").map((entry) => ({ ...entry[1] }));
    assert.deepEqual(identify, [
      { sha256_email: sha256("john.doe@example.com") },
      { sha256_phone_number: sha256("+15551234567") },
    ]);
    assert.equal(sha256("test@example.com"), "973dfe463ec85785f5f95af5ba3906eedb2d931c24e69824a89ea65dba4e813b");
    page.window.pb("track", "Lead");
    const lead = page.beacons.find((b) => b.body.event === "Lead").body;
    assert.equal(lead.email, sha256("john.doe@example.com"));
    assert.equal(lead.phone_number, sha256("+15551234567"));
  });

  test("phone numbers: E.164 with a country code, 00 read as +, otherwise digits after a +", async () => {
    for (const [typed, normalised] of [["0044 20 7946 0958", "+442079460958"], ["(555) 123-4567", "+5551234567"], ["+33 6 12 34 56 78", "+33612345678"]]) {
      const page = runBundle(shop);
      page.dispatch("change", field({ name: "phone", value: typed }));
      await page.settled();
      assert.deepEqual({ ...entries(page.window.ttq._i[CODE], "identify")[0][1] }, { sha256_phone_number: sha256(normalised) }, typed);
    }
  });

  test("recognises type, name and autocomplete; reads on submit, including forms added later", async () => {
    const page = runBundle(shop);
    const form = { tagName: "FORM", elements: [
      field({ type: "text", autocomplete: "email", value: "a@b.co" }),
      field({ type: "text", autocomplete: "tel", value: "+49 30 1234567" }),
    ] };
    page.dispatch("submit", form);
    await page.settled();
    assert.deepEqual(entries(page.window.ttq._i[CODE], "identify").map((e) => Object.keys(e[1])[0]).sort(), ["sha256_email", "sha256_phone_number"]);
  });

  test("never reads password, hidden or card fields, nor values that are not addresses or numbers", async () => {
    const page = runBundle(shop);
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
    assert.equal(entries(page.window.ttq._i[CODE], "identify").length, 0);
  });

  test("without Web Crypto nothing is identified and nothing raw is sent", async () => {
    const page = runBundle(shop, { url: "http://shop.test.example/", webCrypto: false });
    page.dispatch("change", field({ name: "email", value: "raw@example.com" }));
    await page.settled();
    page.window.pb("track", "Lead");
    assert.equal(entries(page.window.ttq._i[CODE], "identify").length, 0);
    assert.ok(page.beacons.every((b) => !b.raw.includes("raw@example.com")));
  });
});

describe("events and the server-side copy", () => {
  test("pb('track') shares one event_id between ttq.track and the beacon", () => {
    const page = runBundle(shop, { url: "https://shop.example.co.uk/checkout?step=2#top", referrer: "https://tiktok.com/ad?x=1" });
    page.window.pb("track", "CompletePayment", { value: 10.5, currency: "EUR" });
    const [, event, properties, options] = entries(page.window.ttq._i[CODE], "track")[0];
    assert.equal(event, "CompletePayment");
    assert.deepEqual({ ...properties }, { value: 10.5, currency: "EUR" });
    const beacon = page.beacons.find((b) => b.body.event === "CompletePayment");
    assert.equal(beacon.url, "https://edge.example.net/collect");
    assert.equal(beacon.body.event_id, options.event_id);
    assert.equal(beacon.body.pixel, "shop");
    assert.deepEqual(beacon.body.properties, { value: 10.5, currency: "EUR" });
    assert.equal(beacon.body.url, "https://shop.example.co.uk/checkout");
    assert.equal(beacon.body.referrer, "https://tiktok.com/ad");
  });

  test("the automatic page view has an event_id too, sent as Pageview", () => {
    const page = runBundle(shop);
    const [, , options] = entries(page.window.ttq._i[CODE], "page")[0];
    assert.equal(page.beacons[0].body.event, "Pageview");
    assert.equal(page.beacons[0].body.event_id, options.event_id);
  });

  test("every call mints a new event_id", () => {
    const page = runBundle(shop);
    for (let i = 0; i < 50; i++) page.window.pb("track", "ViewContent");
    const ids = page.beacons.map((b) => b.body.event_id);
    assert.equal(new Set(ids).size, ids.length);
  });

  test("calls queued in pb.q before pb.js loads are replayed", () => {
    const page = runBundle(shop, { before: "window.pb = window.pb || function () { (pb.q = pb.q || []).push(arguments) }; pb('track', 'AddToCart', {value: 2});" });
    const beacon = page.beacons.find((b) => b.body.event === "AddToCart");
    assert.ok(beacon);
    assert.equal(entries(page.window.ttq._i[CODE], "track")[0][3].event_id, beacon.body.event_id);
  });

  test("no raw email or phone in any beacon, even when a GET form put them in the URL", async () => {
    const page = runBundle(shop, { url: "https://shop.example.co.uk/thanks?email=jane%40example.com&phone=5551234567", referrer: "https://shop.example.co.uk/form?email=jane@example.com" });
    page.dispatch("change", field({ name: "email", value: "jane@example.com" }));
    page.dispatch("change", field({ name: "phone", value: "555 123 4567" }));
    await page.settled();
    page.window.pb("track", "Lead");
    assert.ok(page.beacons.length >= 2);
    for (const beacon of page.beacons) {
      for (const raw of ["jane", "example.com", "5551234567", "555 123 4567", "%40"]) assert.ok(!beacon.raw.includes(raw), `${raw} in ${beacon.raw}`);
    }
  });

  test("the collect URL resolves against pb.js's own URL, falling back to the page", () => {
    assert.equal(runBundle(shop, { scriptSrc: "https://edge.example.net/p/shop/pb.js" }).beacons[0].url, "https://edge.example.net/collect");
    assert.equal(runBundle(shop, { currentScript: false }).beacons[0].url, "https://shop.example.co.uk/collect");
  });

  test("without sendBeacon, or when it refuses, fetch with keepalive sends the same body", () => {
    for (const options of [{ sendBeacon: false }, { beaconAccepts: false }]) {
      const page = runBundle(shop, options);
      assert.equal(page.fetches.length, 1);
      assert.equal(page.fetches[0].init.method, "POST");
      assert.equal(page.fetches[0].init.keepalive, true);
      assert.equal(page.fetches[0].body.event, "Pageview");
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
    "pb.q holds garbage": { before: "window.pb = function () {}; pb.q = [null, 42, 'track', [], {length: 3}]" },
    "ttq is a strange object": { before: "window.ttq = {methods: 1, _i: 5}" },
  };
  for (const [name, options] of Object.entries(hostile)) {
    test(name, async () => {
      const rejections = [];
      const onRejection = (reason) => rejections.push(reason);
      process.on("unhandledRejection", onRejection);
      try {
        const page = runBundle(shop, options);
        page.dispatch("change", field({ name: "email", value: "a@b.co" }));
        page.dispatch("submit", { tagName: "FORM" });
        page.dispatch("change", { nodeType: 3 });
        if (typeof page.window.pb === "function") page.window.pb("track", "Lead");
        await page.settled();
        await new Promise((next) => setImmediate(next));
      } finally {
        process.off("unhandledRejection", onRejection);
      }
      assert.deepEqual(rejections, []);
    });
  }

  test("with cookies throwing, the pixel still registers and events still go out", () => {
    const page = runBundle(shop, { cookiesThrow: true, url: "https://shop.example.co.uk/?ttclid=abc" });
    assert.ok(page.window.ttq._i[CODE]);
    assert.equal(page.beacons[0].body.event, "Pageview");
    assert.equal(page.beacons[0].body.ttclid, "abc");
  });
});
