// pb-extras.js: what every pixel loads after pb.js, asynchronously, from the edge: the readers of the
// consent signals sites have (consent-signals.js), the hashing of identities (identity.js), the first-party
// cookies (first-party.js) and the mapping of events to Meta's words (meta-events.js). Nothing leaves the page before the visitor's consent, so neither is needed on the critical
// path, and pb.js stays within its budget without them. One script for every pixel, served and cached like a
// bundle (GET /pb-extras.js); `Templates/build` makes Templates/pb-extras.js.mustache from it.

import { hashIdentity } from "./identity.js";
import { watchConsentSignals } from "./consent-signals.js";
import { watchForms } from "./harvest.js";
import { metaEvent } from "./meta-events.js";
import { storeIdentifiers } from "./first-party.js";

// Typed email and phone fields identify the visitor to every pixel on the page.
watchForms((fields) => window.pb?.("identify", fields));
window.pb?.extras?.({ hashIdentity, watchConsentSignals, metaEvent, storeIdentifiers });
