"""Logs a pipeline can read (issue 23): `--log-format json` writes one JSON object per line, with the fixed
fields first and the metadata as fields; requests are logged only when asked, sampled, without a query,
an address or a User-Agent; no secret reaches the log."""
import json
import subprocess

from conftest import BINARY, PixelEdge, eventually, http_request

TOKEN = "s3cr3t" * 11


def lines(server):
    return [line for line in "".join(server.output).splitlines() if line.strip()]


def test_json_logs_are_one_object_per_line_and_requests_are_sampled_without_personal_data():
    server = PixelEdge("--log-format", "json", "--log-requests", "0.5", "--tiktok-api-base", "http://127.0.0.1:9",
                       pixels={"shop": ["--tiktok-pixel-code", "C4ABCDEFGHIJKLMNOPQR", "--tiktok-access-token", TOKEN]})
    try:
        for _ in range(10):
            assert http_request("GET", f"{server.base}/p/shop/pb.js?email=jane%40example.com",
                                headers={"User-Agent": "Agent/7.7", "Accept-Encoding": "gzip"})[0] == 200
        body = json.dumps({"pixel": "shop", "event": "Lead", "event_id": "e-1"}).encode()
        assert http_request("POST", f"{server.base}/collect?ttclid=abc", body, {"Content-Type": "text/plain"})[0] == 204
        eventually(lambda: sum('"message":"request"' in line for line in lines(server)) >= 5, message="the sampled request lines")
    finally:
        server.close()
    records = [json.loads(line) for line in lines(server)]  # every line is one JSON object
    for record in records:
        assert list(record)[:4] == ["time", "level", "label", "message"], record
        assert record["level"] in ("trace", "debug", "info", "notice", "warning", "error", "critical")
    requests = [record for record in records if record["message"] == "request"]
    # Half of the 11 requests, the fast path's and Hummingbird's alike.
    assert 5 <= len(requests) <= 6, requests
    assert {record["path"] for record in requests} <= {"/p/shop/pb.js", "/collect"}
    assert all(set(record) == {"time", "level", "label", "message", "method", "path", "status", "durationMs"} for record in requests)
    listening = next(record for record in records if record["message"].startswith("PixelEdge listening on"))
    assert listening["level"] == "notice"
    everything = "".join(server.output)
    assert TOKEN not in everything and "jane" not in everything and "Agent/7.7" not in everything and "127.0.0.1\"" not in everything
    assert "ttclid=abc" not in everything


def test_without_log_requests_no_request_is_logged_and_text_stays_the_default():
    server = PixelEdge(pixels={"shop": ["--tiktok-pixel-code", "C4ABCDEFGHIJKLMNOPQR"]})
    try:
        assert http_request("GET", f"{server.base}/p/shop/pb.js")[0] == 200
        assert http_request("GET", f"{server.base}/missing")[0] == 404
    finally:
        server.close()
    output = "".join(server.output)
    assert "PixelEdge listening on" in output and not output.lstrip().startswith("{")
    assert "request" not in output.lower().replace("requests", "")


def test_bad_log_options_are_refused_before_starting(tmp_path):
    for options, message in [(["--log-format", "xml"], "--log-format must be text or json, not xml"),
                             (["--log-requests", "2"], "--log-requests must be a share of requests from 0 (none) to 1 (every one), not 2.0")]:
        result = subprocess.run([str(BINARY), "serve", "--database", str(tmp_path / "x.sqlite"), *options], capture_output=True, text=True)
        assert result.returncode in (1, 64), result
        assert message in result.stderr, result.stderr


def test_a_claim_lease_shorter_than_a_pass_is_warned_about_once_per_destination():
    """A pass takes up to 11 calls of 10 s (its batch and its isolation calls) when the API is slow; a shorter
    --claim-lease cuts such passes short (their events are retried), which the operator is told at start."""
    short = PixelEdge("--log-format", "json", "--claim-lease", "30s")
    default = PixelEdge("--log-format", "json")
    try:
        warning = "the claim lease is shorter than a pass can take"
        eventually(lambda: sum(warning in line for line in lines(short)) == 2, message="one warning per destination")
        records = [json.loads(line) for line in lines(short) if warning in line]
        assert {(r["level"], r["destination"], r["claimLease"], r["longestPass"]) for r in records} == {
            ("warning", "tiktok", "30.0 seconds", "110.0 seconds"), ("warning", "meta", "30.0 seconds", "110.0 seconds")}
        eventually(lambda: any("PixelEdge listening on" in line for line in lines(default)), message="the default node started")
    finally:
        short.close()
        default.close()
    assert not any(warning in line for line in lines(default)), "the default lease (5 minutes) outlasts any pass"
