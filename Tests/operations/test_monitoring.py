"""The operator's kit of issue 23 that Prometheus and Grafana read (Operations/): the alert rules pass
`promtool check rules` and their unit tests (`promtool test rules`), and every metric the rules and the
dashboard name exists in the /metrics of a running server that has done what each metric counts."""
import json
import re
import subprocess

import yaml

from conftest import ROOT, FakeEventsAPI, PixelEdge, eventually, http_request, require_tool

RULES = ROOT / "Operations/prometheus/pixeledge-alerts.yml"
RULE_TESTS = ROOT / "Operations/prometheus/pixeledge-alerts.test.yml"
DASHBOARD = ROOT / "Operations/grafana/pixeledge-dashboard.json"
CODE = "C4ABCDEFGHIJKLMNOPQR"
REFUSED_TOKEN = "r" * 64


def metric_names(text):
    """The metric names an expression or a file names (a histogram's series by their family)."""
    return {re.sub(r"_(bucket|sum|count)$", "", name) for name in re.findall(r"\bpixeledge_[a-z_]+", text)}


def test_the_alert_rules_are_valid_and_their_unit_tests_pass():
    promtool = require_tool("promtool", "apt-get install prometheus")
    checked = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 7 rules found" in checked.stdout
    tested = subprocess.run([promtool, "test", "rules", str(RULE_TESTS)], capture_output=True, text=True, cwd=RULE_TESTS.parent)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    # Every alert has a unit test.
    alerts = set(re.findall(r"- alert: (\w+)", RULES.read_text()))
    assert alerts == set(re.findall(r"alertname: (\w+)", RULE_TESTS.read_text()))


def test_every_metric_the_rules_and_the_dashboard_use_exists():
    dashboard = json.loads(DASHBOARD.read_text())
    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    rules = [rule["expr"] for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]
    used = metric_names("\n".join(rules + expressions)) | metric_names(json.dumps(dashboard["templating"]))
    assert len(used) >= 15

    api = FakeEventsAPI()
    # A token TikTok answers 40002 for: its events fail, so that the failure counters exist.
    api.token_answers[REFUSED_TOKEN] = {"code": 40002, "message": "Invalid event"}
    server = PixelEdge("--tiktok-api-base", api.base, "--forward-window-ms", "50",
                       pixels={"shop": ["--tiktok-pixel-code", CODE, "--tiktok-access-token", "t" * 64],
                               "refused": ["--tiktok-pixel-code", CODE, "--tiktok-access-token", REFUSED_TOKEN]})
    try:
        assert http_request("GET", f"{server.base}/p/shop/pb.js")[0] == 200
        for pixel in ("shop", "refused"):
            body = json.dumps({"pixel": pixel, "event": "Lead", "event_id": f"{pixel}-1"}).encode()
            assert http_request("POST", f"{server.base}/collect", body, {"Content-Type": "text/plain"})[0] == 204
        # A body /collect refuses, and a request that closes its connection.
        assert http_request("POST", f"{server.base}/collect", b"{", {"Content-Type": "text/plain"})[0] == 400
        assert http_request("GET", f"{server.base}/p/shop/pb.js", headers={"Content-Length": "x"})[0] == 400
        def missing():
            return used - metric_names(http_request("GET", f"{server.base}/metrics")[2].decode())

        # The refused event's failure and the forward's histogram come once the forwarder has had its answers.
        try:
            eventually(lambda: not missing(), timeout=15, message="every metric named by Operations/ in /metrics")
        finally:
            assert missing() == set(), f"named by Operations/ but not in /metrics: {sorted(missing())}"
    finally:
        server.close()
        api.close()
