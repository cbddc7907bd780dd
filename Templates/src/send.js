// The server-side copy of an event, for TikTok's Events API through PixelEdge's /collect. text/plain JSON
// keeps it a simple request (no CORS preflight), so sendBeacon works across origins and survives the page
// unloading; fetch with keepalive when the beacon is refused. URLs go without their query and fragment: a
// form sent with GET puts what was typed into the next page's URL, and the server needs the page, not its
// parameters (ttclid travels on its own).

// Called while pb.js runs: collect resolves against pb.js's own URL (the edge), which document.currentScript
// gives only then.
export function serverCopySender(config) {
  const collect = new URL(config.collect, document.currentScript?.src || location);
  return (event) => {
    const body = JSON.stringify({
      pixel: config.id, ...event, url: location.href.split(/[?#]/)[0], referrer: document.referrer.split(/[?#]/)[0],
    });
    navigator.sendBeacon?.(collect, body) || fetch(collect, { method: "POST", body, keepalive: true }).catch((error) => error);
  };
}
