"""The lab's plan and config, without starting anything: the whole city, trouble placement,
and what a machine without namespaces still runs."""

from __future__ import annotations

from pathlib import Path

import yaml

from netwatch.daemon.inventory_file import read_inventory
from netwatch.lab.lab import Lab, community
from netwatch.lab.plan import city, default_scenario


def test_city_maps_every_kelurahan_onto_unique_loopback_addresses() -> None:
    plan = city()
    assert len(plan.sites) == 126
    assert len({s.kecamatan for s in plan.sites}) == 20 and len(plan.upstreams) == 20
    addresses = [d.loopback for d in plan.devices()]
    assert len(addresses) == len(set(addresses)) == 126 * 2 + 20 + 1
    assert all(a.startswith("127.") for a in addresses)
    assert {d.role for s in plan.sites for d in s.devices} == {"router", "ap"}
    assert all(s.devices[1].parent == "rtr" for s in plan.sites)


def test_default_scenario_puts_each_trouble_in_its_own_zone() -> None:
    plan = default_scenario(city())
    kinds = {t.kind for t in plan.troubles}
    assert kinds == {"dark_kecamatan", "dark_upstream", "down", "ap_down", "lossy", "slow",
                     "flapping", "rebooting", "saturated"}
    assert len({t.zone for t in plan.troubles}) == len(plan.troubles)
    dark_pop = next(t for t in plan.troubles if t.kind == "dark_upstream")
    pop = next(u for u in plan.upstreams if u.id == dark_pop.upstream)
    assert pop.device.zone == dark_pop.zone  # the POP goes dark with its sites
    ap_site = plan.site(next(t for t in plan.troubles if t.kind == "ap_down").sites[0])
    assert [d.zone is not None for d in ap_site.devices] == [False, True]  # only the AP
    assert plan.maintenance  # one site in a maintenance window from the start


def test_without_namespaces_the_lab_says_what_it_skips_and_runs_the_rest(tmp_path: Path) -> None:
    lab = Lab(default_scenario(city()), workdir=tmp_path, use_namespaces=False)
    lab._decide_playable()
    lab._make_zones()
    assert len(lab.skipped) == 9 and all("namespaces disabled" in s for s in lab.skipped)
    assert not lab.plan.troubles and not lab.zones
    assert all(a.startswith("127.") for a in lab.addresses.values())
    lab.write_config()
    inventory = read_inventory(lab.config_path)
    assert len(inventory.sites) == 126
    assert inventory.count("snmp") == 126 * 2 + 20  # the core is a canary: ICMP only
    config = yaml.safe_load(lab.config_path.read_text())
    router = config["sites"][0]["devices"][0]
    assert router["snmp"] == {"auth": community(lab.plan.sites[0].devices[0])}
    assert config["auths"][router["snmp"]["auth"]]["community"] == router["snmp"]["auth"]
