"""The Grafana dashboards: generated, structurally sound, reading only netwatch's series.

No Grafana here: the JSON is checked for what Grafana needs and operators rely on (fixed
uids, unique panel ids, a unit and thresholds on every query panel, the `${datasource}`
variable everywhere, links that resolve); tests/integration/test_dashboards.py runs every
query against a real Prometheus.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import yaml

from grafana import generate
from grafana.dashgen import dashboards
from grafana.dashgen.common import UID
from grafana.dashgen.geo import GEO_DIR, PUBLIC_PATH
from grafana.dashgen.queries import (
    PARSE_VARIABLE,
    panel_queries,
    panels,
    substitute,
    variable_queries,
    variable_values,
)
from netwatch.config.thresholds import read_thresholds
from netwatch.generators import rules as alerting
from tests.conftest import ROOT
from tests.unit.test_alert_rules import CONTRACT

EXEMPT = {"row", "text"}  # panels without queries
DASHBOARDS = dashboards()
RECORDED = {r["record"] for path in (ROOT / "deploy/prometheus/rules").glob("*.yml")
            for g in yaml.safe_load(path.read_text())["groups"] for r in g["rules"]
            if "record" in r}


def query_panels() -> Iterator[tuple[str, dict[str, Any]]]:
    for uid, dash in DASHBOARDS.items():
        for panel in panels(dash):
            if panel["type"] not in EXEMPT:
                yield uid, panel


def test_committed_json_is_the_generators_output() -> None:
    assert generate.stale() == [], "run: .venv/bin/python grafana/generate.py"
    assert generate.main(["--check"]) == 0
    for name, text in generate.rendered().items():
        assert json.loads(text) == DASHBOARDS[name.removesuffix(".json")]


def test_check_reports_a_hand_edit(tmp_path: Path) -> None:
    generate.write(tmp_path, "offline")
    path = tmp_path / "netwatch-site.json"
    path.write_text(path.read_text().replace('"Traffic"', '"Trafik"'))
    (tmp_path / "extra.json").write_text("{}")
    assert generate.stale(tmp_path) == ["extra.json", "netwatch-site.json"]
    assert generate.main(["--check", "--out", str(tmp_path)]) == 1


def test_uids_are_fixed_and_unique() -> None:
    assert set(DASHBOARDS) == set(UID.values())
    assert all(d["uid"] == uid for uid, d in DASHBOARDS.items())
    assert len({d["title"] for d in DASHBOARDS.values()}) == len(DASHBOARDS)


def test_panel_ids_are_unique_per_dashboard() -> None:
    for uid, dash in DASHBOARDS.items():
        ids = [p["id"] for p in panels(dash)]
        assert len(ids) == len(set(ids)) and all(isinstance(i, int) and i > 0 for i in ids), uid


def test_every_query_panel_has_a_unit_and_thresholds() -> None:
    for uid, panel in query_panels():
        defaults = panel.get("fieldConfig", {}).get("defaults", {})
        where = f"{uid}: {panel['title']}"
        assert defaults.get("unit"), f"{where}: no unit"
        steps = defaults.get("thresholds", {}).get("steps", [])
        assert steps and steps[0]["value"] is None, f"{where}: no thresholds"
        if panel["type"] == "heatmap":
            assert panel["options"]["yAxis"]["unit"] == "s", where


def test_queries_go_through_the_datasource_variable() -> None:
    for uid, dash in DASHBOARDS.items():
        variables = {v["name"]: v for v in dash["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource"
        assert variables["datasource"]["query"] == "prometheus"
        for v in variables.values():
            if v["type"] == "query":
                assert v["datasource"]["uid"] == "${datasource}", f"{uid}: {v['name']}"
        for panel in panels(dash):
            if panel["type"] in EXEMPT:
                continue
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
            assert panel["targets"], f"{uid}: {panel['title']} has no query"
            for target in panel["targets"]:
                assert target["datasource"]["uid"] == "${datasource}"
        uids = re.findall(r'"uid":\s*"([^"]*)"', json.dumps(dash))
        assert set(uids) <= {"${datasource}", uid}, f"{uid}: hard-coded data source {uids}"


def test_dashboards_are_tagged_and_linked_to_each_other() -> None:
    for uid, dash in DASHBOARDS.items():
        assert "netwatch" in dash["tags"]
        assert dash["timezone"] == "Asia/Jakarta"
        assert dash["schemaVersion"] >= 39
        others = [link for link in dash["links"] if link["title"] != "Runbooks"]
        linked = {urlsplit(link["url"]).path.removeprefix("/d/") for link in others}
        assert linked == set(DASHBOARDS) - {uid}, uid
        assert all(link["keepTime"] for link in others)


def _urls(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "url" and isinstance(value, str):
                yield value
            else:
                yield from _urls(value)
    elif isinstance(node, list):
        for item in node:
            yield from _urls(item)


def test_data_links_resolve_to_dashboards_and_their_variables() -> None:
    for uid, dash in DASHBOARDS.items():
        for panel in panels(dash):
            for link in _urls(panel):
                parts = urlsplit(link)
                target = parts.path.removeprefix("/d/")
                assert target in DASHBOARDS, f"{uid}/{panel['title']}: {link}"
                names = {v["name"] for v in DASHBOARDS[target]["templating"]["list"]}
                for key, _ in parse_qsl(parts.query.replace("${", "").replace("}", "")):
                    if key.startswith("var-"):
                        assert key[4:] in names, f"{uid}/{panel['title']}: {key} not in {target}"
                assert "${__url_time_range}" in link and "${datasource:queryparam}" in link


def test_two_clicks_from_the_wall_to_any_kelurahan() -> None:
    """Map markers, status tiles and tables of the wall link straight to the site dashboard."""
    wall = DASHBOARDS[UID["overview"]]
    linking = {p["title"] for p in panels(wall)
               if any(urlsplit(u).path == f"/d/{UID['site']}" for u in _urls(p))}
    assert {"Kelurahan map", "$kecamatan", "Sites down or unreachable"} <= linking
    tiles = next(p for p in panels(wall) if p["title"] == "$kecamatan")
    assert tiles["repeat"] == "kecamatan"  # one tile panel per kecamatan, every kelurahan a tile


def _metrics_read() -> dict[str, set[str]]:
    read: dict[str, set[str]] = {}
    for dash in DASHBOARDS.values():
        for q in panel_queries(dash):
            expr = re.sub(r"\$\{?\w+\}?", "x", q.expr)  # variables, macros: not series
            read[f"{q.dashboard}/{q.panel}/{q.ref}"] = alerting.series_read(expr)
        for v in variable_queries(dash):
            match = PARSE_VARIABLE.match(v.query)
            assert match, f"{v.dashboard}: variable {v.name}: {v.query}"
            expr = match.group("selector") or match.group("expr") or ""
            read[f"{v.dashboard}/${v.name}"] = alerting.series_read(
                re.sub(r"\$\{?\w+\}?", "x", expr))
    return read


def test_every_series_is_exported_by_the_daemon_or_recorded() -> None:
    allowed = CONTRACT | RECORDED | {"ALERTS", "up"}  # Prometheus' own
    for where, names in _metrics_read().items():
        assert names, f"{where}: reads no series"
        assert names <= allowed, f"{where} reads {sorted(names - allowed)}"


def test_substitute_replaces_macros_and_variables() -> None:
    expr = 'rate(x{site="$site", d=~"${device}"}[$__rate_interval]) * $__range_s / [$__range]'
    got = substitute(expr, {"site": "18.71.01.1003", "device": ".*"}, 300)
    assert got == 'rate(x{site="18.71.01.1003", d=~".*"}[1m]) * 300 / [300s]'
    with pytest.raises(KeyError, match=r"no value for \$nope"):
        substitute("x{a=\"$nope\"}", {}, 60)


def test_variable_regex_gives_kelurahan_names_and_codes() -> None:
    site = next(v for v in variable_queries(DASHBOARDS[UID["site"]]) if v.name == "site")
    line = ('netwatch_site_info{instance="h:9430", isp="isp-a", job="netwatch", '
            'kecamatan="Kedaton", kelurahan="Surabaya", latitude="-5.39", longitude="105.26", '
            'site="18.71.01.1004", upstream="pop-kedaton"} 1 1700000000000')
    assert variable_values([line], site.regex) == [("Surabaya", "18.71.01.1004")]


def test_map_layers_are_shipped_offline_and_cover_the_city() -> None:
    wall = DASHBOARDS[UID["overview"]]
    geomap = next(p for p in panels(wall) if p["type"] == "geomap")
    options = geomap["options"]
    layers = [options["basemap"], *options["layers"]]
    sources = [layer["config"]["src"] for layer in layers if layer["type"] == "geojson"]
    assert len(sources) == 2 and options["basemap"]["type"] == "geojson"  # no tiles needed
    for src in sources:
        assert src.startswith(PUBLIC_PATH + "/") and not src.startswith(("http:", "https:"))
        assert (GEO_DIR / src.rsplit("/", 1)[1]).is_file(), src
    kelurahan = json.loads((GEO_DIR / "bandarlampung_kelurahan.geojson").read_text())
    codes = {f["properties"]["kode"] for f in kelurahan["features"]}
    inventory = yaml.safe_load((ROOT / "config/bandarlampung.yml").read_text())
    sites = {s["id"] for s in inventory.get("sites", [])}
    assert sites and sites <= codes, sorted(sites - codes)[:5]
    markers = next(layer for layer in options["layers"] if layer["type"] == "markers")
    assert markers["location"] == {"mode": "coords", "latitude": "latitude",
                                   "longitude": "longitude"}
    assert "netwatch_site_info" in geomap["targets"][0]["expr"]
    assert "netwatch_site_state" in geomap["targets"][0]["expr"]


def test_online_basemap_is_optional(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert generate.main(["--basemap", "osm", "--out", str(tmp_path)]) == 0
    online = json.loads((tmp_path / "netwatch-overview.json").read_text())
    geomap = next(p for p in panels(online) if p["type"] == "geomap")
    assert geomap["options"]["basemap"]["type"] == "osm-standard"
    assert [layer["type"] for layer in geomap["options"]["layers"]] == ["geojson", "markers"]
    with pytest.raises(SystemExit) as refused:  # the committed files stay offline
        generate.main(["--basemap", "osm"])
    assert refused.value.code == 2
    assert "the committed dashboards use the offline map" in capsys.readouterr().err


def _steps(dash: dict[str, Any], title: str) -> list[tuple[float | None, str]]:
    panel = next(p for p in panels(dash) if p["title"] == title)
    return [(s["value"], s["color"])
            for s in panel["fieldConfig"]["defaults"]["thresholds"]["steps"]]


def test_colours_come_from_the_thresholds_file() -> None:
    """Red where the daemon says degraded or an alert fires, yellow at the file's level."""
    values = read_thresholds()
    warn = values.dashboards
    site, poller = DASHBOARDS[UID["site"]], DASHBOARDS[UID["poller"]]
    assert _steps(site, "Loss 5m") == [
        (None, "green"), (warn.loss_warn_ratio, "yellow"), (values.degraded.loss_ratio, "red")]
    assert _steps(site, "RTT p90 5m") == [
        (None, "green"), (warn.rtt_p90_warn, "yellow"), (values.degraded.rtt_p90, "red")]
    assert _steps(site, "Uplink use 5m")[-1] == (values.rule_number("link_saturated_ratio"), "red")
    assert _steps(poller, "Event-loop lag")[-1] == \
        (values.rule_number("event_loop_lag_seconds"), "red")


def test_a_thresholds_override_recolours_the_dashboards(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    override = tmp_path / "thresholds.yml"
    override.write_text("degraded: {loss_ratio: 0.1, rtt_p90: 300ms}\n"
                        "dashboards: {loss_warn_ratio: 0.04, rtt_p90_warn: 200ms}\n")
    city = dashboards(thresholds=read_thresholds(override))
    assert _steps(city[UID["site"]], "Loss 5m") == [(None, "green"), (0.04, "yellow"),
                                                    (0.1, "red")]
    assert _steps(city[UID["kecamatan"]], "RTT p90 (5m)")[1:] == [(0.2, "yellow"), (0.3, "red")]
    with pytest.raises(SystemExit) as refused:  # the committed files keep the packaged values
        generate.main(["--thresholds", str(override)])
    assert refused.value.code == 2
    assert "the committed dashboards use the packaged thresholds" in capsys.readouterr().err
    out = tmp_path / "dashboards"
    assert generate.main(["--thresholds", str(override), "--out", str(out)]) == 0
    assert generate.main(["--thresholds", str(override), "--out", str(out), "--check"]) == 0
    assert generate.main(["--out", str(out), "--check"]) == 1
    override.write_text("dashboards: {loss_warn_ratio: 0.08}\n")  # yellow above red
    assert generate.main(["--thresholds", str(override), "--out", str(out)]) == 2


def test_every_dashboard_links_the_runbooks_of_the_thresholds_file(tmp_path: Path) -> None:
    packaged = read_thresholds().runbook_base_url
    for dash in DASHBOARDS.values():
        [link] = [ln for ln in dash["links"] if ln["title"] == "Runbooks"]
        assert link["url"] == packaged and link["targetBlank"] is True
    override = tmp_path / "thresholds.yml"
    override.write_text("runbook_base_url: https://noc.bandarlampungkota.example/runbooks.md\n")
    city = dashboards(thresholds=read_thresholds(override))
    assert {ln["url"] for d in city.values() for ln in d["links"] if ln["title"] == "Runbooks"} \
        == {"https://noc.bandarlampungkota.example/runbooks.md"}


def test_sla_dashboard_is_a_calendar_month_in_wib() -> None:
    sla = DASHBOARDS[UID["sla"]]
    assert sla["time"] == {"from": "now/M", "to": "now/M"}
    tables = [p for p in panels(sla) if p["type"] == "table"]
    assert {p["title"] for p in tables} == {"Per kelurahan", "Per kecamatan", "Per ISP"}
    for table in tables:
        assert all("$__range" in t["expr"] and t["instant"] for t in table["targets"])
        assert any(t["id"] == "merge" for t in table["transformations"])


def test_provisioning_matches_compose_and_prometheus() -> None:
    provisioning = ROOT / "grafana/provisioning"
    [source] = yaml.safe_load((provisioning / "datasources/netwatch.yml").read_text())[
        "datasources"]
    assert source["type"] == "prometheus" and source["url"] == "http://127.0.0.1:9090"
    prometheus = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    job = next(j for j in prometheus["scrape_configs"] if j["job_name"] == "netwatch")
    # Grafana's $__rate_interval is 4 x timeInterval: the 1m the integration test uses
    assert source["jsonData"]["timeInterval"] == job["scrape_interval"] == "15s"
    [provider] = yaml.safe_load((provisioning / "dashboards/netwatch.yml").read_text())[
        "providers"]
    compose = yaml.safe_load((ROOT / "deploy/docker-compose.yml").read_text())
    mounts = dict(v.split(":")[:2] for v in compose["services"]["grafana"]["volumes"])
    assert mounts["../grafana/dashboards"] == provider["options"]["path"]
    assert mounts["../grafana/provisioning"] == "/etc/grafana/provisioning"
    assert not provider["allowUiUpdates"]  # the files are generated: the UI cannot drift


def test_docs_describe_the_map_install_and_the_test_macros() -> None:
    doc = (ROOT / "docs/grafana.md").read_text()
    assert f"/usr/share/grafana/{PUBLIC_PATH}" in doc
    assert "`$__rate_interval` | `1m`" in doc and "`$__interval` | `15s`" in doc
    for uid in UID.values():
        assert f"`{uid}`" in doc
