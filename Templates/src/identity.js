// Who the visitor is, for TikTok's and Meta's matching: email, phone and external_id, normalised as each
// platform asks and hashed with SHA-256 in the browser (Web Crypto), so that only hashes leave it.

// Trimmed and lower-cased; anything that does not look like an address is dropped.
const normaliseEmail = (value) => /^\S+@\S+\.\S+$/.test((value = value.trim().toLowerCase())) && value;

// E.164: "+", the country calling code, the national number, digits only. An international number is read
// as written (a leading + or 00, a "(0)" after the country code dropped); a national number takes the
// pixel's default country (its calling code, e.g. "44") in place of its trunk prefix (0; in North America,
// calling code 1, a leading 1). Without a default country it is dropped: a wrong hash is worse than none.
// An extension (ext., x, #) is not part of the number; letters make it too short to pass.
const normalisePhone = (value, defaultCountry) => {
  value = value.replace(/(ext|x|#).*|\(0\)|[^+\d]/gi, "").replace(/^00/, "+");
  if (value[0] != "+") value = defaultCountry && "+" + defaultCountry + value.replace(defaultCountry == 1 ? /^1?(?=\d{10}$)/ : /^0/, "");
  return /^\+[1-9]\d{6,14}$/.test(value) && value;
};

// {email, phone, external_id} as given by the site or read from a form, to a promise of the SHA-256 hashes
// (hex) of the valid ones, under the names TikTok's ttq.identify and the server copy both use:
// {sha256_email, sha256_phone_number, external_id}, and, for a pixel with Meta (`meta`: its pixel ID), Meta's where its
// normalisation differs
// (../shared/reference/meta.md section 2): meta_phone, the same number in digits only, without "+";
// meta_external_id, lower-cased without whitespace (as fbevents.js and Meta's parameter builder do). An
// email is normalised alike by both, so one hash serves both. Without Web Crypto (plain http) the promise
// fails and nothing is identified.
export function hashIdentity({ email, phone, external_id }, defaultCountry, meta) {
  const hashes = {};
  const hash = (name, value) => value && crypto.subtle.digest("SHA-256", new TextEncoder().encode(value)).then((digest) => {
    hashes[name] = [...new Uint8Array(digest)].map((byte) => (byte + 256).toString(16).slice(1)).join("");
  });
  const number = phone && normalisePhone(phone + "", defaultCountry);
  return Promise.all([
    hash("sha256_email", email && normaliseEmail(email + "")),
    hash("sha256_phone_number", number),
    hash("meta_phone", meta && number && number.slice(1)),
    hash("external_id", external_id && (external_id + "").trim()),
    hash("meta_external_id", meta && external_id && (external_id + "").replace(/\s/g, "").toLowerCase()),
  ]).then(() => hashes);
}
