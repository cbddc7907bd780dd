// The consent signals sites already have, read for consent.js (which decides what they weigh): the IAB TCF v2
// API and Google Consent Mode. Part of pb-extras.js, which every pixel loads after pb.js.

// Callbacks the TCF API already calls: one listener per pixel's decide, registered once.
const listening = new WeakSet();

// Tells decide(state, strength) what the signals say now: TCF with strength 2 ("grant" for purpose 1
// consent or GDPR not applying, "revoke" when refused), Google Consent Mode with strength 1 ("grant" when
// ad_storage is granted and ad_user_data not denied, "revoke" when an update denies; a default that denies
// says nothing: the visitor has not chosen yet).
export function readConsentSignals(decide) {
  try {
    if (window.__tcfapi && !listening.has(decide)) {
      listening.add(decide);
      __tcfapi("addEventListener", 2, (data, success) => {
        const applies = data.gdprApplies !== false;
        if (success && (!applies || /loaded|complete/.test(data.eventStatus))) decide(!applies || data.purpose.consents[1] ? "grant" : "revoke", 2);
      });
    }
    const google = {};
    let updated;
    for (const entry of window.dataLayer || []) {
      if (entry?.[0] == "consent") {
        Object.assign(google, entry[2]);
        updated ||= entry[1] == "update";
      }
    }
    if (google.ad_storage) decide(google.ad_storage == "granted" && google.ad_user_data != "denied" ? "grant" : updated && "revoke", 1);
  } catch (error) {}
}

// Reads the signals for a pixel's decide at once, then every half second while decide() says to go on (until
// the site has spoken through pb("consent")).
export function watchConsentSignals(decide) {
  readConsentSignals(decide);
  const timer = setInterval(() => (decide() ? readConsentSignals(decide) : clearInterval(timer)), 500);
}
