"""Fixtures of the Python test suites: Tests/browser (pb.js in Chromium) and Tests/cdn (REDbot, Varnish).
Everything a test needs is required: a missing binary, browser or tool fails the run, nothing skips."""
import http.server
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from servers import FakeEventsAPI, FakeGraphAPI, PostgresServer, free_port  # noqa: F401 (the suites import them from here)

ROOT = Path(__file__).resolve().parents[1]
BINARY = Path(os.environ.get("PIXEL_EDGE_BINARY", ROOT / ".build/debug/pixel-edge"))
# The benchmark helpers' own executable (seeding many pixels and events), beside the server's.
BENCH = BINARY.with_name("pixel-edge-bench")


def require_tool(name, install):
    """Fails (never skips) when a tool the tests need is missing."""
    path = shutil.which(name) or (name if os.path.exists(name) else None)
    if not path:
        pytest.fail(f"{name} is not installed ({install}); these tests cannot run")
    return path


LISTENING = re.compile(r"PixelEdge listening on http://[^ ]*:(\d+)")


class PixelEdge:
    """`pixel-edge serve` on a port of its own, with its own database, stopped with SIGTERM."""

    def __init__(self, *arguments, pixels=None, port=None, database=None, environment=None):
        if not BINARY.exists():
            pytest.fail(f"pixel-edge is not built at {BINARY}: run `swift build` first or set PIXEL_EDGE_BINARY")
        self.directory = tempfile.mkdtemp(prefix="pixeledge-tests-")
        # An SQLite file of its own, unless given (a postgres:// URL that several servers share).
        self.database = database or f"{self.directory}/pixels.sqlite"
        self.environment = {**os.environ, **(environment or {})}
        # Set up as fixtures are: no verification against TikTok (the tests of it say where to).
        for pixel_id, options in (pixels or {}).items():
            self.cli("pixels", "set", pixel_id, *options, "--no-verify")
        # Without a port asked for, the server picks one (`--port 0`) and says which: a port found free
        # beforehand (`free_port`) can be taken by another worker's server before this one binds it.
        self.port = port or 0
        self.arguments = list(arguments)
        self.output = []
        self.start()

    def cli(self, *arguments):
        return subprocess.run([str(BINARY), *arguments, "--database", self.database], check=True, capture_output=True, text=True)

    def seed(self, *arguments):
        """`pixel-edge-bench seed` on this server's database."""
        return subprocess.run([str(BENCH), "seed", *arguments, "--database", self.database], check=True, capture_output=True, text=True)

    def start(self):
        self.process = subprocess.Popen(
            [str(BINARY), "serve", "--port", str(self.port), "--database", self.database,
             "--templates", str(ROOT / "Templates"), "--public", str(ROOT / "Public"), *self.arguments],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=self.environment)
        for line in self.process.stdout:
            self.output.append(line)
            if listening := LISTENING.search(line):
                # Kept for a restart (`stop`, then `start` on the same port).
                self.port = int(listening.group(1))
                self.base = f"http://127.0.0.1:{self.port}"
                break
        else:
            pytest.fail(f"pixel-edge serve exited with {self.process.wait()} before listening: {''.join(self.output)}")
        threading.Thread(target=lambda: self.output.extend(self.process.stdout), daemon=True).start()

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                pytest.fail("pixel-edge serve did not stop within 20 s of SIGTERM")

    def metric(self, name):
        """A counter from /metrics, 0 when absent."""
        text = urllib.request.urlopen(self.base + "/metrics", timeout=5).read().decode()
        for line in text.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[-1])
        return 0.0

    def close(self):
        try:
            self.stop()
        finally:
            # pytest shows what a test printed only when it fails: the server's log comes with the failure.
            print(f"pixel-edge serve on port {self.port}:\n{''.join(self.output)}")
            shutil.rmtree(self.directory, ignore_errors=True)


def http_request(method, url, body=None, headers=None, timeout=30):
    """(status, headers, body) of one request; a dict body is sent as JSON. Error statuses are answers too."""
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def eventually(condition, timeout=10, every=0.05, message="the condition"):
    """Checks `condition` until it holds: for what only happens when time has passed (a TTL), never as a
    stand-in for an event the test could wait on."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    pytest.fail(f"{message} did not hold within {timeout}s")


# Browser tests: a collect endpoint, the demo server and Chromium.

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


class CollectEndpoint:
    """Records the server-side copies pb.js sends. Tests wait on a condition, never on the clock."""

    def __init__(self):
        self.bodies = []
        self.condition = threading.Condition()
        endpoint = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                with endpoint.condition:
                    endpoint.bodies.append({"raw": raw, "json": json.loads(raw), "content_type": self.headers.get("Content-Type")})
                    endpoint.condition.notify_all()
                self.send_response(204)
                self.send_header("Access-Control-Allow-Origin", "*")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/collect"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, predicate, timeout=10, after=0):
        """The first body (from the `after`th on) for which predicate(json) holds, waiting for it to arrive."""
        with self.condition:
            found = self.condition.wait_for(lambda: next((b for b in self.bodies[after:] if predicate(b["json"])), None), timeout)
        assert found, f"no beacon matched within {timeout}s; received: {[b['json'] for b in self.bodies]}"
        return found

    def close(self):
        self.server.shutdown()


@pytest.fixture(scope="session")
def collect():
    endpoint = CollectEndpoint()
    yield endpoint
    endpoint.close()


SECOND_CODE = "C4ZZZZZZZZZZZZZZZZZZ"


@pytest.fixture(scope="session")
def edge(collect):
    """pixel-edge serve --demo, with events.js pointing at the stand-in it serves from Public/, and a second
    pixel (id "second") for pages with two."""
    port = free_port()
    server = PixelEdge("--demo", "--events-js-url", f"http://127.0.0.1:{port}/events-stub.js", "--collect-url", collect.url,
                       port=port, pixels={"second": ["--tiktok-pixel-code", SECOND_CODE]})
    yield server.base
    server.close()


@pytest.fixture
def postgres():
    server = PostgresServer()
    yield server
    server.close()


class PageServer:
    """Serves the HTML pages a test writes, from a real loopback server: Chromium lets a page reach loopback
    addresses (the collect endpoint, PixelEdge) only when the page itself comes from one, not from a route."""

    def __init__(self):
        self.pages = {}
        # Paths whose answer waits until their event is set (at most 10 s): a script that must arrive after
        # something else happened, the way a slower network would deliver it, decided by the test.
        self.gates = {}
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                path = self.path.split("?")[0]
                if path in server.gates:
                    server.gates[path].wait(10)
                body = server.pages.get(path)
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "text/javascript" if path.endswith(".js") else "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write((body or "not found").encode())

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def add(self, path, html, gate=None):
        self.pages[path] = html
        if gate is not None:
            self.gates[path] = gate
        return self.base + path

    def close(self):
        self.server.shutdown()


@pytest.fixture
def pages():
    server = PageServer()
    yield server
    server.close()


@pytest.fixture
def events_api():
    api = FakeEventsAPI()
    yield api
    api.close()


@pytest.fixture(scope="session")
def browser():
    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if not chromium:
        pytest.fail("Debian's chromium is not installed (apt-get install -y chromium); the browser tests cannot run")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright for Python is not installed (pip install playwright); the browser tests cannot run")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A fresh profile per test; every console error and uncaught exception is collected and, unless a test
    expects it, fails the test."""
    context = browser.new_context()
    page = context.new_page()
    page.errors = []
    page.expected_errors = []
    page.on("console", lambda message: message.type == "error" and page.errors.append(f"console: {message.text} at {message.location}"))
    page.on("pageerror", lambda error: page.errors.append(f"exception: {error}"))
    yield page
    unexpected = [e for e in page.errors if not any(expected in e for expected in page.expected_errors)]
    context.close()
    assert unexpected == [], f"errors on the page: {unexpected}"
