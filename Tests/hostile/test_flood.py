"""One anonymous client flooding /collect for one public pixel used to fill the outbox every pixel shares
(100,000 events in 12 s at ~10,000 requests/s), and every other pixel's real events got 429 afterwards.
Now a client address has a rate and a pixel a share of the outbox (README, Limits): with --outbox-limit
2000, a client gets a burst of 100 and 10 events/s, a pixel at most 1,000 waiting events."""
import json
import socket
import time

from conftest import PixelEdge
from rawhttp import ACCESS_TOKEN, PIXEL_CODE, Reader, request

PIXELS = {name: ["--tiktok-pixel-code", PIXEL_CODE, "--tiktok-access-token", ACCESS_TOKEN] for name in ("flooded", "other")}


def letters(value):
    """An event id part without digit runs (the parser refuses ids that look like phone numbers)."""
    return "".join(chr(ord("a") + int(digit)) if digit.isdigit() else "x" for digit in str(value))


def beacons(base, pixel, count, source, prefix):
    """`count` pipelined beacons from `source` (a loopback address of its own), in batches; their statuses."""
    host, port = base.removeprefix("http://").split(":")
    statuses = []
    with socket.create_connection((host, int(port)), timeout=20, source_address=(source, 0)) as sock:
        reader = Reader(sock)
        for start in range(0, count, 100):
            batch = range(start, min(count, start + 100))
            sock.sendall(b"".join(request("POST", "/collect", [("Content-Type", "text/plain")], json.dumps(
                {"pixel": pixel, "event": "Lead", "event_id": f"{prefix}-{letters(source)}-{letters(n)}"}).encode()) for n in batch))
            statuses += [reader.response().status for _ in batch]
    assert set(statuses) <= {204, 429}, statuses
    return statuses


def test_a_flood_from_one_address_and_then_many_leaves_room_for_other_pixels():
    # An Events API that is down: events stay in the outbox, as in an outage, the worst case for room.
    server = PixelEdge("--outbox-limit", "2000", "--tiktok-api-base", "http://127.0.0.1:9", pixels=PIXELS)
    try:
        started = time.monotonic()
        one = beacons(server.base, "flooded", 1000, "127.0.0.2", "one")
        elapsed = time.monotonic() - started
        accepted = one.count(204)
        # The burst, and the rate for the time the flood took.
        assert 100 <= accepted <= 100 + 10 * elapsed + 5, (accepted, elapsed)
        assert set(one) == {204, 429}
        # Many addresses together fill only the pixel's share.
        many = []
        for number in range(3, 30):
            many += beacons(server.base, "flooded", 100, f"127.0.0.{number}", "many")
        assert server.metric('pixeledge_events_refused_total{reason="pixel_share"}') > 0
        assert server.metric('pixeledge_events_refused_total{reason="client_rate"}') > 0
        # Another pixel's visitor is still accepted, and so is the flooded pixel's events' room for others.
        assert beacons(server.base, "other", 5, "127.0.0.200", "real") == [204] * 5
        waiting = server.metric("pixeledge_outbox_depth")
        assert waiting <= 1000 + 5, waiting
    finally:
        server.close()
