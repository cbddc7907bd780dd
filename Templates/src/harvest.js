// Email and phone for TikTok's advanced matching, from the site's forms. Listeners on the document (capture
// phase) see every form, including those a single-page app adds later: `change` targets a field, `submit` a
// form and its fields.
//
// A field counts when its type, name or autocomplete mentions mail, or tel or phone, and never when it is a
// password, hidden or card field. Its value goes to onFields as {email} or {phone}, to be normalised and
// hashed (identity.js), which also drops what is not an address or a number.
export function watchForms(onFields) {
  const readField = (field) => {
    try {
      const description = field.type + field.name + field.autocomplete;
      const kind = !/password|hidden|cc-|card/i.test(description) && (/mail/i.test(description) ? "email" : /tel|phone/i.test(description) && "phone");
      if (kind) onFields({ [kind]: field.value });
    } catch (error) {}
  };
  for (const type of ["change", "submit"]) {
    document.addEventListener(type, (event) => [].forEach.call(event.target.elements || [event.target], readField), true);
  }
}
