"""The benchmarks' own helpers, held to what they promise: a benchmark that measures the wrong thing
reports a wrong figure without failing. `Benchmarks/run` once read the bundle through a response it had
already closed, so nginx was compared while serving empty files for ten days. Also Benchmarks/floor, the
bare loop measured beside PixelEdge and nginx: it must send each scenario's own answer."""
import http.server
import importlib.machinery
import importlib.util
import socket
import subprocess
import sys
import threading
import time

import pytest

from conftest import ROOT, free_port, require_tool


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


def test_raw_answer_is_the_whole_response_as_sent(origin):
    url, body = origin
    run = load("Benchmarks/run")
    run.wait_for(url, timeout=10)  # past the origin's first 503
    port = int(url.split(":")[2].split("/")[0])
    answer = run.raw_answer(port, "/pb.js", ["Accept-Encoding: gzip"])
    head, _, rest = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.0 200") or head.startswith(b"HTTP/1.1 200")
    assert b"\r\nX-Coding: gzip" in head
    assert rest == body


def test_the_floor_answers_each_scenario_with_its_own_bytes(tmp_path):
    """Benchmarks/floor picks the 304 for an If-None-Match, the gzip answer for Accept-Encoding: gzip and
    the identity answer otherwise, and sends each as it was given, pipelined requests in order."""
    require_tool("swiftc", "the Swift toolchain")
    answers = {
        "gzip": b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\ngzip",
        "identity": b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nidentity",
        "not-modified": b"HTTP/1.1 304 Not Modified\r\nETag: \"t\"\r\n\r\n",
    }
    port = free_port()
    floor = load("Benchmarks/run").start_floor(tmp_path, answers, port)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                connection = socket.create_connection(("127.0.0.1", port), timeout=5)
                break
            except OSError:
                assert floor.poll() is None and time.monotonic() < deadline, "the floor did not start"
                time.sleep(0.05)
        with connection:
            requests = [
                "GET /p/shop/pb.js HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\n\r\n",
                "GET /p/shop/pb.js HTTP/1.1\r\nHost: a\r\n\r\n",
                "GET /p/shop/pb.js HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\nIf-None-Match: \"t\"\r\n\r\n",
            ]
            connection.sendall("".join(requests).encode())
            expected = answers["gzip"] + answers["identity"] + answers["not-modified"]
            received = b""
            while len(received) < len(expected):
                chunk = connection.recv(65536)
                assert chunk, "the floor closed the connection"
                received += chunk
            assert received == expected
    finally:
        floor.terminate()
        floor.wait()


@pytest.mark.parametrize("work, busier", [
    ("while time.process_time() < 0.5: sum(range(1000))", "user"),
    ("zero = open('/dev/zero', 'rb', buffering=0)\nwhile time.process_time() < 0.5: os.pread(zero.fileno(), 1 << 22, 0)", "kernel"),
])
def test_cpu_ticks_reads_user_and_kernel_time_apart(work, busier):
    """A process that spends its time computing is user time, one that spends it in reads of /dev/zero
    (the kernel fills 4 MiB each time) kernel time: `cpu_ticks` must say which."""
    child = subprocess.Popen([sys.executable, "-c", f"import os, sys, time\n{work}\nprint('done', flush=True)\nsys.stdin.read()"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline() == "done\n"
        user, kernel = load("Benchmarks/run").cpu_ticks(child.pid)
    finally:
        child.stdin.close()
        child.wait(timeout=10)
    assert user + kernel >= 40, (user, kernel)  # 0.5 s of CPU time, in ticks of 1/100 s
    assert (user > 2 * kernel) if busier == "user" else (kernel > 2 * user), (user, kernel)
