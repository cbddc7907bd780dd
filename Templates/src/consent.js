// Consent, for a pixel set to consent "required": until something says otherwise, the visitor's consent is
// held: TikTok's SDK keeps the browser events (holdConsent), the server copies wait (send.js). What decides,
// strongest first:
//   3. pb("consent", "grant" | "revoke" | "hold"): the site's own word;
//   2. the IAB TCF v2 CMP (__tcfapi): purpose 1 consent given or refused (GDPR not applying counts as given);
//   1. Google Consent Mode in the dataLayer: ad_storage granted (and ad_user_data not denied) grants; an
//      update that denies revokes, while a default that denies keeps consent held for the visitor's choice.
// A weaker source never overrides a stronger one that has spoken. The CMPs' signals are read by pb-extras.js
// (consent-signals.js: at once when it comes, then every half second, as CMPs load after pb.js) until the
// site speaks itself; decide() with no state says whether to go on listening. onChange gets the new state:
// "grant" or "revoke" (or "hold"), named as TikTok's methods are (grantConsent, ...).
export function watchConsent(onChange) {
  let state = "hold";
  let strength = 0;
  const decide = (next, source) => {
    if (/^(hold|grant|revoke)$/.test(next) && source >= strength) {
      strength = source;
      if (next != state) onChange((state = next));
    }
    return strength < 3;
  };
  return { state: () => state, decide };
}

// pb-extras.js (extras.js), loaded once per page for every pixel on it that requires consent: it resolves to
// {hashIdentity, readConsentSignals}, or to nothing when it cannot load (then nothing is identified, and only
// pb("consent") decides).
export function loadExtras(api, url) {
  return (api.x ||= new Promise((resolve) => {
    api.extras = resolve;
    const script = document.createElement("script");
    script.src = url;
    script.onerror = () => resolve();
    document.head.append(script);
  }));
}
