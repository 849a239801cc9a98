"""The site engine names causes from the polls it sees: ICMP rounds and SNMP readings fed as
the scheduler would, the clock moved by hand, short baseline buckets (a thresholds override)."""

from __future__ import annotations

from pathlib import Path

import pytest
from structlog.testing import capture_logs

from netwatch.scheduler.prober import Outcome
from netwatch.sites.engine import SiteEngine
from netwatch.snmp.result import SnmpResult
from tests.fakes import SiteHarness

CONFIG = """
thresholds: thresholds.yml
defaults:
  snmp: {auth: lab}
  state: {down_after: 2, up_after: 2}
auths: {lab: {version: 2c, community: public}}
canaries: [{name: core, address: 127.0.0.1}]
upstreams:
  - {id: pop-a, name: POP A, kecamatan: Kedaton,
     devices: [{name: sw, role: upstream, address: 127.0.9.1}]}
sites:
  - {id: s1, name: Satu, kecamatan: Kedaton, upstream: pop-a, power_feed: pln-7,
     devices: [{name: rtr, role: router, address: 127.0.1.1,
                uplink: {ifname: ether1, capacity: 8Mbit}},
               {name: ap1, role: ap, address: 127.0.1.2, parent: rtr}]}
  - {id: s2, name: Dua, kecamatan: Kedaton, upstream: pop-a, power_feed: pln-7,
     devices: [{name: rtr, role: router, address: 127.0.2.1}]}
  - {id: s3, name: Tiga, kecamatan: Kedaton, upstream: pop-a,
     devices: [{name: rtr, role: router, address: 127.0.3.1}]}
"""
THRESHOLDS = "baselines: {bucket: 10s, window_days: 1, min_buckets: 3}\n"
VOLTS = ("netwatch_device_voltage_volts", 'sensor="voltage"')
SIGNAL = ("netwatch_radio_signal_dbm", 'ifname="wlan1"')
BOOT = ("netwatch_device_boot_time_seconds", "")


class Harness(SiteHarness):
    def __init__(self, tmp_path: Path) -> None:
        super().__init__(tmp_path, CONFIG, **{"thresholds.yml": THRESHOLDS})
        self.boot = self.now.timestamp() - 86400.0
        self.octets = 0.0

    def snmp(self, owner: str, device: str, *readings: tuple[tuple[str, str], float],
             rate: float = 100_000.0) -> None:
        """One SNMP poll: the boot time, the uplink's counters growing at `rate` bytes/s
        (since the last poll), and the readings given."""
        self.octets += rate * 10
        samples = [(BOOT[0], "", self.boot),
                   ("netwatch_interface_receive_bytes_total", 'ifname="ether1"', self.octets),
                   ("netwatch_interface_transmit_bytes_total", 'ifname="ether1"', 1.0),
                   *((m, labels, value) for (m, labels), value in readings)]
        target = self.inventory.targets[(owner, device, "snmp")]
        self.state.record(target, Outcome(SnmpResult(tuple(samples), "mikrotik"), 0.01, 0.0))

    def healthy_minute(self, *readings: tuple[tuple[str, str], float]) -> None:
        """Six rounds of 10 s, every site answering; s1's router reports `readings`."""
        for _ in range(6):
            for key in sorted(self.inventory.targets):
                if key[2] == "icmp":
                    self.poll(key[0], key[1])
            self.snmp("s1", "rtr", *readings)
            self.wait(10)

    def cause(self, site: str) -> str | None:
        group = self.sites.groups[site]
        return group.why.name if group.why else None


@pytest.fixture
def h(tmp_path: Path) -> Harness:
    return Harness(tmp_path)


def test_healthy_sites_have_no_cause_and_every_cause_series_is_0(h: Harness) -> None:
    h.healthy_minute((VOLTS, 24.3))
    for site in ("s1", "s2", "s3"):
        assert h.site(site) == "up" and h.cause(site) is None
    body = h.store.render().decode()
    causes = [line for line in body.splitlines() if line.startswith("netwatch_site_cause{")]
    assert len(causes) == 3 * len(h.inventory.thresholds.cause_names)
    assert all(line.endswith(" 0") for line in causes)


def test_voltage_dip_then_death_is_power(h: Harness) -> None:
    h.healthy_minute((VOLTS, 24.3))
    assert h.sample('netwatch_device_voltage_volts') is None  # no prober: no SNMP series
    h.snmp("s1", "rtr", (VOLTS, 19.1))  # the dip, read before the router dies
    h.wait(5)
    with capture_logs() as logs:
        for _ in range(2):
            h.poll("s1", "rtr", ok=False)
            h.poll("s1", "ap1", ok=False)
    assert h.site("s1") == "down"
    assert h.cause("s1") == "power"
    [line] = [e for e in logs if e["event"] == "site_state"]
    assert (line["cause_name"], line["cause"]) == ("power", "rtr down")
    [finding] = line["evidence"]["findings"]
    assert finding["kind"] == "power_fell" and finding["value"] == 19.1
    assert finding["baseline"] == pytest.approx(24.3, abs=1e-5)
    labels = 'site="s1",kecamatan="Kedaton"'
    assert h.sample(f'netwatch_site_cause{{{labels},cause="power"}}') == "1"
    assert h.sample(f'netwatch_site_cause{{{labels},cause="unknown"}}') == "0"


def test_router_and_ap_lost_together_without_a_reading_is_unknown(h: Harness) -> None:
    h.healthy_minute((VOLTS, 24.3))
    for _ in range(2):
        h.poll("s3", "rtr", ok=False)
    assert h.site("s3") == "down" and h.cause("s3") == "unknown"


def test_one_feed_dark_together_is_power_for_both(h: Harness) -> None:
    h.healthy_minute()
    for site in ("s1", "s2"):
        for _ in range(2):
            h.poll(site, "rtr", ok=False)
        h.wait(20)
    assert h.cause("s1") == h.cause("s2") == "power"  # s1 judged again when s2 went dark
    group = h.sites.groups["s2"]
    assert group.why is not None and "power feed pln-7: 2 sites down" in group.why.text


def test_a_reboot_is_the_cause_and_its_transitions_are_not_flapping(h: Harness) -> None:
    h.healthy_minute()
    labels = 'site="s1",kecamatan="Kedaton"'
    for cycle in range(3):
        for _ in range(2):
            h.poll("s1", "rtr", ok=False)
        # down: nothing says why yet, the first time; later the last reboot is recent
        assert h.cause("s1") == ("unknown" if cycle == 0 else "device_rebooted")
        h.wait(40)
        h.boot = h.now.timestamp() - 20  # it booted 20 s ago
        h.poll("s1", "rtr")  # answers again: one good round of the two up_after needs
        h.snmp("s1", "rtr")  # the poll that sees the new boot time
        assert h.site("s1") == "down"
        assert h.cause("s1") == "device_rebooted"
        h.poll("s1", "rtr")
        assert h.site("s1") == "up" and h.cause("s1") is None
        changes = h.sample(f"netwatch_site_state_changes_total{{{labels}}}")
        assert changes == h.sample(f"netwatch_site_reboot_state_changes_total{{{labels}}}")
        assert changes == str(2 * (cycle + 1))
        h.wait(60)


def test_boot_times_the_pages_read_move_only_when_a_boot_time_does(h: Harness) -> None:
    readings = h.sites.why.readings
    assert readings.boot_time(("s1", "rtr")) is None
    h.snmp("s1", "rtr")
    assert readings.boot_time(("s1", "rtr")) == h.boot
    version = readings.version
    h.wait(10)
    h.snmp("s1", "rtr")  # the same boot: the site list stays built
    target = h.inventory.targets[("s1", "rtr", "snmp")]
    h.state.record(target, Outcome(SnmpResult((), "mikrotik", failure="timeout"), 0.5, 0.0))
    assert readings.version == version and readings.boot_time(("s1", "rtr")) == h.boot
    h.boot = h.now.timestamp() - 5  # a reboot
    h.snmp("s1", "rtr")
    assert readings.version > version and readings.boot_time(("s1", "rtr")) == h.boot
    version = readings.version
    readings.keep([("s2", "rtr")])  # a reload without s1: its router is forgotten
    assert readings.version > version and readings.boot_time(("s1", "rtr")) is None


def test_a_faded_link_is_radio_degraded_and_recovers_without_cause(h: Harness) -> None:
    h.healthy_minute((SIGNAL, -58.0))
    assert h.sample('netwatch_radio_signal_baseline_dbm{site="s1",kecamatan="Kedaton",'
                    'device="rtr",role="router",ifname="wlan1"}') == "-58"
    for _ in range(3):
        h.snmp("s1", "rtr", (SIGNAL, -70.0))
        h.poll("s1", "rtr", lost=2)
        h.wait(5)
    assert h.site("s1") == "degraded" and h.cause("s1") == "radio_degraded"
    h.healthy_minute((SIGNAL, -58.0))
    assert h.site("s1") == "up" and h.cause("s1") is None


def test_a_fade_that_lasts_is_not_learnt_as_the_links_normal(h: Harness) -> None:
    h.healthy_minute((SIGNAL, -58.0))
    for _ in range(40):  # 200 s faded: twenty buckets, more than the six normal ones
        h.snmp("s1", "rtr", (SIGNAL, -70.0))
        h.poll("s1", "rtr", lost=2)
        h.wait(5)
    assert h.site("s1") == "degraded" and h.cause("s1") == "radio_degraded"
    assert h.sites.why.normal("s1", "rtr", *SIGNAL) == -58.0


def test_full_uplink_with_loss_is_saturated(h: Harness) -> None:
    h.healthy_minute()
    for _ in range(3):
        h.snmp("s1", "rtr", rate=990_000.0)  # 7.9 Mbit/s of 8
        h.poll("s1", "rtr", lost=1)
        h.wait(5)
    assert h.site("s1") == "degraded"
    assert h.cause("s1") == "uplink_saturated"


def test_loss_the_pop_shares_is_upstream_loss(h: Harness) -> None:
    h.healthy_minute()
    for _ in range(3):
        h.poll("pop-a", "sw", lost=1)
        h.poll("s3", "rtr", lost=1)
        h.wait(5)
    assert h.site("s3") == "degraded" and h.cause("s3") == "upstream_loss"


def test_sites_behind_a_dead_pop_are_upstream_down(h: Harness) -> None:
    h.healthy_minute()
    for _ in range(2):
        h.poll("pop-a", "sw", ok=False)
        for site in ("s1", "s2", "s3"):
            h.poll(site, "rtr", ok=False)
    assert {h.cause(s) for s in ("s1", "s2", "s3")} == {"upstream_down"}


def test_a_site_restored_from_the_history_keeps_its_cause(tmp_path: Path) -> None:
    from netwatch.history.events import SiteEvent

    h = Harness(tmp_path)
    finding = {"kind": "power_fell", "text": "rtr voltage 19.0 V, its normal 24.3 V",
               "device": "rtr", "value": 19.0}
    engine = SiteEngine(h.store, h.state, clock=lambda: h.now)
    engine.restore({"s1": SiteEvent(h.now.timestamp() - 60, "s1", "Kedaton", "up", "down",
                                    "rtr down", {"findings": [finding]}, "power")})
    engine.sync(h.inventory)
    why = engine.groups["s1"].why
    assert engine.groups["s1"].state == "down" and why is not None and why.name == "power"
    assert why.findings[0].kind == "power_fell" and why.findings[0].facts["value"] == 19.0
    assert engine.groups["s2"].why is None
