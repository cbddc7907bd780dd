// The demo pages' own script: shows what pb.js registered, sends a couple of events through pb(), and, with
// the stand-in for TikTok's SDK that the demo loads as events.js, shows what TikTok would receive.
(function () {
  var codes = Object.keys((window.ttq && window.ttq._i) || {});
  document.getElementById("pixel").textContent = codes.length
    ? "TikTok pixel " + codes.join(", ") + " is registered in window.ttq._i."
    : "No TikTok pixel is registered: is the demo pixel's TikTok destination enabled?";
  function show(payload) {
    if (payload.event === "EnrichAM" || payload.event === "LandingPageView") return;
    document.getElementById("event").textContent = payload.event + " sent to TikTok with event_id " + payload.event_id;
  }
  var sent = (window.__eventsStub && window.__eventsStub.sent) || [];
  if (sent.length) show(sent[sent.length - 1]);
  addEventListener("events-stub-sent", function (event) { show(event.detail); });
  var form = document.getElementById("lead");
  if (form) form.addEventListener("submit", function (event) {
    event.preventDefault();
    pb("track", "Lead", { description: "demo form" });
  });
  var add = document.getElementById("add");
  if (add) add.addEventListener("click", function () {
    pb("track", "AddToCart", { value: 12.5, currency: "EUR", contents: [{ content_id: "sku-1", quantity: 1 }] });
  });
  var step = document.getElementById("spa");
  if (step) step.addEventListener("click", function (event) {
    event.preventDefault();
    history.pushState({}, "", step.href);
    document.getElementById("route").textContent = "This is " + location.pathname + ", reached without reloading: a page view of its own.";
  });
})();
