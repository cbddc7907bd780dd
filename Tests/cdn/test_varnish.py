"""A real Varnish (Debian's varnish, VCL in Tests/varnish/) in front of PixelEdge: hits don't reach the
origin, both encodings come out right, expired bundles are revalidated with 304s, a purge by surrogate key
brings a changed bundle at once, and a stopped origin does not stop the bundle from being served."""
import gzip
import shutil
import subprocess
import tempfile
import urllib.request

import pytest

from conftest import ROOT, PixelEdge, eventually, free_port, require_tool

CODE = "C4ABCDEFGHIJKLMNOPQR"
NEW_CODE = "C4NEWCODEXXXXXXXXXXX"
OK = 'pixeledge_bundle_responses_total{status="200"}'
NOT_MODIFIED = 'pixeledge_bundle_responses_total{status="304"}'


class Varnish:
    def __init__(self, backend_port, port=None):
        varnishd = require_tool("/usr/sbin/varnishd", "apt-get install -y varnish")
        self.directory = tempfile.mkdtemp(prefix="pixeledge-varnish-")
        vcl = (ROOT / "Tests/varnish/pixeledge.vcl").read_text().replace("BACKEND_PORT", str(backend_port))
        vcl_path = f"{self.directory}/pixeledge.vcl"
        with open(vcl_path, "w") as file:
            file.write(vcl)
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [varnishd, "-F", "-j", "none", "-n", f"{self.directory}/instance", "-a", f"127.0.0.1:{self.port}",
             "-f", vcl_path, "-s", "malloc,32m", "-T", "none", "-p", "ban_lurker_sleep=0.01"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        eventually(self.is_up, timeout=30, message="varnishd accepting requests")

    def is_up(self):
        if self.process.poll() is not None:
            pytest.fail(f"varnishd exited: {self.process.stdout.read()}")
        try:
            urllib.request.urlopen(self.base + "/healthz", timeout=1)
            return True
        except OSError:
            return False

    def close(self):
        self.process.terminate()
        self.process.wait(timeout=20)
        shutil.rmtree(self.directory, ignore_errors=True)


def get(url, gzip_ok=True, method="GET", headers=None):
    request = urllib.request.Request(url, method=method, headers={**({"Accept-Encoding": "gzip"} if gzip_ok else {}), **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


@pytest.fixture
def stack():
    """PixelEdge (long TTLs, purging Varnish on changes) behind Varnish."""
    varnish_port = free_port()
    edge = PixelEdge("--purge-url", f"http://127.0.0.1:{varnish_port}/", pixels={"shop": ["--tiktok-pixel-code", CODE]})
    varnish = Varnish(edge.port, port=varnish_port)
    yield edge, varnish
    varnish.close()
    edge.close()


@pytest.fixture
def short_ttl_stack():
    """PixelEdge whose bundles are fresh for 1 s in shared caches, behind Varnish."""
    edge = PixelEdge("--s-maxage", "1", "--max-age", "1", pixels={"shop": ["--tiktok-pixel-code", CODE]})
    varnish = Varnish(edge.port)
    yield edge, varnish
    varnish.close()
    edge.close()


def test_the_first_request_misses_and_the_next_ones_never_reach_pixeledge(stack):
    edge, varnish = stack
    status, headers, _ = get(varnish.base + "/p/shop/pb.js")
    assert (status, headers["X-Cache"]) == (200, "MISS")
    origin_hits = edge.metric(OK)
    assert origin_hits == 1
    for _ in range(20):
        status, headers, _ = get(varnish.base + "/p/shop/pb.js")
        assert (status, headers["X-Cache"]) == (200, "HIT")
    assert edge.metric(OK) == origin_hits
    assert "Surrogate-Key" not in headers, "the VCL keeps the keys for itself"


def test_gzip_and_identity_clients_each_get_the_right_bytes(stack):
    edge, varnish = stack
    _, direct_headers, identity = get(edge.base + "/p/shop/pb.js", gzip_ok=False)
    assert "Content-Encoding" not in direct_headers
    status, headers, body = get(varnish.base + "/p/shop/pb.js")
    assert headers["Content-Encoding"] == "gzip"
    assert headers["Vary"] == "Accept-Encoding"
    assert gzip.decompress(body) == identity
    status, headers, body = get(varnish.base + "/p/shop/pb.js", gzip_ok=False)
    assert status == 200
    assert "Content-Encoding" not in headers
    assert body == identity
    assert headers["X-Cache"] == "HIT", "one gzip object serves both: Varnish gunzips for identity clients"


def test_br_clients_get_the_br_bytes_from_an_object_of_their_own(stack):
    edge, varnish = stack
    browser = {"Accept-Encoding": "gzip, deflate, br, zstd"}
    _, direct_headers, direct = get(edge.base + "/p/shop/pb.js", headers=browser)
    assert direct_headers["Content-Encoding"] == "br"
    status, headers, body = get(varnish.base + "/p/shop/pb.js", headers=browser)
    assert (status, headers["Content-Encoding"], headers["X-Cache"]) == (200, "br", "MISS")
    assert body == direct
    status, headers, body = get(varnish.base + "/p/shop/pb.js", headers=browser)
    assert (status, headers["Content-Encoding"], headers["X-Cache"], body) == (200, "br", "HIT", direct)
    # A gzip-only client is not served the br object.
    status, headers, body = get(varnish.base + "/p/shop/pb.js")
    assert headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(body)
    status, headers, _ = get(varnish.base + "/p/shop/pb.js", headers={"Accept-Encoding": "gzip, br;q=0"})
    assert headers["Content-Encoding"] == "gzip"


def test_after_the_ttl_varnish_revalidates_and_pixeledge_answers_304(short_ttl_stack):
    edge, varnish = short_ttl_stack
    _, _, first = get(varnish.base + "/p/shop/pb.js")
    assert edge.metric(OK) == 1
    assert edge.metric(NOT_MODIFIED) == 0

    def revalidated():
        status, _, body = get(varnish.base + "/p/shop/pb.js")
        assert (status, body) == (200, first)
        return edge.metric(NOT_MODIFIED) >= 1

    eventually(revalidated, timeout=15, message="a 304 revalidation once the 1 s s-maxage has passed")
    assert edge.metric(OK) == 1, "revalidation cost no second body"


def test_a_changed_pixel_is_purged_by_its_surrogate_key(stack):
    edge, varnish = stack
    _, _, before = get(varnish.base + "/p/shop/pb.js", gzip_ok=False)
    assert CODE.encode() in before
    assert get(varnish.base + "/p/shop/pb.js")[1]["X-Cache"] == "HIT"
    edge.cli("pixels", "set", "shop", "--tiktok-pixel-code", NEW_CODE)

    def new_bundle_through_varnish():
        _, headers, body = get(varnish.base + "/p/shop/pb.js", gzip_ok=False)
        return NEW_CODE.encode() in body

    # PixelEdge picks the change up (≤ 1 s), serves it, then purges Varnish: no waiting for s-maxage (1 h).
    eventually(new_bundle_through_varnish, timeout=10, message="the new bundle through Varnish")
    assert any("purged the CDN's copy" in line for line in edge.output)


def test_a_purge_by_hand_as_the_readme_shows(stack):
    edge, varnish = stack
    get(varnish.base + "/p/shop/pb.js")
    assert get(varnish.base + "/p/shop/pb.js")[1]["X-Cache"] == "HIT"
    status, _, body = get(varnish.base + "/", method="PURGE", headers={"Surrogate-Key": "pixel-shop"})
    assert status == 200
    assert get(varnish.base + "/p/shop/pb.js")[1]["X-Cache"] == "MISS"
    get(varnish.base + "/pb.js?id=shop")
    status, _, _ = get(varnish.base + "/", method="PURGE", headers={"Surrogate-Key": "pixel-other"})
    assert get(varnish.base + "/pb.js?id=shop")[1]["X-Cache"] == "HIT", "another pixel's purge leaves this one"


def test_with_pixeledge_stopped_varnish_keeps_serving_the_last_bundle(short_ttl_stack):
    edge, varnish = short_ttl_stack
    status, _, first = get(varnish.base + "/p/shop/pb.js")
    assert status == 200
    edge.stop()

    def stale_but_served():
        status, headers, body = get(varnish.base + "/p/shop/pb.js")
        assert (status, body) == (200, first), "the origin is down, the bundle must still be served"
        return int(headers["Age"]) >= 2

    eventually(stale_but_served, timeout=15, message="a response older than its 1 s s-maxage")


def test_a_new_pixel_replaces_the_404_varnish_cached_for_it(stack):
    edge, varnish = stack
    status, _, _ = get(varnish.base + "/p/later/pb.js")
    assert status == 404
    status, headers, _ = get(varnish.base + "/p/later/pb.js")
    assert (status, headers["X-Cache"]) == (404, "HIT"), "the 404 is cached for its max-age=60"
    edge.cli("pixels", "set", "later", "--tiktok-pixel-code", NEW_CODE)
    eventually(lambda: get(varnish.base + "/p/later/pb.js")[0] == 200, timeout=10, message="the new pixel's bundle through Varnish")
