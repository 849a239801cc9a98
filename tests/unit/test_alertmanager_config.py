"""Alertmanager config: valid for Debian's amtool 0.25, routes, grouping, templates, placeholders,
and the test variant the end-to-end test uses."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from netwatch.generators import rules as alerting
from tests import alert_timing
from tests.conftest import ROOT, run_program

AM_DIR = ROOT / "deploy" / "alertmanager"
CONFIG = AM_DIR / "alertmanager.yml"
TEMPLATES = AM_DIR / "templates"
# keys of newer releases, documented in comments only (0.25 rejects them)
NEWER_ONLY = ("bot_token_file", "message_thread_id", "url_file")


def _config() -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load(CONFIG.read_text())
    return config


def _alert_names() -> set[str]:
    names = set()
    for path in (ROOT / "deploy" / "prometheus" / "rules").glob("*.yml"):
        for group in yaml.safe_load(path.read_text())["groups"]:
            names |= {r["alert"] for r in group["rules"] if "alert" in r}
    return names


def _walk(route: dict[str, Any]) -> list[dict[str, Any]]:
    return [route, *(r for child in route.get("routes", []) for r in _walk(child))]


def test_amtool_check_config_with_templates(amtool: str) -> None:
    result = run_program(amtool, "check-config", CONFIG)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_newer_only_keys_stay_in_comments() -> None:
    text = CONFIG.read_text()
    code = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    for key in NEWER_ONLY:
        assert key in text, f"{key} should be documented in a comment"
        assert key not in code, f"{key} is not accepted by Alertmanager 0.25"


@pytest.mark.parametrize(("labels", "receivers"), [
    (["severity=critical", "kecamatan=Kedaton"],
     "noc-telegram,oncall-whatsapp,tim-utara-telegram"),
    (["severity=critical", "kecamatan=Panjang"],
     "noc-telegram,oncall-whatsapp,tim-selatan-telegram"),
    (["severity=critical", "alertname=NetwatchScrapeDown"], "noc-telegram,oncall-whatsapp"),
    (["severity=warning", "kecamatan=Kedaton"], "noc-telegram"),
    (["severity=info", "kecamatan=Kedaton"], "noc-email"),
])
def test_routes_by_severity_and_kecamatan(amtool: str, labels: list[str], receivers: str) -> None:
    result = run_program(amtool, "config", "routes", "test", f"--config.file={CONFIG}", *labels)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == receivers


def test_every_kecamatan_has_a_field_team() -> None:
    rows = (ROOT / "netwatch/lab/data/bandarlampung_kecamatan.csv").read_text().splitlines()
    kecamatan = [line.split(",")[1] for line in rows[1:]]
    critical = next(r for r in _config()["route"]["routes"]
                    if r["matchers"] == ['severity="critical"'])
    found = [re.fullmatch(r'kecamatan=~"(.*)"', m)
             for r in critical["routes"] for m in r.get("matchers", [])]
    assert all(found), "every field team's route matches on kecamatan"
    patterns = [f.group(1) for f in found if f]
    for name in kecamatan:
        teams = [p for p in patterns if re.fullmatch(p, name)]
        assert len(teams) == 1, f"{name}: {len(teams)} field teams"


def test_grouping_makes_one_notification_per_area() -> None:
    routes = _walk(_config()["route"])
    assert routes[0]["group_by"] == ["kecamatan"]
    for route in routes[1:]:
        # a child that groups by site or alertname would split an area outage again
        assert route.get("group_by", ["kecamatan"]) == ["kecamatan"]


def test_quiet_hours_only_hold_warnings_and_info() -> None:
    for route in _walk(_config()["route"]):
        if route.get("mute_time_intervals") or route.get("active_time_intervals"):
            assert route["matchers"] in (['severity="warning"'], ['severity="info"'])
    names = {t["name"] for t in _config()["time_intervals"]}
    assert names == {"jam-tenang", "jam-kerja"}


def test_inhibition_names_existing_alerts() -> None:
    alerts = _alert_names()
    for rule in _config()["inhibit_rules"]:
        for matcher in rule["source_matchers"] + rule["target_matchers"]:
            parsed = re.fullmatch(r'(\w+)(=~|=)"(.*)"', matcher)
            assert parsed is not None, matcher
            name, op, value = parsed.groups()
            assert name == "alertname"
            if op == "=":
                assert value in alerts, matcher
            else:
                for alternative in _expand(value):
                    assert any(re.fullmatch(alternative, a) for a in alerts), (matcher, alternative)


def _expand(pattern: str) -> list[str]:
    """'A(B|C)|D.*' -> ['AB', 'AC', 'D.*']: every alternative, so a renamed alert is caught."""
    depth, parts, start = 0, [], 0
    for i, char in enumerate(pattern):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
    parts.append(pattern[start:])
    if len(parts) > 1:
        return [x for part in parts for x in _expand(part)]
    group = re.search(r"\(([^()]*)\)", pattern)
    if group is None:
        return [pattern]
    head, tail = pattern[:group.start()], pattern[group.end():]
    return [x for choice in group.group(1).split("|") for x in _expand(head + choice + tail)]


def test_placeholders_are_obviously_placeholders() -> None:
    text = CONFIG.read_text()
    code = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    hosts = re.findall(r"https?://([^/:\s'\"]+)", code) + re.findall(r"smarthost: ([^:\s]+)", code)
    for host in hosts:
        assert host == "api.telegram.org" or host.endswith(".example.invalid"), host
    for address in re.findall(r"[\w.+-]+@([\w.-]+)", code):
        assert address.endswith("example.invalid"), address
    assert not re.search(r"\b\d{1,3}(\.\d{1,3}){3}\b", code), "no IP addresses"
    for receiver in _config()["receivers"]:
        for telegram in receiver.get("telegram_configs", []):
            assert telegram["bot_token"].startswith("PLACEHOLDER")
            assert re.fullmatch(r"-10{8,}\d", str(telegram["chat_id"])), telegram["chat_id"]


def _render(amtool: str, tmp_path: Path, template: str, data: dict[str, Any]) -> str:
    data_file = tmp_path / "data.json"
    data_file.write_text(json.dumps(data))
    result = run_program(amtool, "template", "render", f"--template.glob={TEMPLATES}/*.tmpl",
                  f"--template.text={{{{ template \"{template}\" . }}}}",
                  f"--template.data={data_file}")
    assert result.returncode == 0, result.stderr
    return result.stdout


def _sample(status: str = "firing", cause: str | None = None) -> dict[str, Any]:
    alert: dict[str, Any] = {
        "status": status,
        "labels": {"alertname": "NetwatchSiteDown", "severity": "critical",
                   "site": "18.71.01.1001", "kecamatan": "Kedaton"},
        "annotations": {"kelurahan": "Sidodadi",
                        "summary": "Site 18.71.01.1001 putus (Kec. Kedaton) / Site down",
                        "description": "Router tidak menjawab.\nThe router does not answer.",
                        "runbook_url": "https://netwatch.example.invalid/docs/runbooks.md#netwatchsitedown"},
        "startsAt": "2026-11-29T16:00:00Z",
        "endsAt": "2026-11-29T16:30:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
    }
    if cause is not None:
        alert["annotations"]["cause"] = cause
    return {"receiver": "noc-telegram", "status": status, "alerts": [alert],
            "groupLabels": {"kecamatan": "Kedaton"},
            "commonLabels": alert["labels"], "commonAnnotations": alert["annotations"],
            "externalURL": "http://alertmanager.example.invalid:9093"}


def test_telegram_message_in_indonesian_and_english(amtool: str, tmp_path: Path) -> None:
    text = _render(amtool, tmp_path, "netwatch.telegram.message", _sample())
    assert "<b>KRITIS / CRITICAL</b> · Kec. Kedaton · 1 aktif / firing" in text
    assert "<b>Site 18.71.01.1001 putus (Kec. Kedaton) / Site down</b>" in text
    assert "Sidodadi · 18.71.01.1001 · sejak / since" in text
    assert "Router tidak menjawab.\nThe router does not answer." in text
    assert '<a href="https://netwatch.example.invalid/docs/runbooks.md#netwatchsitedown">' in text
    resolved = _render(amtool, tmp_path, "netwatch.telegram.message", _sample("resolved"))
    assert "PULIH / RESOLVED" in resolved and "✅ Site 18.71.01.1001" in resolved


def test_the_cause_is_on_every_alert_line(amtool: str, tmp_path: Path) -> None:
    text = _render(amtool, tmp_path, "netwatch.telegram.message", _sample(cause="power"))
    assert "Sidodadi · 18.71.01.1001 · sebab / cause: <b>power</b> · sejak / since" in text
    body = _render(amtool, tmp_path, "netwatch.email.text", _sample(cause="power"))
    assert "18.71.01.1001 · sebab / cause: power · sejak / since" in body


def test_email_subject_and_text(amtool: str, tmp_path: Path) -> None:
    subject = _render(amtool, tmp_path, "netwatch.email.subject", _sample())
    assert subject.strip() == ("[netwatch] KRITIS / CRITICAL · Kec. Kedaton · "
                               "Site 18.71.01.1001 putus (Kec. Kedaton) / Site down")
    body = _render(amtool, tmp_path, "netwatch.email.text", _sample())
    assert "AKTIF / FIRING (1)" in body and "Runbook: https://" in body


def test_test_variant_keeps_routes_and_shortens_waits(amtool: str, tmp_path: Path) -> None:
    config = alerting.alertmanager_config("http://127.0.0.1:9/hook")
    routes = _walk(config["route"])
    assert config["route"]["group_by"] == ["kecamatan"]
    assert config["route"]["group_wait"] == "2s"
    for route in routes:
        assert "mute_time_intervals" not in route and "active_time_intervals" not in route
        for key in alerting.AM_TIMINGS:
            assert route.get(key) in (None, *alert_timing.alertmanager_waits().values())
    assert [r["name"] for r in config["receivers"]] == [r["name"] for r in _config()["receivers"]]
    for receiver in config["receivers"]:
        assert receiver["webhook_configs"] == [
            {"url": f"http://127.0.0.1:9/hook/{receiver['name']}", "send_resolved": True}]
    assert config["inhibit_rules"] == _config()["inhibit_rules"]
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config))
    result = run_program(amtool, "check-config", path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " - 1 templates" in result.stdout  # the real templates, by absolute path

