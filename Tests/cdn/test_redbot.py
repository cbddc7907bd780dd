"""REDbot (the HTTP lint) on the bundle endpoint: no error and no warning.

REDbot checks the plain (identity) response, then negotiates gzip and sends If-None-Match and
If-Modified-Since conditional requests of its own, so one run covers the three kinds of request."""
import json
import subprocess

import pytest

from conftest import PixelEdge, require_tool

CODE = "C4ABCDEFGHIJKLMNOPQR"



@pytest.fixture(scope="module")
def edge():
    server = PixelEdge(pixels={"shop": ["--tiktok-pixel-code", CODE]})
    yield server
    server.close()


def redbot_notes(url):
    redbot = require_tool("redbot", "pip install redbot")
    result = subprocess.run([redbot, "-o", "har", url], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    entries = json.loads(result.stdout)["log"]["entries"]
    assert entries, f"REDbot checked nothing: {result.stdout[:500]}"
    return [note for entry in entries for note in entry["_red_messages"]]


@pytest.mark.parametrize("path", ["/p/shop/pb.js", "/pb.js?id=shop"])
def test_redbot_finds_no_error_and_no_warning(edge, path):
    notes = redbot_notes(edge.base + path)
    ids = {note["note_id"] for note in notes}
    # What must be there: gzip negotiation and both validators work.
    assert {"CONNEG_GZIP_GOOD", "INM_304", "IMS_304", "CL_CORRECT", "DATE_CORRECT"} <= ids, ids
    problems = [f"{n['level']} {n['note_id']}: {n['summary']}" for n in notes if n["level"] in ("WARN", "BAD")]
    assert problems == []


def test_redbot_on_an_unknown_pixel_sees_an_explicit_short_cache_lifetime(edge):
    notes = redbot_notes(edge.base + "/p/nobody/pb.js")
    problems = [f"{n['level']} {n['note_id']}: {n['summary']}" for n in notes
                if n["level"] == "BAD"]
    assert problems == []
    assert any(n["note_id"].startswith("FRESHNESS") for n in notes), [n["note_id"] for n in notes]
