"""Faults end in the right reason and netwatch_up, and never hold up a healthy device: no
agent, wrong community, junk replies, a slow agent (its own simulator: snmpsim's delay stalls
the whole process), missing objects, a PDU error, a reboot with counters reset. And ICMP
gates SNMP in the running daemon."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from netwatch.base.exposition import MetricStore
from netwatch.config.model import AuthConfig
from netwatch.daemon.inventory_file import read_inventory
from netwatch.daemon.service import Daemon
from netwatch.inventory.model import Target
from netwatch.lab.agents import (
    RECORDINGS,
    Agent,
    AgentSet,
    JunkServer,
    free_udp_port,
    grow,
    prepare_recordings,
    snmpsim_available,
)
from netwatch.scheduler.prober import Outcome, run_poll
from netwatch.sites.targets import State
from netwatch.snmp.prober import SnmpProber, adhoc_target
from netwatch.snmp.snmprec import Record, read_records
from tests.conftest import require
from tests.fakes import FakeIcmp, inventory_of
from tests.metrics import parse
from tests.waiting import until

pytestmark = pytest.mark.integration

BASE = "127.3.2"
SYS_UPTIME, HR_UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0), (1, 3, 6, 1, 2, 1, 25, 1, 1, 0)
IF_HC_IN = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6)
IF_NAME_3 = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 1, 3)
DEVICE_LABELS = ("site", "kecamatan", "device", "role", "probe")


def routeros(change: dict[tuple[int, ...], tuple[str, str]] | None = None) -> list[Record]:
    records = read_records(RECORDINGS / "routeros.snmprec")
    return [(oid, *(change or {}).get(oid, (tag, value))) for oid, tag, value in records]


def wrong_types() -> list[Record]:
    """An agent answering OCTET STRING for the 64-bit counters and for TimeTicks."""
    return [(oid, "4", "12345") if oid[:len(IF_HC_IN)] == IF_HC_IN
            else (oid, "4", "1 day, 02:03:04") if oid == SYS_UPTIME else (oid, tag, value)
            for oid, tag, value in routeros()]


@dataclass
class Lab:
    agents: AgentSet
    shared: Agent
    slow: Agent
    junk: JunkServer


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    require(snmpsim_available())
    with AgentSet() as agents:
        system_only = [r for r in routeros() if r[0][:7] == (1, 3, 6, 1, 2, 1, 1)]
        generr = [(SYS_UPTIME, "67:error", "op=any,status=genError"),
                  *(r for r in system_only if r[0] != SYS_UPTIME)]
        shared = prepare_recordings(
            [RECORDINGS / "routeros.snmprec"], agents.workdir / "shared",
            extra={"system_only": system_only,
                   "no_system": [((1, 3, 6, 1, 4, 1, 99999, 1, 0), "2", "1")],
                   "generr": generr, "wrong_types": wrong_types()})
        slow = prepare_recordings([], agents.workdir / "slow", extra={
            "routeros": routeros({(*IF_HC_IN, 1): ("70:delay", "value=1,wait=3000")})})
        yield Lab(agents, agents.snmpsim(shared, f"{BASE}.1", community="routeros"),
                  agents.snmpsim(slow, f"{BASE}.2", community="routeros"),
                  agents.junk(f"{BASE}.3"))


def target(address: str, port: int, community: str, name: str, timeout: float = 0.5) -> Target:
    auth = AuthConfig.model_validate({"version": "2c", "community": community})
    return adhoc_target(address, auth, port=port, timeout=timeout, retries=0, deadline=6.0,
                        name=name)


async def outcome(prober: SnmpProber, t: Target) -> Outcome:
    """As the scheduler does it: the deadline, and errors as reasons."""
    return Outcome(await run_poll(prober, t), 0.1, 0.0)


def exported(prober: SnmpProber, t: Target, done: Outcome) -> dict[str, float]:
    """The target's series after recording the outcome: {name{labels...}: value}."""
    store = MetricStore()
    state = State(store, {"snmp": prober})
    state.sync(inventory_of(t))
    state.record(t, done)
    return {name + "".join(f",{k}={v}" for k, v in sorted(labels) if k not in DEVICE_LABELS): value
            for (name, labels), value in parse(store.render()).items()}


def assert_failed(series: dict[str, float], reason: str) -> None:
    assert series["netwatch_up"] == 0
    assert series[f"netwatch_poll_errors_total,reason={reason}"] == 1


async def assert_fails_with(prober: SnmpProber, t: Target, reason: str) -> None:
    """The poll of `t` fails for `reason`, and its series say so."""
    done = await outcome(prober, t)
    assert done.reason == reason
    assert_failed(exported(prober, t, done), reason)


async def test_no_agent_and_wrong_community_time_out(snmp_prober: SnmpProber, lab: Lab) -> None:
    nobody = target(f"{BASE}.9", free_udp_port(f"{BASE}.9"), "public", "nobody")
    wrong = target(lab.shared.address, lab.shared.port, "not-the-community", "wrong")
    for t in (nobody, wrong):
        await assert_fails_with(snmp_prober, t, "timeout")


async def test_junk_replies_are_a_protocol_error(snmp_prober: SnmpProber, lab: Lab) -> None:
    received = lab.junk.received
    await assert_fails_with(snmp_prober, target(lab.junk.address, lab.junk.port, "public", "junk"),
                            "protocol")
    assert lab.junk.received > received


async def test_pdu_error_status_is_protocol(snmp_prober: SnmpProber, lab: Lab) -> None:
    generr = target(lab.shared.address, lab.shared.port, "generr", "generr")
    await assert_fails_with(snmp_prober, generr, "protocol")


async def test_missing_objects(snmp_prober: SnmpProber, lab: Lab) -> None:
    """noSuchObject for health scalars, endOfMibView for every table: a good poll."""
    t = target(lab.shared.address, lab.shared.port, "system_only", "sysonly")
    done = await outcome(snmp_prober, t)
    assert done.ok
    series = exported(snmp_prober, t, done)
    assert series["netwatch_up"] == 1 and series["netwatch_device_uptime_seconds"] == 20204
    assert not [k for k in series if k.startswith("netwatch_interface_")]
    bare = target(lab.shared.address, lab.shared.port, "no_system", "bare")
    await assert_fails_with(snmp_prober, bare, "protocol")  # answers, without the system group


async def test_slow_agent_partial_and_healthy_not_delayed(snmp_prober: SnmpProber,
                                                          lab: Lab) -> None:
    healthy = target(lab.shared.address, lab.shared.port, "routeros", "healthy", timeout=2.0)
    slow = target(lab.slow.address, lab.slow.port, "routeros", "slow", timeout=2.0)
    assert (await outcome(snmp_prober, healthy)).ok  # warm: lookups cached
    slow_poll = asyncio.ensure_future(outcome(snmp_prober, slow))
    healthy_poll = asyncio.ensure_future(outcome(snmp_prober, healthy))
    done, _ = await asyncio.wait([slow_poll, healthy_poll], return_when=asyncio.FIRST_COMPLETED)
    assert healthy_poll in done and slow_poll not in done  # it never waited for the slow one
    assert healthy_poll.result().ok
    partial = await slow_poll
    assert partial.reason == "timeout"  # the interface walk hit the 3 s delay
    series = exported(snmp_prober, slow, partial)
    assert_failed(series, "timeout")
    assert series["netwatch_device_temperature_celsius,sensor=temperature"] == 33.0  # kept
    assert series["netwatch_wireless_clients,ifname=wlan1"] == 7
    assert "netwatch_interface_receive_bytes_total,ifname=WAN" not in series


async def test_reboot_resets_counters_and_moves_boot_time(snmp_prober: SnmpProber, lab: Lab,
                                                          tmp_path: Path) -> None:
    address, port = f"{BASE}.4", free_udp_port(f"{BASE}.4")
    data = prepare_recordings([], tmp_path / "before", extra={"reboot": grow(routeros())})
    agent = lab.agents.snmpsim(data, address, port, community="reboot")
    t = target(address, port, "reboot", "reboot", timeout=2.0)
    before = exported(snmp_prober, t, await outcome(snmp_prober, t))
    agent.stop()
    rebooted = routeros({SYS_UPTIME: ("67", "1500"), HR_UPTIME: ("67", "1500"),
                         (*IF_HC_IN, 3): ("70", "1000"), IF_NAME_3: ("4", "wan-new")})
    data = prepare_recordings([], tmp_path / "after", extra={"reboot": grow(rebooted)})
    lab.agents.snmpsim(data, address, port, community="reboot")
    after = exported(snmp_prober, t, await outcome(snmp_prober, t))
    assert after["netwatch_up"] == 1
    assert before["netwatch_interface_receive_bytes_total,ifname=WAN"] > 6_000_000_000
    assert after["netwatch_interface_receive_bytes_total,ifname=wan-new"] < 10_000_000
    boot = "netwatch_device_boot_time_seconds"
    assert after[boot] > before[boot] + 10_000


async def test_icmp_gates_snmp_in_the_daemon(lab: Lab, tmp_path: Path) -> None:
    config = tmp_path / "netwatch.yml"
    config.write_text(f"""
listen: 127.0.0.1:0
defaults:
  icmp: {{interval: 0.2s, count: 1, spacing: 0.1s, timeout: 0.1s}}
  snmp: {{interval: 0.3s, timeout: 0.1s, retries: 0, auth: lab}}
  state: {{down_after: 1, up_after: 1}}
auths:
  lab: {{version: 2c, community: public}}
sites:
  - {{id: s1, name: S1, kecamatan: K, devices: [{{name: rtr, role: router,
      address: {lab.junk.address}, snmp: {{port: {lab.junk.port}}}}}]}}
""")
    down_icmp = FakeIcmp()  # every echo round fails, so the gate closes
    daemon = Daemon(config, read_inventory(config),
                    probers={"icmp": down_icmp, "snmp": SnmpProber()}, listen="127.0.0.1:0")
    await daemon.start()
    try:
        snmp = daemon.state.targets[("s1", "rtr", "snmp")]
        await until(lambda: snmp.last is not None and snmp.last.reason == "unreachable", 5.0,
                    "a gated SNMP poll")
        sent, polls = lab.junk.received, snmp.fail_streak
        await until(lambda: snmp.fail_streak >= polls + 3, 5.0, "three more gated polls")
        assert lab.junk.received == sent  # no SNMP sent
    finally:
        await daemon.shutdown()


async def test_wrong_typed_values_are_counted_and_logged_once(snmp_prober: SnmpProber,
                                                              lab: Lab) -> None:
    from structlog.testing import capture_logs

    t = target(lab.shared.address, lab.shared.port, "wrong_types", "wrongtypes")
    counters = sum(1 for oid, _, _ in wrong_types() if oid[:len(IF_HC_IN)] == IF_HC_IN)
    store = MetricStore()
    state = State(store, {"snmp": snmp_prober})
    state.sync(inventory_of(t))
    with capture_logs() as logs:
        for _ in range(3):
            state.record(t, await outcome(snmp_prober, t))
    series = {name + "".join(f",{k}={v}" for k, v in sorted(labels) if k not in DEVICE_LABELS):
              value for (name, labels), value in parse(store.render()).items()}
    assert series["netwatch_up"] == 1  # up, as before, but no longer silent:
    rejected = "netwatch_snmp_rejected_values_total,family="
    assert series[rejected + "netwatch_interface_receive_bytes_total"] == 3 * counters
    # sysUpTime as text: refused (the uptime then comes from snmpEngineTime, asked from then on)
    assert series[rejected + "netwatch_device_uptime_seconds"] >= 1
    assert not [k for k in series if k.startswith("netwatch_interface_receive_bytes_total")]
    warned = [e for e in logs if e["event"] == "snmp_values_rejected"]
    assert sorted(e["family"] for e in warned) == ["netwatch_device_uptime_seconds",
                                                   "netwatch_interface_receive_bytes_total"]
