/* A stand-in for TikTok's browser SDK (events.js and the main.js it loads), for offline tests and the demo
   page: serve --events-js-url http://HOST/events-stub.js

   It does with the loader's queue what the real SDK does, as ../shared/reference/tiktok.md section 6 lists
   it (read from a 2026 copy of the SDK), so that a test passes only if the real pixel would get it right:
   - events.js needs window.TiktokAnalyticsObject to name the queue, and assigns info, plugins, rules,
     options (from ttq._o[CODE]) and _load onto the array ttq._i[CODE];
   - on start it runs the queued consent calls and identify calls first, then the rest of the global queue,
     then each loaded pixel's own queue, with instance(CODE) routing;
   - page takes ONE argument: a queued ["page", a, b] is page(a), sent as the event "Pageview" with the
     properties a; event_id, eventID and limited_data_use are moved out of the properties to the payload;
   - a page view on a pixel's own queue or instance goes through the global page (every loaded pixel), and
     a page view of the same URL as the pixel's previous one sends nothing; the URL is whole, fragment
     included, so an anchor-only change (#reviews) is a new page view, and so is going back to a URL seen
     before (issue 19: the 2025-2026 SDK sends page views of its own there);
   - track(EVENT, properties, {event_id, pixel_code}): the options' event_id wins over one in the
     properties; pixel_code (and instance(CODE)) sends to that pixel only, otherwise to every loaded pixel;
     CompletePayment is sent as Purchase, SubmitForm as Lead; currency is upper-cased;
   - identify: plain email and phone_number are normalised and hashed, sha256_email and sha256_phone_number
     taken as they are, external_id sent as given; each identify also sends an EnrichAM event;
   - consent: holdConsent keeps events (in memory and sessionStorage tt_hold_events) until grantConsent
     sends them; revokeConsent drops them, and sends nothing until a grant;
   - ttclid is read from the URL (last value), else its fragment, else the referrer, kept in sessionStorage
     tt_adInfo, and written to a 1-day ttclid cookie that is never read back;
   - _ttp is set (27 characters, ".tt.", a number) on the widest domain that takes it, for 390 days, once
     the SDK runs (here: when this script runs, or at the grant when consent is held): it does not exist
     while pb.js first runs on a new visitor's first page;
   - history.pushState/replaceState are wrapped and popstate is listened to; the SDK's own handler runs with
     setTimeout(0) after the original and, when the pixel's settings ask for it, sends a page view itself,
     without an event_id of yours.
   Where section 6 is silent the stand-in says what it chose (the per-pixel same-URL rule, when _ttp is set
   under held consent, the moment a held event's context is read) and what issue 19's tester saw the real
   SDKs do on real sites: a base code injected after the SDK has started does not replace its methods (the
   pixel keeps working, so they are not plain properties: here they ignore assignment); a failed events.js
   fires its script's error event (harness option sdkBlocked).

   What the real SDK would send to analytics.tiktok.com/api/v2/pixel is recorded instead, in the shape it
   has there, in window.__eventsStub.sent (and announced by an "events-stub-sent" event on window):
   {event, event_id, message_id, timestamp, properties, context: {ad: {callback}, user: {anonymous_id, email,
   phone_number, external_id}, pixel: {code}, page: {url, referrer}, userAgent}}.
   Settings TikTok would send down for the pixel come from window.__eventsStubSettings, e.g.
   {historyPageViews: true}. */
(function (w, d) {
  var ttq = w[w.TiktokAnalyticsObject];
  ttq._env = "stand-in";
  var script = d.currentScript;
  var code = new URL(script.src).searchParams.get("sdkid");
  var pixelQueue = (ttq._i[code] = ttq._i[code] || []);
  pixelQueue.info = { pixelCode: code, name: "stand-in", status: 0, setupMode: 0, firstPartyCookieEnabled: true };
  pixelQueue.plugins = { AdvancedMatching: { email: true, phone_number: true }, Identify: true, Callback: true };
  pixelQueue.rules = [];
  pixelQueue.options = (ttq._o && ttq._o[code]) || {};
  pixelQueue._load = +new Date();
  var sdk = w.__eventsStub || (w.__eventsStub = startSDK(w, d, ttq));
  sdk.loads.push({ src: script.src, code: code });
  sdk.load(code, pixelQueue);
})(window, document);

function startSDK(w, d, ttq) {
  var settings = w.__eventsStubSettings || {};
  var sdk = { loads: [], sent: [], held: [], consent: "none", pixels: {}, order: [], user: {} };

  function pageURL() { return location.href; }

  function cookie(name) {
    try {
      var match = d.cookie.match("(^|; )" + name + "=([^;]*)");
      return match ? match[2] : undefined;
    } catch (error) { return undefined; }
  }

  function setOnWidestDomain(pair, seconds) {
    var labels = location.hostname.split(".");
    for (var first = labels.length - 2; first >= -1; first--) {
      try { d.cookie = pair + ";path=/;max-age=" + seconds + (first < 0 ? "" : ";domain=" + labels.slice(first).join(".")); } catch (error) { return; }
      if (cookie(pair.split("=")[0]) === pair.split("=")[1]) return;
    }
  }

  function setTTP() {
    if (cookie("_ttp")) return;
    var alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", id = "";
    for (var i = 0; i < 27; i++) id += alphabet[Math.floor(Math.random() * alphabet.length)];
    setOnWidestDomain("_ttp=" + id + ".tt.1", 390 * 86400);
  }

  function readTtclid() {
    var fromQuery = location.search.match(/[?&]ttclid=([^&]*)/g);
    var value = fromQuery ? fromQuery[fromQuery.length - 1].split("=")[1]
      : (location.hash.match(/ttclid=([^&]*)/) || d.referrer.match(/[?&#]ttclid=([^&#]*)/) || [])[1];
    if (value) {
      sessionStorage.setItem("tt_adInfo", JSON.stringify({ callback: value }));
      try { d.cookie = "ttclid=" + value + ";path=/;max-age=86400"; } catch (error) {}
    }
    try { return value || JSON.parse(sessionStorage.getItem("tt_adInfo") || "{}").callback; } catch (error) { return undefined; }
  }
  var ttclid = readTtclid();

  function normalisePhone(value) {
    var digits = String(value).replace(/[^\d+]/g, "").replace(/^00/, "+");
    return digits[0] === "+" ? digits : "+" + digits;
  }
  function hashed(value, normalise) {
    var text = String(value).trim();
    return /^[a-f0-9]{64}$/.test(text.toLowerCase()) ? text.toLowerCase() : sha256(normalise(text));
  }

  function context(code) {
    var user = {};
    for (var key in sdk.user) user[key] = sdk.user[key];
    var own = sdk.pixels[code].user;
    for (key in own) user[key] = own[key];
    user.anonymous_id = cookie("_ttp");
    return { ad: { callback: ttclid }, user: user, pixel: { code: code }, page: { url: location.href, referrer: d.referrer }, userAgent: navigator.userAgent };
  }

  function send(payload) {
    sdk.sent.push(payload);
    w.dispatchEvent(new CustomEvent("events-stub-sent", { detail: payload }));
  }

  function report(code, event, properties, options) {
    var rest = {}, moved = {};
    for (var key in properties || {}) {
      if (key === "event_id" || key === "eventID" || key === "limited_data_use") moved[key] = properties[key];
      else rest[key] = properties[key];
    }
    if (typeof rest.currency === "string") rest.currency = rest.currency.toUpperCase();
    var payload = {
      event: { CompletePayment: "Purchase", SubmitForm: "Lead" }[event] || event,
      event_id: String((options && options.event_id) || moved.event_id || moved.eventID || ""),
      message_id: "messageId-" + Math.random().toString(36).slice(2),
      timestamp: new Date().toISOString(),
      properties: rest,
      context: context(code),
    };
    if (moved.limited_data_use !== undefined) payload.limited_data_use = !!moved.limited_data_use;
    if (sdk.consent === "revoked") return;
    if (sdk.consent === "held") {
      sdk.held.push(payload);
      sessionStorage.setItem("tt_hold_events", JSON.stringify(sdk.held));
      return;
    }
    send(payload);
  }

  function targets(pixelCode) { return pixelCode ? (sdk.pixels[pixelCode] ? [pixelCode] : []) : sdk.order; }

  var api = {
    page: function (properties) {
      var url = pageURL();
      sdk.order.forEach(function (code) {
        var pixel = sdk.pixels[code];
        if (pixel.lastPageURL === url) return;
        var first = pixel.lastPageURL === undefined;
        pixel.lastPageURL = url;
        report(code, "Pageview", properties, {});
        if (first) report(code, "LandingPageView", {}, {});
      });
    },
    track: function (event, properties, options) {
      targets(options && options.pixel_code).forEach(function (code) { report(code, event, properties, options); });
    },
    identify: function (data, pixelCode) {
      var user = {};
      for (var key in data || {}) {
        var value = data[key];
        if (value === undefined || value === null || value === "") continue;
        if (key === "email") user.email = hashed(value, function (text) { return text.toLowerCase(); });
        else if (key === "phone_number") user.phone_number = hashed(value, normalisePhone);
        else if (key === "sha256_email") user.email = String(value).toLowerCase();
        else if (key === "sha256_phone_number") user.phone_number = String(value).toLowerCase();
        else if (key === "external_id") user.external_id = String(value);
        else if (key === "first_name" || key === "last_name" || key === "zip_code") user[key] = hashed(value, function (text) { return text.toLowerCase(); });
        else if (key === "city" || key === "state" || key === "country") user[key] = String(value).slice(0, 80);
      }
      var into = pixelCode ? sdk.pixels[pixelCode].user : sdk.user;
      for (key in user) into[key] = user[key];
      targets(pixelCode).forEach(function (code) { report(code, "EnrichAM", {}, {}); });
    },
    holdConsent: function () { sdk.consent = "held"; },
    revokeConsent: function () {
      sdk.consent = "revoked";
      sdk.held = [];
      sessionStorage.removeItem("tt_hold_events");
    },
    grantConsent: function () {
      sdk.consent = "granted";
      setTTP();
      var held = sdk.held;
      sdk.held = [];
      sessionStorage.removeItem("tt_hold_events");
      held.forEach(function (payload) {
        // Chosen here: a held event's visitor id is read when it is sent (the cookie exists only from the grant).
        payload.context.user.anonymous_id = cookie("_ttp");
        send(payload);
      });
    },
  };

  function instance(code) {
    // Chosen here: a pixel whose events.js has not run yet keeps queueing, as the base code's instance does.
    if (!sdk.pixels[code]) {
      var queue = (ttq._i[code] = ttq._i[code] || []);
      ttq.methods.forEach(function (method) { ttq.setAndDefer(queue, method); });
      return queue;
    }
    var pixel = {};
    ttq.methods.forEach(function (method) { pixel[method] = function () {}; });
    pixel.page = function (properties) { api.page(properties); };
    pixel.track = function (event, properties, options) {
      var routed = { pixel_code: code };
      for (var key in options || {}) if (key !== "pixel_code") routed[key] = options[key];
      api.track(event, properties, routed);
    };
    pixel.identify = function (data) { api.identify(data, code); };
    pixel.holdConsent = api.holdConsent;
    pixel.revokeConsent = api.revokeConsent;
    pixel.grantConsent = api.grantConsent;
    return pixel;
  }

  function replay(entries, target) {
    entries.forEach(function (entry) {
      var method = entry[0], args = entry.slice(1);
      if (method === "page") target.page(args[0]);
      else if (typeof target[method] === "function") target[method].apply(null, args);
    });
  }

  function isCall(entry) { return Array.isArray(entry) && typeof entry[0] === "string"; }
  function isEarly(entry) { return /^(holdConsent|revokeConsent|grantConsent|identify)$/.test(entry[0]); }

  sdk.load = function (code, queue) {
    sdk.pixels[code] = { user: {} };
    sdk.order.push(code);
    if (sdk.order.length === 1) {
      var global = [].filter.call(ttq, isCall);
      ttq.length = 0;
      var held = sessionStorage.getItem("tt_hold_events");
      if (held) sdk.held = JSON.parse(held);
      replay(global.filter(isEarly), api);
      // Kept against a base code injected later, which assigns its stubs (chosen: see the header).
      ttq.methods.forEach(function (method) {
        Object.defineProperty(ttq, method, { value: api[method] || function () {}, writable: false, configurable: true });
      });
      Object.defineProperty(ttq, "instance", { value: instance, writable: false, configurable: true });
      if (sdk.consent !== "held" && sdk.consent !== "revoked") setTTP();
      replay(global.filter(function (entry) { return !isEarly(entry); }), api);
    }
    var own = [].filter.call(queue, isCall);
    queue.length = 0;
    replay(own, instance(code));
  };

  ["pushState", "replaceState"].forEach(function (method) {
    var original = history[method];
    history[method] = function () {
      var result = original.apply(this, arguments);
      setTimeout(onHistoryChange, 0);
      return result;
    };
  });
  w.addEventListener("popstate", function () { setTimeout(onHistoryChange, 0); });
  function onHistoryChange() {
    if (settings.historyPageViews) api.page();
    // For tests: the SDK's own handling of a history change is over.
    sdk.historyChanges = (sdk.historyChanges || 0) + 1;
  }

  return sdk;
}

/* SHA-256 of a string's UTF-8 bytes, as lowercase hex: the SDK hashes plain identify values synchronously. */
function sha256(text) {
  var bytes = Array.from(new TextEncoder().encode(text));
  var k = [], h = [], n = 0;
  for (var candidate = 2; n < 64; candidate++) {
    for (var divisor = 2; divisor * divisor <= candidate && candidate % divisor; divisor++);
    if (divisor * divisor > candidate) {
      if (n < 8) h[n] = (Math.pow(candidate, 1 / 2) * 4294967296) | 0;
      k[n++] = (Math.pow(candidate, 1 / 3) * 4294967296) | 0;
    }
  }
  var length = bytes.length * 8;
  bytes.push(0x80);
  while (bytes.length % 64 !== 56) bytes.push(0);
  for (var shift = 56; shift >= 0; shift -= 8) bytes.push(shift >= 32 ? Math.floor(length / Math.pow(2, shift)) & 255 : (length >>> shift) & 255);
  var rotate = function (value, bits) { return (value >>> bits) | (value << (32 - bits)); };
  for (var offset = 0; offset < bytes.length; offset += 64) {
    var words = [];
    for (var i = 0; i < 64; i++) {
      if (i < 16) words[i] = (bytes[offset + 4 * i] << 24) | (bytes[offset + 4 * i + 1] << 16) | (bytes[offset + 4 * i + 2] << 8) | bytes[offset + 4 * i + 3];
      else {
        var s0 = rotate(words[i - 15], 7) ^ rotate(words[i - 15], 18) ^ (words[i - 15] >>> 3);
        var s1 = rotate(words[i - 2], 17) ^ rotate(words[i - 2], 19) ^ (words[i - 2] >>> 10);
        words[i] = (words[i - 16] + s0 + words[i - 7] + s1) | 0;
      }
    }
    var a = h.slice();
    for (i = 0; i < 64; i++) {
      var t1 = (a[7] + (rotate(a[4], 6) ^ rotate(a[4], 11) ^ rotate(a[4], 25)) + ((a[4] & a[5]) ^ (~a[4] & a[6])) + k[i] + words[i]) | 0;
      var t2 = ((rotate(a[0], 2) ^ rotate(a[0], 13) ^ rotate(a[0], 22)) + ((a[0] & a[1]) ^ (a[0] & a[2]) ^ (a[1] & a[2]))) | 0;
      a = [(t1 + t2) | 0, a[0], a[1], a[2], (a[3] + t1) | 0, a[4], a[5], a[6]];
    }
    for (i = 0; i < 8; i++) h[i] = (h[i] + a[i]) | 0;
  }
  return h.map(function (word) { return ("00000000" + (word >>> 0).toString(16)).slice(-8); }).join("");
}
