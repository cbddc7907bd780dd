"""The benchmarks' own helpers, held to what they promise: a benchmark that measures the wrong thing
reports a wrong figure without failing. `Benchmarks/run` once read the bundle through a response it had
already closed, so nginx was compared while serving empty files for ten days."""
import http.server
import importlib.machinery
import importlib.util
import threading

import pytest

from conftest import ROOT


def load(script):
    loader = importlib.machinery.SourceFileLoader(script.replace("/", "_"), str(ROOT / script))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


@pytest.fixture
def origin():
    """An HTTP server whose body is larger than one read and whose first answer is a 503, as a server
    still starting may give."""
    body = bytes(range(256)) * 40
    answers = iter([503])

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            status = next(answers, 200)
            self.send_response(status)
            self.send_header("Content-Length", str(len(body) if status == 200 else 0))
            self.send_header("X-Coding", self.headers.get("Accept-Encoding", ""))
            self.end_headers()
            if status == 200:
                self.wfile.write(body)

        def log_message(self, *arguments):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/pb.js", body
    server.shutdown()
    server.server_close()


def test_wait_for_returns_the_whole_body_of_the_first_200(origin):
    url, body = origin
    headers, received = load("Benchmarks/run").wait_for(url, {"Accept-Encoding": "gzip"}, timeout=10)
    assert received == body, "the body must be read before the response is closed"
    assert headers["Content-Length"] == str(len(body))
    assert headers["X-Coding"] == "gzip", "the request's headers are sent"
