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

// Stores the ttclid of the landing URL, if any. Browsers refuse cookies on public suffixes (co.uk), so trying
// the widest domain first (never the top-level label alone: co.uk, example.co.uk, ..., the host itself), the
// first that sticks is the registrable one; last comes host-only (localhost, an IP address).
export function storeTtclid(fromURL) {
  try {
    const cookie = "pb_ttclid=" + fromURL + ";path=/;max-age=2592000;SameSite=Lax" + (location.protocol == "https:" ? ";Secure" : "");
    const labels = location.hostname.split(".");
    for (let first = labels.length - 2; fromURL && first >= -1 && readCookie("pb_ttclid") != fromURL; first--) {
      document.cookie = cookie + (first < 0 ? "" : ";domain=" + labels.slice(first).join("."));
    }
  } catch (error) {}
}
