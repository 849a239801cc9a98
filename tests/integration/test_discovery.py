"""Discovery against real agents: `netwatch discover` on snmpsim serving the recordings and
on the lab's topology (netwatch/lab/topologies.py), the sweep (a loopback range, a namespace), the
daemon's topology check exported on /metrics and shown on the site pages (the API, and
Debian's chromium headless).

Every address a test contacts is on loopback or in a namespace the test made (the sweep's
/28 of 198.18.0.0/15, removed afterwards); the unknown radio's advertised address
(127.77.0.99) gets a UDP listener that must stay silent: discovery never polls an address it
learned from a neighbour table."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import jsonschema
import pytest
import pytest_asyncio
import yaml
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By

from netwatch.daemon.inventory_file import read_inventory
from netwatch.daemon.service import Daemon
from netwatch.icmp.oneshot import privileged_sockets
from netwatch.lab import netns
from netwatch.lab.agents import (
    RECORDINGS,
    AgentSet,
    UdpResponder,
    V3User,
    prepare_recordings,
    snmpd_available,
    snmpsim_available,
)
from netwatch.lab.lab import SNMP_PORT, Lab
from netwatch.lab.stack import PromStack, missing_binaries
from netwatch.lab.topologies import EXPECTED_FINDINGS, UNKNOWN_RADIO, topology_plan
from tests.browser import browser_off_loop, console_errors, outside, shoot
from tests.conftest import ROOT, require
from tests.integration.labkit import FAST, scrape, scrape_target
from tests.metrics import labelled, parse
from tests.scrapecheck import catalog_problems, promtool_problems
from tests.waiting import until

pytestmark = pytest.mark.integration


def discover(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "netwatch", "discover", *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=timeout,
                          check=False)


@pytest.fixture(scope="module")
def topology_lab() -> Iterator[Lab]:
    require(snmpsim_available())
    lab = Lab(replace(topology_plan(), timing=FAST), use_namespaces=False)
    lab.start()
    try:
        yield lab
    finally:
        lab.stop()


@pytest.fixture
def learned_address_listener() -> Iterator[list[UdpResponder]]:
    """UDP listeners on the address the unknown radio advertises (SNMP's and the lab's
    port): any datagram there is discovery contacting a learned address."""
    address = UNKNOWN_RADIO[1]
    listeners = [UdpResponder(address, port, lambda *_: None) for port in (161, SNMP_PORT)]
    yield listeners
    for listener in listeners:
        listener.stop()


def test_discover_config_proposes_the_topology_labs_findings(
        topology_lab: Lab, learned_address_listener: list[UdpResponder]) -> None:
    started = time.monotonic()
    done = discover("--config", str(topology_lab.config_path))
    assert done.returncode == 0, done.stderr
    proposal = yaml.safe_load(done.stdout)
    sites = {s["id"]: s for s in proposal["sites"]}
    # drift: geser's router hangs off POP B
    assert sites["18.71.01.1004"]["upstream"] == "pop-b"
    assert "# was pop-a: 18.71.01.1004/rtr on trunk: sw72 (eth2) sees" in done.stdout
    # a missing parent, in the config's own shape
    assert sites["18.71.01.1005"]["devices"] == [{"name": "ap1", "parent": "rtr"}]
    # geser's access point is cabled to another site's router: no config line says that
    assert proposal["moved_devices"] == [{"site": "18.71.01.1004", "device": "ap1",
                                          "parent": "rtr", "seen_behind": "18.71.01.1003/rtr"}]
    assert "18.71.01.1003" not in sites  # rapi is as configured
    radio = [n for n in proposal["unknown_neighbors"] if n["name"] == UNKNOWN_RADIO[0]]
    assert radio == [{"seen_by": "18.71.01.1005/rtr", "ifname": "vlan254", "protocol": "lldp",
                      "name": "radio-baru", "port": "br-lan254", "chassis": "0e:01:01:00:02:53",
                      "addresses": [UNKNOWN_RADIO[1]]}]
    # real rows of the recordings that name nobody configured are listed too, by chassis id
    assert len(proposal["unknown_neighbors"]) > 10
    assert "3 findings" in done.stdout
    assert [listener.received for listener in learned_address_listener] == [0, 0]
    assert time.monotonic() - started < 60


def test_discover_addresses_prints_each_devices_neighbours(
        learned_address_listener: list[UdpResponder]) -> None:
    require(snmpsim_available())
    with AgentSet() as agents:
        data = prepare_recordings(
            [RECORDINGS / f"{n}.snmprec" for n in ("topology_kurang_rtr", "ios_cdp")],
            Path(tempfile.mkdtemp(prefix="netwatch-discover-")) / "data")
        sim = agents.snmpsim(data, "127.77.200.1")
        common = ["--port", str(sim.port), "--timeout", "1", "--retries", "0"]
        done = discover("127.77.200.1", "--community", "topology_kurang_rtr", *common)
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        assert lines[0].startswith("127.77.200.1  <private>  (MikroTik RB951G-2HnD, profile "
                                   "mikrotik)")
        assert lines[1].split() == ["interface", "protocol", "neighbour", "port", "chassis",
                                    "addresses", "platform"]
        radio = next(line for line in lines if "radio-baru" in line)
        assert radio.split() == ["vlan254", "lldp", "radio-baru", "br-lan254",
                                 "0e:01:01:00:02:53", "127.77.0.99", "-"]
        assert len(lines) == 2 + 5
        cdp = discover("127.77.200.1", "--community", "ios_cdp", *common)
        assert cdp.returncode == 0, cdp.stderr
        phone = next(line for line in cdp.stdout.splitlines() if "SEP001795B0F381" in line)
        assert phone.split()[:4] == ["Gi0/2", "cdp", "SEP001795B0F381", "Port"]
        assert "127.77.3.2" in phone
        wrong = discover("127.77.200.1", "--community", "no-such-device", *common)
        assert wrong.returncode == 1
        assert wrong.stdout.startswith("127.77.200.1  FAILED (timeout")
    assert [listener.received for listener in learned_address_listener] == [0, 0]


def test_discover_address_with_a_v3_auth_from_the_config(tmp_path: Path) -> None:
    """`--auth NAME --config FILE`: the config's SNMPv3 user (Debian's snmpd, authPriv), and
    a wrong key refused as an authentication failure (exit 1, the reason printed)."""
    require(snmpd_available())
    user = V3User("noc", "auth-key-one", "priv-key-one")
    with AgentSet() as agents:
        agent = agents.snmpd("127.77.201.1", users=[user])
        config = tmp_path / "netwatch.yml"
        config.write_text(
            "auths:\n"
            "  v3: {version: '3', username: noc, security_level: authPriv, auth_protocol: SHA,"
            " auth_password: auth-key-one, priv_protocol: AES, priv_password: priv-key-one}\n"
            "  wrong: {version: '3', username: noc, security_level: authPriv, auth_protocol: SHA,"
            " auth_password: not-the-key, priv_protocol: AES, priv_password: priv-key-one}\n"
            "sites: []\n")
        common = ["--config", str(config), "--port", str(agent.port), "--timeout", "1",
                  "--retries", "0"]
        done = discover("127.77.201.1", "--auth", "v3", *common)
        wrong = discover("127.77.201.1", "--auth", "wrong", *common)
        unknown = discover("127.77.201.1", "--auth", "nobody", *common)
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.splitlines()[:2]
    assert first.startswith("127.77.201.1  ") and first.endswith("profile linux)")
    assert second == "  (no neighbours reported)"  # snmpd without lldpd has no LLDP rows
    assert wrong.returncode == 1
    assert wrong.stdout.startswith("127.77.201.1  FAILED (auth")
    assert "not-the-key" not in wrong.stdout + wrong.stderr
    assert unknown.returncode == 2 and "nobody" in unknown.stderr


def test_sweep_of_a_loopback_range_identifies_what_answers_snmp(tmp_path: Path) -> None:
    require(snmpsim_available())
    if privileged_sockets() is None:
        require("ICMP not permitted here")
    with AgentSet() as agents:
        data = prepare_recordings([], tmp_path / "data", names={
            "public": RECORDINGS / "routeros_rb750gr3.snmprec"})
        answering = ["127.78.0.2", "127.78.0.5", "127.78.0.9"]
        sim = agents.snmpsim(data, answering, community="public")
        config = tmp_path / "netwatch.yml"
        config.write_text(
            "auths: {v2: {version: 2c, community: public}}\n"
            "sites:\n  - {id: s1, name: Satu, kecamatan: K, devices: [\n"
            "      {name: rtr, role: router, address: 127.78.0.5, snmp: {auth: v2}}]}\n")
        started = time.monotonic()
        done = discover("--sweep", "127.78.0.0/28", "--community", "public", "--rate", "20",
                        "--port", str(sim.port), "--timeout", "0.5", "--retries", "0",
                        "--config", str(config))
        elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    proposal = yaml.safe_load(done.stdout)
    assert [(d["address"], d["role"], d["profile"]) for d in proposal["devices"]] == [
        ("127.78.0.2", "router", "mikrotik"), ("127.78.0.9", "router", "mikrotik")]
    assert [d["name"] for d in proposal["devices"]] == ["private", "private-2"]
    assert "14 addresses pinged at up to 20/s" in done.stdout
    assert "14 answered, 1 of them configured already" in done.stdout
    assert "answered ping but not SNMP (11)" in done.stdout
    assert elapsed >= 13 / 20  # 14 echoes at most 20 per second


@pytest.mark.root
def test_sweep_across_a_namespace_retries_the_silent_and_identifies_the_agent(
        tmp_path: Path) -> None:
    """A /28 of a namespace this test makes (198.18.0.0/15, removed afterwards): the host's end
    of the veth and the namespace's three addresses answer; the ten others are silent (no ARP
    answer: a second echo each, bounded by the rate and the timeout); snmpsim inside the
    namespace on one of them is identified across it, the others answer ping only."""
    require(netns.available())
    require(snmpsim_available())
    with netns.namespace(hosts=3, tag="sweep") as ns, AgentSet() as agents:
        data = prepare_recordings([], tmp_path / "data", names={
            "public": RECORDINGS / "routeros_rb750gr3.snmprec"})
        port = 16161  # inside the namespace: no host port to collide with
        agents.snmpsim(data, ns.addresses[1], port=port, community="public", namespace=ns)
        sweep = f"{ns.subnet.network_address}/28"
        started = time.monotonic()
        done = discover("--sweep", sweep, "--community", "public", "--rate", "50",
                        "--port", str(port), "--timeout", "0.5", "--retries", "0")
        elapsed = time.monotonic() - started
    assert netns.existing(ns.name) == []  # removed, veth and all
    assert done.returncode == 0, done.stderr
    proposal = yaml.safe_load(done.stdout)
    assert [(d["address"], d["profile"]) for d in proposal["devices"]] == [
        (ns.addresses[1], "mikrotik")]
    answering = sorted([ns.gateway, ns.addresses[0], ns.addresses[2]],
                       key=lambda a: tuple(map(int, a.split("."))))
    assert f"# answered ping but not SNMP (3): {', '.join(answering)}" in done.stdout
    assert "14 addresses pinged at up to 50/s" in done.stdout
    assert "4 answered, 0 of them configured already" in done.stdout
    assert elapsed >= (14 + 10 - 1) / 50  # a second echo for each silent address, paced


def test_sweep_refuses_more_than_a_slash_22() -> None:
    done = discover("--sweep", "127.0.0.0/21", "--community", "public")
    assert done.returncode == 2
    assert "a sweep covers at most 1024" in done.stderr
    assert done.stdout == ""


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def topology_daemon(topology_lab: Lab) -> AsyncIterator[Daemon]:
    """The real daemon on the topology lab, once its drift check has judged every device."""
    daemon = Daemon(topology_lab.config_path, read_inventory(topology_lab.config_path),
                    listen="127.0.0.1:0")
    await daemon.start()
    try:
        def found() -> set[tuple[str, tuple[str, str], str, str]]:
            return {(f.kind, f.device, f.expected, f.observed)
                    for f in daemon.drift.findings.values()}

        await until(lambda: found() == EXPECTED_FINDINGS, timeout=40,
                    what=lambda: f"findings {found()}")
        yield daemon
    finally:
        await daemon.shutdown()


async def test_the_daemon_exports_the_topology_labs_mismatches(topology_daemon: Daemon) -> None:
    body = await scrape(topology_daemon)
    got = parse(body)
    mismatches = {(s["kind"], (s["site"], s["device"]), s["expected"], s["observed"])
                  for s, value in labelled(got, "netwatch_topology_mismatch") if value == 1}
    assert mismatches == EXPECTED_FINDINGS
    neighbours = {(s["site"], s["device"], s["ifname"], s["remote_port"])
                  for s, _ in labelled(got, "netwatch_neighbor_info")}
    assert ("18.71.01.1003", "rtr", "trunk: Down (eth5)", "sfp-sfpplus1") in neighbours
    assert ("18.71.01.1005", "rtr", "vlan254", "br-lan254") in neighbours
    over = {(s["site"], s["device"]): v for s, v in labelled(got, "netwatch_neighbors_over_limit")}
    assert over[("18.71.01.1003", "rtr")] == 0
    assert catalog_problems(body)[1] == []
    assert promtool_problems(body) == ""


async def test_the_mismatch_alert_reaches_the_noc(topology_daemon: Daemon,
                                                 tmp_path: Path) -> None:
    """NetwatchTopologyMismatch through Debian's Prometheus 2.42 and Alertmanager 0.25 (the
    test profile's 5 s `for`, production routes): each contradiction reaches the NOC group
    with its configured and seen ends, in Bahasa Indonesia and English."""
    require(missing_binaries())
    name = "NetwatchTopologyMismatch"
    async with PromStack(tmp_path, [scrape_target(topology_daemon)]) as stack:
        def alerts() -> list[dict[str, Any]]:
            return [a for n in stack.firing("noc-telegram", name) for a in n.alerts()
                    if a["labels"]["alertname"] == name]

        def arrived() -> set[tuple[str, tuple[str, str], str, str]]:
            return {(a["labels"]["kind"], (a["labels"]["site"], a["labels"]["device"]),
                     a["labels"].get("expected", ""), a["labels"]["observed"])
                    for a in alerts()}

        await stack.wait_for(lambda: arrived() == EXPECTED_FINDINGS, timeout=60)
    assert {n.receiver for n in stack.notifications if name in n.alertnames()} \
        == {"noc-telegram"}  # a warning: the NOC group, never the on-call phone
    missing = next(a for a in alerts() if a["labels"]["kind"] == "missing_parent")
    assert missing["labels"]["severity"] == "warning"
    assert missing["annotations"]["summary"] == \
        "Topologi 18.71.01.1005/ap1 tidak sesuai konfigurasi (missing_parent) / Topology mismatch"
    described = missing["annotations"]["description"]
    assert "dikonfigurasi (tidak ada), terlihat 18.71.01.1005/rtr" in described
    assert "configured (none), seen 18.71.01.1005/rtr" in described


def _cells(driver: WebDriver, selector: str) -> list[list[str]]:
    return [[td.text for td in row.find_elements(By.TAG_NAME, "td")]
            for row in driver.find_elements(By.CSS_SELECTOR, selector)]


async def test_site_pages_show_the_neighbours_and_the_drift(topology_daemon: Daemon) -> None:
    """The API and the site page (Debian's chromium, headless) show what each device's
    tables say, which configured device each row names, and where that contradicts the
    config; nothing is fetched from outside 127.0.0.1."""
    host, port = topology_daemon.addresses[0]
    url = f"http://{host}:{port}"
    async with aiohttp.ClientSession() as session, \
            session.get(f"{url}/api/v1/sites/18.71.01.1004") as answer:
        geser = await answer.json()
    jsonschema.validate(geser, json.loads((ROOT / "docs/api/site.schema.json").read_text()))
    rtr, ap1 = geser["devices"]
    assert {n["device"] for n in rtr["neighbours"]} >= {"pop-b/sw"}
    assert [m["kind"] for m in rtr["topology_mismatches"]] == ["upstream"]
    assert ap1["topology_mismatches"][0]["observed"] == "18.71.01.1003/rtr"
    assert "18.71.01.1003/rtr" in {s["device"] for s in ap1["seen_by"]}
    async with browser_off_loop(1280, 1600) as driver:
        await asyncio.to_thread(driver.get, f"{url}/site/18.71.01.1004")
        await until(lambda: asyncio.to_thread(
            lambda: driver.find_elements(By.CSS_SELECTOR, "#neighbour-rows tbody tr")), 10,
            "the neighbour table")
        flagged = [li.text for li in driver.find_elements(By.CSS_SELECTOR,
                                                           "#neighbours li.mismatch")]
        assert flagged == [
            "⚠ rtr: topologi tidak sesuai (upstream): konfigurasi pop-a, terlihat pop-b",
            "⚠ ap1: topologi tidak sesuai (parent): konfigurasi rtr, terlihat 18.71.01.1003/rtr"]
        rows = _cells(driver, "#neighbour-rows tbody tr")
        assert ["rtr", "pop-b/sw"] in [[r[0], r[5]] for r in rows]
        # geser's access point speaks no LLDP: rapi's router's table names it
        seen = [li.text for li in driver.find_elements(By.CSS_SELECTOR, ".seen-by li")]
        assert any(line.startswith("ap1") and "terlihat dari 18.71.01.1003/rtr" in line
                   for line in seen), seen
        shoot(driver, "site-neighbours-drift")
        # the unknown radio: its name and the address it advertises, marked unknown
        await asyncio.to_thread(driver.get, f"{url}/site/18.71.01.1005")
        await until(lambda: asyncio.to_thread(
            lambda: driver.find_elements(By.CSS_SELECTOR, "#neighbour-rows tbody tr")), 10,
            "the neighbour table")
        radio = [r for r in _cells(driver, "#neighbour-rows tbody tr") if r[3] == "radio-baru"]
        assert radio == [["rtr", "vlan254", "lldp", "radio-baru", "br-lan254",
                          f"tidak dikenal {UNKNOWN_RADIO[1]}"]]
        assert outside(driver, "127.0.0.1") == []
        assert console_errors(driver) == []
