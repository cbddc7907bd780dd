/* A stand-in for TikTok's events.js, for offline tests (serve --events-js-url http://HOST/events-stub.js).
   It records what the real script would receive: the query it was loaded with and the ttq queue. */
(function (w) {
  var ttq = w[w.TiktokAnalyticsObject || "ttq"];
  var script = document.currentScript;
  w.__eventsStub = { src: script && script.src, queued: ttq ? ttq.slice() : [], pixels: ttq && ttq._i ? Object.keys(ttq._i) : [] };
})(window);
