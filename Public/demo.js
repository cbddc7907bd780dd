// The demo pages' own script: shows what pb.js registered and sends a couple of events through pb().
(function () {
  var codes = Object.keys((window.ttq && window.ttq._i) || {});
  document.getElementById("pixel").textContent = codes.length
    ? "TikTok pixel " + codes.join(", ") + " is registered in window.ttq._i."
    : "No TikTok pixel is registered: is the demo pixel's TikTok destination enabled?";
  function show(event) {
    var log = codes.length ? window.ttq._i[codes[0]] : [];
    var last = [].filter.call(log, function (entry) { return entry[0] === "track" && entry[1] === event; }).pop();
    document.getElementById("event").textContent = last ? event + " sent with event_id " + last[3].event_id : event + " sent";
  }
  var form = document.getElementById("lead");
  if (form) form.addEventListener("submit", function (e) {
    e.preventDefault();
    pb("track", "Lead", { description: "demo form" });
    show("Lead");
  });
  var add = document.getElementById("add");
  if (add) add.addEventListener("click", function () {
    pb("track", "AddToCart", { value: 12.5, currency: "EUR", contents: [{ content_id: "sku-1", quantity: 1 }] });
    show("AddToCart");
  });
})();
