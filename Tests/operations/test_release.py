"""The release artefact (issue 23): Operations/release builds a self-contained binary and a tarball with
Templates/, Public/, the systemd unit and an example environment file. Unpacked outside the checkout, with
no Swift toolchain on its library path, its binary sets a pixel and serves its bundle; the unit passes
`systemd-analyze verify` with the tarball installed where the unit expects it."""
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from conftest import ROOT, free_port, http_request, require_tool


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory):
    output = tmp_path_factory.mktemp("dist")
    # Tests/run builds it once and says where (PIXELEDGE_RELEASE_TARBALL); alone, this test builds it.
    tarball = os.environ.get("PIXELEDGE_RELEASE_TARBALL")
    if not tarball:
        built = subprocess.run([str(ROOT / "Operations/release"), "--output", str(output)], capture_output=True, text=True)
        assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
        tarball = built.stdout.strip().splitlines()[-1]
    target = tmp_path_factory.mktemp("opt")
    with tarfile.open(tarball) as archive:
        archive.extractall(target, filter="data")
    [root] = list(target.iterdir())
    return root


def clean_environment():
    """No Swift toolchain anywhere the binary could look: PATH without it, no LD_LIBRARY_PATH."""
    path = ":".join(part for part in os.environ.get("PATH", "").split(":") if "swift" not in part.lower())
    return {"PATH": path or "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp")}


def test_the_tarball_holds_what_a_server_needs(unpacked):
    for relative in ["bin/pixel-edge", "Templates/pb-tiktok-collect.js.mustache", "Templates/pb-extras.js.mustache", "Public/admin/console.js",
                     "pixel-edge.service", "pixel-edge.env.example", "prometheus/pixeledge-alerts.yml", "grafana/pixeledge-dashboard.json", "VERSION"]:
        assert (unpacked / relative).exists(), relative
    assert not (unpacked / "Templates/src").exists()
    linked = subprocess.run(["ldd", str(unpacked / "bin/pixel-edge")], capture_output=True, text=True).stdout
    assert "libswift" not in linked and "libFoundation" not in linked, linked


def test_its_binary_serves_a_bundle_from_outside_the_checkout_without_a_toolchain(unpacked, tmp_path):
    binary = unpacked / "bin/pixel-edge"
    database = tmp_path / "pixels.sqlite"
    environment = clean_environment()
    subprocess.run([str(binary), "pixels", "set", "shop", "--tiktok-pixel-code", "C4ABCDEFGHIJKLMNOPQR", "--database", str(database)],
                   check=True, capture_output=True, env=environment, cwd=tmp_path)
    port = free_port()
    process = subprocess.Popen([str(binary), "serve"], cwd=unpacked, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**environment, "PIXELEDGE_PORT": str(port), "PIXELEDGE_DATABASE": str(database)})
    try:
        for line in process.stdout:
            if "PixelEdge listening on" in line:
                break
        else:
            pytest.fail(f"the release binary exited with {process.wait()}")
        status, headers, body = http_request("GET", f"http://127.0.0.1:{port}/p/shop/pb.js", headers={"Accept-Encoding": "gzip"})
        assert status == 200 and headers["Content-Encoding"] == "gzip" and len(body) > 1000
    finally:
        process.terminate()
        assert process.wait(timeout=30) == 0, "SIGTERM drains and exits 0"


def test_the_systemd_unit_verifies(unpacked, tmp_path):
    analyze = require_tool("systemd-analyze", "apt-get install systemd")
    # The unit as installed, its paths pointing at the unpacked tarball (/opt/pixel-edge) and an environment
    # file made from the example (/etc/pixel-edge): what `systemd-analyze verify` checks exists.
    environment_file = tmp_path / "pixel-edge.env"
    shutil.copy(unpacked / "pixel-edge.env.example", environment_file)
    text = (unpacked / "pixel-edge.service").read_text()
    for setting in ["User=pixel-edge", "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
                    "StateDirectory=pixel-edge", "LimitNOFILE=", "Restart=on-failure", "KillSignal=SIGTERM", "TimeoutStopSec="]:
        assert setting in text, setting
    unit = tmp_path / "pixel-edge.service"
    unit.write_text(text.replace("/etc/pixel-edge/pixel-edge.env", str(environment_file)).replace("/opt/pixel-edge", str(unpacked)))
    verified = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    # What verify reads with no complaint is all it reads: nothing it warned about either.
    assert "pixel-edge.service" not in verified.stderr, verified.stderr
