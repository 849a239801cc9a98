"""Every dashboard query against a real Prometheus that scrapes the daemon polling the lab.

No Grafana server here: Grafana's macros get fixed values (grafana/dashgen/queries.py,
docs/grafana.md): $__rate_interval -> 1m, $__interval -> 15s, $__range -> the time since
Prometheus started; variables get the lab's values (single-value ones a real kecamatan, site
and ISP, multi-value ones their All value `.*`). Every variable must list the lab's values
and every panel query must return data for one of two such sets of values, except the panels
that are empty on a healthy city (active alerts, sites down): those are checked during a
scripted outage. Value sets: a site with health sensors, one with a configured uplink, one
with a point-to-point radio, one with an LTE modem (the radio row and the worst links) and one
with a backhaul radio whose peers have their own series (an airFiber 60).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from grafana.dashgen import dashboards
from grafana.dashgen.common import UID
from grafana.dashgen.queries import (
    INTERVAL,
    PARSE_VARIABLE,
    PanelQuery,
    panel_queries,
    query_result_line,
    substitute,
    variable_queries,
    variable_values,
)
from netwatch.daemon.service import Daemon
from netwatch.generators import rules as alerting
from netwatch.lab.lab import Lab
from netwatch.lab.plan import LabPlan, Trouble, city, with_backhaul, with_trouble
from netwatch.lab.stack import PromStack, missing_binaries
from tests.conftest import require
from tests.integration.labkit import FAST, lab_and_daemon, scrape_target
from tests.waiting import until

pytestmark = [pytest.mark.integration, pytest.mark.root]

BASE = 190  # loopback 127.190.x.x and up: no other test's lab uses it
KECAMATAN = ["18.71.01", "18.71.02"]  # Kedaton, Sukarame: 2 sites each
# empty on a healthy city: checked during the outage
OUTAGE_ONLY = {(UID["overview"], "Active alerts"), (UID["overview"], "Sites down or unreachable")}
# what must exist in Prometheus before the panels can show anything
WARM = ["site:netwatch_availability:ratio_mtd", "site:netwatch_icmp_rtt_seconds:quantile5m",
        "uplink:netwatch_interface_utilization:ratio5m", "kecamatan:netwatch_availability:ratio1h",
        "rate(netwatch_interface_receive_bytes_total[1m])",
        "netwatch_radio_signal_baseline_dbm", "netwatch_lte_rsrp_baseline_dbm",
        "netwatch_radio_peer_signal_baseline_dbm",
        "site:netwatch_site_cause:combined"]


def scenario() -> tuple[LabPlan, str]:
    plan = replace(city(KECAMATAN, sites_per_kecamatan=2, base=BASE), timing=FAST)
    outage = plan.sites[0].id  # healthy until the test silences it (no timed flapping)
    # a point-to-point radio and an LTE router (the stories' recordings, their stories never
    # begun): the radio row and the worst links have links with a normal to show
    troubled = with_trouble(plan, [Trouble("flapping", (outage,), period=1e7),
                                   Trouble("fading", (plan.sites[1].id,), start=None),
                                   Trouble("lte_weak", (plan.sites[2].id,), start=None)])
    return with_backhaul(troubled, (plan.sites[3].id,)), outage


@dataclass
class City:
    lab: Lab
    daemon: Daemon
    stack: PromStack
    outage: str
    started: float
    values: dict[str, str]     # a site with health sensors and wireless clients
    uplinked: dict[str, str]   # a site whose router has the configured uplink interface
    radio: dict[str, str]      # a site with a point-to-point radio link (and its normal)
    lte: dict[str, str]        # a site with an LTE modem (and its normal)
    backhaul: dict[str, str]   # a site with a backhaul radio's per-peer series (and normals)

    def value_sets(self) -> list[dict[str, str]]:
        return [self.values, self.uplinked, self.radio, self.lte, self.backhaul]

    def window(self) -> int:
        return max(30, int(time.time() - self.started))


async def prom(stack: PromStack, path: str, **params: Any) -> Any:
    async with aiohttp.ClientSession() as session, \
            session.get(f"{stack.prometheus_url}/api/v1/{path}", params=params) as r:
        body = await r.json()
    assert body["status"] == "success", f"{path} {params}: {body}"
    return body["data"]


async def healthy_sites(stack: PromStack, outage: str, expr: str) -> list[str]:
    """The lab's sites but the outage's that `expr` (one series per site) finds."""
    found = await prom(stack, "query", query=f"{expr} and on (site) netwatch_site_info")
    return sorted(r["metric"]["site"] for r in found["result"] if r["metric"]["site"] != outage)


async def site_values(stack: PromStack, outage: str, expr: str) -> dict[str, str]:
    """Variable values for a healthy site that `expr` (one series per site) finds."""
    sites = await healthy_sites(stack, outage, expr)
    assert sites, f"no healthy lab site with {expr}"
    info = await prom(stack, "query", query=f'netwatch_site_info{{site="{sites[0]}"}}')
    labels = info["result"][0]["metric"]
    return {"kecamatan": labels["kecamatan"], "site": sites[0], "isp": labels["isp"],
            "kelurahan": labels["kelurahan"], "device": ".*", "ifname": ".*", "instance": ".*"}


RICH = ("count by (site) (netwatch_device_voltage_volts) and on (site) count by (site) "
        "(netwatch_device_temperature_celsius) and on (site) count by (site) "
        "(netwatch_wireless_clients)")
UPLINKED = "count by (site) (uplink:netwatch_interface_utilization:ratio5m)"
RADIO = "count by (site) (netwatch_radio_signal_baseline_dbm)"
LTE = "count by (site) (netwatch_lte_rsrp_baseline_dbm)"
BACKHAUL = "count by (site) (netwatch_radio_peer_signal_baseline_dbm)"
VALUE_SETS = (RICH, UPLINKED, RADIO, LTE, BACKHAUL)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def running(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[City]:
    require(missing_binaries())
    plan, outage = scenario()
    async with lab_and_daemon(plan) as (lab, daemon):
        workdir: Path = tmp_path_factory.mktemp("dashboards")
        async with PromStack(workdir, [scrape_target(daemon)]) as stack:
            started = time.time()

            async def warm() -> bool:
                for expr in WARM:
                    if not (await prom(stack, "query", query=expr))["result"]:
                        return False
                # each value set's series on a site other than the outage's: the first
                # baseline may well be the outage site's own (its AP is a radio too)
                for expr in VALUE_SETS:
                    if not await healthy_sites(stack, outage, expr):
                        return False
                return True

            await until(warm, 60, f"recorded series: {WARM}, a healthy site for each of "
                        f"{VALUE_SETS}", step=0.5)
            yield City(lab, daemon, stack, outage, started,
                       *[await site_values(stack, outage, expr) for expr in VALUE_SETS])


async def run(c: City, q: PanelQuery, values: dict[str, str] | None = None
              ) -> list[dict[str, Any]]:
    window = c.window()
    expr = substitute(q.expr, values or c.values, window)
    now = time.time()
    if q.instant:
        data = await prom(c.stack, "query", query=expr, time=now)
        return [r for r in data["result"] if "value" in r]
    data = await prom(c.stack, "query_range", query=expr, start=now - window, end=now,
                      step=INTERVAL)
    return [r for r in data["result"] if r.get("values")]


async def test_every_variable_lists_the_labs_values(running: City) -> None:
    c = running
    seen: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for dash in dashboards().values():
        for v in variable_queries(dash):
            match = PARSE_VARIABLE.match(v.query)
            assert match, v.query
            now = time.time()
            if match.group("label"):
                selector = substitute(match.group("selector") or "", c.values, c.window())
                data = await prom(c.stack, "series", **{"match[]": selector},
                                  start=now - c.window(), end=now)
                lines = sorted({s[match.group("label")] for s in data
                                if match.group("label") in s})
            else:
                expr = substitute(match.group("expr"), c.values, c.window())
                data = await prom(c.stack, "query", query=expr, time=now)
                lines = [query_result_line(s) for s in data["result"]]
            seen[(v.dashboard, v.name)] = variable_values(lines, v.regex)
            assert seen[(v.dashboard, v.name)], f"{v.dashboard}: ${v.name} is empty"
    values = {key: {value for _, value in pairs} for key, pairs in seen.items()}
    for uid, name in seen:
        if name in ("kecamatan", "site", "isp"):
            assert c.values[name] in values[(uid, name)], (uid, name, values[(uid, name)])
    assert (c.values["kelurahan"], c.values["site"]) in seen[(UID["site"], "site")]
    assert values[(UID["site"], "device")] == {"rtr", "ap1"}
    site = c.values["site"]
    info = await prom(c.stack, "query", query=f'netwatch_interface_info{{site="{site}"}}')
    assert values[(UID["site"], "ifname")] == {r["metric"]["ifname"] for r in info["result"]}
    host, port = c.daemon.addresses[0]
    assert values[(UID["poller"], "instance")] == {f"{host}:{port}"}


async def test_every_panel_query_returns_data(running: City) -> None:
    empty = []
    count = 0
    for dash in dashboards().values():
        for q in panel_queries(dash):
            if (q.dashboard, q.panel) in OUTAGE_ONLY:
                continue
            count += 1
            for values in running.value_sets():
                if await run(running, q, values):
                    break
            else:
                empty.append(f"{q.dashboard} / {q.panel} / {q.ref}")
    assert count > 80
    assert not empty, f"{len(empty)} of {count} queries returned nothing: {empty}"


async def test_every_series_read_exists_in_prometheus(running: City) -> None:
    names = set(await prom(running.stack, "label/__name__/values"))
    read: set[str] = set()
    for dash in dashboards().values():
        for q in panel_queries(dash):
            read |= alerting.series_read(substitute(q.expr, running.values, 60))
    assert read - names <= {"ALERTS"}, sorted(read - names)


def _sites_in(result: list[dict[str, Any]]) -> set[str]:
    return {r["metric"].get("site", "") for r in result}


async def test_outage_fills_the_alert_and_down_panels(running: City) -> None:
    c = running
    overview = dashboards()[UID["overview"]]
    by_title = {q.panel: q for q in panel_queries(overview)}
    down, alerts = by_title["Sites down or unreachable"], by_title["Active alerts"]
    assert await run(c, down) == []  # healthy city
    assert c.outage not in _sites_in(await run(c, alerts))
    c.lab.set_reachable(c.outage, False)
    try:
        async def firing() -> bool:
            result = await run(c, alerts)
            return any(r["metric"].get("alertname") == "NetwatchSiteDown"
                       and r["metric"].get("site") == c.outage for r in result)

        await until(firing, 60, f"NetwatchSiteDown for {c.outage} in the alerts panel", step=0.5)
        assert _sites_in(await run(c, down)) == {c.outage}
        [row] = [r for r in await run(c, down) if r["metric"]["site"] == c.outage]
        assert row["metric"]["state"] == "down" and row["metric"]["kelurahan"]
        assert row["metric"]["cause"] == "unknown"  # silenced by the lab: no evidence
        states = {r["metric"]["site"]: r["value"][1]
                  for r in await run(c, by_title["Kelurahan map"])}
        assert states.pop(c.outage) == "4"
        assert set(states.values()) <= {"0", "2"}  # the others up (or degraded on a busy host)
    finally:
        c.lab.set_reachable(c.outage, True)
