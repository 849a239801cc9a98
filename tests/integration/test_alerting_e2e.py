"""Alerting end to end: the lab, the real daemon polling it, and Debian's Prometheus and
Alertmanager scraping the daemon with the rules rendered through the `test` timing profile
(same rule text as production, short `for:` and group waits). Root: trouble lives in
namespaces.

What the on-call staff must see, and what "one notification" means here: for every receiver,
count the messages that arrive after the incident starts and carry a *firing* alert about it
(the site, or the kecamatan). Each receiver that critical alerts of that area reach (the NOC
group, the on-call phone, the area's field team) gets exactly one such message, carrying the
incident's alert and nothing else; no other receiver gets one, except the NOC's e-mail with
info alerts (the SLA the outage ate into). The rules must keep quiet on their own, not only
through Alertmanager's inhibition (a second line): Prometheus' ALERTS series must never show
the held-back alerts firing.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
import pytest_asyncio

from netwatch.daemon.service import Daemon
from netwatch.lab.lab import Lab
from netwatch.lab.plan import LabPlan, Trouble, city, with_trouble
from netwatch.lab.stack import Notification, PromStack, missing_binaries
from tests import alert_timing
from tests.conftest import require
from tests.integration.labkit import FAST, lab_and_daemon, scrape_target
from tests.waiting import until

pytestmark = [pytest.mark.integration, pytest.mark.root]

# Kedaton and Sukarame: the northern field team; Panjang: the southern one (alertmanager.yml)
KEDATON, SUKARAME, PANJANG = "18.71.01", "18.71.02", "18.71.04"
NORTH = ("noc-telegram", "oncall-whatsapp", "tim-utara-telegram")
SOUTH = ("noc-telegram", "oncall-whatsapp", "tim-selatan-telegram")
TEAMS = {"tim-utara-telegram": ("Kedaton", "Sukarame"), "tim-selatan-telegram": ("Panjang",)}
SLACK = 5.0  # scrape, evaluation and delivery steps on top of the configured waits


def scenario() -> LabPlan:
    """Four sites per kecamatan: one Kedaton site can go down on its own; three of Panjang's
    four sites share a zone, so they go dark at once (an area outage)."""
    plan = replace(city([KEDATON, SUKARAME, PANJANG], sites_per_kecamatan=4, base=170),
                   timing=FAST)
    kedaton = [s.id for s in plan.sites if s.kode_kecamatan == KEDATON]
    panjang = [s.id for s in plan.sites if s.kode_kecamatan == PANJANG]
    return with_trouble(plan, [Trouble("down", (kedaton[0],)),
                               Trouble("dark_kecamatan", tuple(panjang[:3]))])


@dataclass
class City:
    lab: Lab
    daemon: Daemon
    stack: PromStack
    timing: dict[str, float]

    def state(self, site: str) -> str | None:
        return self.daemon.sites.groups[site].state

    def trouble(self, kind: str) -> tuple[str, ...]:
        return next(t.sites for t in self.lab.plan.troubles if t.kind == kind)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def running(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[City]:
    require(missing_binaries())
    async with lab_and_daemon(scenario(), healthy_first=True) as (lab, daemon), \
            PromStack(tmp_path_factory.mktemp("alerting-e2e"), [scrape_target(daemon)]) as stack:
        sites = len(lab.plan.sites)

        async def all_up_in_prometheus() -> bool:
            got = await stack.query('count(netwatch_site_state{state="up"} == 1)')
            return bool(got) and float(got[0]["value"][1]) == sites

        def verdicts() -> str:
            return str([(g.id, g.state, g.cause) for g in daemon.sites.groups.values()])

        await until(all_up_in_prometheus, 45,
                    lambda: f"all {sites} sites up in Prometheus; the daemon: {verdicts()}",
                    step=0.25)
        yield City(lab, daemon, stack, alert_timing.seconds(
            "site_down_for", "area_outage_for", "device_down_for", "group_wait",
            "group_interval", "site_keep_firing_for"))


# --- reading what arrived --------------------------------------------------------------------

def alerts_about(n: Notification, status: str = "firing", **labels: str) -> list[dict[str, Any]]:
    return [a for a in n.alerts(status)
            if all(a["labels"].get(k) == v for k, v in labels.items())]


def any_status(n: Notification, names: tuple[str, ...], **labels: str) -> list[dict[str, Any]]:
    """Alerts in `n`, firing or resolved, named one of `names`, about `labels`."""
    return [a for status in ("firing", "resolved") for a in alerts_about(n, status, **labels)
            if a["labels"]["alertname"] in names]


def messages(stack: PromStack, since: int, receiver: str, **labels: str) -> list[Notification]:
    """Messages to `receiver` after notification number `since` with a firing alert about
    `labels` (what the person behind that receiver reads about the incident)."""
    return [n for n in stack.notifications[since:]
            if n.receiver == receiver and alerts_about(n, **labels)]


async def ever_firing(stack: PromStack, selector: str, seconds: float) -> list[dict[str, Any]]:
    """Alerts that Prometheus held firing at any evaluation in the last `seconds`."""
    return await stack.query(
        f'max_over_time(ALERTS{{alertstate="firing",{selector}}}[{max(1, round(seconds))}s])')


async def wait_until(moment: float) -> None:
    """The fixed observation window: nothing to poll for, only time has to pass."""
    await until(lambda: time.monotonic() >= moment, moment - time.monotonic() + 5,
                "end of the observation window")


def assert_routed(stack: PromStack) -> None:
    """Severity and kecamatan routing of everything that arrived so far; the kecamatan
    without trouble stays quiet."""
    for n in stack.notifications:
        assert n.group.get("kecamatan") != "Sukarame", n.payload
        alerts = n.alerts("firing") + n.alerts("resolved")
        severities = {a["labels"].get("severity") for a in alerts}
        if n.receiver == "noc-email":
            assert severities == {"info"}, (n.receiver, n.payload)
        elif n.receiver != "noc-telegram":  # the NOC group gets warnings too
            assert severities == {"critical"}, (n.receiver, n.payload)
        if n.receiver in TEAMS:
            assert n.group.get("kecamatan") in TEAMS[n.receiver], (n.receiver, n.group)


# --- the incidents -----------------------------------------------------------------------------

async def test_site_down_is_one_message_and_nothing_for_its_access_point(running: City) -> None:
    lab, stack, t = running.lab, running.stack, running.timing
    # until the router is confirmed down, the AP's own netwatch_up is 0 without suppression
    assert t["device_down_for"] > FAST.down_after * FAST.icmp_interval + SLACK
    site = running.trouble("down")[0]
    name = lab.plan.site(site).name
    since, dark_at = len(stack.notifications), time.monotonic()
    lab.set_reachable(site, False)  # router and access point silent
    await until(lambda: running.state(site) == "down", 15, f"{site} down in the daemon")
    await stack.wait_for(lambda: all(stack.firing(r, "NetwatchSiteDown", site=site)
                                     for r in NORTH), timeout=t["site_down_for"] + 30)
    # long enough for NetwatchDeviceDown of the AP or router to have fired and been sent,
    # had the rules not held it back
    window_end = dark_at + t["device_down_for"] + t["group_wait"] + t["group_interval"] + SLACK
    await wait_until(window_end)
    window = time.monotonic() - dark_at

    assert await ever_firing(stack, f'alertname="NetwatchSiteDown",site="{site}"', window)
    held = await ever_firing(stack, f'alertname=~"NetwatchDevice.*|NetwatchSiteDegraded",'
                                    f'site="{site}"', window)
    assert held == [], [a["metric"] for a in held]
    for receiver in NORTH:
        got = messages(stack, since, receiver, site=site)
        assert len(got) == 1, (receiver, [n.payload for n in got])
        (alert,) = got[0].alerts("firing")
        assert alert["labels"] == {"alertname": "NetwatchSiteDown", "severity": "critical",
                                   "site": site, "kecamatan": "Kedaton"}
        notes = alert["annotations"]
        assert notes["summary"] == f"Site {site} putus (Kec. Kedaton) / Site down"
        assert notes["kelurahan"] == name
        assert "tidak menjawab ping" in notes["description"]
        assert "does not answer ping" in notes["description"]
        assert notes["runbook_url"].endswith("/docs/runbooks.md#netwatchsitedown")
    assert messages(stack, since, "tim-selatan-telegram") == []
    for n in stack.notifications[since:]:  # nothing about its devices, firing or not, anywhere
        assert not any_status(n, ("NetwatchDeviceDown", "NetwatchSiteDegraded"), site=site), \
            n.payload

    lab.set_reachable(site, True)
    await stack.wait_for(lambda: all(
        any(alerts_about(n, "resolved", alertname="NetwatchSiteDown", site=site)
            for n in stack.received(r)) for r in NORTH),
        timeout=30 + t["site_keep_firing_for"])  # the all-clear waits out keep_firing_for
    for receiver in NORTH:  # the all-clear, and still one alarm
        assert len(messages(stack, since, receiver, site=site)) == 1
    assert_routed(stack)


async def test_dark_kecamatan_is_one_area_message_and_no_site_storm(running: City) -> None:
    lab, stack, t = running.lab, running.stack, running.timing
    assert t["area_outage_for"] < t["site_down_for"]  # the area alert must come first
    dark = running.trouble("dark_kecamatan")
    monitored = [s.id for s in lab.plan.sites if s.kecamatan == "Panjang"]
    assert 0.5 < len(dark) / len(monitored) < 1  # most of Panjang, not all of it
    since, dark_at = len(stack.notifications), time.monotonic()
    lab.set_reachable(dark[0], False)  # one zone: every dark site at once
    await until(lambda: all(running.state(s) == "down" for s in dark), 15,
                "the dark sites down in the daemon")
    await stack.wait_for(lambda: all(stack.firing(r, "NetwatchAreaOutage", kecamatan="Panjang")
                                     for r in SOUTH), timeout=t["area_outage_for"] + 30)
    # long enough for every per-site alert of Panjang to have fired and been sent, had the
    # area rule not held them back
    window_end = dark_at + t["site_down_for"] + t["group_wait"] + t["group_interval"] + SLACK
    await wait_until(window_end)
    window = time.monotonic() - dark_at

    assert await ever_firing(stack, 'alertname="NetwatchAreaOutage",kecamatan="Panjang"', window)
    held = await ever_firing(stack, 'alertname=~"NetwatchSite.*|NetwatchDevice.*",'
                                    'alertname!="NetwatchSiteSlaAtRisk",kecamatan="Panjang"',
                             window)
    assert held == [], [a["metric"] for a in held]
    for receiver in SOUTH:
        got = messages(stack, since, receiver, kecamatan="Panjang")
        assert len(got) == 1, (receiver, [n.payload for n in got])
        (alert,) = got[0].alerts("firing")
        assert alert["labels"] == {"alertname": "NetwatchAreaOutage", "severity": "critical",
                                   "kecamatan": "Panjang"}
        notes = alert["annotations"]
        assert notes["summary"].startswith("Gangguan area Kec. Panjang: ")
        assert notes["summary"].endswith(" site putus / Area outage in Panjang")
        assert f"{len(dark)} dari {len(monitored)} site" in notes["description"]
        assert f"{len(dark)} of {len(monitored)} monitored sites" in notes["description"]
        assert notes["runbook_url"].endswith("/docs/runbooks.md#netwatchareaoutage")
    assert messages(stack, since, "tim-utara-telegram") == []
    for n in stack.notifications[since:]:  # no per-site message, firing or not, anywhere
        assert not any_status(n, ("NetwatchSiteDown", "NetwatchSiteDegraded", "NetwatchDeviceDown"),
                              kecamatan="Panjang"), n.payload
    assert_routed(stack)
