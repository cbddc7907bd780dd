// Consent, for a pixel set to consent "required": until something says otherwise, the visitor's consent is
// held: TikTok's SDK keeps the browser events (holdConsent), the server copies wait (send.js). What decides,
// strongest first:
//   3. pb("consent", "grant" | "revoke" | "hold"): the site's own word;
//   2. the IAB TCF v2 CMP (__tcfapi): purpose 1 consent given or refused (GDPR not applying counts as given);
//   1. Google Consent Mode in the dataLayer: ad_storage granted (and ad_user_data not denied) grants; an
//      update that denies revokes, while a default that denies keeps consent held for the visitor's choice.
// A weaker source never overrides a stronger one that has spoken. The signals are read at once and then every
// half second (CMPs load after pb.js), until the site speaks itself. onChange gets the new state: "grant" or
// "revoke" (or "hold"), named as TikTok's methods are (grantConsent, ...).
export function watchConsent(onChange) {
  let state = "hold";
  let strength = 0;
  let listening;
  const decide = (next, source) => {
    if (/^(hold|grant|revoke)$/.test(next) && source >= strength) {
      strength = source;
      if (next != state) onChange((state = next));
    }
  };
  const readSignals = () => {
    try {
      listening ||= !!window.__tcfapi && !__tcfapi("addEventListener", 2, (data, success) => {
        const applies = data.gdprApplies !== false;
        if (success && (!applies || /loaded|complete/.test(data.eventStatus))) decide(!applies || data.purpose.consents[1] ? "grant" : "revoke", 2);
      });
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
  };
  readSignals();
  const timer = setInterval(() => (strength < 3 ? readSignals() : clearInterval(timer)), 500);
  return { state: () => state, decide: (next) => decide(next, 3) };
}
