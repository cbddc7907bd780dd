// The operator console: one page over PixelEdge's admin API (README, "The operator console").
// No framework and no build step. The DOM is built with textContent only, so nothing from a pixel's
// configuration or an event is ever read as HTML; the page's Content-Security-Policy allows no inline code.
"use strict";

const TOKEN_KEY = "pixeledge.adminToken";
const LIST_REFRESH_MS = 5000;
const EVENTS_REFRESH_MS = 2000;
const CHECK_DELAY_MS = 250;
/// The share below which the meter shows a key as low (the server's hints use the same, MatchQualityHint).
const LOW_SHARE = 0.5;

const $ = (id) => document.getElementById(id);

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// ---- The admin API

class Unauthorized extends Error {}

class APIError extends Error {
  constructor(message, field) {
    super(message);
    this.field = field;
  }
}

async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY) ?? ""}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(`/admin/${path}`, {
      method, headers, cache: "no-store", body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    throw new Error(`Cannot reach PixelEdge: ${error.message}`);
  }
  if (response.status === 401) throw new Unauthorized("The admin token was refused.");
  if (response.status === 204) return null;
  const answer = await response.json().catch(() => null);
  if (!response.ok) throw new APIError(answer?.error?.message ?? `HTTP ${response.status}`, answer?.error?.field);
  return answer;
}

const pixelPath = (id, rest = "") => `pixels/${encodeURIComponent(id)}${rest}`;

// ---- Views, the banner and polling

const VIEWS = ["login", "pixels", "editor", "detail"];
let stopPolling = () => {};

function show(view) {
  stopPolling();
  for (const name of VIEWS) $(name).hidden = name !== view;
  $("logout").hidden = view === "login";
  window.scrollTo(0, 0);
}

function banner(message) {
  $("banner").textContent = message ?? "";
  $("banner").hidden = !message;
}

/// Runs `task` (now, unless `now` is false) and every `interval` while the tab is visible, one run at a
/// time, until the view changes.
function poll(interval, task, now = true) {
  let timer;
  let stopped = false;
  const run = async () => {
    if (!document.hidden) await task().catch(failed);
    if (!stopped) timer = setTimeout(run, interval);
  };
  if (now) run();
  else timer = setTimeout(run, interval);
  stopPolling = () => {
    stopped = true;
    clearTimeout(timer);
  };
}

function failed(error) {
  if (error instanceof Unauthorized) {
    logOut("The admin token was refused: enter it again.");
  } else {
    banner(error.message);
  }
}

// ---- Logging in

function logOut(message = "") {
  sessionStorage.removeItem(TOKEN_KEY);
  show("login");
  $("login-error").textContent = message;
  $("login-token").value = "";
  $("login-token").focus();
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $("login-token").value.trim());
  try {
    await openList();
  } catch (error) {
    sessionStorage.removeItem(TOKEN_KEY);
    $("login-error").textContent = error instanceof Unauthorized
      ? "Wrong admin token: it is the server's PIXELEDGE_ADMIN_TOKEN."
      : error.message;
  }
});

$("logout").addEventListener("click", () => logOut());

// ---- Pixels as cards

/// Red: a person must change the pixel (its events wait, paused); orange: the platform asked to wait (events
/// are retried); red too when it cannot be reached at all.
const STATUS_COLOURS = {
  ok: "green",
  invalid_pixel_code: "red", invalid_access_token: "red", access_token_expired: "red", access_token_missing: "red", no_permission: "red",
  rate_limited: "orange", maintenance: "orange", tiktok_error: "orange", meta_error: "orange", unexpected_answer: "orange",
  unreachable: "red",
};
/// The worst of colours, for a card with several destinations.
const worst = (colours) => ["red", "orange", "grey", "green"].find((colour) => colours.includes(colour)) ?? "grey";

/// Meta's part of a card: its colour and what it says, as for TikTok.
function metaState(meta) {
  if (!meta.accessToken) {
    return ["grey", "No Conversions API token yet: Meta gets browser events only. Add the access token to send the server-side copies."];
  }
  if (meta.status && meta.explanation) {
    const disabled = meta.enabled ? "" : " Meta is disabled, though: the site loads no Meta code.";
    return [STATUS_COLOURS[meta.status] ?? "grey", meta.explanation + disabled];
  }
  return ["grey", "Not verified yet: press Test Meta to ask Meta whether it accepts the pixel ID and token."];
}

/// A card's colour and what it says, from the pixel's configuration and TikTok's last answer.
function cardState(pixel) {
  const tiktok = pixel.tiktok;
  if (!tiktok) return ["grey", pixel.meta ? "No TikTok destination." : "No TikTok destination: edit the pixel to add its Pixel Code and access token."];
  if (!tiktok.accessToken) {
    return ["grey", "No access token yet: TikTok gets browser events only. Add the Events API access token to send the server-side copies."];
  }
  // A status TikTok gave comes with the server's own words for it (the same as `pixels show`).
  if (tiktok.status && tiktok.explanation) {
    const disabled = tiktok.enabled ? "" : " TikTok is disabled, though: the site loads no TikTok code.";
    return [STATUS_COLOURS[tiktok.status] ?? "grey", tiktok.explanation + disabled];
  }
  return ["grey", "Not verified yet: press Test to ask TikTok whether it accepts the Pixel Code and token."];
}

function renderCard(pixel) {
  const card = $("card-template").content.firstElementChild.cloneNode(true);
  const [tiktokColour, status] = cardState(pixel);
  const tiktok = pixel.tiktok;
  const meta = pixel.meta;
  // The card takes the worst colour of the destinations the pixel has.
  const metaColour = meta && metaState(meta)[0];
  const colour = meta ? worst(tiktok ? [tiktokColour, metaColour] : [metaColour]) : tiktokColour;
  card.classList.add(colour);
  card.dataset.pixel = pixel.id;
  card.dataset.state = colour;
  card.querySelector(".card-title").textContent = pixel.id;
  card.querySelector(".test-mode").hidden = !tiktok?.testEventCode;
  card.querySelector(".test-mode").title = tiktok?.testEventCode
    ? `Server events carry the Test Event Code ${tiktok.testEventCode}: they show in Events Manager > Test Events only. Remove it to go live.`
    : "";
  card.querySelector(".card-destination").textContent = tiktok
    ? `TikTok ${tiktok.pixelCode} · token ${tiktok.accessToken ?? "none"}${tiktok.enabled ? "" : " · disabled"}`
    : "No TikTok destination";
  card.querySelector(".card-status").textContent = status;
  card.querySelector(".test").hidden = !tiktok?.accessToken;
  if (meta) {
    const [, metaStatus] = metaState(meta);
    const part = card.querySelector(".card-meta");
    part.hidden = false;
    part.classList.add(metaColour);
    part.querySelector(".meta-name").textContent = `Meta ${meta.pixelID} · token ${meta.accessToken ?? "none"}${meta.enabled ? "" : " · disabled"}`;
    part.querySelector(".meta-status").textContent = metaStatus;
    part.querySelector(".meta-test-mode").hidden = !meta.testEventCode;
    part.querySelector(".meta-test-mode").title = meta.testEventCode
      ? `Server events carry Meta's Test Event Code ${meta.testEventCode}: they show in Events Manager > Test events only. Remove it to go live.`
      : "";
    const test = card.querySelector(".test-meta");
    test.hidden = !meta.accessToken;
    test.addEventListener("click", (event) => testPixel(pixel.id, event.currentTarget, "meta"));
  }
  card.querySelector(".open").addEventListener("click", () => openDetail(pixel.id));
  card.querySelector(".edit").addEventListener("click", () => openEditor(pixel));
  card.querySelector(".test").addEventListener("click", (event) => testPixel(pixel.id, event.currentTarget));
  const confirm = card.querySelector(".confirm");
  card.querySelector(".confirm-text").textContent = `Delete pixel ${pixel.id}? Sites with its tag get a 404 for pb.js from now on.`;
  card.querySelector(".delete").addEventListener("click", () => { confirm.hidden = false; });
  card.querySelector(".confirm-cancel").addEventListener("click", () => { confirm.hidden = true; });
  card.querySelector(".confirm-delete").addEventListener("click", () => deletePixel(pixel.id));
  return card;
}

/// How many pixels the list shows: a page, and one more for each "Show more". The API pages the list
/// (at most 1,000 a request) so that a console over 100,000 pixels never reads them all.
const PAGE_SIZE = 100;
let shownPixels = PAGE_SIZE;

async function loadPixels() {
  const search = $("search").value.trim();
  const pixels = [];
  let after = null;
  do {
    const query = new URLSearchParams({ limit: String(Math.min(1000, shownPixels - pixels.length)) });
    if (search) query.set("q", search);
    if (after) query.set("after", after);
    const page = await api("GET", `pixels?${query}`);
    pixels.push(...page.pixels);
    after = page.next;
  } while (after && pixels.length < shownPixels);
  $("cards").replaceChildren(...pixels.map(renderCard));
  $("no-pixels").hidden = pixels.length > 0 || Boolean(search);
  $("no-match").hidden = pixels.length > 0 || !search;
  $("no-match").textContent = `No pixel's id or Pixel Code contains “${search}”.`;
  $("more-pixels").hidden = !after;
  banner("");
}

let searchTimer;
$("search").addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => {
    shownPixels = PAGE_SIZE;
    loadPixels().catch(failed);
  }, CHECK_DELAY_MS);
});

$("more-pixels").addEventListener("click", () => {
  shownPixels += PAGE_SIZE;
  loadPixels().catch(failed);
});

async function openList() {
  await loadPixels();
  show("pixels");
  poll(LIST_REFRESH_MS, loadPixels, false);
}

async function testPixel(id, button, destination = "tiktok") {
  const label = button.textContent;
  button.disabled = true;
  button.textContent = destination === "meta" ? "Asking Meta…" : "Asking TikTok…";
  try {
    await api("POST", pixelPath(id, `/test?destination=${destination}`));
    await loadPixels();
  } catch (error) {
    failed(error);
    button.disabled = false;
    button.textContent = label;
  }
}

async function deletePixel(id) {
  try {
    await api("DELETE", pixelPath(id));
    await loadPixels();
  } catch (error) {
    failed(error);
  }
}

$("new-pixel").addEventListener("click", () => openEditor(null));

// ---- Creating and editing a pixel

let editing = null;
let checkTimer;
let checkSequence = 0;
const form = $("pixel-form");

function openEditor(pixel) {
  editing = pixel;
  form.reset();
  const tiktok = pixel?.tiktok;
  $("editor-title").textContent = pixel ? `Edit ${pixel.id}` : "New pixel";
  $("field-id").hidden = Boolean(pixel);
  $("f-id").value = "";
  $("f-pixel-code").value = tiktok?.pixelCode ?? "";
  $("f-test-event-code").value = tiktok?.testEventCode ?? "";
  $("f-enabled").checked = tiktok?.enabled ?? true;
  $("f-spa").checked = pixel?.spaPageViews ?? true;
  $("f-consent").value = pixel?.consent ?? "none";
  $("f-phone-country").value = pixel?.defaultPhoneCountry ?? "";
  $("f-ldu").checked = pixel?.limitedDataUse ?? false;
  $("f-access-token").placeholder = tiktok?.accessToken ? `${tiktok.accessToken} (stored: leave empty to keep it)` : "";
  $("remove-token-label").hidden = !tiktok?.accessToken;
  const meta = pixel?.meta;
  $("f-meta-pixel-id").value = meta?.pixelID ?? "";
  $("f-meta-test-event-code").value = meta?.testEventCode ?? "";
  $("f-meta-enabled").checked = meta?.enabled ?? true;
  $("f-meta-automatic").checked = meta?.automaticEvents ?? false;
  $("f-meta-access-token").placeholder = meta?.accessToken ? `${meta.accessToken} (stored: leave empty to keep it)` : "";
  $("remove-meta-token-label").hidden = !meta?.accessToken;
  showMessages({ errors: [], warnings: [] });
  $("save").textContent = "Save";
  show("editor");
  (pixel ? $("f-pixel-code") : $("f-id")).focus();
}

/// The PUT body the form stands for. Values go as typed: the server trims them and says so.
function formBody() {
  const code = $("f-pixel-code").value;
  const token = $("f-access-token").value;
  const testEventCode = $("f-test-event-code").value;
  const body = { spaPageViews: $("f-spa").checked, consent: $("f-consent").value, limitedDataUse: $("f-ldu").checked };
  if ($("f-phone-country").value.trim()) body.defaultPhoneCountry = $("f-phone-country").value;
  if (code.trim() || token || testEventCode.trim()) {
    body.tiktok = { pixelCode: code, enabled: $("f-enabled").checked };
    if (token) body.tiktok.accessToken = token;
    else if ($("f-remove-token").checked) body.tiktok.accessToken = null;
    if (testEventCode.trim()) body.tiktok.testEventCode = testEventCode;
  } else {
    body.tiktok = null;
  }
  const metaID = $("f-meta-pixel-id").value;
  const metaToken = $("f-meta-access-token").value;
  const metaTestEventCode = $("f-meta-test-event-code").value;
  if (metaID.trim() || metaToken || metaTestEventCode.trim()) {
    body.meta = { pixelID: metaID, enabled: $("f-meta-enabled").checked, automaticEvents: $("f-meta-automatic").checked };
    if (metaToken) body.meta.accessToken = metaToken;
    else if ($("f-remove-meta-token").checked) body.meta.accessToken = null;
    if (metaTestEventCode.trim()) body.meta.testEventCode = metaTestEventCode;
  } else {
    body.meta = null;
  }
  return body;
}

const formID = () => (editing ? editing.id : $("f-id").value);

/// Shows each message beside its field (one not tied to a field below the form); Save waits for no error.
function showMessages({ errors, warnings }) {
  for (const node of form.querySelectorAll(".message")) {
    node.textContent = "";
    node.className = "message";
  }
  for (const input of form.querySelectorAll("input")) input.removeAttribute("aria-invalid");
  const place = (field) => form.querySelector(`.message[data-for="${CSS.escape(field)}"]`) ?? form.querySelector('.message[data-for="body"]');
  for (const [items, kind] of [[errors, "error"], [warnings, "warning"]]) {
    for (const { field, message } of items) {
      const node = place(field);
      if (node.classList.contains("error")) continue;
      node.textContent = node.textContent ? `${node.textContent} ${message}` : message;
      node.classList.add(kind);
      if (kind === "error") node.closest(".field")?.querySelector("input")?.setAttribute("aria-invalid", "true");
    }
  }
  $("save").disabled = errors.length > 0;
}

/// Asks the server what a save would say, a moment after the last keystroke; a late answer to an older
/// question is dropped.
function scheduleCheck() {
  clearTimeout(checkTimer);
  checkTimer = setTimeout(async () => {
    const sequence = ++checkSequence;
    if (!formID().trim()) {
      showMessages({ errors: [{ field: "id", message: "A pixel id is needed: it names the tag's URL, /p/id/pb.js." }], warnings: [] });
      return;
    }
    try {
      const check = await api("POST", pixelPath(formID(), "/validate"), formBody());
      if (sequence === checkSequence) showMessages(check);
    } catch (error) {
      failed(error);
    }
  }, CHECK_DELAY_MS);
}

form.addEventListener("input", scheduleCheck);
form.addEventListener("change", scheduleCheck);

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearTimeout(checkTimer);
  checkSequence++;
  $("save").disabled = true;
  $("save").textContent = "Saving, asking the platforms…";
  try {
    await api("PUT", pixelPath(formID()), formBody());
    await openList();
  } catch (error) {
    $("save").textContent = "Save";
    if (error instanceof APIError) {
      showMessages({ errors: [{ field: error.field ?? "body", message: error.message }], warnings: [] });
    } else {
      $("save").disabled = false;
      failed(error);
    }
  }
});

$("cancel").addEventListener("click", () => openList().catch(failed));

// ---- A pixel's install snippet, match keys and recent events

const KEY_NAMES = {
  email: "email", phone: "phone", external_id: "external_id", ttclid: "ttclid", ttp: "ttp (_ttp cookie)", ip: "IP address", user_agent: "user agent",
  fbp: "fbp (_fbp cookie)", fbc: "fbc (_fbc cookie, an ad click)",
};
const DESTINATION_NAMES = { tiktok: "TikTok", meta: "Meta" };

function stateText(event) {
  switch (event.state) {
    case "sent": return `sent · ${event.destination === "meta" ? "fbtrace_id" : "request_id"} ${event.requestId ?? "none"}`;
    case "failed": return `failed · ${event.errorCode == null ? "" : `${event.errorCode}: `}${event.errorMessage ?? ""}`;
    case "expired": return "expired · not delivered within the maximum event age";
    default: return event.errorMessage ? `queued · retrying after: ${event.errorMessage}` : "queued";
  }
}

function renderEvents(answer) {
  const { coverage, events } = answer;
  // The server's --public-url when set: the console may be opened at an address sites do not use.
  const scriptURL = answer.scriptURL ?? `${location.origin}/p/${encodeURIComponent(answer.pixel)}/pb.js`;
  $("snippet").textContent = `<script src="${scriptURL}"></script>`;
  $("coverage-summary").textContent = coverage.events
    ? `${coverage.events} server-side event${coverage.events === 1 ? "" : "s"} since ${new Date(coverage.since).toLocaleString()}.`
    : "No server-side event in the last 24 hours.";
  // A key is flagged low when a hint is about it: external_id, say, is optional and flagged never.
  const hinted = new Set(coverage.hints.flatMap((hint) => hint.keys));
  $("coverage").querySelector("tbody").replaceChildren(...coverage.keys.map(({ key, events: count, share, destinations }) => {
    const row = element("tr", hinted.has(key) ? "low" : "");
    row.dataset.key = key;
    const meter = element("meter");
    meter.min = 0;
    meter.max = 1;
    meter.low = LOW_SHARE;
    meter.optimum = 1;
    meter.value = share;
    const shareCell = element("td", "share");
    shareCell.append(meter, element("span", "", `${Math.round(share * 100)}%`));
    const sentTo = element("td", "", destinations.map((destination) => DESTINATION_NAMES[destination] ?? destination).join(", "));
    row.append(element("td", "", KEY_NAMES[key] ?? key), sentTo, element("td", "", String(count)), shareCell);
    return row;
  }));
  $("hints").replaceChildren(...coverage.hints.map((hint) => element("li", "", hint.message)));
  // The install check: what pb.js saw of the pages (TikTok's SDK blocked, another base code on the site).
  const { install } = answer;
  $("install-summary").textContent = install.pageViews
    ? `${install.pageViews} page view${install.pageViews === 1 ? "" : "s"} seen by pb.js since ${new Date(coverage.since).toLocaleString()}`
      + (install.findings.length ? "." : ": TikTok's pixel loaded, and no other TikTok base code was found.")
    : "No page view seen in the last 24 hours.";
  $("install").replaceChildren(...install.findings.map((finding) => {
    const item = element("li", "", finding.message);
    item.dataset.check = finding.keys[0];
    return item;
  }));
  $("events").querySelector("tbody").replaceChildren(...events.map((event) => {
    const row = element("tr");
    row.dataset.eventId = event.eventId;
    row.dataset.destination = event.destination;
    const keys = element("td");
    const chips = element("span", "keys");
    chips.append(...event.matchKeys.map((key) => element("span", "key", key)));
    keys.append(chips);
    row.append(
      element("td", "", new Date(event.receivedAt).toLocaleTimeString()),
      element("td", "destination", DESTINATION_NAMES[event.destination] ?? event.destination),
      element("td", "", event.event),
      element("td", "", event.eventId),
      keys,
      element("td", `state-${event.state}`, stateText(event)),
    );
    return row;
  }));
  $("no-events").hidden = events.length > 0;
  banner("");
}

/// One card per destination on the pixel's page: its status in the server's words, its Test-mode badge, its
/// event counts.
function renderDestinations(pixel) {
  const parts = [];
  if (pixel.tiktok) parts.push(["tiktok", `TikTok ${pixel.tiktok.pixelCode}`, pixel.tiktok, cardState(pixel)]);
  if (pixel.meta) parts.push(["meta", `Meta ${pixel.meta.pixelID}`, pixel.meta, metaState(pixel.meta)]);
  $("destinations").replaceChildren(...parts.map(([destination, title, part, [colour, status]]) => {
    const item = element("li", colour);
    item.dataset.destination = destination;
    const head = element("p", "name", title);
    if (part.testEventCode) head.append(" ", element("span", "badge test-mode", "Test mode"));
    const counts = part.events
      ? `${part.events.queued} queued · ${part.events.sent} sent · ${part.events.failed} failed · ${part.events.expired} expired`
      : "";
    item.append(head, element("p", "status", status), element("p", "hint", counts));
    return item;
  }));
  if (!parts.length) $("destinations").append(element("li", "grey", "No destination: edit the pixel to add TikTok or Meta."));
}

function openDetail(id) {
  $("detail-title").textContent = id;
  $("snippet").textContent = "";
  $("copy-status").textContent = "";
  for (const table of ["coverage", "events"]) $(table).querySelector("tbody").replaceChildren();
  $("hints").replaceChildren();
  $("install").replaceChildren();
  $("destinations").replaceChildren();
  show("detail");
  poll(EVENTS_REFRESH_MS, async () => {
    const [pixel, events] = await Promise.all([api("GET", pixelPath(id)), api("GET", pixelPath(id, "/events"))]);
    renderDestinations(pixel);
    renderEvents(events);
  });
}

$("copy-snippet").addEventListener("click", async () => {
  try {
    await navigator.clipboard.writeText($("snippet").textContent);
    $("copy-status").textContent = "Copied: paste it at the top of the site's <head>.";
  } catch {
    // Without clipboard access (a page not served over HTTPS, say), select it for Ctrl+C.
    getSelection().selectAllChildren($("snippet"));
    $("copy-status").textContent = "Selected: press Ctrl+C (⌘C on a Mac) to copy it.";
  }
});

$("detail-close").addEventListener("click", () => openList().catch(failed));

// ---- Start

if (sessionStorage.getItem(TOKEN_KEY)) {
  openList().catch(failed);
} else {
  logOut();
}
