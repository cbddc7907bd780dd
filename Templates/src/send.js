// The server-side copy of an event, for TikTok's Events API through PixelEdge's /collect. text/plain JSON
// keeps it a simple request (no CORS preflight), so sendBeacon works across origins and survives the page
// unloading. (No fetch with keepalive when a beacon is refused: browsers refuse it for the same reason, the
// 64 KiB of requests in flight they allow while a page unloads.) URLs go without their query and fragment: a
// form sent with GET puts what was typed into the next page's URL, and the server needs the page, not its
// parameters (ttclid travels on its own).
//
// Copies wait, in order, while consent is held (with consent, consentState() says "hold"; "revoke" drops
// them), and for the _ttp cookie of TikTok's pixel, the strongest browser key after ttclid: on a new visitor's
// first page the pixel sets it only once its SDK has loaded (or consent is granted), after pb.js ran. With
// TikTok, copies allowed to go wait for the cookie, looked for every 100 ms, at most 3 s in all, and go at
// once when the page is hidden or left, so that none is lost.

import { readCookie } from "./first-party.js";

// Called while pb.js runs: collect resolves against pb.js's own URL (the edge), which document.currentScript
// gives only then.
export function serverCopySender(config, consentState) {
  const collect = new URL(config.c, document.currentScript?.src || location);
  let waiting = [];
  let checks = 0;
  let timer;
  // leaving: the page is being hidden or left, so waiting for _ttp is over.
  const flush = (leaving) => {
    const allowed = !FEATURE_CONSENT || consentState() == "grant";
    if (FEATURE_CONSENT && consentState() == "revoke") waiting = [];
    if (allowed && (leaving || !FEATURE_TIKTOK || readCookie("_ttp") || checks >= 30)) {
      for (const copy of waiting.splice(0)) {
        navigator.sendBeacon?.(collect, JSON.stringify({ ...copy, ttp: readCookie("_ttp") }));
      }
    }
    if (waiting[0] && !timer) {
      timer = setTimeout(() => {
        timer = 0;
        // The 3 s for _ttp count from consent on.
        if (allowed) checks++;
        flush();
      }, 100);
    }
  };
  // Fired when the page is left too (pagehide comes after it), in every browser of these years.
  addEventListener("visibilitychange", () => document.hidden && flush(1));
  return (event) => {
    const withoutQuery = (url) => url.split(/[?#]/)[0];
    waiting.push({ pixel: config.i, ...event, url: withoutQuery(location.href), referrer: withoutQuery(document.referrer) });
    flush();
  };
}
