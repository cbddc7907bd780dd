/* The stand-in for Meta's per-pixel config script (connect.facebook.net/signals/config/<ID>), loaded by
   fbevents-stub.js with ?id=<ID>: as the real one, it ends by calling fbq.instance.configLoaded(ID), which
   releases the pixel's lock (reference meta.md section 1). Until it has run, nothing is sent. */
(function () {
  var id = new URL(document.currentScript.src).searchParams.get("id");
  if (window.fbq && window.fbq.instance) window.fbq.instance.configLoaded(id);
})();
