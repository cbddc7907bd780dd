// Single-page apps: a change of route is a page view. A page is its URL without the fragment: a new path or
// query is a new page (?page=2 too), an anchor (#reviews) is not; TikTok's SDK is read the same way by the
// stand-in (Public/events-stub.js), since both sides must count the same page views.
//
// TikTok's SDK wraps the same history methods and, when the pixel's settings ask for it, sends a page view
// of its own after them (in a setTimeout), without our event_id; it drops a second page view of a URL it has
// seen. So onRoute runs synchronously inside the history call: our page view, with the event_id its server
// copy carries, is the one TikTok keeps.

export const currentPage = () => location.href.split("#")[0];

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
