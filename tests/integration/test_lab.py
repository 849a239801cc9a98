"""The lab end to end: a few kecamatan with every kind of trouble, the real daemon polling
them (ICMP and SNMP), and the verdicts it must reach. Root: trouble lives in namespaces."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
import pytest_asyncio

from netwatch.config.thresholds import read_thresholds
from netwatch.daemon.service import Daemon
from netwatch.lab import netns
from netwatch.lab.agents import snmpsim_available
from netwatch.lab.lab import SNMP_PORT, Lab
from netwatch.lab.plan import LabPlan, Trouble, city, with_trouble
from tests.conftest import require
from tests.integration.labkit import FAST, lab_and_daemon
from tests.metrics import parse, pick
from tests.waiting import until

pytestmark = [pytest.mark.integration, pytest.mark.root]

# Kedaton (7 sites, POP up), Sukarame (6), Tanjungkarang Barat (7), Panjang (8): 2 sites each
KECAMATAN = ["18.71.01", "18.71.02", "18.71.03", "18.71.04"]


def scenario() -> LabPlan:
    plan = replace(city(KECAMATAN, sites_per_kecamatan=3), timing=FAST)
    by_kec: dict[str, list[str]] = {}
    for site in plan.sites:
        by_kec.setdefault(site.kode_kecamatan, []).append(site.id)
    kedaton, sukarame, tkb, panjang = (by_kec[k] for k in KECAMATAN)
    return with_trouble(plan, [
        Trouble("dark_kecamatan", tuple(kedaton[:2])),
        Trouble("dark_upstream", tuple(sukarame), upstream="pop-sukarame"),
        Trouble("lossy", (tkb[0],), loss=0.2),
        Trouble("flapping", (tkb[1],), period=6.0),
        Trouble("rebooting", (panjang[0],), period=8.0),
        Trouble("saturated", (panjang[1],)),
    ])


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def running() -> AsyncIterator[tuple[Lab, Daemon]]:
    async with lab_and_daemon(scenario()) as started:
        yield started


def site_state(daemon: Daemon, site: str) -> str | None:
    return daemon.sites.groups[site].state


async def test_lab_trouble_is_reported(running: tuple[Lab, Daemon]) -> None:
    lab, daemon = running
    assert lab.skipped == []
    t = {tr.kind: tr for tr in lab.plan.troubles}
    dark = t["dark_kecamatan"].sites
    behind = t["dark_upstream"].sites
    await until(lambda: all(site_state(daemon, s) == "down" for s in dark), 20,
                "dark kecamatan sites down")
    await until(lambda: all(site_state(daemon, s) == "unreachable" for s in behind), 20,
                "sites behind the dark POP unreachable")
    kedaton_rest = [s.id for s in lab.plan.sites if s.kode_kecamatan == "18.71.01"
                    and s.id not in dark]
    assert all(site_state(daemon, s) == "up" for s in kedaton_rest)  # POP Kedaton is fine
    reboot_site, router = t["rebooting"].sites[0], "rtr"
    labels = {"site": reboot_site, "device": router}
    first_boot = None

    def boot_time() -> float | None:
        return pick(parse(daemon.render_metrics()),
                     "netwatch_device_boot_time_seconds", **labels)

    await until(lambda: boot_time() is not None, 20, "first boot time of the rebooting router")
    first_boot = boot_time()
    assert first_boot is not None
    # the lab's own start is no reboot: NetwatchDeviceRebooted (boot < 15 min ago) stays quiet
    assert first_boot < time.time() - read_thresholds().rule_number(
        "device_rebooted_window_seconds")
    await until(lambda: (boot_time() or 0) > first_boot + 4, 30, "boot time moved by a reboot")
    got = parse(daemon.render_metrics())
    for site in behind:
        assert pick(got, "netwatch_device_suppressed", site=site, device="rtr",
                     reason="upstream_down") == 1
    assert pick(got, "netwatch_site_state", site=dark[0], state="down") == 1
    assert pick(got, "netwatch_site_state", site=behind[0], state="unreachable") == 1


async def test_lossy_site_loss_equals_the_injected_loss(running: tuple[Lab, Daemon]) -> None:
    lab, daemon = running
    site = next(tr for tr in lab.plan.troubles if tr.kind == "lossy").sites[0]

    def counts() -> tuple[float, float]:
        got = parse(daemon.render_metrics())
        return (pick(got, "netwatch_icmp_requests_total", site=site, device="rtr") or 0,
                pick(got, "netwatch_icmp_responses_total", site=site, device="rtr") or 0)

    await until(lambda: counts()[0] >= 25, 20, "25 echoes to the lossy router")
    requests, responses = counts()
    lost = requests - responses
    assert abs(lost - 0.2 * requests) <= 1, (requests, responses)  # within one echo
    await until(lambda: site_state(daemon, site) == "degraded"
                and daemon.sites.groups[site].cause == "rtr loss 20% > 5%", 15,
                "lossy site degraded by its loss")


async def test_flapping_site_changes_are_counted(running: tuple[Lab, Daemon]) -> None:
    lab, daemon = running
    site = next(tr for tr in lab.plan.troubles if tr.kind == "flapping").sites[0]

    def changes() -> float:
        got = parse(daemon.render_metrics())
        return pick(got, "netwatch_state_changes_total", site=site, device="rtr",
                     probe="icmp") or 0

    await until(lambda: changes() >= 2, 30, "two state changes of the flapping router")
    got = parse(daemon.render_metrics())
    assert (pick(got, "netwatch_site_state_changes_total", site=site) or 0) >= 2


async def test_saturated_uplink_runs_near_capacity(running: tuple[Lab, Daemon]) -> None:
    lab, daemon = running
    site = next(tr for tr in lab.plan.troubles if tr.kind == "saturated").sites[0]
    zone = lab.zone_of(site)
    ifname = zone.namespace.ns_if

    def transmitted() -> float | None:
        got = parse(daemon.render_metrics())
        return pick(got, "netwatch_interface_transmit_bytes_total", site=site, device="rtr",
                     ifname=ifname)

    await until(lambda: transmitted() is not None, 20, "uplink counters of the saturated router")
    # observe right after polls land (the value changes), 16 s or more apart: the rate
    # between two polls then errs by our 0.25 s observation step and the token bucket's
    # burst spread over 16 s (8 s once read 1.10x the capacity)
    start = transmitted()
    await until(lambda: transmitted() != start, 10, "a fresh poll of the uplink")
    first, since = transmitted(), time.monotonic()
    await until(lambda: time.monotonic() - since > 16 and transmitted() != first, 30,
                "a poll of the uplink 16 s later")
    later, until_t = transmitted(), time.monotonic()
    assert first is not None and later is not None
    rate = (later - first) / (until_t - since)
    capacity = pick(parse(daemon.render_metrics()),
                     "netwatch_interface_capacity_bytes", site=site, device="rtr")
    assert capacity == 2.5e6
    assert 0.6 * capacity < rate < 1.1 * capacity, rate


def test_lab_goes_down_cleanly() -> None:
    require(netns.available())
    require(snmpsim_available())
    plan = replace(city(["18.71.05"], sites_per_kecamatan=2, base=150), timing=FAST)
    plan = with_trouble(plan, [Trouble("lossy", (plan.sites[0].id,), loss=0.5),
                               Trouble("slow", (plan.sites[1].id,), delay=0.05)])
    lab = Lab(plan)
    lab.start()
    zones = [z.namespace.name for z in lab.zones.values()]
    pids = [a.pid for a in lab.agents.agents]
    router = lab.addresses[(plan.sites[0].id, "rtr")]
    try:
        assert lab.leftovers()  # there is something to clean up
        assert set(zones) <= set(netns.existing())
    finally:
        lab.stop()
    assert lab.leftovers() == []
    assert not set(zones) & set(netns.existing())
    for pid in pids:
        assert pid is not None
        with pytest.raises(ProcessLookupError, match="No such process"):
            os.kill(pid, 0)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.150.0.1", SNMP_PORT))  # the agents' port is free again
    assert router not in netns.ip("-o", "addr", "show").stdout
