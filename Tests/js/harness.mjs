// Test harness for the rendered pb.js: a real `pixel-edge serve` renders the bundles, and each test runs one
// in a small fake window/document (node:vm) that records what the bundle does: scripts it inserts, cookies
// it sets, beacons it sends, ttq calls it makes.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, existsSync, rmSync } from "node:fs";
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

/** Starts `pixel-edge serve` on a free port with the given pixels; returns {base, stop}. */
export async function startServer({ pixels, collectURL = "/collect", eventsJS = EVENTS_JS } = {}) {
  if (!existsSync(binary)) {
    throw new Error(`pixel-edge is not built at ${binary}: run \`swift build\` first or set PIXEL_EDGE_BINARY`);
  }
  const dir = mkdtempSync(join(tmpdir(), "pb-js-tests-"));
  const database = join(dir, "pixels.sqlite");
  for (const [id, args] of Object.entries(pixels)) {
    execFileSync(binary, ["pixels", "set", id, ...args, "--database", database], { stdio: "pipe" });
  }
  const args = ["serve", "--port", "0", "--database", database, "--templates", join(root, "Templates"),
    "--public", join(root, "Public"), "--events-js-url", eventsJS];
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

/** Builds a fake page at `url` and runs `source` in it. Options change the environment to test
 *  what the bundle does when parts are missing or hostile. */
export function runBundle(source, {
  url = "https://shop.example.co.uk/landing",
  referrer = "",
  jar = new CookieJar(),
  cookiesThrow = false,
  webCrypto = true,
  sendBeacon = true,
  beaconAccepts = true,
  fetchRejects = false,
  currentScript = true,
  before = null,
  scriptSrc = "https://edge.example.net/p/shop/pb.js",
} = {}) {
  const location = new URL(url);
  const listeners = [];
  const inserted = [];
  const beacons = [];
  const fetches = [];
  const document = {
    referrer,
    currentScript: currentScript ? { src: scriptSrc } : null,
    head: { append(...elements) { inserted.push(...elements); } },
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
  const navigator = {};
  if (sendBeacon) {
    navigator.sendBeacon = (target, body) => {
      beacons.push({ url: String(target), body: JSON.parse(body), raw: body });
      return beaconAccepts;
    };
  }
  const window = {
    document, location, navigator,
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
  return {
    window, document, jar, inserted, beacons, fetches, listeners,
    /** Globals the bundle added. */
    addedGlobals: Object.keys(window).filter((key) => !beforeKeys.has(key) && !builtins.has(key)).sort(),
    /** Delivers a DOM event to the document's listeners, as a browser would in the capture phase. */
    dispatch(type, target) {
      for (const entry of listeners.filter((l) => l.type === type)) entry.listener({ type, target });
    },
    run(code) { return vm.runInContext(code, context); },
    /** Resolves once every digest the bundle started has settled and its callbacks have run. */
    async settled() {
      await Promise.allSettled(digests);
      await new Promise((next) => setImmediate(next));
    },
  };
}

export function field(attributes) {
  return { tagName: "INPUT", type: "text", name: "", autocomplete: "", value: "", ...attributes };
}

export { CookieJar };
