"""A 204 from /collect is an event on the disk, not only in the kernel's cache: the commit behind it syncs
SQLite's WAL (fdatasync), which `strace` shows. (GRDB's pool once set its writer to synchronous = NORMAL
behind PixelEdge's back, and no commit was synced: `SQLiteDurabilityTests` reads the setting, this the
system calls.)"""
import shutil
import subprocess

import pytest

from conftest import PixelEdge, http_request

CODE = "C4ABCDEFGHIJKLMNOPQR"


def test_each_accepted_event_is_synced_to_the_disk_before_its_answer(tmp_path):
    if not shutil.which("strace"):
        pytest.fail("strace is not installed: apt-get install strace (Tests/run installs it)")
    # No forwarding within the test (an unreachable API, a window longer than it): only /collect commits.
    server = PixelEdge("--tiktok-api-base", "http://127.0.0.1:9", "--forward-window-ms", "600000",
                       pixels={"shop": ["--tiktok-pixel-code", CODE, "--tiktok-access-token", "T" * 64]})
    trace = tmp_path / "trace"
    try:
        tracer = subprocess.Popen(["strace", "-f", "-e", "trace=fdatasync,fsync", "-o", trace, "-p", str(server.process.pid)],
                                  stderr=subprocess.PIPE, text=True)
        # strace says when it holds every thread; a request before that could commit unseen.
        for line in tracer.stderr:
            if "attached" in line:
                break
        else:
            pytest.fail(f"strace did not attach (exit {tracer.wait()})")
        body = '{"pixel":"shop","event":"Lead","event_id":"e-%d"}'
        statuses = [http_request("POST", f"{server.base}/collect", (body % number).encode(), {"Content-Type": "text/plain"})[0]
                    for number in range(3)]
        tracer.terminate()
        tracer.wait(timeout=10)
    finally:
        server.close()
    assert statuses == [204, 204, 204]
    with open(trace) as file:
        syncs = [line for line in file if "fdatasync(" in line or "fsync(" in line]
    # One per commit: the three requests, one after another, are three group commits.
    assert len(syncs) >= 3, f"{len(syncs)} syncs for 3 accepted events: {syncs}"
