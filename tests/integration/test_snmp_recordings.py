"""SNMP against snmpsim serving every real recording (one simulator, its own loopback
address, community = recording): the daemon's prober polls each one and the expected
metrics carry the values the recording holds."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from netwatch.base.catalog import METRICS
from netwatch.base.exposition import MetricStore
from netwatch.config.model import AuthConfig
from netwatch.lab.agents import (
    RECORDINGS,
    Agent,
    AgentSet,
    grow,
    prepare_recordings,
    snmpsim_available,
)
from netwatch.snmp.oid import parse_oid
from netwatch.snmp.prober import SnmpProber, adhoc_target
from netwatch.snmp.result import SnmpFamilies, SnmpResult, SnmpSeries
from netwatch.snmp.snmprec import read_records, read_values
from tests.conftest import ROOT, require
from tests.scrapecheck import catalog_problems, promtool_problems
from tests.snmp_recordings import (
    EXPECTED_PROFILE,
    RADIO_EXPECTATIONS,
    column,
    expected,
    exported,
    interface_names,
    labels_of,
    series,
)

pytestmark = pytest.mark.integration

ADDRESS = "127.3.1.1"
IF_NAME, IF_DESCR = parse_oid("1.3.6.1.2.1.31.1.1.1.1"), parse_oid("1.3.6.1.2.1.2.2.1.2")
IF_HC_IN, IF_IN = parse_oid("1.3.6.1.2.1.31.1.1.1.6"), parse_oid("1.3.6.1.2.1.2.2.1.10")
IF_HC_OUT = parse_oid("1.3.6.1.2.1.31.1.1.1.10")


@pytest.fixture(scope="module")
def simulator() -> Iterator[Agent]:
    require(snmpsim_available())
    with AgentSet() as agents:
        sources = sorted(RECORDINGS.glob("*.snmprec"))
        assert {p.stem for p in sources} == set(EXPECTED_PROFILE)  # every recording is tested
        routeros = read_records(RECORDINGS / "routeros.snmprec")
        data = prepare_recordings(sources, agents.workdir / "data",
                                  names={"kelurahan-1-ap": RECORDINGS / "unifi_nanohd.snmprec"},
                                  extra={"routeros_moving": grow(routeros, 50_000)})
        yield agents.snmpsim(data, ADDRESS, community="routeros")


async def poll(prober: SnmpProber, agent: Agent, community: str,
               max_peers: int = 0) -> SnmpResult:
    auth = AuthConfig.model_validate({"version": "2c", "community": community})
    name = community.replace("_", "-").replace(".", "-").lower()
    target = adhoc_target(agent.address, auth, port=agent.port, timeout=2.0, retries=1,
                          name=f"{name}-peers" if max_peers else name, max_peers=max_peers)
    return await prober.poll(target)


@pytest.mark.parametrize("name", sorted(EXPECTED_PROFILE))
async def test_every_recording_polls_with_auto_profile(snmp_prober: SnmpProber, simulator: Agent,
                                                        name: str) -> None:
    result = await poll(snmp_prober, simulator, name)
    assert result.ok, result.detail
    assert result.profile == EXPECTED_PROFILE[name]
    values = read_values(RECORDINGS / f"{name}.snmprec")
    names = interface_names(values)
    octets = column(values, IF_HC_IN) or column(values, IF_IN)
    rx = series(result, "netwatch_interface_receive_bytes_total")
    assert rx == {f'ifname="{names[i]}"': v for i, v in octets.items()}
    for key in series(result, "netwatch_interface_info"):
        labels = labels_of(key)
        assert labels["ifname"] == names.get(int(labels["ifindex"]), labels["ifname"])


@pytest.mark.parametrize(("name", "metric", "labels", "oid", "how"), RADIO_EXPECTATIONS,
                         ids=[f"{e[0]}:{e[1]}:{','.join(e[2].values())}"
                              for e in RADIO_EXPECTATIONS])
async def test_radio_and_device_families_carry_the_recorded_values(
        snmp_prober: SnmpProber, simulator: Agent, name: str, metric: str,
        labels: dict[str, str], oid: str, how: float | dict[int, float]) -> None:
    """Each value as snmpsim serves it, polled as a backhaul device (per-peer series on)."""
    result = await poll(snmp_prober, simulator, name, max_peers=16)
    assert result.ok, result.detail
    want = expected(read_values(RECORDINGS / f"{name}.snmprec"), oid, how)
    assert exported(result, metric, labels) == want


async def test_a_radio_with_16_peers_over_a_cap_of_10(
        snmp_prober: SnmpProber, simulator: Agent) -> None:
    aggregated = await poll(snmp_prober, simulator, "routeros_16peers")
    assert not [n for n, _, _ in aggregated.samples if n.startswith("netwatch_radio_peer")]
    assert series(aggregated, "netwatch_wireless_clients")['ifname="wlan1"'] == 12
    capped = await poll(snmp_prober, simulator, "routeros_16peers", max_peers=10)
    assert len(series(capped, "netwatch_radio_peer_signal_dbm")) == 10
    assert series(capped, "netwatch_radio_peers_over_limit") == {"": 6}


async def test_every_family_of_every_recording_passes_the_catalog_and_promtool(
        snmp_prober: SnmpProber, simulator: Agent) -> None:
    """All recordings polled as backhaul devices, rendered into one exposition."""
    store = MetricStore()
    families = SnmpFamilies(store, snmp_prober.profiles)
    for index, name in enumerate(sorted(EXPECTED_PROFILE)):
        result = await poll(snmp_prober, simulator, name, max_peers=16)
        rendered = SnmpSeries(families, f'site="s{index}",kecamatan="k",device="d",role="router"')
        rendered.apply(result)
        for family, text in rendered.render():
            store.set(family, name, text)
    body = store.render().decode()
    exported, problems = catalog_problems(body)
    assert problems == [] and promtool_problems(body) == ""
    # every family a profile maps, but the two no recording in the pool carries (RouterOS's
    # LTE RSSI on 3G, airOS's ubntAirMaxQuality: tests/unit/test_catalog.py sets them)
    assert {m.name for m in METRICS.values() if m.origin == "profile"} - exported == {
        "netwatch_lte_rssi_dbm", "netwatch_radio_airmax_quality_ratio"}


async def test_routeros_names_octets_cpu_temperature(
        snmp_prober: SnmpProber, simulator: Agent) -> None:
    result = await poll(snmp_prober, simulator, "routeros")
    assert series(result, "netwatch_interface_transmit_bytes_total")['ifname="WAN"'] == \
        read_values(RECORDINGS / "routeros.snmprec")[(*IF_HC_OUT, 3)]
    assert series(result, "netwatch_device_cpu_utilization_ratio") == {"": 0.0525}
    assert series(result, "netwatch_device_temperature_celsius") == {'sensor="temperature"': 33.0}
    assert series(result, "netwatch_wireless_clients")['ifname="wlan1"'] == 7
    assert series(result, "netwatch_interface_oper_up")['ifname="WAN"'] == 1


async def test_airos_clients_and_32_bit_fallback(snmp_prober: SnmpProber, simulator: Agent) -> None:
    result = await poll(snmp_prober, simulator, "airos_airos8")
    assert series(result, "netwatch_wireless_clients") == {'ifname="ath0"': 1}
    assert series(result, "netwatch_interface_receive_bytes_total")['ifname="ath0"'] == \
        read_values(RECORDINGS / "airos_airos8.snmprec")[(*IF_IN, 7)]
    (info,) = series(result, "netwatch_device_info")
    assert 'model="LiteBeam 5AC Gen2"' in info and 'os_version="8.7.4"' in info


async def test_cisco_64_bit_counters(snmp_prober: SnmpProber, simulator: Agent) -> None:
    result = await poll(snmp_prober, simulator, "ios")
    rx = series(result, "netwatch_interface_receive_bytes_total")
    assert rx['ifname="Te0/2"'] == 155056812481016 > 2**32


async def test_detection_by_subtree_and_by_sysdescr(
        snmp_prober: SnmpProber, simulator: Agent) -> None:
    """UniFi and airOS report a Linux sysObjectID: only their subtrees (or sysDescr) tell."""
    nanohd = await poll(snmp_prober, simulator, "unifi_nanohd")
    achd = await poll(snmp_prober, simulator, "unifi_achd")
    linux = await poll(snmp_prober, simulator, "linux_ntc")
    assert (nanohd.profile, achd.profile, linux.profile) == ("unifi", "unifi", "linux")
    (info,) = series(achd, "netwatch_device_info")
    assert 'model="UAP-AC-HD"' in info and 'os_version="3.9.19.8123"' in info


async def test_one_community_per_simulated_device(
        snmp_prober: SnmpProber, simulator: Agent) -> None:
    """The lab serves each device under its own community (a hard link to a recording)."""
    result = await poll(snmp_prober, simulator, "kelurahan-1-ap")
    assert result.ok and result.profile == "unifi"


async def test_counters_move_on_a_growing_recording(
        snmp_prober: SnmpProber, simulator: Agent) -> None:
    rx, boot = "netwatch_interface_receive_bytes_total", "netwatch_device_boot_time_seconds"
    before = await poll(snmp_prober, simulator, "routeros_moving")
    for _ in range(50):  # bounded: the simulator's clock moves in real time
        await asyncio.sleep(0.1)
        again = await poll(snmp_prober, simulator, "routeros_moving")
        if series(again, rx)['ifname="WAN"'] > series(before, rx)['ifname="WAN"']:
            break
    else:
        pytest.fail("counter did not grow")
    # the uptime ticks along with the counters: the same boot time, no reboot seen
    assert len(series(again, boot)) == 1 and series(again, boot) == series(before, boot)


def test_probe_command_prints_identity_profile_and_interfaces(simulator: Agent,
                                                              tmp_path: Path) -> None:
    config = tmp_path / "netwatch.yml"
    config.write_text("auths:\n  lab: {version: 2c, community: routeros}\n")
    base = [sys.executable, "-m", "netwatch", "probe", "--snmp", simulator.address,
            "--port", str(simulator.port), "--timeout", "1", "--retries", "0"]
    done = subprocess.run([*base, "--auth", "lab", "--config", str(config)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "profile mikrotik (chosen by auto)" in done.stdout
    assert "model RB952Ui-5ac2nD" in done.stdout and "os_version 6.40.5" in done.stdout
    assert re.search(r"WAN\s+up/up\s+100 Mbit/s\s+6422347895\s+358657426", done.stdout)
    assert "routeros" not in done.stdout + done.stderr  # the community is never printed
    wrong = subprocess.run([*base, "--community", "wrong"], cwd=ROOT, capture_output=True,
                           text=True, timeout=60, check=False)
    assert wrong.returncode == 1 and "FAILED (timeout)" in wrong.stdout
