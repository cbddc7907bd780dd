// The server-side copy of an event, for TikTok's Events API and Meta's Conversions API through PixelEdge's
// /collect (with Meta, Meta's _fbp and _fbc as the page has them, read when the copy leaves). text/plain JSON
// keeps it a simple request (no CORS preflight), so sendBeacon works across origins and survives the page
// unloading. (No fetch with keepalive when a beacon is refused: browsers refuse it for the same reason, the
// 64 KiB of requests in flight they allow while a page unloads.) URLs go without their query and fragment: a
// form sent with GET puts what was typed into the next page's URL, and the server needs the page, not its
// parameters (ttclid travels on its own).
//
// Copies wait, in order, while consent is held (with consent, consentState() says "hold"; "revoke" drops
// them), and, with TikTok, until its SDK's fate is known and then for the _ttp cookie it sets, the strongest
// browser key after ttclid (on a new visitor's first page the SDK sets it only once it has loaded, after
// pb.js ran). Looked for every 100 ms: a copy goes at once when the SDK cannot come (its script failed, or it
// has not run within 1 s: the visitors whose copies matter most), else once _ttp is there or at most 3 s;
// and at once when the page is hidden or left, so that none is lost. Each copy says what was seen of TikTok's
// pixel (install check): `sdk` "loaded" or "blocked", and `base_code` when TikTok's own base code is on the
// page too.

import { readCookie } from "./first-party.js";
import { sdkState } from "./tiktok.js";

// Called while pb.js runs: collect resolves against pb.js's own URL (the edge), which document.currentScript
// gives only then. shared is the page's pb state (tiktok.js: whether events.js failed, another base code).
export function serverCopySender(config, consentState, shared) {
  const collect = new URL(config.c, document.currentScript?.src || location);
  let waiting = [];
  let checks = 0;
  let timer;
  // leaving: the page is being hidden or left, so waiting is over.
  const flush = (leaving) => {
    const allowed = !FEATURE_CONSENT || consentState() == "grant";
    if (FEATURE_CONSENT && consentState() == "revoke") waiting = [];
    const state = FEATURE_TIKTOK && sdkState(config.t, shared, checks);
    if (allowed && (leaving || !FEATURE_TIKTOK || state == "blocked" || (state && readCookie("_ttp")) || checks >= 30)) {
      for (const copy of waiting.splice(0)) {
        // (JSON leaves out what is undefined: no sdk while unknown, no base_code unless found.)
        navigator.sendBeacon?.(collect, JSON.stringify({
          ...copy,
          ...(FEATURE_TIKTOK && { ttp: readCookie("_ttp"), sdk: state, base_code: shared.b }),
          ...(FEATURE_META && { fbp: readCookie("_fbp"), fbc: readCookie("_fbc") }),
        }));
      }
    }
    if (waiting[0] && !timer) {
      timer = setTimeout(() => {
        timer = 0;
        // The waits count from consent on.
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
