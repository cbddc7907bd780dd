// TikTok's base code (../shared/reference/tiktok.md, section 1): the ttq queue with its method stubs
// (setAndDefer, instance, load), and the pixel registered in ttq._i (with _u), _t and _o while pb.js runs,
// so that TikTok's Event Builder finds window.ttq._i[PIXEL_CODE] even when events.js is slow or blocked.
// events.js, inserted with sdkid and lib (a script element made by createElement is async), then reads the
// same structures.

// Loads the pixel unless the page already has it. A page with TikTok's base code keeps its ttq: the stubs are
// added only where missing. With consent (the pixel requires it), consent is held before anything else is
// asked of the pixel. Returns whether this call loaded the pixel (and so owes its page view).
export function loadTikTok(pixelCode, eventsJS) {
  const ttq = (window.ttq ||= []);
  const isNew = !ttq._i?.[pixelCode];
  window.TiktokAnalyticsObject = "ttq";
  if (!ttq.methods) {
    // TikTok's current method stubs, consent included.
    ttq.methods = "page track identify instances debug on off once ready alias group enableCookie disableCookie holdConsent revokeConsent grantConsent".split(" ");
    ttq.setAndDefer = (target, method) => (target[method] = (...args) => target.push([method, ...args]));
    const addStubs = (target) => {
      ttq.methods.forEach((method) => ttq.setAndDefer(target, method));
      return target;
    };
    ttq.instance = (code) => addStubs(ttq._i[code] || []);
    addStubs(ttq);
    ttq.load = (code, options) => {
      ((ttq._i ||= {})[code] = [])._u = eventsJS;
      (ttq._t ||= {})[code] = +new Date();
      (ttq._o ||= {})[code] = options || {};
      const script = document.createElement("script");
      script.src = eventsJS + "?sdkid=" + code + "&lib=ttq";
      document.head.append(script);
    };
  }
  if (FEATURE_CONSENT) ttq.holdConsent();
  if (isNew) ttq.load(pixelCode);
  return isNew;
}
