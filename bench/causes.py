"""Figures of the causes: what the baselines and explain() cost per poll, the baselines'
memory, and writing them to the history store, at a city of 2,650 sites.

    .venv/bin/python bench/causes.py              # prints the figures
    .venv/bin/python bench/causes.py --sites 500  # a smaller city

No network and no daemon: the site engine is fed SNMP polls as the scheduler would (a router
with a radio link, a voltage, a flash and its uplink counters; its access point), with the
packaged thresholds (1 h buckets over 7 days). The cost of the baselines is the difference
between the same polls with and without them (Why.observe replaced by a no-op); explain() is
timed on every site judged down with its readings in place.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the checkout's tests/

from netwatch.base import logs
from netwatch.base.exposition import MetricStore
from netwatch.daemon.inventory_file import read_inventory
from netwatch.history.store import HistoryStore
from netwatch.inventory.model import Inventory
from netwatch.scheduler.prober import Outcome
from netwatch.sites.engine import SiteEngine
from netwatch.sites.targets import State
from netwatch.snmp.result import SnmpResult
from tests.fakes import FakeIcmp

HEADER = """listen: 127.0.0.1:0
defaults:
  snmp: {auth: lab}
auths: {lab: {version: 2c, community: public}}
sites:
"""
ROUNDS = 5  # SNMP polls of every device per measurement
HOUR = 3600.0


def config(sites: int) -> str:
    lines = [HEADER]
    for n in range(sites):
        a, b = divmod(n, 250)
        lines.append(
            f'  - {{id: "s{n}", name: S{n}, kecamatan: K{n // 20}, devices: ['
            f'{{name: rtr, role: router, address: "127.{10 + a}.{b}.1", '
            f'uplink: {{ifname: ether1, capacity: 20Mbit}}}}, '
            f'{{name: ap1, role: ap, address: "127.{10 + a}.{b}.2", parent: rtr}}]}}\n')
    return "".join(lines)


def router_poll(at: float, n: int) -> SnmpResult:
    """A router's SNMP poll: boot time, uplink counters, a radio link, voltage, flash."""
    wlan = 'ifname="wlan1"'
    return SnmpResult((
        ("netwatch_device_boot_time_seconds", "", 1_700_000_000.0),
        ("netwatch_interface_receive_bytes_total", 'ifname="ether1"', at * 1e5),
        ("netwatch_interface_transmit_bytes_total", 'ifname="ether1"', at * 2e4),
        ("netwatch_radio_signal_dbm", wlan, -58.0 - n % 7),
        ("netwatch_radio_tx_ccq_ratio", wlan, 0.95),
        ("netwatch_radio_rx_ccq_ratio", wlan, 0.9),
        ("netwatch_radio_tx_rate_bytes_per_second", wlan, 1.5e7),
        ("netwatch_radio_rx_rate_bytes_per_second", wlan, 9e6),
        ("netwatch_device_voltage_volts", 'sensor="voltage"', 24.1),
        ("netwatch_device_storage_used_bytes", 'storage="system disk"', 6e6),
        ("netwatch_device_storage_total_bytes", 'storage="system disk"', 1.6e7),
    ), "mikrotik")


def ap_poll() -> SnmpResult:
    return SnmpResult((("netwatch_device_boot_time_seconds", "", 1_700_000_000.0),
                       ("netwatch_wireless_clients", 'ifname="wlan0"', 12.0)), "unifi")


class City:
    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self.now = 1_800_000_000.0
        store = MetricStore()
        self.state = State(store, {"icmp": FakeIcmp()})
        self.sites = SiteEngine(store, self.state, clock=self._clock)
        self.state.sync(inventory)
        self.sites.sync(inventory)
        self.snmp = [t for t in inventory.targets.values() if t.probe == "snmp"]

    def _clock(self) -> datetime:
        return datetime.fromtimestamp(self.now, UTC)

    def poll_all(self) -> float:
        """Every device's SNMP poll once; seconds taken."""
        start = time.perf_counter()
        for n, target in enumerate(self.snmp):
            result = router_poll(self.now, n) if target.key[1] == "rtr" else ap_poll()
            self.state.record(target, Outcome(result, 0.01, 0.0))
        return time.perf_counter() - start


def per_poll(city: City, hours: int) -> list[float]:
    """Microseconds per SNMP poll, one figure per round of every device; the clock moves an
    hour every ROUNDS rounds (the first round of an hour closes every bucket)."""
    figures = []
    for _ in range(hours):
        for _ in range(ROUNDS):
            figures.append(city.poll_all() / len(city.snmp) * 1e6)
        city.now += HOUR
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sites", type=int, default=2650)
    args = parser.parse_args()
    logs.configure("error", json=True)  # thousands of polls are fed: keep the figures
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "netwatch.yml"
        path.write_text(config(args.sites))
        inventory = read_inventory(path)

        hours = 14  # past min_buckets (12): every router link has its normal
        plain = City(inventory)
        plain.sites.why.observe = lambda *a, **k: None  # type: ignore[method-assign]
        without = per_poll(plain, hours)[-3 * ROUNDS:]
        city = City(inventory)
        last = per_poll(city, hours)[-3 * ROUNDS:]  # both measured over their last 3 hours
        p50_without = statistics.median(without)
        p50_with = statistics.median(last)
        closing = max(last[::ROUNDS])  # the first round of an hour closes every bucket
        baselines = city.sites.why.baselines
        print(f"city: {args.sites} sites, {len(city.snmp)} SNMP targets, "
              f"{len(baselines.series)} baselined series")
        print(f"SNMP poll through the site engine: {p50_without:.1f} us without baselines, "
              f"{p50_with:.1f} us with them (median of rounds): +{p50_with - p50_without:.1f} "
              f"us per poll; {closing:.1f} us in the round that closes the hour's buckets")

        groups = [g for g in city.sites.groups.values() if g.is_site]
        views = {g.id: [city.sites.device_view(d, d.labels.device in g.roots)
                        for d in g.devices] for g in groups}
        start = time.perf_counter()
        causes = [city.sites._explain(g, "down", views[g.id]) for g in groups]
        explain_us = (time.perf_counter() - start) / len(groups) * 1e6
        print(f"explain() of a site judged down: {explain_us:.1f} us per site "
              f"({len(groups)} sites; causes: {sorted({c.name for c in causes})})")

        memory = baselines.memory_bytes()
        print(f"baselines in memory: {memory / 2**20:.1f} MiB for {len(baselines.series)} "
              f"series ({memory / max(1, len(baselines.series)):.0f} B each: "
              f"{baselines.settings.slots} float32 buckets and the running one)")

        dumps = {device: baselines.dump(device) for device in
                 sorted({(k[0], k[1]) for k in baselines.series})}
        store = HistoryStore(Path(tmp) / "history.sqlite")
        store.open()
        start = time.perf_counter()
        store.save_baselines(dumps, city.now)
        saved = time.perf_counter() - start
        start = time.perf_counter()
        loaded = store.baselines()
        read = time.perf_counter() - start
        store.close()
        size = sum(len(t) for t in dumps.values())
        with sqlite3.connect(Path(tmp) / "history.sqlite") as db:
            pages = db.execute("PRAGMA page_count").fetchone()[0] * \
                db.execute("PRAGMA page_size").fetchone()[0]
        print(f"history store: {len(dumps)} devices' baselines ({size / 2**20:.1f} MiB of "
              f"dumps) written in {saved * 1e3:.0f} ms, read in {read * 1e3:.0f} ms "
              f"({len(loaded)} rows); database {pages / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
