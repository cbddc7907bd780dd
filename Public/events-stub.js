/* A stand-in for TikTok's events.js, for offline tests and the demo page:
   serve --events-js-url http://HOST/events-stub.js
   Like the real script it finds the queue pb.js left in ttq._i[CODE]. Instead of sending anything it keeps a
   log: every call made before it loaded stays in ttq._i[CODE], and every later call through ttq.instance(CODE)
   is appended there too, so a test (or the demo page) can read what the pixel received, in order. */
(function (w) {
  var ttq = w[w.TiktokAnalyticsObject || "ttq"];
  if (!ttq || !ttq._i) return;
  var script = document.currentScript;
  var code = script && new URL(script.src).searchParams.get("sdkid");
  var stub = (w.__eventsStub = w.__eventsStub || { loads: [] });
  stub.loads.push({ src: script && script.src, code: code });
  var instance = ttq.instance;
  ttq.instance = function (pixel) {
    var log = ttq._i[pixel];
    if (!log) return instance.call(ttq, pixel);
    var recorder = {};
    ttq.methods.forEach(function (method) {
      recorder[method] = function () { log.push([method].concat([].slice.call(arguments))); };
    });
    return recorder;
  };
  w.dispatchEvent(new CustomEvent("events-stub-loaded", { detail: code }));
})(window);
