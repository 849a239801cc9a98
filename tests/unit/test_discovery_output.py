"""What `netwatch discover` prints and how far a sweep may go, without a network: the
proposals are YAML in the config's shape (also with hostile neighbour names), the sweep's
range and rate bounds. The commands against real agents: tests/integration/test_discovery.py."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml

from netwatch.daemon.inventory_file import read_inventory
from netwatch.discovery.proposal import config_proposal, device_name, sweep_proposal
from netwatch.discovery.sweep import MAX_RATE, Pacer, sweep_addresses
from netwatch.discovery.topology import analyse
from netwatch.discovery.walk import Reading, neighbor_table
from netwatch.snmp.neighbors import Neighbor, Topology
from tests.unit.test_discovery import CONFIG, MAC, seen, topo

# what a neighbour may call itself: quotes, a line break, YAML's own line breaks (U+2028,
# NEL), a C1 control (YAML refuses it unescaped), flow and comment syntax
HOSTILE = 'evil" name\n# injected: {x: 1}\u2028- [y]\x85\x9b'


def test_config_proposal_is_yaml_in_the_configs_shape(tmp_path: Path) -> None:
    path = tmp_path / "netwatch.yml"
    path.write_text(CONFIG)
    inventory = read_inventory(path)
    observed = {key: topo(key) for key in MAC}
    observed[("s1", "ap1")] = topo(("s1", "ap1"), seen(("s2", "rtr")))    # moved to Dua
    observed[("s3", "rtr")] = topo(("s3", "rtr"), seen(("s3", "ap1")))    # ap1 lacks parent
    stranger = Neighbor("lldp", "ether9", HOSTILE, "p#1", "0e:00:00:00:00:01", "",
                        ("127.0.0.99",))
    observed[("s4", "rtr")] = topo(("s4", "rtr"), (
        *seen(("pop-a", "sw")),                                          # no upstream set
        stranger, stranger,  # an agent that repeats a row, and MNDP hearing it too: one entry
        Neighbor("mndp", "ether9", "", "", "0E:00:00:00:00:01", "RouterOS",
                 ("127.0.0.98", "127.0.0.99"))))
    analysis = analyse(inventory, observed)
    readings = [Reading(d.address, key, "mikrotik", {}, observed[key])
                for key, d in inventory.devices.items()]
    readings.append(Reading("127.0.5.1", ("s5", "rtr"), error="timeout: no answer"))
    text = config_proposal(inventory, analysis, readings, "netwatch discover --config x.yml")
    proposal = yaml.safe_load(text)
    assert proposal["sites"] == [{"id": "s3", "devices": [{"name": "ap1", "parent": "rtr"}]},
                                 {"id": "s4", "upstream": "pop-a"}]
    assert proposal["moved_devices"] == [{"site": "s1", "device": "ap1", "parent": "rtr",
                                          "seen_behind": "s2/rtr"}]
    assert proposal["unknown_neighbors"] == [
        {"seen_by": "s4/rtr", "ifname": "ether9", "protocol": "lldp, mndp", "name": HOSTILE,
         "port": "p#1", "chassis": "0e:00:00:00:00:01", "platform": "RouterOS",
         "addresses": ["127.0.0.99", "127.0.0.98"]}]
    assert "# not read: s5/rtr (timeout: no answer)" in text
    assert "findings, 1 unknown neighbours." in text  # counted as folded
    assert "# was none configured" not in text and "upstream: \"pop-a\"    # none configured:" \
        in text  # the evidence beside the proposal, as a comment
    quiet = analyse(inventory, {key: topo(key) for key in MAC})
    assert yaml.safe_load(config_proposal(inventory, quiet, readings, "h")) == {}


def test_sweep_proposal_names_devices_once_and_stays_yaml() -> None:
    taken: set[str] = set()
    assert [device_name(s, a, taken) for s, a in (
        ("RTR-Kedaton.example.net", "127.0.0.1"), ("rtr-kedaton", "127.0.0.2"),
        ("<private>", "127.0.0.3"), ("", "2001:2::1"))] == [
        "rtr-kedaton", "rtr-kedaton-2", "private", "dev-2001-2-1"]
    found = [Reading("127.0.0.1", None, "mikrotik", {"sysname": HOSTILE, "vendor": "MikroTik"},
                     Topology(HOSTILE, frozenset(), ())),
             Reading("127.0.0.2", None, "unifi", {"sysname": "ap"}, None)]
    text = sweep_proposal(found, ["127.0.0.9"], "netwatch discover --sweep 127.0.0.0/28")
    assert yaml.safe_load(text) == {"devices": [
        {"name": "evil-name-injected-x-1-y", "role": "router", "address": "127.0.0.1",
         "profile": "mikrotik"},
        {"name": "ap", "role": "ap", "address": "127.0.0.2", "profile": "unifi"}]}
    assert "# answered ping but not SNMP (1): 127.0.0.9" in text
    assert yaml.safe_load(sweep_proposal([], [], "h")) == {}


def test_neighbour_table_of_one_device() -> None:
    reading = Reading("127.0.0.1", None, "mikrotik", {"sysname": "rtr", "vendor": "MikroTik"},
                      Topology("rtr", frozenset(), (Neighbor(
                          "mndp", "ether2", "ap-1", "", "aa:bb:cc:dd:ee:ff", "RouterOS",
                          ("127.0.0.2", "fe80::1")),)))
    lines = neighbor_table(reading).splitlines()
    assert lines[0] == "127.0.0.1  rtr  (MikroTik, profile mikrotik)"
    assert lines[2].split() == ["ether2", "mndp", "ap-1", "-", "aa:bb:cc:dd:ee:ff",
                                "127.0.0.2,fe80::1", "RouterOS"]
    assert neighbor_table(Reading("127.0.0.3", None, error="timeout: x")) == \
        "127.0.0.3  FAILED (timeout: x)"


@pytest.mark.parametrize(("cidr", "count"), [
    ("127.71.3.0/24", 254), ("127.71.0.0/22", 1022), ("127.71.3.7/32", 1), ("127.71.3.6/31", 2),
    ("127.71.3.7/24", 254), ("2001:2::/118", 1023)])
def test_a_sweep_covers_at_most_a_slash_22(cidr: str, count: int) -> None:
    assert len(sweep_addresses(cidr)) == count


@pytest.mark.parametrize(("cidr", "message"), [
    ("127.71.0.0/21", "at most 1024"), ("0.0.0.0/0", "at most 1024"),
    ("2001:2::/117", r"IPv6 /118"), ("kedaton", "not an address range"),
    ("127.71.3.0/24; rm -rf /", "not an address range")])
def test_a_larger_or_odd_range_is_refused(cidr: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        sweep_addresses(cidr)


@pytest.mark.parametrize("rate", [0, -1, MAX_RATE + 1])
def test_the_rate_is_bounded(rate: float) -> None:
    with pytest.raises(ValueError, match="rate"):
        Pacer(rate)


async def test_the_pacer_spaces_every_echo() -> None:
    """Send times handed out are 1/rate apart, whoever asks (retries too)."""
    pacer = Pacer(500.0)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await asyncio.gather(*(pacer.wait() for _ in range(10)))
    assert pacer.next >= started + 10 / 500.0
