"""Stand-ins the Python suites and the benchmarks share: TikTok's Events API, Meta's Conversions API and a
PostgreSQL server of their own. Nothing here imports pytest, so that Benchmarks/ can use them too."""
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]



class LoopbackServer(http.server.ThreadingHTTPServer):
    """A threaded HTTP server whose listen queue takes a burst of connections: the standard 5 makes clients
    that connect at once (16 forwarding tasks per node) wait for SYN retries, a second each."""
    request_queue_size = 256
    daemon_threads = True


class FakeEventsAPI:
    """TikTok's Events API as section 3 of the reference describes it: POST /open_api/v1.3/event/track/ with an
    Access-Token, answered HTTP 200 {"code": 0, ...}; records each request's data."""

    # TikTok's answer to a revoked token (section 3 of the reference: HTTP 200, a non-zero code).
    REVOKED = {"code": 40105, "message": "Access token is incorrect or has been revoked."}

    def __init__(self, delay=0.0, keep_alive=False):
        """keep_alive: answer in HTTP/1.1 and keep connections open, as TikTok's API does (the benchmarks
        ask for it; the tests' default, HTTP/1.0 and a connection per request, also exercises reconnecting)."""
        self.requests = []
        self.in_flight = []
        self.condition = threading.Condition()
        # Tokens answered as TikTok answers a revoked one.
        self.revoked_tokens = set()
        # Tokens answered with another of TikTok's codes (tiktok.md section 8): token -> {"code", "message"}.
        self.token_answers = {}
        # Requests whose path starts with this wait, in flight, until `release()`.
        self.held_prefix = None
        self.released = threading.Event()
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                request = {"path": self.path, "token": self.headers.get("Access-Token"), "body": body, "started": time.monotonic()}
                with api.condition:
                    api.in_flight.append(request)
                    api.condition.notify_all()
                if api.held_prefix and self.path.startswith(api.held_prefix):
                    api.released.wait(60)
                # A slow Events API: what is in flight meanwhile is what two nodes could send at once.
                if delay:
                    time.sleep(delay)
                with api.condition:
                    api.in_flight.remove(request)
                    request["ended"] = time.monotonic()
                    api.requests.append(request)
                    api.condition.notify_all()
                refused = api.REVOKED if request["token"] in api.revoked_tokens else \
                    api.token_answers.get(request["token"], {"code": 0, "message": "OK"})
                answer = json.dumps({**refused, "request_id": f"req-{len(api.requests)}", "data": {}}).encode()
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

        self.server = LoopbackServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def events(self):
        with self.condition:
            return [event for request in self.requests for event in request["body"]["data"]]

    def hold(self, prefix):
        """From now on, requests to paths starting with `prefix` stay in flight until `release()`."""
        self.released.clear()
        self.held_prefix = prefix

    def release(self):
        self.held_prefix = None
        self.released.set()

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


class FakeGraphAPI:
    """Meta's Conversions API as ../shared/reference/meta.md section 9 describes it, judging as Meta does:
    POST /{version}/{pixel}/events with the pixel's token (Authorization: Bearer), a JSON body {data,
    test_event_code?}; a wrong token is refused with 190, an unknown pixel with 100 and subcode 33, and one
    invalid event (no event_name, event_time, action_source, event_source_url or client_user_agent for a
    website event; a time over 7 days old; a hash that is not SHA-256 hex) rejects the whole batch with 100.
    Accepted: {"events_received": n, "fbtrace_id"}. GET /{version}/{pixel}?fields=id (the connection test without
    a Test Event Code) answers {"id"} under the same token and pixel rules. `outage` makes it answer 500 (code 2)
    to everything."""

    def __init__(self, pixel_id, token):
        self.pixel_id = pixel_id
        self.token = token
        self.requests = []
        self.outage = False
        self.condition = threading.Condition()
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.do_POST(read=True)

            def do_POST(self, read=False):
                body = None if read else json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"null")
                status, answer = api.judge(self.path, self.headers.get("Authorization"), body, read=read)
                with api.condition:
                    api.requests.append({"method": "GET" if read else "POST", "path": self.path, "authorization": self.headers.get("Authorization"),
                                         "body": body or {}, "accepted": status == 200 and not read})
                    api.condition.notify_all()
                payload = json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except BrokenPipeError:
                    pass

            def log_message(self, *args):
                pass

        self.server = LoopbackServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @staticmethod
    def error(code, message, subcode=None, user_message=None, status=400):
        error = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": f"trace-{code}"}
        if subcode is not None:
            error["error_subcode"] = subcode
        if user_message:
            error["error_user_msg"] = user_message
        return status, {"error": error}

    def judge(self, path, authorization, body, read=False):
        if self.outage:
            return self.error(2, "Service temporarily unavailable", status=500)
        parts = path.split("?")[0].strip("/").split("/")
        if len(parts) != (2 if read else 3) or (not read and parts[2] != "events"):
            return self.error(100, "Unknown path components")
        if authorization != f"Bearer {self.token}":
            return self.error(190, "Error validating access token")
        if parts[1] != self.pixel_id:
            return self.error(100, f"Object with ID '{parts[1]}' does not exist", subcode=33)
        if read:
            return 200, {"id": self.pixel_id}
        data = (body or {}).get("data") or []
        if not data or len(data) > 1000:
            return self.error(100, "Invalid parameter", user_message="data must hold 1 to 1000 events")
        now = time.time()
        for index, event in enumerate(data):
            problem = self.problem(event, now)
            if problem:
                return self.error(100, "Invalid parameter", user_message=f"Event {index}: {problem}")
        return 200, {"events_received": len(data), "messages": [], "fbtrace_id": "trace-ok"}

    @staticmethod
    def problem(event, now):
        for key in ("event_name", "event_id", "action_source"):
            if not event.get(key):
                return f"{key} is required"
        if not isinstance(event.get("event_time"), (int, float)) or event["event_time"] > now + 3600:
            return "event_time must be Unix seconds"
        if event["event_time"] < now - 7 * 86400:
            return "event_time is more than 7 days old"
        user = event.get("user_data") or {}
        if event["action_source"] == "website" and (not event.get("event_source_url") or not user.get("client_user_agent")):
            return "website events need event_source_url and client_user_agent"
        for key in ("em", "ph", "external_id"):
            for value in user.get(key, []):
                if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
                    return f"user_data.{key} must be SHA-256 hashes"
        return None

    @property
    def events(self):
        """The events Meta took, in order."""
        with self.condition:
            return [event for request in self.requests if request["accepted"] for event in request["body"]["data"]]

    def wait_for(self, predicate, timeout=15):
        with self.condition:
            found = self.condition.wait_for(lambda: predicate(
                [e for r in self.requests if r["accepted"] for e in r["body"]["data"]]), timeout)
        assert found, f"Meta's Conversions API did not receive what was expected within {timeout}s: {self.events}"

    def wait_until(self, predicate, timeout=30):
        with self.condition:
            found = self.condition.wait_for(lambda: predicate(self), timeout)
        assert found, f"Meta's Conversions API did not get there within {timeout}s"

    def close(self):
        self.server.shutdown()


class PostgresServer:
    """A PostgreSQL server of the tests' own: initdb in a temporary directory, `postgres` on a free port,
    stopped and removed after the test. Never a system service; as root it runs as the `postgres` user
    Debian's package creates. Raises (a test using it fails, never skips) without PostgreSQL installed (Tests/run installs it)."""

    def __init__(self, durable=False):
        # Tests run without fsync, for speed; a benchmark of durable writes needs it.
        self.durability = [] if durable else ["-c", "fsync=off"]
        versions = sorted(int(v) for v in os.listdir("/usr/lib/postgresql") if v.isdigit()) if os.path.isdir("/usr/lib/postgresql") else []
        if not versions:
            raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql, as Tests/run does)")
        self.bin = f"/usr/lib/postgresql/{versions[-1]}/bin"
        self.directory = tempfile.mkdtemp(prefix="pixeledge-postgres-")
        self.as_postgres = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"] if os.getuid() == 0 else []
        if os.getuid() == 0:
            shutil.chown(self.directory, "postgres")
        subprocess.run([*self.as_postgres, f"{self.bin}/initdb", "-D", f"{self.directory}/data", "-U", "pixeledge", "-A", "trust",
                        "--no-sync", "-E", "UTF8"], check=True, capture_output=True)
        self.port = free_port()
        self.log = open(f"{self.directory}/log", "w")
        self.url = f"postgres://pixeledge@127.0.0.1:{self.port}/postgres"
        self.start()

    def start(self):
        """Starts the server (again, after `stop`) on its port, returning once it accepts connections."""
        self.process = subprocess.Popen(
            [*self.as_postgres, f"{self.bin}/postgres", "-D", f"{self.directory}/data", "-p", str(self.port), "-c",
             "listen_addresses=127.0.0.1", "-k", self.directory, *self.durability, "-c", "max_connections=200"],
            stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"PostgreSQL did not start: see {self.directory}/log")

    def stop(self):
        """Stops the server as an outage would (fast shutdown: every connection is closed)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            self.process.wait(timeout=20)

    def query(self, sql):
        """One value, with psql."""
        return subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "pixeledge", "-d", "postgres", "-Atc", sql],
                              check=True, capture_output=True, text=True).stdout.strip()

    def close(self):
        self.stop()
        self.log.close()
        shutil.rmtree(self.directory, ignore_errors=True)
