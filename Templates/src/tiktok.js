// TikTok's base code (../shared/reference/tiktok.md, section 1): the ttq queue with its method stubs
// (setAndDefer, instance, load), and the pixel registered in ttq._i, _t and _o while pb.js runs,
// so that TikTok's Event Builder finds window.ttq._i[PIXEL_CODE] even when events.js is slow, blocked, or
// (consent required) not asked for yet. events.js, inserted with sdkid and lib (a script element made by
// createElement is async), then reads the same structures.
//
// Sites keep TikTok's own base code beside the tag, before or after it (issue 19, seen on real sites):
// - before pb.js: its stubs and its load are kept, and its queued page view gets our event_id (pb.js);
// - after pb.js: it assigns its own ttq.load and calls it, which would reset ttq._i[CODE] (wiping the page
//   view queued there) and fetch events.js a second time. The assignment is kept, but a load of a pixel
//   already registered does nothing but move our page view ahead of the base code's own page(), which
//   TikTok's SDK then drops as a second page view of one URL.
// Either way `shared.b` records that another base code is on the page, for the install check.

// Loads the pixel unless the page already has it. `shared` is the page's pb state (api.v): `shared.s` the
// events.js scripts not inserted yet (consent required: inserted at the grant, `startTikTok`), `shared.e`
// set when one failed to load (blocked), `shared.b` when another base code is on the page. With consent,
// consent is held before anything else is asked of the pixel. Returns whether this call loaded the pixel.
export function loadTikTok(pixelCode, eventsJS, shared) {
  const ttq = (window.ttq ||= []);
  const isNew = !ttq._i?.[pixelCode];
  window.TiktokAnalyticsObject = "ttq";
  if (ttq.methods && !shared.t) shared.b = 1;
  if (!ttq.methods) {
    shared.t = 1;
    // TikTok's current method stubs, consent included.
    ttq.methods = "page track identify instances debug on off once ready alias group enableCookie disableCookie holdConsent revokeConsent grantConsent".split(" ");
    ttq.setAndDefer = (target, method) => (target[method] = (...args) => target.push([method, ...args]));
    const addStubs = (target) => {
      ttq.methods.forEach((method) => ttq.setAndDefer(target, method));
      return target;
    };
    ttq.instance = (code) => addStubs(ttq._i[code] || []);
    addStubs(ttq);
    // ttq.load, behind the guard below.
    let load = (code, options) => {
      // (Not _u, the base code's script URL: TikTok's SDK never reads it, tiktok.md section 6.)
      (ttq._i ||= {})[code] = [];
      (ttq._t ||= {})[code] = +new Date();
      (ttq._o ||= {})[code] = options || {};
      const script = document.createElement("script");
      script.src = eventsJS + "?sdkid=" + code + "&lib=ttq";
      script.onerror = () => (shared.e = 1);
      (shared.s ||= []).push(script);
      if (!FEATURE_CONSENT) startTikTok(shared);
    };
    // Installed once, with the stubs: it is the page's, for every pixel (a later pb.js finds it in place).
    Object.defineProperty(ttq, "load", {
      get: () => (code, options) => {
        const queue = ttq._i?.[code];
        if (!queue) return load(code, options);
        shared.b = 1;
        // Its page() comes next, into the global queue, which the SDK replays before each pixel's own: our
        // page view, queued on the pixel, is queued there first, and the base code's is the second of the URL
        // (and so is ours when the pixel's queue is replayed).
        ttq.push(...queue.filter((call) => call[0] == "page"));
      },
      set: (value) => (load = value),
    });
  }
  if (FEATURE_CONSENT) ttq.holdConsent();
  if (isNew) ttq.load(pixelCode);
  return isNew;
}

// Inserts the events.js scripts waiting: at once, or with consent required at the grant (before it, nothing
// is asked of TikTok and its SDK stores nothing on the device).
export const startTikTok = (shared) => shared.s && document.head.append(...shared.s.splice(0));

// What the server copy says of TikTok's SDK: "loaded" once events.js has run for the pixel, "blocked" when
// its script failed or it has not run after `waited` 100 ms checks (1 s: events.js is 4 KiB); undefined
// while it may still come.
export const sdkState = (pixelCode, shared, waited) =>
  window.ttq?._i?.[pixelCode]?.info ? "loaded" : shared.e || waited >= 10 ? "blocked" : undefined;
