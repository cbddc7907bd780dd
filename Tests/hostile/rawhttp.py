"""HTTP/1.1 over a plain socket, for tests that must send what no HTTP library would and see exactly how
the server ends a connection (an orderly close, a reset, a truncated response)."""
import socket
import time

PIXEL_CODE = "C4ABCDEFGHIJKLMNOPQR"
ACCESS_TOKEN = "a1b2c3d4e5" * 6 + "wxyz"
SHOP = {"shop": ["--tiktok-pixel-code", PIXEL_CODE, "--tiktok-access-token", ACCESS_TOKEN]}


class Closed(Exception):
    """The server closed the connection; `how` is "eof" (an orderly close) or "reset"."""

    def __init__(self, how, received=b""):
        super().__init__(f"connection closed ({how}) after {len(received)} bytes")
        self.how = how
        self.received = received


def connect(base, timeout=10):
    host, port = base.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=timeout)
    return sock


def request(method, path, headers=(), body=b"", host="x"):
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"] if host is not None else [f"{method} {path} HTTP/1.1"]
    lines += [f"{name}: {value}" for name, value in headers]
    if body and not any(name.lower() in ("content-length", "transfer-encoding") for name, _ in headers):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name):
        return self.headers.get(name.lower())

    def __repr__(self):
        return f"<{self.status} {self.headers} {self.body[:80]!r}>"


class Reader:
    """Reads responses one by one from a connection, keeping what arrived after the last one."""

    def __init__(self, sock):
        self.sock = sock
        self.buffer = b""

    def _more(self):
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            raise Closed("reset", self.buffer)
        if not data:
            raise Closed("eof", self.buffer)
        self.buffer += data

    def response(self, head_request=False):
        while b"\r\n\r\n" not in self.buffer:
            self._more()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = 0 if head_request or status in (204, 304) else int(headers.get("content-length", "0"))
        while len(self.buffer) < length:
            try:
                self._more()
            except Closed as closed:
                raise Closed("truncated" if closed.how == "eof" else closed.how, head + closed.received)
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return Response(status, headers, body)

    def close_kind(self):
        """Reads until the server closes: "eof" or "reset", and what came before."""
        try:
            while True:
                self._more()
        except Closed as closed:
            return closed.how, closed.received


def exchange(base, raw, timeout=10, half_close=False):
    """Sends raw bytes, reads every response until the server closes (or `timeout`), and returns
    (responses, how the connection ended, seconds taken). With `half_close`, the client ends its side
    after sending, as a client with nothing more to say does."""
    started = time.monotonic()
    with connect(base, timeout=timeout) as sock:
        try:
            sock.sendall(raw)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass
        reader = Reader(sock)
        responses = []
        try:
            while True:
                responses.append(reader.response())
        except Closed as closed:
            return responses, closed.how, time.monotonic() - started
        except socket.timeout:
            return responses, "timeout", time.monotonic() - started
