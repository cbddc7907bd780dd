// Test harness for the rendered pb.js: a real `pixel-edge serve` renders the bundles, and each test runs one
// in a small fake window/document (node:vm) that records what the bundle does: scripts it inserts, cookies
// it sets, beacons it sends. TikTok's side is the stand-in for its SDK (Public/events-stub.js, which behaves
// as ../shared/reference/tiktok.md section 6 says the real one does): tests read what it would send to
// TikTok, not the calls pb.js made.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, existsSync, rmSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import vm from "node:vm";
import { webcrypto } from "node:crypto";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const binary = process.env.PIXEL_EDGE_BINARY || join(root, ".build/debug/pixel-edge");
export const CODE = "C4ABCDEFGHIJKLMNOPQR";
export const OTHER_CODE = "C4ZZZZZZZZZZZZZZZZZZ";
export const EVENTS_JS = "https://events.example/events.js";
export const FBEVENTS_JS = "https://connect.example/en_US/fbevents.js";
export const META_ID = "1234567890123456";
export const OTHER_META_ID = "6543210987654321";

/** Starts `pixel-edge serve` on a free port with the given pixels; returns {base, stop}. */
export async function startServer({ pixels, collectURL = "/collect", eventsJS = EVENTS_JS, fbeventsJS = FBEVENTS_JS } = {}) {
  if (!existsSync(binary)) {
    throw new Error(`pixel-edge is not built at ${binary}: run \`swift build\` first or set PIXEL_EDGE_BINARY`);
  }
  const dir = mkdtempSync(join(tmpdir(), "pb-js-tests-"));
  const database = join(dir, "pixels.sqlite");
  for (const [id, args] of Object.entries(pixels)) {
    execFileSync(binary, ["pixels", "set", id, ...args, "--database", database], { stdio: "pipe" });
  }
  const args = ["serve", "--port", "0", "--database", database, "--templates", join(root, "Templates"),
    "--public", join(root, "Public"), "--events-js-url", eventsJS, "--fbevents-js-url", fbeventsJS];
  if (collectURL) args.push("--collect-url", collectURL);
  const child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
  const base = await new Promise((resolvePort, reject) => {
    let output = "";
    const onData = (chunk) => {
      output += chunk;
      const match = output.match(/PixelEdge listening on (http:\/\/[\d.]+:\d+)/);
      if (match) resolvePort(match[1]);
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code) => reject(new Error(`pixel-edge serve exited with ${code}: ${output}`)));
  });
  const extras = await fetch(`${base}/pb-extras.js`);
  if (extras.status !== 200) throw new Error(`GET /pb-extras.js answered ${extras.status}`);
  extrasSource = await extras.text();
  return {
    base,
    async bundle(id) {
      const response = await fetch(`${base}/p/${id}/pb.js`);
      if (response.status !== 200) throw new Error(`GET /p/${id}/pb.js answered ${response.status}`);
      return response.text();
    },
    stop() {
      child.kill("SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A cookie jar with the rules pb.js depends on: Domain must domain-match and not be a public suffix,
 *  Secure needs https, Max-Age <= 0 deletes. */
class CookieJar {
  constructor(publicSuffixes = ["com", "uk", "co.uk", "test", "example"]) {
    this.cookies = new Map(); // name -> {value, domain, hostOnly, attributes}
    this.publicSuffixes = publicSuffixes;
    this.writes = [];
  }
  set(string, location) {
    this.writes.push(string);
    const [pair, ...attributes] = string.split(";").map((part) => part.trim());
    const eq = pair.indexOf("=");
    const name = pair.slice(0, eq), value = pair.slice(eq + 1);
    const attrs = Object.fromEntries(attributes.map((a) => {
      const i = a.indexOf("=");
      return i < 0 ? [a.toLowerCase(), true] : [a.slice(0, i).toLowerCase(), a.slice(i + 1)];
    }));
    const host = location.hostname;
    let domain = host, hostOnly = true;
    if (attrs.domain) {
      domain = attrs.domain.replace(/^\./, "");
      if (this.publicSuffixes.includes(domain)) return;
      if (host !== domain && !host.endsWith("." + domain)) return;
      hostOnly = false;
    }
    if (attrs.secure && location.protocol !== "https:") return;
    if (attrs["max-age"] !== undefined && Number(attrs["max-age"]) <= 0) {
      this.cookies.delete(name);
      return;
    }
    this.cookies.set(name, { value, domain, hostOnly, attrs });
  }
  get() {
    return [...this.cookies].map(([name, c]) => `${name}=${c.value}`).join("; ");
  }
}

/** Timers the test drives: nothing runs until `advance` says that much time has passed, so a test never waits
 *  on the clock. */
class FakeTimers {
  constructor() {
    this.now = 0;
    this.pending = [];
    this.nextID = 1;
  }
  set(callback, delay = 0, repeat = false) {
    const id = this.nextID++;
    this.pending.push({ id, at: this.now + Math.max(0, delay), delay, repeat, callback });
    return id;
  }
  clear(id) { this.pending = this.pending.filter((timer) => timer.id !== id); }
  /** Runs, in order, every timer due within `ms` from now (0: those due now). */
  advance(ms) {
    const end = this.now + ms;
    for (;;) {
      const due = this.pending.filter((timer) => timer.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.now = due.at;
      if (due.repeat) due.at += Math.max(1, due.delay);
      else this.clear(due.id);
      due.callback();
    }
    this.now = end;
  }
}

/** A minimal sessionStorage. */
class MemoryStorage {
  constructor() { this.items = new Map(); }
  getItem(key) { return this.items.has(key) ? this.items.get(key) : null; }
  setItem(key, value) { this.items.set(key, String(value)); }
  removeItem(key) { this.items.delete(key); }
}

export const EVENTS_STUB = readFileSync(join(root, "Public/events-stub.js"), "utf8");
export const FBEVENTS_STUB = readFileSync(join(root, "Public/fbevents-stub.js"), "utf8");
export const FBEVENTS_CONFIG = readFileSync(join(root, "Public/fbevents-config.js"), "utf8");
/** pb-extras.js as the server serves it (set by startServer). */
let extrasSource;

/** Builds a fake page at `url` and runs `source` in it. Options change the environment to test
 *  what the bundle does when parts are missing or hostile. Scripts the bundle inserts (events.js) do not run
 *  until `loadScripts()` (or `start()`), as an async script runs after the current one; events.js runs
 *  the stand-in for TikTok's SDK (Public/events-stub.js), which records what TikTok would receive in
 *  `tiktok()`. Tests control the clock with `advance(ms)`. */
export function runBundle(source, {
  url = "https://shop.example.co.uk/landing",
  referrer = "",
  jar = new CookieJar(),
  session = new MemoryStorage(),
  cookiesThrow = false,
  webCrypto = true,
  sendBeacon = true,
  beaconAccepts = true,
  fetchRejects = false,
  currentScript = true,
  before = null,
  sdkSettings = null,
  extrasBlocked = false,
  sdkBlocked = false,
  fbeventsBlocked = false,
  fbeventsConfigBlocked = false,
  language = "en-GB",
  scriptSrc = "https://edge.example.net/p/shop/pb.js",
} = {}) {
  let location = new URL(url);
  const timers = new FakeTimers();
  const listeners = [];
  const windowListeners = [];
  const inserted = [];
  const pendingScripts = [];
  const beacons = [];
  const fetches = [];
  const document = {
    referrer,
    visibilityState: "visible",
    currentScript: currentScript ? { src: scriptSrc } : null,
    head: { append(...elements) { inserted.push(...elements); pendingScripts.push(...elements); } },
    // What TikTok's base code inserts its script with: before the first script of the page.
    getElementsByTagName() { return [{ parentNode: { insertBefore(element) { document.head.append(element); } } }]; },
    createElement(tag) { return { tagName: tag.toUpperCase() }; },
    addEventListener(type, listener, capture) { listeners.push({ type, listener, capture }); },
    get cookie() {
      if (cookiesThrow) throw new Error("SecurityError: cookies are not available in this sandbox");
      return jar.get();
    },
    set cookie(value) {
      if (cookiesThrow) throw new Error("SecurityError: cookies are not available in this sandbox");
      jar.set(value, location);
    },
  };
  const digests = [];
  const navigator = { language, userAgent: "Mozilla/5.0 (pb.js tests)" };
  if (sendBeacon) {
    navigator.sendBeacon = (target, body) => {
      beacons.push({ url: String(target), body: JSON.parse(body), raw: body });
      return beaconAccepts;
    };
  }
  const history = {
    pushState(state, title, target) { location = new URL(target, location); window.location = location; },
    replaceState(state, title, target) { location = new URL(target, location); window.location = location; },
  };
  class CustomEvent {
    constructor(type, init) { this.type = type; this.detail = init?.detail; }
  }
  const window = {
    document, location, navigator, history, sessionStorage: session, CustomEvent,
    addEventListener(type, listener) { windowListeners.push({ type, listener }); },
    dispatchEvent(event) { for (const entry of windowListeners.filter((l) => l.type === event.type)) entry.listener(event); return true; },
    setTimeout: (callback, delay) => timers.set(callback, delay),
    clearTimeout: (id) => timers.clear(id),
    setInterval: (callback, delay) => timers.set(callback, delay, true),
    clearInterval: (id) => timers.clear(id),
    crypto: {
      getRandomValues: (array) => webcrypto.getRandomValues(array),
      // Web Crypto exists only in secure contexts; without it the bundle must skip identify.
      subtle: webCrypto ? {
        digest(algorithm, data) {
          const digest = webcrypto.subtle.digest(algorithm, data);
          digests.push(digest);
          return digest;
        },
      } : undefined,
    },
    fetch: (target, init) => {
      fetches.push({ url: String(target), init, body: JSON.parse(init.body), raw: init.body });
      return fetchRejects ? Promise.reject(new TypeError("Failed to fetch")) : Promise.resolve({ status: 204 });
    },
    TextEncoder, URL, JSON, Object, Array, Date, Math, Uint8Array, Uint32Array, Promise, RegExp, String, Number, Error, TypeError,
  };
  window.window = window;
  const context = vm.createContext(window);
  const builtins = new Set(Object.keys(window));
  if (before) vm.runInContext(before, context);
  const beforeKeys = new Set(Object.keys(window));
  vm.runInContext(source, context);
  const page = {
    window, document, jar, session, inserted, beacons, fetches, listeners, timers,
    /** Globals the bundle added. */
    addedGlobals: Object.keys(window).filter((key) => !beforeKeys.has(key) && !builtins.has(key)).sort(),
    /** Delivers a DOM event to the document's listeners, as a browser would in the capture phase. */
    dispatch(type, target) {
      for (const entry of listeners.filter((l) => l.type === type)) entry.listener({ type, target });
    },
    /** Delivers an event to the window's listeners (popstate, pagehide, visibilitychange). */
    dispatchWindow(type) { window.dispatchEvent({ type }); },
    /** The page is hidden, as when the visitor leaves it or switches tabs. */
    hide() {
      document.visibilityState = "hidden";
      document.hidden = true;
      window.dispatchEvent({ type: "visibilitychange" });
      window.dispatchEvent({ type: "pagehide" });
    },
    run(code) { return vm.runInContext(code, context); },
    /** Runs the scripts inserted so far: events.js (the stand-in for TikTok's SDK) and pb-extras.js (or its
     *  error, with `extrasBlocked`). */
    loadScripts() {
      // Until none is left: a script may insert another (fbevents.js its pixels' config scripts).
      for (let script; (script = pendingScripts.shift()); ) {
        if (String(script.src).endsWith("/pb-extras.js")) {
          if (extrasBlocked) script.onerror?.();
          else vm.runInContext(extrasSource, context);
          continue;
        }
        if (String(script.src).startsWith(FBEVENTS_JS) || String(script.src).startsWith(new URL("fbevents-config.js", FBEVENTS_JS).href)) {
          // Meta's pixel and its per-pixel config script (fbevents-stub.js, fbevents-config.js).
          const isConfig = !String(script.src).startsWith(FBEVENTS_JS);
          if (fbeventsBlocked || (isConfig && fbeventsConfigBlocked)) {
            script.onerror?.();
            continue;
          }
          document.currentScript = script;
          vm.runInContext(String(script.src).startsWith(FBEVENTS_JS) ? FBEVENTS_STUB : FBEVENTS_CONFIG, context);
          document.currentScript = null;
          // The config scripts it inserted run next, as async scripts do.
          continue;
        }
        if (!script.src?.startsWith(EVENTS_JS)) continue;
        // A blocker or a failed network: the script's error event, and no SDK.
        if (sdkBlocked) {
          script.onerror?.();
          continue;
        }
        if (sdkSettings) window.__eventsStubSettings = sdkSettings;
        document.currentScript = script;
        vm.runInContext(EVENTS_STUB, context);
        document.currentScript = null;
      }
    },
    /** What Meta's pixel would have sent to www.facebook.com/tr/, as the stand-in records it (ev: only that event). */
    meta(ev) {
      const sent = JSON.parse(JSON.stringify(window.__fbeventsStub?.sent || []));
      return ev ? sent.filter((request) => request.ev === ev) : sent;
    },
    /** What TikTok's SDK would have sent to TikTok, as the stand-in records it. */
    tiktok(event) {
      // Copied into this realm: the page's arrays and objects are not the test's.
      const sent = JSON.parse(JSON.stringify(window.__eventsStub?.sent || []));
      return event ? sent.filter((payload) => payload.event === event) : sent;
    },
    /** The server copies (to /collect), by event name. */
    copies(event) {
      const copies = [...beacons, ...fetches].filter((b) => b.url.endsWith("/collect")).map((b) => b.body);
      return event ? copies.filter((copy) => copy.event === event) : copies;
    },
    advance(ms) { timers.advance(ms); },
    /** As a browser goes on after pb.js: the microtasks it queued run, then events.js (unless `sdk` is false,
     *  as when it is blocked or slow), then what that started. */
    async start({ sdk = true } = {}) {
      await page.settled();
      if (sdk) page.loadScripts();
      await page.settled();
    },
    /** A route change of a single-page app. */
    navigate(target, { replace = false } = {}) {
      window.history[replace ? "replaceState" : "pushState"]({}, "", target);
    },
    /** The visitor goes back: the location changes, then popstate. */
    back(target) {
      location = new URL(target, location);
      window.location = location;
      window.dispatchEvent({ type: "popstate" });
    },
    /** Resolves once every promise the bundle started (digests, its event chain) has settled and their
     *  callbacks have run. */
    async settled() {
      for (let round = 0; round < 5; round++) {
        await Promise.allSettled(digests);
        await new Promise((next) => setImmediate(next));
      }
    },
  };
  return page;
}

export function field(attributes) {
  return { tagName: "INPUT", type: "text", name: "", autocomplete: "", value: "", ...attributes };
}

export { CookieJar, MemoryStorage };
