"""Every scripted cause end to end: the lab plays its trouble (a fading link, a weak LTE site,
a power cut, a full flash, a lossy POP, a saturated uplink, reboots, a dark feeder, a dead
POP, a silent router, maintenance), the real daemon polls it (ICMP, SNMP from the lab's own
agent, snmpsim and snmpd), and Debian's Prometheus scrapes the daemon with the rules of the
`test` profile. Root: trouble lives in namespaces.

Checked: each troubled site's netwatch_site_cause (in /metrics) is the cause its trouble
stands for; the healthy sites never leave `up` and never have a cause; a reboot is the cause
while the site is still down after it, its transitions are counted apart and the site does
not flap; alerts carry the cause in their annotations (NetwatchSiteDown, NetwatchAreaOutage)
and the radio alerts fire on the baselines.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from netwatch.daemon.service import Daemon
from netwatch.lab.lab import Lab
from netwatch.lab.plan import LabPlan, Timing, Trouble, city, with_trouble
from netwatch.lab.stack import PromStack, missing_binaries
from tests.conftest import require
from tests.integration.labkit import lab_and_daemon, scrape, scrape_target
from tests.metrics import labelled, parse
from tests.waiting import until

pytestmark = [pytest.mark.integration, pytest.mark.root]

BASE = 150  # loopback 127.150.x.x and up: no other test's lab uses it
# one-second rounds; two good rounds to come back up, so the SNMP poll a device that answers
# again gets at once (Scheduler.poll_soon) lands while its site is still down
TIMING = Timing(icmp_interval=1.0, icmp_count=5, icmp_spacing=0.05, icmp_timeout=0.3,
                snmp_interval=2.0, snmp_timeout=0.5, down_after=2, up_after=2)
# what each kind of trouble must be explained as
EXPECTED = {"fading": "radio_degraded", "lte_weak": "radio_degraded", "power_cut": "power",
            "storage_full": "storage_full", "lossy_upstream": "upstream_loss",
            "saturated": "uplink_saturated", "dark_kecamatan": "power",
            "dark_upstream": "upstream_down", "down": "unknown"}
# trouble that begins once the link has its normal: the baseline each waits for
STORY_METRIC = {"fading": "netwatch_radio_signal_dbm", "lte_weak": "netwatch_lte_rsrp_dbm",
                "power_cut": "netwatch_device_voltage_volts",
                "storage_full": "netwatch_icmp_rtt_seconds",
                "saturated": "netwatch_icmp_rtt_seconds"}


def scenario() -> LabPlan:
    codes = ["18.71.01", "18.71.02", "18.71.03", "18.71.04", "18.71.05", "18.71.06"]
    plan = replace(city(codes, sites_per_kecamatan=3, base=BASE), timing=TIMING)
    of = {code: [s.id for s in plan.sites if s.kode_kecamatan == code] for code in codes}
    pop = {u.kecamatan: u.id for u in plan.upstreams}
    k1, k2, k3, k4, k5, k6 = (of[c] for c in codes)
    planned = with_trouble(plan, [
        Trouble("fading", (k1[0],), start=None), Trouble("lte_weak", (k1[1],), start=None),
        Trouble("power_cut", (k1[2],), start=None),
        Trouble("storage_full", (k2[0],), start=None),
        Trouble("rebooting", (k2[1],), period=25.0),
        Trouble("dark_kecamatan", tuple(k3)),  # on one PLN feeder (with_trouble)
        Trouble("lossy_upstream", tuple(k4[:2]), loss=0.2,
                upstream=pop[next(s.kecamatan for s in plan.sites if s.id == k4[0])]),
        Trouble("dark_upstream", tuple(k5[:2]),
                upstream=pop[next(s.kecamatan for s in plan.sites if s.id == k5[0])]),
        Trouble("saturated", (k6[0],), start=None), Trouble("down", (k6[1],)),
    ])
    return replace(planned, maintenance=(k6[2],))


@dataclass
class Watch:
    """What the daemon said about each site, sampled every 0.1 s."""

    causes: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    states: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    async def run(self, daemon: Daemon) -> None:
        while True:
            for gid, group in list(daemon.sites.groups.items()):
                if group.is_site:
                    self.states[gid].add(group.state or "unknown")
                    if group.why is not None:
                        self.causes[gid].add(group.why.name)
            await asyncio.sleep(0.1)


@dataclass
class City:
    lab: Lab
    daemon: Daemon
    stack: PromStack
    watch: Watch

    def sites(self, kind: str) -> tuple[str, ...]:
        return next(t.sites for t in self.lab.plan.troubles if t.kind == kind)

    def healthy(self) -> list[str]:
        troubled = {s for t in self.lab.plan.troubles for s in t.sites}
        return [s.id for s in self.lab.plan.sites
                if s.id not in troubled and s.id not in self.lab.plan.maintenance]


def _baseline_known(daemon: Daemon, site: str, metric: str) -> bool:
    return any(key[2] == metric for key, _ in daemon.sites.why.baselines.of_device((site, "rtr")))


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def running(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[City]:
    require(missing_binaries())
    async with lab_and_daemon(scenario()) as (lab, daemon), \
            PromStack(tmp_path_factory.mktemp("causes"), [scrape_target(daemon)]) as stack:
        watch = Watch()
        task = asyncio.create_task(watch.run(daemon))
        c = City(lab, daemon, stack, watch)
        try:
            for kind, metric in STORY_METRIC.items():  # each link's normal, then its story
                [site] = c.sites(kind)
                await until(partial(_baseline_known, daemon, site, metric),
                            60, f"a baseline of {metric} at {site}")
            for kind in STORY_METRIC:
                lab.begin(c.sites(kind)[0])
            yield c
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _causes(body: str) -> dict[str, str]:
    """Each site's cause as /metrics says (the one at 1)."""
    return {labels["site"]: labels["cause"]
            for labels, value in labelled(parse(body), "netwatch_site_cause") if value == 1}


async def test_every_scripted_cause_is_named(running: City) -> None:
    c = running
    expected = {site: cause for kind, cause in EXPECTED.items() for site in c.sites(kind)}
    expected[c.lab.plan.maintenance[0]] = "maintenance"

    async def all_named() -> bool:
        got = _causes(await scrape(c.daemon))
        return all(got.get(site) == cause for site, cause in expected.items())

    await until(all_named, 120, lambda: "causes: " + str(
        {s: (sorted(c.watch.causes[s]), want) for s, want in expected.items()}), step=0.5)
    # the evidence says what was found: the faded signal against its normal, the dip
    fading = c.daemon.sites.groups[c.sites("fading")[0]].why
    assert fading is not None and fading.findings[0].kind == "signal_fell"
    power = c.daemon.sites.groups[c.sites("power_cut")[0]].why
    assert power is not None and power.findings[0].kind == "power_fell"
    assert power.findings[0].facts["value"] == pytest.approx(19.0)
    dark = c.daemon.sites.groups[c.sites("dark_kecamatan")[0]].why
    assert dark is not None and dark.findings[0].kind == "feed_dark"


async def test_a_reboot_is_its_cause_and_no_flapping(running: City) -> None:
    c = running
    [site] = c.sites("rebooting")
    await until(lambda: "device_rebooted" in c.watch.causes[site], 90,
                lambda: f"causes seen at {site}: {sorted(c.watch.causes[site])}", step=0.5)
    await until(lambda: c.daemon.sites.groups[site].state == "up", 30, "back up")
    group = c.daemon.sites.groups[site]
    assert group.changes >= 2 and group.reboot_changes == group.changes
    flapping = await c.stack.query(f'ALERTS{{alertname="NetwatchSiteFlapping",site="{site}"}}')
    assert flapping == []


async def test_healthy_sites_never_get_a_cause(running: City) -> None:
    c = running
    body = await scrape(c.daemon)
    for site in c.healthy():
        assert c.watch.causes[site] == set(), site
        assert c.watch.states[site] <= {"unknown", "up"}, (site, c.watch.states[site])
        values = [v for labels, v in labelled(parse(body), "netwatch_site_cause")
                  if labels["site"] == site]
        assert values and set(values) == {0}, site


async def _alerts(stack: PromStack) -> list[dict[str, Any]]:
    async with aiohttp.ClientSession() as session, \
            session.get(f"{stack.prometheus_url}/api/v1/alerts") as response:
        body = await response.json()
    return [a for a in body["data"]["alerts"] if a["state"] == "firing"]


async def test_alerts_carry_the_cause_and_the_radio_alerts_fire(running: City) -> None:
    c = running
    power = c.sites("power_cut")[0]
    fading, lte = c.sites("fading")[0], c.sites("lte_weak")[0]
    dark_kecamatan = c.lab.plan.site(c.sites("dark_kecamatan")[0]).kecamatan

    def find(alerts: list[dict[str, Any]], name: str, **labels: str) -> dict[str, Any] | None:
        return next((a for a in alerts if a["labels"]["alertname"] == name
                     and all(a["labels"].get(k) == v for k, v in labels.items())), None)

    async def fired() -> bool:
        alerts = await _alerts(c.stack)
        return all((find(alerts, "NetwatchSiteDown", site=power),
                    find(alerts, "NetwatchAreaOutage", kecamatan=dark_kecamatan),
                    find(alerts, "NetwatchRadioDegraded", site=fading),
                    find(alerts, "NetwatchLteWeak", site=lte)))

    await until(fired, 120, "site, area and radio alerts firing", step=1.0)
    alerts = await _alerts(c.stack)
    down = find(alerts, "NetwatchSiteDown", site=power)
    assert down is not None and down["annotations"]["cause"] == "power"
    assert "Sebab: power (langkah: " in down["annotations"]["description"]
    assert "cause" not in down["labels"]
    area = find(alerts, "NetwatchAreaOutage", kecamatan=dark_kecamatan)
    assert area is not None and area["annotations"]["cause"] == "power"
    assert "Sebab (site): power: 3;" in area["annotations"]["description"]
    radio = find(alerts, "NetwatchRadioDegraded", site=fading)
    assert radio is not None and radio["annotations"]["cause"] == "radio_degraded"
