"""The lab's plan: the Bandar Lampung inventory mapped onto this machine, and its trouble.

Pure data, no side effects. Healthy devices get loopback addresses (127.<100+kec>.<kel>.<dev>);
devices in trouble live in a *zone*: a network namespace the lab creates (addresses from
198.18.0.0/15 are assigned when it starts). Each device is served by an SNMP agent built from
one of the real recordings: routers from RouterOS, access points from UniFi/airOS, POP
switches from Cisco/SwOS, the city core (canary) from Linux. The routers of trouble that
unfolds (netwatch.lab.stories) serve a recording composed for their story (STORY_RECORDING):
`a+b` is recording a with the rows of b it lacks. A site may also carry a backhaul radio
(with_backhaul: an airFiber 60 relaying the link on to the next kelurahan, configured
`radio: {per_peer: true}`), so its per-peer series and their normals have a real device.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import Literal

TroubleKind = Literal["down", "ap_down", "lossy", "slow", "flapping", "rebooting", "saturated",
                      "dark_kecamatan", "dark_upstream", "lossy_upstream", "fading", "lte_weak",
                      "power_cut", "storage_full"]
STORY_KINDS: tuple[TroubleKind, ...] = ("fading", "lte_weak", "power_cut", "storage_full")
# the lab's own agent serves these zones (values changed as the story goes, reboots)
RESPONDER_KINDS: tuple[TroubleKind, ...] = (*STORY_KINDS, "rebooting")
_RB750 = "routeros_rb750gr3"
STORY_RECORDING: dict[TroubleKind, str] = {
    "fading": f"{_RB750}+routeros_station",  # and a DynaDish's station rows
    "lte_weak": f"{_RB750}+routeros_ltap-mini",  # and an LtAP mini's LTE modem
    "power_cut": _RB750, "storage_full": _RB750, "rebooting": _RB750,
}

ROUTER_RECORDINGS = ("routeros_rb750gr3", "routeros_rb433gl", "routeros", "routeros_wifi")
# each router recording's upstream-facing interface, as its ifName says (one that is up
# and carries traffic: rb433gl's eth1 is oper down, which raised NetwatchUplinkDown)
ROUTER_UPLINKS = {"routeros_rb750gr3": "wan: STCable (eth1)",
                  "routeros_rb433gl": "trunk: sw72 (eth2)",
                  "routeros": "WAN", "routeros_wifi": "ether1"}
AP_RECORDINGS = ("unifi_nanohd", "airos_airos8", "airos-af")
UPSTREAM_RECORDINGS = ("ios", "routeros_crs317", "swos")
CORE_RECORDING = "linux_ntc"
BACKHAUL_RECORDING = "airos-af60_airos-af60"  # per-station signal, SNR, capacity, modulation
ISPS = ("isp-a", "isp-b", "isp-c")
STORY_START = 150.0  # seconds: the demo's baselines need three SNMP intervals of 30 s first


@dataclass(frozen=True)
class LabDevice:
    owner: str  # site or upstream id
    name: str
    role: str
    recording: str
    loopback: str  # address when healthy
    parent: str | None = None
    uplink: str | None = None
    capacity: str | None = None
    zone: str | None = None  # namespace name when in trouble
    per_peer: bool = False  # a backhaul radio: one series per radio peer


@dataclass(frozen=True)
class LabSite:
    id: str
    name: str
    kecamatan: str
    kode_kecamatan: str
    lat: float
    lon: float
    isp: str
    upstream: str
    devices: tuple[LabDevice, ...]
    power_feed: str | None = None  # the PLN feeder it hangs off, where the lab says so


@dataclass(frozen=True)
class LabUpstream:
    id: str
    name: str
    kecamatan: str
    device: LabDevice


@dataclass(frozen=True)
class Trouble:
    """Scripted trouble on some sites. Parameters: `loss` (ratio, lossy and lossy_upstream),
    `delay` (seconds, slow), `period` (seconds, flapping and rebooting), `start` (seconds after
    the lab starts that a story (STORY_KINDS, and a saturated uplink's stream) begins; None:
    when a test says, Lab.begin)."""

    kind: TroubleKind
    sites: tuple[str, ...]
    loss: float = 0.0
    delay: float = 0.0
    period: float = 0.0
    upstream: str | None = None
    start: float | None = 0.0
    zone: str = ""  # the namespace playing it (set by with_trouble)


@dataclass(frozen=True)
class Timing:
    """Polling and hysteresis of the lab config (shorter than production, so trouble shows
    within a minute)."""

    icmp_interval: float = 5.0
    icmp_count: int = 5
    icmp_spacing: float = 0.2
    icmp_timeout: float = 1.0
    snmp_interval: float = 30.0
    snmp_timeout: float = 1.0  # per request; 1 retry must fit in 0.8 x interval
    down_after: int = 3
    up_after: int = 2


@dataclass(frozen=True)
class LabPlan:
    sites: tuple[LabSite, ...]
    upstreams: tuple[LabUpstream, ...]
    core: LabDevice
    troubles: tuple[Trouble, ...] = ()
    timing: Timing = field(default_factory=Timing)
    maintenance: tuple[str, ...] = ()  # sites in a maintenance window from the lab's start

    def devices(self) -> list[LabDevice]:
        return [self.core, *(u.device for u in self.upstreams),
                *(d for s in self.sites for d in s.devices)]

    def site(self, site_id: str) -> LabSite:
        return next(s for s in self.sites if s.id == site_id)

    def zones(self) -> list[str]:
        return sorted({d.zone for d in self.devices() if d.zone})


def _rows() -> list[dict[str, str]]:
    text = resources.files("netwatch.lab").joinpath("data/bandarlampung_kelurahan.csv").read_text(
        encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def _slug(name: str) -> str:
    return "-".join(name.lower().split())


def city(kecamatan: list[str] | None = None, sites_per_kecamatan: int | None = None,
         base: int = 100) -> LabPlan:
    """The healthy city: every kelurahan (or a subset, for tests) on loopback, at
    127.<base + kecamatan number>.<kelurahan number>.<device> (labs with different bases
    can run side by side)."""
    by_kec: dict[str, list[dict[str, str]]] = {}
    for row in _rows():
        if kecamatan is None or row["kode_kecamatan"] in kecamatan or row["kecamatan"] in kecamatan:
            by_kec.setdefault(row["kode_kecamatan"], []).append(row)
    sites, upstreams = [], []
    for k_index, (code, rows) in enumerate(sorted(by_kec.items())):
        kec_no = int(code.split(".")[2])
        name = rows[0]["kecamatan"]
        up_id = f"pop-{_slug(name)}"
        recording = UPSTREAM_RECORDINGS[k_index % len(UPSTREAM_RECORDINGS)]
        upstreams.append(LabUpstream(up_id, f"POP {name}", name, LabDevice(
            up_id, "sw", "upstream", recording, f"127.{base + kec_no}.0.1")))
        for s_index, row in enumerate(rows[:sites_per_kecamatan], start=1):
            site_id = row["kode_kelurahan"]
            prefix = f"127.{base + kec_no}.{s_index}"
            model = ROUTER_RECORDINGS[(k_index + s_index) % len(ROUTER_RECORDINGS)]
            router = LabDevice(site_id, "rtr", "router", model, f"{prefix}.1",
                               uplink=ROUTER_UPLINKS[model], capacity="20Mbit")
            ap = LabDevice(site_id, "ap1", "ap",
                           AP_RECORDINGS[(k_index + s_index) % len(AP_RECORDINGS)],
                           f"{prefix}.2", parent="rtr")
            sites.append(LabSite(site_id, row["kelurahan"], name, code, float(row["lat"]),
                                 float(row["lon"]), ISPS[kec_no % len(ISPS)], up_id, (router, ap)))
    core = LabDevice("", "core", "server", CORE_RECORDING, f"127.{base}.0.1")
    return LabPlan(tuple(sites), tuple(upstreams), core)


def with_trouble(plan: LabPlan, troubles: list[Trouble]) -> LabPlan:
    """Move every device touched by a trouble into its own zone (namespace)."""
    zone_of: dict[tuple[str, str], str] = {}
    recording_of: dict[str, str] = {}  # site -> its router's recording
    feed_of: dict[str, str] = {}  # site -> its power feed
    placed = []
    for index, trouble in enumerate(troubles):
        zone = f"{trouble.kind.replace('_', '')[:8]}{index}"
        placed.append(replace(trouble, zone=zone))
        for site_id in trouble.sites:
            for device in plan.site(site_id).devices:
                if trouble.kind == "ap_down" and device.role != "ap":
                    continue
                zone_of[(site_id, device.name)] = zone
            if trouble.kind in STORY_RECORDING:
                recording_of[site_id] = STORY_RECORDING[trouble.kind]
            if trouble.kind == "dark_kecamatan":  # an area on one PLN feeder going dark
                feed_of[site_id] = f"pln-{zone}"
        if trouble.upstream:
            zone_of[(trouble.upstream, "sw")] = zone

    def moved(device: LabDevice) -> LabDevice:
        zone = zone_of.get((device.owner, device.name))
        if device.role == "router" and device.owner in recording_of:
            recording = recording_of[device.owner]
            first = recording.split("+")[0]
            device = replace(device, recording=recording, uplink=ROUTER_UPLINKS.get(first))
        return replace(device, zone=zone) if zone else device

    sites = tuple(replace(s, devices=tuple(moved(d) for d in s.devices),
                          power_feed=feed_of.get(s.id, s.power_feed)) for s in plan.sites)
    upstreams = tuple(replace(u, device=moved(u.device)) for u in plan.upstreams)
    return replace(plan, sites=sites, upstreams=upstreams, troubles=tuple(placed))


def with_backhaul(plan: LabPlan, sites: tuple[str, ...]) -> LabPlan:
    """Each of `sites` (healthy ones, on loopback) gets a backhaul radio beside its devices
    (`bh1`, behind its router): an airFiber 60 whose stations get their own series."""

    def radio(site: LabSite) -> LabSite:
        if any(d.zone for d in site.devices):
            raise ValueError(f"{site.id} is in trouble: a backhaul radio goes to a healthy site")
        prefix = site.devices[0].loopback.rsplit(".", 1)[0]
        return replace(site, devices=(*site.devices, LabDevice(
            site.id, "bh1", "ap", BACKHAUL_RECORDING, f"{prefix}.3", parent="rtr",
            per_peer=True)))

    return replace(plan, sites=tuple(radio(s) if s.id in sites else s for s in plan.sites))


def default_scenario(plan: LabPlan) -> LabPlan:
    """The demo's trouble, on real kecamatan of the city (when they are in the plan)."""
    first: dict[str, list[str]] = {}
    for site in plan.sites:
        first.setdefault(site.kode_kecamatan, []).append(site.id)
    ups = {u.kecamatan: u.id for u in plan.upstreams}

    def pick(code: str, n: int = 1) -> tuple[str, ...]:
        return tuple(first.get(code, [])[:n])

    troubles = [
        Trouble("dark_kecamatan", tuple(first.get("18.71.20", [])[:-1])),  # Bumi Waras
        Trouble("dark_upstream", tuple(first.get("18.71.08", [])),
                upstream=ups.get("Telukbetung Barat")),
        Trouble("down", pick("18.71.03") + pick("18.71.12")),
        Trouble("ap_down", pick("18.71.15")),
        Trouble("lossy", pick("18.71.10"), loss=0.2),
        Trouble("slow", pick("18.71.13"), delay=0.2),
        Trouble("flapping", pick("18.71.14"), period=60.0),
        Trouble("rebooting", pick("18.71.06"), period=180.0),
        Trouble("saturated", pick("18.71.17"), start=STORY_START),
        # trouble that unfolds, once each link has a baseline (the lab's buckets are one SNMP
        # interval, three make a baseline): a fading link, a weak LTE site, a power cut, a
        # full flash; and a POP that loses packets under two of its sites
        Trouble("fading", pick("18.71.04"), start=STORY_START),
        Trouble("lte_weak", pick("18.71.05"), start=STORY_START),
        Trouble("power_cut", pick("18.71.07"), start=STORY_START),
        Trouble("storage_full", pick("18.71.09"), start=STORY_START),
        Trouble("lossy_upstream", pick("18.71.11", 2), loss=0.2,
                upstream=ups.get("Tanjung Senang")),
    ]
    planned = with_trouble(plan, [t for t in troubles if t.sites])
    planned = with_backhaul(planned, pick("18.71.01"))  # Kedaton's first: no trouble there
    return replace(planned, maintenance=pick("18.71.16"))  # Langkapura: fibre work
