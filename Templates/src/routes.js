// Single-page apps: pb.js sends a page view exactly where TikTok's SDK would send one of its own, so that the
// SDK's copy (without our event_id) is the one it drops. The 2025-2026 SDK wraps history.pushState and
// replaceState and listens to popstate, and sends a page view (in a setTimeout after them, when the pixel's
// settings ask for it) whenever the URL, fragment included, differs from its previous page view's: an
// anchor-only change (#reviews) is a page view, and so is going back to a URL seen before (issue 19, from
// the SDK's behaviour on real sites; the stand-in, Public/events-stub.js, does the same). It drops a page view
// of the URL of the one before. So onRoute runs synchronously inside the history call: our page view, with the
// event_id its server copy carries, comes first, and the SDK's own is the second of that URL.

export const currentPage = () => location.href;

export function watchRoutes(onRoute) {
  for (const method of ["pushState", "replaceState"]) {
    const original = history[method];
    history[method] = function (...args) {
      const result = original.apply(this, args);
      onRoute();
      return result;
    };
  }
  addEventListener("popstate", onRoute);
}
