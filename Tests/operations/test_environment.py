"""Configuration from the environment (issue 23): every `serve` option as PIXELEDGE_<OPTION>, secrets from
files (PIXELEDGE_<OPTION>_FILE, PIXELEDGE_ADMIN_TOKEN_FILE), a flag winning over its variable, refusals that
name the variable, and `--print-config` with each value's source and the secrets masked."""
import json
import os
import subprocess

import pytest

from conftest import BINARY, LISTENING, ROOT, eventually, http_request

CODE = "C4ABCDEFGHIJKLMNOPQR"


def serve(tmp_path, environment, *arguments):
    """`pixel-edge serve` started with only what the environment and `arguments` say (no PixelEdge helper:
    it would pass its own flags), and the port it listens on (asked for as 0: the server picks a free one)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PIXELEDGE_")}
    env.update(environment)
    process = subprocess.Popen([str(BINARY), "serve", *arguments], env=env, cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in process.stdout:
        if listening := LISTENING.search(line):
            return process, int(listening.group(1))
    process.wait()
    pytest.fail(f"pixel-edge serve exited with {process.returncode} before listening")


def run(tmp_path, environment, *arguments):
    env = {key: value for key, value in os.environ.items() if not key.startswith("PIXELEDGE_")}
    env.update(environment)
    return subprocess.run([str(BINARY), "serve", *arguments], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)


@pytest.fixture
def database(tmp_path):
    path = tmp_path / "pixels.sqlite"
    subprocess.run([str(BINARY), "pixels", "set", "shop", "--tiktok-pixel-code", CODE, "--database", str(path)], check=True, capture_output=True)
    return path


def test_a_server_configured_by_its_environment_only(tmp_path, database):
    token_file = tmp_path / "admin-token"
    token_file.write_text("from-a-mounted-secret-0123456789\n")  # the final newline is not part of it
    process, port = serve(tmp_path, {
        "PIXELEDGE_PORT": "0", "PIXELEDGE_DATABASE": str(database), "PIXELEDGE_TEMPLATES": str(ROOT / "Templates"),
        "PIXELEDGE_PUBLIC": str(ROOT / "Public"), "PIXELEDGE_MAX_AGE": "123", "PIXELEDGE_ADMIN_TOKEN_FILE": str(token_file),
        "PIXELEDGE_LOG_FORMAT": "json",
    })
    try:
        base = f"http://127.0.0.1:{port}"
        status, headers, _ = http_request("GET", f"{base}/p/shop/pb.js")
        assert status == 200
        assert headers["Cache-Control"].startswith("max-age=123,")
        assert http_request("GET", f"{base}/admin/pixels", headers={"Authorization": "Bearer from-a-mounted-secret-0123456789"})[0] == 200
        assert http_request("GET", f"{base}/admin/pixels", headers={"Authorization": "Bearer from-a-mounted-secret-0123456789x"})[0] == 401
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0]
    plain = [line for line in output.splitlines() if line.strip() and not line.startswith("{")]
    assert not plain, f"PIXELEDGE_LOG_FORMAT=json, yet lines that are not JSON: {plain[:5]}"


def test_a_flag_wins_over_its_variable(tmp_path, database):
    process, port = serve(tmp_path, {"PIXELEDGE_MAX_AGE": "123", "PIXELEDGE_PORT": "1"}, "--port", "0", "--database", str(database),
                          "--templates", str(ROOT / "Templates"), "--public", str(ROOT / "Public"), "--max-age=77")
    try:
        assert port != 1, "--port won over PIXELEDGE_PORT"
        assert http_request("GET", f"http://127.0.0.1:{port}/p/shop/pb.js")[1]["Cache-Control"].startswith("max-age=77,")
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.parametrize("environment, message", [
    ({"PIXELEDGE_MAX_AGE": "-5"}, "PIXELEDGE_MAX_AGE must be 0 or more seconds, not -5"),
    ({"PIXELEDGE_PORT": "http"}, "The value 'http' is invalid for 'PIXELEDGE_PORT <port>'"),
    ({"PIXELEDGE_CLAIM_LEASE": "3h"}, "PIXELEDGE_CLAIM_LEASE must be between 1s and 1h"),
    ({"PIXELEDGE_EVENTS_JS_URL": "ftp://x/events.js"}, "PIXELEDGE_EVENTS_JS_URL must be an http(s) URL, not ftp://x/events.js"),
    ({"PIXELEDGE_DEMO": "maybe"}, "PIXELEDGE_DEMO must be true or false, not maybe"),
    ({"PIXELEDGE_LOG_FORMAT": "xml"}, "PIXELEDGE_LOG_FORMAT must be text or json, not xml"),
    ({"PIXELEDGE_ADMIN_TOKEN": "a", "PIXELEDGE_ADMIN_TOKEN_FILE": "/dev/null"}, "PIXELEDGE_ADMIN_TOKEN and PIXELEDGE_ADMIN_TOKEN_FILE are both set"),
    ({"PIXELEDGE_ADMIN_TOKEN_FILE": "/nonexistent/token"}, "PIXELEDGE_ADMIN_TOKEN_FILE names /nonexistent/token, which cannot be read"),
    ({"PIXELEDGE_DATABASE_FILE": "/nonexistent/url"}, "PIXELEDGE_DATABASE_FILE names /nonexistent/url, which cannot be read"),
    ({"PIXELEDGE_DATABASE_FILE": "/dev/null", "PIXELEDGE_DATABASE": "x.sqlite"}, "PIXELEDGE_DATABASE and PIXELEDGE_DATABASE_FILE are both set"),
])
def test_invalid_values_are_refused_at_start_naming_the_variable(tmp_path, environment, message):
    database = {} if "PIXELEDGE_DATABASE_FILE" in environment else {"PIXELEDGE_DATABASE": str(tmp_path / "x.sqlite")}
    result = run(tmp_path, {**database, **environment})
    assert result.returncode == 64, result
    assert message in result.stderr, result.stderr
    assert not (tmp_path / "x.sqlite").exists(), "refused before anything was opened"


def test_print_config_shows_each_value_with_its_source_and_masks_secrets(tmp_path):
    secret_file = tmp_path / "database-url"
    secret_file.write_text("postgres://edge:s3cret-pw@db.internal:5432/pixeledge\n")
    result = run(tmp_path, {
        "PIXELEDGE_DATABASE_FILE": str(secret_file), "PIXELEDGE_MAX_EVENT_AGE": "2h", "PIXELEDGE_ADMIN_TOKEN": "t0p-s3cret-admin",
        "PIXELEDGE_PURGE_HEADER": "Fastly-Key: purge-s3cret\nX-Other: also-s3cret", "PIXELEDGE_TRUSTED_PROXY": "10.0.0.0/8,192.168.0.0/16",
    }, "--port", "9000", "--print-config")
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line for line in result.stdout.splitlines()}
    assert rows["port"].split()[1:] == ["9000", "flag", "--port"]
    assert rows["max-event-age"].split()[1:] == ["2h", "environment", "PIXELEDGE_MAX_EVENT_AGE"]
    assert rows["database"].split()[1:] == ["postgres://edge:****@db.internal:5432/pixeledge", "file", "PIXELEDGE_DATABASE_FILE"]
    assert rows["purge-header"].split("  ")[0:1] and "Fastly-Key: ****, X-Other: ****" in rows["purge-header"]
    assert "10.0.0.0/8, 192.168.0.0/16" in rows["trusted-proxy"]
    assert rows["max-age"].split()[1:] == ["300", "default"]
    assert rows["claim-lease"].split()[1:] == ["5m", "default"]
    assert rows["admin-token"].split()[1:] == ["****", "environment", "PIXELEDGE_ADMIN_TOKEN"]
    assert "s3cret" not in result.stdout + result.stderr


def test_every_serve_option_can_come_from_the_environment(tmp_path):
    """The environment's list of options is serve's own: an option added to serve and not to
    ServeEnvironment.options fails here."""
    dump = json.loads(subprocess.run([str(BINARY), "serve", "--experimental-dump-help"], capture_output=True, text=True, check=True).stdout)
    options = {argument["preferredName"]["name"] for argument in dump["command"]["arguments"] if argument.get("preferredName")}
    options -= {"help", "print-config", "version"}
    listed = {line.split()[0] for line in run(tmp_path, {}, "--print-config").stdout.splitlines()} - {"admin-token"}
    assert options == listed
