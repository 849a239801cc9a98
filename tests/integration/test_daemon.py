"""The daemon end to end with real ICMP: scrapes checked by promtool and against the metric
catalog (also with snmpsim agents serving every kind of recording), reloads, signals, and
site topology with a router silenced in a namespace."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import replace
from pathlib import Path

import aiohttp
import bcrypt
import pytest

from netwatch.base.catalog import METRICS
from netwatch.base.errors import StartupError
from netwatch.daemon.inventory_file import read_inventory
from netwatch.daemon.service import Daemon
from netwatch.lab.plan import city
from netwatch.lab.ports import free_port
from netwatch.web.serve import WebOptions
from netwatch.web.webconfig import WebSettings
from tests.conftest import ROOT, MakeNamespace
from tests.integration.labkit import FAST, lab_and_daemon, scrape
from tests.metrics import parse, pick
from tests.scrapecheck import catalog_problems, promtool_problems
from tests.snmp_recordings import families_of
from tests.waiting import until

pytestmark = pytest.mark.integration

HEADER = """listen: 127.0.0.1:0
defaults:
  icmp: {interval: 0.5s, count: 3, spacing: 0.05s, timeout: 0.3s}
  snmp: {enabled: false}
  state: {down_after: 2, up_after: 1}
canaries: [{name: core, address: 127.0.0.1}]
sites:
"""


def site(index: int, address: str, kecamatan: str = "Kedaton", extra: str = "") -> str:
    return (f'  - id: "18.71.99.{1000 + index}"\n    name: Site {index}\n'
            f"    kecamatan: {kecamatan}\n    devices:\n"
            f"      - {{name: rtr, role: router, address: \"{address}\"{extra}}}\n")


def config(sites: list[str]) -> str:
    return HEADER + "".join(sites)


async def test_scrape_of_real_polls_passes_promtool(tmp_path: Path) -> None:
    path = tmp_path / "netwatch.yml"
    path.write_text(config([site(i, f"127.31.{i // 200}.{i % 200 + 1}") for i in range(60)]
                           + [site(60, "::1")]))
    daemon = Daemon(path, read_inventory(path))
    await daemon.start()
    try:
        await until(lambda: daemon.scheduler.polls >= 200, 15, "200 polls")
        body = await scrape(daemon)
    finally:
        await daemon.shutdown()
    assert promtool_problems(body) == ""
    assert catalog_problems(body)[1] == []
    got = parse(body)
    labels = {"site": "18.71.99.1060", "device": "rtr"}
    assert pick(got, "netwatch_up", probe="icmp", **labels) == 1  # ::1 answered
    assert (pick(got, "netwatch_icmp_responses_total", **labels) or 0) >= 3
    rtt_sum = pick(got, "netwatch_icmp_rtt_seconds_sum", site="18.71.99.1000", device="rtr")
    assert rtt_sum is not None and 0 < rtt_sum < 0.1  # loopback: microseconds per echo
    assert pick(got, "netwatch_site_state", site="18.71.99.1000", state="up") == 1
    assert pick(got, "netwatch_targets", probe="icmp") == 62
    assert pick(got, "netwatch_config_last_reload_successful") == 1
    assert pick(got, "netwatch_canary_up", canary="core") == 1


@pytest.mark.root
async def test_scrape_with_snmp_agents_agrees_with_the_catalog() -> None:
    """Three kecamatan of the lab: routers, access points and POP switches served by
    snmpsim from every kind of recording (RouterOS, UniFi, airOS, IOS, SwOS, Linux), polled
    over real ICMP and SNMP; the gzip scrape Prometheus would take, family by family."""
    plan = replace(city(["18.71.01", "18.71.02", "18.71.03"], sites_per_kecamatan=2, base=160),
                   timing=replace(FAST, icmp_count=3))
    async with lab_and_daemon(plan) as (_, daemon):
        snmp = [s for key, s in daemon.state.targets.items() if key[2] == "snmp"]
        assert len(snmp) == 15  # 6 sites x (router, AP), 3 POP switches (canaries: ICMP only)
        await until(lambda: all(s.last is not None and s.last.ok for s in snmp), 60,
                    "every agent answered a poll")
        body = await scrape(daemon, gzip=True)
    exported, problems = catalog_problems(body)
    assert problems == []
    assert promtool_problems(body) == ""
    # a healthy lab has everything but what needs trouble (a cut-off poller is 0, not absent)
    # or hardware none of its devices is (an LTE modem, a backhaul radio, a power supply):
    # exactly the SNMP families its recordings give when polled from memory are there;
    # values of the wrong type and tables past their row cap have series once they happen
    polled = {d.recording for d in plan.devices() if d is not plan.core}
    snmp_families = {m.name for m in METRICS.values() if m.origin in ("snmp", "profile")}
    missing = snmp_families - await families_of(polled)
    assert {"netwatch_snmp_rejected_values_total",
            "netwatch_snmp_truncated_tables_total"} <= missing
    # a link's baseline is exported once it has its normal (baselines.min_buckets buckets),
    # after the first poll this test waits for; docs/causes.md. A topology as configured has
    # no mismatch to name (a series per contradiction)
    baselines = {name for name in METRICS if "_baseline_" in name}
    assert set(METRICS) - exported - baselines == missing | {"netwatch_topology_mismatch"}


async def test_reload_adds_changes_removes_and_refuses_broken(tmp_path: Path) -> None:
    path = tmp_path / "netwatch.yml"
    path.write_text(config([site(1, "127.32.0.1"), site(2, "127.32.0.2"), site(3, "127.32.0.3")]))
    daemon = Daemon(path, read_inventory(path))
    await daemon.start()
    try:
        def requests(index: int) -> float | None:
            return pick(parse(daemon.render_metrics().decode()), "netwatch_icmp_requests_total",
                        site=f"18.71.99.{1000 + index}")

        await until(lambda: (requests(1) or 0) >= 6 and (requests(2) or 0) >= 6, 10, "polls")
        task_1 = daemon.scheduler._jobs[("18.71.99.1001", "rtr", "icmp")]
        task_3 = daemon.scheduler._jobs[("18.71.99.1003", "rtr", "icmp")]
        before = requests(1) or 0
        # site 2 removed, site 3 changed (count 2), site 4 added
        path.write_text(config([site(1, "127.32.0.1"),
                                site(3, "127.32.0.3", extra=", icmp: {count: 2}"),
                                site(4, "127.32.0.4")]))
        ok, message = await daemon.reload()
        assert ok, message
        assert daemon.scheduler._jobs[("18.71.99.1001", "rtr", "icmp")] is task_1  # timer kept
        assert requests(2) is None  # removed target's series are gone
        assert (requests(1) or 0) >= before  # counters of unchanged targets survive
        await until(lambda: (requests(4) or 0) >= 3, 10, "the added site polled")
        assert daemon.scheduler._jobs[("18.71.99.1003", "rtr", "icmp")] is not task_3
        changed_from = requests(3) or 0  # kept: same labels, so the same series
        assert changed_from >= 6
        await until(lambda: (requests(3) or 0) >= changed_from + 4, 10, "changed site polled")
        assert ((requests(3) or 0) - changed_from) % 2 == 0  # now 2 echoes per round
        # a broken file: refused, old config and its series kept, reload metric says 0
        path.write_text(config([site(1, "127.32.0.300")]))
        ok, message = await daemon.reload()
        assert not ok
        assert f"{path}:" in message and "not an IP address or host name" in message
        got = parse(daemon.render_metrics().decode())
        assert pick(got, "netwatch_config_last_reload_successful") == 0
        assert (pick(got, "netwatch_icmp_requests_total", site="18.71.99.1004") or 0) >= 3
        assert set(daemon.inventory.sites) == {"18.71.99.1001", "18.71.99.1003", "18.71.99.1004"}
    finally:
        await daemon.shutdown()


async def test_reload_follows_the_thresholds_file_and_refuses_a_broken_one(
        tmp_path: Path) -> None:
    """The config's `thresholds:` file is part of the config: a reload (SIGHUP and POST
    /-/reload call the same) takes its new values, and a broken one fails the whole reload."""
    overrides = tmp_path / "thresholds.yml"
    overrides.write_text("degraded: {loss_ratio: 0.1}\n")
    path = tmp_path / "netwatch.yml"
    path.write_text("thresholds: thresholds.yml\n" + config([site(1, "127.34.0.1")]))
    # POST /-/reload: the lifecycle API on, and an operator who logged in sees the errors
    users = {"admin": bcrypt.hashpw(b"admin-pass", bcrypt.gensalt(4))}
    daemon = Daemon(path, read_inventory(path),
                    web_options=WebOptions(WebSettings(users=users), lifecycle=True))
    await daemon.start()
    site_id = "18.71.99.1001"
    try:
        assert daemon.sites.groups[site_id].policy.degraded_loss_ratio == 0.1
        overrides.write_text("degraded: {loss_ratio: 0.2, rtt_p90: 400ms}\n")
        ok, message = await daemon.reload()
        assert ok, message
        policy = daemon.sites.groups[site_id].policy
        assert (policy.degraded_loss_ratio, policy.degraded_rtt_p90) == (0.2, 0.4)

        overrides.write_text("degraded:\n  loss_ratio: 2\n")
        host, port = daemon.addresses[0]
        login = {"Authorization": aiohttp.encode_basic_auth("admin", "admin-pass")}
        async with aiohttp.ClientSession(headers=login) as session, \
                session.post(f"http://{host}:{port}/-/reload") as response:
            assert response.status == 400
            text = await response.text()
        assert f"{overrides}:2: degraded.loss_ratio: must be at most 1" in text
        assert daemon.sites.groups[site_id].policy.degraded_loss_ratio == 0.2  # kept
        got = parse(daemon.render_metrics().decode())
        assert pick(got, "netwatch_config_last_reload_successful") == 0
    finally:
        await daemon.shutdown()


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=2) as response:
        body: bytes = response.read()
    return body.decode()


def test_run_reloads_on_sighup_and_exits_zero_on_sigterm(tmp_path: Path) -> None:
    path = tmp_path / "netwatch.yml"
    port = free_port()
    text = config([site(1, "127.33.0.1")]).replace("listen: 127.0.0.1:0",
                                                    f"listen: 127.0.0.1:{port}")
    path.write_text(text)
    process = subprocess.Popen([sys.executable, "-m", "netwatch", "run", str(path)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, text=True)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if "Ready" in get(f"http://127.0.0.1:{port}/-/ready"):
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "daemon not ready"
            assert process.poll() is None, process.communicate()
            time.sleep(0.1)
        path.write_text(text + site(2, "127.33.0.2")[0:])
        process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while 'site="18.71.99.1002"' not in get(f"http://127.0.0.1:{port}/metrics"):
            assert time.monotonic() < deadline, "SIGHUP did not reload"
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
        _, err = process.communicate()
        assert '"event": "reloaded"' in err and '"event": "stopped"' in err
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


async def test_silent_router_makes_site_down_and_ap_behind_it_suppressed(
        tmp_path: Path, make_namespace: MakeNamespace) -> None:
    ns = make_namespace(hosts=2)
    rtr, ap = ns.addresses
    path = tmp_path / "netwatch.yml"
    path.write_text(HEADER + f'''  - id: "18.71.99.2001"
    name: Behind
    kecamatan: Kedaton
    devices:
      - {{name: rtr, role: router, address: {rtr}}}
      - {{name: ap1, role: ap, address: {ap}, parent: rtr}}
  - id: "18.71.99.2002"
    name: Neighbour
    kecamatan: Kedaton
    devices:
      - {{name: rtr, role: router, address: 127.34.0.1}}
''')
    daemon = Daemon(path, read_inventory(path))
    await daemon.start()
    try:
        group = daemon.sites.groups["18.71.99.2001"]
        await until(lambda: group.state == "up", 10, "site up while the namespace answers")
        ns.set_echo(False)  # the router (and everything behind it) goes silent
        await until(lambda: group.state == "down", 10, "site down")
        await until(lambda: daemon.state.status(("18.71.99.2001", "ap1", "icmp")) == "down", 10,
                    "the access point's own verdict")
        got = parse(daemon.render_metrics().decode())
        assert group.cause == "rtr down"  # the AP's silence is not its own fault
        assert pick(got, "netwatch_device_suppressed", site="18.71.99.2001", device="ap1",
                    reason="parent_down") == 1
        assert pick(got, "netwatch_device_suppressed", site="18.71.99.2001", device="rtr",
                    reason="parent_down") == 0
        assert pick(got, "netwatch_site_state", site="18.71.99.2001", state="down") == 1
        assert pick(got, "netwatch_site_state", site="18.71.99.2002", state="up") == 1
        ns.set_echo(True)
        await until(lambda: group.state == "up", 10, "site back up")
    finally:
        await daemon.shutdown()


BACKGROUND = {"loop lag", "maintenance refresh"}


def background_tasks() -> list[str]:
    return sorted(t.get_name() for t in asyncio.all_tasks()
                  if not t.done() and t.get_name() in BACKGROUND)


async def test_background_tasks_live_and_die_with_the_web_app(tmp_path: Path) -> None:
    """Owned by the aiohttp application's cleanup_ctx: running after start, gone after
    shutdown, and never left behind by a start that fails (here: the port is taken)."""
    path = tmp_path / "netwatch.yml"
    path.write_text(config([site(1, "127.33.0.1")]))
    daemon = Daemon(path, read_inventory(path), listen="127.0.0.1:0")
    await daemon.start()
    try:
        assert background_tasks() == sorted(BACKGROUND)
        host, port = daemon.addresses[0]
        second = Daemon(path, read_inventory(path), listen=f"{host}:{port}")
        with pytest.raises(StartupError, match="cannot listen on"):
            await second.start()
        assert background_tasks() == sorted(BACKGROUND)  # the first daemon's, no more
    finally:
        await daemon.shutdown()
    assert background_tasks() == []
