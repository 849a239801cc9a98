"""The lab's small topologies: real recordings whose neighbour tables name each other.

    plan = topology_plan()            # a LabPlan: Lab(plan) serves it like the city
    EXPECTED_FINDINGS                 # what discovery must find in it, and nothing else

Three kelurahan of Kedaton behind POP A, a second POP B, and the city core. The routers'
recordings are derived (netwatch/lab/derive.py, `topology_*`, each change documented
there) so that their LLDP rows name the lab's other devices by those devices' real MACs;
the config the lab writes is the plan below, which disagrees with the cabling on purpose:

    rapi     as configured: its router sees POP A and its own access point
    geser    drift: its router sees POP B (config: upstream pop-a), and its access point
             is cabled to rapi's router (config: parent rtr)
    kurang   a missing parent: its access point has none in the config but hangs off its
             router; the router also sees an unknown radio (radio-baru) that advertises
             127.77.0.99, an address discovery must never contact
"""

from __future__ import annotations

from netwatch.lab.derive import UNKNOWN_RADIO_ADDRESS
from netwatch.lab.plan import CORE_RECORDING, LabDevice, LabPlan, LabSite, LabUpstream

BASE = "127.77"
KECAMATAN = ("Kedaton", "18.71.01")
# (kind, site, device, expected, observed), as netwatch.discovery.topology.Finding has them
EXPECTED_FINDINGS = {
    ("upstream", ("18.71.01.1004", "rtr"), "pop-a", "pop-b"),
    ("parent", ("18.71.01.1004", "ap1"), "rtr", "18.71.01.1003/rtr"),
    ("missing_parent", ("18.71.01.1005", "ap1"), "", "18.71.01.1005/rtr"),
}
UNKNOWN_RADIO = ("radio-baru", UNKNOWN_RADIO_ADDRESS)


def _site(number: int, kode: str, name: str, lat: float, lon: float, router: str, ap: str,
          ap_parent: str | None) -> LabSite:
    prefix = f"{BASE}.{number}"
    devices = (LabDevice(kode, "rtr", "router", router, f"{prefix}.1"),
               LabDevice(kode, "ap1", "ap", ap, f"{prefix}.2", parent=ap_parent))
    return LabSite(kode, name, KECAMATAN[0], KECAMATAN[1], lat, lon, "isp-a", "pop-a", devices)


def topology_plan() -> LabPlan:
    upstreams = tuple(
        LabUpstream(f"pop-{x}", f"POP {x.upper()}", KECAMATAN[0],
                    LabDevice(f"pop-{x}", "sw", "upstream", recording, f"{BASE}.0.{n}"))
        for n, (x, recording) in enumerate((("a", "routeros_crs317"), ("b", "swos")), start=1))
    sites = (
        _site(1, "18.71.01.1003", "Kedaton", -5.3834, 105.2635, "topology_rapi_rtr",
              "unifi_nanohd", "rtr"),
        _site(2, "18.71.01.1004", "Surabaya", -5.3916, 105.2638, "topology_geser_rtr",
              "airos_airos8", "rtr"),
        _site(3, "18.71.01.1005", "Sukamenanti", -5.3928, 105.2528, "topology_kurang_rtr",
              "unifi_unifi", None),
    )
    core = LabDevice("", "core", "server", CORE_RECORDING, f"{BASE}.0.10")
    return LabPlan(sites, upstreams, core)
