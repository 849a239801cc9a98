"""Prometheus rules: rendered from one source, valid for promtool 2.42, tested, documented.

Runs `promtool check rules` and `promtool test rules tests/rules/*_test.yml`, and checks what
promtool cannot: every alert has its annotations and a runbook heading, every alert has a
not-yet and a firing case, every series a rule reads is in the metric contract and declared
by the daemon, and every recorded series is documented.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from netwatch.base import catalog
from netwatch.config.thresholds import read_thresholds
from netwatch.generators import rules as alerting
from tests.conftest import ROOT, run_program

RULES = ROOT / "deploy" / "prometheus" / "rules"
RULE_TESTS = ROOT / "tests" / "rules"
RUNBOOKS = ROOT / "docs" / "runbooks.md"
RECORDING_DOC = ROOT / "docs" / "recording-rules.md"

# every sample name the daemon exports (histograms with their series); `up` is Prometheus' own
CONTRACT = catalog.sample_names()
PROMETHEUS_OWN = {"up"}
SEVERITIES = {"critical", "warning", "info"}
ALERT_NAME = re.compile(r"^Netwatch[A-Z][A-Za-z]+$")
RECORD_NAME = re.compile(
    r"^(device|uplink|interface|site|kecamatan|isp|city):netwatch_[a-z_]+:[a-z0-9_]+$")
QUERY_IN_TEMPLATE = re.compile(r"`([^`]*)`")


def _rule_files() -> list[Path]:
    return sorted(RULES.glob("*.yml"))


def _rules(kind: str) -> list[dict[str, Any]]:
    found = []
    for path in _rule_files():
        for group in yaml.safe_load(path.read_text())["groups"]:
            found += [r for r in group["rules"] if kind in r]
    return found


def _alerts() -> list[dict[str, Any]]:
    return _rules("alert")


def _anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes."""
    anchors = set()
    for line in markdown.splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            anchors.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return anchors


# --- one source --------------------------------------------------------------------------

def test_committed_rules_are_the_production_rendering() -> None:
    assert alerting.stale_rules() == [], "run: python -m netwatch.generators.rules render"


def test_test_profile_changes_timings_only() -> None:
    production = alerting.render_rules("production")
    test = alerting.render_rules("test")
    assert production.keys() == test.keys()
    for name in production:
        prod_rules = _flatten(yaml.safe_load(production[name]))
        test_rules = _flatten(yaml.safe_load(test[name]))
        assert [r.get("alert") or r.get("record") for r in prod_rules] == \
               [r.get("alert") or r.get("record") for r in test_rules]
        for prod, short in zip(prod_rules, test_rules, strict=True):
            assert prod["expr"] == short["expr"], "the test profile must not change expressions"
            assert prod.get("labels") == short.get("labels")
    site_down = _by_alert(test, "NetwatchSiteDown")
    assert site_down["for"] == "15s"


def test_overrides_reach_the_rules_and_unknown_names_fail() -> None:
    rendered = alerting.render_rules("test", overrides={"site_down_for": "7s"})
    assert _by_alert(rendered, "NetwatchSiteDown")["for"] == "7s"
    with pytest.raises(alerting.RenderError, match="no_such_threshold"):
        alerting.render_rules("test", overrides={"no_such_threshold": 1})
    with pytest.raises(alerting.RenderError, match="no profile"):
        alerting.render_rules("staging")


def test_placeholders_must_be_defined_and_thresholds_used(tmp_path: Path) -> None:
    packaged = sorted(alerting.templates())
    assert [p.name for p in packaged] == ["netwatch-alerts.yml", "netwatch-recording.yml"]
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / packaged[0].name).write_bytes(packaged[0].read_bytes())
    with pytest.raises(alerting.RenderError, match=r"no template uses: .*'link_roles'"):
        alerting.render_rules(template_dir=templates)  # the recording rules' names unused
    (templates / packaged[1].name).write_bytes(packaged[1].read_bytes())
    (templates / "x.yml").write_text(
        "groups: [{name: g, rules: [{alert: A, expr: up, for: ${site_down_for}}]}]\n")
    assert "for: 2m" in alerting.render_rules(template_dir=templates)["x.yml"]
    (templates / "x.yml").write_text(
        "groups: [{name: g, rules: [{alert: A, expr: up, for: ${b_for}}]}]\n")
    with pytest.raises(alerting.RenderError, match="b_for"):
        alerting.render_rules(template_dir=templates)


def test_a_thresholds_override_reaches_every_rule(tmp_path: Path) -> None:
    override = tmp_path / "thresholds.yml"
    override.write_text("runbook_base_url: https://noc.example.org/runbooks\n"
                        "rules: {site_down_for: 4m, link_saturated_ratio: 0.8}\n"
                        "dashboards: {utilization_warn_ratio: 0.6}\n")
    rendered = alerting.render_rules(thresholds=read_thresholds(override))
    assert _by_alert(rendered, "NetwatchSiteDown")["for"] == "4m"
    assert "> 0.8\n" in _by_alert(rendered, "NetwatchLinkSaturated")["expr"]
    for text in rendered.values():
        for rule in _flatten(yaml.safe_load(text)):
            if "alert" in rule:
                assert rule["annotations"]["runbook_url"] == \
                    f"https://noc.example.org/runbooks#{rule['alert'].lower()}"


def _flatten(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [rule for group in doc["groups"] for rule in group["rules"]]


def _by_alert(rendered: dict[str, str], name: str) -> dict[str, Any]:
    for text in rendered.values():
        for rule in _flatten(yaml.safe_load(text)):
            if rule.get("alert") == name:
                return rule
    raise AssertionError(f"no alert {name}")


# --- promtool ----------------------------------------------------------------------------

def test_promtool_check_rules(promtool: str) -> None:
    result = run_program(promtool, "check", "rules", *_rule_files())
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_check_rules_test_profile(promtool: str, tmp_path: Path) -> None:
    written = alerting.write_rules(tmp_path, profile="test")
    result = run_program(promtool, "check", "rules", *written)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests(promtool: str) -> None:
    files = sorted(RULE_TESTS.glob("*_test.yml"))
    assert files
    result = run_program(promtool, "test", "rules", *files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_not_yet_and_a_firing_case() -> None:
    quiet: set[str] = set()
    firing: dict[str, list[dict[str, Any]]] = {}
    for path in RULE_TESTS.glob("*_test.yml"):
        for test in yaml.safe_load(path.read_text())["tests"]:
            for case in test.get("alert_rule_test", []):
                if case.get("exp_alerts"):
                    firing.setdefault(case["alertname"], []).extend(case["exp_alerts"])
                else:
                    quiet.add(case["alertname"])
    names = {a["alert"] for a in _alerts()}
    assert names - quiet == set(), "alerts without a case where they must not fire"
    assert names - set(firing) == set(), "alerts without a case where they fire"
    for name, expected in firing.items():
        for alert in expected:
            assert {"summary", "description", "runbook_url"} <= set(alert["exp_annotations"]), name
            assert "severity" in alert["exp_labels"], name


# --- annotations and runbooks -----------------------------------------------------------

def test_alerts_are_named_and_labelled() -> None:
    alerts = _alerts()
    assert len(alerts) >= 18
    names = [a["alert"] for a in alerts]
    assert len(names) == len(set(names))
    for alert in alerts:
        assert ALERT_NAME.match(alert["alert"]), alert["alert"]
        assert alert["labels"]["severity"] in SEVERITIES, alert["alert"]


def test_every_alert_has_bilingual_annotations_and_a_runbook() -> None:
    anchors = _anchors(RUNBOOKS.read_text())
    for alert in _alerts():
        ann = alert["annotations"]
        name = alert["alert"]
        assert ann.get("summary") and ann.get("description"), name
        assert " / " in ann["summary"], f"{name}: summary needs 'Indonesian / English'"
        assert len(ann["description"].splitlines()) >= 2, f"{name}: Indonesian line, English line"
        url, _, anchor = ann["runbook_url"].partition("#")
        assert url.endswith("/docs/runbooks.md"), name
        assert anchor == name.lower(), name
        assert anchor in anchors, f"{name}: no heading '## {name}' in docs/runbooks.md"


def test_every_runbook_heading_has_an_alert() -> None:
    names = {a["alert"] for a in _alerts()}
    headings = {line[3:].strip() for line in RUNBOOKS.read_text().splitlines()
                if line.startswith("## ")}
    assert headings == names


def test_annotations_are_safe_for_telegram_html() -> None:
    """Telegram's HTML mode rejects a bare <, > or &; template actions are not sent."""
    for alert in _alerts():
        for key, text in alert["annotations"].items():
            sent = re.sub(r"\{\{.*?\}\}", "", text)
            assert not re.search(r"[<>&]", sent), f"{alert['alert']}.{key}: {sent!r}"


# --- the contract ---------------------------------------------------------------------------

def _series_read() -> dict[str, set[str]]:
    """Per rule: the metric names its expression and its annotation queries read."""
    read = {}
    for index, rule in enumerate(_rules("expr")):
        names = alerting.series_read(rule["expr"])
        for text in rule.get("annotations", {}).values():
            for query in QUERY_IN_TEMPLATE.findall(text):
                names |= alerting.series_read(query)
        read[f'{rule.get("alert") or rule["record"]} (rule {index})'] = names
    return read


def test_series_read_extracts_metric_names() -> None:
    expr = ('sum by (site, le) (rate(netwatch_icmp_rtt_seconds_bucket{job="netwatch",'
            'role=~"router|ap"}[5m])) and on (site) max(netwatch_up offset 5m) > bool 0'
            ' unless absent(up{job="x"}) @ end()')
    assert alerting.series_read(expr) == {"netwatch_icmp_rtt_seconds_bucket", "netwatch_up", "up"}


def test_every_series_read_is_in_the_contract() -> None:
    recorded = {r["record"] for r in _rules("record")}
    for rule, names in _series_read().items():
        unknown = names - CONTRACT - recorded - PROMETHEUS_OWN
        assert not unknown, f"{rule} reads series outside the contract: {sorted(unknown)}"


def test_every_netwatch_series_read_is_declared_by_the_daemon() -> None:
    """A rename in the daemon must not leave a rule reading nothing."""
    source = "\n".join(p.read_text(errors="replace")
                       for p in (ROOT / "netwatch").rglob("*") if p.suffix in (".py", ".yml"))
    read = set().union(*_series_read().values()) & CONTRACT
    missing = set()
    for name in read:
        family = re.sub(r"_(bucket|sum|count)$", "", name) if "seconds_" in name else name
        if f'"{family}"' not in source and f'"{family.removesuffix("_total")}"' not in source:
            missing.add(name)
    assert not missing, f"series the rules read that no netwatch module declares: {sorted(missing)}"


def test_recording_rules_are_named_and_documented() -> None:
    doc = RECORDING_DOC.read_text()
    documented = set(re.findall(r"^\| `([a-z]+:[a-z0-9_]+:[a-z0-9_]+)`", doc, re.MULTILINE))
    recorded = {r["record"] for r in _rules("record")}
    for name in recorded:
        assert RECORD_NAME.match(name), name
    assert recorded - documented == set(), "recorded but not in docs/recording-rules.md"
    assert documented - recorded == set(), "documented but not recorded"


def test_rules_select_the_netwatch_job_and_hard_code_no_sites() -> None:
    for rule in _rules("expr"):
        expr = rule["expr"]
        for selector in re.findall(r"\b(netwatch_[a-z_]+|up)\{([^}]*)\}", expr):
            name = rule.get("alert") or rule["record"]
            assert 'job="netwatch"' in selector[1], f"{name}: {selector}"
        assert not re.search(r"site=~?\"", expr), "no hard-coded sites in rules"
        assert not re.search(r"kecamatan=~?\"", expr), "no hard-coded kecamatan in rules"


def test_command_line_check_and_render(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert alerting._main(["check"]) == 0
    # either would overwrite the committed files with other values
    for other in (["--profile", "test"], ["--thresholds", str(tmp_path / "t.yml")]):
        with pytest.raises(SystemExit) as refused:
            alerting._main(["render", *other])
        assert refused.value.code == 2
        assert "--out is required with --profile or --thresholds" in capsys.readouterr().err
    assert alerting._main(["render", "--profile", "test", "--out", str(tmp_path)]) == 0
    assert "for: 15s" in (tmp_path / "netwatch-alerts.yml").read_text()
    assert alerting._main(["check", "--out", str(tmp_path)]) == 1  # test timings, not production

    override = tmp_path / "city.yml"
    override.write_text("rules: {site_down_for: 3m}\n")
    out = tmp_path / "city-rules"
    assert alerting._main(["render", "--thresholds", str(override), "--out", str(out)]) == 0
    assert _by_alert({"a": (out / "netwatch-alerts.yml").read_text()},
                     "NetwatchSiteDown")["for"] == "3m"
    assert f"with {override} over it" in (out / "netwatch-alerts.yml").read_text()
    assert alerting._main(["check", "--thresholds", str(override), "--out", str(out)]) == 0
    assert alerting._main(["check", "--out", str(out)]) == 1

    override.write_text("rules: {site_down_fo: 3m}\n")
    capsys.readouterr()
    assert alerting._main(["render", "--thresholds", str(override), "--out", str(out)]) == 2
    assert f"{override}:1: rules.site_down_fo: unknown rule setting" in capsys.readouterr().err


def test_alerting_doc_lists_every_alert_with_its_severity_and_for() -> None:
    rows = re.findall(r"^\| (Netwatch\w+) \| (\w+) \| .* \| ([\w—]+) \|$",
                      (ROOT / "docs" / "alerting.md").read_text(), re.MULTILINE)
    documented = {name: (severity, duration) for name, severity, duration in rows}
    alerts = {a["alert"]: (a["labels"]["severity"], a.get("for", "—")) for a in _alerts()}
    assert documented == alerts
