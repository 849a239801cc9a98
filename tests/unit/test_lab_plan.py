"""The lab's plan and config, without starting anything: the whole city, trouble placement,
and what a machine without namespaces still runs."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import yaml

from netwatch.daemon.inventory_file import read_inventory
from netwatch.lab import stories
from netwatch.lab.lab import Lab, community, composed
from netwatch.lab.plan import STORY_KINDS, STORY_START, city, default_scenario, with_backhaul
from netwatch.snmp.oid import parse_oid


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
                     "flapping", "rebooting", "saturated", "lossy_upstream", "fading",
                     "lte_weak", "power_cut", "storage_full"}
    assert len({t.zone for t in plan.troubles}) == len(plan.troubles)
    dark_pop = next(t for t in plan.troubles if t.kind == "dark_upstream")
    pop = next(u for u in plan.upstreams if u.id == dark_pop.upstream)
    assert pop.device.zone == dark_pop.zone  # the POP goes dark with its sites
    ap_site = plan.site(next(t for t in plan.troubles if t.kind == "ap_down").sites[0])
    assert [d.zone is not None for d in ap_site.devices] == [False, True]  # only the AP
    assert plan.maintenance  # one site in a maintenance window from the start
    lossy_pop = next(t for t in plan.troubles if t.kind == "lossy_upstream")
    assert next(u for u in plan.upstreams if u.id == lossy_pop.upstream).device.zone \
        == lossy_pop.zone and len(lossy_pop.sites) == 2  # the POP loses under both sites
    dark = next(t for t in plan.troubles if t.kind == "dark_kecamatan")
    assert {plan.site(s).power_feed for s in dark.sites} == {f"pln-{dark.zone}"}
    fading = plan.site(next(t for t in plan.troubles if t.kind == "fading").sites[0])
    assert fading.devices[0].recording == "routeros_rb750gr3+routeros_station"
    assert fading.devices[0].uplink == "wan: STCable (eth1)"
    assert {t.start for t in plan.troubles if t.kind in STORY_KINDS} == {STORY_START}
    (relay,) = [s for s in plan.sites if len(s.devices) == 3]  # the backhaul radio's site
    assert relay.kode_kecamatan == "18.71.01" and relay.devices[2].per_peer
    assert relay.devices[2].recording == "airos-af60_airos-af60"
    assert not any(relay.id in t.sites for t in plan.troubles)
    with pytest.raises(ValueError, match="in trouble"):
        with_backhaul(plan, (fading.id,))


def test_a_story_router_serves_both_recordings_and_every_step_is_seen_by_polls() -> None:
    records = {oid: value for oid, _, value in composed("routeros_rb750gr3+routeros_station")}
    assert records[parse_oid(stories.VOLTAGE)] == "243"  # the router's own
    assert records[parse_oid(stories.SIGNAL)] == "-47"  # the station's radio row
    assert records[(1, 3, 6, 1, 2, 1, 1, 1, 0)] == "RouterOS RB750Gr3"  # the first one's
    for kind in STORY_KINDS:
        steps = stories.story(kind, pace=30.0)
        assert steps and steps == sorted(steps, key=lambda s: s.at)
        times = sorted({s.at for s in steps})
        assert all(b - a >= 30.0 for a, b in itertools.pairwise(times)), kind
    fade = stories.story("fading", 30.0)
    signals = [v for s in fade for oid, _, v in s.set if oid == stories.SIGNAL]
    assert signals[-1] == "-62" and any(s.loss for s in fade)  # 15 dB down, then loss


def test_without_namespaces_the_lab_says_what_it_skips_and_runs_the_rest(tmp_path: Path) -> None:
    lab = Lab(default_scenario(city()), workdir=tmp_path, use_namespaces=False)
    lab._decide_playable()
    lab._make_zones()
    assert len(lab.skipped) == 14 and all("namespaces disabled" in s for s in lab.skipped)
    assert not lab.plan.troubles and not lab.zones
    assert all(a.startswith("127.") for a in lab.addresses.values())
    lab.write_config()
    inventory = read_inventory(lab.config_path)
    assert len(inventory.sites) == 126
    # every router and AP, the POPs and the backhaul radio (the core is a canary: ICMP only)
    assert inventory.count("snmp") == 126 * 2 + 20 + 1
    config = yaml.safe_load(lab.config_path.read_text())
    radios = [(s["id"], d) for s in config["sites"] for d in s["devices"] if "radio" in d]
    assert [(d["name"], d["radio"]) for _, d in radios] == [("bh1", {"per_peer": True})]
    radio = inventory.devices[(radios[0][0], "bh1")].snmp
    assert radio is not None and radio.max_peers == 16  # the config's default cap
    assert config["thresholds"] == "lab-thresholds.yml"
    assert inventory.thresholds.baselines.bucket == lab.plan.timing.snmp_interval
    router = config["sites"][0]["devices"][0]
    assert router["snmp"] == {"auth": community(lab.plan.sites[0].devices[0])}
    assert config["auths"][router["snmp"]["auth"]]["community"] == router["snmp"]["auth"]
