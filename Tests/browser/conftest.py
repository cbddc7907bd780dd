"""Fixtures for the end-to-end tests: a real `pixel-edge serve`, a local collect endpoint and Debian's
Chromium driven by Playwright. A missing binary or browser fails the run; nothing here skips."""
import http.server
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
BINARY = Path(os.environ.get("PIXEL_EDGE_BINARY", ROOT / ".build/debug/pixel-edge"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
DEMO_CODE = "CPIXELEDGEDEMO000001"


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

    def wait_for(self, predicate, timeout=10):
        """The first body for which predicate(json) holds, waiting for it to arrive."""
        with self.condition:
            found = self.condition.wait_for(lambda: next((b for b in self.bodies if predicate(b["json"])), None), timeout)
        assert found, f"no beacon matched within {timeout}s; received: {[b['json'] for b in self.bodies]}"
        return found

    def close(self):
        self.server.shutdown()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def collect():
    endpoint = CollectEndpoint()
    yield endpoint
    endpoint.close()


@pytest.fixture(scope="session")
def edge(collect):
    """pixel-edge serve --demo, with events.js pointing at the stand-in it serves from Public/."""
    if not BINARY.exists():
        pytest.fail(f"pixel-edge is not built at {BINARY}: run `swift build` first or set PIXEL_EDGE_BINARY")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    directory = tempfile.mkdtemp(prefix="pixeledge-browser-")
    process = subprocess.Popen(
        [str(BINARY), "serve", "--demo", "--port", str(port), "--database", f"{directory}/pixels.sqlite",
         "--templates", str(ROOT / "Templates"), "--public", str(ROOT / "Public"),
         "--events-js-url", f"{base}/events-stub.js", "--collect-url", collect.url],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in process.stdout:
        if "PixelEdge listening on" in line:
            break
    else:
        pytest.fail(f"pixel-edge serve exited with {process.wait()} before listening")
    threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()
    yield base
    process.terminate()
    process.wait(timeout=20)
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def browser():
    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if not chromium:
        pytest.fail("Debian's chromium is not installed (apt-get install -y chromium); the browser tests cannot run")
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
