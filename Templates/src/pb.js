// pb.js: the bundle a site loads at the top of its <head> with
//   <script src="https://edge.example.com/p/PIXEL_ID/pb.js"></script>
//
// This folder is the source people read and change; `Templates/build` minifies it (esbuild) into the
// templates PixelEdge renders per pixel: one per combination of features (TikTok, the server copy, consent),
// with the pixel's configuration inserted where PIXEL_CONFIG stands, as an escaped JSON literal whose keys
// are one letter (they travel in every bundle; BundleRenderer.ClientConfiguration writes them):
//   {i: pixel id, t?: TikTok Pixel Code, j?: URL of TikTok's events.js, c?: URL of /collect,
//    s?: false when single-page-app page views are off, p?: default phone calling code,
//    l?: true for limited data use, x?: URL of pb-extras.js, m?: Meta pixel ID, f?: URL of Meta's
//    fbevents.js, a?: true to leave Meta's automatic events on}
//
// Rules this code keeps:
// - It runs synchronously in the page's head: the TikTok pixel is registered before any network request.
// - It never throws into the page: every entry point catches, every promise ends in a no-op.
// - Its only globals are pb (and, with TikTok, ttq and TiktokAnalyticsObject; with Meta, fbq and _fbq).
// - Raw email and phone values stay in this closure; only their SHA-256 hashes leave it.
// - Each action has one event_id, given to TikTok's pixel where its SDK reads it (../shared/reference/
//   tiktok.md, section 6: the options of track, the properties of page), to Meta's where fbevents.js reads
//   it (meta.md section 3: the 4th argument), and to the server copy.

/* global PIXEL_CONFIG, FEATURE_TIKTOK, FEATURE_META, FEATURE_COLLECT, FEATURE_CONSENT -- set by Templates/build for each variant */

import { loadTikTok, startTikTok } from "./tiktok.js";
import { readCookie, urlTtclid } from "./first-party.js";
import { currentPage, watchRoutes } from "./routes.js";
import { watchConsent, loadExtras } from "./consent.js";
import { serverCopySender } from "./send.js";
import { loadMeta, startMeta, trackMeta } from "./meta.js";

start(PIXEL_CONFIG);

function start(config) {
  try {
    // The page may have queued calls before pb.js arrived (the README's one-line stub), and another pixel's
    // pb.js may already have set pb up: both are reused.
    const existing = window.pb;
    const queue = existing?.q || [];
    const handlers = existing?.p || {};
    // pb.js included twice: the first copy does the work.
    if (handlers[config.i]) return;
    // The API, shared by every pixel on the page; kept here: the page may replace window.pb, never this function.
    const api = existing?.p ? existing : (window.pb = Object.assign((...call) => { for (const id in handlers) handlers[id](call); }, { q: queue, p: handlers }));
    // Identities are hashed, typed fields read, and (consent required) the CMPs' signals read by pb-extras.js,
    // loaded now, off the critical path, and used once it has come (see extras.js).
    const extras = loadExtras(api, new URL(config.x, document.currentScript?.src || location));
    // What the pixels on the page share: the page view's id (below), the loader's state (tiktok.js).
    const shared = (api.v ||= {});

    // A page that already has TikTok's base code for this pixel has queued its own page view (see below).
    const pageViewDue = FEATURE_TIKTOK ? loadTikTok(config.t, config.j, shared) : true;
    if (FEATURE_META) loadMeta(config, shared);
    // Through this pixel's own queue or instance: events reach this pixel only, never another one on the page.
    const pixel = FEATURE_TIKTOK && (() => window.ttq.instance(config.t));
    // 128 random bits; getRandomValues works on plain http too.
    const newEventID = () => crypto.getRandomValues(new Uint32Array(4)).join("-");

    // What is known of the visitor, sent with every server copy: TikTok's click id and the browser's
    // language, which only TikTok takes. The first-party cookies (pb_ttclid; with Meta, _fbp and _fbc) are
    // written by pb-extras.js; with consent required only at the grant: nothing is written on the device
    // before it. With Meta the server copies wait for them (at most for pb-extras.js, whose failure ends the
    // wait too), so that the first page view's carries fbp (meta.md section 10).
    const ttclid = FEATURE_TIKTOK && urlTtclid();
    const storeIdentifiers = () => extras.then((module) => module?.storeIdentifiers(ttclid, FEATURE_META));
    let stored = FEATURE_CONSENT ? extras : storeIdentifiers();
    const visitor = FEATURE_TIKTOK ? { ttclid: ttclid || readCookie("pb_ttclid"), locale: navigator.language } : {};
    // Copies leave only with consent, which they say to the server when the pixel requires it.
    if (FEATURE_CONSENT) visitor.consent = "granted";

    // Events and identities go through one chain of promises: hashing takes Web Crypto's time, and a track
    // right after an identify (or a submit right after a typed email) carries the hashes. With nothing being
    // hashed an event runs at the end of the current task, before anything the page scheduled after it.
    let chain = Promise.resolve();
    const later = (work) => (chain = chain.then(work).catch((error) => error));
    const hash = (fields) => extras.then((module) => module?.hashIdentity(fields, config.p, config.m) || {});
    // Each platform gets its own hashes: TikTok's phone is E.164 with +, Meta's digits only; Meta's external
    // id is lower-cased (identity.js). The server copy carries both.
    const identify = (fields) => later(() => hash(fields).then((hashes) => {
      Object.assign(visitor, hashes);
      if (FEATURE_META) {
        const { meta_phone: ph, meta_external_id: external_id, ...tiktok } = hashes;
        // A second init adds user data to a pixel that has none (meta.md section 2): the first identity only.
        if (tiktok.sha256_email || ph || external_id) window.fbq("init", config.m, { em: tiktok.sha256_email, ph, external_id });
        hashes = tiktok;
      }
      if (FEATURE_TIKTOK && Object.keys(hashes)[0]) pixel().identify(hashes);
    }));

    // TikTok's SDK holds, grants and revokes the browser events; send.js the server copies. At the grant,
    // and not before, TikTok's SDK is fetched and the ttclid stored.
    const consent = FEATURE_CONSENT && watchConsent((state) => {
      if (FEATURE_TIKTOK) window.ttq[state + "Consent"]();
      // Meta's pixel holds while revoked and sends on grant (meta.md section 6); "hold" is not a grant.
      if (FEATURE_META) window.fbq("consent", state == "grant" ? "grant" : "revoke");
      // Before its SDK has come, TikTok's revoke cannot drop what is queued for the pixel: dropped here.
      if (FEATURE_TIKTOK && state == "revoke") window.ttq._i[config.t].length = 0;
      if (state == "grant") {
        if (FEATURE_TIKTOK) startTikTok(shared);
        stored = storeIdentifiers();
        if (FEATURE_META) startMeta(shared);
      }
    });
    if (FEATURE_CONSENT) extras.then((module) => module?.watchConsentSignals(consent.decide));
    const send = FEATURE_COLLECT && serverCopySender(config, FEATURE_CONSENT && consent.state, shared);

    const track = (name, properties, eventID = newEventID(), queued) => later(() => {
      // TikTok's SDK sends CompletePayment as Purchase and SubmitForm as Lead (tiktok.md section 6): renamed
      // before either copy leaves, so that both carry one name with the event_id. (The currency is
      // upper-cased by the SDK for the browser copy and by /collect for the server copy.)
      const event = { CompletePayment: "Purchase", SubmitForm: "Lead" }[name] || name;
      // Nothing for TikTok while consent is refused: its SDK, not there yet, could not drop it.
      // Nothing for Meta either: a revoke only holds its events, to send them at a later grant.
      if (FEATURE_META && !(FEATURE_CONSENT && consent.state() == "revoke")) trackMeta(config, event, properties, eventID, extras);
      if (FEATURE_TIKTOK && !(FEATURE_CONSENT && consent.state() == "revoke")) {
        // limited_data_use travels in the properties, which TikTok's SDK moves to the payload like event_id.
        const browserProperties = { ...properties, limited_data_use: config.l };
        // A base code's page view queued before pb.js gets our event_id instead of a second one.
        if (event == "Pageview") !FEATURE_CONSENT && queued ? (queued[1] = { ...queued[1], ...browserProperties, event_id: eventID }) : pixel().page({ ...browserProperties, event_id: eventID });
        else pixel().track(event, browserProperties, { event_id: eventID });
      }
      const copy = { event, event_id: eventID, properties, ...visitor };
      // (Out of the chain, whose catch would otherwise not see it: nothing may reject unhandled.)
      if (FEATURE_COLLECT) FEATURE_META ? stored.then(() => send(copy)).catch(() => {}) : send(copy);
    });

    // One page view per page (see routes.js), named Pageview on the server side. Its event_id is shared by
    // every pixel on the page: TikTok's SDK sends a page view to every loaded pixel at once, with the
    // event_id of the first.
    let lastPage;
    const pageView = (queued) => {
      const page = currentPage();
      if (page == lastPage) return;
      lastPage = page;
      if (shared.page != page) {
        shared.page = page;
        shared.id = newEventID();
      }
      track("Pageview", undefined, shared.id, queued);
    };

    // The public API: pb("track", EVENT, properties), pb("identify", {email, phone, external_id}),
    // pb("consent", "grant" | "revoke" | "hold"). Each call goes to the handler of every pixel on the page.
    const handle = (call) => {
      try {
        if (call[0] == "track") track(call[1], call[2]);
        if (call[0] == "identify") identify(call[1]);
        if (FEATURE_CONSENT && call[0] == "consent") consent.decide(call[1], 3);
      } catch (error) {}
    };
    handlers[config.i] = handle;
    queue.forEach(handle);
    // TikTok's base code before pb.js queued its own page view: it gets our event_id and its server copy.
    // When its SDK has sent it already there is nothing to pair, and no page view is ours to send.
    // (Not with consent required: there a base code before pb.js has already asked TikTok without consent,
    // and the bytes go to holding what is queued instead.)
    const queued = FEATURE_TIKTOK && !FEATURE_CONSENT && !pageViewDue && [].find.call(window.ttq, (call) => call[0] == "page");
    if (!pageViewDue && !queued) lastPage = currentPage();
    pageView(queued);
    if (config.s != false) watchRoutes(() => pageView());
  } catch (error) {}
}
