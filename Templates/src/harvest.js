// Email and phone for TikTok's advanced matching. Listeners on the document (capture phase) see every form,
// including those a single-page app adds later: `change` targets a field, `submit` a form and its fields.
//
// A field counts when its type, name or autocomplete mentions mail, or tel or phone, and never when it is a
// password, hidden or card field; its value must then look like an address or a phone number. Values are
// normalised (email: trimmed, lowercase; phone: + and its digits, so E.164 when the number carries its
// country code, a leading 00 read as +), hashed with SHA-256 (Web Crypto), and only the hashes are handed
// to onHash, with their kind named as TikTok's sha256_ keys are: email or phone_number. Without Web Crypto
// (plain http) nothing is.
export function watchForms(onHash) {
  const readField = (field) => {
    try {
      const description = field.type + field.name + field.autocomplete;
      const kind = /password|hidden|cc-|card/i.test(description) ? null
        : /mail/i.test(description) ? "email"
        : /tel|phone/i.test(description) ? "phone_number"
        : null;
      let value = field.value.trim().toLowerCase();
      if (kind == "phone_number") value = "+" + value.replace(/^00/, "").replace(/\D/g, "");
      if (!kind || !/^\S+@\S+\.\S+$|^\+\d{7,15}$/.test(value)) return;
      crypto.subtle.digest("SHA-256", new TextEncoder().encode(value))
        .then((digest) => onHash(kind, [...new Uint8Array(digest)].map((byte) => (byte + 256).toString(16).slice(1)).join("")))
        .catch((error) => error);
    } catch (error) {}
  };
  for (const type of ["change", "submit"]) {
    document.addEventListener(type, (event) => [].forEach.call(event.target.elements || [event.target], readField), true);
  }
}
