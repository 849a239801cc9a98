"""The configured topology against observed neighbours (netwatch.discovery.topology), and the
daemon's drift check that exports it. Neighbour rows here are written by hand: this is the
pure judgement; tests/unit/test_neighbors.py reads them from real recordings."""

from __future__ import annotations

from pathlib import Path

import pytest
from structlog.testing import capture_logs

from netwatch.base.exposition import MetricStore
from netwatch.daemon.inventory_file import read_inventory
from netwatch.discovery.drift import DriftCheck
from netwatch.discovery.topology import Finding, analyse
from netwatch.inventory.model import Inventory
from netwatch.scheduler.prober import Failed, Outcome
from netwatch.snmp.neighbors import Neighbor, Topology
from netwatch.snmp.result import SnmpResult

CONFIG = """
defaults:
  snmp: {auth: v2}
auths: {v2: {version: 2c, community: public}}
upstreams:
  - {id: pop-a, name: POP A, kecamatan: K,
     devices: [{name: sw, role: upstream, address: 127.0.9.1}]}
  - {id: pop-b, name: POP B, kecamatan: K,
     devices: [{name: sw, role: upstream, address: 127.0.9.2}]}
sites:
  - {id: s1, name: Satu, kecamatan: K, upstream: pop-a, devices: [
      {name: rtr, role: router, address: 127.0.1.1},
      {name: ap1, role: ap, address: 127.0.1.2, parent: rtr},
      {name: ap2, role: ap, address: 127.0.1.3, parent: rtr}]}
  - {id: s2, name: Dua, kecamatan: K, upstream: pop-a, devices: [
      {name: rtr, role: router, address: 127.0.2.1},
      {name: ap1, role: ap, address: 127.0.2.2, parent: rtr}]}
  - {id: s3, name: Tiga, kecamatan: K, upstream: pop-b, devices: [
      {name: rtr, role: router, address: 127.0.3.1},
      {name: ap1, role: ap, address: 127.0.3.2}]}
  - {id: s4, name: Empat, kecamatan: K, devices: [{name: rtr, role: router, address: 127.0.4.1}]}
"""
MAC = {("s1", "rtr"): "02:00:00:00:01:01", ("s1", "ap1"): "02:00:00:00:01:02",
       ("s1", "ap2"): "02:00:00:00:01:03", ("s2", "rtr"): "02:00:00:00:02:01",
       ("s2", "ap1"): "02:00:00:00:02:02", ("s3", "rtr"): "02:00:00:00:03:01",
       ("s3", "ap1"): "02:00:00:00:03:02", ("s4", "rtr"): "02:00:00:00:04:01",
       ("pop-a", "sw"): "02:00:00:00:09:01", ("pop-b", "sw"): "02:00:00:00:09:02"}


@pytest.fixture
def inventory(tmp_path: Path) -> Inventory:
    path = tmp_path / "netwatch.yml"
    path.write_text(CONFIG)
    return read_inventory(path)


def seen(*others: tuple[str, str], name: str = "", addresses: tuple[str, ...] = (),
         chassis: str | None = None) -> tuple[Neighbor, ...]:
    """Rows naming configured devices by their MAC (or as given)."""
    rows = [Neighbor("lldp", "ether1", name, "eth0", MAC[o], "", ()) for o in others]
    if chassis is not None or addresses:
        rows.append(Neighbor("lldp", "ether9", name, "", chassis or "", "", addresses))
    return tuple(rows)


def topo(key: tuple[str, str], neighbors: tuple[Neighbor, ...] = (),
         sysname: str = "") -> Topology:
    return Topology(sysname, frozenset({MAC[key]}), neighbors)


def everyone_else_silent(observed: dict[tuple[str, str], Topology]
                         ) -> dict[tuple[str, str], Topology]:
    """Every device answers SNMP (its MAC is known); those not given see nobody."""
    return {key: observed.get(key, topo(key)) for key in MAC}


def findings(inventory: Inventory, observed: dict[tuple[str, str], Topology]
             ) -> set[tuple[str, tuple[str, str], str, str]]:
    return {(f.kind, f.device, f.expected, f.observed)
            for f in analyse(inventory, everyone_else_silent(observed)).findings}


def test_a_topology_as_configured_has_no_findings(inventory: Inventory) -> None:
    observed = {
        ("s1", "rtr"): topo(("s1", "rtr"), seen(("pop-a", "sw"), ("s1", "ap1"), ("s1", "ap2"))),
        ("s1", "ap1"): topo(("s1", "ap1"), seen(("s1", "ap2"), ("pop-a", "sw"))),  # bridged
        ("s2", "rtr"): topo(("s2", "rtr"), seen(("pop-a", "sw"))),
        ("s3", "rtr"): topo(("s3", "rtr"), seen(("pop-b", "sw"))),
        ("pop-a", "sw"): topo(("pop-a", "sw"), seen(("s1", "rtr"), ("s2", "rtr"))),
    }
    assert findings(inventory, observed) == set()


def test_no_evidence_is_no_finding(inventory: Inventory) -> None:
    strangers = (Neighbor("lldp", "ether1", "somebody", "", "0a:0b:0c:0d:0e:0f", "", ()),)
    observed = {key: topo(key, strangers) for key in MAC}
    analysis = analyse(inventory, observed)
    assert analysis.findings == []
    assert len(analysis.unknown_neighbours()) == len(MAC)


def test_parent_contradicted_by_a_device_of_another_site(inventory: Inventory) -> None:
    # s2's ap1 is cabled to s1's router; s2's router does not see it
    observed = {("s1", "rtr"): topo(("s1", "rtr"), seen(("s2", "ap1"), ("s1", "ap1"))),
                ("s2", "rtr"): topo(("s2", "rtr"), seen(("pop-a", "sw")))}
    assert findings(inventory, observed) == {("parent", ("s2", "ap1"), "rtr", "s1/rtr")}


def test_parent_seen_wins_over_other_devices(inventory: Inventory) -> None:
    observed = {("s1", "rtr"): topo(("s1", "rtr"), seen(("s2", "ap1"))),
                ("s2", "rtr"): topo(("s2", "rtr"), seen(("s2", "ap1")))}
    assert findings(inventory, observed) == set()


def test_upstream_contradicted(inventory: Inventory) -> None:
    observed = {("s2", "rtr"): topo(("s2", "rtr"), seen(("pop-b", "sw")))}
    assert findings(inventory, observed) == {("upstream", ("s2", "rtr"), "pop-a", "pop-b")}


def test_missing_parent_and_missing_upstream(inventory: Inventory) -> None:
    observed = {("s3", "rtr"): topo(("s3", "rtr"), seen(("s3", "ap1"), ("pop-b", "sw"))),
                ("s4", "rtr"): topo(("s4", "rtr"), seen(("pop-b", "sw")))}
    assert findings(inventory, observed) == {
        ("missing_parent", ("s3", "ap1"), "", "s3/rtr"),
        ("missing_upstream", ("s4", "rtr"), "", "pop-b")}


@pytest.mark.parametrize(("row", "matched"), [
    (Neighbor("cdp", "Fa0/1", "", "", "", "", ("127.0.2.1",)), ("s2", "rtr")),  # address
    (Neighbor("lldp", "e1", "", "", "02:00:00:00:02:02", "", ()), ("s2", "ap1")),  # MAC
    (Neighbor("lldp", "e1", "RTR-DUA.kota.example", "", "", "", ()), ("s2", "rtr")),  # sysName
    (Neighbor("lldp", "e1", "ap", "", "", "", ()), None),  # sysName of two devices
    (Neighbor("mndp", "e1", "", "", "", "", ("127.0.200.1",)), None),
])
def test_a_row_names_a_device_by_address_mac_or_unique_sysname(
        inventory: Inventory, row: Neighbor, matched: tuple[str, str] | None) -> None:
    observed = {("s1", "rtr"): Topology("rtr-satu", frozenset(), (row,)),
                ("s2", "rtr"): Topology("rtr-dua", frozenset(), ()),
                ("s2", "ap1"): Topology("ap", frozenset({MAC[("s2", "ap1")]}), ()),
                ("s3", "ap1"): Topology("ap", frozenset(), ())}
    assert analyse(inventory, observed).reports[0].match == matched


def test_a_mac_two_configured_devices_report_names_neither(inventory: Inventory) -> None:
    """Two POPs from one cloned config (or a shared virtual MAC): a row with that MAC is
    an unknown neighbour, not a link to whichever was read first (the lab city, where
    several POPs serve the same recording, proposed POPs as each other's upstream)."""
    shared = "02:00:00:00:09:99"
    row = Neighbor("lldp", "ether1", "", "sfp1", shared, "", ())
    observed = {("s4", "rtr"): Topology("rtr-empat", frozenset({MAC[("s4", "rtr")]}), (row,)),
                ("pop-a", "sw"): Topology("core", frozenset({shared}), ()),
                ("pop-b", "sw"): Topology("core", frozenset({shared}), ())}
    analysis = analyse(inventory, observed)
    assert [r.match for r in analysis.reports] == [None]
    assert analysis.findings == []
    del observed[("pop-b", "sw")]  # one owner: the row names it (a missing upstream)
    again = analyse(inventory, observed)
    assert [r.match for r in again.reports] == [("pop-a", "sw")]
    assert [(f.kind, f.observed) for f in again.findings] == [("missing_upstream", "pop-a")]


def result(topology: Topology | None) -> Outcome:
    return Outcome(SnmpResult((), "mikrotik", topology=topology), 0.01, 0.0)


def mismatch_lines(store: MetricStore) -> list[str]:
    return [line for line in store.render().decode().splitlines()
            if line.startswith("netwatch_topology_mismatch{")]


def test_drift_check_exports_logs_once_and_clears(inventory: Inventory) -> None:
    store = MetricStore()
    drift = DriftCheck(store)
    drift.sync(inventory)
    target = inventory.targets[("s2", "rtr", "snmp")]
    wrong = topo(("s2", "rtr"), seen(("pop-b", "sw")))
    # pop-b's switch has been polled: its MAC is known (else nothing names it)
    drift.record(inventory.targets[("pop-b", "sw", "snmp")], result(topo(("pop-b", "sw"))))
    with capture_logs() as logs:
        drift.record(target, result(wrong))
        assert drift.dirty
        drift.check()
        drift.record(target, result(wrong))  # the same refresh again: nothing to judge
        assert not drift.dirty
        drift.record(target, Outcome(Failed("timeout"), 0.01, 0.0))  # keeps the last one
        assert not drift.dirty
    assert mismatch_lines(store) == [
        'netwatch_topology_mismatch{site="s2",kecamatan="K",device="rtr",role="router",'
        'kind="upstream",expected="pop-a",observed="pop-b"} 1']
    assert [e["event"] for e in logs] == ["topology_mismatch"]
    assert "s2/rtr on ether1 sees" in logs[0]["evidence"]
    with capture_logs() as logs:
        drift.record(target, result(topo(("s2", "rtr"), seen(("pop-a", "sw")))))
        drift.check()
    assert mismatch_lines(store) == []
    assert [e["event"] for e in logs] == ["topology_mismatch_cleared"]


def test_drift_forgets_devices_a_reload_removed(inventory: Inventory, tmp_path: Path) -> None:
    store = MetricStore()
    drift = DriftCheck(store)
    drift.sync(inventory)
    drift.record(inventory.targets[("pop-b", "sw", "snmp")], result(topo(("pop-b", "sw"))))
    drift.record(inventory.targets[("s2", "rtr", "snmp")],
                 result(topo(("s2", "rtr"), seen(("pop-b", "sw")))))
    assert [f.kind for f in drift.check()] == ["upstream"]
    path = tmp_path / "fewer.yml"
    path.write_text(CONFIG.replace("  - {id: s2,", "  - {id: s9,"))
    drift.sync(read_inventory(path))
    assert drift.check() == [] and mismatch_lines(store) == []


def test_drift_judges_a_complete_view_or_after_one_round(inventory: Inventory) -> None:
    """Names and MACs match only when one configured device reports them: with half the
    devices read that is not known yet. Two POPs sharing a MAC, one of them read, and a
    router's row with that MAC: not judged until every SNMP device has finished a poll
    (a failure counts), or one interval plus deadline after the load."""
    shared = "02:00:00:00:09:99"
    drift = DriftCheck(MetricStore())
    drift.sync(inventory)
    assert drift.grace == 60.0 + 48.0  # the default SNMP interval and deadline (0.8 x)
    rows = (Neighbor("lldp", "ether1", "", "sfp1", shared, "", ()),)
    drift.record(inventory.targets[("s4", "rtr", "snmp")],
                 result(Topology("rtr-empat", frozenset({MAC[("s4", "rtr")]}), rows)))
    drift.record(inventory.targets[("pop-a", "sw", "snmp")],
                 result(Topology("core", frozenset({shared}), ())))
    assert drift.dirty and not drift.ready()
    assert drift.ready(now=drift.synced_at + drift.grace)  # long enough: judge what is known
    for key in MAC:
        if key not in {("pop-b", "sw"), ("pop-a", "sw"), ("s4", "rtr")}:
            drift.record(inventory.targets[(*key, "snmp")], result(topo(key)))
    assert not drift.ready()
    drift.record(inventory.targets[("pop-b", "sw", "snmp")], Outcome(Failed("timeout"), 0.0, 0.0))
    assert drift.ready()  # every device has reported (one failed): the view is complete
    drift.record(inventory.targets[("pop-b", "sw", "snmp")],
                 result(Topology("core", frozenset({shared}), ())))
    assert drift.check() == []  # the MAC is pop-a's and pop-b's: it names neither
    assert not drift.ready()


def test_finding_is_a_value() -> None:
    a = Finding("parent", ("s", "d"), "rtr", "x/y", "e")
    assert a == Finding("parent", ("s", "d"), "rtr", "x/y", "e")
