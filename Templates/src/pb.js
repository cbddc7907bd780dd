// pb.js: the bundle a site loads at the top of its <head> with
//   <script src="https://edge.example.com/p/PIXEL_ID/pb.js"></script>
//
// This folder is the source people read and change; `Templates/build` minifies it (esbuild) into the
// templates PixelEdge renders per pixel: one per combination of features (TikTok, the server copy), with
// the pixel's configuration inserted where PIXEL_CONFIG stands, as an escaped JSON literal:
//   {id, tiktok?: Pixel Code, eventsJS?: URL of TikTok's events.js, collect?: URL of /collect}
//
// Rules this code keeps:
// - It runs synchronously in the page's head: the TikTok pixel is registered before any network request.
// - It never throws into the page: every entry point catches, every promise ends in a no-op.
// - Its only globals are pb (and, with TikTok, ttq and TiktokAnalyticsObject).
// - Raw email and phone values stay in this closure; only their SHA-256 hashes leave it.

/* global PIXEL_CONFIG, FEATURE_TIKTOK, FEATURE_COLLECT -- set by Templates/build for each variant */

import { loadTikTok } from "./tiktok.js";
import { rememberTtclid, readCookie } from "./first-party.js";
import { watchForms } from "./harvest.js";
import { serverCopySender } from "./send.js";

start(PIXEL_CONFIG);

function start(config) {
  try {
    // The page may have queued calls before pb.js arrived (the README's one-line stub), and another pixel's
    // pb.js may already have set pb up: both are reused.
    const existing = window.pb;
    const queue = existing?.q || [];
    const handlers = existing?.p || {};
    // pb.js included twice: the first copy does the work.
    if (handlers[config.id]) return;

    // A page that already has TikTok's base code for this pixel has sent its own page view.
    const pageViewDue = FEATURE_TIKTOK ? loadTikTok(config.tiktok, config.eventsJS) : true;

    // What is known of the visitor, sent with every server copy.
    const visitor = { ttclid: rememberTtclid() };
    watchForms((kind, hash) => {
      visitor[kind] = hash;
      // Through this pixel's own queue: events reach this pixel only, never another one on the page.
      if (FEATURE_TIKTOK) window.ttq.instance(config.tiktok).identify({ ["sha256_" + kind]: hash });
    });

    const send = FEATURE_COLLECT && serverCopySender(config);

    // One action, one event_id (128 random bits; getRandomValues works on plain http too), shared by the
    // browser pixel and the server copy so that TikTok deduplicates them. Pageview is the page view's name
    // on the server side.
    const track = (event, properties) => {
      const eventID = crypto.getRandomValues(new Uint32Array(4)).join("-");
      if (FEATURE_TIKTOK) {
        const pixel = window.ttq.instance(config.tiktok);
        if (event == "Pageview") pixel.page({}, { event_id: eventID });
        else pixel.track(event, properties, { event_id: eventID });
      }
      if (FEATURE_COLLECT) send({ event, event_id: eventID, properties, ...visitor, ttp: readCookie("_ttp") });
    };

    // The public API, pb("track", EVENT, properties): each call goes to the handler of every pixel on the page.
    const handle = (call) => {
      try {
        if (call[0] == "track") track(call[1], call[2]);
      } catch (error) {}
    };
    if (!existing?.p) {
      window.pb = Object.assign((...call) => { for (const id in handlers) handlers[id](call); }, { q: queue, p: handlers });
    }
    handlers[config.id] = handle;
    queue.forEach(handle);
    if (pageViewDue) track("Pageview");
  } catch (error) {}
}
