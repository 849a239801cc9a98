"""Failover, end to end: the high-availability layout of deploy/ on this machine.

The lab's city (three kecamatan, three kelurahan each; root: trouble sites live in
namespaces) is polled by two netwatch twins, `netwatch run` processes with the same config
(only `listen:` differs, as two servers would have the same file). Debian's Prometheus pair
scrapes both twins (scrape label `replica`), evaluates the rules rendered through the test
timing profile and sends every alert to both members of an Alertmanager cluster gossiping on
loopback ports; both remote_write into Debian's VictoriaMetrics. All of it is configured from
the shipped files (netwatch.lab.hastack).

During an outage one twin and the Alertmanager that sent the notifications are killed
(SIGKILL). What must hold:
- while both Alertmanagers are healthy, each receiver gets exactly one notification per alert
  group, although both members hold the alert;
- the site alert keeps firing through the kills (no resolved-then-firing), a new outage after
  them still arrives, the dead twin raises only NetwatchReplicaDown (warning);
- VictoriaMetrics serves the combined state and the loss continuously (no gap), the twins'
  counters as separate series without a single reset, and rate() without a jump;
- before any of it, with both twins scraped, every dashboard shows each site and device once.
"""

from __future__ import annotations

import itertools
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import yaml

from grafana.dashgen import dashboards
from grafana.dashgen.common import UID
from grafana.dashgen.queries import INTERVAL, panel_queries, substitute
from netwatch.lab import netns
from netwatch.lab.agents import snmpsim_available
from netwatch.lab.hastack import PEER_TIMEOUT, HaStack
from netwatch.lab.lab import Lab
from netwatch.lab.plan import LabPlan, Trouble, city, with_trouble
from netwatch.lab.ports import free_port
from netwatch.lab.stack import Notification, missing_binaries
from tests import alert_timing
from tests.conftest import program, require
from tests.integration.labkit import FAST
from tests.waiting import until

pytestmark = [pytest.mark.integration, pytest.mark.root]

BASE = 200  # loopback 127.201.x.x and up: no other test's lab uses it
KEDATON, SUKARAME, PANJANG = "18.71.01", "18.71.02", "18.71.04"
NORTH = ("noc-telegram", "oncall-whatsapp", "tim-utara-telegram")
SOUTH = ("noc-telegram", "oncall-whatsapp", "tim-selatan-telegram")
SLACK = 5.0  # scrape, evaluation, gossip and delivery on top of the configured waits
MAX_GAP = 3.0  # seconds between two samples VictoriaMetrics keeps (scrape and evaluation: 1s)


def scenario() -> LabPlan:
    """One site of Kedaton and one of Panjang can go down on their own (each its zone)."""
    plan = replace(city([KEDATON, SUKARAME, PANJANG], sites_per_kecamatan=3, base=BASE),
                   timing=FAST)
    first = {k: next(s.id for s in plan.sites if s.kode_kecamatan == k) for k in (KEDATON,
                                                                                 PANJANG)}
    return with_trouble(plan, [Trouble("down", (first[KEDATON],)),
                               Trouble("down", (first[PANJANG],))])


@dataclass
class Layout:
    lab: Lab
    twins: dict[str, subprocess.Popen[bytes]]  # replica label -> its `netwatch run`
    targets: dict[str, str]                    # replica label -> host:port
    ha: HaStack
    timing: dict[str, float]

    def trouble_sites(self) -> list[str]:
        return [t.sites[0] for t in self.lab.plan.troubles]

    def healthy_site(self, kecamatan: str) -> str:
        trouble = set(self.trouble_sites())
        return next(s.id for s in self.lab.plan.sites
                    if s.kecamatan == kecamatan and s.id not in trouble)


def twin_configs(lab: Lab, ports: dict[str, int]) -> dict[str, Path]:
    """The lab's config once per twin: the same file, each listening on its own port."""
    config = yaml.safe_load(lab.config_path.read_text())
    paths = {}
    for replica, port in ports.items():
        path = lab.config_path.with_name(f"twin-{replica}.yml")
        path.write_text(yaml.safe_dump({**config, "listen": f"127.0.0.1:{port}"},
                                       sort_keys=False))
        paths[replica] = path
    return paths


def start_twins(configs: dict[str, Path], workdir: Path) -> dict[str, subprocess.Popen[bytes]]:
    twins = {}
    for replica, path in configs.items():
        log = (workdir / f"twin-{replica}.log").open("wb")
        twins[replica] = subprocess.Popen(
            [sys.executable, "-m", "netwatch", "--log-format", "json", "run", str(path)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    return twins


def stop_twins(twins: dict[str, subprocess.Popen[bytes]]) -> None:
    for proc in twins.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in twins.values():
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def layout(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Layout]:
    require(missing_binaries())
    program("victoria-metrics")
    require(netns.available())
    require(snmpsim_available())
    workdir = tmp_path_factory.mktemp("failover")
    lab = Lab(scenario())
    begun = time.monotonic()
    lab.start()
    twins: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for trouble in lab.plan.troubles:
            lab.set_reachable(trouble.sites[0], True)
        ports = {"a": free_port(), "b": free_port()}
        twins = start_twins(twin_configs(lab, ports), workdir)
        targets = {r: f"127.0.0.1:{p}" for r, p in ports.items()}
        async with HaStack(workdir, targets) as ha:
            sites = len(lab.plan.sites)

            async def ready() -> bool:
                for base in ha.prometheus_urls.values():
                    up = await ha.query(base, 'sum(up{job="netwatch"})')
                    healthy = await ha.query(
                        base, 'count(site:netwatch_site_state:combined{state="up"} == 1)')
                    if not (up and up[0]["value"][1] == "2" and healthy
                            and healthy[0]["value"][1] == str(sites)):
                        return False
                return True

            await until(ready, 60, f"both twins scraped and all {sites} sites up in both "
                                   f"Prometheus servers\n{ha.logs()}", step=0.5)
            await until(ha.cluster_ready, 60, f"the Alertmanager cluster settled\n{ha.logs()}",
                        step=0.5)
            print(f"failover layout ready in {time.monotonic() - begun:.1f} s")
            yield Layout(lab, twins, targets, ha, alert_timing.seconds(
                "site_down_for", "replica_down_for", "group_wait", "group_interval"))
    finally:
        stop_twins(twins)
        lab.stop()


# --- reading what arrived ------------------------------------------------------------------

def about(n: Notification, status: str = "firing", **labels: str) -> list[dict[str, Any]]:
    return [a for a in n.alerts(status) if all(a["labels"].get(k) == v for k, v in labels.items())]


def messages(ha: HaStack, receiver: str, since: int = 0, status: str = "firing",
             **labels: str) -> list[Notification]:
    return [n for n in ha.notifications[since:]
            if n.receiver == receiver and about(n, status, **labels)]


async def ever_firing(ha: HaStack, prometheus: str, selector: str, seconds: float
                      ) -> list[dict[str, Any]]:
    return await ha.query(ha.prometheus_urls[prometheus], f'max_over_time(ALERTS{{alertstate='
                          f'"firing",{selector}}}[{max(1, round(seconds))}s])')


# --- the dashboards with two twins ------------------------------------------------------------

def identity(labels: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """What a series stands for, without who reported it."""
    return tuple(sorted((k, v) for k, v in labels.items()
                        if k not in ("instance", "replica", "job", "__name__")))


async def test_failover_dashboards_show_each_site_once_with_twins(layout: Layout) -> None:
    ha, site = layout.ha, layout.healthy_site("Kedaton")
    values = {"kecamatan": "Kedaton", "site": site, "device": ".*", "ifname": ".*",
              "isp": ".*", "instance": ".*"}
    prometheus = ha.prometheus_urls["prom-a"]
    checked = 0
    for dash in dashboards().values():
        if dash["uid"] == UID["poller"]:
            continue  # per instance by design
        for q in panel_queries(dash):
            expr = substitute(q.expr, values, 300)
            if q.instant:
                result = await ha.query(prometheus, expr)
            else:
                now = time.time()
                body = await ha.get(f"{prometheus}/api/v1/query_range", query=expr,
                                    start=str(now - 60), end=str(now), step=INTERVAL)
                result = body["data"]["result"]
            seen = [identity(r["metric"]) for r in result]
            assert len(seen) == len(set(seen)), \
                f"{q.dashboard} / {q.panel} / {q.ref} shows a series per twin: {result}"
            checked += bool(result)
    assert checked > 40, f"only {checked} dashboard queries returned data: too few to judge"
    # and the state the wall shows is the state each twin reports
    wall = await ha.query(prometheus, 'site:netwatch_site_state:combined == 1')
    assert {r["metric"]["state"] for r in wall} == {"up"}
    assert len(wall) == len(layout.lab.plan.sites)


# --- the kills ---------------------------------------------------------------------------------

async def test_failover_of_a_twin_and_an_alertmanager_during_an_outage(layout: Layout) -> None:
    ha, lab, t = layout.ha, layout.lab, layout.timing
    first, second = layout.trouble_sites()  # Kedaton's, Panjang's
    started_wall = time.time()

    # 1. An outage while everything runs: one notification per receiver and group, although
    # both Alertmanagers hold the alert (they agree through gossip who sends it).
    dark_at = time.monotonic()
    lab.set_reachable(first, False)
    await ha.wait_for(lambda: all(ha.firing(r, "NetwatchSiteDown", site=first) for r in NORTH),
                      t["site_down_for"] + 30)
    notified_in = min(n.at for n in ha.firing("noc-telegram", "NetwatchSiteDown", site=first))
    # long enough for the second member to have sent a duplicate (it waits PEER_TIMEOUT) and
    # for a group update
    peer_timeout = float(PEER_TIMEOUT.removesuffix("s"))
    quiet_until = notified_in + peer_timeout + t["group_interval"] + SLACK
    await ha.wait_for(lambda: time.monotonic() > quiet_until, quiet_until - time.monotonic() + 5)
    for member in ha.alertmanager_names:
        held = [a for a in await ha.alerts_in(member)
                if a["labels"].get("alertname") == "NetwatchSiteDown"
                and a["labels"].get("site") == first]
        assert held and "prometheus_replica" not in held[0]["labels"], (member, held)
    for receiver in NORTH:
        got = messages(ha, receiver, site=first)
        assert len(got) == 1, (receiver, [(ha.sender(n), n.payload) for n in got])
        assert got[0].group == {"kecamatan": "Kedaton"}
    sent = [(ha.sender(n), n.receiver, n.group, n.alertnames(), n.alertnames("resolved"))
            for n in ha.notifications]
    assert ha.duplicates(ha.notifications) == [], f"a notification sent twice: {sent}"
    (sender_url,) = {ha.sender(n) for n in messages(ha, "noc-telegram", site=first)}
    sender = next(name for name, url in ha.alertmanager_urls.items() if url == sender_url)

    # 2. Kill a twin and the Alertmanager that notified, during the outage.
    since = len(ha.notifications)
    layout.twins["a"].send_signal(signal.SIGKILL)
    layout.twins["a"].wait(timeout=10)
    ha.kill(sender)
    killed_at, killed_wall = time.monotonic(), time.time()
    survivor = next(n for n in ha.alertmanager_names if n != sender)

    # the site alert keeps firing in both Prometheus servers, without a pause
    async def still_firing() -> bool:
        for base in ha.prometheus_urls.values():
            got = await ha.query(base, f'ALERTS{{alertname="NetwatchSiteDown",site="{first}",'
                                       f'alertstate="firing"}}')
            assert got, f"NetwatchSiteDown {first} stopped firing after the kills\n{ha.logs()}"
        return time.monotonic() > killed_at + t["replica_down_for"] + SLACK

    await until(still_firing, t["replica_down_for"] + 30, "the observation after the kills",
                step=0.5)

    # 3. A new outage after the kills still arrives, through the surviving member.
    dark2_at = time.monotonic()
    lab.set_reachable(second, False)
    await ha.wait_for(lambda: all(messages(ha, r, since, site=second) for r in SOUTH),
                      t["site_down_for"] + peer_timeout + 30)
    arrived_in = min(n.at for n in messages(ha, "noc-telegram", since, site=second))
    await ha.wait_for(lambda: ha.firing("noc-telegram", "NetwatchReplicaDown", replica="a"),
                      t["replica_down_for"] + 30)
    window = time.monotonic() - dark_at + 1

    assert {ha.sender(n) for n in ha.notifications[since:]} == \
        {ha.alertmanager_urls[survivor]}
    # nothing sent twice, and the first outage was never resolved nor sent again: the
    # survivor knew what its dead peer had sent
    assert ha.duplicates(ha.notifications) == [], [
        (ha.sender(n), n.receiver, n.group, n.alertnames()) for n in ha.notifications]
    assert not [n for n in ha.notifications if about(n, "resolved", site=first)]
    for receiver in NORTH:
        assert len(messages(ha, receiver, site=first)) == 1, receiver
    # the dead twin is a warning; critical only for a poller without a twin
    for prometheus in ha.prometheus_urls:
        critical = await ever_firing(ha, prometheus, 'alertname=~"NetwatchScrapeDown|'
                                                     'NetwatchPollerIsolated"', window)
        assert critical == [], [a["metric"] for a in critical]
    (replica_down,) = {tuple(sorted(a["labels"].items()))
                       for n in ha.firing("noc-telegram", "NetwatchReplicaDown")
                       for a in about(n, alertname="NetwatchReplicaDown")}
    assert dict(replica_down)["instance"] == layout.targets["a"]
    assert dict(replica_down)["severity"] == "warning"

    print(f"failover: first outage notified {notified_in - dark_at:.1f} s after the site "
          f"went dark, once per receiver from {sender}; after killing twin a and {sender}, "
          f"the second outage arrived {arrived_in - dark2_at:.1f} s after it went dark, from "
          f"{survivor}; NetwatchReplicaDown for twin a "
          f"{min(n.at for n in ha.firing('noc-telegram', 'NetwatchReplicaDown')) - killed_at:.1f}"
          f" s after the kill; {len(ha.notifications)} notifications in all: "
          f"{sorted({(n.receiver, *n.alertnames()) for n in ha.notifications})}")
    await check_victoriametrics(layout, started_wall, killed_wall)


# --- the long-term store -----------------------------------------------------------------------

def gaps(series: dict[str, Any]) -> list[tuple[float, float]]:
    """(from, seconds) of every pause between two samples longer than MAX_GAP."""
    stamps = [ms / 1000 for ms in series["timestamps"]]
    return [(a, b - a) for a, b in itertools.pairwise(stamps) if b - a > MAX_GAP]


async def check_victoriametrics(layout: Layout, started: float, killed: float) -> None:
    ha = layout.ha
    first = layout.trouble_sites()[0]
    healthy = layout.healthy_site("Kedaton")
    await ha.wait_for(lambda: time.time() > killed + 20, 40)  # remote_write, latency offset
    end = time.time() - 2

    def spans_kill(series: dict[str, Any]) -> bool:
        stamps: list[int] = series["timestamps"]
        return stamps[0] / 1000 < killed - 5 and stamps[-1] / 1000 > killed + 10

    # the combined state and the loss: one series each (the pair's copies merged), no pause
    for match in (f'site:netwatch_site_state:combined{{site="{first}",state="down"}}',
                  f'site:netwatch_icmp_loss:ratio5m{{site="{healthy}"}}',
                  'kecamatan:netwatch_site_state:sum{kecamatan="Kedaton",state="down"}'):
        exported = await ha.export(match, started)
        assert len(exported) == 1, f"{match}: {[s['metric'] for s in exported]}"
        (series,) = exported
        assert "prometheus_replica" not in series["metric"]
        assert spans_kill(series), (match, series["timestamps"][:3], series["timestamps"][-3:])
        assert gaps(series) == [], f"{match} pauses around the kill at {killed}: {gaps(series)}"
    down = (await ha.export(f'site:netwatch_site_state:combined{{site="{first}",state="down"}}',
                            killed - 5))[0]
    assert set(down["values"]) == {1}, f"the down site changed state when a twin died: {down}"

    # the twins' counters: two series per device, apart, never reset
    counters = await ha.export(f'netwatch_icmp_requests_total{{site="{healthy}"}}', started)
    by_device: dict[str, set[str]] = {}
    for series in counters:
        labels = series["metric"]
        assert "prometheus_replica" not in labels
        by_device.setdefault(labels["device"], set()).add(labels["replica"])
        values = [v for v in series["values"] if v is not None]  # None: a staleness marker
        assert values == sorted(values), f"a reset in {labels}: the twins' counters merged?"
    assert by_device == {"rtr": {"a", "b"}, "ap1": {"a", "b"}}
    window = f"{int(end - started)}s"
    resets = await ha.query(ha.vm_url, f"sum(resets(netwatch_icmp_requests_total[{window}]))"
                                       f" + sum(resets(netwatch_icmp_responses_total[{window}]))")
    assert resets and float(resets[0]["value"][1]) == 0

    # rate() of the pooled echoes: a value every step, none beyond what two twins send
    per_twin = FAST.icmp_count / FAST.icmp_interval
    body = await ha.get(f"{ha.vm_url}/api/v1/query_range",
                        query=f'sum(rate(netwatch_icmp_responses_total{{site="{healthy}",'
                              f'role="router"}}[5s]))',
                        start=str(int(started + 10)), end=str(int(end)), step="1s")
    (pooled,) = body["data"]["result"]
    points = [(float(ts), float(v)) for ts, v in pooled["values"]]
    steps = [b[0] - a[0] for a, b in itertools.pairwise(points)]
    assert max(steps) <= MAX_GAP, f"rate() pauses: {max(steps)} s"
    assert max(v for _, v in points) <= 2 * per_twin * 1.5, f"a jump in rate(): {points}"
    after = [v for ts, v in points if ts > killed + 10]
    assert after and all(0.5 * per_twin <= v <= 1.5 * per_twin for v in after), after
    print(f"victoriametrics: {len(down['values'])} samples of the combined state since the "
          f"kill, longest pause {max(steps):.0f} s in rate(); counters of {len(counters)} "
          f"twin series, no reset")

