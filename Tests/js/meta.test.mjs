// Tests of Meta in the rendered pb.js (node --test Tests/js), in the fake page of harness.mjs with the
// stand-in for Meta's pixel (Public/fbevents-stub.js, which does what ../shared/reference/meta.md section 7
// says a faithful one must: once-per-page PageView, broadcast to every initialised pixel, automatic page
// views on history changes, hold while revoked, eid on the wire, _fbp adoption, nothing sent before the
// config script). They read what would reach Meta (`page.meta()`) and PixelEdge (`page.copies()`).
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { startServer, runBundle, field, CookieJar, CODE, FBEVENTS_JS, META_ID, OTHER_META_ID } from "./harness.mjs";

const sha256 = (text) => createHash("sha256").update(text).digest("hex");

const bundles = {};
let server;
before(async () => {
  const pixels = {
    meta: ["--meta-pixel-id", META_ID],
    both: ["--tiktok-pixel-code", CODE, "--meta-pixel-id", META_ID, "--default-phone-country", "44"],
    second: ["--meta-pixel-id", OTHER_META_ID],
    consent: ["--meta-pixel-id", META_ID, "--tiktok-pixel-code", CODE, "--consent", "required"],
    automatic: ["--meta-pixel-id", META_ID, "--meta-automatic-events"],
    ldu: ["--meta-pixel-id", META_ID, "--limited-data-use"],
  };
  server = await startServer({ pixels });
  for (const id of Object.keys(pixels)) bundles[id] = await server.bundle(id);
});
after(() => server?.stop());

const fbeventsScripts = (page) => page.inserted.filter((script) => String(script.src).startsWith(FBEVENTS_JS));

/** A page with `id`'s bundle (or several, in order), its scripts loaded and its copies sent. */
async function loaded(ids = "meta", options = {}) {
  const source = [].concat(ids).map((id) => bundles[id]).join("\n");
  const page = runBundle(source, options);
  await page.start();
  page.advance(3000);
  await page.settled();
  return page;
}

/** Meta's base code, as Events Manager gives it, for `id`. */
const baseCode = (id) => `!function(f,b,e,v,n,t,s){if(f.fbq)return;n=f.fbq=function(){n.callMethod?n.callMethod.apply(n,arguments):n.queue.push(arguments)};if(!f._fbq)f._fbq=n;n.push=n;n.loaded=!0;n.version='2.0';n.queue=[];t=b.createElement(e);t.async=!0;t.src=v;s=b.getElementsByTagName(e)[0];s.parentNode.insertBefore(t,s)}(window,document,'script','${FBEVENTS_JS}');fbq('init','${id}');fbq('track','PageView');`;

describe("Meta loader", () => {
  test("the stub, its settings and init are in place while pb.js runs; fbevents.js is loaded once", () => {
    const page = runBundle(bundles.meta + "\n" + bundles.meta);
    const fbq = page.window.fbq;
    assert.equal(typeof fbq, "function");
    assert.equal(page.window._fbq, fbq);
    assert.equal(fbq.disablePushState, true);
    assert.equal(fbq.allowDuplicatePageViews, true);
    const calls = [...fbq.queue].map((call) => [...call]);
    assert.deepEqual(calls.slice(0, 2), [["set", "autoConfig", false, META_ID], ["init", META_ID]]);
    assert.equal(fbeventsScripts(page).length, 1);
    assert.deepEqual(page.addedGlobals.filter((name) => !["fbq", "_fbq", "pb"].includes(name)), []);
  });

  test("the page view reaches Meta once, as PageView, with the event_id of its server copy and the fbp the pixel used", async () => {
    const page = await loaded("meta", { url: "https://www.shop.example.co.uk/landing" });
    const views = page.meta("PageView");
    assert.equal(views.length, 1);
    const [copy] = page.copies("Pageview");
    assert.equal(views[0].id, META_ID);
    assert.equal(views[0].eid, copy.event_id);
    assert.equal(views[0].tm, 1, "trackSingle: this pixel only");
    // Minted before the first copy left, in the pixel's format, on the registrable domain (3 labels: fb.2).
    assert.match(copy.fbp, /^fb\.2\.\d{13}\.\d+$/);
    assert.equal(views[0].fbp, copy.fbp, "the pixel adopted pb.js's _fbp");
    const cookie = page.jar.cookies.get("_fbp");
    assert.equal(cookie.domain, "example.co.uk");
    assert.equal(cookie.attrs["max-age"], "7776000");
    assert.equal(page.jar.cookies.get("pb_ttclid"), undefined, "no TikTok, no ttclid cookie");
    assert.equal("ttclid" in copy || "ttp" in copy || "locale" in copy, false, "TikTok's keys only with TikTok");
  });

  test("route changes are page views with our event ids, never the pixel's own without one", async () => {
    const page = await loaded("meta");
    page.navigate("/products/1");
    page.navigate("/products/1#reviews", { replace: true });
    page.back("https://shop.example.co.uk/landing");
    await page.settled();
    page.advance(3000);
    await page.settled();
    const views = page.meta("PageView");
    const copies = page.copies("Pageview");
    assert.equal(copies.length, 4);
    assert.deepEqual(views.map((view) => view.eid), copies.map((copy) => copy.event_id));
    assert.equal(views.filter((view) => view.es === "automatic").length, 0);
  });

  test("a purchase reaches both pixels and both copies with one event_id, in each platform's words", async () => {
    const page = await loaded("both");
    page.window.pb("track", "CompletePayment", {
      value: 42, currency: "eur", order_id: "o-1", contents: [{ content_id: "sku-1", price: 21, quantity: 2 }],
    });
    await page.settled();
    page.advance(3000);
    await page.settled();
    const [meta] = page.meta("Purchase");
    const [tiktok] = page.tiktok("Purchase");
    const [copy] = page.copies("Purchase");
    assert.equal(meta.eid, copy.event_id);
    assert.equal(tiktok.event_id, copy.event_id);
    assert.equal(meta.tm, 1);
    assert.deepEqual(meta.cd, {
      value: 42, currency: "EUR", order_id: "o-1", contents: [{ id: "sku-1", item_price: 21, quantity: 2 }], content_ids: ["sku-1"],
    });
    assert.equal(copy.fbp, meta.fbp);
  });

  test("events Meta has no standard name for go as custom events; a search's query is its search_string", async () => {
    const page = await loaded("meta");
    page.window.pb("track", "PlaceAnOrder", { value: 5 });
    page.window.pb("track", "Search", { query: "red shoes" });
    await page.settled();
    const [order] = page.meta("PlaceAnOrder");
    assert.equal(order.tm, 2, "trackSingleCustom");
    const [search] = page.meta("Search");
    assert.equal(search.tm, 1);
    assert.deepEqual(search.cd, { search_string: "red shoes" });
    assert.equal(page.window.__fbeventsStub.warnings.length, 0, String(page.window.__fbeventsStub.warnings));
  });

  test("two PixelEdge pixels on a page: each event reaches its own Meta pixel only", async () => {
    const page = await loaded(["meta", "second"]);
    page.window.pb("track", "Lead");
    await page.settled();
    const leads = page.meta("Lead");
    assert.deepEqual(leads.map((lead) => lead.id).sort(), [OTHER_META_ID, META_ID].sort());
    // One event per pixel: each pb.js sent its own, with its own event id.
    assert.equal(new Set(leads.map((lead) => lead.eid)).size, 2);
    assert.equal(fbeventsScripts(page).length, 1);
  });

  test("identities reach Meta hashed as Meta normalises them, and the server copy carries the same hashes", async () => {
    const page = await loaded("both");
    page.window.pb("identify", { email: " Ann@Example.com ", phone: "07700 900123", external_id: "User 42" });
    page.window.pb("track", "Lead");
    await page.settled();
    page.advance(3000);
    await page.settled();
    const [lead] = page.meta("Lead");
    assert.deepEqual(lead.ud, { em: sha256("ann@example.com"), ph: sha256("447700900123"), external_id: sha256("user42") });
    assert.equal(lead.ud_raw, undefined, "no raw value reaches the pixel");
    const [copy] = page.copies("Lead");
    assert.equal(copy.meta_phone, sha256("447700900123"));
    assert.equal(copy.meta_external_id, sha256("user42"));
    // TikTok's own: E.164 with its +, the id as given.
    assert.equal(copy.sha256_phone_number, sha256("+447700900123"));
    assert.equal(copy.external_id, sha256("User 42"));
    const [tiktok] = page.tiktok("Lead");
    assert.equal(tiktok.context.user.phone_number, sha256("+447700900123"));
  });
});

describe("Meta never breaks the page", () => {
  test("a property object that cannot be sent rejects nothing unhandled, and the next event goes", async () => {
    const rejections = [];
    const onRejection = (reason) => rejections.push(reason);
    process.on("unhandledRejection", onRejection);
    try {
      const page = await loaded("both");
      page.run("const cyclic = {}; cyclic.self = cyclic; pb('track', 'Lead', cyclic); pb('track', 'Contact')");
      await page.settled();
      page.advance(3000);
      await page.settled();
      await new Promise((next) => setImmediate(next));
      assert.deepEqual(rejections, []);
      assert.equal(page.copies("Contact").length, 1);
      assert.equal(page.meta("Contact").length, 1);
    } finally {
      process.off("unhandledRejection", onRejection);
    }
  });
});

describe("a page's own fbq that is not Meta's", () => {
  test("a non-function window.fbq is replaced by the stub, and both pixels work", async () => {
    const page = runBundle(bundles.both, { before: "window.fbq = 42; window._fbq = 42;" });
    await page.start();
    page.advance(3000);
    await page.settled();
    assert.equal(page.meta("PageView").length, 1);
    assert.equal(page.tiktok("Pageview").length, 1);
    assert.equal(page.copies("Pageview").length, 1);
  });
});

describe("_fbp and _fbc", () => {
  test("fbclid becomes _fbc, its case kept; the same fbclid keeps its creation time, a new one replaces it", async () => {
    const jar = new CookieJar();
    const first = await loaded("meta", { url: "https://shop.example.co.uk/?fbclid=IwAR2x_AbC-9", jar });
    const fbc = jar.cookies.get("_fbc").value;
    assert.match(fbc, /^fb\.2\.\d{13}\.IwAR2x_AbC-9$/);
    assert.equal(first.copies("Pageview")[0].fbc, fbc);
    assert.equal(first.meta("PageView")[0].fbc, fbc);
    await loaded("meta", { url: "https://shop.example.co.uk/again?fbclid=IwAR2x_AbC-9", jar });
    assert.equal(jar.cookies.get("_fbc").value, fbc);
    await loaded("meta", { url: "https://shop.example.co.uk/?fbclid=IwNEWER", jar });
    assert.match(jar.cookies.get("_fbc").value, /\.IwNEWER$/);
  });

  test("a valid _fbp set by a server, appendix included, is kept and sent as it is", async () => {
    const jar = new CookieJar();
    jar.set("_fbp=fb.1.1796524117400.421151950958298220.AQYCAQAA; domain=example.co.uk; path=/", new URL("https://shop.example.co.uk/"));
    const page = await loaded("meta", { jar });
    assert.equal(page.copies("Pageview")[0].fbp, "fb.1.1796524117400.421151950958298220.AQYCAQAA");
    assert.equal(page.meta("PageView")[0].fbp, "fb.1.1796524117400.421151950958298220.AQYCAQAA");
  });

  test("the pixel's config script blocked: the stand-in, as Meta's pixel, sends nothing; the server copy still leaves", async () => {
    const page = await loaded("meta", { fbeventsConfigBlocked: true });
    assert.equal(page.window.__fbeventsStub.loads, 1);
    assert.equal(page.meta().length, 0);
    assert.equal(page.copies("Pageview").length, 1);
  });

  test("with fbevents.js blocked the server copy still leaves, with fbp", async () => {
    const page = await loaded("meta", { fbeventsBlocked: true });
    assert.equal(page.meta().length, 0);
    assert.match(page.copies("Pageview")[0].fbp, /^fb\.2\./);
  });
});

describe("Meta and consent", () => {
  test("nothing is fetched from Meta, stored or sent before the grant; after it, the held page view with its id", async () => {
    const page = await loaded("consent");
    assert.equal(fbeventsScripts(page).length, 0);
    assert.deepEqual(page.jar.writes, []);
    assert.equal(page.meta().length, 0);
    assert.equal(page.copies().length, 0);
    page.window.pb("consent", "grant");
    await page.start();
    page.advance(3000);
    await page.settled();
    assert.equal(fbeventsScripts(page).length, 1);
    const [view] = page.meta("PageView");
    const [copy] = page.copies("Pageview");
    assert.equal(view.eid, copy.event_id);
    assert.equal(view.fbp, copy.fbp);
    assert.ok(page.jar.cookies.get("_fbp"));
  });

  test("a refusal sends nothing to Meta, not even later", async () => {
    const page = await loaded("consent");
    page.window.pb("consent", "revoke");
    page.window.pb("track", "Lead");
    await page.start();
    page.advance(3000);
    await page.settled();
    assert.equal(page.meta().length, 0);
    assert.equal(page.copies().length, 0);
    assert.equal(page.jar.cookies.get("_fbp"), undefined);
  });
});

describe("Meta's automatic events and Limited Data Use", () => {
  const clickAButton = async (page) => {
    page.dispatch("click", { tagName: "BUTTON", textContent: "Buy" });
    await page.settled();
    return page.meta("SubscribedButtonClick");
  };

  test("automatic events are off unless the pixel keeps them", async () => {
    assert.equal((await clickAButton(await loaded("meta"))).length, 0);
    const kept = await clickAButton(await loaded("automatic"));
    assert.equal(kept.length, 1);
    assert.equal(kept[0].eid, undefined, "the pixel's own events carry no event id of ours");
  });

  test("limited data use reaches the pixel as dataProcessingOptions LDU, Meta geolocating", async () => {
    const page = await loaded("ldu");
    const [view] = page.meta("PageView");
    assert.deepEqual([view.dpo, view.dpoco, view.dpost], ["LDU", 0, 0]);
    assert.equal(page.meta("PageView").length, 1);
  });
});

describe("Meta's own base code beside the tag", () => {
  test("before pb.js: its fbevents.js is the only one, and its page view carries our event id", async () => {
    const page = runBundle(bundles.meta, { before: baseCode(META_ID) });
    await page.start();
    page.advance(3000);
    await page.settled();
    assert.equal(fbeventsScripts(page).length, 1);
    assert.equal(page.window.__fbeventsStub.loads, 1);
    const [copy] = page.copies("Pageview");
    const views = page.meta("PageView");
    assert.ok(views.length >= 1);
    assert.ok(views.every((view) => view.eid === copy.event_id), "every page view Meta gets carries the copy's event id");
  });

  test("after pb.js: it loads nothing more, and its page view carries our event id", async () => {
    const page = runBundle(bundles.meta + "\n" + baseCode(META_ID));
    await page.start();
    page.advance(3000);
    await page.settled();
    assert.equal(fbeventsScripts(page).length, 1);
    const [copy] = page.copies("Pageview");
    const views = page.meta("PageView");
    assert.ok(views.every((view) => view.eid === copy.event_id));
    assert.ok(!page.window.__fbeventsStub.warnings.some((warning) => warning.startsWith("CONFLICTING")));
  });
});
