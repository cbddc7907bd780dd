/* A stand-in for Meta's browser pixel (connect.facebook.net/en_US/fbevents.js), for offline tests and the
   demo page: serve --fbevents-js-url http://HOST/fbevents-stub.js

   It does what ../shared/reference/meta.md says the real one does (read from 2024-2026 copies and run
   offline), section 7 above all, so that a test passes only if the real pixel would get it right:
   - without window.fbq it does nothing; otherwise it installs fbq.callMethod and replays fbq.queue in order;
   - init(ID, userData) holds the lock config:<ID> until the pixel's config script (fbevents-config.js here,
     signals/config/<ID> at Meta) calls fbq.instance.configLoaded(ID): while any lock is held every call but
     consent goes back onto fbq.queue; one pixel's missing config holds every pixel;
   - consent revoke holds the same way (nothing is sent, no config is loaded, no cookie written); grant
     releases it and what waited is sent, with its event ids;
   - calls before any init are lost (track goes to the initialised pixels, none yet);
   - track and trackCustom go to every initialised pixel, trackSingle and trackSingleCustom to the one named
     (an unknown one: nothing); the event id is read from the 4th argument (eventID or event_id, a nested
     {eventID: {eventID}} unwrapped), sent as eid; one in the custom data is only cd[eventID];
   - a PageView is sent once per pixel per page load unless fbq.allowDuplicatePageViews is set (read at each
     call); trackSingle is exempt;
   - after the first event fires, history.pushState / replaceState are wrapped and popstate listened to:
     when location.href changed, an automatic PageView without an event id of yours goes to every pixel,
     unless fbq.disablePushState was true when that first event fired (set later, it is too late); a
     back/forward-cache restore (pageshow with persisted) always sends one;
   - init user data: a 64- or 32-hex value is sent lower-cased as it is; anything else would be normalised
     and hashed by the real pixel: here it is recorded as raw (ud_raw), which tests forbid; a second init
     adds user data only to a pixel that has none;
   - _fbp: a valid one (fb.<n>.<ms>.<payload>) is adopted and sent as it is; otherwise one is written at the
     first event, on the widest domain that takes it, 90 days, not HttpOnly; _fbc from fbclid in the URL
     (case kept); both renewed at every event; none without consent or before the config;
   - set autoConfig false for a pixel (before its config) stops its automatic events: otherwise a click on a
     button sends SubscribedButtonClick (es=automatic) to it, without an event id;
   - dataProcessingOptions(['LDU'], country, state) adds dpo, dpoco, dpost to every event.
   What the real pixel would send to www.facebook.com/tr/ (one request per event per pixel) is recorded in
   window.__fbeventsStub.sent as {id, ev, eid, dl, ts, cd, ud, fbp, fbc, dpo, dpoco, dpost, tm, es} and
   announced with an "fbevents-stub-sent" event on window. */
(function (w, d) {
  var fbq = w.fbq;
  if (!fbq) return; // "Pixel code is not installed correctly"
  if (fbq.callMethod) return; // loaded already
  var script = d.currentScript;
  var configBase = script && script.src ? new URL("fbevents-config.js", script.src).href : "fbevents-config.js";
  var stub = (w.__fbeventsStub = w.__fbeventsStub || { sent: [], loads: 0 });
  stub.loads++;
  var pixels = {}; // id -> {userData, optedOut: {autoConfig}, pageViewSent}
  var order = [];
  var locks = {};
  var firstFired = false;
  var dpo = null;
  var standard = /^(AddPaymentInfo|AddToCart|AddToWishlist|CompleteRegistration|Contact|CustomizeProduct|Donate|FindLocation|InitiateCheckout|Lead|PageView|Purchase|Schedule|Search|StartTrial|SubmitApplication|Subscribe|ViewContent)$/;
  stub.warnings = stub.warnings || [];

  function locked() {
    for (var key in locks) if (locks[key]) return true;
    return false;
  }

  function isHash(value) {
    return typeof value == "string" && /^[A-Fa-f0-9]{64}$|^[A-Fa-f0-9]{32}$/.test(value);
  }

  function readCookie(name) {
    var match = d.cookie.match("(^|; )" + name + "=([^;]*)");
    return match && match[2];
  }

  function writeCookie(name, value) {
    var labels = location.hostname.split(".");
    for (var first = labels.length - 2; first >= -1; first--) {
      var domain = first < 0 ? "" : labels.slice(first).join(".");
      var index = (first < 0 ? labels.length : labels.length - first) - 1;
      var full = value.replace(/^fb\.\?\./, "fb." + index + ".");
      d.cookie = name + "=" + full + ";path=/;max-age=7776000" + (domain ? ";domain=." + domain : "");
      if (readCookie(name) == full) return full;
    }
  }

  // Section 5: adopt a valid cookie, else write one; renew both at every event.
  function cookies() {
    var fbp = readCookie("_fbp");
    if (!/^fb\.\d+\.\d+\.\d+/.test(fbp || "")) {
      fbp = writeCookie("_fbp", "fb.?." + Date.now() + "." + Math.floor(Math.random() * 999999999) + "" + Math.floor(Math.random() * 999999999));
    } else writeCookie("_fbp", fbp);
    var fbclid = (location.search.match(/[?&]fbclid=([\w.~-]{1,500})/) || [])[1];
    var fbc = readCookie("_fbc");
    if (fbclid && (!fbc || fbc.split(".").slice(3).join(".").split(".")[0] != fbclid)) fbc = writeCookie("_fbc", "fb.?." + Date.now() + "." + fbclid);
    else if (fbc) writeCookie("_fbc", fbc);
    return { fbp: fbp, fbc: fbc };
  }

  function eventIDOf(options) {
    var id = options && (options.eventID !== undefined ? options.eventID : options.event_id);
    if (id && typeof id == "object") id = id.eventID;
    return id === undefined || id === null ? undefined : String(id);
  }

  function fire(pixelID, ev, customData, options, tm, es) {
    var pixel = pixels[pixelID];
    if (!firstFired) {
      firstFired = true;
      // Read once, here: a later disablePushState is too late (section 4).
      if (!fbq.disablePushState) watchHistory();
    }
    var ids = cookies();
    var ud = {};
    var raw = {};
    for (var key in pixel.userData || {}) {
      var value = pixel.userData[key];
      if (value === undefined || value === null || value === "") continue;
      if (isHash(value)) ud[key] = value.toLowerCase();
      else raw[key] = String(value);
    }
    var request = {
      id: pixelID, ev: ev, eid: eventIDOf(options), dl: location.href, ts: Date.now(), cd: JSON.parse(JSON.stringify(customData || {})),
      ud: ud, fbp: ids.fbp, fbc: ids.fbc, tm: tm,
    };
    if (Object.keys(raw).length) request.ud_raw = raw;
    if (es) request.es = es;
    if (dpo) { request.dpo = dpo[0]; request.dpoco = dpo[1]; request.dpost = dpo[2]; }
    stub.sent.push(request);
    if (w.dispatchEvent && w.CustomEvent) w.dispatchEvent(new w.CustomEvent("fbevents-stub-sent", { detail: request }));
  }

  function track(ev, customData, options, custom) {
    var sent = false;
    for (var i = 0; i < order.length; i++) {
      var pixel = pixels[order[i]];
      if (pixel.trackSingleOnly) continue;
      if (ev == "PageView" && pixel.pageViewSent && !fbq.allowDuplicatePageViews) continue; // once per page
      if (ev == "PageView") pixel.pageViewSent = true;
      fire(order[i], ev, customData, options, custom ? 2 : 1);
      sent = true;
    }
    if (!custom && !standard.test(ev)) stub.warnings.push("NONSTANDARD_EVENT " + ev);
    return sent;
  }

  function trackSingle(id, ev, customData, options, custom) {
    id = String(id);
    if (!pixels[id]) {
      stub.warnings.push("Pixel " + id + " not found");
      return;
    }
    if (!custom && !standard.test(ev)) stub.warnings.push("NONSTANDARD_EVENT " + ev);
    fire(id, ev, customData, options, custom ? 2 : 1);
  }

  function watchHistory() {
    var last = location.href;
    var automatic = function () {
      if (location.href == last) return;
      last = location.href;
      for (var i = 0; i < order.length; i++) fire(order[i], "PageView", {}, undefined, 2, "automatic");
    };
    ["pushState", "replaceState"].forEach(function (method) {
      var original = w.history[method];
      w.history[method] = function () {
        var result = original.apply(this, arguments);
        automatic();
        return result;
      };
    });
    w.addEventListener("popstate", automatic);
  }

  function loadConfig(id) {
    var config = d.createElement("script");
    config.src = configBase + "?id=" + encodeURIComponent(id);
    config.async = true;
    d.head.append(config);
  }

  var methods = {
    init: function (id, userData) {
      id = String(id);
      if (!/^[1-9][0-9]{0,25}$/.test(id)) return stub.warnings.push("INVALID_FBQ_INIT " + id);
      if (pixels[id]) {
        // DUPLICATE_PIXEL_ID: ignored, unless the first init had no user data (section 2).
        if (!pixels[id].userData && userData) pixels[id].userData = userData;
        else stub.warnings.push("DUPLICATE_PIXEL_ID " + id);
        return;
      }
      pixels[id] = { userData: userData || null, optedOut: pixelsOptOut[id] || {} };
      order.push(id);
      locks["config:" + id] = true;
      loadConfig(id);
    },
    track: function (ev, customData, options) { track(ev, customData, options, false); },
    trackCustom: function (ev, customData, options) { track(ev, customData, options, true); },
    trackSingle: function (id, ev, customData, options) { trackSingle(id, ev, customData, options, false); },
    trackSingleCustom: function (id, ev, customData, options) { trackSingle(id, ev, customData, options, true); },
    set: function (key, value, id) {
      if (key == "autoConfig" && value === false) {
        if (id === undefined) fbq.disableAutoConfig = true;
        else (pixelsOptOut[String(id)] = pixelsOptOut[String(id)] || {}).autoConfig = true;
      }
      if (key == "trackSingleOnly" && pixels[String(id)]) pixels[String(id)].trackSingleOnly = !!value;
    },
    dataProcessingOptions: function (options, country, state) {
      // Only 1, 3 or 4 arguments are handled (2 is ignored).
      if (arguments.length == 2) return;
      dpo = options && options.length ? [options.join(","), country === undefined ? 0 : country, state === undefined ? 0 : state] : null;
    },
    consent: function (action) {
      if (action == "revoke") locks.consent = true;
      if (action == "grant") {
        delete locks.consent;
        drain();
      }
    },
  };
  var pixelsOptOut = {};

  function call(args) {
    var method = args[0];
    if (method != "consent" && locked()) {
      fbq.queue.push(args);
      return;
    }
    if (methods[method]) methods[method].apply(null, Array.prototype.slice.call(args, 1));
  }

  function drain() {
    var pending = fbq.queue.splice(0);
    for (var i = 0; i < pending.length; i++) call(pending[i]);
  }

  fbq.version = "2.9.327-stand-in";
  fbq.pendingConfigs = ["global_config"];
  fbq.instance = {
    configLoaded: function (id) {
      delete locks["config:" + id];
      drain();
    },
  };
  fbq.callMethod = function () { call(arguments); };
  if (w._fbq !== fbq) stub.warnings.push("CONFLICTING_VERSIONS");

  // Automatic events (section 8): a click on a button, for pixels that did not opt out before their config.
  d.addEventListener("click", function (event) {
    var target = event.target;
    if (!target || !/^(BUTTON|A)$/.test(target.tagName || "") || locked() || fbq.disableAutoConfig) return;
    for (var i = 0; i < order.length; i++) {
      if (!pixels[order[i]].optedOut.autoConfig) fire(order[i], "SubscribedButtonClick", { buttonText: target.textContent || "" }, undefined, 3, "automatic");
    }
  }, true);
  // Back/forward cache restore: always an automatic PageView, disablePushState or not.
  w.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;
    for (var i = 0; i < order.length; i++) fire(order[i], "PageView", {}, undefined, 2, "automatic");
  });

  drain();
})(window, document);
