"""Fixtures of the Python test suites: Tests/browser (pb.js in Chromium) and Tests/cdn (REDbot, Varnish).
Everything a test needs is required: a missing binary, browser or tool fails the run, nothing skips."""
import http.server
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BINARY = Path(os.environ.get("PIXEL_EDGE_BINARY", ROOT / ".build/debug/pixel-edge"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def require_tool(name, install):
    """Fails (never skips) when a tool the tests need is missing."""
    path = shutil.which(name) or (name if os.path.exists(name) else None)
    if not path:
        pytest.fail(f"{name} is not installed ({install}); these tests cannot run")
    return path


class PixelEdge:
    """`pixel-edge serve` on a port of its own, with its own database, stopped with SIGTERM."""

    def __init__(self, *arguments, pixels=None, port=None, database=None, environment=None):
        if not BINARY.exists():
            pytest.fail(f"pixel-edge is not built at {BINARY}: run `swift build` first or set PIXEL_EDGE_BINARY")
        self.directory = tempfile.mkdtemp(prefix="pixeledge-tests-")
        # An SQLite file of its own, unless given (a postgres:// URL that several servers share).
        self.database = database or f"{self.directory}/pixels.sqlite"
        self.environment = {**os.environ, **(environment or {})}
        for pixel_id, options in (pixels or {}).items():
            self.cli("pixels", "set", pixel_id, *options)
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.arguments = list(arguments)
        self.output = []
        self.start()

    def cli(self, *arguments):
        return subprocess.run([str(BINARY), *arguments, "--database", self.database], check=True, capture_output=True, text=True)

    def start(self):
        self.process = subprocess.Popen(
            [str(BINARY), "serve", "--port", str(self.port), "--database", self.database,
             "--templates", str(ROOT / "Templates"), "--public", str(ROOT / "Public"), *self.arguments],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=self.environment)
        for line in self.process.stdout:
            self.output.append(line)
            if "PixelEdge listening on" in line:
                break
        else:
            pytest.fail(f"pixel-edge serve exited with {self.process.wait()} before listening: {''.join(self.output)}")
        threading.Thread(target=lambda: self.output.extend(self.process.stdout), daemon=True).start()

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)

    def metric(self, name):
        """A counter from /metrics, 0 when absent."""
        text = urllib.request.urlopen(self.base + "/metrics", timeout=5).read().decode()
        for line in text.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[-1])
        return 0.0

    def close(self):
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


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


class FakeEventsAPI:
    """TikTok's Events API as section 3 of the reference describes it: POST /open_api/v1.3/event/track/ with an
    Access-Token, answered HTTP 200 {"code": 0, ...}; records each request's data."""

    def __init__(self, delay=0.0):
        self.requests = []
        self.in_flight = []
        self.condition = threading.Condition()
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                request = {"path": self.path, "token": self.headers.get("Access-Token"), "body": body, "started": time.monotonic()}
                with api.condition:
                    api.in_flight.append(request)
                    api.condition.notify_all()
                # A slow Events API: what is in flight meanwhile is what two nodes could send at once.
                if delay:
                    time.sleep(delay)
                with api.condition:
                    api.in_flight.remove(request)
                    request["ended"] = time.monotonic()
                    api.requests.append(request)
                    api.condition.notify_all()
                answer = json.dumps({"code": 0, "message": "OK", "request_id": f"req-{len(api.requests)}", "data": {}}).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except BrokenPipeError:
                    pass  # the node that asked was killed meanwhile: a test does that

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def events(self):
        with self.condition:
            return [event for request in self.requests for event in request["body"]["data"]]

    def wait_until(self, predicate, timeout=30):
        """Waits until predicate(api) holds (requests answered, requests in flight)."""
        with self.condition:
            found = self.condition.wait_for(lambda: predicate(self), timeout)
        assert found, f"the Events API did not get there within {timeout}s"

    def wait_for(self, predicate, timeout=15):
        """Waits until predicate(events received so far) holds."""
        with self.condition:
            found = self.condition.wait_for(lambda: predicate([e for r in self.requests for e in r["body"]["data"]]), timeout)
        assert found, f"the Events API did not receive what was expected within {timeout}s: {self.events}"

    def close(self):
        self.server.shutdown()


class PostgresServer:
    """A PostgreSQL server of the tests' own: initdb in a temporary directory, `postgres` on a free port,
    stopped and removed after the test. Never a system service; as root it runs as the `postgres` user
    Debian's package creates. Fails (never skips) without PostgreSQL installed (Tests/run installs it)."""

    def __init__(self):
        versions = sorted(int(v) for v in os.listdir("/usr/lib/postgresql") if v.isdigit()) if os.path.isdir("/usr/lib/postgresql") else []
        if not versions:
            pytest.fail("PostgreSQL is not installed (apt-get install postgresql, as Tests/run does)")
        self.bin = f"/usr/lib/postgresql/{versions[-1]}/bin"
        self.directory = tempfile.mkdtemp(prefix="pixeledge-postgres-")
        self.as_postgres = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"] if os.getuid() == 0 else []
        if os.getuid() == 0:
            shutil.chown(self.directory, "postgres")
        subprocess.run([*self.as_postgres, f"{self.bin}/initdb", "-D", f"{self.directory}/data", "-U", "pixeledge", "-A", "trust",
                        "--no-sync", "-E", "UTF8"], check=True, capture_output=True)
        self.port = free_port()
        self.log = open(f"{self.directory}/log", "w")
        self.process = subprocess.Popen(
            [*self.as_postgres, f"{self.bin}/postgres", "-D", f"{self.directory}/data", "-p", str(self.port), "-c",
             "listen_addresses=127.0.0.1", "-k", self.directory, "-c", "fsync=off", "-c", "max_connections=200"],
            stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.02)
        else:
            pytest.fail("PostgreSQL did not start")
        self.url = f"postgres://pixeledge@127.0.0.1:{self.port}/postgres"

    def query(self, sql):
        """One value, with psql."""
        return subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "pixeledge", "-d", "postgres", "-Atc", sql],
                              check=True, capture_output=True, text=True).stdout.strip()

    def close(self):
        self.process.terminate()
        self.process.wait(timeout=20)
        self.log.close()
        shutil.rmtree(self.directory, ignore_errors=True)


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
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = server.pages.get(self.path.split("?")[0])
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write((body or "not found").encode())

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def add(self, path, html):
        self.pages[path] = html
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
