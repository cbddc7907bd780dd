// Meta's pixel (fbevents.js), as ../shared/reference/meta.md describes the real one (read from 2024-2026
// copies, run offline):
// - the base code's stub (section 1): fbq queues calls until fbevents.js installs callMethod and replays
//   them; window._fbq names the same function. A page that already has Meta's base code keeps its fbq and
//   its fbevents.js: pb.js never loads a second one (that one's `if (f.fbq) return` keeps a base code
//   after pb.js from loading it either).
// - pb.js owns page views (section 4): disablePushState, read once when the first event fires, stops the
//   pixel's own page views on history changes (they carry no event id of ours); allowDuplicatePageViews,
//   read at each call, lets a route change's page view through. Both are set right after the stub.
// - consent (section 6): revoke before init holds everything (no config, no cookies, no request) until
//   grant sends it, with its event ids. With consent required fbevents.js is not even fetched before the
//   grant, as TikTok's SDK is not.
// - automatic events (section 8): set autoConfig false before init, unless the pixel's setting keeps them.
// - Limited Data Use: dataProcessingOptions ['LDU'], 0, 0 (Meta geolocates), before init.
// - events (section 3): trackSingle / trackSingleCustom (this pixel only, not every pixel on the page),
//   with the event id in the 4th argument, where the pixel reads it ({eventID}; in the custom data it
//   would dedupe nothing).
// - _fbp and _fbc (section 5): minted in the pixel's own format by pb-extras.js (first-party.js), before the
//   first server copy leaves, so that the first page view's carries fbp; the pixel adopts and renews them.

// Sets up the pixel: the stub (unless the page has one), the settings that must come before init, init.
// `shared` is the page's pb state: `shared.f` the fbevents.js script not inserted yet (consent required:
// inserted at the grant, startMeta).
export function loadMeta(config, shared) {
  let fbq = window.fbq;
  // (Not a function: not Meta's, whatever a page put under its name.)
  if (typeof fbq != "function") {
    // A base code after pb.js finds this stub and stops (`if (f.fbq) return`), but its own calls come here:
    // its page view gets the page's event id (ownPageView), so that it is one page view with ours.
    fbq = window.fbq = function () {
      fbq.callMethod ? fbq.callMethod.apply(fbq, arguments) : fbq.queue.push(ownPageView(arguments, shared.id));
    };
    window._fbq ||= fbq;
    fbq.push = fbq;
    fbq.loaded = !0;
    fbq.version = "2.0";
    fbq.queue = [];
    const script = document.createElement("script");
    script.async = !0;
    script.src = config.f;
    shared.f = script;
    if (!FEATURE_CONSENT) startMeta(shared);
  }
  fbq.disablePushState = fbq.allowDuplicatePageViews = !0;
  if (FEATURE_CONSENT) fbq("consent", "revoke");
  if (!config.a) fbq("set", "autoConfig", !1, config.m);
  if (config.l) fbq("dataProcessingOptions", ["LDU"], 0, 0);
  fbq("init", config.m);
}

// Inserts fbevents.js when pb.js loaded it: at once, or with consent required at the grant.
export function startMeta(shared) {
  if (shared.f) document.head.append(shared.f);
  shared.f = 0;
}

// A base code's page view (track PageView without an event id) with the page's event id: pb.js owns page
// views, and every pixel the base code sends it to counts it once with ours.
const ownPageView = (call, eventID) =>
  call[0] == "track" && call[1] == "PageView" && !call[3] ? ["track", "PageView", call[2] || {}, { eventID }] : call;

// One event to this pixel only, with its event id. A page view goes at once, as PageView; other events
// in Meta's words (metaEvent, in pb-extras.js, off the critical path), once that has come: when it cannot
// come, Meta's browser pixel gets page views only, and the server copy all the rest.
export function trackMeta(config, event, properties, eventID, extras) {
  const fbq = window.fbq;
  const send = (method, name, data) => fbq(method, config.m, name, data, { eventID });
  if (event == "Pageview") {
    // A base code before pb.js has queued its page view for fbevents.js, not there yet: it takes our id.
    if (!fbq.callMethod) fbq.queue = fbq.queue.map((call) => ownPageView(call, eventID));
    send("trackSingle", "PageView", {});
  } else extras.then((module) => module && send(...module.metaEvent(event, properties))).catch(() => {});
}
