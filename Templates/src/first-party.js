// First-party identifiers. ttclid arrives in the landing URL of a TikTok ad click (direct visitors have
// none, which is normal); it is kept, as it appears in the URL, in a first-party cookie pb_ttclid for 30
// days on the site's registrable domain, and the URL wins over the stored value. (Not in a cookie named
// ttclid: TikTok's SDK writes one of its own for a day, which would cut ours short.) _ttp is the cookie
// TikTok's pixel sets. Cookies throw in sandboxed frames: every access is guarded. With consent required,
// nothing is written before the grant: the ttclid of the URL is kept in memory until then.

export function readCookie(name) {
  try {
    return document.cookie.match("(^|; )" + name + "=([^;]*)")?.[2];
  } catch (error) {}
}

// The ttclid of the landing URL, if any.
export const urlTtclid = () => location.search.match(/[?&]ttclid=([^&#;,]+)/)?.[1];

// The first-party cookies pb.js keeps, written by pb-extras.js (off the critical path; with consent
// required, at the grant and not before): pb_ttclid, the ttclid of the landing URL, if any; with Meta
// (`meta`), _fbp and _fbc from an ad click's fbclid (the page's URL, else its referrer), as Meta's pixel
// writes them (../shared/reference/meta.md section 5): fb.<labels of the registrable domain - 1>.<ms>.
// <payload>, 90 days, not HttpOnly. A valid one is kept (the pixel's, or a server's); a new fbclid replaces
// _fbc, the same one keeps its creation time. The pixel adopts and renews them.
export function storeIdentifiers(ttclid, meta) {
  if (ttclid) storeCookie("pb_ttclid", () => ttclid, 2592000);
  if (meta) {
    const fbclid = (location.search + "&" + document.referrer).match(/[?&]fbclid=([\w.~-]{1,500})(&|$)/)?.[1];
    const mint = (name, payload) => storeCookie(name, (labels) => "fb." + (labels - 1) + "." + Date.now() + "." + payload, 7776000);
    if (!/^fb\.\d+\.\d+\.\d/.test(readCookie("_fbp"))) mint("_fbp", crypto.getRandomValues(new Uint32Array(2)).map((n) => n % 999999999).join(""));
    if (fbclid && !(readCookie("_fbc")?.split(".").slice(3).join(".") + ".").startsWith(fbclid + ".")) mint("_fbc", fbclid);
  }
}

// Sets a first-party cookie on the site's registrable domain for maxAge seconds; value(labels) is its value
// for a domain of that many labels. Browsers refuse cookies on public suffixes (co.uk), so trying the widest
// domain first (never the top-level label alone: co.uk, example.co.uk, ..., the host itself), the first
// that sticks is the registrable one; last comes host-only (localhost, an IP address).
export function storeCookie(name, value, maxAge) {
  try {
    const labels = location.hostname.split(".");
    for (let first = labels.length - 2; first >= -1; first--) {
      const written = value(labels.length - Math.max(first, 0));
      document.cookie = name + "=" + written + ";path=/;max-age=" + maxAge + ";SameSite=Lax" + (location.protocol == "https:" ? ";Secure" : "") + (first < 0 ? "" : ";domain=" + labels.slice(first).join("."));
      if (readCookie(name) == written) return;
    }
  } catch (error) {}
}
